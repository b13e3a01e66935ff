package sim

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
)

// readyNode takes a node to Ready with the three configuration steps applied, waiting as long
// as each operation says it needs.
func readyNode(t *testing.T, e *env, name string) {
	t.Helper()
	n := testNode(name)
	ctx := e.ctx
	want(t, "set boot", e.oob.SetNextBoot(ctx, callFor(n, "p/boot"), driver.BootPXE), driver.Done, false)
	want(t, "cycle", e.oob.Power(ctx, callFor(n, "p/cycle"), driver.PowerCycle), driver.Done, false)
	e.clk.Advance(e.machine(name).OpDuration)
	want(t, "identify", e.node.IdentifyNode(ctx, callFor(n, "p/id")), driver.Done, false)
	r := e.node.ConfigureHardware(ctx, callFor(n, "p/hw"))
	want(t, "commission", r, driver.InProgress, false)
	e.clk.Advance(r.RetryAfter)
	want(t, "commissioned", e.node.ConfigureHardware(ctx, callFor(n, "p/hw")), driver.Done, false)
	want(t, "net", e.node.ApplyNetworking(ctx, callFor(n, "d/net")), driver.Done, false)
	want(t, "storage", e.node.ApplyStorage(ctx, callFor(n, "d/storage")), driver.Done, false)
	want(t, "platform", e.node.ApplyPlatform(ctx, callFor(n, "d/platform")), driver.Done, false)
}

func TestDeployTwiceStartsOneDeployment(t *testing.T) {
	e := newEnv(t, "", Config{})
	readyNode(t, e, "cmp01")
	n := testNode("cmp01")
	r1 := e.node.Deploy(e.ctx, callFor(n, "d/deploy"))
	want(t, "deploy", r1, driver.InProgress, false)
	e.clk.Advance(time.Second)
	r2 := e.node.Deploy(e.ctx, callFor(n, "d/deploy"))
	want(t, "deploy again", r2, driver.InProgress, false)
	eq(t, "time left", r2.RetryAfter, 2*time.Second)
	// Another step (say, a retried task) asking while it deploys changes nothing either.
	want(t, "deploy, other step", e.node.Deploy(e.ctx, callFor(n, "other/deploy")), driver.InProgress, false)
	e.clk.Advance(5 * time.Second)
	want(t, "deployed", e.node.Deploy(e.ctx, callFor(n, "d/deploy")), driver.Done, false)
	want(t, "deployed, other step", e.node.Deploy(e.ctx, callFor(n, "other/deploy")), driver.Done, true)
	eq(t, "deploy starts", e.count("cmp01", LogDeploy), 1)
	eq(t, "completions", e.count("cmp01", LogDeployed), 1)
}

func TestPowerIdempotent(t *testing.T) {
	e := newEnv(t, "", Config{})
	n := testNode("cmp01")
	want(t, "off when off", e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerOff), driver.Done, true)
	r := e.oob.Power(e.ctx, callFor(n, "b"), driver.PowerOn)
	want(t, "on", r, driver.Done, false)
	eq(t, "power", r.State.Power, driver.PowerStateOn)
	r = e.oob.Power(e.ctx, callFor(n, "c"), driver.PowerOn)
	want(t, "on when on", r, driver.Done, true)
	want(t, "off", e.oob.Power(e.ctx, callFor(n, "d"), driver.PowerOff), driver.Done, false)
	got := e.ops("cmp01")
	if w := []string{LogCreate, LogPowerOn, LogPowerOff}; !slices.Equal(got, w) {
		t.Fatalf("log %v, want %v", got, w)
	}
	// A power on with next boot disk does not enlist the machine.
	if m := e.machine("cmp01"); m.Known() || m.Op != "" {
		t.Fatalf("disk boot must not enlist: %+v", m)
	}
	want(t, "bad action", e.oob.Power(e.ctx, callFor(n, "e"), "reboot"), driver.Failed, false)
	want(t, "bad device", e.oob.SetNextBoot(e.ctx, callFor(n, "e"), "cdrom"), driver.Failed, false)
}

func TestResumedPowerCycle(t *testing.T) {
	e := newEnv(t, "", Config{})
	n := testNode("cmp01")
	stepStart := e.clk.Now()
	e.clk.Advance(time.Second)
	want(t, "cycle", e.oob.Power(e.ctx, callFor(n, "p/cycle"), driver.PowerCycle), driver.Done, false)
	cycledAt := e.machine("cmp01").LastCycle
	if !cycledAt.Equal(stepStart.Add(time.Second)) {
		t.Fatalf("last cycle %v", cycledAt)
	}

	// The orchestrator crashed before recording the outcome; the resumed step must not cycle
	// the machine a second time.
	e.clk.Advance(time.Minute)
	c := callFor(n, "p/cycle")
	c.Attempt, c.Resumed, c.Since = 2, true, stepStart
	r := e.oob.Power(e.ctx, c, driver.PowerCycle)
	want(t, "resumed after cycle", r, driver.Done, true)
	eq(t, "cycles", e.count("cmp01", LogPowerCycle), 1)

	// The same instant counts as "after": Since is when the step started.
	c.Since = cycledAt
	want(t, "resumed, cycled at Since", e.oob.Power(e.ctx, c, driver.PowerCycle), driver.Done, true)
	eq(t, "cycles", e.count("cmp01", LogPowerCycle), 1)

	// A resumed step that started after the last cycle has not cycled yet: it cycles.
	c.Since = cycledAt.Add(time.Nanosecond)
	want(t, "resumed before cycle", e.oob.Power(e.ctx, c, driver.PowerCycle), driver.Done, false)
	eq(t, "cycles", e.count("cmp01", LogPowerCycle), 2)

	// A fresh (not resumed) cycle always cycles.
	want(t, "fresh cycle", e.oob.Power(e.ctx, callFor(n, "q/cycle"), driver.PowerCycle), driver.Done, false)
	eq(t, "cycles", e.count("cmp01", LogPowerCycle), 3)
}

func TestSecondPXEBootDuringEnlistment(t *testing.T) {
	e := newEnv(t, "", Config{})
	n := testNode("cmp01")
	e.oob.SetNextBoot(e.ctx, callFor(n, "a"), driver.BootPXE)
	e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerCycle)
	e.clk.Advance(500 * time.Millisecond)
	e.oob.SetNextBoot(e.ctx, callFor(n, "b"), driver.BootPXE)
	e.oob.Power(e.ctx, callFor(n, "b"), driver.PowerCycle)
	e.clk.Advance(500 * time.Millisecond)
	want(t, "identify", e.node.IdentifyNode(e.ctx, callFor(n, "c")), driver.Done, false)
	eq(t, "enlisted once", e.count("cmp01", LogEnlisted), 1)
	// PXE-booting a known machine changes nothing in the provisioner.
	e.oob.SetNextBoot(e.ctx, callFor(n, "d"), driver.BootPXE)
	r := e.oob.Power(e.ctx, callFor(n, "d"), driver.PowerCycle)
	eq(t, "status", r.State.Provisioner, StatusNew)
	eq(t, "enlisted once", e.count("cmp01", LogEnlisted), 1)
}

// TestCrashDuringDeploy: a deployment started before the process died completes while it is
// down; after the restart the machine is Deployed and the log has exactly one deployment.
func TestCrashDuringDeploy(t *testing.T) {
	e := newEnv(t, "file", Config{})
	readyNode(t, e, "cmp01")
	n := testNode("cmp01")
	want(t, "deploy", e.node.Deploy(e.ctx, callFor(n, "d/deploy")), driver.InProgress, false)
	started := e.clk.Now()

	e.site.Close() // the process dies; nothing else is written
	e.clk.Advance(10 * time.Second)
	e.open()

	m := e.machine("cmp01")
	eq(t, "status seen on reopen", m.Status, StatusDeployed)
	c := callFor(n, "d/deploy")
	c.Attempt, c.Resumed, c.Since = 2, true, started
	want(t, "resumed deploy", e.node.Deploy(e.ctx, c), driver.Done, false)
	eq(t, "deploys", e.count("cmp01", LogDeploy), 1)
	eq(t, "completions", e.count("cmp01", LogDeployed), 1)
	log, err := e.site.Log(e.ctx, "cmp01")
	if err != nil {
		t.Fatal(err)
	}
	last := log[len(log)-1]
	if last.Operation != LogDeployed || !last.Time.Equal(started.Add(3*time.Second)) {
		t.Fatalf("completion %+v, want deployed at %v", last, started.Add(3*time.Second))
	}

	// And once more: a restart after the completion was recorded changes nothing.
	e.reopen()
	want(t, "deploy after second restart", e.node.Deploy(e.ctx, callFor(n, "again")), driver.Done, true)
	eq(t, "deploys", e.count("cmp01", LogDeploy), 1)
	eq(t, "completions", e.count("cmp01", LogDeployed), 1)
}

// TestCrashBeforeCompletion: reopened before the operation's time is up, the machine is still
// deploying, with the remaining time and not a fresh duration.
func TestCrashBeforeCompletion(t *testing.T) {
	e := newEnv(t, "file", Config{})
	readyNode(t, e, "cmp01")
	n := testNode("cmp01")
	e.node.Deploy(e.ctx, callFor(n, "d/deploy"))
	e.clk.Advance(time.Second)
	e.reopen()
	r := e.node.Deploy(e.ctx, callFor(n, "d/deploy"))
	want(t, "deploying", r, driver.InProgress, false)
	eq(t, "time left", r.RetryAfter, 2*time.Second)
	eq(t, "deploys", e.count("cmp01", LogDeploy), 1)
}

// TestNotRecordedDidNotHappen: an operation that could not be recorded is reported as
// Unreachable and leaves no trace, in memory or on disk.
func TestNotRecordedDidNotHappen(t *testing.T) {
	e := newEnv(t, "file", Config{})
	n := testNode("cmp01")
	if err := e.site.Ensure(n); err != nil {
		t.Fatal(err)
	}
	// Break the table the log is written to: every commit now fails.
	if _, err := e.site.db.w.Exec(`ALTER TABLE ops RENAME TO ops_gone`); err != nil {
		t.Fatal(err)
	}
	r := e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerOn)
	want(t, "power on", r, driver.Unreachable, false)
	eq(t, "power in memory", e.machine("cmp01").Power, driver.PowerStateOff)
	if _, err := e.site.db.w.Exec(`ALTER TABLE ops_gone RENAME TO ops`); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	eq(t, "power on disk", e.machine("cmp01").Power, driver.PowerStateOff)
	if got := e.ops("cmp01"); !slices.Equal(got, []string{LogCreate}) {
		t.Fatalf("log %v", got)
	}
	// The simulator still works.
	want(t, "power on", e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerOn), driver.Done, false)
}

func TestCancelledCallChangesNothing(t *testing.T) {
	e := newEnv(t, "", Config{})
	n := testNode("cmp01")
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	r := e.oob.Power(ctx, callFor(n, "a"), driver.PowerOn)
	want(t, "cancelled", r, driver.Unreachable, false)
	eq(t, "power", e.machine("cmp01").Power, driver.PowerStateOff)
	eq(t, "log", e.ops("cmp01"), []string{LogCreate})
}

func TestClosedSite(t *testing.T) {
	e := newEnv(t, "", Config{})
	e.site.Close()
	want(t, "after close", e.oob.Power(e.ctx, callFor(testNode("x"), "a"), driver.PowerOn), driver.Unreachable, false)
	if _, err := e.site.Log(e.ctx, ""); err == nil {
		t.Fatal("Log after Close should fail")
	}
	if err := e.site.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
