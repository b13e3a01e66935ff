package sim

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

var macRE = regexp.MustCompile(`^52:54(:[0-9a-f]{2}){4}$`)

func TestEnsure(t *testing.T) {
	e := newEnv(t, "file", Config{})
	n := testNode("cmp01")
	if err := e.site.Ensure(n, testNode("cmp02"), n); err != nil {
		t.Fatal(err)
	}
	if err := e.site.Ensure(n); err != nil {
		t.Fatal(err)
	}
	m := e.machine("cmp01")
	if !macRE.MatchString(m.BootMAC) {
		t.Fatalf("boot MAC %q", m.BootMAC)
	}
	eq(t, "NICs", len(m.NICs), 3)
	eq(t, "NIC names", []string{m.NICs[0].Name, m.NICs[1].Name, m.NICs[2].Name}, []string{"eno1", "eno2", "eno3"})
	eq(t, "boot NIC is the PXE one", m.NICs[2].MAC, m.BootMAC)
	if m.NICs[0].MAC == m.NICs[1].MAC || m.NICs[0].MAC == m.BootMAC {
		t.Fatalf("NIC MACs not distinct: %+v", m.NICs)
	}
	eq(t, "disks", []string{m.Disks[0].Name, m.Disks[1].Name}, []string{"sda", "sdb"})
	eq(t, "power", m.Power, driver.PowerStateOff)
	eq(t, "next boot", m.NextBoot, driver.BootDisk)
	if m.Known() || m.SystemID != "" {
		t.Fatalf("new machine known to the provisioner: %+v", m)
	}
	eq(t, "creates", e.count("cmp01", LogCreate), 1)

	// Same derivation in another site, and after a restart.
	other := newEnv(t, "", Config{})
	other.site.Ensure(testNode("cmp01"))
	eq(t, "MAC in another site", other.machine("cmp01").BootMAC, m.BootMAC)
	e.reopen()
	e.site.Ensure(n)
	eq(t, "MAC after reopen", e.machine("cmp01").BootMAC, m.BootMAC)
	eq(t, "NICs after reopen", e.machine("cmp01").NICs, m.NICs)
	eq(t, "creates", e.count("cmp01", LogCreate), 1)
	if e.machine("cmp02").BootMAC == m.BootMAC {
		t.Fatal("two nodes share a MAC")
	}

	// The design's boot_mac wins; a node with no interfaces or disks still gets hardware.
	bare := &design.Node{Name: "bare", BootMAC: "AA:BB:CC:00:11:22"}
	e.site.Ensure(bare)
	b := e.machine("bare")
	eq(t, "design boot MAC", b.BootMAC, "aa:bb:cc:00:11:22")
	eq(t, "default NIC", b.NICs, []NIC{{Name: "eth0", MAC: "aa:bb:cc:00:11:22"}})
	eq(t, "default disk", len(b.Disks), 1)

	if err := e.site.Ensure(&design.Node{}); err == nil {
		t.Fatal("a node without a name must be refused")
	}
}

// TestDerivedIdentifiersAreUnique: ten thousand nodes get distinct system ids, and MACs
// collide rarely enough not to matter.
func TestDerivedIdentifiersAreUnique(t *testing.T) {
	e := newEnv(t, "", Config{})
	macs := map[string]bool{}
	for i := 0; i < 10000; i++ {
		name := fmt.Sprintf("node%05d", i)
		macs[derivedMAC(name, "")] = true
		if id := e.site.allocSystemID(name); len(id) != 6 {
			t.Fatalf("system id %q", id)
		}
	}
	if len(e.site.sysIDs) != 10000 {
		t.Fatalf("%d distinct system ids", len(e.site.sysIDs))
	}
	if len(macs) < 9995 {
		t.Fatalf("%d distinct MACs of 10000", len(macs))
	}
	// Stable: asking again gives the same id.
	id := e.site.allocSystemID("node00001")
	eq(t, "stable id", e.site.allocSystemID("node00001"), id)
}

func TestAutoEnsureOnFirstCall(t *testing.T) {
	e := newEnv(t, "", Config{})
	r := e.node.IdentifyNode(e.ctx, callFor(testNode("fresh"), "a"))
	want(t, "identify", r, driver.Failed, false)
	eq(t, "machines", len(must(e.site.Machines(e.ctx))), 1)
	want(t, "no node", withState(e.node.Deploy(e.ctx, driver.Call{})), driver.Failed, false)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestInterrogate(t *testing.T) {
	e := newEnv(t, "", Config{})
	n := testNode("cmp01")
	r := e.oob.Interrogate(e.ctx, callFor(n, "v"))
	want(t, "interrogate", r, driver.Done, false)
	eq(t, "power", r.Data["power"], driver.PowerStateOff)
	eq(t, "boot device", r.Data["boot_device"], "disk")
	nics := r.Data["nics"].([]map[string]any)
	eq(t, "nics", len(nics), 3)
	disks := r.Data["disks"].([]map[string]any)
	eq(t, "disk", disks[0]["name"], "sda")
	if fmt.Sprint(r.Data) != fmt.Sprint(e.oob.Interrogate(e.ctx, callFor(n, "v")).Data) {
		t.Fatal("inventory changes between reads")
	}
	eq(t, "interrogation is not logged", e.ops("cmp01"), []string{LogCreate})
}

func TestDestroyStates(t *testing.T) {
	e := newEnv(t, "", Config{})
	want(t, "unknown", e.node.Destroy(e.ctx, callFor(testNode("u"), "x")), driver.Done, true)
	readyNode(t, e, "r")
	want(t, "ready", e.node.Destroy(e.ctx, callFor(testNode("r"), "x")), driver.Done, true)
	eq(t, "no release", e.count("r", LogRelease), 0)

	// Destroy while deploying aborts the deployment.
	want(t, "deploy", e.node.Deploy(e.ctx, callFor(testNode("r"), "d")), driver.InProgress, false)
	e.clk.Advance(time.Second)
	want(t, "destroy deploying", e.node.Destroy(e.ctx, callFor(testNode("r"), "x")), driver.InProgress, false)
	e.clk.Advance(5 * time.Second)
	r := e.node.Destroy(e.ctx, callFor(testNode("r"), "x"))
	want(t, "released", r, driver.Done, false)
	eq(t, "deploy never completed", e.count("r", LogDeployed), 0)
	eq(t, "status", r.State.Provisioner, StatusReady)
}

func TestApplyIsRecordedPerDigest(t *testing.T) {
	e := newEnv(t, "", Config{})
	readyNode(t, e, "cmp01")
	n := testNode("cmp01")
	want(t, "same model", e.node.ApplyNetworking(e.ctx, callFor(n, "again")), driver.Done, true)
	changed := testNode("cmp01")
	changed.Addressing[1].Address = "10.0.0.11"
	want(t, "changed model", e.node.ApplyNetworking(e.ctx, callFor(changed, "again")), driver.Done, false)
	want(t, "storage unaffected", e.node.ApplyStorage(e.ctx, callFor(changed, "again")), driver.Done, true)
	eq(t, "networking applies", e.count("cmp01", LogApplyNetworking), 2)
}

func TestPrepareSite(t *testing.T) {
	e := newEnv(t, "file", Config{})
	site := &design.Site{Networks: []*design.Network{{Name: "mgmt", CIDR: "10.0.0.0/24"}}}
	want(t, "validate", withState(e.node.ValidateServices(e.ctx, site)), driver.Done, false)
	want(t, "validate oob", withState(e.oob.ValidateServices(e.ctx, site)), driver.Done, false)
	for _, step := range []string{"create_network_template", "configure_user_credentials", "configure_node_provisioner"} {
		want(t, step, withState(e.node.PrepareSite(e.ctx, step, site)), driver.Done, false)
		want(t, step+" again", withState(e.node.PrepareSite(e.ctx, step, site)), driver.Done, true)
	}
	want(t, "unknown step", withState(e.node.PrepareSite(e.ctx, "create_boot_media", site)), driver.Failed, false)
	e.reopen()
	want(t, "after restart", withState(e.node.PrepareSite(e.ctx, "create_network_template", site)), driver.Done, true)
	site.Networks[0].CIDR = "10.0.1.0/24"
	want(t, "changed networks", withState(e.node.PrepareSite(e.ctx, "create_network_template", site)), driver.Done, false)
	log, _ := e.site.Log(e.ctx, "")
	eq(t, "site log entries", len(log), 4)
	for _, o := range log {
		if o.Node != "" || o.Operation != LogPrepareSite {
			t.Fatalf("site entry %+v", o)
		}
	}
}

// withState gives a site-wide result (which has no node, hence no State) a dummy state so
// that want can check the rest.
func withState(r driver.Result) driver.Result {
	if r.State == nil {
		r.State = &driver.NodeState{}
	}
	return r
}

func TestMachinesShowsDueTransitions(t *testing.T) {
	e := newEnv(t, "file", Config{})
	readyNode(t, e, "b")
	readyNode(t, e, "a")
	e.node.Deploy(e.ctx, callFor(testNode("a"), "d"))
	e.clk.Advance(10 * time.Second)
	ms := must(e.site.Machines(e.ctx))
	eq(t, "order", []string{ms[0].Name, ms[1].Name}, []string{"a", "b"})
	eq(t, "a deployed", ms[0].Status, StatusDeployed)
	eq(t, "b ready", ms[1].Status, StatusReady)
	// Looking does not record: the completion is recorded by the next call on the machine.
	eq(t, "not recorded yet", e.count("a", LogDeployed), 0)
	want(t, "deploy", e.node.Deploy(e.ctx, callFor(testNode("a"), "d")), driver.Done, false)
	eq(t, "recorded", e.count("a", LogDeployed), 1)
}

func TestReadOnly(t *testing.T) {
	e := newEnv(t, "file", Config{})
	readyNode(t, e, "cmp01")
	e.site.Close()

	ro, err := Open(e.path, Config{ReadOnly: true, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ms := must(ro.Machines(e.ctx))
	eq(t, "machines", len(ms), 1)
	eq(t, "status", ms[0].Status, StatusReady)
	log := must(ro.Log(e.ctx, "cmp01"))
	if !slices.ContainsFunc(log, func(o Op) bool { return o.Operation == LogCommissioned }) {
		t.Fatalf("log %+v", log)
	}
	want(t, "read-only call", ro.OOBDriver().Power(e.ctx, callFor(testNode("cmp01"), "x"), driver.PowerOn), driver.Unreachable, false)
	if err := ro.Ensure(testNode("new")); err == nil {
		t.Fatal("Ensure on a read-only site")
	}
	if _, err := Open(e.path+".missing", Config{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing file")
	}
	if _, err := Open("", Config{ReadOnly: true}); err == nil {
		t.Fatal("read-only in-memory site")
	}
}
