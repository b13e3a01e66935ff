package sim

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
)

// inventory is a simulated machine's hardware as commissioning reports it: derived from the
// machine (its NICs and disks, named as the design names them) and from the node's hardware
// profile, deterministically (the same machine and design give the same inventory).
//
// Devices named by a device alias of the profile sit at the alias's address: a pci alias is a
// NIC at pci@<address> (or, used as a storage device, an NVMe disk there), a scsi alias a disk
// at scsi@<address>. A regexp: alias sits at the first address its expression describes (a
// generated one when that is not a PCI address). The profile's aliases the design does not use
// are there too (real hardware has every device its model has), but they are not cabled.
// Other devices get generated addresses that no alias uses. Kernel names: a NIC the design
// names without an alias has that name; an aliased NIC gets the predictable name of its PCI
// address (enp24s0, enp59s0f1, as systemd names them); a disk the design names by a kernel
// name (sda, vdb, nvme0n1) keeps it, the others get the first free sdX (nvmeXn1 for NVMe).
// The simulated PCI topology lists the design's devices first, in design order, then the
// profile's others in profile order: a regexp alias finds its own NIC unless an earlier NIC
// matches its expression too (as it would on real hardware).
type inventory struct {
	node                           string
	vendor, product, version, bios string
	serial                         string
	sockets, cores, threads        int
	cpuModel                       string
	cpuMHz                         int
	memBytes                       int64
	nics                           []hwNIC // the design's, in design order, then the profile's others
	disks                          []hwDisk
}

type hwNIC struct {
	name, alias string // design name; the alias it comes from ("" when none)
	addr        string // PCI address, without "pci@"
	kernel      string
	mac         string
	product     string
	speed       int64 // bit/s
	cabled      bool  // a NIC of the design: connected to the rack's switch
}

type hwDisk struct {
	name, alias string
	bus, addr   string // "scsi" or "pci" (NVMe); the address without the bus
	kernel      string // /dev/...
	product     string
	size        int64
}

// profileOf is the hardware profile of a node in the site's design, or nil.
func profileOf(site *design.Site, n *design.Node) *design.HardwareProfile {
	if site == nil || site.Design == nil || n == nil || n.HardwareProfile == "" {
		return nil
	}
	return site.Design.HardwareProfile(n.HardwareProfile)
}

var cpuModels = []struct {
	name       string
	cores, mhz int
}{
	{"Intel(R) Xeon(R) Gold 6136 CPU @ 3.00GHz", 12, 3000},
	{"Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 24, 3000},
	{"Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", 12, 2200},
	{"Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", 32, 2000},
	{"Intel(R) Xeon(R) Platinum 8358 CPU @ 2.60GHz", 32, 2600},
}

func inventoryOf(m *Machine, hw *design.HardwareProfile) *inventory {
	h := hash64("hardware", m.Name)
	model := cpuModels[h%uint64(len(cpuModels))]
	inv := &inventory{
		node: m.Name, vendor: "Simulated", product: "Simulated server", version: "1", bios: "1.0.0",
		serial:  fmt.Sprintf("SIM%07X", h>>40),
		sockets: 2, cores: model.cores, threads: 2,
		cpuModel: model.name, cpuMHz: model.mhz,
		memBytes: []int64{128, 192, 256, 384, 512}[(h>>16)%5] << 30,
	}
	aliases := map[string]*design.DeviceAlias{}
	if hw != nil {
		inv.product = hw.Name
		if hw.Vendor != "" {
			inv.vendor = hw.Vendor
		}
		if hw.Generation != "" {
			inv.product += " (generation " + hw.Generation + ")"
		}
		if hw.HWVersion != "" {
			inv.version = hw.HWVersion
		}
		if hw.BIOSVersion != "" {
			inv.bios = hw.BIOSVersion
		}
		for i := range hw.DeviceAliases {
			a := &hw.DeviceAliases[i]
			if _, dup := aliases[a.Alias]; !dup && a.Alias != "" {
				aliases[a.Alias] = a
			}
		}
	}
	used := map[string]bool{} // bus@address taken
	// Plain alias addresses are reserved first, so that nothing generated takes one.
	for _, a := range aliases {
		if !isRegexp(a.Address) {
			used[a.BusType+"@"+a.Address] = true
		}
	}
	taken := map[string]bool{} // design names of the machine's devices
	for _, n := range m.NICs {
		taken[n.Name] = true
	}
	for _, d := range m.Disks {
		taken[d.Name] = true
	}
	// Then a regexp alias takes an address its expression matches, in profile order, unless
	// something took that address already.
	examples := map[string]string{}
	if hw != nil {
		for i := range hw.DeviceAliases {
			a := &hw.DeviceAliases[i]
			if aliases[a.Alias] != a || a.BusType != "pci" || !isRegexp(a.Address) {
				continue
			}
			if addr, ok := exampleAddress(strings.ReplaceAll(a.Address, "regexp:", "")); ok && !used["pci@"+addr] {
				used["pci@"+addr], examples[a.Alias] = true, addr
			}
		}
	}
	// The address of an aliased device on bus ("" when it must be generated).
	aliasAddr := func(a *design.DeviceAlias, bus string) string {
		switch {
		case a == nil || a.BusType != bus:
			return ""
		case isRegexp(a.Address):
			return examples[a.Alias]
		}
		return a.Address
	}
	gen := 0
	nextPCI := func() string {
		for ; ; gen++ {
			addr := fmt.Sprintf("0000:%02x:00.%d", 0x81+gen/2, gen%2)
			if !used["pci@"+addr] {
				used["pci@"+addr] = true
				gen++
				return addr
			}
		}
	}
	addNIC := func(name string, a *design.DeviceAlias, mac string, cabled bool) {
		nic := hwNIC{name: name, mac: mac, cabled: cabled, product: "Ethernet Controller X710 for 10GbE SFP+"}
		if addr := aliasAddr(a, "pci"); addr != "" {
			nic.alias, nic.addr = a.Alias, addr
		} else {
			nic.addr, nic.kernel = nextPCI(), name
		}
		if a != nil && a.DevType != "" {
			nic.product = a.DevType
		}
		nic.speed = nicSpeed(nic.product)
		inv.nics = append(inv.nics, nic)
	}
	for _, n := range m.NICs {
		addNIC(n.Name, aliases[n.Name], n.MAC, true)
	}
	target := 0
	nextSCSI := func() string {
		for ; ; target++ {
			addr := fmt.Sprintf("0:0.%d.0", target)
			if !used["scsi@"+addr] {
				used["scsi@"+addr] = true
				target++
				return addr
			}
		}
	}
	addDisk := func(name string, a *design.DeviceAlias, size int64) {
		d := hwDisk{name: name, bus: "scsi", size: size, product: "Simulated SSD"}
		if addr := aliasAddr(a, "scsi"); addr != "" {
			d.alias, d.addr = a.Alias, addr
		} else if addr := aliasAddr(a, "pci"); addr != "" {
			d.alias, d.bus, d.addr, d.product = a.Alias, "pci", addr, "Simulated NVMe SSD"
		} else {
			d.addr = nextSCSI()
			if kernelDisk.MatchString(strings.TrimPrefix(name, "/dev/")) {
				d.kernel = "/dev/" + strings.TrimPrefix(name, "/dev/")
			}
		}
		if a != nil && a.DevType != "" {
			d.product = a.DevType
		}
		inv.disks = append(inv.disks, d)
	}
	for _, d := range m.Disks {
		addDisk(d.Name, aliases[d.Name], d.SizeBytes)
	}
	// The profile's other devices, in profile order.
	if hw != nil {
		for i := range hw.DeviceAliases {
			a := &hw.DeviceAliases[i]
			if taken[a.Alias] || aliases[a.Alias] != a || isRegexp(a.Address) && examples[a.Alias] == "" {
				continue
			}
			switch a.BusType {
			case "pci":
				addNIC(a.Alias, a, derivedMAC(m.Name, a.Alias), false)
			case "scsi":
				addDisk(a.Alias, a, diskSize(m.Name, a.Alias))
			}
		}
	}
	inv.nameNICs()
	inv.nameDisks()
	return inv
}

// kernelDisk matches the disk names the kernel gives, which a design may use directly.
var kernelDisk = regexp.MustCompile(`^((sd|vd|hd|xvd)[a-z]+|nvme[0-9]+n[0-9]+)$`)

// nameNICs gives the aliased NICs the predictable names of their PCI addresses (the function
// is named when another function of the same device is present or it is not 0).
func (inv *inventory) nameNICs() {
	names := map[string]bool{}
	slots := map[string]int{}
	for _, n := range inv.nics {
		if n.kernel != "" {
			names[n.kernel] = true
		}
		if i := strings.LastIndexByte(n.addr, '.'); i > 0 {
			slots[n.addr[:i]]++
		}
	}
	for i := range inv.nics {
		n := &inv.nics[i]
		if n.kernel != "" {
			continue
		}
		var dom, bus, slot, fn uint64
		_, err := fmt.Sscanf(n.addr, "%x:%x:%x.%x", &dom, &bus, &slot, &fn)
		if err == nil && strings.Count(n.addr, ":") == 2 {
			name := fmt.Sprintf("enp%ds%d", bus, slot)
			if dom != 0 {
				name = fmt.Sprintf("enP%dp%ds%d", dom, bus, slot)
			}
			if fn != 0 || slots[n.addr[:strings.LastIndexByte(n.addr, '.')]] > 1 {
				name += fmt.Sprintf("f%d", fn)
			}
			if !names[name] {
				n.kernel = name
			}
		}
		for k := 0; n.kernel == ""; k++ {
			if name := fmt.Sprintf("eth%d", k); !names[name] {
				n.kernel = name
			}
		}
		names[n.kernel] = true
	}
}

// nameDisks gives the disks without a kernel name the first free sdX (nvmeXn1 for NVMe).
func (inv *inventory) nameDisks() {
	names := map[string]bool{}
	for _, d := range inv.disks {
		names[d.kernel] = true
	}
	sd, nvme := 0, 0
	for i := range inv.disks {
		d := &inv.disks[i]
		for d.kernel == "" {
			var name string
			if d.bus == "pci" {
				name = fmt.Sprintf("/dev/nvme%dn1", nvme)
				nvme++
			} else {
				name = "/dev/sd" + diskLetters(sd)
				sd++
			}
			if !names[name] {
				d.kernel, names[name] = name, true
			}
		}
	}
}

// diskLetters is the kernel's disk suffix: a..z, aa..az, ...
func diskLetters(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('a'+(i-1)%26)) + s
	}
	return s
}

func isRegexp(addr string) bool { return strings.Contains(addr, "regexp:") }

// exampleAddress returns a PCI address that expr matches, anchored at the start as alias
// resolution matches it: the expression's shortest, first-alternative match, completed to a
// whole address from 0000:00:00.0 when it is a prefix of one. False when that gives no valid
// PCI address.
func exampleAddress(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	var walk func(*syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpLiteral:
			b.WriteString(string(r.Rune))
		case syntax.OpCharClass:
			if len(r.Rune) > 0 {
				b.WriteRune(r.Rune[0])
			}
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			b.WriteByte('0')
		case syntax.OpCapture, syntax.OpPlus:
			walk(r.Sub[0])
		case syntax.OpRepeat:
			for range r.Min {
				walk(r.Sub[0])
			}
		case syntax.OpConcat:
			for _, s := range r.Sub {
				walk(s)
			}
		case syntax.OpAlternate:
			walk(r.Sub[0])
		}
	}
	walk(re)
	addr := b.String()
	const template = "0000:00:00.0"
	if len(addr) < len(template) {
		addr += template[len(addr):]
	}
	if !pciAddress.MatchString(addr) {
		return "", false
	}
	if m, err := regexp.Compile(`^(?:` + expr + `)`); err != nil || !m.MatchString(addr) {
		return "", false
	}
	return addr, true
}

var pciAddress = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)

// addrLess orders bus addresses numerically field by field (hexadecimal fields; decimal ones
// order the same way), falling back to the text.
func addrLess(a, b string) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '.' })
	}
	fa, fb := split(a), split(b)
	for i := 0; i < len(fa) && i < len(fb); i++ {
		x, errx := strconv.ParseUint(fa[i], 16, 64)
		y, erry := strconv.ParseUint(fb[i], 16, 64)
		if errx != nil || erry != nil {
			if fa[i] != fb[i] {
				return fa[i] < fb[i]
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	if len(fa) != len(fb) {
		return len(fa) < len(fb)
	}
	return a < b
}

// nicSpeed guesses a NIC's speed from its model.
func nicSpeed(product string) int64 {
	p := strings.ToLower(product)
	for _, s := range []struct {
		mark  string
		speed int64
	}{{"100g", 100e9}, {"40g", 40e9}, {"25g", 25e9}, {"10g", 10e9}, {"gigabit", 1e9}} {
		if strings.Contains(p, s.mark) {
			return s.speed
		}
	}
	return 10e9
}

// HardwareNIC is a NIC of a simulated machine as its operating system (and lshw) sees it.
type HardwareNIC struct {
	Name       string // the kernel name, e.g. enp24s0
	Design     string // the design's name for it (an alias or a kernel name)
	MAC        string
	PCIAddress string // without "pci@"
	Cabled     bool   // connected to the rack's switch (a NIC the design uses)
	SpeedMbps  int
}

// HardwareDisk is a disk of a simulated machine as its operating system sees it.
type HardwareDisk struct {
	Name    string // the kernel name without /dev/, e.g. sda
	BusInfo string // lshw's businfo, e.g. scsi@0:2.0.0 or pci@0000:5e:00.0
	Model   string
	Size    int64
}

// Hardware returns the NICs and disks of a node's simulated machine as its lshw build data
// describes them (kernel names at the hardware profile's bus addresses), so that another
// provisioner emulator can present the same machine. The machine must exist (Ensure).
func (s *Site) Hardware(site *design.Site, n *design.Node) ([]HardwareNIC, []HardwareDisk, error) {
	m, ok := s.Machine(n.Name)
	if !ok {
		return nil, nil, fmt.Errorf("the simulated site has no machine for node %s", n.Name)
	}
	inv := inventoryOf(&m, profileOf(site, n))
	nics := make([]HardwareNIC, len(inv.nics))
	for i, c := range inv.nics {
		nics[i] = HardwareNIC{Name: c.kernel, Design: c.name, MAC: c.mac, PCIAddress: c.addr, Cabled: c.cabled, SpeedMbps: int(c.speed / 1e6)}
	}
	disks := make([]HardwareDisk, len(inv.disks))
	for i, d := range inv.disks {
		disks[i] = HardwareDisk{Name: strings.TrimPrefix(d.kernel, "/dev/"), BusInfo: d.bus + "@" + d.addr, Model: d.product, Size: d.size}
	}
	return nics, disks, nil
}
