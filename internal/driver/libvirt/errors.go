package libvirt

import (
	"errors"
	"fmt"

	lv "github.com/digitalocean/go-libvirt"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

// transientCodes are the libvirt errors that retrying can cure: timeouts, busy locks and
// broken connections. Every other error libvirt answers with is a refusal.
var transientCodes = map[lv.ErrorNumber]bool{
	lv.ErrNoConnect:         true,
	lv.ErrInvalidConn:       true,
	lv.ErrRPC:               true,
	lv.ErrOperationTimeout:  true,
	lv.ErrAgentUnresponsive: true,
	lv.ErrResourceBusy:      true,
	lv.ErrOperationAborted:  true,
}

// libvirtCode returns the libvirt error number carried by err.
func libvirtCode(err error) (lv.ErrorNumber, bool) {
	var le lv.Error
	if errors.As(err, &le) {
		return lv.ErrorNumber(le.Code), true
	}
	return 0, false
}

// isCode reports whether err is the libvirt error code.
func isCode(err error, code lv.ErrorNumber) bool {
	c, ok := libvirtCode(err)
	return ok && c == code
}

// classify prefixes err with what was being done and marks libvirt's refusals as such.
// Errors that are not libvirt's answers (the connection broke, the context ended) stay
// transient.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", what, err)
	if code, ok := libvirtCode(err); (ok && !transientCodes[code]) || errors.Is(err, lv.ErrUnsupported) {
		return oob.Refused(err)
	}
	return err
}
