package sim

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// sharedEnvs opens n sites in shared mode on one file and one fake clock: n orchestrator
// processes sharing one data centre, as far as the simulator can tell.
func sharedEnvs(t *testing.T, n int, cfg Config) []*env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sim.db")
	clk := NewFakeClock(t0)
	cfg.Shared = true
	cfg.Now, cfg.Sleep = clk.Now, clk.Sleep
	out := make([]*env, n)
	for i := range out {
		e := &env{t: t, ctx: context.Background(), clk: clk, path: path, cfg: cfg}
		e.open()
		t.Cleanup(func() { e.site.Close() })
		out[i] = e
	}
	return out
}

// siteOps returns the log of a node as operation names.
func siteOps(t *testing.T, s *Site, node string) []string {
	t.Helper()
	var ops []string
	for _, o := range must(s.Log(context.Background(), node)) {
		ops = append(ops, o.Operation)
	}
	return ops
}

// collidingIDs makes every node want the same system ids: id000 first, then id001, and so on,
// so that only the database's uniqueness keeps them apart.
func collidingIDs(_ string, try int) string { return fmt.Sprintf("id%03d", try) }

func TestSharedNeedsAFile(t *testing.T) {
	if _, err := Open("", Config{Shared: true}); err == nil {
		t.Fatal("an in-memory shared site was accepted")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x.db"), Config{Shared: true, ClaimTTL: time.Millisecond}); err == nil {
		t.Fatal("a 1ms ClaimTTL was accepted")
	}
}

// TestSharedDeploySeenByOther: a deployment started through one site is Deploying for the
// other, whatever step asks; it completes once, whoever observes it.
func TestSharedDeploySeenByOther(t *testing.T) {
	es := sharedEnvs(t, 2, Config{})
	a, b := es[0], es[1]
	readyNode(t, a, "cmp01")
	n := testNode("cmp01")
	want(t, "deploy on a", a.node.Deploy(a.ctx, callFor(n, "d/deploy")), driver.InProgress, false)
	eq(t, "status seen by b", b.machine("cmp01").Status, StatusDeploying)
	a.clk.Advance(time.Second)
	r := b.node.Deploy(b.ctx, callFor(n, "d/deploy"))
	want(t, "deploy on b, same step", r, driver.InProgress, false)
	eq(t, "time left", r.RetryAfter, 2*time.Second)
	want(t, "deploy on b, other step", b.node.Deploy(b.ctx, callFor(n, "other/deploy")), driver.InProgress, false)
	a.clk.Advance(2 * time.Second)
	want(t, "deployed, seen by b", b.node.Deploy(b.ctx, callFor(n, "d/deploy")), driver.Done, false)
	want(t, "deployed, seen by a", a.node.Deploy(a.ctx, callFor(n, "d/deploy")), driver.Done, false)
	want(t, "deployed, other step on a", a.node.Deploy(a.ctx, callFor(n, "other/deploy")), driver.Done, true)
	for _, e := range es {
		eq(t, "deploys", e.count("cmp01", LogDeploy), 1)
		eq(t, "completions", e.count("cmp01", LogDeployed), 1)
	}
	if ma, mb := a.machine("cmp01"), b.machine("cmp01"); fmt.Sprint(stable([]Machine{ma})) != fmt.Sprint(stable([]Machine{mb})) {
		t.Fatalf("the sites disagree:\n%+v\n%+v", ma, mb)
	}
}

// TestSharedResumedPowerCycle: a power cycle recorded through one site is not repeated by a
// resumed step on the other; a fresh cycle is.
func TestSharedResumedPowerCycle(t *testing.T) {
	es := sharedEnvs(t, 2, Config{})
	a, b := es[0], es[1]
	n := testNode("cmp01")
	stepStart := a.clk.Now()
	a.clk.Advance(time.Second)
	want(t, "cycle on a", a.oob.Power(a.ctx, callFor(n, "p/cycle"), driver.PowerCycle), driver.Done, false)
	a.clk.Advance(time.Minute)
	c := callFor(n, "p/cycle")
	c.Attempt, c.Resumed, c.Since = 2, true, stepStart
	want(t, "resumed on b", b.oob.Power(b.ctx, c, driver.PowerCycle), driver.Done, true)
	eq(t, "cycles", b.count("cmp01", LogPowerCycle), 1)
	c.Since = a.clk.Now()
	want(t, "resumed on b, step started after the cycle", b.oob.Power(b.ctx, c, driver.PowerCycle), driver.Done, false)
	eq(t, "cycles", a.count("cmp01", LogPowerCycle), 2)
}

// TestSharedOneOperationPerMachine: an operation waiting out its latency through one site
// holds its machine for the other site too (and only that machine).
func TestSharedOneOperationPerMachine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.db")
	clk := NewFakeClock(t0)
	release := make(chan struct{})
	var blocked atomic.Int32
	slow := Config{Shared: true, Now: clk.Now, Sleep: func(ctx context.Context, d time.Duration) error {
		blocked.Add(1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	a, err := Open(path, slow)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path, Config{Shared: true, Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	n1, n2 := testNode("a"), testNode("b")
	if err := b.Ensure(n1, n2); err != nil {
		t.Fatal(err)
	}

	done := make(chan driver.Result)
	go func() { done <- a.OOBDriver().Power(ctx, callFor(n1, "1"), driver.PowerOn) }()
	for blocked.Load() == 0 {
		time.Sleep(100 * time.Microsecond)
	}
	want(t, "other machine", b.OOBDriver().Power(ctx, callFor(n2, "2"), driver.PowerOn), driver.Done, false)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	r := b.OOBDriver().Power(short, callFor(n1, "3"), driver.PowerOff)
	want(t, "busy machine", r, driver.Unreachable, false)
	if !strings.Contains(r.Message, "waiting for another operation") {
		t.Fatalf("message %q", r.Message)
	}
	// Not even a change without latency gets through while the machine is held.
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	want(t, "busy machine, read", b.NodeDriver().Deploy(short2, callFor(n1, "4")), driver.Unreachable, false)

	// b waits for the machine, and gets it once a is done.
	later := make(chan driver.Result)
	go func() { later <- b.OOBDriver().Power(ctx, callFor(n1, "5"), driver.PowerOff) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	want(t, "slow power on", <-done, driver.Done, false)
	want(t, "power off after it", <-later, driver.Done, false)
	eq(t, "log", siteOps(t, b, "a"), []string{LogCreate, LogPowerOn, LogPowerOff})
}

// TestSharedCloseReleasesClaims: a site closed while it holds a machine lets the other site
// have it at once, and records nothing of the interrupted operation.
func TestSharedCloseReleasesClaims(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.db")
	clk := NewFakeClock(t0)
	var blocked atomic.Int32
	a, err := Open(path, Config{Shared: true, Now: clk.Now, ClaimTTL: time.Hour,
		Sleep: func(ctx context.Context, d time.Duration) error {
			blocked.Add(1)
			time.Sleep(200 * time.Millisecond)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path, Config{Shared: true, Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := testNode("cmp01")
	done := make(chan driver.Result)
	go func() { done <- a.OOBDriver().Power(context.Background(), callFor(n, "1"), driver.PowerOn) }()
	for blocked.Load() == 0 {
		time.Sleep(100 * time.Microsecond)
	}
	a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	want(t, "b gets the machine", b.OOBDriver().Power(ctx, callFor(n, "2"), driver.PowerOff), driver.Done, true)
	want(t, "a's interrupted call", <-done, driver.Unreachable, false)
	m, _ := b.Machine("cmp01")
	eq(t, "power", m.Power, driver.PowerStateOff)
}

// TestSharedLostClaim: an operation whose claim expired while it waited (a process that
// stalled longer than ClaimTTL) and was taken over records nothing when it wakes up.
func TestSharedLostClaim(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.db")
	clk := NewFakeClock(t0)
	release := make(chan struct{})
	var blocked atomic.Int32
	a, err := Open(path, Config{Shared: true, Now: clk.Now, Sleep: func(ctx context.Context, d time.Duration) error {
		blocked.Add(1)
		<-release
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path, Config{Shared: true, Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := testNode("cmp01")
	done := make(chan driver.Result)
	go func() { done <- a.OOBDriver().Power(context.Background(), callFor(n, "a"), driver.PowerOn) }()
	for blocked.Load() == 0 {
		time.Sleep(100 * time.Microsecond)
	}
	// a stalls: its claim expires without renewal.
	if _, err := b.db.w.Exec(`UPDATE claims SET until = 1`); err != nil {
		t.Fatal(err)
	}
	want(t, "b takes over", b.OOBDriver().Power(context.Background(), callFor(n, "b"), driver.PowerCycle), driver.Done, false)
	close(release)
	r := <-done
	want(t, "a wakes up", r, driver.Unreachable, false)
	if !strings.Contains(r.Message, "claim lost") {
		t.Fatalf("message %q", r.Message)
	}
	eq(t, "log", siteOps(t, b, "cmp01"), []string{LogCreate, LogPowerCycle})
}

// TestSharedConcurrentMachines: two sites on one file, each driving the same 50 machines from
// two goroutines (four racers per machine) while system ids collide on purpose. Every machine
// ends Deployed with one of each operation, and the system ids are distinct.
func TestSharedConcurrentMachines(t *testing.T) {
	const machines = 50
	es := sharedEnvs(t, 2, Config{Seed: 1, Jitter: 0.2})
	for _, e := range es {
		e.site.sysID = collidingIDs
	}
	nodes := make([]*design.Node, machines)
	for i := range nodes {
		nodes[i] = testNode(fmt.Sprintf("n%03d", i))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4*machines)
	for _, n := range nodes {
		for _, e := range es {
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := deployPath(ctx, t, e.site, e.clk, n); err != nil {
						errs <- err
					}
				}()
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkOnceEach(t, es[0], nodes, 4)
	ids := map[string]string{}
	for _, m := range must(es[1].site.Machines(ctx)) {
		if other, dup := ids[m.SystemID]; dup || m.SystemID == "" {
			t.Fatalf("system id %q of %s and %s", m.SystemID, m.Name, other)
		}
		ids[m.SystemID] = m.Name
	}
	for i := range machines {
		if ids[collidingIDs("", i)] == "" {
			t.Fatalf("system id %s not used: allocation is not the lowest free one", collidingIDs("", i))
		}
	}
}

// checkOnceEach checks the log has exactly one of each one-off operation per node.
func checkOnceEach(t *testing.T, e *env, nodes []*design.Node, maxCycles int) {
	t.Helper()
	counts := map[string]map[string]int{}
	for _, o := range must(e.site.Log(e.ctx, "")) {
		if counts[o.Node] == nil {
			counts[o.Node] = map[string]int{}
		}
		counts[o.Node][o.Operation]++
	}
	for _, n := range nodes {
		c := counts[n.Name]
		for _, op := range []string{LogCreate, LogEnlisted, LogCommission, LogCommissioned, LogDeploy,
			LogApplyNetworking, LogApplyStorage, LogApplyPlatform} {
			if c[op] != 1 {
				t.Fatalf("%s: %d × %s (%v)", n.Name, c[op], op, c)
			}
		}
		if c[LogPowerCycle] < 1 || c[LogPowerCycle] > maxCycles {
			t.Fatalf("%s: %d power cycles", n.Name, c[LogPowerCycle])
		}
	}
}

// TestSharedPrepareSite: a prepare_site step applied through one site is skipped by the other.
func TestSharedPrepareSite(t *testing.T) {
	es := sharedEnvs(t, 2, Config{})
	site := &design.Site{}
	var wg sync.WaitGroup
	results := make([]driver.Result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = es[i%2].node.PrepareSite(es[0].ctx, "configure_node_provisioner", site)
		}()
	}
	wg.Wait()
	applied := 0
	for _, r := range results {
		if r.Outcome != driver.Done {
			t.Fatalf("prepare: %v %q", r.Outcome, r.Message)
		}
		if !r.Skipped {
			applied++
		}
	}
	eq(t, "applied", applied, 1)
	eq(t, "log", es[1].ops(""), []string{LogPrepareSite})
	r := es[1].node.ValidateServices(es[1].ctx, site)
	want(t, "validate", driver.Result{Outcome: r.Outcome, State: &driver.NodeState{}}, driver.Done, false)
}

// TestSharedReadOnlyFollows: a read-only shared site sees what a writer does, as it happens.
func TestSharedReadOnlyFollows(t *testing.T) {
	es := sharedEnvs(t, 1, Config{})
	w := es[0]
	n := testNode("cmp01")
	w.site.Ensure(n)
	ro, err := Open(w.path, Config{Shared: true, ReadOnly: true, Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	want(t, "power on", w.oob.Power(w.ctx, callFor(n, "a"), driver.PowerOn), driver.Done, false)
	m, ok := ro.Machine("cmp01")
	if !ok || m.Power != driver.PowerStateOn {
		t.Fatalf("read-only site sees %+v", m)
	}
	want(t, "read-only write", ro.OOBDriver().Power(w.ctx, callFor(n, "b"), driver.PowerOff), driver.Unreachable, false)
	if err := ro.Ensure(testNode("other")); err == nil {
		t.Fatal("read-only Ensure succeeded")
	}
}

// TestSharedNotRecordedDidNotHappen: in shared mode too, an operation that could not be
// recorded answers Unreachable, leaves no trace and holds no claim.
func TestSharedNotRecordedDidNotHappen(t *testing.T) {
	es := sharedEnvs(t, 2, Config{})
	a, b := es[0], es[1]
	n := testNode("cmp01")
	if err := a.site.Ensure(n); err != nil {
		t.Fatal(err)
	}
	if _, err := a.site.db.w.Exec(`ALTER TABLE ops RENAME TO ops_gone`); err != nil {
		t.Fatal(err)
	}
	want(t, "power on", a.oob.Power(a.ctx, callFor(n, "a"), driver.PowerOn), driver.Unreachable, false)
	if _, err := a.site.db.w.Exec(`ALTER TABLE ops_gone RENAME TO ops`); err != nil {
		t.Fatal(err)
	}
	eq(t, "power", b.machine("cmp01").Power, driver.PowerStateOff)
	eq(t, "log", b.ops("cmp01"), []string{LogCreate})
	ctx, cancel := context.WithTimeout(b.ctx, time.Second)
	defer cancel()
	want(t, "power on from b", b.oob.Power(ctx, callFor(n, "b"), driver.PowerOn), driver.Done, false)
}

// ---- A real second process ---------------------------------------------------------------
