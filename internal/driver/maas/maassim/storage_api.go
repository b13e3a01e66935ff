package maassim

import (
	"strconv"
	"strings"
)

// storageGate enforces the statuses storage edits are allowed in (maas_api.md §5.3, §5.4):
// Ready, or Ready and Allocated for filesystem operations.
func storageGate(m *machine, what string, allowAllocated bool) *apiError {
	if m.nodeType != nodeMachine {
		return forbidden("Cannot %s on a controller.", what)
	}
	if m.status == statusReady || allowAllocated && m.status == statusAllocated {
		return nil
	}
	if allowAllocated {
		return conflict("Cannot %s because the machine is not Ready or Allocated.", what)
	}
	return conflict("Cannot %s because the machine is not Ready.", what)
}

func listBlockDevices(c *req) (any, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, e
	}
	out := []*bdevJSON{}
	for _, d := range m.bdevs {
		out = append(out, renderBdev(m, d))
	}
	return out, nil
}

func (c *req) bdevArg() (*machine, *blockDevice, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, nil, e
	}
	d := m.bdev(c.seg[3])
	if d == nil {
		return nil, nil, notFound("BlockDevice")
	}
	return m, d, nil
}

func getBlockDevice(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	return renderBdev(m, d), nil
}

func createBlockDevice(c *req) (any, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "create block device", false); e != nil {
		return nil, e
	}
	fe := fieldErrors{}
	for _, k := range []string{"name", "size", "block_size"} {
		if c.get(k) == "" {
			fe.add(k, "This field is required.")
		}
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	if m.bdev(c.get("name")) != nil {
		return nil, fieldError("name", "Block device with this name already exists on the node.")
	}
	size, e := c.formSize("size", 0)
	if e != nil {
		return nil, e
	}
	bs, e := c.formInt("block_size", 512)
	if e != nil {
		return nil, e
	}
	if size < 4*mib {
		return nil, fieldError("size", "Ensure this value is greater than or equal to %d.", 4*mib)
	}
	d := &blockDevice{id: c.s.st.next("bdev"), name: c.get("name"), size: size, blockSize: bs, tags: []string{},
		model: c.get("model"), serial: c.get("serial"), idPath: c.get("id_path")}
	m.bdevs = append(m.bdevs, d)
	m.spec.Disks = append(m.spec.Disks, DiskSpec{Name: d.name, Model: d.model, Serial: d.serial, IDPath: d.idPath,
		Size: d.size})
	return renderBdev(m, d), nil
}

func updateBlockDevice(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if m.status == statusDeployed && d.virtual {
		return nil, conflict("Cannot update virtual block device because the machine is Deployed.")
	}
	if m.status != statusDeployed {
		if e := storageGate(m, "update block device", false); e != nil {
			return nil, e
		}
	}
	if c.has("name") && c.get("name") != "" {
		if o := m.bdev(c.get("name")); o != nil && o != d {
			return nil, fieldError("name", "Block device with this name already exists on the node.")
		}
		d.name = c.get("name")
	}
	if !d.virtual {
		for _, f := range []struct {
			k   string
			dst *string
		}{{"model", &d.model}, {"serial", &d.serial}, {"id_path", &d.idPath}} {
			if c.has(f.k) {
				*f.dst = c.get(f.k)
			}
		}
	} else if c.has("uuid") {
		d.uuid = c.get("uuid")
	}
	if m.status != statusDeployed && c.has("size") {
		size, e := c.formSize("size", d.size)
		if e != nil {
			return nil, e
		}
		d.size = size
	}
	return renderBdev(m, d), nil
}

func deleteBlockDevice(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "delete block device", false); e != nil {
		return nil, e
	}
	if d.fs != nil && d.fs.vg != nil {
		return nil, badRequest("Cannot delete block device because it is part of volume group %s.", d.fs.vg.name)
	}
	var keep []*blockDevice
	for _, x := range m.bdevs {
		if x != d {
			keep = append(keep, x)
		}
	}
	m.bdevs = keep
	if m.bootDisk == d {
		m.bootDisk = nil
	}
	return noContent{}, nil
}

// formatForm reads fstype (required), uuid and label.
func (c *req) formatForm(st *state) (*filesystem, *apiError) {
	fstype := c.get("fstype")
	if fstype == "" {
		return nil, fieldError("fstype", "This field is required.")
	}
	if !containsFold(fstypes, fstype) {
		return nil, fieldError("fstype", "Select a valid choice. %s is not one of the available choices.", fstype)
	}
	fs := st.newFS(strings.ToLower(fstype), c.get("label"), "", "")
	if u := c.get("uuid"); u != "" {
		if !uuidOK(u) {
			return nil, fieldError("uuid", "Enter a valid UUID.")
		}
		fs.uuid = u
	}
	return fs, nil
}

func uuidOK(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func formatBlockDevice(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "format block device", true); e != nil {
		return nil, e
	}
	if len(d.parts) > 0 {
		return nil, badRequest("Cannot format block device with partitions.")
	}
	if d.fs != nil && d.fs.vg != nil {
		return nil, badRequest("Cannot format a block device that is part of volume group %s.", d.fs.vg.name)
	}
	fs, e := c.formatForm(c.s.st)
	if e != nil {
		return nil, e
	}
	d.fs = fs
	return renderBdev(m, d), nil
}

func unformatBlockDevice(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "unformat block device", true); e != nil {
		return nil, e
	}
	if e := unformatCheck(d.fs, "block device"); e != nil {
		return nil, e
	}
	d.fs = nil
	return renderBdev(m, d), nil
}

func unformatCheck(fs *filesystem, what string) *apiError {
	switch {
	case fs == nil:
		return badRequest("%s%s is not formatted.", strings.ToUpper(what[:1]), what[1:])
	case fs.mountPoint != "":
		return badRequest("Filesystem is mounted and cannot be unformatted. Unmount the filesystem before unformatting the %s.", what)
	case fs.vg != nil:
		return badRequest("Filesystem is part of a volume group, and cannot be unformatted. Remove %s from volume group before unformatting the %s.", what, what)
	}
	return nil
}

// mountForm validates mount_point (an absolute path; "none" for swap) and mount_options.
func (c *req) mount(fs *filesystem, what string) *apiError {
	if fs == nil {
		return badRequest("%s%s is not formatted.", strings.ToUpper(what[:1]), what[1:])
	}
	switch fs.fstype {
	case "lvm-pv", "raid", "raid-spare", "bcache-cache", "bcache-backing":
		return badRequest("Cannot mount a %s filesystem.", fs.fstype)
	}
	mp := c.get("mount_point")
	if mp == "" {
		return fieldError("mount_point", "This field is required.")
	}
	if fs.fstype == "swap" {
		mp = "none"
	} else if !strings.HasPrefix(mp, "/") {
		return fieldError("mount_point", "Enter a valid absolute path.")
	}
	fs.mountPoint = mp
	fs.mountOptions = c.get("mount_options")
	return nil
}

func unmountCheck(fs *filesystem, what string) *apiError {
	if fs == nil {
		return badRequest("%s%s is not formatted.", strings.ToUpper(what[:1]), what[1:])
	}
	if fs.mountPoint == "" {
		return badRequest("Filesystem is already unmounted.")
	}
	return nil
}

func mountBlockDevice(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "mount block device", true); e != nil {
		return nil, e
	}
	if e := c.mount(d.fs, "block device"); e != nil {
		return nil, e
	}
	return renderBdev(m, d), nil
}

func unmountBlockDevice(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "unmount block device", true); e != nil {
		return nil, e
	}
	if e := unmountCheck(d.fs, "block device"); e != nil {
		return nil, e
	}
	d.fs.mountPoint, d.fs.mountOptions = "", ""
	return renderBdev(m, d), nil
}

func setBootDisk(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "set boot disk", false); e != nil {
		return nil, e
	}
	if d.virtual {
		return nil, badRequest("Cannot set a virtual block device as the boot disk.")
	}
	m.bootDisk = d
	return plainText{"OK"}, nil
}

func blockDeviceAddTag(c *req) (any, *apiError)    { return blockDeviceTag(c, true) }
func blockDeviceRemoveTag(c *req) (any, *apiError) { return blockDeviceTag(c, false) }

func blockDeviceTag(c *req, add bool) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "change block device tags", false); e != nil {
		return nil, e
	}
	t := c.get("tag")
	if t == "" {
		return nil, missingParam("tag")
	}
	d.tags = editTags(d.tags, t, add)
	return renderBdev(m, d), nil
}

func editTags(tags []string, t string, add bool) []string {
	out := []string{}
	for _, x := range tags {
		if x != t {
			out = append(out, x)
		}
	}
	if add {
		out = append(out, t)
	}
	return out
}

// Partitions.

func listPartitions(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	out := []*partJSON{}
	for _, p := range d.parts {
		out = append(out, renderPartition(m, p))
	}
	return out, nil
}

// createPartition adds a partition (size omitted → all the remaining space; rounded down to
// 4 MiB; at least 4 MiB), creating a GPT partition table if the device has none.
func createPartition(c *req) (any, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "create partition", false); e != nil {
		return nil, e
	}
	if d.fs != nil {
		return nil, badRequest("Cannot create a partition on a block device that has a filesystem.")
	}
	old := d.ptable
	if d.ptable == "" {
		d.ptable = "GPT"
	}
	avail := m.availableSize(d)
	size, e := c.formSize("size", avail)
	if e == nil && size < 4*mib {
		e = fieldError("size", "Ensure this value is greater than or equal to %d.", 4*mib)
	}
	if e == nil && roundDown(size, 4*mib) > avail {
		e = fieldError("size", "Partition cannot be saved; not enough free space on the block device.")
	}
	if e == nil && c.get("uuid") != "" && !uuidOK(c.get("uuid")) {
		e = fieldError("uuid", "Enter a valid UUID.")
	}
	if e != nil {
		d.ptable = old
		return nil, e
	}
	p := c.s.st.newPartition(m, d, roundDown(size, 4*mib), c.formBool("bootable", false), c.get("uuid"))
	return renderPartition(m, p), nil
}

func (c *req) partArg() (*machine, *partition, *apiError) {
	m, d, e := c.bdevArg()
	if e != nil {
		return nil, nil, e
	}
	for _, p := range d.parts {
		if strconv.Itoa(p.id) == c.seg[5] {
			return m, p, nil
		}
	}
	return nil, nil, notFound("Partition")
}

func getPartition(c *req) (any, *apiError) {
	m, p, e := c.partArg()
	if e != nil {
		return nil, e
	}
	return renderPartition(m, p), nil
}

func deletePartition(c *req) (any, *apiError) {
	m, p, e := c.partArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "delete partition", false); e != nil {
		return nil, e
	}
	if p.fs != nil && p.fs.vg != nil {
		return nil, badRequest("Cannot delete partition because it is part of volume group %s.", p.fs.vg.name)
	}
	d := p.dev
	for i, x := range d.parts {
		if x == p {
			d.parts = append(d.parts[:i], d.parts[i+1:]...)
			break
		}
	}
	return noContent{}, nil
}

func formatPartition(c *req) (any, *apiError) {
	m, p, e := c.partArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "format partition", true); e != nil {
		return nil, e
	}
	if p.fs != nil && p.fs.vg != nil {
		return nil, badRequest("Cannot format a partition that is part of volume group %s.", p.fs.vg.name)
	}
	fs, e := c.formatForm(c.s.st)
	if e != nil {
		return nil, e
	}
	p.fs = fs
	return renderPartition(m, p), nil
}

func unformatPartition(c *req) (any, *apiError) {
	m, p, e := c.partArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "unformat partition", true); e != nil {
		return nil, e
	}
	if e := unformatCheck(p.fs, "partition"); e != nil {
		return nil, e
	}
	p.fs = nil
	return renderPartition(m, p), nil
}

func mountPartition(c *req) (any, *apiError) {
	m, p, e := c.partArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "mount partition", true); e != nil {
		return nil, e
	}
	if e := c.mount(p.fs, "partition"); e != nil {
		return nil, e
	}
	return renderPartition(m, p), nil
}

func unmountPartition(c *req) (any, *apiError) {
	m, p, e := c.partArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "unmount partition", true); e != nil {
		return nil, e
	}
	if e := unmountCheck(p.fs, "partition"); e != nil {
		return nil, e
	}
	p.fs.mountPoint, p.fs.mountOptions = "", ""
	return renderPartition(m, p), nil
}

func partitionAddTag(c *req) (any, *apiError)    { return partitionTag(c, true) }
func partitionRemoveTag(c *req) (any, *apiError) { return partitionTag(c, false) }

func partitionTag(c *req, add bool) (any, *apiError) {
	m, p, e := c.partArg()
	if e != nil {
		return nil, e
	}
	t := c.get("tag")
	if t == "" {
		return nil, missingParam("tag")
	}
	p.tags = editTags(p.tags, t, add)
	return renderPartition(m, p), nil
}
