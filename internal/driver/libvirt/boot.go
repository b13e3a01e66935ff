package libvirt

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// MetadataNS is the XML namespace of the driver's element in a domain's <metadata>;
// MetadataKey is the prefix libvirt writes it with.
const (
	MetadataNS  = "https://github.com/drydock-go/drydock/libvirt/boot-once/1"
	MetadataKey = "drydock"
)

// Boot devices of a one-time boot request (libvirt's names).
const (
	devNetwork = "network"
	devDisk    = "hd"
)

// bootRequest is a pending one-time boot, kept in the persistent definition's metadata as
// <drydock:boot-once dev="network" mac="52:54:00:00:00:01" requested="…"/>.
type bootRequest struct {
	XMLName   xml.Name `xml:"boot-once"`
	Dev       string   `xml:"dev,attr"`
	MAC       string   `xml:"mac,attr,omitempty"`
	Requested string   `xml:"requested,attr,omitempty"`
}

func (r bootRequest) marshal() string {
	b, _ := xml.Marshal(r)
	return string(b)
}

func parseBootRequest(s string) (bootRequest, error) {
	var r bootRequest
	if err := xml.Unmarshal([]byte(s), &r); err != nil {
		return r, fmt.Errorf("pending one-time boot %q: %v", s, err)
	}
	if r.Dev != devNetwork && r.Dev != devDisk {
		return r, fmt.Errorf("pending one-time boot %q: unknown device %q", s, r.Dev)
	}
	return r, nil
}

// markerRE finds the driver's element in a <metadata> body as libvirt formats it.
var markerRE = regexp.MustCompile(`(?s)<[\w.-]+:boot-once\s[^>]*xmlns:[\w.-]+="` + regexp.QuoteMeta(MetadataNS) +
	`"[^>]*?(?:/>|>.*?</[\w.-]+:boot-once>)`)

// bootRef is a bootable device of a domain: a kind and its index among the devices of that kind.
type bootRef struct {
	kind     string // disk, interface, hostdev, redirdev, filesystem
	i        int
	loadParm string
}

// bootOrder is the domain's effective boot order, as libvirt reads it: per-device
// <boot order='N'/> when any device has one (libvirt refuses to mix them with <os><boot>),
// else <os><boot dev=…/> (hd by default), each dev standing for the first device of its kind.
func bootOrder(d *libvirtxml.Domain) []bootRef {
	devs := d.Devices
	if devs == nil {
		devs = &libvirtxml.DomainDeviceList{}
	}
	type entry struct {
		ref   bootRef
		order uint
	}
	var per []entry
	add := func(kind string, i int, b *libvirtxml.DomainDeviceBoot) {
		if b != nil {
			per = append(per, entry{bootRef{kind, i, b.LoadParm}, b.Order})
		}
	}
	for i := range devs.Disks {
		add("disk", i, devs.Disks[i].Boot)
	}
	for i := range devs.Interfaces {
		add("interface", i, devs.Interfaces[i].Boot)
	}
	for i := range devs.Hostdevs {
		add("hostdev", i, devs.Hostdevs[i].Boot)
	}
	for i := range devs.RedirDevs {
		add("redirdev", i, devs.RedirDevs[i].Boot)
	}
	for i := range devs.Filesystems {
		add("filesystem", i, devs.Filesystems[i].Boot)
	}
	if len(per) > 0 {
		sort.SliceStable(per, func(a, b int) bool { return per[a].order < per[b].order })
		refs := make([]bootRef, len(per))
		for i, e := range per {
			refs[i] = e.ref
		}
		return refs
	}
	var names []string
	if d.OS != nil {
		for _, b := range d.OS.BootDevices {
			names = append(names, b.Dev)
		}
	}
	if len(names) == 0 {
		names = []string{devDisk}
	}
	var refs []bootRef
	for _, n := range names {
		switch n {
		case "hd":
			if i := firstDisk(devs, "disk", "lun"); i >= 0 {
				refs = append(refs, bootRef{kind: "disk", i: i})
			}
		case "cdrom":
			if i := firstDisk(devs, "cdrom"); i >= 0 {
				refs = append(refs, bootRef{kind: "disk", i: i})
			}
		case "fd":
			if i := firstDisk(devs, "floppy"); i >= 0 {
				refs = append(refs, bootRef{kind: "disk", i: i})
			}
		case "network":
			if len(devs.Interfaces) > 0 {
				refs = append(refs, bootRef{kind: "interface", i: 0})
			}
		}
	}
	return refs
}

// firstDisk is the index of the first disk of one of the device kinds ("" counts as disk).
func firstDisk(devs *libvirtxml.DomainDeviceList, kinds ...string) int {
	for i, dk := range devs.Disks {
		dev := dk.Device
		if dev == "" {
			dev = "disk"
		}
		for _, k := range kinds {
			if dev == k {
				return i
			}
		}
	}
	return -1
}

// oneTimeDefinition turns a domain's persistent definition into the definition of one boot
// from dev (network: the NIC with mac, or the first NIC when mac is empty; hd: the first
// disk): that device first, then the domain's own boot devices in their own order, all as
// per-device boot orders; <os><boot> and direct kernel boot are removed, and so is the
// driver's pending request from the metadata. It also returns the new order, described.
func oneTimeDefinition(domXML, dev, mac string) (string, []string, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(domXML); err != nil {
		return "", nil, fmt.Errorf("reading the domain definition: %v", err)
	}
	if d.Devices == nil {
		d.Devices = &libvirtxml.DomainDeviceList{}
	}
	devs := d.Devices
	var target bootRef
	switch dev {
	case devNetwork:
		target.i = -1
		for i, nic := range devs.Interfaces {
			if mac == "" || (nic.MAC != nil && strings.EqualFold(nic.MAC.Address, mac)) {
				target = bootRef{kind: "interface", i: i}
				break
			}
		}
		if target.i < 0 {
			if mac == "" {
				return "", nil, fmt.Errorf("domain %s has no network interface to boot from", d.Name)
			}
			return "", nil, fmt.Errorf("domain %s has no network interface with the boot MAC %s (it has %s)", d.Name, mac, strings.Join(macs(&d), ", "))
		}
	case devDisk:
		i := firstDisk(devs, "disk", "lun")
		if i < 0 {
			return "", nil, fmt.Errorf("domain %s has no disk to boot from", d.Name)
		}
		target = bootRef{kind: "disk", i: i}
	default:
		return "", nil, fmt.Errorf("boot device %q is not supported", dev)
	}
	order := []bootRef{target}
	for _, r := range bootOrder(&d) {
		if r.kind == target.kind && r.i == target.i {
			order[0].loadParm = r.loadParm
			continue
		}
		order = append(order, r)
	}
	// Clear every boot setting, then number the new order.
	if d.OS != nil {
		d.OS.BootDevices = nil
		d.OS.Kernel, d.OS.Initrd, d.OS.Cmdline, d.OS.DTB = "", "", "", ""
	}
	for i := range devs.Disks {
		devs.Disks[i].Boot = nil
	}
	for i := range devs.Interfaces {
		devs.Interfaces[i].Boot = nil
	}
	for i := range devs.Hostdevs {
		devs.Hostdevs[i].Boot = nil
	}
	for i := range devs.RedirDevs {
		devs.RedirDevs[i].Boot = nil
	}
	for i := range devs.Filesystems {
		devs.Filesystems[i].Boot = nil
	}
	described := make([]string, len(order))
	for n, r := range order {
		b := &libvirtxml.DomainDeviceBoot{Order: uint(n + 1), LoadParm: r.loadParm}
		switch r.kind {
		case "disk":
			devs.Disks[r.i].Boot = b
		case "interface":
			devs.Interfaces[r.i].Boot = b
		case "hostdev":
			devs.Hostdevs[r.i].Boot = b
		case "redirdev":
			devs.RedirDevs[r.i].Boot = b
		case "filesystem":
			devs.Filesystems[r.i].Boot = b
		}
		described[n] = describe(&d, r)
	}
	if d.Metadata != nil {
		d.Metadata.XML = markerRE.ReplaceAllString(d.Metadata.XML, "")
		if strings.TrimSpace(d.Metadata.XML) == "" {
			d.Metadata = nil
		}
	}
	out, err := d.Marshal()
	if err != nil {
		return "", nil, fmt.Errorf("writing the one-time definition: %v", err)
	}
	return out, described, nil
}

// describe names a bootable device for messages: "NIC 52:54:00:00:00:01", "disk vda".
func describe(d *libvirtxml.Domain, r bootRef) string {
	devs := d.Devices
	switch r.kind {
	case "disk":
		dk := devs.Disks[r.i]
		kind := dk.Device
		if kind == "" {
			kind = "disk"
		}
		if dk.Target != nil && dk.Target.Dev != "" {
			return kind + " " + dk.Target.Dev
		}
		return fmt.Sprintf("%s #%d", kind, r.i+1)
	case "interface":
		if m := devs.Interfaces[r.i].MAC; m != nil && m.Address != "" {
			return "NIC " + strings.ToLower(m.Address)
		}
		return fmt.Sprintf("NIC #%d", r.i+1)
	}
	return fmt.Sprintf("%s #%d", r.kind, r.i+1)
}

// describeOrder describes a domain's own boot order.
func describeOrder(d *libvirtxml.Domain) []string {
	refs := bootOrder(d)
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = describe(d, r)
	}
	return out
}

func macs(d *libvirtxml.Domain) []string {
	var out []string
	if d.Devices != nil {
		for _, nic := range d.Devices.Interfaces {
			if nic.MAC != nil {
				out = append(out, strings.ToLower(nic.MAC.Address))
			}
		}
	}
	if len(out) == 0 {
		return []string{"no MAC"}
	}
	return out
}
