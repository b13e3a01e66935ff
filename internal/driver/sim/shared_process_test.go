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
	"syscall"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// The helper process is this test binary, run again with SIM_SHARED_HELPER naming its role.
const helperEnv = "SIM_SHARED_HELPER"

type helper struct {
	t     testing.TB
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	done  chan error
	// seen keeps the lines expect skipped (a failing helper prints why on its stdout).
	seen []string
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
				h.t.Fatalf("helper exited before %q: %v; its output:\n%s", prefix, <-h.done, strings.Join(h.seen, "\n"))
			}
			if rest, found := strings.CutPrefix(l, prefix); found {
				return strings.TrimSpace(rest)
			}
			h.seen = append(h.seen, l)
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

// loadTolerantTTL is the claim expiry of tests in which no process dies: long enough that a
// machine starved of CPU by parallel tests (race detector, VMs) never loses a live claim.
const loadTolerantTTL = 30 * time.Second

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
		s, err := Open(path, Config{Shared: true, Latency: fastLatency, ClaimTTL: loadTolerantTTL})
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
	s, err := Open(path, Config{Shared: true, Latency: fastLatency, ClaimTTL: loadTolerantTTL})
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
