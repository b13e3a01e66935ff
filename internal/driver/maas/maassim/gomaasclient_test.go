package maassim

import (
	"strings"
	"testing"
	"time"

	gmc "github.com/canonical/gomaasclient/client"
	"github.com/canonical/gomaasclient/entity"
)

// TestGoMAASClient: a real MAAS client (gomaasclient over gomaasapi: OAuth PLAINTEXT header,
// op= in the query, urlencoded and multipart bodies, BSON details) works against the emulator.
func TestGoMAASClient(t *testing.T) {
	clk := newClock()
	s, hs, _ := newServer(t, Config{Now: clk.Now, Delays: testDelays})
	bmc := &fakeBMC{}
	sid := s.AddMachine(machineSpec("gmc01", bmc))

	c, err := gmc.GetClient(hs.URL+"/MAAS", s.APIKey(), "2.0")
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Version.Get()
	if err != nil || v.Version != Version {
		t.Fatalf("version %+v %v", v, err)
	}
	toks, err := c.Account.ListAuthorisationTokens()
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens %+v %v", toks, err)
	}

	// Networking objects.
	fab, err := c.Fabrics.Create(&entity.FabricParams{Name: "pxe"})
	if err != nil || fab.Name != "pxe" || len(fab.VLANs) != 1 {
		t.Fatalf("fabric %+v %v", fab, err)
	}
	sn, err := c.Subnets.Create(&entity.SubnetParams{CIDR: "172.16.1.0/24", VLAN: "5001", GatewayIP: "172.16.1.1",
		DNSServers: []string{"172.16.1.9"}, RDNSMode: 2, AllowDNS: true, AllowProxy: true, Managed: true})
	if err != nil || sn.CIDR != "172.16.1.0/24" || sn.VLAN.ID != 5001 {
		t.Fatalf("subnet %+v %v", sn, err)
	}
	if _, err := c.IPRanges.Create(&entity.IPRangeParams{Type: "dynamic", StartIP: "172.16.1.100",
		EndIP: "172.16.1.200", Subnet: "1"}); err != nil {
		t.Fatalf("ip range: %v", err)
	}
	if _, err := c.IPRanges.Create(&entity.IPRangeParams{Type: "reserved", StartIP: "172.16.1.150",
		EndIP: "172.16.1.160", Subnet: "1"}); err == nil || !strings.Contains(err.Error(), "conflicts") {
		t.Fatalf("overlapping range: %v", err)
	}

	// Machines: list, update with power parameters, commission, details, allocate, deploy.
	ms, err := c.Machines.Get(&entity.MachinesParams{Hostname: []string{"gmc01"}})
	if err != nil || len(ms) != 1 || ms[0].SystemID != sid || ms[0].StatusName != "New" {
		t.Fatalf("machines %+v %v", ms, err)
	}
	m, err := c.Machine.Update(sid, &entity.MachineUpdateParams{Hostname: "gmc01", PowerType: "redfish"},
		map[string]interface{}{"power_parameters_power_address": "10.9.0.1", "power_parameters_power_user": "u",
			"power_parameters_power_pass": "p"})
	if err != nil || m.PowerType != "redfish" {
		t.Fatalf("update %+v %v", m, err)
	}
	pp, err := c.Machine.GetPowerParameters(sid)
	if err != nil || pp["power_address"] != "10.9.0.1" {
		t.Fatalf("power parameters %v %v", pp, err)
	}
	m, err = c.Machine.Commission(sid, &entity.MachineCommissionParams{SkipBMCConfig: true})
	if err != nil || m.StatusName != "Commissioning" {
		t.Fatalf("commission %+v %v", m, err)
	}
	clk.Advance(time.Minute)
	d, err := c.Machine.Details(sid)
	if err != nil || !strings.Contains(d.LSHW, "<logicalname>/dev/sda</logicalname>") || !strings.Contains(d.LLDP, "<lldp") {
		t.Fatalf("details %.200q %v", d.LSHW, err)
	}
	ifs, err := c.NetworkInterfaces.Get(sid)
	if err != nil || len(ifs) != 2 {
		t.Fatalf("interfaces %+v %v", ifs, err)
	}
	bond, err := c.NetworkInterfaces.CreateBond(sid, &entity.NetworkInterfaceBondParams{Name: "bond0",
		Parents: []int{ifs[0].ID, ifs[1].ID}, BondMode: "active-backup"})
	if err != nil || bond.Type != "bond" || len(bond.Parents) != 2 {
		t.Fatalf("bond %+v %v", bond, err)
	}
	bds, err := c.BlockDevices.Get(sid)
	if err != nil || len(bds) != 2 || bds[0].PartitionTableType != "GPT" {
		t.Fatalf("block devices %+v %v", bds, err)
	}
	if _, err := c.Tags.Create(&entity.TagParams{Name: "compute"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Tag.AddMachines("compute", []string{sid}); err != nil {
		t.Fatal(err)
	}
	tagged, err := c.Tag.GetMachines("compute")
	if err != nil || len(tagged) != 1 {
		t.Fatalf("tagged %+v %v", tagged, err)
	}
	m, err = c.Machines.Allocate(&entity.MachineAllocateParams{SystemID: sid})
	if err != nil || m.StatusName != "Allocated" {
		t.Fatalf("allocate %+v %v", m, err)
	}
	m, err = c.Machine.Deploy(sid, &entity.MachineDeployParams{DistroSeries: "jammy"})
	if err != nil || m.StatusName != "Deploying" {
		t.Fatalf("deploy %+v %v", m, err)
	}
	clk.Advance(time.Minute)
	m, err = c.Machine.Get(sid)
	if err != nil || m.StatusName != "Deployed" || m.OSystem != "ubuntu" || len(m.TagNames) != 1 {
		t.Fatalf("deployed %+v %v", m, err)
	}
	state, err := c.Machine.GetPowerState(sid)
	if err != nil || state.State != "on" {
		t.Fatalf("power state %+v %v", state, err)
	}
	// A refused request surfaces as an error with MAAS's text.
	if _, err := c.Machine.Deploy(sid, &entity.MachineDeployParams{}); err == nil ||
		!strings.Contains(err.Error(), "Can't deploy a machine that is in the 'Deployed' state") {
		t.Fatalf("second deploy: %v", err)
	}
	if _, err := c.Machine.Release(sid, &entity.MachineReleaseParams{Erase: true, QuickErase: true}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if got, _ := s.Snapshot(sid); got.StatusName != "Ready" || got.EraseMode != "quick" {
		t.Fatalf("after release: %s %s", got.StatusName, got.EraseMode)
	}
	if err := c.Machine.Delete(sid); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Machine.Get(sid); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("deleted machine: %v", err)
	}
}
