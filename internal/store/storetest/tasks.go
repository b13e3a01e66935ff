package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// long is longer than any column of the original Drydock (VARCHAR(16) to VARCHAR(280)).
var long = strings.Repeat("abcdefghij", 30)

func testCreateGet(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()

	filter := []byte(`{"filter_set_type": "union",  "filter_set": [{"filter_type": "union", "node_names": ["n1"]}]}`)
	tk := task.New(task.ActionDeployNodes, "deckhand+https://deckhand/api/v1.0/revisions/1/rendered-documents?x="+long,
		filter, "user-"+long, t0)
	tk.Retry = 2
	tk.Step = ""
	tk.Result = task.Result{
		Status:    task.ResultPartialSuccess,
		Message:   "message " + long,
		Reason:    "reason " + long,
		Successes: []string{"node-" + long, "n2"},
		Failures:  []string{"n3"},
		Links:     []task.Link{{Rel: "detail_logs", Href: "http://logs/" + long}, {Rel: "other", Href: "http://x"}},
		Messages: []task.Message{
			{Message: "created", ContextType: task.ContextTask, Context: "ctx", TS: at(time.Second), Extra: map[string]any{}},
		},
	}
	must(t, s.CreateTask(ctx, tk), "create")
	got := get(t, s, tk.ID)
	sameTask(t, got, tk)
	if len(got.Result.Messages) != 1 || got.Result.Messages[0].Message != "created" {
		t.Fatalf("initial messages: %+v", got.Result.Messages)
	}
	eq(t, got.SubtaskIDs, []uuid.UUID(nil), "SubtaskIDs")
	eq(t, got.Created.Location(), time.UTC, "Created location")

	// A terminated task with its termination record.
	term := create(t, s, task.ActionNoop, task.StatusTerminated, t0, func(tk *task.Task) {
		tk.Terminate, tk.Terminated, tk.TerminatedBy = true, ptr(at(time.Minute)), "op-"+long
		tk.Step = "some_step"
	})
	sameTask(t, get(t, s, term.ID), term)

	// Nanoseconds are truncated to microseconds, and the caller's copy says so.
	ns := create(t, s, task.ActionNoop, task.StatusRequested, t0.Add(999*time.Nanosecond))
	eq(t, ns.Created, t0, "Created written back truncated")
	sameTask(t, get(t, s, ns.ID), ns)

	// A taken id is a conflict and changes nothing.
	dup := newTask(task.ActionNoop, task.StatusQueued, at(time.Hour))
	dup.ID = tk.ID
	wantErr(t, s.CreateTask(ctx, dup), store.ErrConflict, "duplicate id")
	sameTask(t, get(t, s, tk.ID), tk)

	// Unknown ids.
	_, err := s.GetTask(ctx, uuid.New())
	wantErr(t, err, store.ErrNotFound, "get unknown task")

	// Defaults.
	bare := &task.Task{Action: task.ActionNoop}
	must(t, s.CreateTask(ctx, bare), "create bare task")
	if bare.ID == uuid.Nil || bare.Status != task.StatusRequested || bare.Result.Status != task.ResultIncomplete ||
		bare.Created.IsZero() || bare.Updated.IsZero() {
		t.Fatalf("defaults not filled in: %+v", bare)
	}
	sameTask(t, get(t, s, bare.ID), bare)

	// Invalid input is refused and nothing is stored.
	bad := newTask(task.ActionNoop, task.StatusQueued, t0)
	bad.NodeFilter = []byte(`{not json`)
	if err := s.CreateTask(ctx, bad); err == nil {
		t.Fatal("a node filter that is not JSON was accepted")
	}
	weird := newTask(task.ActionNoop, "sleeping", t0)
	if err := s.CreateTask(ctx, weird); err == nil {
		t.Fatal("an unknown status was accepted")
	}
	for _, id := range []uuid.UUID{bad.ID, weird.ID} {
		_, err := s.GetTask(ctx, id)
		wantErr(t, err, store.ErrNotFound, "refused task stored")
	}
}

func testSubtasks(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	parent := create(t, s, task.ActionPrepareNodes, task.StatusQueued, t0)
	var want []uuid.UUID
	for i := range 5 {
		c := create(t, s, "step_action", task.StatusRequested, at(-time.Duration(i)*time.Second), childOf(parent),
			func(tk *task.Task) { tk.Step = name("step", i) })
		want = append(want, c.ID)
		got := get(t, s, c.ID)
		eq(t, got.ParentID, &parent.ID, "child's ParentID")
		eq(t, got.Step, name("step", i), "child's Step")
	}
	// Registration order, not creation time order.
	eq(t, get(t, s, parent.ID).SubtaskIDs, want, "parent's SubtaskIDs")

	// Subtasks of subtasks.
	grand := create(t, s, "sub_step", task.StatusRequested, t0, childOf(get(t, s, want[1])))
	eq(t, get(t, s, want[1]).SubtaskIDs, []uuid.UUID{grand.ID}, "child's SubtaskIDs")
	eq(t, get(t, s, parent.ID).SubtaskIDs, want, "parent's SubtaskIDs after a grandchild")

	// An unknown parent: nothing is created.
	orphan := newTask("step_action", task.StatusRequested, t0)
	orphan.ParentID = ptr(uuid.New())
	wantErr(t, s.CreateTask(ctx, orphan), store.ErrNotFound, "subtask of an unknown parent")
	_, err := s.GetTask(ctx, orphan.ID)
	wantErr(t, err, store.ErrNotFound, "orphan stored")
}

func testListTasks(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	a := create(t, s, task.ActionDeployNodes, task.StatusQueued, t0)
	b := create(t, s, task.ActionPrepareNodes, task.StatusRequested, at(time.Second))
	c := create(t, s, task.ActionDeployNodes, task.StatusComplete, at(2*time.Second))
	d := create(t, s, "identify_node", task.StatusRequested, at(3*time.Second), childOf(a))
	must(t, s.AddMessages(ctx, a.ID, task.NewMessage("hello", false, "", "")), "add message")

	list := func(p store.ListParams) []uuid.UUID {
		t.Helper()
		ts, err := s.ListTasks(ctx, p)
		must(t, err, "list tasks")
		return ids(ts)
	}
	eq(t, list(store.ListParams{}), idsOf(d, c, b, a), "all, newest first")
	eq(t, list(store.ListParams{TopLevelOnly: true}), idsOf(c, b, a), "top-level")
	eq(t, list(store.ListParams{ParentID: &a.ID}), idsOf(d), "subtasks of a")
	eq(t, list(store.ListParams{ParentID: &d.ID}), idsOf(), "subtasks of d")
	eq(t, list(store.ListParams{Statuses: []task.Status{task.StatusQueued, task.StatusComplete}}), idsOf(c, a), "by status")
	eq(t, list(store.ListParams{Action: task.ActionDeployNodes}), idsOf(c, a), "by action")
	eq(t, list(store.ListParams{Limit: 2}), idsOf(d, c), "limit")
	eq(t, list(store.ListParams{TopLevelOnly: true, Action: task.ActionDeployNodes, Limit: 1}), idsOf(c), "combined")
	eq(t, list(store.ListParams{Statuses: []task.Status{task.StatusTerminated}}), idsOf(), "no match")

	// Listed tasks carry their subtasks and messages.
	ts, err := s.ListTasks(ctx, store.ListParams{TopLevelOnly: true, Statuses: []task.Status{task.StatusQueued}})
	must(t, err, "list")
	eq(t, len(ts), 1, "listed tasks")
	eq(t, ts[0].SubtaskIDs, idsOf(d), "listed task's subtasks")
	if len(ts[0].Result.Messages) != 1 || ts[0].Result.Messages[0].Message != "hello" {
		t.Fatalf("listed task's messages: %+v", ts[0].Result.Messages)
	}
	sameTask(t, ts[0], a)
}

var allStatuses = []task.Status{task.StatusRequested, task.StatusQueued, task.StatusRunning,
	task.StatusTerminating, task.StatusTerminated, task.StatusComplete}

func testSetStatus(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	later := at(time.Hour)
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			tk := create(t, s, task.ActionNoop, from, t0)
			err := s.SetStatus(ctx, tk.ID, []task.Status{from}, to, later)
			got := get(t, s, tk.ID)
			if task.CanTransition(from, to) {
				must(t, err, string(from)+" -> "+string(to))
				eq(t, got.Status, to, "status")
				sameTime(t, &got.Updated, &later, "Updated")
				if to == task.StatusTerminated {
					sameTime(t, got.Terminated, &later, "Terminated")
				} else {
					sameTime(t, got.Terminated, nil, "Terminated")
				}
				continue
			}
			wantErr(t, err, store.ErrConflict, string(from)+" -> "+string(to))
			sameTask(t, got, tk)
		}
	}

	// The current status must be one of from.
	tk := create(t, s, task.ActionNoop, task.StatusRunning, t0)
	wantErr(t, s.SetStatus(ctx, tk.ID, []task.Status{task.StatusRequested, task.StatusQueued}, task.StatusRunning, later),
		store.ErrConflict, "running, from requested|queued")
	wantErr(t, s.SetStatus(ctx, tk.ID, nil, task.StatusComplete, later), store.ErrConflict, "empty from")
	must(t, s.SetStatus(ctx, tk.ID, []task.Status{task.StatusQueued, task.StatusRunning}, task.StatusComplete, later),
		"running, from queued|running")

	// Unknown tasks.
	wantErr(t, s.SetStatus(ctx, uuid.New(), []task.Status{task.StatusQueued}, task.StatusRunning, later),
		store.ErrNotFound, "unknown task, legal change")
	wantErr(t, s.SetStatus(ctx, uuid.New(), []task.Status{task.StatusComplete}, task.StatusRunning, later),
		store.ErrNotFound, "unknown task, illegal change")
}

func testMessages(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk := create(t, s, task.ActionNoop, task.StatusQueued, t0)

	big := strings.Repeat("0123456789", 10*1024) // 100 KB: the original truncated to 127 characters
	node := "node-" + strings.Repeat("n", 295)   // 300 characters: the original's context was VARCHAR(64)
	m1 := task.NodeError(node, "%s", big)
	m1.TS = at(time.Second)
	m2 := task.NewMessage("no time", false, "", "") // the store sets the time
	m3 := task.NewMessage("extra", false, task.ContextTask+"-"+long, tk.ID.String())
	m3.TS = at(time.Second)
	m3.Extra = map[string]any{"a": "b", "n": 3.0, "nested": map[string]any{"x": true}}
	before := time.Now().Add(-time.Minute)
	must(t, s.AddMessages(ctx, tk.ID, m1, m2), "add two messages")
	must(t, s.AddMessages(ctx, tk.ID, m3), "add a third")
	must(t, s.AddMessages(ctx, tk.ID), "add none")

	got := get(t, s, tk.ID).Result.Messages
	if len(got) != 3 {
		t.Fatalf("%d messages, want 3", len(got))
	}
	if got[0].Message != big {
		t.Fatalf("100 KB message stored as %d bytes", len(got[0].Message))
	}
	eq(t, got[0].Context, node, "long context")
	eq(t, got[0].ContextType, task.ContextNode, "context type")
	eq(t, got[0].Error, true, "error flag")
	sameTime(t, &got[0].TS, &m1.TS, "TS")
	eq(t, got[0].Extra, map[string]any{}, "empty extra")
	eq(t, got[1].Message, "no time", "second message")
	eq(t, got[1].Error, false, "second error flag")
	eq(t, got[1].ContextType, task.ContextNone, "second context type")
	if got[1].TS.Before(before) || got[1].TS.After(time.Now().Add(time.Minute)) {
		t.Fatalf("message without time got %v", got[1].TS)
	}
	eq(t, got[2].ContextType, m3.ContextType, "long context type")
	eq(t, got[2].Extra, m3.Extra, "extra")
	if got[0].Seq >= got[1].Seq || got[1].Seq >= got[2].Seq {
		t.Fatalf("sequence numbers not increasing: %d %d %d", got[0].Seq, got[1].Seq, got[2].Seq)
	}
	res := task.Result{Messages: got}
	eq(t, res.ErrorCount(), 1, "error count")

	wantErr(t, s.AddMessages(ctx, uuid.New(), m2), store.ErrNotFound, "messages for an unknown task")
}

func testSaveResult(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk, l := running(t, s, "a", t0)
	child := create(t, s, "step", task.StatusRequested, t0, childOf(tk))

	r := task.Result{
		Status:    task.ResultFailure,
		Message:   "message " + long,
		Reason:    "reason " + long,
		Successes: []string{"node-" + long, "n2"},
		Failures:  []string{"n3"},
		Links:     []task.Link{{Rel: "detail_logs", Href: "http://logs/1"}},
		Messages:  []task.Message{task.NewMessage("not stored by SaveResult", false, "", "")},
	}
	must(t, s.SaveResult(ctx, l, tk.ID, r, at(time.Second)), "save result")
	got := get(t, s, tk.ID)
	sameResult(t, got.Result, r)
	sameTime(t, &got.Updated, ptr(at(time.Second)), "Updated")
	eq(t, len(got.Result.Messages), 0, "messages saved by SaveResult")

	// A subtask's result is guarded by its parent's lease.
	rc := task.Result{Status: task.ResultSuccess, Successes: []string{"n1"}}
	must(t, s.SaveResult(ctx, l, child.ID, rc, at(time.Second)), "save subtask result")
	sameResult(t, get(t, s, child.ID).Result, rc)

	// Empty lists come back empty.
	must(t, s.SaveResult(ctx, l, child.ID, task.Result{Status: task.ResultIncomplete}, at(time.Second)), "clear")
	sameResult(t, get(t, s, child.ID).Result, task.Result{Status: task.ResultIncomplete})

	// Another task's subtask is not covered by this lease.
	other := create(t, s, task.ActionNoop, task.StatusRequested, t0)
	otherChild := create(t, s, "step", task.StatusRequested, t0, childOf(other))
	wantErr(t, s.SaveResult(ctx, l, otherChild.ID, rc, at(time.Second)), store.ErrLeaseLost, "other task's subtask")
	wantErr(t, s.SaveResult(ctx, l, other.ID, rc, at(time.Second)), store.ErrLeaseLost, "other task")
	sameResult(t, get(t, s, otherChild.ID).Result, task.Result{Status: task.ResultIncomplete})

	// A stale lease changes nothing.
	stale := l
	stale.Generation--
	wantErr(t, s.SaveResult(ctx, stale, tk.ID, rc, at(time.Hour)), store.ErrLeaseLost, "stale generation")
	wrongOwner := l
	wrongOwner.Owner = "b"
	wantErr(t, s.SaveResult(ctx, wrongOwner, child.ID, rc, at(time.Hour)), store.ErrLeaseLost, "wrong owner")
	sameTask(t, get(t, s, tk.ID), got)

	wantErr(t, s.SaveResult(ctx, l, uuid.New(), rc, at(time.Hour)), store.ErrNotFound, "unknown task")
}

func testRequestTermination(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	by := "operator-" + long
	when := at(time.Hour)

	for _, st := range []task.Status{task.StatusRequested, task.StatusQueued} {
		tk := create(t, s, task.ActionNoop, st, t0)
		got, err := s.RequestTermination(ctx, tk.ID, by, when)
		must(t, err, "terminate "+string(st))
		tk.Status, tk.Terminate, tk.Terminated, tk.TerminatedBy, tk.Updated = task.StatusTerminated, true, &when, by, when
		sameTask(t, got, tk)
		sameTask(t, get(t, s, tk.ID), tk)
	}

	// Running: terminating, with the flag set by a targeted update (a result saved before stays).
	tk, l := running(t, s, "a", t0)
	status, terminate, err := s.TaskStatus(ctx, tk.ID)
	must(t, err, "status of a running task")
	eq(t, status, task.StatusRunning, "TaskStatus before termination")
	eq(t, terminate, false, "terminate flag before termination")
	r := task.Result{Status: task.ResultPartialSuccess, Successes: []string{"n1"}, Failures: []string{"n2"}}
	must(t, s.SaveResult(ctx, l, tk.ID, r, at(time.Second)), "save result")
	got, err := s.RequestTermination(ctx, tk.ID, by, when)
	must(t, err, "terminate running")
	status, terminate, err = s.TaskStatus(ctx, tk.ID)
	must(t, err, "status of a terminating task")
	eq(t, status, task.StatusTerminating, "TaskStatus after termination")
	eq(t, terminate, true, "terminate flag after termination")
	eq(t, got.Status, task.StatusTerminating, "status")
	eq(t, got.Terminate, true, "Terminate")
	eq(t, got.TerminatedBy, by, "TerminatedBy")
	sameTime(t, got.Terminated, nil, "Terminated (not yet)")
	sameResult(t, got.Result, r)

	// Again: unchanged, no error.
	again, err := s.RequestTermination(ctx, tk.ID, "someone else", at(2*time.Hour))
	must(t, err, "terminate terminating")
	sameTask(t, again, got)

	// The owner winds it down: it can only become terminated.
	wantErr(t, s.FinishTask(ctx, l, task.StatusComplete, r, at(3*time.Hour)), store.ErrConflict, "complete a terminating task")
	must(t, s.FinishTask(ctx, l, task.StatusTerminated, r, at(3*time.Hour)), "finish terminated")
	got = get(t, s, tk.ID)
	eq(t, got.Status, task.StatusTerminated, "final status")
	sameTime(t, got.Terminated, ptr(at(3*time.Hour)), "Terminated")

	// Finished tasks: unchanged, with ErrConflict.
	for _, st := range []task.Status{task.StatusComplete, task.StatusTerminated} {
		tk := create(t, s, task.ActionNoop, st, t0)
		got, err := s.RequestTermination(ctx, tk.ID, by, when)
		wantErr(t, err, store.ErrConflict, "terminate "+string(st))
		if got == nil {
			t.Fatalf("terminate %s: no task returned with the conflict", st)
		}
		sameTask(t, got, tk)
		sameTask(t, get(t, s, tk.ID), tk)
	}

	_, err = s.RequestTermination(ctx, uuid.New(), by, when)
	wantErr(t, err, store.ErrNotFound, "terminate unknown task")
	_, _, err = s.TaskStatus(ctx, uuid.New())
	wantErr(t, err, store.ErrNotFound, "status of an unknown task")
}

func testRequeue(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk, l := running(t, s, "a", t0)
	runs := []task.StepRun{
		{TaskID: tk.ID, Step: "s1", Node: "n1", Ordinal: 1},
		{TaskID: tk.ID, Step: "s2", Node: "n1", Ordinal: 2},
		{TaskID: tk.ID, Step: "s3", Node: "n1", Ordinal: 3},
		{TaskID: tk.ID, Step: "s4", Node: "n1", Ordinal: 4},
		{TaskID: tk.ID, Step: "s5", Node: "n1", Ordinal: 5},
	}
	must(t, s.CreateStepRuns(ctx, l, runs), "create step runs")
	finish := func(step string, state task.StepState, start bool) {
		t.Helper()
		if start {
			_, err := s.StartStep(ctx, l, tk.ID, step, "n1", at(time.Second))
			must(t, err, "start "+step)
		}
		must(t, s.FinishStep(ctx, l, tk.ID, step, "n1", state, "done "+step, []byte(`{"step":"`+step+`"}`),
			at(2*time.Second)), "finish "+step)
	}
	finish("s1", task.StepSucceeded, true)
	finish("s2", task.StepFailed, true)
	finish("s3", task.StepSkipped, false)
	finish("s4", task.StepCancelled, true)
	// s5 stays pending.
	reserve(t, s, l, "n1")
	r := task.Result{Status: task.ResultFailure, Message: "failed", Reason: "s2", Successes: nil,
		Failures: []string{"n1"}, Links: []task.Link{{Rel: "detail_logs", Href: "http://logs"}}}
	must(t, s.FinishTask(ctx, l, task.StatusComplete, r, at(3*time.Second)), "finish task")
	before := get(t, s, tk.ID)

	got, err := s.Requeue(ctx, tk.ID, at(time.Hour))
	must(t, err, "requeue")
	want := *before
	want.Status, want.Retry, want.Updated = task.StatusQueued, 1, at(time.Hour)
	want.Result = task.Result{Status: task.ResultIncomplete, Links: r.Links}
	sameTask(t, got, &want)
	sameTask(t, get(t, s, tk.ID), &want)

	list, err := s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list step runs")
	states := map[string]task.StepState{}
	attempts := map[string]int{}
	for _, r := range list {
		states[r.Step], attempts[r.Step] = r.State, r.Attempts
	}
	eq(t, states, map[string]task.StepState{"s1": task.StepSucceeded, "s2": task.StepPending, "s3": task.StepSkipped,
		"s4": task.StepPending, "s5": task.StepPending}, "step states after requeue")
	eq(t, attempts, map[string]int{"s1": 1, "s2": 1, "s3": 0, "s4": 1, "s5": 0}, "attempts kept")
	if list[1].Finished != nil || list[1].FirstStarted == nil {
		t.Fatalf("requeued run s2: finished %v, first started %v", list[1].Finished, list[1].FirstStarted)
	}

	// The old lease is dead; the task is claimable again with a newer generation.
	_, err = s.RenewLease(ctx, l, leaseFor, at(time.Hour))
	wantErr(t, err, store.ErrLeaseLost, "renew old lease after requeue")
	again, l2 := claim(t, s, "b", at(time.Hour))
	eq(t, again.ID, tk.ID, "claimed requeued task")
	eq(t, again.Retry, 1, "Retry")
	if l2.Generation <= l.Generation {
		t.Fatalf("generation %d after requeue, was %d", l2.Generation, l.Generation)
	}
	// Its reservations were dropped with the finish; it may take them again.
	busy, err := s.ReserveNodes(ctx, l2, []string{"n1"})
	must(t, err, "reserve after requeue")
	eq(t, len(busy), 0, "busy nodes")

	// Only finished top-level tasks.
	wantErr(t, requeueErr(s, tk.ID), store.ErrConflict, "requeue a running task")
	parent := create(t, s, task.ActionNoop, task.StatusComplete, t0)
	child := create(t, s, "step", task.StatusComplete, t0, childOf(parent))
	wantErr(t, requeueErr(s, child.ID), store.ErrConflict, "requeue a subtask")
	for _, st := range []task.Status{task.StatusRequested, task.StatusQueued, task.StatusTerminating} {
		wantErr(t, requeueErr(s, create(t, s, task.ActionNoop, st, t0).ID), store.ErrConflict, "requeue "+string(st))
	}
	wantErr(t, requeueErr(s, uuid.New()), store.ErrNotFound, "requeue an unknown task")

	// A terminated task loses its termination on requeue.
	term := create(t, s, task.ActionNoop, task.StatusQueued, t0)
	_, err = s.RequestTermination(ctx, term.ID, "op", at(time.Minute))
	must(t, err, "terminate")
	got, err = s.Requeue(ctx, term.ID, at(time.Hour))
	must(t, err, "requeue terminated")
	eq(t, got.Status, task.StatusQueued, "status")
	eq(t, got.Terminate, false, "Terminate")
	eq(t, got.TerminatedBy, "", "TerminatedBy")
	sameTime(t, got.Terminated, nil, "Terminated")
	eq(t, got.Retry, 1, "Retry")
}

func requeueErr(s store.Store, id uuid.UUID) error {
	_, err := s.Requeue(context.Background(), id, at(time.Hour))
	return err
}
