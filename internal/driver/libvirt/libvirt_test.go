package libvirt

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

// pxeTimeout bounds the wait for a test VM's iPXE request (about 6 s here under TCG).
const pxeTimeout = 60 * time.Second

func testNode(name, uri, mac string, extra ...design.KVPair) *design.Node {
	kv := design.KV{{Key: "libvirt_uri", Value: uri}}
	return &design.Node{Name: name, OOBType: "libvirt", OOBParams: append(kv, extra...), BootMAC: mac}
}

func call(n *design.Node) driver.Call { return driver.Call{Node: n, Key: "test", Attempt: 1} }

func newDriver(p *Protocol) *oob.Driver {
	return oob.New(p, oob.Config{PollInterval: 200 * time.Millisecond, PowerTimeout: 60 * time.Second, Backoff: 50 * time.Millisecond})
}

// expect checks a result's outcome and that its message names every one of names.
func expect(t *testing.T, what string, r driver.Result, want driver.Outcome, names ...string) {
	t.Helper()
	if r.Outcome != want {
		t.Fatalf("%s: %v (%s), want %v", what, r.Outcome, r.Message, want)
	}
	for _, n := range names {
		if !strings.Contains(r.Message, n) {
			t.Errorf("%s: message %q does not name %q", what, r.Message, n)
		}
	}
	t.Logf("%s: %v: %s", what, r.Outcome, r.Message)
}

func inventoryOf(t *testing.T, r driver.Result) map[string]any {
	t.Helper()
	inv, ok := r.Data["inventory"].(map[string]any)
	if !ok {
		t.Fatalf("no inventory in %v", r.Data)
	}
	return inv
}

// nicMACs lists the MACs of an inventory's NICs.
func nicMACs(inv map[string]any) []string {
	var out []string
	for _, n := range inv["nics"].([]map[string]any) {
		out = append(out, n["mac"].(string))
	}
	return out
}

// sameBootConfig fails when two definitions' boot settings differ.
func sameBootConfig(t *testing.T, what, before, after string) {
	t.Helper()
	bo, bp, bk := bootSettings(t, before)
	ao, ap, ak := bootSettings(t, after)
	if !reflect.DeepEqual(bo, ao) || !reflect.DeepEqual(bp, ap) || bk != ak {
		t.Errorf("%s: the persistent boot configuration changed: os %q → %q, per device %v → %v", what, bo, ao, bp, ap)
	}
	// The whole definition is unchanged too, but for the empty <metadata/> that libvirt leaves
	// when the driver's request is removed from a definition that had no metadata.
	if strings.ReplaceAll(after, "  <metadata/>\n", "") != before {
		t.Errorf("%s: the persistent definition changed:\nbefore:\n%s\nafter:\n%s", what, before, after)
	}
}

// TestLibvirt runs the driver against a private libvirtd with TCG domains that really
// PXE-boot: over the unix socket, qemu+tcp and qemu+ssh.
func TestLibvirt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts libvirtd and boots VMs")
	}
	env := startEnv(t)
	admin := env.admin(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("ddlv%d", os.Getpid()%100000)

	// Domain A: <os><boot dev='hd'/> and no disk (so it boots nothing by itself); the boot MAC
	// is on its second NIC.
	nameA, macA, otherA := prefix+"-a", "52:54:00:d7:00:01", "52:54:00:d7:00:09"
	env.vm(t, nameA, macA, "--extra-mac", otherA)
	// Domain B: per-device boot orders (an empty CD-ROM 1, the other NIC 2; the boot NIC none).
	nameB, macB, otherB := prefix+"-b", "52:54:00:d7:00:02", "52:54:00:d7:00:0a"
	env.vm(t, nameB, macB, "--extra-mac", otherB, "--boot", "device")

	d := newDriver(&Protocol{Socket: env.sock})
	nodeA := testNode(nameA, "qemu:///system", macA)

	t.Run("unix socket: one-time PXE boot", func(t *testing.T) {
		r := d.Interrogate(ctx, call(nodeA))
		expect(t, "interrogate", r, driver.Done, nameA)
		if r.State.Power != driver.PowerStateOff {
			t.Fatalf("power %s, want off", r.State.Power)
		}
		inv := inventoryOf(t, r)
		t.Logf("inventory: %v", inv)
		if got := nicMACs(inv); !slices.Equal(got, []string{otherA, macA}) {
			t.Errorf("NIC MACs %q, want %q", got, []string{otherA, macA})
		}
		if inv["cpu_count"] != 1 || inv["memory_mib"] != int64(128) || inv["domain"] != nameA || inv["persistent"] != true {
			t.Errorf("inventory %v", inv)
		}
		if nic := inv["nics"].([]map[string]any)[1]; nic["type"] != "user" || nic["model"] != "virtio" {
			t.Errorf("NIC %v", nic)
		}
		if _, pending := inv["next_boot"]; pending {
			t.Errorf("a one-time boot is pending before any was asked: %v", inv["next_boot"])
		}

		r = d.Power(ctx, call(nodeA), driver.PowerOff)
		expect(t, "power off while off", r, driver.Done)
		if !r.Skipped {
			t.Errorf("power off of an off domain was not skipped: %s", r.Message)
		}

		// The one-time boot is asked while the domain runs (from its own boot order), and
		// used by the power cycle's power on.
		expect(t, "power on", d.Power(ctx, call(nodeA), driver.PowerOn), driver.Done, nameA)
		before := domainXML(t, admin, nameA, true)
		expect(t, "set next boot pxe", d.SetNextBoot(ctx, call(nodeA), driver.BootPXE), driver.Done, nameA)
		r = d.Interrogate(ctx, call(nodeA))
		if nb, _ := inventoryOf(t, r)["next_boot"].(map[string]any); nb["device"] != "network" || nb["mac"] != macA {
			t.Errorf("pending one-time boot %v", inventoryOf(t, r)["next_boot"])
		}

		t0 := time.Now()
		r = d.Power(ctx, call(nodeA), driver.PowerCycle)
		expect(t, "power cycle", r, driver.Done, nameA, "off, then on")
		at, ok := env.boots.wait(macA, t0, pxeTimeout)
		if !ok {
			t.Fatalf("no PXE boot from %s within %s (boots seen: %q)", macA, pxeTimeout, env.boots.since(t0))
		}
		t.Logf("PXE boot from %s seen %.1fs after the power cycle was asked", macA, at.Sub(t0).Seconds())
		if got := env.boots.since(t0); slices.Contains(got, otherA) {
			t.Errorf("the other NIC %s booted too: %q", otherA, got)
		}
		r = d.Interrogate(ctx, call(nodeA))
		expect(t, "interrogate after boot", r, driver.Done)
		if r.State.Power != driver.PowerStateOn {
			t.Errorf("power %s after the boot, want on", r.State.Power)
		}
		if _, pending := inventoryOf(t, r)["next_boot"]; pending {
			t.Errorf("the one-time boot is still pending after it was used")
		}
		// The persistent definition is as it was; only the live one boots from the NIC.
		sameBootConfig(t, nameA, before, domainXML(t, admin, nameA, true))
		liveXML := domainXML(t, admin, nameA, false)
		_, live, _ := bootSettings(t, liveXML)
		if live["NIC "+macA] != 1 {
			t.Errorf("live boot orders %v: the boot NIC is not first", live)
		}
		if strings.Contains(liveXML, "boot-once") {
			t.Errorf("the live definition carries the one-time boot request:\n%s", liveXML)
		}

		expect(t, "power off", d.Power(ctx, call(nodeA), driver.PowerOff), driver.Done, nameA)
		r = d.Power(ctx, call(nodeA), driver.PowerOff)
		expect(t, "power off again", r, driver.Done, nameA)
		if !r.Skipped {
			t.Errorf("power off of an off domain was not skipped: %s", r.Message)
		}
		r = d.Interrogate(ctx, call(nodeA))
		if r.State.Power != driver.PowerStateOff {
			t.Errorf("power %s after power off", r.State.Power)
		}
		sameBootConfig(t, nameA+" after power off", before, domainXML(t, admin, nameA, true))

		// One boot only: the next power on uses the domain's own order, which has no NIC.
		t1 := time.Now()
		expect(t, "power on without a one-time boot", d.Power(ctx, call(nodeA), driver.PowerOn), driver.Done)
		if _, ok := env.boots.wait(macA, t1, 12*time.Second); ok {
			t.Errorf("the domain PXE-booted again on a plain power on")
		}
		expect(t, "power off", d.Power(ctx, call(nodeA), driver.PowerOff), driver.Done)
	})

	t.Run("qemu+tcp: per-device boot order", func(t *testing.T) {
		nodeB := testNode(nameB, fmt.Sprintf("qemu+tcp://127.0.0.1:%d/system", env.tcpPort), macB)
		dt := newDriver(&Protocol{})
		before := domainXML(t, admin, nameB, true)
		_, per, _ := bootSettings(t, before)
		if len(per) != 2 {
			t.Fatalf("domain B's per-device boot orders: %v", per)
		}
		r := dt.Interrogate(ctx, call(nodeB))
		expect(t, "interrogate", r, driver.Done, nameB)
		if got := inventoryOf(t, r)["boot_order"]; !reflect.DeepEqual(got, []string{"cdrom hdc", "NIC " + otherB}) {
			t.Errorf("boot order %v", got)
		}
		expect(t, "set next boot pxe", dt.SetNextBoot(ctx, call(nodeB), driver.BootPXE), driver.Done)
		t0 := time.Now()
		expect(t, "power on", dt.Power(ctx, call(nodeB), driver.PowerOn), driver.Done, nameB)
		at, ok := env.boots.wait(macB, t0, pxeTimeout)
		if !ok {
			t.Fatalf("no PXE boot from %s within %s (boots seen: %q)", macB, pxeTimeout, env.boots.since(t0))
		}
		t.Logf("PXE boot from %s seen %.1fs after power on", macB, at.Sub(t0).Seconds())
		sameBootConfig(t, nameB, before, domainXML(t, admin, nameB, true))
		_, live, _ := bootSettings(t, domainXML(t, admin, nameB, false))
		if want := map[string]uint{"NIC " + macB: 1, "cdrom hdc": 2, "NIC " + otherB: 3}; !reflect.DeepEqual(live, want) {
			t.Errorf("live boot orders %v, want %v", live, want)
		}
		r = dt.Power(ctx, call(nodeB), driver.PowerOn)
		expect(t, "power on while on", r, driver.Done)
		if !r.Skipped {
			t.Errorf("power on of a running domain was not skipped")
		}
		expect(t, "power off", dt.Power(ctx, call(nodeB), driver.PowerOff), driver.Done)
	})

	t.Run("qemu+ssh", func(t *testing.T) {
		sshd := startSSHD(t)
		uri := fmt.Sprintf("qemu+ssh://root@127.0.0.1:%d/system?socket=%s", sshd.port, url.QueryEscape(env.sock))
		nodeB := testNode(nameB, uri, macB)
		ds := newDriver(&Protocol{SSHKeyFile: sshd.key, SSHKnownHosts: sshd.knownHosts})
		r := ds.Interrogate(ctx, call(nodeB))
		expect(t, "interrogate", r, driver.Done, nameB)
		if got := nicMACs(inventoryOf(t, r)); !slices.Equal(got, []string{otherB, macB}) {
			t.Errorf("NIC MACs %q", got)
		}
		expect(t, "power on", ds.Power(ctx, call(nodeB), driver.PowerOn), driver.Done)
		expect(t, "power off", ds.Power(ctx, call(nodeB), driver.PowerOff), driver.Done)

		// The key file can come from the URI, and the host key check can be turned off.
		nodeK := testNode(nameB, uri+"&keyfile="+url.QueryEscape(sshd.key), macB)
		expect(t, "keyfile= and SSHInsecure", newDriver(&Protocol{SSHInsecure: true}).Interrogate(ctx, call(nodeK)), driver.Done)

		expect(t, "unknown host key", newDriver(&Protocol{SSHKeyFile: sshd.key, SSHKnownHosts: sshd.wrongHosts}).Interrogate(ctx, call(nodeB)),
			driver.Failed, nameB, "host key", "does not match")
		expect(t, "key not authorized", newDriver(&Protocol{SSHKeyFile: sshd.otherKey, SSHKnownHosts: sshd.knownHosts}).Interrogate(ctx, call(nodeB)),
			driver.Failed, nameB, "unable to authenticate")
		bad := testNode(nameB, fmt.Sprintf("qemu+ssh://root@127.0.0.1:%d/system?socket=%s", sshd.port, url.QueryEscape(env.dir+"/nonexistent-sock")), macB)
		expect(t, "no libvirtd behind ssh", ds.Interrogate(ctx, call(bad)), driver.Unreachable, nameB, "nonexistent-sock")
	})

	t.Run("refusals", func(t *testing.T) {
		// The domain named by oob_parameters domain does not exist.
		n := testNode("node-x", "qemu:///system", macA, design.KVPair{Key: "domain", Value: prefix + "-missing"})
		expect(t, "unknown domain", d.Interrogate(ctx, call(n)), driver.Failed, "node-x", prefix+"-missing", "not found")
		// No domain is named like the node.
		n = testNode(prefix+"-nosuch", "qemu:///system", macA)
		expect(t, "no domain named like the node", d.Power(ctx, call(n), driver.PowerOn), driver.Failed, prefix+"-nosuch")
		// The domain parameter selects a domain under another name.
		n = testNode("node-a-alias", "qemu:///system", macA, design.KVPair{Key: "domain", Value: nameA})
		r := d.Interrogate(ctx, call(n))
		expect(t, "domain parameter", r, driver.Done, "node-a-alias")
		if inventoryOf(t, r)["domain"] != nameA {
			t.Errorf("inventory of %v", inventoryOf(t, r)["domain"])
		}
		// A boot MAC the domain does not have.
		n = testNode(nameA, "qemu:///system", "52:54:00:ee:ee:ee")
		expect(t, "boot MAC not on the domain", d.SetNextBoot(ctx, call(n), driver.BootPXE), driver.Failed, nameA, "52:54:00:ee:ee:ee")
		// Boot from disk: the test domains have none.
		expect(t, "disk boot without a disk", d.SetNextBoot(ctx, call(nodeA), driver.BootDisk), driver.Failed, nameA, "no disk")
		// A bad URI.
		n = testNode(nameA, "qemu+tls://127.0.0.1/system", macA)
		expect(t, "unsupported transport", d.Interrogate(ctx, call(n)), driver.Failed, nameA, "not supported")
		// No pending boot was left behind by the refusals.
		if x := domainXML(t, admin, nameA, true); strings.Contains(x, "boot-once") {
			t.Errorf("a refused request left metadata:\n%s", x)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		n := testNode(nameA, "qemu:///system", macA)
		expect(t, "bad socket path", newDriver(&Protocol{Socket: env.dir + "/no/such/sock"}).Interrogate(ctx, call(n)),
			driver.Unreachable, nameA, "no/such/sock")
		n = testNode(nameA, fmt.Sprintf("qemu+tcp://127.0.0.1:%d/system", freePort(t)), macA)
		expect(t, "closed tcp port", newDriver(&Protocol{}).Power(ctx, call(n), driver.PowerOn), driver.Unreachable, nameA, "connection refused")
	})

	t.Run("context ends during a call", func(t *testing.T) {
		s, err := (&Protocol{Socket: env.sock}).Open(ctx, oob.Target{Node: nameA, Type: "libvirt", Params: map[string]string{"libvirt_uri": "qemu:///system"}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.PowerState(cctx); err == nil {
			t.Error("a call with an ended context succeeded")
		}
		// The session reconnects for the next call.
		if st, err := s.PowerState(ctx); err != nil || st != oob.Off {
			t.Errorf("after a cancelled call: %s %v", st, err)
		}
		// A connection that broke under the session is reopened.
		c := s.(*session).c
		c.raw.Close()
		<-c.l.Disconnected()
		if st, err := s.PowerState(ctx); err != nil || st != oob.Off {
			t.Errorf("after the connection broke: %s %v", st, err)
		}
	})
}
