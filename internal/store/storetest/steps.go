package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

func stepKeys(runs []task.StepRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.Step + "/" + r.Node
	}
	return out
}

func findRun(t testing.TB, runs []task.StepRun, step, node string) task.StepRun {
	t.Helper()
	for _, r := range runs {
		if r.Step == step && r.Node == node {
			return r
		}
	}
	t.Fatalf("no step run %s/%s", step, node)
	return task.StepRun{}
}

func testStepRuns(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk, l := running(t, s, "a", t0)
	longNode := "node-" + strings.Repeat("n", 295)

	runs := []task.StepRun{
		{TaskID: tk.ID, Step: "power", Node: "n2", Ordinal: 2},
		{TaskID: tk.ID, Step: "power", Node: "n1", Ordinal: 2},
		{TaskID: tk.ID, Step: "boot", Node: longNode, Ordinal: 1},
		{TaskID: tk.ID, Step: "validate", Node: task.SiteEntity, Ordinal: 0, Message: "first"},
		{TaskID: tk.ID, Step: "power", Node: longNode, Ordinal: 2},
	}
	must(t, s.CreateStepRuns(ctx, l, runs), "create step runs")
	// Again, with a different message: existing runs are left alone; a new one is added.
	again := append([]task.StepRun{}, runs...)
	again[3].Message = "second"
	again = append(again, task.StepRun{TaskID: tk.ID, Step: "deploy", Node: "n1", Ordinal: 3})
	must(t, s.CreateStepRuns(ctx, l, again), "create step runs again")
	must(t, s.CreateStepRuns(ctx, l, nil), "create no step runs")

	list, err := s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list")
	eq(t, stepKeys(list), []string{"validate/", "boot/" + longNode, "power/n1", "power/n2", "power/" + longNode, "deploy/n1"},
		"order: ordinal, then node")
	v := findRun(t, list, "validate", "")
	eq(t, v.Message, "first", "message of an existing run")
	for _, r := range list {
		if r.State != task.StepPending || r.Attempts != 0 || r.Started != nil || r.FirstStarted != nil ||
			r.Finished != nil || r.TaskID != tk.ID {
			t.Fatalf("new run %s/%s: %+v", r.Step, r.Node, r)
		}
	}

	// Start: pending -> running, attempt 1.
	r1, err := s.StartStep(ctx, l, tk.ID, "power", "n1", at(time.Second))
	must(t, err, "start")
	eq(t, r1.State, task.StepPending, "returned state: the state before")
	eq(t, r1.Attempts, 1, "attempts")
	eq(t, r1.Owner, "a", "owner")
	eq(t, r1.Ordinal, 2, "ordinal")
	sameTime(t, r1.FirstStarted, ptr(at(time.Second)), "FirstStarted")
	sameTime(t, r1.Started, ptr(at(time.Second)), "Started")
	list, err = s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list")
	stored := findRun(t, list, "power", "n1")
	eq(t, stored.State, task.StepRunning, "stored state")
	eq(t, stored.Attempts, 1, "stored attempts")

	// Detail before an effect that must not be repeated.
	must(t, s.SaveStepDetail(ctx, l, tk.ID, "power", "n1", []byte(`{"cycle":"requested"}`)), "save detail")

	// Start again (a resumption after a crash): running -> running, attempt 2, detail kept.
	r2, err := s.StartStep(ctx, l, tk.ID, "power", "n1", at(time.Minute))
	must(t, err, "resume")
	eq(t, r2.State, task.StepRunning, "returned state of a resumption")
	eq(t, r2.Attempts, 2, "attempts after resumption")
	sameTime(t, r2.FirstStarted, ptr(at(time.Second)), "FirstStarted kept")
	sameTime(t, r2.Started, ptr(at(time.Minute)), "Started")
	eq(t, string(r2.Detail), `{"cycle":"requested"}`, "detail seen by the resumption")

	// Finish.
	must(t, s.FinishStep(ctx, l, tk.ID, "power", "n1", task.StepSucceeded, "powered "+long, []byte(`{"cycle":"done"}`),
		at(2*time.Minute)), "finish")
	list, err = s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list")
	done := findRun(t, list, "power", "n1")
	eq(t, done.State, task.StepSucceeded, "state")
	eq(t, done.Message, "powered "+long, "message")
	eq(t, string(done.Detail), `{"cycle":"done"}`, "detail")
	eq(t, done.Attempts, 2, "attempts")
	sameTime(t, done.Finished, ptr(at(2*time.Minute)), "Finished")
	sameTime(t, done.Started, ptr(at(time.Minute)), "Started")

	// A finished run cannot be started, finished or given detail again.
	_, err = s.StartStep(ctx, l, tk.ID, "power", "n1", at(3*time.Minute))
	wantErr(t, err, store.ErrConflict, "start a finished run")
	wantErr(t, s.FinishStep(ctx, l, tk.ID, "power", "n1", task.StepFailed, "", nil, at(3*time.Minute)),
		store.ErrConflict, "finish a finished run")
	wantErr(t, s.SaveStepDetail(ctx, l, tk.ID, "power", "n1", []byte(`{}`)), store.ErrConflict, "detail on a finished run")

	// Pending runs: detail needs running; success needs a start; skipping and cancelling do not.
	wantErr(t, s.SaveStepDetail(ctx, l, tk.ID, "power", "n2", []byte(`{}`)), store.ErrConflict, "detail on a pending run")
	wantErr(t, s.FinishStep(ctx, l, tk.ID, "power", "n2", task.StepSucceeded, "", nil, at(3*time.Minute)),
		store.ErrConflict, "succeed a pending run")
	must(t, s.FinishStep(ctx, l, tk.ID, "power", "n2", task.StepSkipped, "earlier step failed", nil, at(3*time.Minute)),
		"skip a pending run")
	must(t, s.FinishStep(ctx, l, tk.ID, "deploy", "n1", task.StepCancelled, "terminated", nil, at(3*time.Minute)),
		"cancel a pending run")

	// A failure without detail keeps the detail saved before.
	_, err = s.StartStep(ctx, l, tk.ID, "boot", longNode, at(4*time.Minute))
	must(t, err, "start boot")
	must(t, s.SaveStepDetail(ctx, l, tk.ID, "boot", longNode, []byte(`{"boot":"pxe"}`)), "save detail")
	must(t, s.FinishStep(ctx, l, tk.ID, "boot", longNode, task.StepFailed, "no answer", nil, at(5*time.Minute)), "fail")
	// Not an outcome.
	_, err = s.StartStep(ctx, l, tk.ID, "validate", "", at(5*time.Minute))
	must(t, err, "start validate")
	wantErr(t, s.FinishStep(ctx, l, tk.ID, "validate", "", task.StepRunning, "", nil, at(5*time.Minute)),
		store.ErrConflict, "finish as running")
	wantErr(t, s.FinishStep(ctx, l, tk.ID, "validate", "", task.StepPending, "", nil, at(5*time.Minute)),
		store.ErrConflict, "finish as pending")

	list, err = s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list")
	states := map[string]task.StepState{}
	for _, r := range list {
		states[r.Step+"/"+r.Node] = r.State
	}
	eq(t, states, map[string]task.StepState{
		"validate/": task.StepRunning, "boot/" + longNode: task.StepFailed, "power/n1": task.StepSucceeded,
		"power/n2": task.StepSkipped, "power/" + longNode: task.StepPending, "deploy/n1": task.StepCancelled,
	}, "final states")
	boot := findRun(t, list, "boot", longNode)
	eq(t, string(boot.Detail), `{"boot":"pxe"}`, "detail kept by a finish without detail")
	eq(t, boot.Message, "no answer", "message")

	// Unknown runs and tasks.
	_, err = s.StartStep(ctx, l, tk.ID, "nope", "n1", at(time.Hour))
	wantErr(t, err, store.ErrNotFound, "start an unknown run")
	wantErr(t, s.FinishStep(ctx, l, tk.ID, "nope", "n1", task.StepFailed, "", nil, at(time.Hour)), store.ErrNotFound,
		"finish an unknown run")
	wantErr(t, s.SaveStepDetail(ctx, l, tk.ID, "nope", "n1", nil), store.ErrNotFound, "detail on an unknown run")
	_, err = s.ListStepRuns(ctx, uuid.New())
	wantErr(t, err, store.ErrNotFound, "list runs of an unknown task")
	empty := create(t, s, task.ActionNoop, task.StatusRequested, t0)
	none, err := s.ListStepRuns(ctx, empty.ID)
	must(t, err, "list runs of a task without runs")
	eq(t, len(none), 0, "runs of a task without runs")
	bad := []task.StepRun{{TaskID: tk.ID, Step: "x", Node: "n1", State: "weird"}}
	if err := s.CreateStepRuns(ctx, l, bad); err == nil {
		t.Fatal("a run with an unknown state was accepted")
	}
}

func testStepRunGuards(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk, l1 := running(t, s, "a", t0)
	child := create(t, s, "power_step", task.StatusRunning, t0, childOf(tk))
	runs := []task.StepRun{
		{TaskID: tk.ID, Step: "s", Node: "n1"},
		{TaskID: tk.ID, Step: "s", Node: "n2"},
		{TaskID: child.ID, Step: "s", Node: "n1"}, // runs of a subtask are covered by the parent's lease
	}
	must(t, s.CreateStepRuns(ctx, l1, runs), "create")
	_, err := s.StartStep(ctx, l1, child.ID, "s", "n1", at(time.Second))
	must(t, err, "start the subtask's run")
	_, err = s.StartStep(ctx, l1, tk.ID, "s", "n1", at(time.Second))
	must(t, err, "start")
	must(t, s.SaveStepDetail(ctx, l1, tk.ID, "s", "n1", []byte(`{"by":"a"}`)), "detail")

	// Another task's runs are not covered.
	other := create(t, s, task.ActionVerifyNodes, task.StatusQueued, t0)
	_, lo := claim(t, s, "o", t0, task.ActionVerifyNodes)
	must(t, s.CreateStepRuns(ctx, lo, []task.StepRun{{TaskID: other.ID, Step: "s", Node: "n1"}}), "create other")
	wantErr(t, s.CreateStepRuns(ctx, l1, []task.StepRun{{TaskID: other.ID, Step: "t", Node: "n1"}}),
		store.ErrLeaseLost, "create runs of another task")
	_, err = s.StartStep(ctx, l1, other.ID, "s", "n1", at(time.Second))
	wantErr(t, err, store.ErrLeaseLost, "start another task's run")

	// b takes the task over: every write with a's lease fails and changes nothing.
	_, l2 := claim(t, s, "b", at(time.Hour), task.ActionNoop)
	eq(t, l2.TaskID, tk.ID, "taken over")
	before, err := s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list")
	wantErr(t, s.CreateStepRuns(ctx, l1, []task.StepRun{{TaskID: tk.ID, Step: "new", Node: "n1"}}), store.ErrLeaseLost,
		"create with a stale lease")
	_, err = s.StartStep(ctx, l1, tk.ID, "s", "n2", at(time.Hour))
	wantErr(t, err, store.ErrLeaseLost, "start with a stale lease")
	wantErr(t, s.SaveStepDetail(ctx, l1, tk.ID, "s", "n1", []byte(`{"by":"stale"}`)), store.ErrLeaseLost,
		"detail with a stale lease")
	wantErr(t, s.FinishStep(ctx, l1, tk.ID, "s", "n1", task.StepFailed, "stale", nil, at(time.Hour)), store.ErrLeaseLost,
		"finish with a stale lease")
	wantErr(t, s.FinishStep(ctx, l1, child.ID, "s", "n1", task.StepFailed, "stale", nil, at(time.Hour)),
		store.ErrLeaseLost, "finish a subtask's run with a stale lease")
	after, err := s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list")
	eq(t, after, before, "runs after stale writes")

	// The new owner resumes the running run.
	r, err := s.StartStep(ctx, l2, tk.ID, "s", "n1", at(time.Hour))
	must(t, err, "resume by the new owner")
	eq(t, r.State, task.StepRunning, "resumed state")
	eq(t, r.Attempts, 2, "attempts")
	eq(t, r.Owner, "b", "owner")
	eq(t, string(r.Detail), `{"by":"a"}`, "detail")
	must(t, s.FinishStep(ctx, l2, tk.ID, "s", "n1", task.StepSucceeded, "", nil, at(time.Hour)), "finish by the new owner")
}

func testDesign(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk := create(t, s, task.ActionNoop, task.StatusQueued, t0)
	_, err := s.LoadDesign(ctx, tk.ID)
	wantErr(t, err, store.ErrNotFound, "load before save")

	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	big := []byte(strings.Repeat("---\nschema: drydock/BaremetalNode/v1\n", 10000))
	srcs := []store.DesignSource{{Name: "site/" + long + ".yaml", Data: big}, {Name: "a.bin", Data: bin},
		{Name: "empty.yaml", Data: []byte{}}}
	must(t, s.SaveDesign(ctx, tk.ID, srcs), "save")
	got, err := s.LoadDesign(ctx, tk.ID)
	must(t, err, "load")
	eq(t, got, srcs, "design")

	// Saving again replaces the snapshot.
	srcs2 := []store.DesignSource{{Name: "z.yaml", Data: []byte("z")}}
	must(t, s.SaveDesign(ctx, tk.ID, srcs2), "save again")
	got, err = s.LoadDesign(ctx, tk.ID)
	must(t, err, "load")
	eq(t, got, srcs2, "replaced design")

	wantErr(t, s.SaveDesign(ctx, uuid.New(), srcs), store.ErrNotFound, "save for an unknown task")
	_, err = s.LoadDesign(ctx, uuid.New())
	wantErr(t, err, store.ErrNotFound, "load for an unknown task")
}

func testNodeState(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	got, err := s.GetNodeStates(ctx)
	must(t, err, "get")
	eq(t, len(got), 0, "no states")
	longNode := "node-" + long
	must(t, s.PutNodeState(ctx, "n1", []byte(`{"state":"ready"}`), t0), "put n1")
	must(t, s.PutNodeState(ctx, longNode, []byte(`{"state":"new"}`), t0), "put long")
	must(t, s.PutNodeState(ctx, "n1", []byte(`{"state":"deployed"}`), at(time.Hour)), "replace n1")
	got, err = s.GetNodeStates(ctx)
	must(t, err, "get")
	eq(t, got, map[string][]byte{"n1": []byte(`{"state":"deployed"}`), longNode: []byte(`{"state":"new"}`)}, "states")
}

func testPing(t *testing.T, open Open) {
	s := open(t)
	must(t, s.Ping(t.Context()), "ping")
}
