package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testNode is a small compiled node: a bond on two NICs, a PXE NIC, two disks.
func testNode(name string) *design.Node {
	return &design.Node{
		Name:           name,
		OOBType:        "ipmi",
		OOBParams:      design.KV{{Key: "account", Value: "admin"}, {Key: "credential", Value: "s3cret-password"}},
		Image:          "jammy",
		Kernel:         "ga-22.04",
		PrimaryNetwork: "mgmt",
		Tags:           []string{"compute"},
		Interfaces: []design.NodeInterface{
			{Name: "bond0", DeviceLink: "gp", Slaves: []string{"eno1", "eno2"}, Networks: []string{"mgmt"}},
			{Name: "pxe", DeviceLink: "pxe", Slaves: []string{"eno3"}, Networks: []string{"pxe"}},
		},
		Devices: []design.NodeDevice{{Name: "sda"}, {Name: "sdb"}},
		Addressing: []design.Address{
			{Network: "pxe", Type: "dhcp"},
			{Network: "mgmt", Type: "static", Address: "10.0.0.10"},
		},
	}
}

type env struct {
	t    testing.TB
	ctx  context.Context
	clk  *FakeClock
	site *Site
	node driver.NodeDriver
	oob  driver.OOBDriver
	path string
	cfg  Config
}

// newEnv opens a site on a fake clock; path "" is in memory, "file" a file in a temp dir.
// With SIM_TEST_SHARED set in the environment every such site is a file in shared mode, so
// that `SIM_TEST_SHARED=1 go test ./internal/driver/sim/` runs the whole suite against
// shared mode (it behaves as the default mode for a single site).
func newEnv(t testing.TB, path string, cfg Config) *env {
	t.Helper()
	if path == "file" || os.Getenv("SIM_TEST_SHARED") != "" {
		path = filepath.Join(t.TempDir(), "sim.db")
	}
	if os.Getenv("SIM_TEST_SHARED") != "" {
		cfg.Shared = true
	}
	clk := NewFakeClock(t0)
	cfg.Now, cfg.Sleep = clk.Now, clk.Sleep
	e := &env{t: t, ctx: context.Background(), clk: clk, path: path, cfg: cfg}
	e.open()
	t.Cleanup(func() { e.site.Close() })
	return e
}

func (e *env) open() {
	e.t.Helper()
	s, err := Open(e.path, e.cfg)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.site, e.node, e.oob = s, s.NodeDriver(), s.OOBDriver()
}

// reopen closes the site and opens its file again, as a restarted process would.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.site.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

func callFor(n *design.Node, key string) driver.Call {
	return driver.Call{Node: n, Key: key, Attempt: 1}
}

// ops returns the log of a node as "operation" strings.
func (e *env) ops(node string) []string {
	e.t.Helper()
	log, err := e.site.Log(e.ctx, node)
	if err != nil {
		e.t.Fatalf("Log: %v", err)
	}
	out := make([]string, len(log))
	for i, o := range log {
		out[i] = o.Operation
	}
	return out
}

func (e *env) count(node, op string) int {
	n := 0
	for _, o := range e.ops(node) {
		if o == op {
			n++
		}
	}
	return n
}

func (e *env) machine(name string) Machine {
	e.t.Helper()
	m, ok := e.site.Machine(name)
	if !ok {
		e.t.Fatalf("no machine %s", name)
	}
	return m
}

func want(t testing.TB, what string, r driver.Result, outcome driver.Outcome, skipped bool) {
	t.Helper()
	if r.Outcome != outcome || r.Skipped != skipped {
		t.Fatalf("%s: got %v (skipped %v) %q, want %v (skipped %v)", what, r.Outcome, r.Skipped, r.Message, outcome, skipped)
	}
	if outcome != driver.Unreachable && r.State == nil {
		t.Fatalf("%s: result without State", what)
	}
	if strings.Contains(r.Message, "s3cret") {
		t.Fatalf("%s: message leaks a credential: %q", what, r.Message)
	}
}

func eq(t testing.TB, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// deployPath drives one node the way the orchestrator does (prepare_nodes then deploy_nodes),
// polling InProgress results and pushing the fake clock to the time it was told to wait for.
// It returns the number of driver calls made.
func deployPath(ctx context.Context, tb testing.TB, s *Site, clk *FakeClock, n *design.Node) (int, error) {
	nd, oob := s.NodeDriver(), s.OOBDriver()
	calls := 0
	poll := func(step string, f func(driver.Call) driver.Result) error {
		c := driver.Call{Node: n, Key: "task/" + step + "/" + n.Name, Since: clk.Now()}
		for attempt := 1; attempt < 1000; attempt++ {
			c.Attempt = attempt
			calls++
			r := f(c)
			switch r.Outcome {
			case driver.Done:
				return nil
			case driver.Failed:
				if step == "identify" {
					clk.AdvanceTo(clk.Now().Add(250 * time.Millisecond))
					continue
				}
				return fmt.Errorf("%s %s: %s", step, n.Name, r.Message)
			case driver.Unreachable:
				c.Resumed = true
				continue
			case driver.InProgress:
				d := r.RetryAfter
				if d <= 0 {
					d = 100 * time.Millisecond
				}
				clk.AdvanceTo(clk.Now().Add(d))
			}
		}
		return fmt.Errorf("%s %s: no convergence", step, n.Name)
	}
	steps := []struct {
		name string
		f    func(driver.Call) driver.Result
	}{
		{"set_boot", func(c driver.Call) driver.Result { return oob.SetNextBoot(ctx, c, driver.BootPXE) }},
		{"power_cycle", func(c driver.Call) driver.Result { return oob.Power(ctx, c, driver.PowerCycle) }},
		{"identify", func(c driver.Call) driver.Result { return nd.IdentifyNode(ctx, c) }},
		{"configure_hardware", func(c driver.Call) driver.Result { return nd.ConfigureHardware(ctx, c) }},
		{"apply_networking", func(c driver.Call) driver.Result { return nd.ApplyNetworking(ctx, c) }},
		{"apply_storage", func(c driver.Call) driver.Result { return nd.ApplyStorage(ctx, c) }},
		{"apply_platform", func(c driver.Call) driver.Result { return nd.ApplyPlatform(ctx, c) }},
		{"deploy", func(c driver.Call) driver.Result { return nd.Deploy(ctx, c) }},
	}
	for _, st := range steps {
		if err := poll(st.name, st.f); err != nil {
			return calls, err
		}
	}
	return calls, nil
}
