package orchestrator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/drydock-go/drydock/internal/bootaction"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// Boot actions in deploy_nodes.
//
// Before a node is deployed, the deploy_node step records the node's boot action context: a
// fresh random identity key for this deployment and one status record per boot action that
// targets the node (incomplete, or unreported when the action does not signal). The context
// is created once per node and deployment (a retried or resumed step gets the same key back)
// and handed to the node driver in Call.BootActions, so that the driver places it on the node.
//
// The bootaction_report step then waits until the node has reported a final status for every
// signaling action, or until its timeout (bootaction_report, default 15 minutes, counted from
// the step's first start, so a resumed task does not wait longer). The store wakes it on every
// report; it also re-reads every BootActionRecheck, for reports made by processes the store
// cannot wake (a second process on the same SQLite file).

// deployment identifies one deployment of the nodes of a task: the task and its retry number.
func (r *run) deployment() string { return fmt.Sprintf("%s/r%d", r.t.ID, r.t.Retry) }

// Step detail keys of deploy_node about boot actions.
const (
	detailBootDeployment = "bootaction_deployment" // the deployment whose context the node was handed
	detailBootNotRun     = "bootactions"           // why the node's boot actions do not run
)

// runDeployNode prepares the node's boot action context, then deploys it. A node that is
// already deployed (by an earlier task) is not handed a new context: it would never receive
// it, and its current one must stay valid.
func runDeployNode(ctx context.Context, r *run, c driver.Call) driver.Result {
	deploy := func(c driver.Call) driver.Result {
		return r.drive(ctx, func() driver.Result { return r.o.drivers.Node.Deploy(ctx, c) })
	}
	targeted := bootaction.Targeting(r.site, c.Node.Name)
	if len(targeted) == 0 {
		return deploy(c)
	}
	earlier, err := r.deployedEarlier(ctx, c)
	if err != nil {
		return driver.Unreach("%v", err)
	}
	if earlier {
		res := deploy(c)
		res.Data = withData(res.Data, detailBootNotRun, "The node was deployed earlier; its boot actions do not run again.")
		return res
	}
	ba, err := r.bootActions(ctx, c.Node, targeted)
	if err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			r.cancel(errLeaseLost)
		}
		if ctx.Err() != nil {
			return driver.Unreach("preparing boot actions interrupted: %v", context.Cause(ctx))
		}
		var re *bootaction.Error
		if errors.As(err, &re) {
			return driver.Fail("Boot actions of %s could not be prepared: %v", c.Node.Name, err)
		}
		return driver.Unreach("Boot actions of %s could not be recorded: %v", c.Node.Name, err)
	}
	c.BootActions = ba
	res := deploy(c)
	res.Data = withData(res.Data, detailBootDeployment, r.deployment())
	return res
}

// deployedEarlier reports whether the node is already deployed by an earlier deployment: it
// has no context of this deployment yet and the provisioner says it is deployed.
func (r *run) deployedEarlier(ctx context.Context, c driver.Call) (bool, error) {
	bc, err := r.o.store.GetBootActionContext(ctx, c.Node.Name)
	switch {
	case err == nil && bc.Deployment == r.deployment():
		return false, nil // this deployment's own context: a retry or a resumption
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("reading the boot action context of %s: %w", c.Node.Name, err)
	}
	if c.Last != nil && c.Last.Provisioner != "" && r.now().Sub(c.Last.Observed) < time.Minute {
		// The apply steps just read the machine: no need to ask again.
		return c.Last.Provisioner == "Deployed", nil
	}
	res := r.drive(ctx, func() driver.Result { return r.o.drivers.Node.IdentifyNode(ctx, c) })
	return res.Outcome == driver.Done && res.State != nil && res.State.Provisioner == "Deployed", nil
}

// bootActions records (once) and returns the node's boot action context for this deployment,
// given the boot actions that target the node (at least one).
func (r *run) bootActions(ctx context.Context, n *design.Node, targeted []*design.AppliedBootAction) (*driver.BootActions, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate the identity key: %w", err)
	}
	docs := make([]*design.BootAction, len(targeted))
	actions := make([]store.BootAction, len(targeted))
	for i, ba := range targeted {
		docs[i] = ba.BootAction
		status := store.BootActionIncomplete
		if !ba.Signaling {
			status = store.BootActionUnreported
		}
		actions[i] = store.BootAction{ID: ulid.Make().String(), Name: ba.Name, Signaling: ba.Signaling, Status: status}
	}
	bc := store.BootActionContext{NodeName: n.Name, Deployment: r.deployment(), DeployTaskID: r.t.ID,
		TaskID: r.subtasks["deploy_node"], Key: key, DesignRef: r.t.DesignRef}
	bc, recorded, err := r.o.store.EnsureBootActions(ctx, r.l(), bc, actions)
	if err != nil {
		return nil, err
	}
	rd := bootaction.Renderer{Fetcher: r.o.fetch}
	info := bootaction.NodeInfo{KeyHex: hex.EncodeToString(bc.Key), ReportURL: r.o.BootActionURL(), DesignRef: bc.DesignRef}
	pkgs, err := rd.Packages(ctx, r.site, n, docs, info)
	if err != nil {
		return nil, err
	}
	out := &driver.BootActions{Key: bc.Key, ReportURL: info.ReportURL, UserData: bootaction.CloudConfig(pkgs)}
	for _, a := range recorded {
		out.Actions = append(out.Actions, driver.BootActionRef{ID: a.ID, Name: a.Name, Signaling: a.Signaling})
	}
	return out, nil
}

// runBootActionReport waits for the node's reports and decides the node's outcome.
func runBootActionReport(ctx context.Context, r *run, c driver.Call) driver.Result {
	n := c.Node.Name
	dep := r.deployment()
	var d stepDetail
	if sr := r.getRun("deploy_node", n); len(sr.Detail) > 0 && json.Unmarshal(sr.Detail, &d) == nil {
		if why, _ := d.Data[detailBootNotRun].(string); why != "" {
			return driver.Result{Outcome: driver.Done, Skipped: true, Message: why}
		}
		if v, _ := d.Data[detailBootDeployment].(string); v != "" {
			dep = v // deploy_node passed in an earlier run of this task (a retry)
		}
	}
	bc, err := r.o.store.GetBootActionContext(ctx, n)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return driver.Result{Outcome: driver.Done, Skipped: true, Message: "No boot action targets " + n + "."}
	case err != nil:
		return driver.Unreach("reading the boot action context of %s: %v", n, err)
	case bc.Deployment != dep:
		if len(bootaction.Targeting(r.site, n)) == 0 {
			return driver.Result{Outcome: driver.Done, Skipped: true, Message: "No boot action targets " + n + "."}
		}
		return driver.Fail("The boot action context of %s belongs to another deployment (%s); it was redeployed since.", n, bc.Deployment)
	}
	deadline := c.Since.Add(r.o.cfg.timeout(r.stepByKey("bootaction_report")))
	for {
		changed := r.o.store.BootActionsChanged()
		timedOut := !r.now().Before(deadline) || ctx.Err() != nil
		rctx := ctx
		if timedOut {
			// Read the final state even though the step's deadline has passed.
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
		}
		acts, err := r.o.store.ListBootActions(rctx, n, dep)
		if err != nil {
			if rctx.Err() != nil {
				return driver.Unreach("waiting for boot actions interrupted")
			}
			return driver.Unreach("reading the boot actions of %s: %v", n, err)
		}
		var waiting []string
		for _, a := range acts {
			if a.Status == store.BootActionIncomplete {
				waiting = append(waiting, a.Name)
			}
		}
		if len(waiting) == 0 || timedOut {
			if ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				// Terminated or shutting down: no verdict.
				return driver.Pending(0, "waiting for boot actions %s", strings.Join(waiting, ", "))
			}
			return r.bootActionOutcome(ctx, n, acts)
		}
		wait := min(time.Until(deadline), r.o.cfg.BootActionRecheck)
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// bootActionOutcome records one message per action and decides the node's outcome: success
// when no action failed or is still incomplete.
func (r *run) bootActionOutcome(ctx context.Context, node string, acts []store.BootAction) driver.Result {
	var msgs []task.Message
	var failed, incomplete []string
	for _, a := range acts {
		switch a.Status {
		case store.BootActionSuccess:
			msgs = append(msgs, task.NodeInfo(node, "Boot action %s completed with status success.", a.Name))
		case store.BootActionFailure:
			failed = append(failed, a.Name)
			msgs = append(msgs, task.NodeError(node, "Boot action %s completed with status failure.", a.Name))
		case store.BootActionIncomplete:
			incomplete = append(incomplete, a.Name)
			msgs = append(msgs, task.NodeError(node, "Boot action %s timed out.", a.Name))
		}
	}
	r.message(context.WithoutCancel(ctx), msgs...)
	switch {
	case len(failed) > 0 && len(incomplete) > 0:
		return driver.Fail("Boot actions failed on %s: %s; timed out: %s", node, strings.Join(failed, ", "), strings.Join(incomplete, ", "))
	case len(failed) > 0:
		return driver.Fail("Boot actions failed on %s: %s", node, strings.Join(failed, ", "))
	case len(incomplete) > 0:
		return driver.Fail("Boot actions timed out on %s: %s", node, strings.Join(incomplete, ", "))
	}
	return driver.OK("All %d boot actions of %s completed.", len(acts), node)
}

// stepByKey returns the workflow's step with this key.
func (r *run) stepByKey(key string) *Step {
	for i := range r.wf.Steps {
		if r.wf.Steps[i].Key == key {
			return &r.wf.Steps[i]
		}
	}
	return &Step{Key: key}
}
