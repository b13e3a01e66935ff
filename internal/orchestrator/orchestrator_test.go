package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/nodefilter"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/task"
)

// exampleSite is the example design: nodes ctl01, cmp01, cmp02, cmp03 (all IPMI).
var exampleSite, _ = filepath.Abs("../../examples/site")

var allNodes = []string{"ctl01", "cmp01", "cmp02", "cmp03"}

type harness struct {
	t     *testing.T
	st    store.Store
	fake  *fakeDriver
	orch  *Orchestrator
	stop  context.CancelFunc
	done  chan struct{}
	cfg   Config
	drvrs driver.Set
}

func testConfig() Config {
	return Config{LeaseFor: 600 * time.Millisecond, PollInterval: 20 * time.Millisecond,
		RetryBackoff: time.Millisecond, MaxTasks: 8}
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "drydock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, fake: newFake(), cfg: cfg}
	h.fake.nodes = st // deployed nodes report their boot actions
	h.drvrs = h.fake.set()
	return h
}

func (h *harness) start() {
	h.cfg.ID = "orch-" + uuid.NewString()[:8]
	h.orch = New(h.st, h.drvrs, h.cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		_ = h.orch.Run(ctx)
	}()
	h.t.Cleanup(h.shutdown)
}

func (h *harness) shutdown() {
	if h.stop != nil {
		h.stop()
		<-h.done
		h.stop = nil
	}
}

func (h *harness) submit(action string, filter *nodefilter.FilterSet) *task.Task {
	h.t.Helper()
	var raw []byte
	if filter != nil {
		raw = mustJSON(filter)
	}
	tk, err := h.orch.Submit(context.Background(), action, exampleSite, raw, "tester")
	if err != nil {
		h.t.Fatal(err)
	}
	return tk
}

func (h *harness) wait(id uuid.UUID) *task.Task {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tk, err := h.orch.WaitTask(ctx, id, 10*time.Millisecond)
	if err != nil {
		h.t.Fatalf("task %s did not finish: %v (status %v)", id, err, tk.Status)
	}
	return tk
}

func (h *harness) runs(id uuid.UUID) map[string]task.StepRun {
	h.t.Helper()
	rs, err := h.st.ListStepRuns(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]task.StepRun{}
	for _, r := range rs {
		out[r.Step+"/"+r.Node] = r
	}
	return out
}

func messagesOf(tk *task.Task) string {
	var b strings.Builder
	for _, m := range tk.Result.Messages {
		b.WriteString(m.Message)
		b.WriteString("\n")
	}
	return b.String()
}

func TestPrepareAndDeployAllNodes(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	prep := h.wait(h.submit(task.ActionPrepareNodes, nil).ID)
	if prep.Status != task.StatusComplete || prep.Result.Status != task.ResultSuccess {
		t.Fatalf("prepare: %s %s\n%s", prep.Status, prep.Result.Status, messagesOf(prep))
	}
	if len(prep.Result.Successes) != 4 || len(prep.Result.Failures) != 0 {
		t.Fatalf("prepare outcomes: %+v", prep.Result)
	}
	for _, n := range allNodes {
		if h.fake.count("power_cycle", n) != 1 || h.fake.count("configure_hardware", n) != 1 {
			t.Errorf("%s: %d power cycles, %d commissionings", n, h.fake.count("power_cycle", n), h.fake.count("configure_hardware", n))
		}
	}
	// Every step is a registered subtask with its own result.
	if len(prep.SubtaskIDs) != len(StepKeys(task.ActionPrepareNodes)) {
		t.Fatalf("subtasks: %d", len(prep.SubtaskIDs))
	}
	for _, id := range prep.SubtaskIDs {
		st, err := h.st.GetTask(context.Background(), id)
		if err != nil || st.Status != task.StatusComplete || st.ParentID == nil || *st.ParentID != prep.ID || st.Step == "" {
			t.Fatalf("subtask %v: %+v", err, st)
		}
	}

	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultSuccess || len(dep.Result.Successes) != 4 {
		t.Fatalf("deploy: %+v\n%s", dep.Result, messagesOf(dep))
	}
	for key, r := range h.runs(dep.ID) {
		if r.State != task.StepSucceeded || r.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts", key, r.State, r.Attempts)
		}
	}

	// Preparing again: the provisioner knows every node, so no node is power-cycled again.
	again := h.wait(h.submit(task.ActionPrepareNodes, nil).ID)
	if again.Result.Status != task.ResultSuccess {
		t.Fatalf("second prepare: %+v", again.Result)
	}
	for _, n := range allNodes {
		if c := h.fake.count("power_cycle", n); c != 1 {
			t.Errorf("%s power-cycled %d times", n, c)
		}
	}
	for key, r := range h.runs(again.ID) {
		if strings.HasPrefix(key, "power_cycle_node/") && r.State != task.StepSkipped {
			t.Errorf("%s: %s, want skipped", key, r.State)
		}
	}
}

func TestRetriesOnlyTheFailedNode(t *testing.T) {
	h := newHarness(t, testConfig())
	h.fake.on("deploy_node", "cmp02", func(ctx context.Context, c driver.Call, n int) driver.Result {
		if n < 3 {
			return driver.Fail("deployment failed (attempt %d)", n)
		}
		return driver.OK("deployed")
	})
	h.start()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultSuccess {
		t.Fatalf("deploy: %+v\n%s", dep.Result, messagesOf(dep))
	}
	if c := h.fake.count("deploy_node", "cmp02"); c != 3 {
		t.Errorf("cmp02 deployed %d times, want 3", c)
	}
	for _, n := range []string{"ctl01", "cmp01", "cmp03"} {
		if c := h.fake.count("deploy_node", n); c != 1 {
			t.Errorf("%s deployed %d times, want 1", n, c)
		}
	}
	calls := h.fake.callsOf("deploy_node", "cmp02")
	if calls[2].Attempt != 3 {
		t.Errorf("attempt numbers reach the driver: %d", calls[2].Attempt)
	}
}

func TestFailedNodeStopsAloneAndOutcomeIsUnambiguous(t *testing.T) {
	h := newHarness(t, testConfig())
	h.fake.on("apply_node_storage", "cmp01", func(ctx context.Context, c driver.Call, n int) driver.Result {
		return driver.Fail("disk missing")
	})
	h.start()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultPartialSuccess {
		t.Fatalf("status %s", dep.Result.Status)
	}
	if strings.Join(dep.Result.Failures, ",") != "cmp01" || len(dep.Result.Successes) != 3 {
		t.Fatalf("outcomes: %+v", dep.Result)
	}
	if h.fake.count("deploy_node", "cmp01") != 0 {
		t.Error("a node that failed a step must not go on to the next")
	}
	if h.fake.count("apply_node_storage", "cmp01") != 3 {
		t.Errorf("storage retried %d times, want 1 + 2 retries", h.fake.count("apply_node_storage", "cmp01"))
	}
	if !strings.Contains(messagesOf(dep), "apply_node_storage for cmp01 failed after 3 attempts: disk missing") {
		t.Errorf("messages:\n%s", messagesOf(dep))
	}
	runs := h.runs(dep.ID)
	if runs["apply_node_storage/cmp01"].State != task.StepFailed || runs["deploy_node/cmp01"].State != task.StepPending {
		t.Errorf("runs: %+v %+v", runs["apply_node_storage/cmp01"], runs["deploy_node/cmp01"])
	}
}

// A BMC that refuses (bad credentials) is asked once, not three times: repeated refused logins
// can lock a BMC account. An unreachable one is retried.
func TestRefusedBMCIsNotRetried(t *testing.T) {
	h := newHarness(t, testConfig())
	h.fake.on("interrogate_oob", "cmp01", func(ctx context.Context, c driver.Call, n int) driver.Result {
		return driver.Fail("the BMC refused: authentication failed")
	})
	h.fake.on("interrogate_oob", "cmp02", func(ctx context.Context, c driver.Call, n int) driver.Result {
		if n < 3 {
			return driver.Unreach("no answer")
		}
		return driver.OK("power on")
	})
	h.start()
	v := h.wait(h.submit(task.ActionVerifyNodes, nil).ID)
	if strings.Join(v.Result.Failures, ",") != "cmp01" {
		t.Fatalf("outcomes: %+v\n%s", v.Result, messagesOf(v))
	}
	if c := h.fake.count("interrogate_oob", "cmp01"); c != 1 {
		t.Errorf("a refusing BMC was asked %d times, want 1", c)
	}
	if c := h.fake.count("interrogate_oob", "cmp02"); c != 3 {
		t.Errorf("an unreachable BMC was asked %d times, want 3", c)
	}
	if !strings.Contains(messagesOf(v), "interrogate_oob for cmp01 failed after 1 attempt: the BMC refused") {
		t.Errorf("messages:\n%s", messagesOf(v))
	}
}

func TestStepTimeoutFiresAndCancelsTheCall(t *testing.T) {
	cfg := testConfig()
	cfg.Timeouts = map[string]time.Duration{"deploy_node": 150 * time.Millisecond}
	h := newHarness(t, cfg)
	var cancelled atomic.Bool
	h.fake.on("deploy_node", "cmp03", func(ctx context.Context, c driver.Call, n int) driver.Result {
		<-ctx.Done()
		cancelled.Store(true)
		return driver.Unreach("BMC did not answer")
	})
	h.start()
	start := time.Now()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the timeout did not fire in time: %s", time.Since(start))
	}
	if !cancelled.Load() {
		t.Error("the in-flight driver call's context was not cancelled")
	}
	if strings.Join(dep.Result.Failures, ",") != "cmp03" || len(dep.Result.Successes) != 3 {
		t.Fatalf("outcomes: %+v", dep.Result)
	}
	if !strings.Contains(messagesOf(dep), "deploy_node for cmp03 timed out after 150ms") {
		t.Errorf("messages:\n%s", messagesOf(dep))
	}
}

func TestSlowNodeDoesNotHoldTheOthers(t *testing.T) {
	h := newHarness(t, testConfig())
	h.fake.on("apply_node_networking", "ctl01", func(ctx context.Context, c driver.Call, n int) driver.Result {
		time.Sleep(600 * time.Millisecond)
		return driver.OK("slow but fine")
	})
	h.fake.on("deploy_node", "*", func(ctx context.Context, c driver.Call, n int) driver.Result {
		if n < 3 {
			return driver.Pending(20*time.Millisecond, "deploying")
		}
		return driver.OK("deployed")
	})
	h.start()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultSuccess {
		t.Fatalf("%+v", dep.Result)
	}
	slow := h.fake.endTime("deploy_node", "ctl01")
	for _, n := range []string{"cmp01", "cmp02", "cmp03"} {
		if !h.fake.endTime("deploy_node", n).Before(slow.Add(-400 * time.Millisecond)) {
			t.Errorf("%s finished deploying at %v, not well before the slow node (%v)", n, h.fake.endTime("deploy_node", n), slow)
		}
	}
	// An in-progress deploy is watched (called again), not started again: the step stays one
	// attempt.
	if r := h.runs(dep.ID)["deploy_node/cmp01"]; r.Attempts != 1 {
		t.Errorf("attempts %d", r.Attempts)
	}
}

func TestTerminationCancelsInFlightCalls(t *testing.T) {
	h := newHarness(t, testConfig())
	var cancelled atomic.Int32
	h.fake.on("deploy_node", "*", func(ctx context.Context, c driver.Call, n int) driver.Result {
		<-ctx.Done()
		cancelled.Add(1)
		return driver.Unreach("cancelled")
	})
	h.start()
	tk := h.submit(task.ActionDeployNodes, nil)
	// Every node's deployment must be in flight before the termination (under load, the last
	// ones may start late: they would then never start, and nothing would cancel them).
	waitFor(t, func() bool {
		for _, n := range []string{"ctl01", "cmp01", "cmp02", "cmp03"} {
			if h.fake.count("deploy_node", n) == 0 {
				return false
			}
		}
		return true
	})
	if _, err := h.orch.Terminate(context.Background(), tk.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	done := h.wait(tk.ID)
	if done.Status != task.StatusTerminated || !done.Terminate || done.TerminatedBy != "operator" {
		t.Fatalf("%s terminate=%v by %q", done.Status, done.Terminate, done.TerminatedBy)
	}
	if cancelled.Load() < 4 {
		t.Errorf("%d in-flight calls cancelled, want 4", cancelled.Load())
	}
	for key, r := range h.runs(tk.ID) {
		if strings.HasPrefix(key, "deploy_node/") && r.State != task.StepCancelled {
			t.Errorf("%s: %s", key, r.State)
		}
	}
	if !strings.Contains(messagesOf(done), "Action terminated.") {
		t.Errorf("messages:\n%s", messagesOf(done))
	}
}

func TestTerminateQueuedTask(t *testing.T) {
	h := newHarness(t, testConfig())
	h.orch = New(h.st, h.drvrs, h.cfg) // not running: the task stays queued
	tk := h.submit(task.ActionDeployNodes, nil)
	got, err := h.orch.Terminate(context.Background(), tk.ID, "operator")
	if err != nil || got.Status != task.StatusTerminated {
		t.Fatalf("%v %+v", err, got)
	}
	h.start()
	time.Sleep(100 * time.Millisecond)
	if h.fake.count("apply_node_networking", "cmp01") != 0 {
		t.Error("a terminated task must never run")
	}
}

func TestOverlappingTasksWaitDisjointOnesRunTogether(t *testing.T) {
	h := newHarness(t, testConfig())
	release := make(chan struct{})
	h.fake.on("deploy_node", "ctl01", func(ctx context.Context, c driver.Call, n int) driver.Result {
		select {
		case <-release:
			return driver.OK("deployed")
		case <-ctx.Done():
			return driver.Unreach("cancelled")
		}
	})
	h.start()
	first := h.submit(task.ActionDeployNodes, nodefilter.FromNames([]string{"ctl01", "cmp01"}))
	waitFor(t, func() bool { return h.fake.count("deploy_node", "ctl01") > 0 })
	overlapping := h.submit(task.ActionDestroyNodes, nodefilter.FromNames([]string{"cmp01"}))
	disjoint := h.submit(task.ActionDeployNodes, nodefilter.FromNames([]string{"cmp02"}))
	d := h.wait(disjoint.ID)
	if d.Result.Status != task.ResultSuccess {
		t.Fatalf("disjoint: %+v", d.Result)
	}
	waitFor(t, func() bool {
		tk, _ := h.st.GetTask(context.Background(), overlapping.ID)
		return strings.Contains(messagesOf(tk), "Waiting for nodes busy in other tasks: cmp01 (task "+first.ID.String()+")")
	})
	if h.fake.count("destroy_node", "cmp01") != 0 {
		t.Fatal("the overlapping task ran while its node was busy")
	}
	close(release)
	if r := h.wait(first.ID); r.Result.Status != task.ResultSuccess {
		t.Fatalf("first: %+v", r.Result)
	}
	if r := h.wait(overlapping.ID); r.Result.Status != task.ResultSuccess || h.fake.count("destroy_node", "cmp01") != 1 {
		t.Fatalf("overlapping: %+v", r.Result)
	}
}

func TestDesignProblemsFailTheTask(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	bad, err := h.orch.Submit(context.Background(), task.ActionDeployNodes, "../../testdata/drydock-samples/invalid_validation.yaml", nil, "tester")
	if err != nil {
		t.Fatal(err)
	}
	r := h.wait(bad.ID)
	if r.Result.Status != task.ResultFailure || !strings.Contains(messagesOf(r), "The design failed validation with 30 errors") {
		t.Fatalf("%+v\n%s", r.Result, messagesOf(r))
	}
	missing, _ := h.orch.Submit(context.Background(), task.ActionDeployNodes, "/no/such/design.yaml", nil, "tester")
	if r := h.wait(missing.ID); r.Result.Status != task.ResultFailure || !strings.Contains(messagesOf(r), "Unable to read the design") {
		t.Fatalf("%+v", r.Result)
	}
	none := h.submit(task.ActionDeployNodes, nodefilter.FromNames([]string{"nope"}))
	if r := h.wait(none.ID); r.Result.Status != task.ResultSuccess || !strings.Contains(messagesOf(r), "No nodes in scope") {
		t.Fatalf("%+v", r.Result)
	}
	badFilter, _ := h.orch.Submit(context.Background(), task.ActionDeployNodes, exampleSite, []byte(`{"filter_set_type":"sideways","filter_set":[]}`), "tester")
	if r := h.wait(badFilter.ID); r.Result.Status != task.ResultFailure || !strings.Contains(messagesOf(r), "Invalid node_filter") {
		t.Fatalf("%+v", r.Result)
	}
	if _, err := h.orch.Submit(context.Background(), "set_node_boot", exampleSite, nil, "tester"); err == nil {
		t.Fatal("a step action is not a task")
	}
}

func TestValidateDesignTask(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	ok := h.wait(h.submit(task.ActionValidateDesign, nil).ID)
	if ok.Result.Status != task.ResultSuccess {
		t.Fatalf("%+v", ok.Result)
	}
	bad, _ := h.orch.Submit(context.Background(), task.ActionValidateDesign, "../../testdata/drydock-samples/invalid_validation.yaml", nil, "tester")
	r := h.wait(bad.ID)
	if r.Result.Status != task.ResultFailure {
		t.Fatalf("%+v", r.Result)
	}
	errs := 0
	for _, m := range r.Result.Messages {
		if m.Error && m.ContextType == "design" {
			errs++
		}
	}
	if errs != 30 || !strings.Contains(messagesOf(r), "DD2003 net.mtu: MTU must be between 1280 and 65536, value is 700") {
		t.Fatalf("%d error messages\n%s", errs, messagesOf(r))
	}
}

func TestSiteWorkflowsAndVerifyNodes(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	for _, a := range []string{task.ActionVerifySite, task.ActionPrepareSite, task.ActionVerifyNodes, task.ActionRelabelNodes, task.ActionDestroyNodes, task.ActionNoop} {
		r := h.wait(h.submit(a, nil).ID)
		if r.Status != task.StatusComplete || r.Result.Status != task.ResultSuccess {
			t.Errorf("%s: %s %+v\n%s", a, r.Status, r.Result, messagesOf(r))
		}
	}
	for _, op := range []string{"create_network_template", "configure_user_credentials", "configure_node_provisioner"} {
		if h.fake.count(op, "site") != 1 {
			t.Errorf("%s ran %d times", op, h.fake.count(op, "site"))
		}
	}
	if h.fake.count("interrogate_oob", "cmp02") != 1 || h.fake.count("relabel_node", "cmp02") != 1 {
		t.Error("node workflows call their drivers")
	}
}

func TestMissingDriversFailClearly(t *testing.T) {
	h := newHarness(t, testConfig())
	h.drvrs = driver.Set{OOB: map[string]driver.OOBDriver{}}
	h.start()
	r := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if r.Result.Status != task.ResultFailure || !strings.Contains(messagesOf(r), "No node driver enabled") {
		t.Fatalf("%+v\n%s", r.Result, messagesOf(r))
	}
	r = h.wait(h.submit(task.ActionRelabelNodes, nil).ID)
	if r.Result.Status != task.ResultFailure || !strings.Contains(messagesOf(r), "No kubernetes driver is enabled") {
		t.Fatalf("%+v", r.Result)
	}
	// Verify nodes needs only the OOB driver of each node's type: none is enabled here.
	r = h.wait(h.submit(task.ActionVerifyNodes, nil).ID)
	if r.Result.Status != task.ResultFailure || !strings.Contains(messagesOf(r), "OOB type ipmi is not supported") {
		t.Fatalf("%+v\n%s", r.Result, messagesOf(r))
	}
}

// partitioned is a store that an orchestrator loses contact with once down is set, as if it
// froze or its database connection broke: it can neither renew its leases nor claim tasks.
type partitioned struct {
	store.Store
	down atomic.Bool
}

var errPartition = errors.New("network partition")

func (p *partitioned) RenewLease(ctx context.Context, l task.Lease, d time.Duration, now time.Time) (task.Lease, error) {
	if p.down.Load() {
		return l, errPartition
	}
	return p.Store.RenewLease(ctx, l, d, now)
}

func (p *partitioned) ClaimTask(ctx context.Context, owner string, actions []string, d time.Duration, now time.Time) (*task.Task, task.Lease, error) {
	if p.down.Load() {
		return nil, task.Lease{}, errPartition
	}
	return p.Store.ClaimTask(ctx, owner, actions, d, now)
}

// An orchestrator that stops renewing its lease (a crash, a freeze, a partition) loses the task:
// another takes it over after the lease expires, resumes the in-flight steps through the
// driver's check-current-state path, and the first can no longer record anything (fencing).
func TestTakeoverAfterLeaseExpiryResumesInFlightSteps(t *testing.T) {
	h := newHarness(t, testConfig())
	stuck := newFake()
	part := &partitioned{Store: h.st}
	stuck.on("deploy_node", "*", func(ctx context.Context, c driver.Call, n int) driver.Result {
		part.down.Store(true) // the first orchestrator loses the store and hangs in the deploy call
		<-ctx.Done()
		return driver.Unreach("cut off")
	})
	first := New(part, stuck.set(), Config{ID: "first", LeaseFor: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond, RetryBackoff: time.Millisecond})
	ctx1, stop1 := context.WithCancel(context.Background())
	defer stop1()
	go func() { _ = first.Run(ctx1) }()
	tk, err := first.Submit(context.Background(), task.ActionDeployNodes, exampleSite, nil, "tester")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		for _, n := range allNodes {
			if stuck.count("deploy_node", n) == 0 {
				return false
			}
		}
		return true
	})

	second := New(h.st, h.fake.set(), Config{ID: "second", LeaseFor: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond, RetryBackoff: time.Millisecond})
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	go func() { _ = second.Run(ctx2) }()
	r, err := second.WaitTask(context.Background(), tk.ID, 10*time.Millisecond)
	if err != nil || r.Result.Status != task.ResultSuccess {
		t.Fatalf("%v %+v\n%s", err, r.Result, messagesOf(r))
	}
	for _, n := range allNodes {
		calls := h.fake.callsOf("deploy_node", n)
		if len(calls) != 1 || !calls[0].Resumed || calls[0].Attempt != 2 {
			t.Errorf("%s: %d deploy calls by the second orchestrator (%+v)", n, len(calls), calls)
		}
		if c := h.fake.count("apply_node_networking", n); c != 0 {
			t.Errorf("%s: a committed step was repeated (%d calls)", n, c)
		}
		if c := stuck.count("deploy_node", n); c != 1 {
			t.Errorf("%s: the first orchestrator called deploy %d times", n, c)
		}
	}
	if !strings.Contains(messagesOf(r), "Resuming step deploy_node for cmp01 after an interruption") {
		t.Errorf("messages:\n%s", messagesOf(r))
	}
	// The first orchestrator's late write is refused.
	err = h.st.FinishStep(context.Background(), task.Lease{TaskID: tk.ID, Owner: "first", Generation: 1}, tk.ID, "deploy_node", "cmp01", task.StepFailed, "late", nil, time.Now())
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stale write: %v", err)
	}
}

func TestRequeueRunsOnlyWhatFailed(t *testing.T) {
	h := newHarness(t, testConfig())
	broken := atomic.Bool{}
	broken.Store(true)
	h.fake.on("deploy_node", "cmp01", func(ctx context.Context, c driver.Call, n int) driver.Result {
		if broken.Load() {
			return driver.Fail("image missing")
		}
		return driver.OK("deployed")
	})
	h.start()
	tk := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if tk.Result.Status != task.ResultPartialSuccess {
		t.Fatalf("%+v", tk.Result)
	}
	broken.Store(false)
	if _, err := h.st.Requeue(context.Background(), tk.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.orch.Wake()
	again := h.wait(tk.ID)
	if again.Result.Status != task.ResultSuccess || len(again.Result.Successes) != 4 || again.Retry != 1 {
		t.Fatalf("%+v retry %d", again.Result, again.Retry)
	}
	for _, n := range []string{"ctl01", "cmp02", "cmp03"} {
		if c := h.fake.count("apply_node_networking", n); c != 1 {
			t.Errorf("%s: networking applied %d times; a retry must not redo passed steps", n, c)
		}
	}
	if c := h.fake.count("deploy_node", "cmp01"); c != 4+1 {
		t.Errorf("cmp01 deploy calls %d", c)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
