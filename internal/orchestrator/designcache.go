package orchestrator

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/drydock-go/drydock/internal/store"
)

// digest keys the design cache (sitecache) by a design snapshot's bytes, so that tasks on the
// same design (prepare_nodes then deploy_nodes) compile it once.
func digest(snap []store.DesignSource) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range snap {
		binary.BigEndian.PutUint64(n[:], uint64(len(s.Name)))
		h.Write(n[:])
		h.Write([]byte(s.Name))
		binary.BigEndian.PutUint64(n[:], uint64(len(s.Data)))
		h.Write(n[:])
		h.Write(s.Data)
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}
