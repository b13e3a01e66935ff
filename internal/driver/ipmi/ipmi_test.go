package ipmi_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/drydock-go/drydock/internal/driver/ipmi/ipmitest"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/ipmi"
	"github.com/drydock-go/drydock/internal/driver/ipmi/ipmisim"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

// requireTools skips the test when a program is missing, or fails it when DRYDOCK_REQUIRE_IPMI=1

// ipmitool runs the real ipmitool against a BMC on loopback.
func ipmitool(t *testing.T, port int, user, pass string, extra []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	argv := append([]string{"-I", "lanplus"}, extra...)
	argv = append(argv, "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-U", user, "-E")
	cmd := exec.CommandContext(ctx, "ipmitool", append(argv, args...)...)
	cmd.Env = append(os.Environ(), "IPMI_PASSWORD="+pass)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipmitool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// bmcNode is a node whose BMC is host:port, reached with user/pass.
func bmcNode(name, host string, port int, user, pass string, params ...design.KVPair) *design.Node {
	return &design.Node{
		Name:    name,
		OOBType: "ipmi",
		OOBParams: append(design.KV{
			{Key: "account", Value: user},
			{Key: "credential", Value: pass},
			{Key: "network", Value: "oob"},
			{Key: "port", Value: strconv.Itoa(port)},
		}, params...),
		Addressing: []design.Address{
			{Network: "pxe", Type: "dhcp"},
			{Network: "oob", Type: "static", Address: host},
		},
	}
}

func call(n *design.Node) driver.Call { return driver.Call{Node: n, Key: "test", Attempt: 1} }

// expect checks a result's outcome and power state.
func expect(t *testing.T, what string, r driver.Result, outcome driver.Outcome, power string) {
	t.Helper()
	if r.Outcome != outcome {
		t.Fatalf("%s: outcome %v, want %v: %s", what, r.Outcome, outcome, r.Message)
	}
	if power != "" && (r.State == nil || r.State.Power != power) {
		t.Fatalf("%s: state %+v, want power %s (%s)", what, r.State, power, r.Message)
	}
}

func inventory(t *testing.T, r driver.Result) map[string]any {
	t.Helper()
	inv, ok := r.Data["inventory"].(map[string]any)
	if !ok {
		t.Fatalf("no inventory in %#v", r.Data)
	}
	return inv
}

func section(t *testing.T, inv map[string]any, name string) map[string]any {
	t.Helper()
	m, ok := inv[name].(map[string]any)
	if !ok {
		t.Fatalf("inventory has no %s: %#v", name, inv)
	}
	return m
}

func testConfig() oob.Config {
	return oob.Config{PollInterval: 200 * time.Millisecond, PowerTimeout: 20 * time.Second, Backoff: 50 * time.Millisecond}
}

// TestIPMISim drives a real OpenIPMI ipmi_sim BMC through the full driver and checks what the
// BMC's chassis was asked to do and what ipmitool reads back.
func TestIPMISim(t *testing.T) {
	t.Parallel()
	sim := ipmitest.Start(t, "admin", "s3cret-pw")
	d := oob.New(&ipmi.Protocol{}, testConfig())
	n := bmcNode("node01", "127.0.0.1", sim.Port, sim.User, sim.Pass)
	ctx := t.Context()
	status := func() string {
		return strings.TrimSpace(ipmitool(t, sim.Port, sim.User, sim.Pass, []string{"-C", "3"}, "power", "status"))
	}

	start := time.Now()
	r := d.Interrogate(ctx, call(n))
	expect(t, "interrogate", r, driver.Done, "off")
	inv := inventory(t, r)
	bmc := section(t, inv, "bmc")
	if bmc["firmware"] != "3.14" || bmc["manufacturer_id"] != 7154 || bmc["ipmi_version"] != "2.0" {
		t.Errorf("bmc inventory %v, want firmware 3.14, manufacturer 7154, IPMI 2.0 (testdata/ipmi/bmc.emu)", bmc)
	}
	if section(t, inv, "chassis")["power"] != "off" {
		t.Errorf("chassis inventory %v, want power off", inv["chassis"])
	}
	fru := section(t, inv, "fru")
	if fru["product_serial"] != "SIMNODE0001" || fru["board_manufacturer"] != "OpenIPMI" || fru["product_name"] != "ipmi_sim node" {
		t.Errorf("fru inventory %v, want the FRU of testdata/ipmi/bmc.emu", fru)
	}
	t.Logf("interrogate: %s (%s)", r.Message, time.Since(start))

	start = time.Now()
	r = d.Power(ctx, call(n), driver.PowerOn)
	expect(t, "power on", r, driver.Done, "on")
	if r.Skipped {
		t.Fatalf("power on was skipped: %s", r.Message)
	}
	if got := status(); got != "Chassis Power is on" {
		t.Fatalf("ipmitool after power on: %q", got)
	}
	if ev := sim.Events(); !slices.Equal(ev, []string{"set power 1"}) {
		t.Fatalf("events after power on: %q, want [set power 1]", ev)
	}
	t.Logf("power on: %s (%s)", r.Message, time.Since(start))

	r = d.Power(ctx, call(n), driver.PowerOn)
	expect(t, "power on again", r, driver.Done, "on")
	if !r.Skipped || !strings.Contains(r.Message, "already") {
		t.Fatalf("power on again: skipped=%v %q, want skipped, already", r.Skipped, r.Message)
	}
	if ev := sim.Events(); len(ev) != 1 {
		t.Fatalf("power on again changed the chassis: %q", ev)
	}

	r = d.SetNextBoot(ctx, call(n), driver.BootPXE)
	expect(t, "set next boot pxe", r, driver.Done, "")
	if ev := sim.Events(); ev[len(ev)-1] != "set boot pxe" {
		t.Fatalf("events after set next boot pxe: %q, want set boot pxe last", ev)
	}

	start = time.Now()
	r = d.Power(ctx, call(n), driver.PowerCycle)
	expect(t, "power cycle", r, driver.Done, "on")
	if ev := sim.Events(); !slices.Equal(ev[2:], []string{"set power 0", "set power 1"}) {
		t.Fatalf("events after the cycle: %q, want set power 0 then set power 1 after set boot pxe", ev)
	}
	if !strings.Contains(r.Message, "cycled") {
		t.Errorf("power cycle message %q", r.Message)
	}
	if got := status(); got != "Chassis Power is on" {
		t.Fatalf("ipmitool after power cycle: %q", got)
	}
	t.Logf("power cycle: %s (%s)", r.Message, time.Since(start))

	r = d.SetNextBoot(ctx, call(n), driver.BootDisk)
	expect(t, "set next boot disk", r, driver.Done, "")
	// ipmi_sim tells its chassis_control program "default" for a forced hard drive.
	if ev := sim.Events(); ev[len(ev)-1] != "set boot default" {
		t.Fatalf("events after set next boot disk: %q, want set boot default last", ev)
	}

	r = d.Power(ctx, call(n), driver.PowerOff)
	expect(t, "power off", r, driver.Done, "off")
	if got := status(); got != "Chassis Power is off" {
		t.Fatalf("ipmitool after power off: %q", got)
	}
	if ev := sim.Events(); ev[len(ev)-1] != "set power 0" {
		t.Fatalf("events after power off: %q", ev)
	}
	r = d.Interrogate(ctx, call(n))
	expect(t, "interrogate after power off", r, driver.Done, "off")
}

// TestIPMISimWrongPassword: a refused login fails the node at once, without the password.
func TestIPMISimWrongPassword(t *testing.T) {
	t.Parallel()
	sim := ipmitest.Start(t, "admin", "right-pw")
	d := oob.New(&ipmi.Protocol{}, testConfig())
	const wrong = "Wr0ng-Passw0rd"
	for _, tc := range []struct{ name, user string }{{"wrong password", "admin"}, {"unknown user", "mallory"}} {
		t.Run(tc.name, func(t *testing.T) {
			n := bmcNode("node02", "127.0.0.1", sim.Port, tc.user, wrong)
			start := time.Now()
			r := d.Power(t.Context(), call(n), driver.PowerOn)
			took := time.Since(start)
			expect(t, "power on", r, driver.Failed, "")
			if took > 3*time.Second {
				t.Errorf("refused login took %s, want it to fail at once (no retries)", took)
			}
			if !strings.Contains(r.Message, "node02") || !strings.Contains(r.Message, "refused") || !strings.Contains(r.Message, "authentication") {
				t.Errorf("message %q should name the node and say refused and authentication", r.Message)
			}
			if strings.Contains(r.Message, wrong) || strings.Contains(r.Message, "right-pw") {
				t.Errorf("message contains a password: %q", r.Message)
			}
			if ev := sim.Events(); len(ev) != 0 {
				t.Errorf("the chassis was changed: %q", ev)
			}
			t.Logf("%s (%s)", r.Message, took)
		})
	}
}

// TestUnreachable: a BMC address where nothing answers gives Unreachable, bounded by
// RequestTimeout × Attempts (plus backoff), with a message that names the node.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	t.Run("nothing listens", func(t *testing.T) {
		cfg := oob.Config{RequestTimeout: 2 * time.Second, Attempts: 3, Backoff: 50 * time.Millisecond}
		d := oob.New(&ipmi.Protocol{}, cfg)
		n := bmcNode("node03", "127.0.0.1", ipmitest.FreeUDPPort(t), "admin", "pw-secret")
		start := time.Now()
		r := d.Power(t.Context(), call(n), driver.PowerOn)
		took := time.Since(start)
		expect(t, "power on", r, driver.Unreachable, "")
		bound := time.Duration(cfg.Attempts)*cfg.RequestTimeout + 2*time.Second
		if took > bound {
			t.Errorf("took %s, want at most %s", took, bound)
		}
		if !strings.Contains(r.Message, "node03") || strings.Contains(r.Message, "pw-secret") {
			t.Errorf("message %q should name the node and not the password", r.Message)
		}
		t.Logf("%s (%s)", r.Message, took)
	})
	t.Run("silent BMC", func(t *testing.T) {
		// A socket that reads requests and never answers: every request times out.
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		var mu sync.Mutex
		received := 0
		go func() {
			buf := make([]byte, 1024)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				mu.Lock()
				received++
				mu.Unlock()
			}
		}()
		cfg := oob.Config{RequestTimeout: time.Second, Attempts: 2, Backoff: 50 * time.Millisecond}
		d := oob.New(&ipmi.Protocol{Timeout: 300 * time.Millisecond}, cfg)
		n := bmcNode("node04", "127.0.0.1", pc.LocalAddr().(*net.UDPAddr).Port, "admin", "pw-secret")
		start := time.Now()
		r := d.Interrogate(t.Context(), call(n))
		took := time.Since(start)
		expect(t, "interrogate", r, driver.Unreachable, "")
		bound := time.Duration(cfg.Attempts)*cfg.RequestTimeout + time.Second
		if took > bound || took < 900*time.Millisecond {
			t.Errorf("took %s, want between 0.9s and %s", took, bound)
		}
		if !strings.Contains(r.Message, "node04") || strings.Contains(r.Message, "pw-secret") {
			t.Errorf("message %q should name the node and not the password", r.Message)
		}
		mu.Lock()
		defer mu.Unlock()
		// 2 attempts, each resending every 300ms within its 1s: at least 3 datagrams each.
		if received < 6 {
			t.Errorf("the silent BMC got %d datagrams, want at least 6 (resends and retries)", received)
		}
		t.Logf("%s (%s, %d datagrams)", r.Message, took, received)
	})
}

// TestParameters: bad oob_parameters are refused before any traffic.
func TestParameters(t *testing.T) {
	d := oob.New(&ipmi.Protocol{}, testConfig())
	for _, p := range []design.KVPair{{Key: "cipher_suite", Value: "strong"}, {Key: "cipher_suite", Value: "42"}, {Key: "boot_mode", Value: "floppy"}} {
		n := bmcNode("node05", "127.0.0.1", ipmitest.FreeUDPPort(t), "admin", "pw", p)
		r := d.Interrogate(t.Context(), call(n))
		expect(t, p.Key+"="+p.Value, r, driver.Failed, "")
		if !strings.Contains(r.Message, p.Key) || !strings.Contains(r.Message, "node05") {
			t.Errorf("%s=%s: message %q should name the node and the parameter", p.Key, p.Value, r.Message)
		}
	}
}

func startSim(t *testing.T, ch ipmisim.Chassis, opts ...ipmisim.Option) *ipmisim.BMC {
	t.Helper()
	b, err := ipmisim.Start(t.Context(), "127.0.0.1:0", "admin", "sim-pass", ch, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestIPMISimulator drives the in-process BMC through the full driver.
func TestIPMISimulator(t *testing.T) {
	ch := ipmisim.NewMemoryChassis()
	b := startSim(t, ch)
	d := oob.New(&ipmi.Protocol{}, testConfig())
	n := bmcNode("node10", b.Host(), b.Port(), "admin", "sim-pass")
	ctx := t.Context()

	r := d.Interrogate(ctx, call(n))
	expect(t, "interrogate", r, driver.Done, "off")
	inv := inventory(t, r)
	if fru := section(t, inv, "fru"); fru["product_serial"] != fmt.Sprintf("SIM-%d", b.Port()) || fru["product_manufacturer"] != "Drydock" {
		t.Errorf("fru inventory %v", fru)
	}
	if _, ok := inv["next_boot"]; ok {
		t.Errorf("next_boot %v before any was set", inv["next_boot"])
	}

	r = d.Power(ctx, call(n), driver.PowerOn)
	expect(t, "power on", r, driver.Done, "on")
	r = d.Power(ctx, call(n), driver.PowerOn)
	if !r.Skipped || !strings.Contains(r.Message, "already") {
		t.Fatalf("power on again: %+v", r)
	}
	r = d.SetNextBoot(ctx, call(n), driver.BootPXE)
	expect(t, "set next boot", r, driver.Done, "")
	if got := ch.BootDevice(); got != "pxe" {
		t.Fatalf("boot device %q, want pxe", got)
	}
	r = d.Interrogate(ctx, call(n))
	nb := section(t, inventory(t, r), "next_boot")
	if nb["device"] != "pxe" || nb["persistent"] != false || nb["uefi"] != false {
		t.Errorf("next_boot %v, want pxe, once, legacy", nb)
	}
	r = d.Power(ctx, call(n), driver.PowerCycle)
	expect(t, "power cycle", r, driver.Done, "on")
	r = d.Power(ctx, call(n), driver.PowerOff)
	expect(t, "power off", r, driver.Done, "off")

	want := []string{"power on", "bootdev pxe once", "power off", "power on", "boot pxe", "power off"}
	if got := ch.History(); !slices.Equal(got, want) {
		t.Fatalf("chassis history %q, want %q", got, want)
	}
	if ch.BootDevice() != "none" || ch.LastBoot() != "pxe" {
		t.Errorf("boot device %q, last boot %q: the one-time override should be used by the cycle", ch.BootDevice(), ch.LastBoot())
	}

	// A UEFI node asks for an EFI boot.
	n = bmcNode("node10", b.Host(), b.Port(), "admin", "sim-pass", design.KVPair{Key: "boot_mode", Value: "uefi"})
	expect(t, "set next boot disk", d.SetNextBoot(ctx, call(n), driver.BootDisk), driver.Done, "")
	r = d.Interrogate(ctx, call(n))
	if nb := section(t, inventory(t, r), "next_boot"); nb["device"] != "disk" || nb["uefi"] != true {
		t.Errorf("next_boot %v, want disk, uefi", nb)
	}

	// Cipher suite 17 (RAKP-HMAC-SHA256) works against go-ipmi's BMC.
	n = bmcNode("node10", b.Host(), b.Port(), "admin", "sim-pass", design.KVPair{Key: "cipher_suite", Value: "17"})
	expect(t, "interrogate with suite 17", d.Interrogate(ctx, call(n)), driver.Done, "off")

	// A wrong password is refused.
	n = bmcNode("node10", b.Host(), b.Port(), "admin", "not-the-pass")
	r = d.Power(ctx, call(n), driver.PowerOn)
	expect(t, "wrong password", r, driver.Failed, "")
	if strings.Contains(r.Message, "not-the-pass") || !strings.Contains(r.Message, "authentication") {
		t.Errorf("wrong password message %q", r.Message)
	}
	if ch.PowerOn() {
		t.Error("the wrong password powered the machine on")
	}
}

// TestIPMISimulatorWithoutFRU: a BMC without a FRU inventory still interrogates.
func TestIPMISimulatorWithoutFRU(t *testing.T) {
	b := startSim(t, ipmisim.NewMemoryChassis(), ipmisim.WithFRU(nil))
	d := oob.New(&ipmi.Protocol{}, testConfig())
	r := d.Interrogate(t.Context(), call(bmcNode("node11", b.Host(), b.Port(), "admin", "sim-pass")))
	expect(t, "interrogate", r, driver.Done, "off")
	inv := inventory(t, r)
	if _, ok := inv["fru"]; ok {
		t.Errorf("fru %v from a BMC without FRU", inv["fru"])
	}
	if inv["fru_unavailable"] == nil || inv["bmc"] == nil || inv["chassis"] == nil {
		t.Errorf("inventory %v, want bmc, chassis and fru_unavailable", inv)
	}
}

// refusingChassis refuses power changes with a completion code, or is busy.
type refusingChassis struct {
	*ipmisim.MemoryChassis
	err error
}

func (c refusingChassis) SetPower(bool) error { return c.err }

// TestCompletionCodes: a completion code refusing the request fails the node at once; a busy
// BMC is retried and ends Unreachable.
func TestCompletionCodes(t *testing.T) {
	cfg := testConfig()
	cfg.Attempts = 3
	d := oob.New(&ipmi.Protocol{}, cfg)

	b := startSim(t, refusingChassis{ipmisim.NewMemoryChassis(), errors.New("no")}) // answers 0xFF
	start := time.Now()
	r := d.Power(t.Context(), call(bmcNode("node12", b.Host(), b.Port(), "admin", "sim-pass")), driver.PowerOn)
	expect(t, "power on (0xFF)", r, driver.Failed, "")
	if !strings.Contains(r.Message, "0xff") || !strings.Contains(r.Message, "node12") {
		t.Errorf("message %q should name the node and the completion code", r.Message)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a refusal took %s", took)
	}

	busy := &countingChassis{MemoryChassis: ipmisim.NewMemoryChassis()}
	b = startSim(t, busy)
	r = d.Power(t.Context(), call(bmcNode("node13", b.Host(), b.Port(), "admin", "sim-pass")), driver.PowerOn)
	expect(t, "power on (busy)", r, driver.Unreachable, "")
	if n := busy.calls(); n != cfg.Attempts {
		t.Errorf("a busy BMC was asked %d times, want %d (retried)", n, cfg.Attempts)
	}
}

// countingChassis answers node busy (0xC0) to power changes and counts them.
type countingChassis struct {
	*ipmisim.MemoryChassis
	mu sync.Mutex
	n  int
}

func (c *countingChassis) SetPower(bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return types.CodeNodeBusy
}

func (c *countingChassis) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestConcurrentPowerCycles: 50 BMCs on loopback, power-cycled at once through one driver.
func TestConcurrentPowerCycles(t *testing.T) {
	const count = 50
	chassis := make([]*ipmisim.MemoryChassis, count)
	nodes := make([]*design.Node, count)
	for i := range count {
		chassis[i] = ipmisim.NewMemoryChassis()
		if err := chassis[i].SetPower(true); err != nil {
			t.Fatal(err)
		}
		b := startSim(t, chassis[i])
		nodes[i] = bmcNode(fmt.Sprintf("node%02d", i), b.Host(), b.Port(), "admin", "sim-pass")
	}
	d := oob.New(&ipmi.Protocol{}, oob.Config{PollInterval: 50 * time.Millisecond, PowerTimeout: 20 * time.Second, Backoff: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	results := make([]driver.Result, count)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range count {
		wg.Go(func() { results[i] = d.Power(ctx, call(nodes[i]), driver.PowerCycle) })
	}
	wg.Wait()
	took := time.Since(start)
	for i, r := range results {
		if r.Outcome != driver.Done || r.State == nil || r.State.Power != "on" {
			t.Errorf("%s: %v %s", nodes[i].Name, r.Outcome, r.Message)
		}
		if !chassis[i].PowerOn() {
			t.Errorf("%s is off", nodes[i].Name)
		}
		want := []string{"power on", "power off", "power on"}
		if got := chassis[i].History(); !slices.Equal(got, want) {
			t.Errorf("%s: history %q, want %q (cycled exactly once)", nodes[i].Name, got, want)
		}
	}
	if peak := d.PeakConcurrency(); peak < 2 {
		t.Errorf("peak concurrency %d: the cycles did not overlap", peak)
	}
	t.Logf("%d power cycles in %s, peak concurrency %d", count, took, d.PeakConcurrency())
}
