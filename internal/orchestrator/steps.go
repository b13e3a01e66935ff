package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/task"
)

// stepFunc performs one attempt of a step for one node (nil for the site).
type stepFunc func(ctx context.Context, r *run, c driver.Call) driver.Result

// skipFunc says why a step is not needed for a node ("" when it is).
type skipFunc func(ctx context.Context, r *run, n *design.Node) string

// drive runs a driver call within the global bound on concurrent driver calls.
func (r *run) drive(ctx context.Context, f func() driver.Result) driver.Result {
	select {
	case r.o.sem <- struct{}{}:
	case <-ctx.Done():
		return driver.Unreach("not started: %v", context.Cause(ctx))
	}
	defer func() { <-r.o.sem }()
	return f()
}

func runNoop(ctx context.Context, r *run, c driver.Call) driver.Result {
	if d := r.o.cfg.NoopDelay; d > 0 && !sleep(ctx, d) {
		return driver.Unreach("noop interrupted")
	}
	return driver.OK("Noop action.")
}

func runValidateDesign(ctx context.Context, r *run, c driver.Call) driver.Result {
	rep := r.report
	var msgs []task.Message
	for _, m := range rep.Messages {
		if m.Level == design.LevelInfo {
			continue
		}
		msgs = append(msgs, task.Message{Message: fmt.Sprintf("%s %s: %s", m.Code, m.Rule, m.Message), Error: m.Error,
			ContextType: "design", Context: docName(m.Documents),
			Extra: map[string]any{"level": string(m.Level), "diagnostic": m.Diagnostic, "rule": m.Rule, "code": m.Code}})
	}
	r.message(ctx, msgs...)
	if !rep.Valid() {
		return driver.Fail("Site design failed validation with %d errors.", rep.ErrorCount())
	}
	return driver.OK("Site design passed validation.")
}

func runValidateNodeServices(ctx context.Context, r *run, c driver.Call) driver.Result {
	return r.drive(ctx, func() driver.Result { return r.o.drivers.Node.ValidateServices(ctx, r.site) })
}

// runValidateOOBServices checks the OOB driver of every oob.type the site's nodes use.
func runValidateOOBServices(ctx context.Context, r *run, c driver.Call) driver.Result {
	types := map[string]bool{}
	for _, n := range r.site.Nodes {
		if n.OOBType != "" {
			types[n.OOBType] = true
		}
	}
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	var problems []string
	worst := driver.Done
	for _, t := range names {
		d := r.o.drivers.OOB[t]
		if d == nil {
			problems = append(problems, fmt.Sprintf("no enabled driver supports OOB type %s", t))
			worst = driver.Failed
			continue
		}
		res := r.drive(ctx, func() driver.Result { return d.ValidateServices(ctx, r.site) })
		if res.Outcome != driver.Done {
			problems = append(problems, fmt.Sprintf("%s: %s", t, res.Message))
			if res.Outcome == driver.Failed || worst == driver.Done {
				worst = res.Outcome
			}
		}
	}
	if worst != driver.Done {
		return driver.Result{Outcome: worst, Message: strings.Join(problems, "; ")}
	}
	return driver.OK("OOB services available for types: %s", strings.Join(names, ", "))
}

func runValidateKube(ctx context.Context, r *run, c driver.Call) driver.Result {
	return r.drive(ctx, func() driver.Result { return r.o.drivers.Kube.ValidateServices(ctx, r.site) })
}

func skipWithoutKube(ctx context.Context, r *run, n *design.Node) string {
	if r.o.drivers.Kube == nil {
		return "The Kubernetes driver is not enabled."
	}
	return ""
}

func prepareSiteStep(op string) stepFunc {
	return func(ctx context.Context, r *run, c driver.Call) driver.Result {
		return r.drive(ctx, func() driver.Result { return r.o.drivers.Node.PrepareSite(ctx, op, r.site) })
	}
}

func oobCall(ctx context.Context, r *run, c driver.Call, f func(driver.OOBDriver) driver.Result) driver.Result {
	d, err := r.o.drivers.OOBFor(c.Node)
	if err != nil {
		return driver.Fail("%v", err)
	}
	return r.drive(ctx, func() driver.Result { return f(d) })
}

func runInterrogateOOB(ctx context.Context, r *run, c driver.Call) driver.Result {
	return oobCall(ctx, r, c, func(d driver.OOBDriver) driver.Result { return d.Interrogate(ctx, c) })
}

// runFindNode asks the provisioner whether it already knows the node: both answers succeed,
// and the answer decides whether the node needs the OOB steps. A node the provisioner found
// but refused to update (the driver's Failed result names its system_id) fails the step: a
// PXE boot would not change that.
func runFindNode(ctx context.Context, r *run, c driver.Call) driver.Result {
	res := r.drive(ctx, func() driver.Result { return r.o.drivers.Node.IdentifyNode(ctx, c) })
	switch res.Outcome {
	case driver.Done:
		res.Data = withData(res.Data, "known", true)
		res.Message = "Node found in provisioner, skipping OOB management."
	case driver.Failed:
		if id, _ := res.Data["system_id"].(string); id != "" {
			// Found, but the provisioner refused to update it: rebooting it would not help.
			return res
		}
		res = driver.Result{Outcome: driver.Done, State: res.State,
			Message: "Node not known to the provisioner; it will be PXE-booted to enlist it.",
			Data:    map[string]any{"known": false}}
	}
	return res
}

func withData(d map[string]any, k string, v any) map[string]any {
	if d == nil {
		d = map[string]any{}
	}
	d[k] = v
	return d
}

// knownAtFind reports whether find_node found the node in the provisioner.
func knownAtFind(r *run, n *design.Node) bool {
	sr := r.getRun("find_node", n.Name)
	var d stepDetail
	if len(sr.Detail) > 0 && json.Unmarshal(sr.Detail, &d) == nil {
		known, _ := d.Data["known"].(bool)
		return known
	}
	return false
}

// skipKnownNode skips the OOB steps for a node the provisioner already knows.
func skipKnownNode(ctx context.Context, r *run, n *design.Node) string {
	if knownAtFind(r, n) {
		return "Node found in provisioner, skipping OOB management."
	}
	return ""
}

// skipIdentified skips identify_node when find_node already identified the node (the same
// driver call, which found, renamed and configured it).
func skipIdentified(ctx context.Context, r *run, n *design.Node) string {
	if knownAtFind(r, n) {
		return "Node already identified by find_node."
	}
	return ""
}

func runSetNodeBoot(ctx context.Context, r *run, c driver.Call) driver.Result {
	return oobCall(ctx, r, c, func(d driver.OOBDriver) driver.Result { return d.SetNextBoot(ctx, c, driver.BootPXE) })
}

// runPowerCycle power-cycles a node so that it PXE-boots. When the step is resumed after an
// interruption, the node may already have cycled: if the provisioner already knows it, it is
// not cycled again; otherwise the OOB driver checks its own record since the step began.
func runPowerCycle(ctx context.Context, r *run, c driver.Call) driver.Result {
	if c.Resumed {
		id := r.drive(ctx, func() driver.Result { return r.o.drivers.Node.IdentifyNode(ctx, c) })
		if id.Outcome == driver.Done {
			return driver.Result{Outcome: driver.Done, Skipped: true, State: id.State,
				Message: "The node is already known to the provisioner; not power-cycled again."}
		}
	}
	return oobCall(ctx, r, c, func(d driver.OOBDriver) driver.Result { return d.Power(ctx, c, driver.PowerCycle) })
}

// runIdentifyNode waits for the node to appear in the provisioner (it enlists after booting).
func runIdentifyNode(ctx context.Context, r *run, c driver.Call) driver.Result {
	res := r.drive(ctx, func() driver.Result { return r.o.drivers.Node.IdentifyNode(ctx, c) })
	if res.Outcome == driver.Failed {
		return driver.Result{Outcome: driver.InProgress, State: res.State,
			Message: "Waiting for the node to enlist in the provisioner: " + res.Message}
	}
	return res
}

// nodeCall is a step that calls one NodeDriver method, given as a method expression
// (driver.NodeDriver.Deploy).
func nodeCall(method func(driver.NodeDriver, context.Context, driver.Call) driver.Result) stepFunc {
	return func(ctx context.Context, r *run, c driver.Call) driver.Result {
		return r.drive(ctx, func() driver.Result { return method(r.o.drivers.Node, ctx, c) })
	}
}

func runRelabel(ctx context.Context, r *run, c driver.Call) driver.Result {
	return r.drive(ctx, func() driver.Result { return r.o.drivers.Kube.Relabel(ctx, c) })
}
