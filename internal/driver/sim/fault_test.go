package sim

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
)

func TestDeployFailure(t *testing.T) {
	e := newEnv(t, "", Config{Faults: map[string]Fault{"cmp03": {Deploy: {Fail: 1}}}})
	for _, name := range []string{"cmp01", "cmp03"} {
		readyNode(t, e, name)
	}
	for _, name := range []string{"cmp01", "cmp03"} {
		want(t, "deploy "+name, e.node.Deploy(e.ctx, callFor(testNode(name), "d/deploy")), driver.InProgress, false)
	}
	e.clk.Advance(3 * time.Second)
	want(t, "cmp01 unaffected", e.node.Deploy(e.ctx, callFor(testNode("cmp01"), "d/deploy")), driver.Done, false)
	r := e.node.Deploy(e.ctx, callFor(testNode("cmp03"), "d/deploy"))
	want(t, "cmp03 fails", r, driver.Failed, false)
	eq(t, "status", r.State.Provisioner, StatusFailedDeployment)
	// Deploy does not start again on a failed deployment, whoever asks.
	want(t, "deploy again", e.node.Deploy(e.ctx, callFor(testNode("cmp03"), "retry/deploy")), driver.Failed, false)
	eq(t, "deploys", e.count("cmp03", LogDeploy), 1)
	eq(t, "failures", e.count("cmp03", LogDeployFailed), 1)
	want(t, "apply on failed", e.node.ApplyStorage(e.ctx, callFor(testNode("cmp03"), "x")), driver.Failed, false)
}

// TestCommissionFailure: the step that started a commissioning that failed gets Failed (no
// loop); another step (a retry of the task) commissions again.
func TestCommissionFailure(t *testing.T) {
	e := newEnv(t, "file", Config{Fault: Fault{Commission: {Fail: 1}}})
	n := testNode("cmp01")
	e.oob.SetNextBoot(e.ctx, callFor(n, "a"), driver.BootPXE)
	e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerCycle)
	e.clk.Advance(time.Second)
	want(t, "commission", e.node.ConfigureHardware(e.ctx, callFor(n, "t1/hw")), driver.InProgress, false)
	e.clk.Advance(2 * time.Second)
	r := e.node.ConfigureHardware(e.ctx, callFor(n, "t1/hw"))
	want(t, "failed", r, driver.Failed, false)
	eq(t, "status", r.State.Provisioner, StatusFailedCommissioning)
	want(t, "same step again", e.node.ConfigureHardware(e.ctx, callFor(n, "t1/hw")), driver.Failed, false)
	eq(t, "starts", e.count("cmp01", LogCommission), 1)

	e.cfg.Fault = nil
	e.reopen()
	want(t, "new step", e.node.ConfigureHardware(e.ctx, callFor(n, "t2/hw")), driver.InProgress, false)
	e.clk.Advance(2 * time.Second)
	want(t, "commissioned", e.node.ConfigureHardware(e.ctx, callFor(n, "t2/hw")), driver.Done, false)
	got := e.ops("cmp01")
	w := []string{LogCreate, LogSetBoot, LogPowerCycle, LogEnlisted, LogCommission, LogCommissionFailed, LogCommission, LogCommissioned}
	if !slices.Equal(got, w) {
		t.Fatalf("log %v, want %v", got, w)
	}
}

func TestReleaseFailure(t *testing.T) {
	e := newEnv(t, "", Config{Fault: Fault{Release: {Fail: 1}}})
	readyNode(t, e, "cmp01")
	n := testNode("cmp01")
	e.node.Deploy(e.ctx, callFor(n, "d"))
	e.clk.Advance(3 * time.Second)
	want(t, "deployed", e.node.Deploy(e.ctx, callFor(n, "d")), driver.Done, false)
	want(t, "destroy", e.node.Destroy(e.ctx, callFor(n, "x/destroy")), driver.InProgress, false)
	e.clk.Advance(time.Second)
	r := e.node.Destroy(e.ctx, callFor(n, "x/destroy"))
	want(t, "release failed", r, driver.Failed, false)
	eq(t, "status", r.State.Provisioner, StatusReleasingFailed)
	// A later destroy task tries the release again (MAAS allows it).
	want(t, "other step", e.node.Destroy(e.ctx, callFor(n, "y/destroy")), driver.InProgress, false)
	eq(t, "releases", e.count("cmp01", LogRelease), 2)
}

func TestHangNeverCompletes(t *testing.T) {
	e := newEnv(t, "", Config{Faults: map[string]Fault{"cmp01": {Deploy: {Hang: 1}}}})
	readyNode(t, e, "cmp01")
	n := testNode("cmp01")
	want(t, "deploy", e.node.Deploy(e.ctx, callFor(n, "d")), driver.InProgress, false)
	e.clk.Advance(24 * time.Hour)
	r := e.node.Deploy(e.ctx, callFor(n, "d"))
	want(t, "still deploying", r, driver.InProgress, false)
	eq(t, "no estimate", r.RetryAfter, time.Duration(0))
	eq(t, "status", e.machine("cmp01").Status, StatusDeploying)
	eq(t, "completions", e.count("cmp01", LogDeployed)+e.count("cmp01", LogDeployFailed), 0)
	// A hung deployment can still be released.
	want(t, "destroy", e.node.Destroy(e.ctx, callFor(n, "x")), driver.InProgress, false)
	e.clk.Advance(time.Second)
	want(t, "released", e.node.Destroy(e.ctx, callFor(n, "x")), driver.Done, false)
}

func TestSyncHangBlocksUntilContextEnds(t *testing.T) {
	e := newEnv(t, "", Config{Fault: Fault{Power: {Hang: 1}}})
	n := testNode("cmp01")
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Millisecond)
	defer cancel()
	r := e.oob.Power(ctx, callFor(n, "a"), driver.PowerOn)
	want(t, "hung power on", r, driver.Unreachable, false)
	eq(t, "power", e.machine("cmp01").Power, driver.PowerStateOff)
	eq(t, "log", e.ops("cmp01"), []string{LogCreate})
	// Not asking for a change does not touch the BMC, so it does not hang.
	want(t, "off when off", e.oob.Power(e.ctx, callFor(n, "b"), driver.PowerOff), driver.Done, true)
}

func TestSyncFailure(t *testing.T) {
	e := newEnv(t, "", Config{Faults: map[string]Fault{"cmp01": {AnyKind: {Fail: 1}}}})
	n := testNode("cmp01")
	r := e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerOn)
	want(t, "power on", r, driver.Failed, false)
	if !strings.Contains(r.Message, "BMC") {
		t.Fatalf("message %q", r.Message)
	}
	eq(t, "log", e.ops("cmp01"), []string{LogCreate})
	want(t, "other node", e.oob.Power(e.ctx, callFor(testNode("cmp02"), "a"), driver.PowerOn), driver.Done, false)
}

// TestFlapRate: with a fixed seed, about the configured share of calls answer Unreachable,
// changing nothing, and the same seed gives the same sequence.
func TestFlapRate(t *testing.T) {
	const calls, rate = 2000, 0.2
	run := func(seed uint64) []bool {
		e := newEnv(t, "", Config{Seed: seed, Fault: Fault{Interrogate: {Flap: rate}}})
		n := testNode("cmp01")
		out := make([]bool, calls)
		for i := range out {
			r := e.oob.Interrogate(e.ctx, callFor(n, "i"))
			out[i] = r.Outcome == driver.Unreachable
			if out[i] && r.State != nil {
				t.Fatal("a flapped call cannot have observed the machine")
			}
		}
		return out
	}
	a := run(42)
	flaps := 0
	for _, f := range a {
		if f {
			flaps++
		}
	}
	if got := float64(flaps) / calls; math.Abs(got-rate) > 0.03 {
		t.Fatalf("flap rate %.3f, want about %.2f", got, rate)
	}
	if !slices.Equal(a, run(42)) {
		t.Fatal("same seed, different flaps")
	}
	if slices.Equal(a, run(43)) {
		t.Fatal("different seeds, same flaps")
	}
}

// TestFlapChangesNothing: power on through a flapping BMC until it answers; exactly one
// power on is recorded.
func TestFlapChangesNothing(t *testing.T) {
	e := newEnv(t, "", Config{Seed: 7, Fault: Fault{Power: {Flap: 0.5}}})
	n := testNode("cmp01")
	unreachable := 0
	for i := 0; i < 100; i++ {
		r := e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerOn)
		if r.Outcome == driver.Unreachable {
			unreachable++
			continue
		}
		want(t, "power on", r, driver.Done, false)
		break
	}
	if unreachable == 0 {
		t.Log("no flap before success with this seed")
	}
	eq(t, "power ons", e.count("cmp01", LogPowerOn), 1)
}

// TestLostAnswer: the effect is recorded, the caller sees Unreachable, and asking again
// observes the effect instead of repeating it.
func TestLostAnswer(t *testing.T) {
	e := newEnv(t, "", Config{Faults: map[string]Fault{"cmp01": {Deploy: {Lost: 1}}}})
	readyNode(t, e, "cmp01")
	n := testNode("cmp01")
	want(t, "deploy, answer lost", e.node.Deploy(e.ctx, callFor(n, "d")), driver.Unreachable, false)
	eq(t, "status", e.machine("cmp01").Status, StatusDeploying)
	// The retry observes Deploying: nothing recorded, so the answer arrives this time.
	want(t, "retry", e.node.Deploy(e.ctx, callFor(n, "d")), driver.InProgress, false)
	eq(t, "deploys", e.count("cmp01", LogDeploy), 1)
}

func TestSiteFaults(t *testing.T) {
	e := newEnv(t, "", Config{Fault: Fault{ValidateServices: {Flap: 1}, PrepareSite: {Fail: 1}}})
	want(t, "validate", e.node.ValidateServices(e.ctx, nil), driver.Unreachable, false)
	want(t, "validate oob", e.oob.ValidateServices(e.ctx, nil), driver.Unreachable, false)
	r := e.node.PrepareSite(e.ctx, "create_network_template", nil)
	if r.Outcome != driver.Failed {
		t.Fatalf("prepare: %v %q", r.Outcome, r.Message)
	}
	eq(t, "log", len(e.ops("")), 0)
}

func TestJitterDeterministic(t *testing.T) {
	durations := func() []time.Duration {
		e := newEnv(t, "", Config{Seed: 9, Jitter: 0.5})
		var out []time.Duration
		for _, name := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
			readyNode(t, e, name)
			r := e.node.Deploy(e.ctx, callFor(testNode(name), "d"))
			want(t, "deploy", r, driver.InProgress, false)
			out = append(out, r.RetryAfter)
		}
		return out
	}
	a := durations()
	for _, d := range a {
		if d < 1500*time.Millisecond || d > 4500*time.Millisecond {
			t.Fatalf("deploy latency %v outside 3s ± 50%%", d)
		}
	}
	if !slices.Equal(a, durations()) {
		t.Fatal("jitter is not reproducible")
	}
	if slices.Min(a) == slices.Max(a) {
		t.Fatalf("no jitter: %v", a)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{Latency: map[Kind]time.Duration{"teleport": time.Second}},
		{Latency: map[Kind]time.Duration{Deploy: -time.Second}},
		{Jitter: 1},
		{Jitter: -0.1},
		{Fault: Fault{Deploy: {Fail: 1.5}}},
		{Faults: map[string]Fault{"cmp01": {"warp": {Flap: 0.1}}}},
		{Faults: map[string]Fault{"cmp01": {Deploy: {Hang: math.NaN()}}}},
	}
	for i, c := range bad {
		if _, err := Open("", c); err == nil {
			t.Errorf("config %d: %+v accepted", i, c)
		}
	}
	s, err := Open("", Config{Latency: map[Kind]time.Duration{Deploy: 0}, Fault: Fault{AnyKind: {Flap: 0.1}}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestZeroLatency: a present zero latency makes the operation complete at once.
func TestZeroLatency(t *testing.T) {
	e := newEnv(t, "", Config{Latency: map[Kind]time.Duration{Deploy: 0}})
	readyNode(t, e, "cmp01")
	want(t, "deploy", e.node.Deploy(e.ctx, callFor(testNode("cmp01"), "d")), driver.InProgress, false)
	want(t, "deployed", e.node.Deploy(e.ctx, callFor(testNode("cmp01"), "d")), driver.Done, false)
}
