package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// siteLock is the reservation name of site-wide exclusive work.
const siteLock = "@site"

// run is one execution of a top-level task by this orchestrator (from claim to finish, or until
// the lease is lost or the process stops).
type run struct {
	o      *Orchestrator
	t      *task.Task
	wf     *Workflow
	cancel context.CancelCauseFunc

	leaseMu sync.Mutex
	lease   task.Lease

	report   *validate.Report
	site     *design.Site
	targets  []*design.Node
	subtasks map[string]uuid.UUID // step key -> subtask id

	runsMu sync.Mutex
	runs   map[runKey]task.StepRun

	stateMu sync.Mutex
	states  map[string]*driver.NodeState
	dirty   map[string]bool // states not yet written

	finished atomic.Bool // the task's final outcome is recorded

	created []chan struct{} // closed when each step's runs exist

	namesMu sync.Mutex
	names   map[string]map[string]string // node -> device alias -> kernel name
}

type runKey struct{ step, node string }

// entities are what the steps run for: the target nodes, or the site.
func (r *run) entities() []string {
	if r.wf.Scope != ScopeNodes {
		return []string{task.SiteEntity}
	}
	out := make([]string, len(r.targets))
	for i, n := range r.targets {
		out[i] = n.Name
	}
	return out
}

func (r *run) l() task.Lease {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	return r.lease
}

func (r *run) now() time.Time { return r.o.cfg.Now() }

// execute runs a claimed task until it finishes, its lease is lost, or ctx is cancelled.
func (o *Orchestrator) execute(parent context.Context, t *task.Task, lease task.Lease) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	r := &run{o: o, t: t, lease: lease, cancel: cancel, subtasks: map[string]uuid.UUID{},
		runs: map[runKey]task.StepRun{}, states: map[string]*driver.NodeState{}}
	o.mu.Lock()
	if stale := o.running[t.ID]; stale != nil {
		// This process lost the task's lease (it could not renew it) and has now claimed it
		// again: the old execution can no longer write anything; stop it.
		stale.cancel(errLeaseLost)
	}
	o.running[t.ID] = r
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		if o.running[t.ID] == r {
			delete(o.running, t.ID)
		}
		o.mu.Unlock()
		cancel(nil)
	}()
	// Stop when the process shuts down.
	stop := context.AfterFunc(parent, func() { cancel(errShutdown) })
	defer stop()
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		r.keepLease(ctx)
	}()
	log := o.log.With("task", t.ID, "action", t.Action)
	log.Info("task claimed", "generation", lease.Generation, "status", t.Status)

	err := r.do(ctx)
	cause := context.Cause(ctx)
	switch {
	case r.finished.Load():
	case errors.Is(cause, errLeaseLost):
		log.Warn("task lease lost; another orchestrator continues it")
	case errors.Is(cause, errShutdown):
		// Hand the task back so that the next orchestrator continues it without waiting for
		// the lease to expire.
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := o.store.ReleaseLease(rctx, r.l(), r.now()); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			log.Error("releasing the lease failed", "err", err)
		}
		rcancel()
		log.Info("task handed back on shutdown")
	case err != nil:
		log.Error("task failed", "err", err)
	}
	cancel(nil)
	<-leaseDone
}

// keepLease renews the lease and watches for termination requests until ctx ends.
func (r *run) keepLease(ctx context.Context) {
	every := r.o.cfg.LeaseFor / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if r.finished.Load() {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		l, err := r.o.store.RenewLease(rctx, r.l(), r.o.cfg.LeaseFor, r.now())
		cancel()
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			if !r.finished.Load() {
				r.cancel(errLeaseLost)
			}
			return
		case err != nil:
			if ctx.Err() == nil {
				r.o.log.Warn("renewing a lease failed; will retry", "task", r.t.ID, "err", err)
			}
			continue
		}
		r.leaseMu.Lock()
		r.lease = l
		r.leaseMu.Unlock()
		if st, terminate, err := r.o.store.TaskStatus(ctx, r.t.ID); err == nil && (terminate || st == task.StatusTerminating) {
			r.cancel(errTerminated)
			return
		}
	}
}

// message adds status messages to the task, logging (not failing) on store errors.
func (r *run) message(ctx context.Context, msgs ...task.Message) {
	now := r.now().UTC()
	for i := range msgs {
		if msgs[i].TS.IsZero() {
			msgs[i].TS = now
		}
	}
	if err := r.o.store.AddMessages(ctx, r.t.ID, msgs...); err != nil && ctx.Err() == nil {
		r.o.log.Error("recording task messages failed", "task", r.t.ID, "err", err)
	}
}

// finish records the task's final status and result.
func (r *run) finish(ctx context.Context, status task.Status, res task.Result) error {
	if err := r.o.store.FinishTask(ctx, r.l(), status, res, r.now()); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			r.cancel(errLeaseLost)
		}
		return fmt.Errorf("finish task: %w", err)
	}
	r.finished.Store(true)
	r.o.log.Info("task finished", "task", r.t.ID, "status", status, "result", res.Status,
		"successes", len(res.Successes), "failures", len(res.Failures))
	return nil
}

// fail ends the task with a failure and a reason, before any step ran.
func (r *run) fail(ctx context.Context, message, reason string, msgs ...task.Message) error {
	r.message(ctx, msgs...)
	res := task.Result{Status: task.ResultFailure, Message: message, Reason: reason}
	return r.finish(ctx, task.StatusComplete, res)
}

func (r *run) do(ctx context.Context) error {
	wf, ok := r.o.wf[r.t.Action]
	if !ok {
		return r.fail(ctx, "Unknown action.", "Bad Request",
			task.NewMessage(fmt.Sprintf("Action %q is not a top-level action.", r.t.Action), true, task.ContextTask, r.t.ID.String()))
	}
	r.wf = wf
	if r.t.Status == task.StatusTerminating || r.t.Terminate {
		return r.finishTerminated(ctx)
	}
	if err := r.requireDrivers(ctx); err != nil {
		return err
	}
	if err := r.loadDesign(ctx); err != nil {
		return err
	}
	if r.site == nil {
		return nil // the task was failed by loadDesign
	}
	if wf.Scope == ScopeNodes {
		if err := r.selectTargets(ctx); err != nil {
			return err
		}
		if r.targets == nil {
			return nil // failed or nothing to do
		}
	}
	if ok, err := r.reserve(ctx); !ok {
		return err
	}
	if err := r.prepareRecords(ctx); err != nil {
		return err
	}
	succeeded := r.runPipelines(ctx)
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errTerminated):
		return r.finishTerminated(context.WithoutCancel(ctx))
	case cause != nil:
		return cause
	}
	return r.complete(ctx, succeeded)
}

// requireDrivers fails the task when the workflow needs a driver that is not enabled.
func (r *run) requireDrivers(ctx context.Context) error {
	switch r.t.Action {
	case task.ActionVerifySite, task.ActionPrepareSite, task.ActionPrepareNodes, task.ActionDeployNodes, task.ActionDestroyNodes:
		if r.o.drivers.Node == nil {
			return r.fail(ctx, "No NodeDriver enabled.", "Bad Configuration.",
				task.NewMessage("No node driver enabled, ending task.", true, task.ContextTask, r.t.ID.String()))
		}
	case task.ActionRelabelNodes:
		if r.o.drivers.Kube == nil {
			return r.fail(ctx, "No KubernetesDriver enabled.", "Bad Configuration.",
				task.NewMessage("No kubernetes driver is enabled, ending task.", true, task.ContextTask, r.t.ID.String()))
		}
	}
	return nil
}
