package orchestrator

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// complete records every step's subtask result and the task's result: each node is a success
// when it passed every step, a failure otherwise.
func (r *run) complete(ctx context.Context, succeeded map[string]bool) error {
	entities := r.entities()
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
		res.NodeOutcomes(entities, succeeded)
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
