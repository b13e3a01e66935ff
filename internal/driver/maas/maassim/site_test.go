package maassim

import (
	"context"
	"github.com/drydock-go/drydock/internal/design/ref"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver/sim"
)

// TestFromSite: the machines come from the simulated site, and commissioning drives the
// site's BMC.
func TestFromSite(t *testing.T) {
	clk := sim.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	site, err := sim.Open("", sim.Config{Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	node := &design.Node{Name: "cmp01", OOBType: "ipmi",
		OOBParams: design.KV{{Key: "account", Value: "admin"}, {Key: "credential", Value: "pw"}, {Key: "network", Value: "oob"}},
		Interfaces: []design.NodeInterface{
			{Name: "bond0", Slaves: []string{"eno1", "eno2"}, Networks: []string{"mgmt"}},
			{Name: "pxe", Slaves: []string{"eno3"}, Networks: []string{"pxe"}},
		},
		Devices:    []design.NodeDevice{{Name: "sda"}, {Name: "sdb"}},
		Addressing: []design.Address{{Network: "oob", Type: "static", Address: "172.16.0.21"}},
	}
	specs, err := FromSite(site, []*design.Node{node})
	if err != nil {
		t.Fatal(err)
	}
	sp := specs[0]
	sm, _ := site.Machine("cmp01")
	if sp.Hostname != "cmp01" || sp.BootMAC != sm.BootMAC || len(sp.Interfaces) != 3 || len(sp.Disks) != 2 ||
		sp.PowerType != "ipmi" || sp.PowerParams["power_address"] != "172.16.0.21" || sp.PowerParams["power_pass"] != "pw" {
		t.Fatalf("spec %+v", sp)
	}
	mclk := newClock()
	s, _, c := newServer(t, Config{Now: mclk.Now, Delays: testDelays})
	ids, err := s.AddSite(site, []*design.Node{node})
	if err != nil {
		t.Fatal(err)
	}
	sid := ids["cmp01"]
	found := must(t, c.get("machines/", vals("mac_address", sm.BootMAC)), 200).list(t)
	if len(found) != 1 {
		t.Fatalf("lookup by boot MAC: %v", found)
	}
	must(t, c.post("machines/"+sid+"/?op=commission", vals("enable_ssh", "0")), 200)
	if m, _ := site.Machine("cmp01"); m.Power != "on" {
		t.Errorf("site machine power %s after commissioning started", m.Power)
	}
	mclk.Advance(time.Minute)
	ms, _ := s.Snapshot(sid)
	if m, _ := site.Machine("cmp01"); ms.StatusName != "Ready" || m.Power != "off" || ms.PowerState != "off" {
		t.Errorf("after commissioning: %s, site power %s", ms.StatusName, m.Power)
	}
}

// FromDesign presents the machines with kernel names at the hardware profile's addresses,
// and the emulator's lshw resolves the design's aliases to them.
func TestFromDesign(t *testing.T) {
	srcs, err := (&ref.Resolver{}).Fetch(context.Background(), "../../../../examples/site")
	if err != nil {
		t.Fatal(err)
	}
	ds := make([]design.Source, len(srcs))
	for i, s := range srcs {
		ds[i] = design.Source{Name: s.Name, Data: s.Data}
	}
	in := design.Parse(ds...)
	dsite := design.Compile(in.Design)
	site, err := sim.Open("", sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	if err := site.Ensure(dsite.Nodes...); err != nil {
		t.Fatal(err)
	}
	s, _, _ := newServer(t, Config{Delays: testDelays})
	ids, err := s.AddDesign(site, dsite, dsite.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	n := dsite.Nodes[0]
	st, ok := s.Snapshot(ids[n.Name])
	if !ok {
		t.Fatal("no machine")
	}
	names := map[string]bool{}
	for _, i := range st.Interfaces {
		names[i.Name] = true
	}
	// examples/site: nic-pxe is pci 0000:18:00.0, which the OS calls enp24s0.
	if !names["enp24s0"] || names["nic-pxe"] {
		t.Errorf("interfaces %v: want kernel names", names)
	}
	s.mu.Lock()
	lshw := lshwXML(s.st.lookupMachine(ids[n.Name]))
	s.mu.Unlock()
	got, err := design.LogicalNames(dsite.Design.HardwareProfile(n.HardwareProfile), lshw)
	if err != nil || got["nic-pxe"] != "enp24s0" || got["bootdisk"] == "" {
		t.Errorf("aliases from the emulator's lshw: %v %v", got, err)
	}
}
