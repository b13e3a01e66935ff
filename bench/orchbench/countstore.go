package main

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// writeMethods are the store.Store methods that write, in interface order.
var writeMethods = []string{"CreateTask", "SetStatus", "SaveResult", "AddMessages", "RequestTermination",
	"Requeue", "ClaimTask", "RenewLease", "ReleaseLease", "FinishTask", "ReserveNodes", "CreateStepRuns",
	"StartStep", "SaveStepDetail", "FinishStep", "SaveDesign", "PutNodeState", "PutBuildData",
	"EnsureBootActions", "ReportBootAction", "Purge"}

// readMethods are the ones that only read.
var readMethods = []string{"GetTask", "TaskStatus", "ListTasks", "ListStepRuns", "LoadDesign", "GetNodeStates",
	"ListBuildData", "Ping", "GetBootActionContext", "ListBootActions", "GetBootAction", "BootActionsChanged"}

// countingStore is a store.Store that counts and times every call, by method, and follows the
// progress of each top-level task (when its first step started, when each node finished its
// last step).
type countingStore struct {
	store.Store
	stats map[string]*stat // fixed at construction: read-only afterwards
	write map[string]bool  // the write methods

	start  time.Time                // construction: the origin of perSec
	perSec [maxSeconds]atomic.Int64 // writes completed in each second since start

	// The per-task records. Thousands of node goroutines call StartStep and FinishStep at the
	// same moment, so the hot path takes no lock: a sync.Map lookup and atomics (a mutex here
	// made a convoy of 10,000 goroutines that the measurement would have included).
	phases  sync.Map              // uuid.UUID → *phase
	current atomic.Pointer[phase] // the last top-level task created
}

// phase is what the store sees of one top-level task. Times are Unix nanoseconds, 0 for none.
type phase struct {
	action     string
	lastStep   string
	firstStart atomic.Int64 // the first StartStep call
	lastFinish atomic.Int64 // the return of the last FinishStep
	finished   atomic.Int64 // the return of FinishTask

	mu       sync.Mutex
	nodeDone []time.Time // return of each node's FinishStep of the last step (passed)
	// first call and last return of the once-per-task calls, by method
	firstCall, lastReturn map[string]time.Time
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// mark notes a call of a once-per-task method for the task id (or, when id is Nil, for the
// last task submitted: the bench runs one at a time).
func (c *countingStore) mark(id uuid.UUID, m string, t0 time.Time) {
	t1 := time.Now()
	p := c.current.Load()
	if id != uuid.Nil {
		p = c.phase(id)
	}
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.firstCall[m]; !ok {
		p.firstCall[m] = t0
	}
	p.lastReturn[m] = t1
}

// checkCoverage fails when store.Store has a method that countingStore does not count: a
// method added to the interface after this was written would otherwise pass through the
// embedded Store uncounted. It calls every method on a countingStore around a nil Store (the
// call panics inside, after the wrapper has deferred its count) and checks the count moved.
func checkCoverage() error {
	known := map[string]bool{}
	for _, m := range writeMethods {
		known[m] = true
	}
	for _, m := range readMethods {
		known[m] = true
	}
	c := newCountingStore(nil)
	v := reflect.ValueOf(c)
	it := reflect.TypeFor[store.Store]()
	for i := range it.NumMethod() {
		name := it.Method(i).Name
		if name == "Close" {
			continue
		}
		if !known[name] {
			return fmt.Errorf("store.Store.%s is neither a counted write nor a read: classify and wrap it in bench/orchbench/countstore.go", name)
		}
		m := v.MethodByName(name)
		in := m.Type().NumIn()
		if m.Type().IsVariadic() {
			in--
		}
		args := make([]reflect.Value, in)
		for a := range args {
			args[a] = reflect.Zero(m.Type().In(a))
		}
		before := c.stats[name].n.Load()
		func() {
			defer func() { _ = recover() }()
			m.Call(args)
		}()
		if c.stats[name].n.Load() == before {
			return fmt.Errorf("countingStore does not wrap store.Store.%s: wrap it in bench/orchbench/countstore.go", name)
		}
	}
	return nil
}

func newCountingStore(s store.Store) *countingStore {
	c := &countingStore{Store: s, stats: map[string]*stat{}, write: map[string]bool{}, start: time.Now()}
	for _, m := range writeMethods {
		c.stats[m] = &stat{}
		c.write[m] = true
	}
	for _, m := range readMethods {
		c.stats[m] = &stat{}
	}
	return c
}

// maxSeconds bounds the per-second timeline.
const maxSeconds = 3600

func (c *countingStore) rec(m string, t0 time.Time) {
	now := time.Now()
	c.stats[m].add(now.Sub(t0))
	if c.write[m] {
		if sec := int(now.Sub(c.start) / time.Second); sec < maxSeconds {
			c.perSec[sec].Add(1)
		}
	}
}

// finishedSeen waits (up to a second) until FinishTask of the task has returned through the
// wrapper: the bench may see the task final in the store a moment before.
func (c *countingStore) finishedSeen(id uuid.UUID) {
	for i := 0; i < 1000; i++ {
		if p := c.phase(id); p == nil || p.finished.Load() != 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// finishedAt is when FinishTask of the task returned (zero when it has not).
func (c *countingStore) finishedAt(id uuid.UUID) time.Time {
	if p := c.phase(id); p != nil {
		return unixTime(p.finished.Load())
	}
	return time.Time{}
}

func (c *countingStore) phase(id uuid.UUID) *phase {
	if v, ok := c.phases.Load(id); ok {
		return v.(*phase)
	}
	return nil
}

// Writes.

func (c *countingStore) CreateTask(ctx context.Context, t *task.Task) error {
	defer c.rec("CreateTask", time.Now())
	if t.ParentID == nil {
		keys := orchestrator.StepKeys(t.Action)
		p := &phase{action: t.Action, firstCall: map[string]time.Time{}, lastReturn: map[string]time.Time{}}
		if len(keys) > 0 {
			p.lastStep = keys[len(keys)-1]
		}
		c.phases.Store(t.ID, p)
		c.current.Store(p)
	} else {
		defer c.mark(*t.ParentID, "CreateTask", time.Now())
	}
	return c.Store.CreateTask(ctx, t)
}

func (c *countingStore) SetStatus(ctx context.Context, id uuid.UUID, from []task.Status, to task.Status, now time.Time) error {
	defer c.rec("SetStatus", time.Now())
	return c.Store.SetStatus(ctx, id, from, to, now)
}

func (c *countingStore) SaveResult(ctx context.Context, l task.Lease, id uuid.UUID, r task.Result, now time.Time) error {
	defer c.rec("SaveResult", time.Now())
	return c.Store.SaveResult(ctx, l, id, r, now)
}

func (c *countingStore) AddMessages(ctx context.Context, id uuid.UUID, msgs ...task.Message) error {
	defer c.rec("AddMessages", time.Now())
	return c.Store.AddMessages(ctx, id, msgs...)
}

func (c *countingStore) RequestTermination(ctx context.Context, id uuid.UUID, by string, now time.Time) (*task.Task, error) {
	defer c.rec("RequestTermination", time.Now())
	return c.Store.RequestTermination(ctx, id, by, now)
}

func (c *countingStore) Requeue(ctx context.Context, id uuid.UUID, now time.Time) (*task.Task, error) {
	defer c.rec("Requeue", time.Now())
	return c.Store.Requeue(ctx, id, now)
}

func (c *countingStore) ClaimTask(ctx context.Context, owner string, actions []string, leaseFor time.Duration, now time.Time) (*task.Task, task.Lease, error) {
	t0 := time.Now()
	defer c.rec("ClaimTask", t0)
	t, l, err := c.Store.ClaimTask(ctx, owner, actions, leaseFor, now)
	if err == nil {
		c.mark(t.ID, "ClaimTask", t0)
	}
	return t, l, err
}

func (c *countingStore) RenewLease(ctx context.Context, l task.Lease, leaseFor time.Duration, now time.Time) (task.Lease, error) {
	defer c.rec("RenewLease", time.Now())
	return c.Store.RenewLease(ctx, l, leaseFor, now)
}

func (c *countingStore) ReleaseLease(ctx context.Context, l task.Lease, now time.Time) error {
	defer c.rec("ReleaseLease", time.Now())
	return c.Store.ReleaseLease(ctx, l, now)
}

func (c *countingStore) FinishTask(ctx context.Context, l task.Lease, status task.Status, r task.Result, now time.Time) error {
	defer c.rec("FinishTask", time.Now())
	err := c.Store.FinishTask(ctx, l, status, r, now)
	if p := c.phase(l.TaskID); p != nil && err == nil {
		p.finished.Store(time.Now().UnixNano())
	}
	return err
}

func (c *countingStore) ReserveNodes(ctx context.Context, l task.Lease, nodes []string) (map[string]uuid.UUID, error) {
	t0 := time.Now()
	defer c.rec("ReserveNodes", t0)
	defer c.mark(l.TaskID, "ReserveNodes", t0)
	return c.Store.ReserveNodes(ctx, l, nodes)
}

func (c *countingStore) CreateStepRuns(ctx context.Context, l task.Lease, runs []task.StepRun) error {
	t0 := time.Now()
	defer c.rec("CreateStepRuns", t0)
	defer c.mark(l.TaskID, "CreateStepRuns", t0)
	return c.Store.CreateStepRuns(ctx, l, runs)
}

func (c *countingStore) StartStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, now time.Time) (task.StepRun, error) {
	t0 := time.Now()
	defer c.rec("StartStep", t0)
	if p := c.phase(taskID); p != nil && p.firstStart.Load() == 0 {
		p.firstStart.CompareAndSwap(0, t0.UnixNano())
	}
	return c.Store.StartStep(ctx, l, taskID, step, node, now)
}

func (c *countingStore) SaveStepDetail(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, detail []byte) error {
	defer c.rec("SaveStepDetail", time.Now())
	return c.Store.SaveStepDetail(ctx, l, taskID, step, node, detail)
}

func (c *countingStore) FinishStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, state task.StepState, message string, detail []byte, now time.Time) error {
	defer c.rec("FinishStep", time.Now())
	err := c.Store.FinishStep(ctx, l, taskID, step, node, state, message, detail, now)
	if p := c.phase(taskID); p != nil && err == nil {
		t := time.Now()
		for ns := t.UnixNano(); ; {
			old := p.lastFinish.Load()
			if ns <= old || p.lastFinish.CompareAndSwap(old, ns) {
				break
			}
		}
		if step == p.lastStep && state.Passed() {
			p.mu.Lock()
			p.nodeDone = append(p.nodeDone, t)
			p.mu.Unlock()
		}
	}
	return err
}

func (c *countingStore) SaveDesign(ctx context.Context, taskID uuid.UUID, sources []store.DesignSource) error {
	t0 := time.Now()
	defer c.rec("SaveDesign", t0)
	defer c.mark(taskID, "SaveDesign", t0)
	return c.Store.SaveDesign(ctx, taskID, sources)
}

func (c *countingStore) PutNodeState(ctx context.Context, node string, state []byte, now time.Time) error {
	defer c.rec("PutNodeState", time.Now())
	return c.Store.PutNodeState(ctx, node, state, now)
}

func (c *countingStore) PutBuildData(ctx context.Context, bd store.BuildData) error {
	defer c.rec("PutBuildData", time.Now())
	return c.Store.PutBuildData(ctx, bd)
}

// Reads.

func (c *countingStore) TaskStatus(ctx context.Context, id uuid.UUID) (task.Status, bool, error) {
	defer c.rec("TaskStatus", time.Now())
	return c.Store.TaskStatus(ctx, id)
}

func (c *countingStore) GetTask(ctx context.Context, id uuid.UUID) (*task.Task, error) {
	defer c.rec("GetTask", time.Now())
	return c.Store.GetTask(ctx, id)
}

func (c *countingStore) ListTasks(ctx context.Context, p store.ListParams) ([]*task.Task, error) {
	defer c.rec("ListTasks", time.Now())
	return c.Store.ListTasks(ctx, p)
}

func (c *countingStore) ListStepRuns(ctx context.Context, taskID uuid.UUID) ([]task.StepRun, error) {
	t0 := time.Now()
	defer c.rec("ListStepRuns", t0)
	defer c.mark(taskID, "ListStepRuns", t0)
	return c.Store.ListStepRuns(ctx, taskID)
}

func (c *countingStore) LoadDesign(ctx context.Context, taskID uuid.UUID) ([]store.DesignSource, error) {
	t0 := time.Now()
	defer c.rec("LoadDesign", t0)
	defer c.mark(taskID, "LoadDesign", t0)
	return c.Store.LoadDesign(ctx, taskID)
}

func (c *countingStore) GetNodeStates(ctx context.Context) (map[string][]byte, error) {
	t0 := time.Now()
	defer c.rec("GetNodeStates", t0)
	defer c.mark(uuid.Nil, "GetNodeStates", t0)
	return c.Store.GetNodeStates(ctx)
}

func (c *countingStore) ListBuildData(ctx context.Context, q store.BuildDataQuery) ([]store.BuildData, error) {
	defer c.rec("ListBuildData", time.Now())
	return c.Store.ListBuildData(ctx, q)
}

func (c *countingStore) Ping(ctx context.Context) error {
	defer c.rec("Ping", time.Now())
	return c.Store.Ping(ctx)
}

// phaseOut is what the child reports of one task, in seconds from the task's submission.
type phaseOut struct {
	Action     string  `json:"action"`
	FirstStart float64 `json:"first_start_s"` // submission → first StartStep call (design load, reservations, records)
	LastFinish float64 `json:"last_finish_s"` // submission → last FinishStep return
	Finished   float64 `json:"finished_s"`    // submission → FinishTask return
	NodesDone  int     `json:"nodes_done"`
	NodeP50    float64 `json:"node_p50_s"` // submission → a node's last step committed
	NodeP99    float64 `json:"node_p99_s"`
	NodeMax    float64 `json:"node_max_s"`
	NodeMin    float64 `json:"node_min_s"`
	NodeMean   float64 `json:"node_mean_s"`
	// The set-up before the first step, as consecutive intervals (seconds): submission →
	// claimed; → design snapshot saved (snapshot lookup, design fetch); → ReserveNodes called
	// (parse, compile, validate, select nodes); → nodes reserved; → step-run records created
	// (subtasks, CreateStepRuns); → first StartStep (ListStepRuns, GetNodeStates, goroutines).
	Claim, Fetch, Validate, Reserve, Records, Load float64
}

func (c *countingStore) phaseOut(id uuid.UUID, submitted time.Time) phaseOut {
	c.finishedSeen(id)
	p := c.phase(id)
	if p == nil {
		return phaseOut{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	since := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return t.Sub(submitted).Seconds()
	}
	o := phaseOut{Action: p.action, FirstStart: since(unixTime(p.firstStart.Load())),
		LastFinish: since(unixTime(p.lastFinish.Load())), Finished: since(unixTime(p.finished.Load())), NodesDone: len(p.nodeDone)}
	claimed, saved := since(p.lastReturn["ClaimTask"]), since(p.lastReturn["SaveDesign"])
	resStart, resEnd := since(p.firstCall["ReserveNodes"]), since(p.lastReturn["ReserveNodes"])
	records := since(p.lastReturn["CreateStepRuns"])
	o.Claim, o.Fetch, o.Validate, o.Reserve = claimed, saved-claimed, resStart-saved, resEnd-resStart
	o.Records, o.Load = records-resEnd, o.FirstStart-records
	if n := len(p.nodeDone); n > 0 {
		d := make([]float64, n)
		for i, t := range p.nodeDone {
			d[i] = since(t)
		}
		sort.Float64s(d)
		for _, v := range d {
			o.NodeMean += v / float64(n)
		}
		o.NodeMin, o.NodeP50, o.NodeP99, o.NodeMax = d[0], d[(n-1)/2], d[(n-1)*99/100], d[n-1]
	}
	return o
}

// nodeDoneTimes returns when nodes committed their last step, over every task.
func (c *countingStore) nodeDoneTimes() []time.Time {
	var out []time.Time
	c.phases.Range(func(_, v any) bool {
		p := v.(*phase)
		p.mu.Lock()
		out = append(out, p.nodeDone...)
		p.mu.Unlock()
		return true
	})
	return out
}

// Boot actions and retention.

func (c *countingStore) EnsureBootActions(ctx context.Context, l task.Lease, bc store.BootActionContext, a []store.BootAction) (store.BootActionContext, []store.BootAction, error) {
	defer c.rec("EnsureBootActions", time.Now())
	return c.Store.EnsureBootActions(ctx, l, bc, a)
}

func (c *countingStore) ReportBootAction(ctx context.Context, id, status string, msgs []task.Message, now time.Time) (store.BootAction, error) {
	defer c.rec("ReportBootAction", time.Now())
	return c.Store.ReportBootAction(ctx, id, status, msgs, now)
}

func (c *countingStore) Purge(ctx context.Context, before time.Time) (store.PurgeResult, error) {
	defer c.rec("Purge", time.Now())
	return c.Store.Purge(ctx, before)
}

func (c *countingStore) GetBootActionContext(ctx context.Context, node string) (store.BootActionContext, error) {
	defer c.rec("GetBootActionContext", time.Now())
	return c.Store.GetBootActionContext(ctx, node)
}

func (c *countingStore) ListBootActions(ctx context.Context, node, deployment string) ([]store.BootAction, error) {
	defer c.rec("ListBootActions", time.Now())
	return c.Store.ListBootActions(ctx, node, deployment)
}

func (c *countingStore) GetBootAction(ctx context.Context, id string) (store.BootAction, []byte, error) {
	defer c.rec("GetBootAction", time.Now())
	return c.Store.GetBootAction(ctx, id)
}

func (c *countingStore) BootActionsChanged() <-chan struct{} {
	defer c.rec("BootActionsChanged", time.Now())
	return c.Store.BootActionsChanged()
}
