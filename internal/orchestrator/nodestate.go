package orchestrator

import (
	"context"
	"encoding/json"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
)

func (r *run) lastState(node string) *driver.NodeState {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if s := r.states[node]; s != nil {
		cp := *s
		return &cp
	}
	return nil
}

// noteState keeps a node's last known state. Changed states are written to the store in the
// background (see flushStates): the state is a cache of what drivers last saw, which they
// re-read before acting, so it need not be committed before the node goes on.
func (r *run) noteState(node string, s *driver.NodeState) {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	old := r.states[node]
	changed := old == nil || old.Provisioner != s.Provisioner || old.Power != s.Power || old.SystemID != s.SystemID || old.BootDevice != s.BootDevice
	cp := *s
	r.states[node] = &cp
	if changed {
		if r.dirty == nil {
			r.dirty = map[string]bool{}
		}
		r.dirty[node] = true
	}
}

// flushStates writes the node states that changed since the last flush, every interval until
// ctx ends, and once more at the end.
func (r *run) flushStates(ctx context.Context, interval time.Duration) {
	flush := func(ctx context.Context) {
		r.stateMu.Lock()
		dirty := r.dirty
		r.dirty = nil
		states := make(map[string][]byte, len(dirty))
		for n := range dirty {
			states[n], _ = json.Marshal(r.states[n])
		}
		r.stateMu.Unlock()
		for n, raw := range states {
			if err := r.o.store.PutNodeState(ctx, n, raw, r.now()); err != nil && ctx.Err() == nil {
				r.o.log.Warn("recording a node state failed", "node", n, "err", err)
			}
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			flush(fctx)
			cancel()
			return
		case <-tick.C:
			flush(ctx)
		}
	}
}
