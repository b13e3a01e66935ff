package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/nodefilter"
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
}

type runKey struct{ step, node string }

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

// loadDesign reads the task's design: from its snapshot when the task already started once,
// else from the design reference (and then snapshots it), and compiles and validates it.
func (r *run) loadDesign(ctx context.Context) error {
	snap, err := r.o.store.LoadDesign(ctx, r.t.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load design snapshot: %w", err)
	}
	if len(snap) == 0 {
		if r.t.DesignRef == "" {
			return r.fail(ctx, "No design reference.", "Bad Request",
				task.NewMessage("The task has no design_ref.", true, task.ContextTask, r.t.ID.String()))
		}
		srcs, err := r.o.fetch.Fetch(ctx, r.t.DesignRef)
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return r.fail(ctx, "Design could not be read.", "Design unreadable",
				task.NewMessage(fmt.Sprintf("Unable to read the design: %v", err), true, task.ContextTask, r.t.ID.String()))
		}
		snap = make([]store.DesignSource, len(srcs))
		for i, s := range srcs {
			snap[i] = store.DesignSource{Name: s.Name, Data: s.Data}
		}
		if err := r.o.store.SaveDesign(ctx, r.t.ID, snap); err != nil {
			return fmt.Errorf("save design snapshot: %w", err)
		}
	}
	r.report = r.o.designs.get(snap, func() *validate.Report {
		sources := make([]design.Source, len(snap))
		for i, s := range snap {
			sources[i] = design.Source{Name: s.Name, Data: s.Data}
		}
		return validate.Sources(ctx, validate.Options{}, sources...)
	})
	if r.t.Action == task.ActionValidateDesign {
		if r.report.Site == nil {
			// Documents could not be read: the validate_design step reports why.
			r.site = &design.Site{Design: &design.Design{}}
		} else {
			r.site = r.report.Site
		}
		return nil
	}
	if !r.report.Valid() {
		msgs := []task.Message{task.NewMessage(fmt.Sprintf("The design failed validation with %d errors; run drydock validate %s for details.",
			r.report.ErrorCount(), r.t.DesignRef), true, task.ContextTask, r.t.ID.String())}
		for _, m := range r.report.Messages {
			if m.Error {
				msg := task.NewMessage(fmt.Sprintf("%s %s: %s", m.Code, m.Rule, m.Message), true, "design", docName(m.Documents))
				msgs = append(msgs, msg)
			}
		}
		return r.fail(ctx, "Unable to render effective site design.", "Design invalid", msgs...)
	}
	r.site = r.report.Site
	return nil
}

func docName(docs []design.DocRef) string {
	if len(docs) == 0 {
		return "site"
	}
	return docs[0].Schema + " " + docs[0].Name
}

// selectTargets evaluates the task's node filter. It leaves r.targets nil when the task was
// ended (bad filter, or no nodes).
func (r *run) selectTargets(ctx context.Context) error {
	var fs *nodefilter.FilterSet
	if len(r.t.NodeFilter) > 0 && string(r.t.NodeFilter) != "null" {
		f, err := nodefilter.Decode(r.t.NodeFilter)
		if err != nil {
			return r.fail(ctx, "Invalid node filter.", "Bad Request",
				task.NewMessage(fmt.Sprintf("Invalid node_filter: %v", err), true, task.ContextTask, r.t.ID.String()))
		}
		fs = f
	}
	nodes, err := r.site.SelectNodes(fs)
	if err != nil {
		return r.fail(ctx, "Invalid node filter.", "Bad Request",
			task.NewMessage(fmt.Sprintf("Invalid node_filter: %v", err), true, task.ContextTask, r.t.ID.String()))
	}
	if len(nodes) == 0 {
		r.message(ctx, task.NewMessage("No nodes in scope, no work to do.", false, task.ContextNone, task.ContextNone))
		res := task.Result{Status: task.ResultSuccess, Message: "No nodes in scope."}
		return r.finish(ctx, task.StatusComplete, res)
	}
	r.targets = nodes
	return nil
}

// reserve takes the task's nodes (or the site) for this task, waiting while other tasks hold
// them. It returns false when the task must not go on.
func (r *run) reserve(ctx context.Context) (bool, error) {
	var names []string
	for _, n := range r.targets {
		names = append(names, n.Name)
	}
	if r.wf.Lock {
		names = append(names, siteLock)
	}
	// Even a task with no nodes reserves (nothing), to let younger tasks know it wants none.
	var waitingSince time.Time
	announced := ""
	for {
		busy, err := r.o.store.ReserveNodes(ctx, r.l(), names)
		if err != nil {
			if errors.Is(err, store.ErrLeaseLost) {
				r.cancel(errLeaseLost)
			}
			return false, fmt.Errorf("reserve nodes: %w", err)
		}
		if len(busy) == 0 {
			if announced != "" {
				r.message(ctx, task.NewMessage("The nodes are free; starting.", false, task.ContextTask, r.t.ID.String()))
			}
			return true, nil
		}
		if waitingSince.IsZero() {
			waitingSince = r.now()
		}
		text := busyText(busy)
		if text != announced {
			r.message(ctx, task.NewMessage("Waiting for nodes busy in other tasks: "+text, false, task.ContextTask, r.t.ID.String()))
			announced = text
		}
		if r.o.cfg.NodeWait > 0 && r.now().Sub(waitingSince) > r.o.cfg.NodeWait {
			return false, r.fail(ctx, "Nodes busy in other tasks.", "Conflict",
				task.NewMessage(fmt.Sprintf("Gave up after waiting %s for nodes busy in other tasks: %s", r.o.cfg.NodeWait, text), true, task.ContextTask, r.t.ID.String()))
		}
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errTerminated) {
				return false, r.finishTerminated(context.WithoutCancel(ctx))
			}
			return false, context.Cause(ctx)
		case <-time.After(r.o.cfg.PollInterval):
		}
	}
}

func busyText(busy map[string]uuid.UUID) string {
	names := make([]string, 0, len(busy))
	for n := range busy {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i == 10 {
			fmt.Fprintf(&b, " and %d more", len(names)-10)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		label := n
		if n == siteLock {
			label = "the site"
		}
		fmt.Fprintf(&b, "%s (task %s)", label, busy[n])
	}
	return b.String()
}

// prepareRecords registers one subtask per step and creates the step runs, reusing those of an
// earlier execution of the same task.
func (r *run) prepareRecords(ctx context.Context) error {
	fresh := len(r.t.SubtaskIDs) == 0 // never started before: no step run exists yet
	for _, id := range r.t.SubtaskIDs {
		st, err := r.o.store.GetTask(ctx, id)
		if err != nil {
			return fmt.Errorf("load subtask %s: %w", id, err)
		}
		if st.Step != "" {
			r.subtasks[st.Step] = st.ID
		}
	}
	for _, s := range r.wf.Steps {
		if _, ok := r.subtasks[s.Key]; ok {
			continue
		}
		st := task.New(s.Action, r.t.DesignRef, nil, r.t.CreatedBy, r.now())
		st.ParentID = &r.t.ID
		st.Step = s.Key
		st.Status = task.StatusRunning
		st.Retry = r.t.Retry
		if err := r.o.store.CreateTask(ctx, st); err != nil {
			return fmt.Errorf("register subtask %s: %w", s.Key, err)
		}
		r.subtasks[s.Key] = st.ID
	}
	entities := []string{task.SiteEntity}
	if r.wf.Scope == ScopeNodes {
		entities = entities[:0]
		for _, n := range r.targets {
			entities = append(entities, n.Name)
		}
	}
	// Step runs: a fresh task creates its first step's runs before starting and the others in
	// the background, in step order, while the nodes already work (a node waits for its next
	// step's runs to exist); a resumed task has them all already (creation is idempotent).
	r.created = make([]chan struct{}, len(r.wf.Steps))
	for i := range r.created {
		r.created[i] = make(chan struct{})
	}
	createStep := func(ctx context.Context, i int) error {
		const batch = 2000
		s := r.wf.Steps[i]
		for start := 0; start < len(entities); start += batch {
			chunk := entities[start:min(start+batch, len(entities))]
			runs := make([]task.StepRun, len(chunk))
			for j, e := range chunk {
				runs[j] = task.StepRun{TaskID: r.t.ID, Step: s.Key, Node: e, Ordinal: i, State: task.StepPending}
			}
			if err := r.o.store.CreateStepRuns(ctx, r.l(), runs); err != nil {
				if errors.Is(err, store.ErrLeaseLost) {
					r.cancel(errLeaseLost)
				}
				return fmt.Errorf("create step runs: %w", err)
			}
			if fresh {
				for _, sr := range runs {
					r.setRun(sr)
				}
			}
		}
		close(r.created[i])
		return nil
	}
	if fresh {
		if err := createStep(ctx, 0); err != nil {
			return err
		}
		go func() {
			for i := 1; i < len(r.wf.Steps); i++ {
				if err := createStep(ctx, i); err != nil {
					if ctx.Err() == nil {
						r.o.log.Error("creating step runs failed; stopping the task", "task", r.t.ID, "err", err)
						r.cancel(err)
					}
					return
				}
			}
		}()
	} else {
		for i := range r.wf.Steps {
			if err := createStep(ctx, i); err != nil {
				return err
			}
		}
		existing, err := r.o.store.ListStepRuns(ctx, r.t.ID)
		if err != nil {
			return fmt.Errorf("list step runs: %w", err)
		}
		for _, sr := range existing {
			r.setRun(sr)
		}
	}
	states, err := r.o.store.GetNodeStates(ctx)
	if err != nil {
		return fmt.Errorf("load node states: %w", err)
	}
	for name, raw := range states {
		var ns driver.NodeState
		if json.Unmarshal(raw, &ns) == nil {
			r.states[name] = &ns
		}
	}
	return nil
}

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
			r.noteState(ctx, node.Name, res.State)
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
			if failures > retries {
				what := "failed"
				if res.Outcome == driver.Unreachable {
					what = "could not reach its target"
				}
				msg := fmt.Sprintf("Step %s for %s %s after %d attempts: %s", s.Key, ctxName, what, failures, res.Message)
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
func (r *run) noteState(ctx context.Context, node string, s *driver.NodeState) {
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

// complete records every step's subtask result and the task's result: each node is a success
// when it passed every step, a failure otherwise.
func (r *run) complete(ctx context.Context, succeeded map[string]bool) error {
	entities := []string{task.SiteEntity}
	if r.wf.Scope == ScopeNodes {
		entities = entities[:0]
		for _, n := range r.targets {
			entities = append(entities, n.Name)
		}
	}
	for _, s := range r.wf.Steps {
		// Entities are unique, so the lists are built directly (Result.Success would search them).
		var passed, failed []string
		nPassed, nFailed := 0, 0
		for _, e := range entities {
			sr := r.getRun(s.Key, e)
			switch sr.State {
			case task.StepSucceeded, task.StepSkipped:
				nPassed++
				if e != task.SiteEntity {
					passed = append(passed, e)
				}
			case task.StepFailed:
				nFailed++
				if e != task.SiteEntity {
					failed = append(failed, e)
				}
			}
		}
		res := task.Result{Status: task.ResultIncomplete, Successes: passed, Failures: failed}
		switch {
		case nPassed > 0 && nFailed > 0:
			res.Status = task.ResultPartialSuccess
		case nPassed > 0:
			res.Status = task.ResultSuccess
		case nFailed > 0:
			res.Status = task.ResultFailure
		default:
			res.Message = "Nothing reached this step."
		}
		id := r.subtasks[s.Key]
		if err := r.o.store.SaveResult(ctx, r.l(), id, res, r.now()); err != nil {
			return fmt.Errorf("save subtask result: %w", err)
		}
		if err := r.o.store.SetStatus(ctx, id, []task.Status{task.StatusRunning, task.StatusRequested}, task.StatusComplete, r.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("complete subtask: %w", err)
		}
	}
	var res task.Result
	if r.wf.Scope == ScopeSite {
		if succeeded[task.SiteEntity] {
			res.Success("")
		} else {
			res.Failure("")
		}
	} else {
		order := make([]string, len(r.targets))
		for i, n := range r.targets {
			order[i] = n.Name
		}
		res.NodeOutcomes(order, succeeded)
	}
	res.Message = r.summary(succeeded)
	return r.finish(ctx, task.StatusComplete, res)
}

func (r *run) summary(succeeded map[string]bool) string {
	if r.wf.Scope == ScopeSite {
		if succeeded[task.SiteEntity] {
			return fmt.Sprintf("%s succeeded.", r.t.Action)
		}
		return fmt.Sprintf("%s failed.", r.t.Action)
	}
	ok := 0
	for _, v := range succeeded {
		if v {
			ok++
		}
	}
	return fmt.Sprintf("%d of %d nodes succeeded.", ok, len(r.targets))
}

// finishTerminated winds a task down after a termination request: every step run not done is
// cancelled, and the task ends terminated.
func (r *run) finishTerminated(ctx context.Context) error {
	runs, err := r.o.store.ListStepRuns(ctx, r.t.ID)
	if err != nil {
		return fmt.Errorf("list step runs: %w", err)
	}
	for _, sr := range runs {
		if !sr.State.Done() {
			_ = r.o.store.FinishStep(ctx, r.l(), r.t.ID, sr.Step, sr.Node, task.StepCancelled, "terminated on request", nil, r.now())
		}
	}
	// The subtasks: those registered before this execution and those it registered (the same
	// ones when it got that far), each once.
	subtasks := map[uuid.UUID]bool{}
	for _, id := range r.t.SubtaskIDs {
		subtasks[id] = true
	}
	for _, id := range r.subtasks {
		subtasks[id] = true
	}
	for id := range subtasks {
		_ = r.o.store.SetStatus(ctx, id, []task.Status{task.StatusRequested, task.StatusQueued, task.StatusRunning}, task.StatusTerminated, r.now())
	}
	r.message(ctx, task.NewMessage("Action terminated.", false, task.ContextTask, r.t.ID.String()))
	res := task.Result{Status: task.ResultFailure, Message: "Terminated on request.", Reason: "Terminated"}
	return r.finish(ctx, task.StatusTerminated, res)
}
