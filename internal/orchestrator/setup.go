package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/nodefilter"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

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
	r.report, _ = r.o.designs.Get(ctx, digest(snap), func(ctx context.Context) (*validate.Report, error) {
		sources := make([]design.Source, len(snap))
		for i, s := range snap {
			sources[i] = design.Source{Name: s.Name, Data: s.Data}
		}
		return validate.Sources(ctx, validate.Options{}, sources...), nil
	})
	if r.report == nil {
		return context.Cause(ctx) // cancelled while another task compiled the same design
	}
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
	entities := r.entities()
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
