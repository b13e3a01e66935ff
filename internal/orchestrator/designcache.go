package orchestrator

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"

	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/store"
)

// designCache keeps the last few compiled and validated designs, keyed by a digest of their
// bytes, so that tasks on the same design (prepare_nodes then deploy_nodes) read it once. A
// compiled design is never modified after compiling, so tasks can share it.
type designCache struct {
	mu      sync.Mutex
	entries []designEntry // most recent last
}

type designEntry struct {
	key    [sha256.Size]byte
	report *validate.Report
}

const designCacheSize = 4

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

// get returns the report for the design, computing it with build when it is not cached.
func (c *designCache) get(snap []store.DesignSource, build func() *validate.Report) *validate.Report {
	key := digest(snap)
	c.mu.Lock()
	for i, e := range c.entries {
		if e.key == key {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			c.mu.Unlock()
			return e.report
		}
	}
	c.mu.Unlock()
	rep := build()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, designEntry{key, rep})
	if len(c.entries) > designCacheSize {
		c.entries = c.entries[1:]
	}
	return rep
}
