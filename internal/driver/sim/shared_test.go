package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// The helper process is this test binary, run again with SIM_SHARED_HELPER naming its role.
const helperEnv = "SIM_SHARED_HELPER"

type helper struct {
	t     testing.TB
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	done  chan error
}

// startHelper runs the helper process in a role, on the site file at path.
func startHelper(t testing.TB, role, path string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSharedHelperProcess$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + role, "SIM_SHARED_PATH=" + path}, env...)...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, in: in, lines: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
		h.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // os.ErrProcessDone when it already exited
		for range h.lines {
		}
	})
	return h
}

// expect waits for the helper's next line starting with prefix and returns the rest of it.
func (h *helper) expect(prefix string) string {
	h.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				h.t.Fatalf("helper exited before %q: %v", prefix, <-h.done)
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest)
			}
		case <-timeout:
			h.t.Fatalf("helper: no %q", prefix)
		}
	}
}

func (h *helper) send(line string) {
	h.t.Helper()
	if _, err := fmt.Fprintln(h.in, line); err != nil {
		h.t.Fatal(err)
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (h *helper) kill() {
	h.t.Helper()
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		h.t.Fatal(err)
	}
	for range h.lines {
	}
	<-h.done
}

func (h *helper) wait() {
	h.t.Helper()
	for range h.lines {
	}
	if err := <-h.done; err != nil {
		h.t.Fatalf("helper: %v", err)
	}
}

// fastLatency keeps real-clock tests short.
var fastLatency = map[Kind]time.Duration{
	Power: 2 * time.Millisecond, SetBoot: time.Millisecond, Interrogate: time.Millisecond,
	Enlist: 20 * time.Millisecond, Identify: time.Millisecond, Commission: 50 * time.Millisecond,
	ApplyNetworking: time.Millisecond, ApplyStorage: time.Millisecond, ApplyPlatform: time.Millisecond,
	Deploy: 1500 * time.Millisecond, Release: 50 * time.Millisecond, PrepareSite: time.Millisecond,
}

// TestSharedHelperProcess is the body of the helper process; it does nothing in a normal run.
func TestSharedHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		return
	}
	path := os.Getenv("SIM_SHARED_PATH")
	stdin := bufio.NewScanner(os.Stdin)
	say := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	ctx := context.Background()
	switch role {
	case "ensure":
		s, err := Open(path, Config{Shared: true, Latency: fastLatency})
		if err != nil {
			t.Fatal(err)
		}
		s.sysID = collidingIDs
		say("READY")
		stdin.Scan()
		if err := ensureAndEnlist(ctx, s, true); err != nil {
			t.Fatal(err)
		}
		s.Close()
		say("DONE")
	case "hold":
		ttl, _ := time.ParseDuration(os.Getenv("SIM_SHARED_TTL"))
		s, err := Open(path, Config{Shared: true, ClaimTTL: ttl, Sleep: func(ctx context.Context, d time.Duration) error {
			say("SLEEPING")
			time.Sleep(time.Hour) // until killed
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		s.OOBDriver().Power(ctx, callFor(testNode("cmp01"), "held"), driver.PowerOn)
		t.Fatal("the sleep returned")
	case "deploy":
		lat := maps.Clone(fastLatency)
		lat[Deploy] = 3 * time.Second // still deploying when the other process looks
		s, err := Open(path, Config{Shared: true, Latency: lat})
		if err != nil {
			t.Fatal(err)
		}
		// ha0 is taken to Deploying, ha1 through its power cycle; then the process is killed.
		ha0, ha1 := testNode("ha0"), testNode("ha1")
		cycle0, err := realPath(ctx, s, ha0, true)
		if err != nil {
			t.Fatal(err)
		}
		cycle1, err := realPath(ctx, s, ha1, false)
		if err != nil {
			t.Fatal(err)
		}
		say("STATE %d %d", cycle0.UnixNano(), cycle1.UnixNano())
		time.Sleep(time.Hour) // until killed
	case "bench":
		n, _ := strconv.Atoi(os.Getenv("SIM_SHARED_FROM"))
		m, _ := strconv.Atoi(os.Getenv("SIM_SHARED_COUNT"))
		s, clk, nodes, err := benchSite(path, n, m)
		if err != nil {
			t.Fatal(err)
		}
		say("READY")
		stdin.Scan()
		start := time.Now()
		calls, err := driveAll(s, clk, nodes)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		s.Close()
		say("CALLS %d %d", calls, elapsed)
	default:
		t.Fatalf("unknown role %q", role)
	}
	os.Exit(0)
}

// ensureAndEnlist Ensures 100 nodes and PXE-boots them, along with 100 nodes it never
// Ensures (created on first sight), in the order reverse says.
func ensureAndEnlist(ctx context.Context, s *Site, reverse bool) error {
	var ensured, seen []*design.Node
	for i := range 100 {
		ensured = append(ensured, testNode(fmt.Sprintf("e%03d", i)))
		seen = append(seen, testNode(fmt.Sprintf("f%03d", i)))
	}
	if err := s.Ensure(ensured...); err != nil {
		return err
	}
	all := append(ensured, seen...)
	if reverse {
		slices.Reverse(all)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(all))
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(all); i += 8 {
				n := all[i]
				if r := s.OOBDriver().SetNextBoot(ctx, callFor(n, "boot"), driver.BootPXE); r.Outcome != driver.Done {
					errs <- fmt.Errorf("set boot %s: %s", n.Name, r.Message)
				}
				if r := s.OOBDriver().Power(ctx, callFor(n, "cycle"), driver.PowerCycle); r.Outcome != driver.Done {
					errs <- fmt.Errorf("cycle %s: %s", n.Name, r.Message)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// realPath drives a node on the real clock through set boot and power cycle (then, when
// deploy is set, identify, commission, apply ×3 and the start of the deployment), with the
// step keys an orchestrator task would use. It returns when the cycle step started.
func realPath(ctx context.Context, s *Site, n *design.Node, deploy bool) (time.Time, error) {
	nd, oob := s.NodeDriver(), s.OOBDriver()
	var cycleStart time.Time
	step := func(name string, f func(driver.Call) driver.Result, untilStarted bool) error {
		c := driver.Call{Node: n, Key: "task/" + name + "/" + n.Name, Since: time.Now()}
		if name == "power_cycle" {
			cycleStart = c.Since
		}
		for c.Attempt = 1; c.Attempt < 1000; c.Attempt++ {
			r := f(c)
			switch {
			case r.Outcome == driver.Done, r.Outcome == driver.InProgress && untilStarted:
				return nil
			case r.Outcome == driver.Failed && name != "identify":
				return fmt.Errorf("%s %s: %s", name, n.Name, r.Message)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return fmt.Errorf("%s %s: no convergence", name, n.Name)
	}
	steps := []struct {
		name string
		f    func(driver.Call) driver.Result
	}{
		{"set_boot", func(c driver.Call) driver.Result { return oob.SetNextBoot(ctx, c, driver.BootPXE) }},
		{"power_cycle", func(c driver.Call) driver.Result { return oob.Power(ctx, c, driver.PowerCycle) }},
	}
	if deploy {
		steps = append(steps, []struct {
			name string
			f    func(driver.Call) driver.Result
		}{
			{"identify", func(c driver.Call) driver.Result { return nd.IdentifyNode(ctx, c) }},
			{"configure_hardware", func(c driver.Call) driver.Result { return nd.ConfigureHardware(ctx, c) }},
			{"apply_networking", func(c driver.Call) driver.Result { return nd.ApplyNetworking(ctx, c) }},
			{"apply_storage", func(c driver.Call) driver.Result { return nd.ApplyStorage(ctx, c) }},
			{"apply_platform", func(c driver.Call) driver.Result { return nd.ApplyPlatform(ctx, c) }},
			{"deploy", func(c driver.Call) driver.Result { return nd.Deploy(ctx, c) }},
		}...)
	}
	for _, st := range steps {
		if err := step(st.name, st.f, st.name == "deploy"); err != nil {
			return cycleStart, err
		}
	}
	return cycleStart, nil
}

// TestSharedEnsureTwoProcesses: this process and another one Ensure the same 100 nodes at the
// same moment, then PXE-boot them and 100 more nodes seen for the first time, in opposite
// orders, with colliding system ids. Every machine is created once and the system ids are
// unique (and the lowest free ones).
func TestSharedEnsureTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.db")
	s, err := Open(path, Config{Shared: true, Latency: fastLatency})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.sysID = collidingIDs
	h := startHelper(t, "ensure", path)
	h.expect("READY")
	h.send("GO")
	ctx := context.Background()
	if err := ensureAndEnlist(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	h.expect("DONE")
	h.wait()

	creates := map[string]int{}
	for _, o := range must(s.Log(ctx, "")) {
		if o.Operation == LogCreate {
			creates[o.Node]++
		}
	}
	ms := must(s.Machines(ctx))
	eq(t, "machines", len(ms), 200)
	ids := map[string]string{}
	for _, m := range ms {
		if creates[m.Name] != 1 {
			t.Fatalf("%s created %d times", m.Name, creates[m.Name])
		}
		if other, dup := ids[m.SystemID]; dup || m.SystemID == "" {
			t.Fatalf("system id %q of %s and %s", m.SystemID, m.Name, other)
		}
		ids[m.SystemID] = m.Name
	}
	for i := range 200 {
		if ids[collidingIDs("", i)] == "" {
			t.Fatalf("system id %s unused", collidingIDs("", i))
		}
	}
	eq(t, "created", len(creates), 200)
}

// TestSharedKilledHolder: a process holding a machine (waiting out a latency) keeps it as long
// as it lives, renewing its claim, and a SIGKILL lets the other process have it once the claim
// expires; nothing of the killed operation is recorded.
func TestSharedKilledHolder(t *testing.T) {
	const ttl = 400 * time.Millisecond
	path := filepath.Join(t.TempDir(), "sim.db")
	s, err := Open(path, Config{Shared: true, Latency: fastLatency, ClaimTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := startHelper(t, "hold", path, "SIM_SHARED_TTL="+ttl.String())
	h.expect("SLEEPING")
	n := testNode("cmp01")
	m, ok := s.Machine("cmp01")
	if !ok || m.Power != driver.PowerStateOff {
		t.Fatalf("machine while held: %+v", m)
	}
	// Alive, the holder keeps the machine well beyond one ClaimTTL.
	ctx, cancel := context.WithTimeout(context.Background(), 3*ttl)
	defer cancel()
	want(t, "while held", s.OOBDriver().Power(ctx, callFor(n, "a"), driver.PowerOn), driver.Unreachable, false)

	killed := time.Now()
	h.kill()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	r := s.OOBDriver().Power(ctx2, callFor(n, "b"), driver.PowerOn)
	want(t, "after the kill", r, driver.Done, false)
	if waited := time.Since(killed); waited > ttl+2*time.Second {
		t.Fatalf("waited %v for a claim of %v", waited, ttl)
	}
	eq(t, "log (nothing from the killed process but the creation)", siteOps(t, s, "cmp01"), []string{LogCreate, LogPowerOn})
	var claims int
	if err := s.db.r.QueryRow(`SELECT COUNT(*) FROM claims`).Scan(&claims); err != nil {
		t.Fatal(err)
	}
	eq(t, "claims left", claims, 0)
}

// TestSharedTakeOverAfterKill is the high-availability scenario: one process takes ha0 to
// Deploying and power-cycles ha1, and is killed (SIGKILL); the other process, resuming the
// same steps, finds ha0 still deploying and finishes it, and does not cycle ha1 again.
func TestSharedTakeOverAfterKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.db")
	s, err := Open(path, Config{Shared: true, Latency: fastLatency})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := startHelper(t, "deploy", path)
	fields := strings.Fields(h.expect("STATE"))
	h.kill()
	since0, _ := strconv.ParseInt(fields[0], 10, 64)
	since1, _ := strconv.ParseInt(fields[1], 10, 64)
	ctx := context.Background()
	ha0, ha1 := testNode("ha0"), testNode("ha1")

	m := must2(s.Machine("ha0"))
	eq(t, "ha0 left deploying", m.Status, StatusDeploying)
	eq(t, "ha1 left enlisting", must2(s.Machine("ha1")).Op, Enlist)

	// The resumed power cycles do not cycle again.
	for _, x := range []struct {
		n     *design.Node
		since int64
	}{{ha0, since0}, {ha1, since1}} {
		c := driver.Call{Node: x.n, Key: "task/power_cycle/" + x.n.Name, Attempt: 2, Resumed: true, Since: time.Unix(0, x.since)}
		want(t, "resumed cycle "+x.n.Name, s.OOBDriver().Power(ctx, c, driver.PowerCycle), driver.Done, true)
	}
	// The resumed deployment is in progress, then done.
	c := driver.Call{Node: ha0, Key: "task/deploy/ha0", Attempt: 2, Resumed: true, Since: time.Unix(0, since0)}
	var r driver.Result
	for i := 0; ; i++ {
		r = s.NodeDriver().Deploy(ctx, c)
		if i == 0 {
			want(t, "resumed deploy", r, driver.InProgress, false)
		}
		if r.Outcome != driver.InProgress {
			break
		}
		time.Sleep(max(r.RetryAfter, 10*time.Millisecond))
	}
	want(t, "deployed", r, driver.Done, false)
	for node, w := range map[string]map[string]int{
		"ha0": {LogPowerCycle: 1, LogDeploy: 1, LogDeployed: 1, LogEnlisted: 1, LogCommission: 1},
		"ha1": {LogPowerCycle: 1, LogCreate: 1},
	} {
		log := must(s.Log(ctx, node))
		for op, n := range w {
			got := 0
			for _, o := range log {
				if o.Operation == op {
					got++
				}
			}
			if got != n {
				t.Fatalf("%s: %d × %s, want %d", node, got, op, n)
			}
		}
	}
	// ha1 carries on from where it was left.
	want(t, "identify ha1", s.NodeDriver().IdentifyNode(ctx, callFor(ha1, "task/identify/ha1")), driver.Done, false)
}

func must2[T any](v T, ok bool) T {
	if !ok {
		panic("missing")
	}
	return v
}
