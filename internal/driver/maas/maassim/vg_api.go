package maassim

import (
	"strconv"
)

// Volume groups and logical volumes (maas_api.md §5.4).

func listVolumeGroups(c *req) (any, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, e
	}
	out := []*vgJSON{}
	for _, vg := range m.vgs {
		out = append(out, renderVG(m, vg))
	}
	return out, nil
}

func (c *req) vgArg() (*machine, *volumeGroup, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, nil, e
	}
	vg := m.vg(c.seg[3])
	if vg == nil {
		return nil, nil, notFound("VolumeGroup")
	}
	return m, vg, nil
}

// vgMembersArg resolves repeated block-device and partition ids to free members: devices
// with neither partitions nor filesystem, partitions without filesystem. One value is one
// id (a comma-joined list is not an id).
func (c *req) vgMembersArg(m *machine, devKey, partKey string, vg *volumeGroup) ([]*blockDevice, []*partition, *apiError) {
	var devs []*blockDevice
	var parts []*partition
	for _, v := range c.list(devKey) {
		d := m.bdev(v)
		if _, err := strconv.Atoi(v); err != nil || d == nil || d.virtual && d.lvOf == vg || len(d.parts) > 0 || d.fs != nil {
			return nil, nil, fieldError(devKey, "Select a valid choice. %s is not one of the available choices.", v)
		}
		devs = append(devs, d)
	}
	for _, v := range c.list(partKey) {
		_, p := m.partition(v)
		if p == nil || p.fs != nil {
			return nil, nil, fieldError(partKey, "Select a valid choice. %s is not one of the available choices.", v)
		}
		parts = append(parts, p)
	}
	return devs, parts, nil
}

func createVolumeGroup(c *req) (any, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "create volume group", false); e != nil {
		return nil, e
	}
	name := c.get("name")
	if name == "" {
		return nil, fieldError("name", "This field is required.")
	}
	if m.vg(name) != nil {
		return nil, fieldError("name", "Volume group with this name already exists.")
	}
	if u := c.get("uuid"); u != "" && !uuidOK(u) {
		return nil, fieldError("uuid", "Enter a valid UUID.")
	}
	devs, parts, e := c.vgMembersArg(m, "block_devices", "partitions", nil)
	if e != nil {
		return nil, e
	}
	if len(devs)+len(parts) == 0 {
		return nil, fieldError("__all__", "At least one valid block device or partition is required.")
	}
	st := c.s.st
	vg := &volumeGroup{id: st.next("vg"), name: name, uuid: c.get("uuid")}
	if vg.uuid == "" {
		vg.uuid = uuidFrom("vg", m.systemID, strconv.Itoa(vg.id))
	}
	addPVs(st, vg, devs, parts)
	m.vgs = append(m.vgs, vg)
	return renderVG(m, vg), nil
}

func addPVs(st *state, vg *volumeGroup, devs []*blockDevice, parts []*partition) {
	for _, d := range devs {
		d.fs = st.newFS("lvm-pv", "", "", "")
		d.fs.vg = vg
	}
	for _, p := range parts {
		p.fs = st.newFS("lvm-pv", "", "", "")
		p.fs.vg = vg
	}
}

func getVolumeGroup(c *req) (any, *apiError) {
	m, vg, e := c.vgArg()
	if e != nil {
		return nil, e
	}
	return renderVG(m, vg), nil
}

func updateVolumeGroup(c *req) (any, *apiError) {
	m, vg, e := c.vgArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "update volume group", false); e != nil {
		return nil, e
	}
	if c.has("name") && c.get("name") != "" {
		if o := m.vg(c.get("name")); o != nil && o != vg {
			return nil, fieldError("name", "Volume group with this name already exists.")
		}
		vg.name = c.get("name")
		for _, lv := range m.lvs(vg) {
			_, rest, _ := cutLVName(lv.name)
			lv.name = vg.name + "-" + rest
		}
	}
	if c.has("uuid") && c.get("uuid") != "" {
		vg.uuid = c.get("uuid")
	}
	devs, parts, e := c.vgMembersArg(m, "add_block_devices", "add_partitions", vg)
	if e != nil {
		return nil, e
	}
	var rmDevs []*blockDevice
	var rmParts []*partition
	for _, v := range c.list("remove_block_devices") {
		d := m.bdev(v)
		if d == nil || d.fs == nil || d.fs.vg != vg {
			return nil, fieldError("remove_block_devices", "Select a valid choice. %s is not one of the available choices.", v)
		}
		rmDevs = append(rmDevs, d)
	}
	for _, v := range c.list("remove_partitions") {
		_, p := m.partition(v)
		if p == nil || p.fs == nil || p.fs.vg != vg {
			return nil, fieldError("remove_partitions", "Select a valid choice. %s is not one of the available choices.", v)
		}
		rmParts = append(rmParts, p)
	}
	addPVs(c.s.st, vg, devs, parts)
	for _, d := range rmDevs {
		d.fs = nil
	}
	for _, p := range rmParts {
		p.fs = nil
	}
	if m.vgUsed(vg) > m.vgSize(vg) {
		addPVs(c.s.st, vg, rmDevs, rmParts)
		return nil, fieldError("__all__", "Volume group cannot be smaller than its logical volumes.")
	}
	return renderVG(m, vg), nil
}

func cutLVName(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

func deleteVolumeGroup(c *req) (any, *apiError) {
	m, vg, e := c.vgArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "delete volume group", false); e != nil {
		return nil, e
	}
	c.s.st.removeVG(m, vg)
	return noContent{}, nil
}

func (st *state) removeVG(m *machine, vg *volumeGroup) {
	var keep []*blockDevice
	for _, d := range m.bdevs {
		if d.lvOf == vg {
			continue
		}
		if d.fs != nil && d.fs.vg == vg {
			d.fs = nil
		}
		for _, p := range d.parts {
			if p.fs != nil && p.fs.vg == vg {
				p.fs = nil
			}
		}
		keep = append(keep, d)
	}
	m.bdevs = keep
	var vgs []*volumeGroup
	for _, x := range m.vgs {
		if x != vg {
			vgs = append(vgs, x)
		}
	}
	m.vgs = vgs
}

// createLogicalVolume: name stored as <vg>-<name>; size omitted → all the free space.
func createLogicalVolume(c *req) (any, *apiError) {
	m, vg, e := c.vgArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "create logical volume", false); e != nil {
		return nil, e
	}
	name := c.get("name")
	if name == "" {
		return nil, fieldError("name", "This field is required.")
	}
	for _, lv := range m.lvs(vg) {
		if lv.name == vg.name+"-"+name {
			return nil, fieldError("name", "A logical volume with this name already exists in the volume group.")
		}
	}
	free := m.vgSize(vg) - m.vgUsed(vg)
	size, e := c.formSize("size", free)
	if e != nil {
		return nil, e
	}
	size = roundDown(size, 4*mib)
	if size < 4*mib {
		if free < 4*mib {
			return nil, fieldError("size", "Volume group (%s) cannot hold any more logical volumes, because it doesn't have enough free space.", vg.name)
		}
		return nil, fieldError("size", "Ensure this value is greater than or equal to %d.", 4*mib)
	}
	if size > free {
		return nil, fieldError("size", "Size is too large. Maximum size is %d.", free)
	}
	if u := c.get("uuid"); u != "" && !uuidOK(u) {
		return nil, fieldError("uuid", "Enter a valid UUID.")
	}
	lv := c.s.st.newLV(m, vg, name, size, c.get("uuid"))
	return renderBdev(m, lv), nil
}

func deleteLogicalVolume(c *req) (any, *apiError) {
	m, vg, e := c.vgArg()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "delete logical volume", false); e != nil {
		return nil, e
	}
	id := c.get("id")
	if id == "" {
		return nil, missingParam("id")
	}
	for i, d := range m.bdevs {
		if d.lvOf == vg && strconv.Itoa(d.id) == id {
			m.bdevs = append(m.bdevs[:i], m.bdevs[i+1:]...)
			return noContent{}, nil
		}
	}
	return nil, notFound("VirtualBlockDevice")
}

// set_storage_layout and the restore operations (maas_api.md §4.3, §5.1).

func setStorageLayout(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if m.status != statusReady {
		return nil, conflict("Cannot change the storage layout on a machine that is not Ready.")
	}
	p := layoutParams{layout: c.get("storage_layout"), vgName: c.get("vg_name"), lvName: c.get("lv_name")}
	if p.layout == "" {
		return nil, fieldError("storage_layout", "This field is required.")
	}
	if v := c.get("root_device"); v != "" {
		d := m.bdev(v)
		if _, err := strconv.Atoi(v); err != nil || d == nil || d.virtual {
			return nil, fieldError("root_device", "Select a valid choice. %s is not one of the available choices.", v)
		}
		p.root = d
	}
	for _, f := range []struct {
		k   string
		dst *int64
	}{{"root_size", &p.rootSize}, {"boot_size", &p.bootSize}, {"lv_size", &p.lvSize}} {
		v, e := c.formSize(f.k, 0)
		if e != nil {
			return nil, e
		}
		*f.dst = v
	}
	if e := c.s.st.applyLayout(m, p); e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func restoreGate(m *machine, what string) *apiError {
	if m.status != statusReady && m.status != statusFailedTesting {
		return conflict("Machine must be in a ready or failed testing state to restore %s configuration.", what)
	}
	return nil
}

func restoreNetworking(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if e := restoreGate(m, "networking"); e != nil {
		return nil, e
	}
	m.gw4, m.gw6 = 0, 0
	c.s.st.resetNetwork(m)
	return c.renderMachine(m), nil
}

func (st *state) restoreStorage(m *machine) {
	st.discoverDisks(m)
	layout, _ := st.config["default_storage_layout"].(string)
	_ = st.applyLayout(m, layoutParams{layout: layout})
}

func restoreStorage(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if e := restoreGate(m, "storage"); e != nil {
		return nil, e
	}
	c.s.st.restoreStorage(m)
	return c.renderMachine(m), nil
}

func restoreDefault(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if e := restoreGate(m, "default"); e != nil {
		return nil, e
	}
	m.gw4, m.gw6 = 0, 0
	c.s.st.resetNetwork(m)
	c.s.st.restoreStorage(m)
	return c.renderMachine(m), nil
}
