package sim

import (
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// Build data the simulated provisioner collects (driver.Result.BuildData), as MAAS does:
// commissioning reports the machine's hardware (lshw), its LLDP neighbours (lldp) and the
// output of a commissioning script; deployment reports the installer's output.
//
// ConfigureHardware returns the commissioning records with the Done result of the step whose
// commissioning completed: the call that observes the completion, and any later call of the
// same step (same Call.Key: a repeat after a lost answer or a crash gets them again, so they
// are not lost). A skipped call (the machine was commissioned by an earlier task) returns none:
// build data are kept forever, and the earlier task stored them. A failed commissioning
// returns only the script's output (the step that started it, as it fails). Deploy returns
// its record likewise, with the Done (or Failed) result of the step whose deployment ended.
// Records are dated when the operation ended on the simulated clock, so that every repeat
// returns the same data.
const (
	GenLshw    = "lshw"
	GenLLDP    = "lldp"
	GenCPUInfo = "commission:00-maas-01-cpuinfo"
	GenCurtin  = "deploy:curtin-install"
)

// opEnd is when the machine's last asynchronous operation ended (or will end).
func opEnd(m *Machine) time.Time { return m.OpStarted.Add(m.OpDuration) }

// commissionBuildData are the records of the machine's commissioning; ok: it succeeded.
func commissionBuildData(m *Machine, c driver.Call, ok bool) []driver.BuildData {
	inv := inventoryOf(m, profileOf(c.Site, c.Node))
	at := opEnd(m)
	cpu := driver.BuildData{Generator: GenCPUInfo, Format: "text/plain", Data: inv.cpuinfo(), Collected: at}
	if !ok {
		return []driver.BuildData{cpu}
	}
	return []driver.BuildData{
		{Generator: GenLshw, Format: "text/xml", Data: inv.lshw(), Collected: at},
		{Generator: GenLLDP, Format: "text/xml", Data: inv.lldp(c.Site, c.Node), Collected: at},
		cpu,
	}
}

// deployBuildData is the installer's output for the machine's deployment; ok: it succeeded.
func deployBuildData(m *Machine, c driver.Call, ok bool) []driver.BuildData {
	n := c.Node
	var b strings.Builder
	image, kernel := n.Image, n.Kernel
	if image == "" {
		image = "default"
	}
	if kernel == "" {
		kernel = "default"
	}
	fmt.Fprintf(&b, "curtin: installing %s (kernel %s) on %s, deployment %d\n", image, kernel, m.Name, m.Deploys)
	for _, d := range n.Devices {
		var parts []string
		for _, p := range d.Partitions {
			s := p.Name + " " + p.Size
			if p.Filesystem != nil && p.Filesystem.Mountpoint != "" {
				s += " " + p.Filesystem.Mountpoint + " " + p.Filesystem.FSType
			}
			if p.VolumeGroup != "" {
				s += " vg " + p.VolumeGroup
			}
			parts = append(parts, s)
		}
		if d.VolumeGroup != "" {
			parts = append(parts, "whole disk in vg "+d.VolumeGroup)
		}
		fmt.Fprintf(&b, "curtin: storage /dev/%s (%s): %s\n", c.DeviceName(d.Name), d.Name, strings.Join(parts, ", "))
	}
	for _, ifc := range n.Interfaces {
		fmt.Fprintf(&b, "curtin: network %s on %s: %s\n", ifc.Name, strings.Join(resolved(c, ifc.Slaves), " "),
			strings.Join(ifc.Networks, ", "))
	}
	if ok {
		b.WriteString("curtin: Installation finished.\n")
	} else {
		b.WriteString("curtin: Installation failed.\n")
	}
	return []driver.BuildData{{Generator: GenCurtin, Format: "text/plain", Data: []byte(b.String()), Collected: opEnd(m)}}
}

// resolved lists device names as the call resolves them: "alias=kernel" when resolved.
func resolved(c driver.Call, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if k := c.DeviceName(n); k != n {
			out[i] = n + "=" + k
		}
	}
	return out
}

// cpuinfo is the output of the cpuinfo commissioning script (lscpu's summary).
func (inv *inventory) cpuinfo() []byte {
	cpus := inv.sockets * inv.cores * inv.threads
	return fmt.Appendf(nil, `Architecture:        x86_64
CPU op-mode(s):      32-bit, 64-bit
Byte Order:          Little Endian
CPU(s):              %d
On-line CPU(s) list: 0-%d
Thread(s) per core:  %d
Core(s) per socket:  %d
Socket(s):           %d
NUMA node(s):        %d
Vendor ID:           GenuineIntel
Model name:          %s
CPU MHz:             %d.000
`, cpus, cpus-1, inv.threads, inv.cores, inv.sockets, inv.sockets, inv.cpuModel, inv.cpuMHz)
}

// lshwElem is a `node` element of `lshw -xml`.
type lshwElem struct {
	XMLName     xml.Name    `xml:"node"`
	ID          string      `xml:"id,attr"`
	Disabled    string      `xml:"disabled,attr,omitempty"`
	Claimed     string      `xml:"claimed,attr,omitempty"`
	Class       string      `xml:"class,attr"`
	Handle      string      `xml:"handle,attr"`
	Description string      `xml:"description,omitempty"`
	Product     string      `xml:"product,omitempty"`
	Vendor      string      `xml:"vendor,omitempty"`
	PhysID      string      `xml:"physid,omitempty"`
	BusInfo     string      `xml:"businfo,omitempty"`
	LogicalName []string    `xml:"logicalname,omitempty"`
	Version     string      `xml:"version,omitempty"`
	Serial      string      `xml:"serial,omitempty"`
	Size        *lshwValue  `xml:"size,omitempty"`
	Capacity    *lshwValue  `xml:"capacity,omitempty"`
	Width       *lshwValue  `xml:"width,omitempty"`
	Config      *lshwConfig `xml:"configuration,omitempty"`
	Children    []lshwElem  `xml:"node,omitempty"`
}

type lshwValue struct {
	Units string `xml:"units,attr"`
	Value int64  `xml:",chardata"`
}

type lshwConfig struct {
	Settings []lshwSetting `xml:"setting"`
}

type lshwSetting struct {
	ID    string `xml:"id,attr"`
	Value string `xml:"value,attr"`
}

// settings makes a configuration of id, value pairs.
func settings(kv ...string) *lshwConfig {
	c := &lshwConfig{}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Settings = append(c.Settings, lshwSetting{ID: kv[i], Value: kv[i+1]})
	}
	return c
}

const lshwHeader = `<?xml version="1.0" standalone="yes" ?>
<!-- generated by lshw-B.02.19.2 (drydock simulator) -->
`

// lshw renders the inventory as `lshw -xml` prints it.
func (inv *inventory) lshw() []byte {
	bits64 := &lshwValue{Units: "bits", Value: 64}
	core := lshwElem{ID: "core", Claimed: "true", Class: "bus", Handle: "DMI:0200", Description: "Motherboard",
		Vendor: inv.vendor, PhysID: "0",
		Children: []lshwElem{{ID: "firmware", Claimed: "true", Class: "memory", Handle: "DMI:0000", Description: "BIOS",
			Vendor: inv.vendor, PhysID: "0", Version: inv.bios}}}
	for i := range inv.sockets {
		core.Children = append(core.Children, lshwElem{ID: fmt.Sprintf("cpu:%d", i), Claimed: "true",
			Class: "processor", Handle: fmt.Sprintf("DMI:04%02X", i), Description: "CPU", Product: inv.cpuModel,
			Vendor: "Intel Corp.", PhysID: fmt.Sprintf("%x", 0x400+i), BusInfo: fmt.Sprintf("cpu@%d", i),
			Size: &lshwValue{Units: "Hz", Value: int64(inv.cpuMHz) * 1e6}, Width: bits64,
			Config: settings("cores", fmt.Sprint(inv.cores), "enabledcores", fmt.Sprint(inv.cores),
				"threads", fmt.Sprint(inv.cores*inv.threads))})
	}
	core.Children = append(core.Children, lshwElem{ID: "memory", Claimed: "true", Class: "memory",
		Handle: "DMI:1000", Description: "System Memory", PhysID: "1000",
		Size: &lshwValue{Units: "bytes", Value: inv.memBytes}})
	pci := lshwElem{ID: "pci", Claimed: "true", Class: "bridge", Handle: "PCIBUS:0000:00",
		Description: "Host bridge", Vendor: "Intel Corporation", PhysID: "100", BusInfo: "pci@0000:00:00.0"}
	used := map[string]bool{"0000:00:00.0": true}
	for _, n := range inv.nics {
		used[n.addr] = true
	}
	for _, d := range inv.disks {
		used[d.addr] = true
	}
	for i, n := range inv.nics {
		e := lshwElem{ID: fmt.Sprintf("network:%d", i), Claimed: "true", Class: "network", Handle: "PCI:" + n.addr,
			Description: "Ethernet interface", Product: n.product, Vendor: nicVendor(n.product),
			PhysID: fmt.Sprint(i), BusInfo: "pci@" + n.addr, LogicalName: []string{n.kernel}, Version: "01",
			Serial: n.mac, Capacity: &lshwValue{Units: "bit/s", Value: n.speed}, Width: bits64,
			Config: settings("autonegotiation", "on", "driver", nicDriver(n.product), "link", "no")}
		if n.cabled {
			e.Size = &lshwValue{Units: "bit/s", Value: n.speed}
			e.Config.Settings[2].Value = "yes"
		} else {
			e.Disabled = "true"
		}
		pci.Children = append(pci.Children, e)
	}
	// One SAS controller per SCSI host, then the NVMe disks.
	hosts := map[string]*lshwElem{}
	var order []string
	ctl := 0
	for i, d := range inv.disks {
		disk := lshwElem{ID: fmt.Sprintf("disk:%d", i), Claimed: "true", Class: "disk", Product: d.product,
			BusInfo: d.bus + "@" + d.addr, LogicalName: []string{d.kernel}, Serial: fmt.Sprintf("SIMD%08X", hash64("disk-serial", inv.node, d.name)>>32),
			Size: &lshwValue{Units: "bytes", Value: d.size}, Config: settings("logicalsectorsize", "512", "sectorsize", "4096")}
		if d.bus == "pci" {
			disk.Description, disk.Handle, disk.PhysID = "NVMe disk", "PCI:"+d.addr, "0"
			pci.Children = append(pci.Children, disk)
			continue
		}
		host, rest, _ := strings.Cut(d.addr, ":")
		disk.Description, disk.PhysID = "SCSI Disk", rest
		disk.Handle = "SCSI:" + host + ":" + strings.ReplaceAll(rest, ".", ":")
		h := hosts[host]
		if h == nil {
			var addr string
			for ; ; ctl++ {
				if addr = fmt.Sprintf("0000:%02x:00.0", 0x1a+ctl); !used[addr] {
					used[addr] = true
					break
				}
			}
			h = &lshwElem{ID: fmt.Sprintf("sas:%d", len(order)), Claimed: "true", Class: "storage",
				Handle: "PCI:" + addr, Description: "Serial Attached SCSI controller",
				Product: "SAS3008 PCI-Express Fusion-MPT SAS-3", Vendor: "Broadcom / LSI",
				PhysID: fmt.Sprint(len(inv.nics) + len(order)), BusInfo: "pci@" + addr,
				LogicalName: []string{"scsi" + host}, Config: settings("driver", "mpt3sas")}
			hosts[host] = h
			order = append(order, host)
		}
		h.Children = append(h.Children, disk)
	}
	sort.SliceStable(order, func(i, j int) bool { return addrLess(order[i], order[j]) })
	for _, host := range order {
		pci.Children = append(pci.Children, *hosts[host])
	}
	core.Children = append(core.Children, pci)
	sys := lshwElem{ID: inv.node, Claimed: "true", Class: "system", Handle: "DMI:0100",
		Description: "Rack Mount Chassis", Product: inv.product, Vendor: inv.vendor, Version: inv.version,
		Serial: inv.serial, Width: bits64, Config: settings("boot", "normal", "chassis", "rackmount"),
		Children: []lshwElem{core}}
	return render(lshwHeader, struct {
		XMLName xml.Name `xml:"list"`
		Node    lshwElem
	}{Node: sys})
}

func render(header string, v any) []byte {
	b, err := xml.MarshalIndent(v, "", " ")
	if err != nil { // the types above always marshal
		panic(fmt.Sprintf("sim: rendering build data: %v", err))
	}
	return append(append([]byte(header), b...), '\n')
}

func nicVendor(product string) string {
	p := strings.ToLower(product)
	switch {
	case strings.Contains(p, "bcm") || strings.Contains(p, "netxtreme") || strings.Contains(p, "broadcom"):
		return "Broadcom Inc. and subsidiaries"
	case strings.Contains(p, "connectx") || strings.Contains(p, "mellanox"):
		return "Mellanox Technologies"
	}
	return "Intel Corporation"
}

func nicDriver(product string) string {
	p := strings.ToLower(product)
	switch {
	case strings.Contains(p, "bcm5720") || strings.Contains(p, "bcm5719"):
		return "tg3"
	case strings.Contains(p, "bcm") || strings.Contains(p, "netxtreme"):
		return "bnxt_en"
	case strings.Contains(p, "connectx") || strings.Contains(p, "mellanox"):
		return "mlx5_core"
	case strings.Contains(p, "82540"):
		return "e1000"
	case strings.Contains(p, "i350") || strings.Contains(p, "gigabit"):
		return "igb"
	}
	return "i40e"
}

// lldp XML, as `lldpctl -f xml` prints it.
type lldpField struct {
	Label string `xml:"label,attr"`
	Type  string `xml:"type,attr,omitempty"`
	Value string `xml:",chardata"`
}

type lldpInterface struct {
	Label   string `xml:"label,attr"`
	Name    string `xml:"name,attr"`
	Via     string `xml:"via,attr"`
	RID     int    `xml:"rid,attr"`
	Age     string `xml:"age,attr"`
	Chassis struct {
		Label      string           `xml:"label,attr"`
		ID         lldpField        `xml:"id"`
		Name       lldpField        `xml:"name"`
		Descr      lldpField        `xml:"descr"`
		MgmtIP     *lldpField       `xml:"mgmt-ip,omitempty"`
		Capability []lldpCapability `xml:"capability"`
	} `xml:"chassis"`
	Port struct {
		Label string    `xml:"label,attr"`
		ID    lldpField `xml:"id"`
		Descr lldpField `xml:"descr"`
		TTL   lldpField `xml:"ttl"`
	} `xml:"port"`
}

type lldpCapability struct {
	Label   string `xml:"label,attr"`
	Type    string `xml:"type,attr"`
	Enabled string `xml:"enabled,attr"`
}

// torSwitch is a switch of the node's rack: the Rack document's top-of-rack switches (NICs
// alternate between them), else one simulated switch named after the rack.
type torSwitch struct{ name, mgmtIP string }

func rackSwitches(site *design.Site, n *design.Node) []torSwitch {
	if site != nil && site.Design != nil && n.Rack != "" {
		if r := site.Design.Rack(n.Rack); r != nil && len(r.TorSwitches) > 0 {
			out := make([]torSwitch, len(r.TorSwitches))
			for i, s := range r.TorSwitches {
				out[i] = torSwitch{s.Name, s.MgmtIP}
			}
			return out
		}
	}
	if n.Rack != "" {
		return []torSwitch{{name: n.Rack + "-tor"}}
	}
	return []torSwitch{{name: "sim-tor"}}
}

// lldp renders the neighbours of the cabled NICs: each sees a port of its rack's switch.
func (inv *inventory) lldp(site *design.Site, n *design.Node) []byte {
	switches := rackSwitches(site, n)
	base := hash64("port", inv.node) % 48
	var ifs []lldpInterface
	for _, nic := range inv.nics {
		if !nic.cabled {
			continue
		}
		sw := switches[len(ifs)%len(switches)]
		var i lldpInterface
		i.Label, i.Name, i.Via, i.RID, i.Age = "Interface", nic.kernel, "LLDP", 1+len(ifs)%len(switches), "0 day, 00:00:42"
		i.Chassis.Label = "Chassis"
		h := hash64("switch", sw.name)
		i.Chassis.ID = lldpField{Label: "ChassisID", Type: "mac",
			Value: fmt.Sprintf("0c:42:%02x:%02x:%02x:%02x", byte(h>>24), byte(h>>16), byte(h>>8), byte(h))}
		i.Chassis.Name = lldpField{Label: "SysName", Value: sw.name}
		i.Chassis.Descr = lldpField{Label: "SysDescr", Value: "Simulated top-of-rack switch"}
		if sw.mgmtIP != "" {
			i.Chassis.MgmtIP = &lldpField{Label: "MgmtIP", Value: sw.mgmtIP}
		}
		i.Chassis.Capability = []lldpCapability{{"Capability", "Bridge", "on"}, {"Capability", "Router", "off"}}
		port := 1 + (base+uint64(len(ifs)/len(switches)))%48
		i.Port.Label = "Port"
		i.Port.ID = lldpField{Label: "PortID", Type: "ifname", Value: fmt.Sprintf("Ethernet%d", port)}
		i.Port.Descr = lldpField{Label: "PortDescr", Value: inv.node + ":" + nic.kernel}
		i.Port.TTL = lldpField{Label: "TTL", Value: "120"}
		ifs = append(ifs, i)
	}
	return render(`<?xml version="1.0" encoding="UTF-8"?>`+"\n", struct {
		XMLName    xml.Name        `xml:"lldp"`
		Label      string          `xml:"label,attr"`
		Interfaces []lldpInterface `xml:"interface"`
	}{Label: "LLDP neighbors", Interfaces: ifs})
}
