package sim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
)

// TestWalk takes one node through prepare_nodes, deploy_nodes and destroy_nodes, checking
// every answer, the state it reports and, at the end, the exact operation log.
func TestWalk(t *testing.T) {
	e := newEnv(t, "", Config{})
	n := testNode("cmp01")
	ctx := e.ctx

	// Unknown to the provisioner: identify fails, so the orchestrator boots it from the network.
	r := e.node.IdentifyNode(ctx, callFor(n, "prep/identify"))
	want(t, "identify unknown", r, driver.Failed, false)
	eq(t, "provisioner status", r.State.Provisioner, "")
	eq(t, "power", r.State.Power, driver.PowerStateOff)
	eq(t, "boot device", r.State.BootDevice, "disk")

	r = e.oob.SetNextBoot(ctx, callFor(n, "prep/set_boot"), driver.BootPXE)
	want(t, "set boot", r, driver.Done, false)
	eq(t, "boot device", r.State.BootDevice, "pxe")
	r = e.oob.SetNextBoot(ctx, callFor(n, "prep/set_boot"), driver.BootPXE)
	want(t, "set boot again", r, driver.Done, true)

	r = e.oob.Power(ctx, callFor(n, "prep/power_cycle"), driver.PowerCycle)
	want(t, "power cycle", r, driver.Done, false)
	eq(t, "power", r.State.Power, driver.PowerStateOn)
	eq(t, "boot device consumed", r.State.BootDevice, "disk")

	// Enlistment takes 1s after the PXE boot.
	e.clk.Advance(500 * time.Millisecond)
	want(t, "identify while enlisting", e.node.IdentifyNode(ctx, callFor(n, "prep/identify")), driver.Failed, false)
	e.clk.Advance(500 * time.Millisecond)
	r = e.node.IdentifyNode(ctx, callFor(n, "prep/identify"))
	want(t, "identify enlisted", r, driver.Done, false)
	eq(t, "status", r.State.Provisioner, StatusNew)
	sid := r.State.SystemID
	if len(sid) != 6 || r.Data["system_id"] != sid {
		t.Fatalf("system id %q, data %v", sid, r.Data)
	}

	// Applying configuration before commissioning is refused, naming the status.
	r = e.node.ApplyNetworking(ctx, callFor(n, "deploy/net"))
	want(t, "apply on New", r, driver.Failed, false)
	if !strings.Contains(r.Message, "New") {
		t.Fatalf("message should name the status: %q", r.Message)
	}

	// Commissioning: 2s.
	r = e.node.ConfigureHardware(ctx, callFor(n, "prep/hw"))
	want(t, "commission", r, driver.InProgress, false)
	eq(t, "retry after", r.RetryAfter, 2*time.Second)
	eq(t, "status", r.State.Provisioner, StatusCommissioning)
	e.clk.Advance(1500 * time.Millisecond)
	r = e.node.ConfigureHardware(ctx, callFor(n, "prep/hw"))
	want(t, "commissioning", r, driver.InProgress, false)
	eq(t, "time left", r.RetryAfter, 500*time.Millisecond)
	e.clk.Advance(500 * time.Millisecond)
	r = e.node.ConfigureHardware(ctx, callFor(n, "prep/hw"))
	want(t, "commissioned", r, driver.Done, false)
	eq(t, "status", r.State.Provisioner, StatusReady)
	eq(t, "power after commissioning", r.State.Power, driver.PowerStateOff)
	want(t, "commissioned, other step", e.node.ConfigureHardware(ctx, callFor(n, "other/hw")), driver.Done, true)

	// Deploying needs the three configuration steps.
	r = e.node.Deploy(ctx, callFor(n, "deploy/deploy"))
	want(t, "deploy unconfigured", r, driver.Failed, false)
	want(t, "networking", e.node.ApplyNetworking(ctx, callFor(n, "deploy/net")), driver.Done, false)
	want(t, "networking again", e.node.ApplyNetworking(ctx, callFor(n, "deploy/net")), driver.Done, true)
	want(t, "storage", e.node.ApplyStorage(ctx, callFor(n, "deploy/storage")), driver.Done, false)
	want(t, "platform", e.node.ApplyPlatform(ctx, callFor(n, "deploy/platform")), driver.Done, false)

	r = e.node.Deploy(ctx, callFor(n, "deploy/deploy"))
	want(t, "deploy", r, driver.InProgress, false)
	eq(t, "retry after", r.RetryAfter, 3*time.Second)
	eq(t, "status", r.State.Provisioner, StatusDeploying)
	eq(t, "power", r.State.Power, driver.PowerStateOn)
	e.clk.Advance(3 * time.Second)
	r = e.node.Deploy(ctx, callFor(n, "deploy/deploy"))
	want(t, "deployed", r, driver.Done, false)
	eq(t, "status", r.State.Provisioner, StatusDeployed)
	eq(t, "system id kept", r.State.SystemID, sid)

	// Once deployed, configuration steps and commissioning are skipped.
	want(t, "networking deployed", e.node.ApplyNetworking(ctx, callFor(n, "again/net")), driver.Done, true)
	want(t, "hw deployed", e.node.ConfigureHardware(ctx, callFor(n, "again/hw")), driver.Done, true)
	want(t, "deploy deployed", e.node.Deploy(ctx, callFor(n, "again/deploy")), driver.Done, true)

	// Destroy: release takes 1s and ends Ready, powered off, configuration cleared.
	r = e.node.Destroy(ctx, callFor(n, "destroy/destroy"))
	want(t, "destroy", r, driver.InProgress, false)
	eq(t, "status", r.State.Provisioner, StatusReleasing)
	e.clk.Advance(time.Second)
	r = e.node.Destroy(ctx, callFor(n, "destroy/destroy"))
	want(t, "released", r, driver.Done, false)
	eq(t, "status", r.State.Provisioner, StatusReady)
	eq(t, "power", r.State.Power, driver.PowerStateOff)
	want(t, "destroy again", e.node.Destroy(ctx, callFor(n, "destroy2/destroy")), driver.Done, true)
	if m := e.machine("cmp01"); m.Networking != "" || m.Storage != "" || m.Platform != "" {
		t.Fatalf("release must clear the applied configuration: %+v", m)
	}

	got := e.ops("cmp01")
	wantOps := []string{LogCreate, LogSetBoot, LogPowerCycle, LogEnlisted, LogCommission, LogCommissioned,
		LogApplyNetworking, LogApplyStorage, LogApplyPlatform, LogDeploy, LogDeployed, LogRelease, LogReleased}
	if !slices.Equal(got, wantOps) {
		t.Fatalf("log:\n got %v\nwant %v", got, wantOps)
	}
	// Completions are dated when they happened, not when they were noticed.
	log, _ := e.site.Log(ctx, "cmp01")
	for _, o := range log {
		if o.Operation == LogEnlisted && !o.Time.Equal(t0.Add(time.Second)) {
			t.Fatalf("enlisted at %v, want %v", o.Time, t0.Add(time.Second))
		}
		if strings.Contains(o.Detail, "s3cret") {
			t.Fatalf("log leaks a credential: %+v", o)
		}
	}
	// The whole-site log holds the same entries.
	if all := e.ops(""); !slices.Equal(all, wantOps) {
		t.Fatalf("site log %v", all)
	}
}

// TestRedeployAfterFailure: a failed deployment is released by Destroy and can then be
// configured and deployed again (here after the fault is lifted by reopening the site).
func TestRedeployAfterFailure(t *testing.T) {
	e := newEnv(t, "file", Config{Faults: map[string]Fault{"cmp01": {Deploy: {Fail: 1}}}})
	n := testNode("cmp01")
	if _, err := deployPath(e.ctx, t, e.site, e.clk, n); err == nil {
		t.Fatal("deployment should fail")
	}
	eq(t, "status", e.machine("cmp01").Status, StatusFailedDeployment)
	want(t, "destroy", e.node.Destroy(e.ctx, callFor(n, "d")), driver.InProgress, false)
	e.clk.Advance(time.Second)
	want(t, "released", e.node.Destroy(e.ctx, callFor(n, "d")), driver.Done, false)

	e.cfg.Faults = nil
	e.reopen()
	want(t, "deploy unconfigured", e.node.Deploy(e.ctx, callFor(n, "x")), driver.Failed, false)
	want(t, "net", e.node.ApplyNetworking(e.ctx, callFor(n, "x")), driver.Done, false)
	want(t, "storage", e.node.ApplyStorage(e.ctx, callFor(n, "x")), driver.Done, false)
	want(t, "platform", e.node.ApplyPlatform(e.ctx, callFor(n, "x")), driver.Done, false)
	want(t, "deploy again", e.node.Deploy(e.ctx, callFor(n, "x")), driver.InProgress, false)
	e.clk.Advance(3 * time.Second)
	want(t, "deployed", e.node.Deploy(e.ctx, callFor(n, "x")), driver.Done, false)
	eq(t, "deploys", e.count("cmp01", LogDeploy), 2)
	eq(t, "failures", e.count("cmp01", LogDeployFailed), 1)
	eq(t, "deploy counter", e.machine("cmp01").Deploys, 2)
}
