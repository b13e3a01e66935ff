package maas

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

type step struct {
	name string
	f    func(context.Context, driver.Call) driver.Result
}

func (e *env) steps() []step {
	return []step{
		{"identify_node", e.d.IdentifyNode},
		{"configure_hardware", e.d.ConfigureHardware},
		{"apply_node_networking", e.d.ApplyNetworking},
		{"apply_node_storage", e.d.ApplyStorage},
		{"apply_node_platform", e.d.ApplyPlatform},
		{"deploy_node", e.d.Deploy},
		{"destroy_node", e.d.Destroy},
	}
}

// TestSecondRunMakesNoWrites runs every action twice: the first run changes MAAS, the second
// reads only (GET requests) and reports that nothing needed doing.
func TestSecondRunMakesNoWrites(t *testing.T) {
	site := loadFullSite(t)
	e := newEnv(t, site, envOpts{})
	e.enlist()
	for _, op := range []string{"create_network_template", "configure_user_credentials", "configure_node_provisioner"} {
		r := e.d.PrepareSite(context.Background(), op, site)
		if r.Outcome != driver.Done || r.Skipped {
			t.Fatalf("%s: %s %v: %s", op, r.Outcome, r.Skipped, r.Message)
		}
		if w := writes(e.count.take()); w == 0 {
			t.Errorf("%s: the first run wrote nothing", op)
		}
		r = e.d.PrepareSite(context.Background(), op, site)
		by := e.count.take()
		if r.Outcome != driver.Done || !r.Skipped || writes(by) != 0 {
			t.Errorf("%s again: %s skipped=%v, requests %v: %s", op, r.Outcome, r.Skipped, by, r.Message)
		}
	}
	for _, n := range site.Nodes {
		for _, s := range e.steps() {
			c := e.call(n, s.name)
			if s.name == "deploy_node" {
				c.BootActions = bootActions(n)
			}
			r := e.drive(s.f, c, maxWait)
			if r.Outcome != driver.Done {
				t.Fatalf("%s %s: %s: %s", s.name, n.Name, r.Outcome, r.Message)
			}
			if s.name == "configure_hardware" {
				e.commissionNames(n, r)
			}
			e.count.take()
			// The same step again (a new task: another key).
			c.Key += "/again"
			r = s.f(context.Background(), c)
			by := e.count.take()
			if r.Outcome != driver.Done || !r.Skipped {
				t.Errorf("%s %s again: %s skipped=%v: %s", s.name, n.Name, r.Outcome, r.Skipped, r.Message)
			}
			if writes(by) != 0 {
				t.Errorf("%s %s again: requests %v (no writes expected): %s", s.name, n.Name, by, r.Message)
			}
			if r.State == nil || r.State.SystemID != e.sids[n.Name] || r.State.Provisioner == "" {
				t.Errorf("%s %s: state %+v", s.name, n.Name, r.State)
			}
		}
	}
	e.checkNoKey()
}

// commissionNames resolves the node's device aliases from the lshw build data of a
// configure_hardware result.
func (e *env) commissionNames(n *design.Node, r driver.Result) {
	e.t.Helper()
	for _, bd := range r.BuildData {
		if bd.Generator == "lshw" {
			names, err := design.LogicalNames(e.site.Design.HardwareProfile(n.HardwareProfile), bd.Data)
			if err != nil {
				e.t.Error(err)
				return
			}
			e.mu.Lock()
			e.names[n.Name] = names
			e.mu.Unlock()
		}
	}
}

func TestConfigureHardwareBuildData(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	e := newEnv(t, site, envOpts{})
	n := site.Nodes[0]
	e.enlist(n)
	e.must("identify_node", e.d.IdentifyNode, n)
	r := e.must("configure_hardware", e.d.ConfigureHardware, n)
	gens := map[string]driver.BuildData{}
	for _, bd := range r.BuildData {
		gens[bd.Generator] = bd
	}
	for _, want := range []string{"lshw", "lldp"} {
		if bd, ok := gens[want]; !ok || bd.Format != "text/xml" || !strings.Contains(string(bd.Data), "<") {
			t.Errorf("build data %s: %+v", want, bd.Format)
		}
	}
	var commission, testing int
	for g, bd := range gens {
		switch {
		case strings.HasPrefix(g, "commission:"):
			commission++
		case strings.HasPrefix(g, "testing:"):
			testing++
		default:
			continue
		}
		if bd.Format != "text/plain" || bd.Collected.IsZero() {
			t.Errorf("%s: format %s collected %v", g, bd.Format, bd.Collected)
		}
	}
	if commission == 0 || testing == 0 {
		t.Errorf("script results: %d commissioning, %d testing (%v)", commission, testing, keysOf(gens))
	}
	if bd := gens["commission:maas-lshw"]; !strings.Contains(string(bd.Data), "<list") {
		t.Errorf("commission:maas-lshw is not the lshw XML: %.80q", bd.Data)
	}
}

func keysOf[V any](m map[string]V) []string { return sortedKeys(m) }

func TestValidateServices(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	ctx := context.Background()
	e := newEnv(t, site, envOpts{})
	if r := e.d.ValidateServices(ctx, site); r.Outcome != driver.Done {
		t.Fatalf("%s: %s", r.Outcome, r.Message)
	}
	if err := e.d.CheckHealth(ctx); err != nil {
		t.Fatal(err)
	}

	// The image the design uses is not synced.
	e = newEnv(t, site, envOpts{sim: maassim.Config{BootResources: maassim.DefaultBootResources()}})
	r := e.d.ValidateServices(ctx, site)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "image xenial") || !strings.Contains(r.Message, "controller01") {
		t.Errorf("missing image: %s: %s", r.Outcome, r.Message)
	}
	// The kernel is not there.
	e = newEnv(t, site, envOpts{sim: maassim.Config{BootResources: []maassim.BootResource{
		{Name: "ubuntu/xenial", Architecture: "amd64/hwe-16.04", Subarches: "generic,hwe-16.04"}}}})
	if r := e.d.ValidateServices(ctx, site); r.Outcome != driver.Failed || !strings.Contains(r.Message, "kernel ga-16.04") {
		t.Errorf("missing kernel: %s: %s", r.Outcome, r.Message)
	}
	// No rack controller; then one whose dhcpd is dead.
	e = newEnv(t, site, envOpts{sim: maassim.Config{RackControllers: []maassim.RackSpec{}}})
	if r := e.d.ValidateServices(ctx, site); r.Outcome != driver.Failed || !strings.Contains(r.Message, "no rack controller") {
		t.Errorf("no rack: %s: %s", r.Outcome, r.Message)
	}
	e = newEnv(t, site, envOpts{sim: maassim.Config{RackControllers: []maassim.RackSpec{{Hostname: "r1",
		Interfaces: []maassim.RackNIC{{Name: "eth0"}}, Services: map[string]string{"dhcpd": "dead"}}}}})
	if r := e.d.ValidateServices(ctx, site); r.Outcome != driver.Failed || !strings.Contains(r.Message, "dhcpd dead") {
		t.Errorf("unhealthy rack: %s: %s", r.Outcome, r.Message)
	}

	// A wrong key: Failed, and the key is in no message.
	e = newEnv(t, site, envOpts{})
	bad, err := New(Config{URL: e.srv.URL + "/MAAS", APIKey: oob.NewSecret("aaaa:bbbbbbbb:cccccccccccc")})
	if err != nil {
		t.Fatal(err)
	}
	r = bad.ValidateServices(ctx, site)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "rejected the API key") || strings.Contains(r.Message, "cccccccccccc") {
		t.Errorf("bad key: %s: %s", r.Outcome, r.Message)
	}
	if err := bad.CheckHealth(ctx); err == nil || strings.Contains(err.Error(), "cccccccccccc") {
		t.Errorf("health with a bad key: %v", err)
	}

	// MAAS is down.
	e.srv.Close()
	if r := e.d.ValidateServices(ctx, site); r.Outcome != driver.Unreachable {
		t.Errorf("down: %s: %s", r.Outcome, r.Message)
	}
}

func TestIdentifyNode(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	ctx := context.Background()
	e := newEnv(t, site, envOpts{})
	c01, c02, c03 := site.Node("controller01"), site.Node("compute01"), site.Node("compute02")

	// By hostname.
	e.sids[c01.Name] = e.sim.AddMachine(specFor(site, c01, c01.Name))
	// By BMC address (random hostname).
	e.sids[c02.Name] = e.sim.AddMachine(specFor(site, c02, ""))
	// By boot MAC: a manual machine (no BMC address in MAAS).
	spec := specFor(site, c03, "")
	spec.PowerType, spec.PowerParams = "manual", nil
	e.sids[c03.Name] = e.sim.AddMachine(spec)
	byMAC := *c03
	byMAC.OOBType = "manual"
	byMAC.BootMAC = spec.Interfaces[0].MAC

	for _, tc := range []struct {
		n   *design.Node
		via string
	}{{c01, "hostname"}, {c02, "BMC address 172.16.100.21"}, {&byMAC, "boot MAC"}} {
		r := e.d.IdentifyNode(ctx, e.call(tc.n, "identify_node"))
		if r.Outcome != driver.Done || !strings.Contains(r.Message, tc.via) || r.Data["system_id"] != e.sids[tc.n.Name] {
			t.Errorf("%s: %s: %s %v", tc.n.Name, r.Outcome, r.Message, r.Data)
		}
		st, _ := e.sim.Snapshot(e.sids[tc.n.Name])
		if st.Hostname != tc.n.Name || st.Domain != tc.n.Domain {
			t.Errorf("%s: MAAS has %s.%s", tc.n.Name, st.Hostname, st.Domain)
		}
	}

	// A node MAAS does not know: Failed, naming what was looked for.
	ghost := *c01
	ghost.Name = "ghost01"
	ghost.Addressing = nil
	ghost.BootMAC = "52:54:00:ff:ff:ff"
	r := e.d.IdentifyNode(ctx, e.call(&ghost, "identify_node"))
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "ghost01") || !strings.Contains(r.Message, "52:54:00:ff:ff:ff") {
		t.Errorf("missing node: %s: %s", r.Outcome, r.Message)
	}

	// Two machines with the node's BMC address: Failed, never a guess.
	twin := *c01
	twin.Name = "twin01"
	s1 := specFor(site, &twin, "")
	e.sim.AddMachine(s1)
	e.sim.AddMachine(s1)
	twin.Addressing = []design.Address{{Network: "oob", Type: "static", Address: "172.16.100.20"}}
	r = e.d.IdentifyNode(ctx, e.call(&twin, "identify_node"))
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "172.16.100.20") {
		t.Errorf("ambiguous BMC address: %s: %s", r.Outcome, r.Message)
	}
}

func TestIdentifySetsPowerParameters(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	t.Setenv("MAAS_TEST_BMC_PW", "s3cr3t-bmc")
	n := *site.Node("compute01")
	n.OOBParams = design.KV{{Key: "network", Value: "oob"}, {Key: "account", Value: "root"}, {Key: "credential_env", Value: "MAAS_TEST_BMC_PW"}}
	e := newEnv(t, site, envOpts{driver: Config{UseNodeOOBParams: true}})
	spec := specFor(site, &n, n.Name)
	spec.PowerType, spec.PowerParams = "manual", nil
	sid := e.sim.AddMachine(spec)
	r := e.d.IdentifyNode(context.Background(), e.call(&n, "identify_node"))
	if r.Outcome != driver.Done || !strings.Contains(r.Message, "power type ipmi") || strings.Contains(r.Message, "s3cr3t") {
		t.Fatalf("%s: %s", r.Outcome, r.Message)
	}
	st, _ := e.sim.Snapshot(sid)
	if st.PowerType != "ipmi" || st.PowerParams["power_address"] != "172.16.100.21" || st.PowerParams["power_user"] != "root" ||
		st.PowerParams["power_pass"] != "s3cr3t-bmc" {
		t.Errorf("power %s %v", st.PowerType, st.PowerParams)
	}
	e.count.take()
	r = e.d.IdentifyNode(context.Background(), e.call(&n, "identify_node"))
	if by := e.count.take(); writes(by) != 0 || !r.Skipped {
		t.Errorf("again: %v %s", by, r.Message)
	}
}

// TestDeployBootActionKey checks the boot action key tag: it replaces the node's older key
// tags, and the key is in no message.
func TestDeployBootActionKey(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	e := newEnv(t, site, envOpts{})
	n := site.Node("compute01")
	e.commissioned(n)
	e.must("apply_node_networking", e.d.ApplyNetworking, n)
	e.must("apply_node_storage", e.d.ApplyStorage, n)
	e.must("apply_node_platform", e.d.ApplyPlatform, n)
	ba := bootActions(n)
	// An older deployment's key tag, still on the machine.
	old := bootActionTagPrefix(n) + strings.Repeat("ab", 32)
	if err := e.d.createTag(context.Background(), tag{Name: old}); err != nil {
		t.Fatal(err)
	}
	if err := (&nodeOp{d: e.d, m: &machine{SystemID: e.sids[n.Name]}}).tagMachine(context.Background(), old, "", true); err != nil {
		t.Fatal(err)
	}
	c := e.call(n, "deploy_node")
	c.BootActions = ba
	r := e.drive(e.d.Deploy, c, maxWait)
	if r.Outcome != driver.Done {
		t.Fatalf("%s: %s", r.Outcome, r.Message)
	}
	st, _ := e.sim.Snapshot(e.sids[n.Name])
	var keyTags []string
	for _, tg := range st.Tags {
		if strings.HasPrefix(tg, bootActionTagPrefix(n)) {
			keyTags = append(keyTags, tg)
		}
	}
	if len(keyTags) != 1 || keyTags[0] != bootActionTagPrefix(n)+ba.KeyHex() {
		t.Errorf("key tags %v", keyTags)
	}
	if string(st.UserData) != ba.UserData {
		t.Errorf("user data %q", st.UserData)
	}
	for _, m := range e.msgs {
		if strings.Contains(m, ba.KeyHex()) || strings.Contains(m, strings.Repeat("ab", 32)) {
			t.Errorf("a message carries a boot action key: %s", m)
		}
	}
}

// TestPlatformFollowsTheDesign checks that removed kernel parameters and tags leave MAAS.
func TestPlatformFollowsTheDesign(t *testing.T) {
	e, n := commissionedNode(t, "compute02")
	e.must("apply_node_platform", e.d.ApplyPlatform, n)
	n.KernelParams = nil
	n.Tags = []string{"other"}
	r := e.must("apply_node_platform", e.d.ApplyPlatform, n)
	st, _ := e.sim.Snapshot(e.sids[n.Name])
	if st.KernelOptions != "" || strings.Join(st.Tags, ",") != "other" {
		t.Errorf("kernel options %q tags %v after %s", st.KernelOptions, st.Tags, r.Message)
	}
}

// TestStorageChangeRebuilds changes the layout of a configured machine: the driver rebuilds it.
func TestStorageChangeRebuilds(t *testing.T) {
	e, n := commissionedNode(t, "controller01")
	e.must("apply_node_storage", e.d.ApplyStorage, n)
	n.Devices = append([]design.NodeDevice(nil), n.Devices...)
	n.Devices[0].Partitions = append([]design.NodePartition(nil), n.Devices[0].Partitions...)
	n.Devices[0].Partitions[0].Size = "30g"
	r := e.must("apply_node_storage", e.d.ApplyStorage, n)
	if r.Skipped || !strings.Contains(r.Message, "sda partition 1 (root)") {
		t.Errorf("%s", r.Message)
	}
	st, _ := e.sim.Snapshot(e.sids[n.Name])
	if got := st.BlockDevices[0].Partitions[0].Size; got > 30e9 || got < 30e9-partAlign {
		t.Errorf("root partition %d bytes", got)
	}
	// A device the machine does not have: Failed, naming it and what the machine has.
	n.Devices[1].Name = "sdz"
	n.Devices[1].VolumeGroup = ""
	n.VolumeGroups = nil
	r = e.drive(e.d.ApplyStorage, e.call(n, "apply_node_storage"), maxWait)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "sdz") || !strings.Contains(r.Message, "sda, sdb") {
		t.Errorf("%s: %s", r.Outcome, r.Message)
	}
}

func TestDestroy(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	e := newEnv(t, site, envOpts{driver: Config{Erase: EraseQuick}})
	n := site.Node("compute02")
	e.commissioned(n)
	e.deploy(n)
	r := e.must("destroy_node", e.d.Destroy, n)
	st, _ := e.sim.Snapshot(e.sids[n.Name])
	if r.Skipped || st.StatusName != "Ready" || st.EraseMode != "quick" || st.Owner != "" {
		t.Errorf("%s; MAAS: %s erase %q owner %q", r.Message, st.StatusName, st.EraseMode, st.Owner)
	}
	// A node MAAS does not know is released already.
	ghost := *n
	ghost.Name, ghost.Addressing, ghost.BootMAC = "ghost", nil, ""
	if r := e.d.Destroy(context.Background(), e.call(&ghost, "destroy_node")); r.Outcome != driver.Done || !r.Skipped {
		t.Errorf("ghost: %s %s", r.Outcome, r.Message)
	}
	// Deleting after the release.
	e2 := newEnv(t, site, envOpts{driver: Config{DeleteOnDestroy: true}})
	e2.commissioned(n)
	e2.deploy(n)
	e2.must("destroy_node", e2.d.Destroy, n)
	if _, ok := e2.sim.Snapshot(e2.sids[n.Name]); ok {
		t.Error("the machine is still in MAAS")
	}
}

func TestMachines(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	e := newEnv(t, site, envOpts{})
	e.enlist()
	ms, err := e.d.Machines(context.Background())
	if err != nil || len(ms) != len(site.Nodes) {
		t.Fatalf("%v %v", ms, err)
	}
	for _, m := range ms {
		if m.SystemID == "" || m.Status != "New" || m.BootMAC == "" || m.PowerAddress == "" || m.CPUCount != 8 || m.MemoryMiB != 32768 {
			t.Errorf("%+v", m)
		}
	}
	_ = time.Second
}

// TestNetworkingFollowsTheDesign changes a configured node's networks and addresses: the
// driver removes what the design dropped and relinks what changed, and nothing else.
func TestNetworkingFollowsTheDesign(t *testing.T) {
	e, n := commissionedNode(t, "compute01")
	e.must("apply_node_networking", e.d.ApplyNetworking, n)
	st, _ := e.sim.Snapshot(e.sids[n.Name])
	checkNetworking(t, e, n, st)

	// private is dropped from bond0 and mgmt gets another address.
	n.Interfaces = append([]design.NodeInterface(nil), n.Interfaces...)
	for i := range n.Interfaces {
		if n.Interfaces[i].Name == "bond0" {
			n.Interfaces[i].Networks = []string{"mgmt"}
		}
	}
	n.Addressing = []design.Address{{Network: "mgmt", Type: "static", Address: "172.16.1.99"}, {Network: "oob", Type: "static", Address: "172.16.100.21"}}
	e.count.take()
	r := e.must("apply_node_networking", e.d.ApplyNetworking, n)
	by := e.count.take()
	if !strings.Contains(r.Message, "deleted bond0.101") || !strings.Contains(r.Message, "172.16.1.99") || writes(by) > 4 {
		t.Errorf("%v: %s", by, r.Message)
	}
	st, _ = e.sim.Snapshot(e.sids[n.Name])
	checkNetworking(t, e, n, st)

	// Two design interfaces on one NIC: refused, naming both.
	n.Interfaces = append(n.Interfaces, design.NodeInterface{Name: "extra", DeviceLink: "pxe", Slaves: []string{"prim_nic02"}, Networks: []string{"pxe"}})
	r = e.drive(e.d.ApplyNetworking, e.call(n, "apply_node_networking"), maxWait)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "bond0 and extra both use NIC eno2") {
		t.Errorf("%s: %s", r.Outcome, r.Message)
	}
}

// TestNetworkTemplateFollowsTheDesign changes ranges, gateways and routes between runs.
func TestNetworkTemplateFollowsTheDesign(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	ctx := context.Background()
	e := newEnv(t, site, envOpts{})
	run := func(want ...string) {
		t.Helper()
		r := e.d.PrepareSite(ctx, "create_network_template", site)
		if r.Outcome != driver.Done {
			t.Fatalf("%s: %s", r.Outcome, r.Message)
		}
		for _, w := range want {
			if !strings.Contains(r.Message, w) {
				t.Errorf("%q lacks %q", r.Message, w)
			}
		}
		r = e.d.PrepareSite(ctx, "create_network_template", site)
		if by := e.count.take(); !r.Skipped || r.Outcome != driver.Done {
			t.Errorf("again: %v %s", by, r.Message)
		}
	}
	run("created fabric gp", "renamed fabric fabric-0 to pxe", "DHCP on")
	metric := 50
	mgmt, pxe, public := site.Network("mgmt"), site.Network("pxe"), site.Network("public")
	mgmt.Routes = append(mgmt.Routes, design.Route{Subnet: "172.16.2.0/24", Gateway: "172.16.1.1", Metric: &metric})
	pxe.Ranges = []design.AddressRange{{Type: "dhcp", Start: "172.16.0.5", End: "172.16.0.200"}, {Type: "reserved", Start: "172.16.0.201", End: "172.16.0.210"}}
	public.Routes = nil
	run("created route 172.16.1.0/24 → 172.16.2.0/24 via 172.16.1.1 metric 50",
		"deleted dynamic range 172.16.0.5-172.16.0.254", "created dynamic range 172.16.0.5-172.16.0.200",
		"created reserved range 172.16.0.201-172.16.0.210", "subnet 172.16.3.0/24: set gateway_ip")
	metric = 60
	run("updated route 172.16.1.0/24 → 172.16.2.0/24 via 172.16.1.1 metric 60")
	mgmt.Routes = mgmt.Routes[:1]
	run("deleted route 172.16.1.0/24 → 172.16.2.0/24")
	var routes []staticRoute
	if err := e.d.c.get(ctx, "static-routes/", "", nil, &routes); err != nil || len(routes) != 0 {
		t.Errorf("routes %+v %v", routes, err)
	}
}

// TestNetworkTemplateConflicts: MAAS discovered a link's networks on two fabrics.
func TestNetworkTemplateConflicts(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	e := newEnv(t, site, envOpts{sim: maassim.Config{RackControllers: []maassim.RackSpec{{Hostname: "rack1",
		Interfaces: []maassim.RackNIC{{Name: "eth0", CIDR: "172.16.0.0/24"}, {Name: "eth1", CIDR: "172.16.1.0/24"},
			{Name: "eth2", CIDR: "172.16.2.0/24"}}}}}})
	r := e.d.PrepareSite(context.Background(), "create_network_template", site)
	e.note(r)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "link gp: its networks are on different MAAS fabrics") {
		t.Errorf("%s: %s", r.Outcome, r.Message)
	}
	// The PXE network's DHCP relay target is on a rack interface whose VLAN serves no DHCP.
	e = newEnv(t, site, envOpts{sim: maassim.Config{RackControllers: []maassim.RackSpec{{Hostname: "rack1",
		Interfaces: []maassim.RackNIC{{Name: "eth0", CIDR: "172.16.0.0/24"}, {Name: "eth1", CIDR: "172.16.5.0/24", IP: "172.16.5.5"}}}}}})
	r = e.d.PrepareSite(context.Background(), "create_network_template", site)
	e.note(r)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "network pxe: DHCP relay target 172.16.5.5 is on VLAN 0 of fabric fabric-1, which does not serve DHCP") {
		t.Errorf("%s: %s", r.Outcome, r.Message)
	}
	e.checkNoKey()
}
