package ipmisim_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/chassis"
	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/drydock-go/drydock/internal/driver/ipmi/ipmisim"
)

func start(t *testing.T, ch ipmisim.Chassis, opts ...ipmisim.Option) *ipmisim.BMC {
	t.Helper()
	b, err := ipmisim.Start(t.Context(), "", "admin", "sim-pass", ch, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// connect logs in with go-ipmi's client (default cipher suite negotiation).
func connect(t *testing.T, b *ipmisim.BMC, pass string) (*client.Client, error) {
	t.Helper()
	c, err := client.NewClient(b.Host(), b.Port(), "admin", pass)
	if err != nil {
		t.Fatal(err)
	}
	c.WithTimeout(500 * time.Millisecond).WithRetry(1)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c, nil
}

func TestStartLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:623", "[::]:0", "example.com:623", "127.0.0.1"} {
		if b, err := ipmisim.Start(t.Context(), addr, "admin", "pw", ipmisim.NewMemoryChassis()); err == nil {
			b.Close()
			t.Errorf("Start(%q) succeeded, want a refusal", addr)
		}
	}
	b := start(t, ipmisim.NewMemoryChassis())
	if ip := net.ParseIP(b.Host()); ip == nil || !ip.IsLoopback() || b.Port() == 0 {
		t.Fatalf("bound to %s", b.Addr())
	}
	if b.Addr() != net.JoinHostPort(b.Host(), strconv.Itoa(b.Port())) {
		t.Errorf("Addr %q, Host %q, Port %d", b.Addr(), b.Host(), b.Port())
	}
	if _, err := ipmisim.Start(t.Context(), "", "a-user-name-too-long", "pw", ipmisim.NewMemoryChassis()); err == nil {
		t.Error("a 20-byte user name was accepted")
	}
	if _, err := ipmisim.Start(t.Context(), "", "admin", strings.Repeat("x", 21), ipmisim.NewMemoryChassis()); err == nil {
		t.Error("a 21-byte password was accepted")
	}
}

// TestGoIPMIClient drives the BMC with go-ipmi's client: power, cycle, reset, boot flags
// (read back in full), FRU, and a refused login.
func TestGoIPMIClient(t *testing.T) {
	ch := ipmisim.NewMemoryChassis()
	b := start(t, ch, ipmisim.WithFRU(&ipmisim.FRU{Manufacturer: "Acme", Product: "R1", Serial: "SN-42", PartNumber: "P-7"}))
	if _, err := connect(t, b, "wrong"); !errors.Is(err, client.ErrRAKPAuthentication) && (err == nil || !strings.Contains(err.Error(), "RAKP authentication failed")) {
		t.Fatalf("wrong password: %v, want a RAKP authentication failure", err)
	}
	c, err := connect(t, b, "sim-pass")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	power := func() bool {
		t.Helper()
		st, err := c.GetChassisStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.PowerIsOn
	}
	if power() {
		t.Fatal("a new chassis is on")
	}
	// Hard reset while off: not supported in the present state.
	_, err = c.ChassisControl(ctx, chassis.ChassisControlHardReset)
	if re, ok := types.IsResponseError(err); !ok || re.CompletionCode() != types.CodeNotSupported {
		t.Fatalf("hard reset while off: %v, want completion code 0xd5", err)
	}
	if err := c.SetBootDevice(ctx, types.BootDeviceSelectorForcePXE, types.BIOSBootTypeEFI, true); err != nil {
		t.Fatal(err)
	}
	flags := &types.BootOptionParam_BootFlags{}
	if err := c.GetSystemBootOptionsParamFor(ctx, flags); err != nil {
		t.Fatal(err)
	}
	if !flags.BootFlagsValid || !flags.Persist || flags.BIOSBootType != types.BIOSBootTypeEFI || flags.BootDeviceSelector != types.BootDeviceSelectorForcePXE {
		t.Fatalf("boot flags read back: %+v", flags)
	}
	if _, err := c.ChassisControl(ctx, chassis.ChassisControlPowerUp); err != nil {
		t.Fatal(err)
	}
	if !power() {
		t.Fatal("off after power up")
	}
	if _, err := c.ChassisControl(ctx, chassis.ChassisControlPowerCycle); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChassisControl(ctx, chassis.ChassisControlHardReset); err != nil {
		t.Fatal(err)
	}
	if !power() {
		t.Fatal("off after power cycle and reset")
	}
	if _, err := c.ChassisControl(ctx, chassis.ChassisControlSoftShutdown); err != nil {
		t.Fatal(err)
	}
	if power() {
		t.Fatal("on after soft shutdown")
	}
	want := []string{"bootdev pxe persistent", "power on", "boot pxe", "power cycle", "boot pxe", "power cycle", "boot pxe", "power off"}
	if got := ch.History(); !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}
	if ch.BootDevice() != "pxe" {
		t.Errorf("a persistent boot device was cleared: %q", ch.BootDevice())
	}

	fru, err := c.GetFRU(ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if fru.ProductInfoArea == nil || string(fru.ProductInfoArea.SerialNumber) != "SN-42" || string(fru.BoardInfoArea.Manufacturer) != "Acme" {
		t.Fatalf("FRU: %s", fru)
	}
	id, err := c.GetDeviceID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id.ManufacturerID != 7154 || id.MajorFirmwareRevision != 1 {
		t.Errorf("device id %+v", id)
	}
}

// TestIpmitool: the real ipmitool talks to the BMC (no -C: it negotiates; and -C 17).
func TestIpmitool(t *testing.T) {
	if _, err := exec.LookPath("ipmitool"); err != nil {
		if os.Getenv("DRYDOCK_REQUIRE_IPMI") == "1" {
			t.Fatal("ipmitool is not installed, and DRYDOCK_REQUIRE_IPMI=1")
		}
		t.Skip("SKIPPED: ipmitool is not installed (apt-get install -y --no-install-recommends ipmitool); set DRYDOCK_REQUIRE_IPMI=1 to make this a failure")
	}
	ch := ipmisim.NewMemoryChassis()
	b := start(t, ch)
	run := func(extra []string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		argv := append([]string{"-I", "lanplus", "-H", b.Host(), "-p", strconv.Itoa(b.Port()), "-U", "admin", "-E"}, extra...)
		cmd := exec.CommandContext(ctx, "ipmitool", append(argv, args...)...)
		cmd.Env = append(os.Environ(), "IPMI_PASSWORD=sim-pass")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ipmitool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	start := time.Now()
	if got := run(nil, "power", "status"); got != "Chassis Power is off" {
		t.Fatalf("power status: %q", got)
	}
	t.Logf("ipmitool power status without -C: %s", time.Since(start))
	if err := ch.SetPower(true); err != nil {
		t.Fatal(err)
	}
	if got := run([]string{"-C", "17"}, "power", "status"); got != "Chassis Power is on" {
		t.Fatalf("power status: %q", got)
	}
	run([]string{"-C", "3"}, "chassis", "bootdev", "pxe")
	if got := run([]string{"-C", "3"}, "chassis", "bootparam", "get", "5"); !strings.Contains(got, "Force PXE") || !strings.Contains(got, "Boot Flag Valid") {
		t.Errorf("bootparam get 5:\n%s", got)
	}
	run([]string{"-C", "3"}, "power", "off")
	if ch.PowerOn() || ch.BootDevice() != "pxe" {
		t.Errorf("after ipmitool power off: on=%v boot=%q", ch.PowerOn(), ch.BootDevice())
	}
	if got := run([]string{"-C", "3"}, "fru", "print", "0"); !strings.Contains(got, fmt.Sprintf("SIM-%d", b.Port())) {
		t.Errorf("fru print:\n%s", got)
	}
}

// TestStop: the BMC stops answering when its context ends, and after Close its port is free.
func TestStop(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	b, err := ipmisim.Start(ctx, "", "admin", "sim-pass", ipmisim.NewMemoryChassis())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, b, "sim-pass"); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The port is free once the server has stopped.
		pc, err := net.ListenPacket("udp", b.Addr())
		if err == nil {
			pc.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the BMC still holds %s after its context ended: %v", b.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Close()
	b.Close() // twice is fine

	b = start(t, ipmisim.NewMemoryChassis())
	addr := b.Addr()
	b.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("port still taken after Close: %v", err)
	}
	pc.Close()
}

func TestMemoryChassis(t *testing.T) {
	c := ipmisim.NewMemoryChassis()
	if c.PowerOn() || c.BootDevice() != "none" || c.LastBoot() != "" {
		t.Fatalf("new chassis: on=%v boot=%q last=%q", c.PowerOn(), c.BootDevice(), c.LastBoot())
	}
	c.SetBootDevice("pxe", false)
	c.SetPower(true)
	c.SetPower(true) // already on: no boot
	if c.LastBoot() != "pxe" || c.BootDevice() != "none" {
		t.Errorf("one-time pxe: last=%q next=%q", c.LastBoot(), c.BootDevice())
	}
	c.SetBootDevice("disk", true)
	c.PowerCycle()
	c.SetPower(false)
	c.SetPower(true)
	if c.LastBoot() != "disk" || c.BootDevice() != "disk" {
		t.Errorf("persistent disk: last=%q next=%q", c.LastBoot(), c.BootDevice())
	}
	c.SetBootDevice("", false)
	want := []string{"bootdev pxe once", "power on", "boot pxe", "power on", "bootdev disk persistent",
		"power cycle", "boot disk", "power off", "power on", "boot disk", "bootdev none"}
	if got := c.History(); !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}
	if c.Count("power on") != 3 || len(c.Events()) != len(want) || c.Events()[0].Time.IsZero() {
		t.Errorf("count %d, events %v", c.Count("power on"), c.Events())
	}
}
