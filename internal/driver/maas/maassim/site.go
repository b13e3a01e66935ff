package maassim

import (
	"fmt"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver/sim"
)

// FromSite builds the MachineSpecs of design nodes from a simulated site, so that the
// machines MAAS knows are the site's machines: the site's NICs (boot MAC included) and
// disks, and the site's BMC, which commissioning, deployment and release drive. The
// hostname is the node name (clear it for the random name a real PXE enlistment gives);
// the power settings are those a BMC-configuring enlistment records: ipmi or redfish with
// the node's address on its OOB network and its OOB account and credential, virsh (libvirt
// nodes: power_address = libvirt_uri, power_id = node name), manual, and ipmi for any other
// OOB type (power_address = the OOB address, else the node name).
func FromSite(site *sim.Site, nodes []*design.Node) ([]MachineSpec, error) {
	out := make([]MachineSpec, 0, len(nodes))
	for _, n := range nodes {
		bmc, err := site.BMC(n)
		if err != nil {
			return nil, err
		}
		m, ok := site.Machine(n.Name)
		if !ok {
			return nil, fmt.Errorf("maassim: the simulated site has no machine for node %s", n.Name)
		}
		spec := MachineSpec{Hostname: n.Name, Architecture: "amd64/generic", CPUCount: 8, MemoryMiB: 32768,
			BootMAC: m.BootMAC, BMC: bmc, Vendor: "Drydock", Product: "Simulated server", Serial: "SIM-" + n.Name,
			PowerParams: map[string]string{}}
		for _, nic := range m.NICs {
			spec.Interfaces = append(spec.Interfaces, NICSpec{Name: nic.Name, MAC: nic.MAC})
		}
		for _, d := range m.Disks {
			spec.Disks = append(spec.Disks, DiskSpec{Name: d.Name, Size: d.SizeBytes})
		}
		get := func(k string) string { v, _ := n.OOBParams.Get(k); return v }
		addr := ""
		if net := get("network"); net != "" {
			for _, a := range n.Addressing {
				if a.Network == net && a.Address != "" {
					addr = a.Address
				}
			}
		}
		switch n.OOBType {
		case "ipmi", "redfish":
			spec.PowerType = n.OOBType
			spec.PowerParams["power_address"] = addr
			spec.PowerParams["power_user"] = get("account")
			spec.PowerParams["power_pass"] = get("credential")
		case "libvirt":
			spec.PowerType = "virsh"
			spec.PowerParams["power_address"] = get("libvirt_uri")
			spec.PowerParams["power_id"] = n.Name
		case "manual":
			spec.PowerType = "manual"
		default:
			spec.PowerType = "ipmi"
			if addr == "" {
				addr = n.Name
			}
			spec.PowerParams["power_address"] = addr
		}
		out = append(out, spec)
	}
	return out, nil
}

// AddSite enlists the machines of design nodes from a simulated site (FromSite then
// AddMachine) and returns the system id of each node by node name.
func (s *Server) AddSite(site *sim.Site, nodes []*design.Node) (map[string]string, error) {
	specs, err := FromSite(site, nodes)
	if err != nil {
		return nil, err
	}
	return s.addMachines(specs, nodes), nil
}

// FromDesign is FromSite with the machines' hardware as their operating system presents it:
// NICs by kernel name (enp24s0) at the PCI addresses of the node's hardware profile, disks at
// their SCSI or NVMe addresses, exactly as the simulated site's lshw build data describes them
// (sim.Site.Hardware). A real MAAS shows kernel names; the design's aliases are resolved to
// them from lshw, so the MAAS driver is exercised as on real hardware.
func FromDesign(site *sim.Site, ds *design.Site, nodes []*design.Node) ([]MachineSpec, error) {
	specs, err := FromSite(site, nodes)
	if err != nil {
		return nil, err
	}
	for i, n := range nodes {
		nics, disks, err := site.Hardware(ds, n)
		if err != nil {
			return nil, err
		}
		spec := &specs[i]
		spec.Interfaces = spec.Interfaces[:0]
		for _, c := range nics {
			spec.Interfaces = append(spec.Interfaces, NICSpec{Name: c.Name, MAC: c.MAC, PCIAddress: c.PCIAddress, SpeedMbps: c.SpeedMbps})
		}
		spec.Disks = spec.Disks[:0]
		for _, d := range disks {
			spec.Disks = append(spec.Disks, DiskSpec{Name: d.Name, Model: d.Model, Size: d.Size, BusInfo: d.BusInfo,
				Serial: fmt.Sprintf("SIM-%s-%s", n.Name, d.Name)})
		}
	}
	return specs, nil
}

// AddDesign enlists the machines of design nodes like AddSite, with FromDesign's hardware.
func (s *Server) AddDesign(site *sim.Site, ds *design.Site, nodes []*design.Node) (map[string]string, error) {
	specs, err := FromDesign(site, ds, nodes)
	if err != nil {
		return nil, err
	}
	return s.addMachines(specs, nodes), nil
}

// addMachines enlists the machines of nodes (specs[i] is nodes[i]'s) and returns the system id
// of each node by node name.
func (s *Server) addMachines(specs []MachineSpec, nodes []*design.Node) map[string]string {
	out := make(map[string]string, len(specs))
	for i, spec := range specs {
		out[nodes[i].Name] = s.AddMachine(spec)
	}
	return out
}
