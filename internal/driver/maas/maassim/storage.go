package maassim

import (
	"fmt"
	"strconv"
	"strings"
)

const mib = int64(1) << 20

type blockDevice struct {
	id              int
	name            string
	virtual         bool // a logical volume
	model, serial   string
	idPath, busInfo string
	size            int64
	blockSize       int
	tags            []string
	uuid            string
	fs              *filesystem
	ptable          string // "", "GPT", "MBR"
	parts           []*partition
	lvOf            *volumeGroup
}

type partition struct {
	id       int
	dev      *blockDevice
	uuid     string
	size     int64
	bootable bool
	fs       *filesystem
	tags     []string
}

type filesystem struct {
	fstype, label, uuid, mountPoint, mountOptions string
	vg                                            *volumeGroup // lvm-pv: the VG it belongs to
}

type volumeGroup struct {
	id         int
	name, uuid string
}

var fstypes = []string{"ext2", "ext4", "xfs", "fat32", "vfat", "lvm-pv", "raid", "raid-spare", "bcache-cache",
	"bcache-backing", "swap", "ramfs", "tmpfs", "btrfs", "zfsroot", "vmfs6"}

func roundDown(v, to int64) int64 { return v / to * to }

// tableOverhead is the space a partition table costs (maas_api.md §5.3).
func (m *machine) tableOverhead(d *blockDevice) int64 {
	extra := int64(0)
	arch, _, _ := strings.Cut(m.arch, "/")
	switch {
	case arch == "ppc64el":
		extra = 8 * mib
	case arch == "amd64" && m.bootMethod != "uefi" && d.ptable == "GPT":
		extra = mib
	}
	return 4*mib + extra + mib
}

func (d *blockDevice) usedByParts() int64 {
	var n int64
	for _, p := range d.parts {
		n += p.size
	}
	return n
}

func (m *machine) availableSize(d *blockDevice) int64 {
	switch {
	case d.fs != nil:
		return 0
	case d.ptable != "":
		return max(0, roundDown(d.size-m.tableOverhead(d)-d.usedByParts(), 4*mib))
	}
	return d.size
}

func (m *machine) partNumber(p *partition) int {
	for i, x := range p.dev.parts {
		if x == p {
			return i + 1
		}
	}
	return 0
}

func (m *machine) bdev(key string) *blockDevice {
	for _, d := range m.bdevs {
		if strconv.Itoa(d.id) == key || d.name == key {
			return d
		}
	}
	return nil
}

func (m *machine) partition(key string) (*blockDevice, *partition) {
	for _, d := range m.bdevs {
		for _, p := range d.parts {
			if strconv.Itoa(p.id) == key {
				return d, p
			}
		}
	}
	return nil, nil
}

func (m *machine) vg(key string) *volumeGroup {
	for _, v := range m.vgs {
		if strconv.Itoa(v.id) == key || v.name == key {
			return v
		}
	}
	return nil
}

// bootDiskOf is the boot disk: the one chosen with set_boot_disk, else the first physical.
func (m *machine) bootDiskOf() *blockDevice {
	if m.bootDisk != nil {
		return m.bootDisk
	}
	for _, d := range m.bdevs {
		if !d.virtual {
			return d
		}
	}
	return nil
}

// vgMembers lists the block devices and partitions formatted as physical volumes of a VG.
func (m *machine) vgMembers(vg *volumeGroup) (devs []*blockDevice, parts []*partition) {
	for _, d := range m.bdevs {
		if d.fs != nil && d.fs.vg == vg {
			devs = append(devs, d)
		}
		for _, p := range d.parts {
			if p.fs != nil && p.fs.vg == vg {
				parts = append(parts, p)
			}
		}
	}
	return
}

func (m *machine) lvs(vg *volumeGroup) []*blockDevice {
	var out []*blockDevice
	for _, d := range m.bdevs {
		if d.lvOf == vg {
			out = append(out, d)
		}
	}
	return out
}

// vgSize: each physical volume gives its size (in 4 MiB extents) less 4 MiB of metadata.
func (m *machine) vgSize(vg *volumeGroup) int64 {
	devs, parts := m.vgMembers(vg)
	var n int64
	for _, d := range devs {
		n += max(0, roundDown(d.size, 4*mib)-4*mib)
	}
	for _, p := range parts {
		n += max(0, roundDown(p.size, 4*mib)-4*mib)
	}
	return n
}

func (m *machine) vgUsed(vg *volumeGroup) int64 {
	var n int64
	for _, lv := range m.lvs(vg) {
		n += lv.size
	}
	return n
}

// discoverDisks restores the physical disks of the hardware (keeping known ids), without any
// partition, filesystem or volume group.
func (st *state) discoverDisks(m *machine) {
	old := map[string]*blockDevice{}
	for _, d := range m.bdevs {
		if !d.virtual {
			old[d.name] = d
		}
	}
	m.bdevs, m.vgs, m.specialFS, m.bootDisk = nil, nil, nil, nil
	for _, ds := range m.spec.Disks {
		d := old[ds.Name]
		if d == nil {
			d = &blockDevice{id: st.next("bdev")}
		}
		tag := "rotary"
		if ds.SSD {
			tag = "ssd"
		}
		*d = blockDevice{id: d.id, name: ds.Name, model: ds.Model, serial: ds.Serial, idPath: ds.IDPath, size: ds.Size,
			blockSize: 512, tags: []string{tag}, busInfo: ds.BusInfo}
		m.bdevs = append(m.bdevs, d)
	}
}

// clearStorage removes every partition, filesystem, volume group and logical volume.
func (st *state) clearStorage(m *machine) {
	var keep []*blockDevice
	for _, d := range m.bdevs {
		if d.virtual {
			continue
		}
		d.fs, d.ptable, d.parts = nil, "", nil
		keep = append(keep, d)
	}
	m.bdevs, m.vgs, m.specialFS = keep, nil, nil
	m.layout = ""
}

func (st *state) newPartition(m *machine, d *blockDevice, size int64, bootable bool, uuid string) *partition {
	if d.ptable == "" {
		d.ptable = "GPT"
	}
	if uuid == "" {
		uuid = uuidFrom("part", m.systemID, strconv.Itoa(st.seq["part"]+1))
	}
	p := &partition{id: st.next("part"), dev: d, uuid: uuid, size: size, bootable: bootable, tags: []string{}}
	d.parts = append(d.parts, p)
	return p
}

func (st *state) newFS(fstype, label, mountPoint, options string) *filesystem {
	return &filesystem{fstype: fstype, label: label, mountPoint: mountPoint, mountOptions: options,
		uuid: uuidFrom("fs", strconv.Itoa(st.next("fs")))}
}

type layoutParams struct {
	layout                     string
	root                       *blockDevice
	rootSize, bootSize, lvSize int64
	vgName, lvName             string
}

// applyLayout replaces the storage configuration with a layout (maas_api.md §5.1
// set_storage_layout): flat puts an EFI partition (UEFI machines) and an optional /boot on
// the boot disk and the root filesystem on the root device (the boot disk by default); lvm
// puts the root in a logical volume of a volume group on the rest of the root device; blank
// leaves the disks empty.
func (st *state) applyLayout(m *machine, p layoutParams) *apiError {
	switch p.layout {
	case "", "flat", "lvm", "bcache", "vmfs6", "vmfs7", "blank":
	case "custom":
		return badRequest("No custom storage layout configuration found.")
	default:
		return fieldError("storage_layout", "Select a valid choice. %s is not one of the available choices.", p.layout)
	}
	boot := m.bootDiskOf()
	root := p.root
	if root == nil {
		root = boot
	}
	if root == nil && p.layout != "blank" {
		return badRequest("Machine is missing a boot disk; no storage layout can be applied.")
	}
	st.clearStorage(m)
	m.layout = p.layout
	if p.layout == "blank" {
		return nil
	}
	if p.layout == "" {
		m.layout = "flat"
	}
	boot.ptable, root.ptable = "GPT", "GPT"
	if m.bootMethod == "uefi" {
		efi := st.newPartition(m, boot, 512*mib, true, "")
		efi.fs = st.newFS("fat32", "efi", "/boot/efi", "")
	}
	if p.bootSize > 0 {
		bs := roundDown(p.bootSize, 4*mib)
		if bs > m.availableSize(boot) {
			return fieldError("boot_size", "Size is too large. Maximum size is %d.", m.availableSize(boot))
		}
		b := st.newPartition(m, boot, bs, false, "")
		b.fs = st.newFS("ext4", "boot", "/boot", "")
	}
	avail := m.availableSize(root)
	size := avail
	if p.rootSize > 0 && p.layout != "lvm" {
		size = roundDown(p.rootSize, 4*mib)
		if size > avail {
			return fieldError("root_size", "Size is too large. Maximum size is %d.", avail)
		}
	}
	if size < 4*mib {
		return badRequest("Not enough space on the boot disk to apply the %s layout.", m.layout)
	}
	rp := st.newPartition(m, root, size, false, "")
	if p.layout != "lvm" {
		rp.fs = st.newFS("ext4", "root", "/", "")
		return nil
	}
	name := p.vgName
	if name == "" {
		name = "vgroot"
	}
	vg := &volumeGroup{id: st.next("vg"), name: name, uuid: uuidFrom("vg", m.systemID, name)}
	m.vgs = append(m.vgs, vg)
	rp.fs = st.newFS("lvm-pv", "", "", "")
	rp.fs.vg = vg
	lvSize := m.vgSize(vg)
	if p.lvSize > 0 {
		if ls := roundDown(p.lvSize, 4*mib); ls <= lvSize {
			lvSize = ls
		} else {
			return fieldError("lv_size", "Size is too large. Maximum size is %d.", lvSize)
		}
	}
	lvName := p.lvName
	if lvName == "" {
		lvName = "lvroot"
	}
	lv := st.newLV(m, vg, lvName, lvSize, "")
	lv.fs = st.newFS("ext4", "root", "/", "")
	return nil
}

func (st *state) newLV(m *machine, vg *volumeGroup, name string, size int64, uuid string) *blockDevice {
	if uuid == "" {
		uuid = uuidFrom("lv", m.systemID, vg.name, name)
	}
	lv := &blockDevice{id: st.next("bdev"), name: vg.name + "-" + name, virtual: true, size: size, blockSize: 4096,
		tags: []string{}, uuid: uuid, lvOf: vg}
	m.bdevs = append(m.bdevs, lv)
	return lv
}

// JSON (maas_api.md §6.3).

type fsJSON struct {
	FSType       string  `json:"fstype"`
	Label        *string `json:"label"`
	UUID         string  `json:"uuid"`
	MountPoint   *string `json:"mount_point"`
	MountOptions *string `json:"mount_options"`
}

func renderFS(f *filesystem) *fsJSON {
	if f == nil {
		return nil
	}
	return &fsJSON{FSType: f.fstype, Label: nstr(f.label), UUID: f.uuid, MountPoint: nstr(f.mountPoint),
		MountOptions: nstr(f.mountOptions)}
}

func usedFor(m *machine, f *filesystem) string {
	switch {
	case f.fstype == "lvm-pv" && f.vg != nil:
		return "LVM volume for " + f.vg.name
	case f.mountPoint != "":
		return fmt.Sprintf("%s formatted filesystem mounted at %s", f.fstype, f.mountPoint)
	}
	return fmt.Sprintf("Unmounted %s formatted filesystem", f.fstype)
}

type partJSON struct {
	SystemID    string   `json:"system_id"`
	DeviceID    int      `json:"device_id"`
	ID          int      `json:"id"`
	UUID        string   `json:"uuid"`
	Path        string   `json:"path"`
	Type        string   `json:"type"`
	Size        int64    `json:"size"`
	Bootable    bool     `json:"bootable"`
	Filesystem  *fsJSON  `json:"filesystem"`
	UsedFor     string   `json:"used_for"`
	Tags        []string `json:"tags"`
	ResourceURI string   `json:"resource_uri"`
}

func renderPartition(m *machine, p *partition) *partJSON {
	j := &partJSON{SystemID: m.systemID, DeviceID: p.dev.id, ID: p.id, UUID: p.uuid,
		Path: fmt.Sprintf("/dev/disk/by-dname/%s-part%d", p.dev.name, m.partNumber(p)), Type: "partition",
		Size: p.size, Bootable: p.bootable, Filesystem: renderFS(p.fs), UsedFor: "Unused",
		Tags:        append([]string{}, p.tags...),
		ResourceURI: fmt.Sprintf("%snodes/%s/blockdevices/%d/partition/%d", Prefix, m.systemID, p.dev.id, p.id)}
	if p.fs != nil {
		j.UsedFor = usedFor(m, p.fs)
	}
	return j
}

type bdevJSON struct {
	SystemID           string      `json:"system_id"`
	ID                 int         `json:"id"`
	Name               string      `json:"name"`
	UUID               *string     `json:"uuid"`
	Type               string      `json:"type"`
	Path               string      `json:"path"`
	Model              *string     `json:"model"`
	Serial             *string     `json:"serial"`
	IDPath             *string     `json:"id_path"`
	Size               int64       `json:"size"`
	BlockSize          int         `json:"block_size"`
	AvailableSize      int64       `json:"available_size"`
	UsedSize           int64       `json:"used_size"`
	UsedFor            string      `json:"used_for"`
	Tags               []string    `json:"tags"`
	Filesystem         *fsJSON     `json:"filesystem"`
	PartitionTableType *string     `json:"partition_table_type"`
	Partitions         []*partJSON `json:"partitions"`
	FirmwareVersion    *string     `json:"firmware_version"`
	StoragePool        *string     `json:"storage_pool"`
	NUMANode           *int        `json:"numa_node,omitempty"`
	ResourceURI        string      `json:"resource_uri"`
}

func renderBdev(m *machine, d *blockDevice) *bdevJSON {
	avail := m.availableSize(d)
	j := &bdevJSON{SystemID: m.systemID, ID: d.id, Name: d.name, UUID: nstr(d.uuid), Type: "physical",
		Path: "/dev/disk/by-dname/" + d.name, Model: nstr(d.model), Serial: nstr(d.serial), IDPath: nstr(d.idPath),
		Size: d.size, BlockSize: d.blockSize, AvailableSize: avail, UsedSize: d.size - avail, UsedFor: "Unused",
		Tags: append([]string{}, d.tags...), Filesystem: renderFS(d.fs), PartitionTableType: nstr(d.ptable),
		Partitions: []*partJSON{}, ResourceURI: fmt.Sprintf("%snodes/%s/blockdevices/%d/", Prefix, m.systemID, d.id)}
	if d.virtual {
		j.Type = "virtual"
	} else {
		zero := 0
		j.NUMANode = &zero
		j.FirmwareVersion = nstr("1.0")
	}
	for _, p := range d.parts {
		j.Partitions = append(j.Partitions, renderPartition(m, p))
	}
	switch {
	case d.fs != nil:
		j.UsedFor = usedFor(m, d.fs)
	case d.ptable != "":
		s := "s"
		if len(d.parts) == 1 {
			s = ""
		}
		j.UsedFor = fmt.Sprintf("%s partitioned with %d partition%s", d.ptable, len(d.parts), s)
	}
	return j
}

type vgJSON struct {
	SystemID           string      `json:"system_id"`
	ID                 int         `json:"id"`
	UUID               string      `json:"uuid"`
	Name               string      `json:"name"`
	Devices            []any       `json:"devices"`
	Size               int64       `json:"size"`
	HumanSize          string      `json:"human_size"`
	AvailableSize      int64       `json:"available_size"`
	HumanAvailableSize string      `json:"human_available_size"`
	UsedSize           int64       `json:"used_size"`
	HumanUsedSize      string      `json:"human_used_size"`
	LogicalVolumes     []*bdevJSON `json:"logical_volumes"`
	ResourceURI        string      `json:"resource_uri"`
}

func renderVG(m *machine, vg *volumeGroup) *vgJSON {
	size, used := m.vgSize(vg), m.vgUsed(vg)
	j := &vgJSON{SystemID: m.systemID, ID: vg.id, UUID: vg.uuid, Name: vg.name, Devices: []any{}, Size: size,
		HumanSize: humanBytes(size), AvailableSize: size - used, HumanAvailableSize: humanBytes(size - used),
		UsedSize: used, HumanUsedSize: humanBytes(used), LogicalVolumes: []*bdevJSON{},
		ResourceURI: fmt.Sprintf("%snodes/%s/volume-group/%d/", Prefix, m.systemID, vg.id)}
	devs, parts := m.vgMembers(vg)
	for _, d := range devs {
		j.Devices = append(j.Devices, renderBdev(m, d))
	}
	for _, p := range parts {
		j.Devices = append(j.Devices, renderPartition(m, p))
	}
	for _, lv := range m.lvs(vg) {
		j.LogicalVolumes = append(j.LogicalVolumes, renderBdev(m, lv))
	}
	return j
}

// humanBytes is MAAS's human_readable_bytes: decimal units, one decimal.
func humanBytes(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d bytes", n)
	}
	v := float64(n)
	for _, u := range []string{"KB", "MB", "GB", "TB", "PB"} {
		v /= 1000
		if v < 1000 {
			return fmt.Sprintf("%.1f %s", v, u)
		}
	}
	return fmt.Sprintf("%.1f EB", v/1000)
}
