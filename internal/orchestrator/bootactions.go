package orchestrator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// runDeployNode prepares the node's boot action context, then deploys it.
func runDeployNode(ctx context.Context, r *run, c driver.Call) driver.Result {
	ba, err := r.bootActions(ctx, c.Node)
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
	return r.drive(ctx, func() driver.Result { return r.o.drivers.Node.Deploy(ctx, c) })
}

// bootActions records (once) and returns the node's boot action context for this deployment,
// or nil when no boot action targets the node.
func (r *run) bootActions(ctx context.Context, n *design.Node) (*driver.BootActions, error) {
	targeted := bootaction.Targeting(r.site, n.Name)
	if len(targeted) == 0 {
		return nil, nil
	}
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
		acts, err := r.o.store.ListBootActions(ctx, n, dep)
		if err != nil {
			if ctx.Err() != nil {
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
		timedOut := !r.now().Before(deadline)
		if len(waiting) == 0 || timedOut {
			return r.bootActionOutcome(ctx, n, acts)
		}
		wait := min(time.Until(deadline), r.o.cfg.BootActionRecheck)
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				// The step's own deadline: report each action as it stands.
				return r.bootActionOutcome(ctx, n, acts)
			}
			return driver.Pending(0, "waiting for boot actions %s", strings.Join(waiting, ", "))
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
