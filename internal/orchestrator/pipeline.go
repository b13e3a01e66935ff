package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// runPipelines drives every node (or the site) through the steps and returns which succeeded.
func (r *run) runPipelines(ctx context.Context) map[string]bool {
	fctx, stopFlush := context.WithCancel(ctx)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		r.flushStates(fctx, 500*time.Millisecond)
	}()
	defer func() {
		stopFlush()
		<-flushed
	}()
	succeeded := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	one := func(node *design.Node) {
		defer wg.Done()
		name := task.SiteEntity
		if node != nil {
			name = node.Name
		}
		ok := r.pipeline(ctx, node)
		mu.Lock()
		succeeded[name] = ok
		mu.Unlock()
	}
	if r.wf.Scope == ScopeSite {
		wg.Add(1)
		go one(nil)
	} else {
		for _, n := range r.targets {
			wg.Add(1)
			go one(n)
		}
	}
	wg.Wait()
	return succeeded
}

func (r *run) getRun(step, node string) task.StepRun {
	r.runsMu.Lock()
	defer r.runsMu.Unlock()
	return r.runs[runKey{step, node}]
}

func (r *run) setRun(sr task.StepRun) {
	r.runsMu.Lock()
	defer r.runsMu.Unlock()
	r.runs[runKey{sr.Step, sr.Node}] = sr
}

// pipeline takes one node (nil: the site) through the workflow's steps.
func (r *run) pipeline(ctx context.Context, node *design.Node) bool {
	name := task.SiteEntity
	if node != nil {
		name = node.Name
	}
	for i := range r.wf.Steps {
		s := &r.wf.Steps[i]
		select {
		case <-r.created[i]:
		case <-ctx.Done():
			return false
		}
		sr := r.getRun(s.Key, name)
		switch {
		case sr.State.Passed():
			continue
		case sr.State == task.StepFailed || sr.State == task.StepCancelled:
			return false
		}
		if ctx.Err() != nil {
			return false
		}
		if !r.runStep(ctx, s, node) {
			return false
		}
	}
	return true
}

// stepDetail is what a step run keeps in its detail.
type stepDetail struct {
	Data map[string]any `json:"data,omitempty"`
}

// runStep executes one step for one node and commits its outcome. It returns whether the node
// may go on.
func (r *run) runStep(ctx context.Context, s *Step, node *design.Node) bool {
	name := task.SiteEntity
	ctxType, ctxName := task.ContextSite, "site"
	if node != nil {
		name = node.Name
		ctxType, ctxName = task.ContextNode, node.Name
	}
	prev, err := r.o.store.StartStep(ctx, r.l(), r.t.ID, s.Key, name, r.now())
	if err != nil {
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			r.cancel(errLeaseLost)
		case errors.Is(err, store.ErrConflict):
			// Already done (by an earlier execution): go by its recorded outcome.
			runs, lerr := r.o.store.ListStepRuns(ctx, r.t.ID)
			if lerr == nil {
				for _, sr := range runs {
					if sr.Step == s.Key && sr.Node == name {
						r.setRun(sr)
						return sr.State.Passed()
					}
				}
			}
		default:
			if ctx.Err() == nil {
				r.o.log.Error("starting a step failed", "task", r.t.ID, "step", s.Key, "node", name, "err", err)
			}
		}
		return false
	}
	resumed := prev.State == task.StepRunning
	since := r.now()
	if prev.FirstStarted != nil {
		since = *prev.FirstStarted
	}
	if resumed {
		r.message(ctx, task.NewMessage(fmt.Sprintf("Resuming step %s for %s after an interruption (attempt %d); checking its current state first.",
			s.Key, ctxName, prev.Attempts), false, ctxType, ctxName))
	}
	// The key is the same on every attempt of this step for this node within one run of the
	// task; a requeued task (a new Retry number) gets new keys.
	call := driver.Call{Site: r.site, Node: node, Key: fmt.Sprintf("%s/r%d/%s/%s", r.t.ID, r.t.Retry, s.Key, name),
		Attempt: prev.Attempts, Resumed: resumed, Since: since}
	if node != nil {
		call.Last = r.lastState(node.Name)
		if r.wf.Action == task.ActionDeployNodes {
			call.DeviceNames = r.deviceNames(ctx, node)
		}
	}
	if s.Skip != nil {
		if reason := s.Skip(ctx, r, node); reason != "" {
			return r.finishStep(ctx, s, name, task.StepSkipped, reason, nil)
		}
	}
	timeout := r.o.cfg.timeout(s)
	stepCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	retries := r.o.cfg.retries(s)
	failures := 0
	for {
		res := s.Run(stepCtx, r, call)
		if res.State != nil && node != nil {
			r.noteState(node.Name, res.State)
		}
		if len(res.BuildData) > 0 && node != nil {
			r.saveBuildData(context.WithoutCancel(ctx), s, node.Name, res.BuildData)
		}
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), errTerminated) {
				r.finishStep(context.WithoutCancel(ctx), s, name, task.StepCancelled, "terminated on request", nil)
			}
			return false
		}
		if stepCtx.Err() != nil && res.Outcome != driver.Done {
			msg := fmt.Sprintf("Step %s for %s timed out after %s", s.Key, ctxName, timeout)
			if res.Message != "" {
				msg += ": " + res.Message
			}
			r.message(ctx, task.NewMessage(msg, true, ctxType, ctxName))
			return r.finishStep(ctx, s, name, task.StepFailed, msg, nil)
		}
		switch res.Outcome {
		case driver.Done:
			state := task.StepSucceeded
			if res.Skipped {
				state = task.StepSkipped
			}
			return r.finishStep(ctx, s, name, state, res.Message, res.Data)
		case driver.InProgress:
			wait := res.RetryAfter
			if wait <= 0 {
				wait = r.o.cfg.PollInterval
			}
			if !sleep(stepCtx, wait) {
				continue // the loop sees the deadline or the cancellation
			}
		default: // Failed or Unreachable
			failures++
			if failures > retries || (res.Outcome == driver.Failed && s.RefusalIsFinal) {
				what := "failed"
				if res.Outcome == driver.Unreachable {
					what = "could not reach its target"
				}
				attempts := fmt.Sprintf("%d attempts", failures)
				if failures == 1 {
					attempts = "1 attempt"
				}
				msg := fmt.Sprintf("Step %s for %s %s after %s: %s", s.Key, ctxName, what, attempts, res.Message)
				r.message(ctx, task.NewMessage(msg, true, ctxType, ctxName))
				return r.finishStep(ctx, s, name, task.StepFailed, msg, res.Data)
			}
			call.Attempt++
			call.Resumed = false
			sleep(stepCtx, backoff(r.o.cfg.RetryBackoff, failures))
		}
	}
}

// sleep waits d or until ctx ends; it reports whether the whole wait elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff is base * 2^(n-1), capped at one minute, with jitter in [50%, 100%].
func backoff(base time.Duration, n int) time.Duration {
	d := base << (n - 1)
	if d > time.Minute || d <= 0 {
		d = time.Minute
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// finishStep commits a step's outcome for a node.
func (r *run) finishStep(ctx context.Context, s *Step, node string, state task.StepState, message string, data map[string]any) bool {
	var detail []byte
	if len(data) > 0 {
		detail, _ = json.Marshal(stepDetail{Data: data})
	}
	err := r.o.store.FinishStep(ctx, r.l(), r.t.ID, s.Key, node, state, message, detail, r.now())
	if err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			r.cancel(errLeaseLost)
		} else if ctx.Err() == nil {
			r.o.log.Error("recording a step outcome failed", "task", r.t.ID, "step", s.Key, "node", node, "err", err)
		}
		return false
	}
	r.setRun(task.StepRun{TaskID: r.t.ID, Step: s.Key, Node: node, State: state, Message: message, Detail: detail})
	return state.Passed()
}
