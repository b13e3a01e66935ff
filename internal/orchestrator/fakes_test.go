package orchestrator

import (
	"context"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// fakeDriver is a scriptable node + OOB driver for orchestrator tests. By default every call
// succeeds at once and every node is unknown to the provisioner until it was power-cycled.
type fakeDriver struct {
	mu      sync.Mutex
	calls   map[string][]driver.Call // "op/node" -> calls in order
	known   map[string]bool
	script  map[string]func(ctx context.Context, c driver.Call, n int) driver.Result // "op/node" or "op/*"
	started map[string]time.Time
	ended   map[string]time.Time
	// nodes, when set, plays deployed nodes: a successful deploy of a node with boot actions
	// reports success for each signaling action (outcome overrides it per node: "failure",
	// or "none" for a node that never reports).
	nodes   store.Store
	outcome map[string]string
	placed  map[string][]*driver.BootActions // what each node was handed, per deploy call
}

func newFake() *fakeDriver {
	return &fakeDriver{calls: map[string][]driver.Call{}, known: map[string]bool{},
		script: map[string]func(context.Context, driver.Call, int) driver.Result{}, started: map[string]time.Time{}, ended: map[string]time.Time{}}
}

// on scripts an operation for a node ("*" for all): f gets the call and its 1-based count.
func (f *fakeDriver) on(op, node string, fn func(ctx context.Context, c driver.Call, n int) driver.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[op+"/"+node] = fn
}

func (f *fakeDriver) record(op string, c driver.Call) (int, func(context.Context, driver.Call, int) driver.Result) {
	name := "site"
	if c.Node != nil {
		name = c.Node.Name
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := op + "/" + name
	f.calls[key] = append(f.calls[key], c)
	if _, ok := f.started[key]; !ok {
		f.started[key] = time.Now()
	}
	fn := f.script[key]
	if fn == nil {
		fn = f.script[op+"/*"]
	}
	return len(f.calls[key]), fn
}

func (f *fakeDriver) count(op, node string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls[op+"/"+node])
}

func (f *fakeDriver) callsOf(op, node string) []driver.Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]driver.Call(nil), f.calls[op+"/"+node]...)
}

func (f *fakeDriver) endTime(op, node string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended[op+"/"+node]
}

func (f *fakeDriver) do(ctx context.Context, op string, c driver.Call, def func() driver.Result) driver.Result {
	n, fn := f.record(op, c)
	var res driver.Result
	if fn != nil {
		res = fn(ctx, c, n)
	} else {
		res = def()
	}
	if res.Outcome == driver.Done && c.Node != nil {
		f.mu.Lock()
		f.ended[op+"/"+c.Node.Name] = time.Now()
		f.mu.Unlock()
	}
	return res
}

func (f *fakeDriver) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	return f.do(ctx, "validate_services", driver.Call{}, func() driver.Result { return driver.OK("ok") })
}

func (f *fakeDriver) PrepareSite(ctx context.Context, op string, site *design.Site) driver.Result {
	return f.do(ctx, op, driver.Call{}, func() driver.Result { return driver.OK("%s done", op) })
}

func (f *fakeDriver) IdentifyNode(ctx context.Context, c driver.Call) driver.Result {
	return f.do(ctx, "identify_node", c, func() driver.Result {
		f.mu.Lock()
		known := f.known[c.Node.Name]
		f.mu.Unlock()
		if known {
			return driver.Result{Outcome: driver.Done, Message: "found", State: &driver.NodeState{Provisioner: "New"}}
		}
		return driver.Fail("node %s not found", c.Node.Name)
	})
}

func (f *fakeDriver) simple(op string) func(ctx context.Context, c driver.Call) driver.Result {
	return func(ctx context.Context, c driver.Call) driver.Result {
		return f.do(ctx, op, c, func() driver.Result { return driver.OK("%s done", op) })
	}
}

func (f *fakeDriver) ConfigureHardware(ctx context.Context, c driver.Call) driver.Result {
	return f.simple("configure_hardware")(ctx, c)
}
func (f *fakeDriver) ApplyNetworking(ctx context.Context, c driver.Call) driver.Result {
	return f.simple("apply_node_networking")(ctx, c)
}
func (f *fakeDriver) ApplyStorage(ctx context.Context, c driver.Call) driver.Result {
	return f.simple("apply_node_storage")(ctx, c)
}
func (f *fakeDriver) ApplyPlatform(ctx context.Context, c driver.Call) driver.Result {
	return f.simple("apply_node_platform")(ctx, c)
}
func (f *fakeDriver) Deploy(ctx context.Context, c driver.Call) driver.Result {
	res := f.simple("deploy_node")(ctx, c)
	f.mu.Lock()
	if f.placed == nil {
		f.placed = map[string][]*driver.BootActions{}
	}
	f.placed[c.Node.Name] = append(f.placed[c.Node.Name], c.BootActions)
	outcome, st := f.outcome[c.Node.Name], f.nodes
	f.mu.Unlock()
	if res.Outcome != driver.Done || c.BootActions == nil || st == nil || outcome == "none" {
		return res
	}
	if outcome == "" {
		outcome = store.BootActionSuccess
	}
	for _, a := range c.BootActions.Actions {
		if a.Signaling {
			msg := task.Message{Message: "node ran " + a.Name, Error: outcome != store.BootActionSuccess, ContextType: task.ContextBootAction, Context: a.ID}
			_, _ = st.ReportBootAction(context.WithoutCancel(ctx), a.ID, outcome, []task.Message{msg}, time.Now())
		}
	}
	return res
}

// placedOn returns what the node was handed on each deploy call.
func (f *fakeDriver) placedOn(node string) []*driver.BootActions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*driver.BootActions(nil), f.placed[node]...)
}
func (f *fakeDriver) Destroy(ctx context.Context, c driver.Call) driver.Result {
	return f.simple("destroy_node")(ctx, c)
}

func (f *fakeDriver) SetNextBoot(ctx context.Context, c driver.Call, dev driver.BootDevice) driver.Result {
	return f.simple("set_node_boot")(ctx, c)
}

func (f *fakeDriver) Power(ctx context.Context, c driver.Call, a driver.PowerAction) driver.Result {
	return f.do(ctx, "power_"+string(a), c, func() driver.Result {
		if a == driver.PowerCycle {
			f.mu.Lock()
			f.known[c.Node.Name] = true // it PXE-boots and enlists
			f.mu.Unlock()
		}
		return driver.OK("power %s", a)
	})
}

func (f *fakeDriver) Interrogate(ctx context.Context, c driver.Call) driver.Result {
	return f.do(ctx, "interrogate_oob", c, func() driver.Result {
		return driver.Result{Outcome: driver.Done, Message: "power on", State: &driver.NodeState{Power: driver.PowerStateOn}}
	})
}

func (f *fakeDriver) Relabel(ctx context.Context, c driver.Call) driver.Result {
	return f.simple("relabel_node")(ctx, c)
}

// set returns a driver.Set using the fake for every role.
func (f *fakeDriver) set() driver.Set {
	return driver.Set{Node: f, OOB: map[string]driver.OOBDriver{"ipmi": f, "redfish": f, "libvirt": f}, Kube: f}
}
