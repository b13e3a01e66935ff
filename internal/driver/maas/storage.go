package maas

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

const (
	mib = 1 << 20
	// partAlign is MAAS's partition alignment: sizes are rounded down to it.
	partAlign = 4 * mib
	// partOverhead is kept free on a partitioned device: the partition table (4 MiB at the
	// start, 1 MiB at the end), a bios_grub partition, and a margin.
	partOverhead = 8 * mib
	// sizeSlack is how far a size MAAS reports may be from the one asked for (alignment).
	sizeSlack = 8 * mib
)

// storagePlan is the node's storage layout resolved to MAAS block devices.
type storagePlan struct {
	devs []planDev
	vgs  []planVG
	boot string // kernel name of the boot disk ("" when the design has no / nor /boot)
}

type planDev struct {
	alias string
	name  string // kernel name
	vg    string // whole-disk physical volume of this VG
	parts []design.NodePartition
	sizes []design.Size
}

type planVG struct {
	v     design.NodeVolumeGroup
	sizes []design.Size
	// members: whole devices (kernel names) and partitions (device, index)
	devs  []string
	parts [][2]any
}

func (o *nodeOp) storagePlan() (*storagePlan, error) {
	n := o.node
	p := &storagePlan{}
	var problems []string
	vgIndex := map[string]int{}
	for i, vg := range n.VolumeGroups {
		pv := planVG{v: vg}
		for _, lv := range vg.LogicalVolumes {
			s, err := parseSize(lv.Size, "logical volume "+lv.Name+" of "+vg.Name)
			if err != nil {
				problems = append(problems, err.Error())
			}
			pv.sizes = append(pv.sizes, s)
		}
		vgIndex[vg.Name] = i
		p.vgs = append(p.vgs, pv)
	}
	var rootDev, bootDev string
	for _, dv := range n.Devices {
		pd := planDev{alias: dv.Name, name: o.c.DeviceName(dv.Name), vg: dv.VolumeGroup, parts: dv.Partitions}
		if dv.VolumeGroup != "" {
			i, ok := vgIndex[dv.VolumeGroup]
			if !ok {
				problems = append(problems, fmt.Sprintf("device %s: volume group %s is not defined", dv.Name, dv.VolumeGroup))
			} else {
				p.vgs[i].devs = append(p.vgs[i].devs, pd.name)
			}
			if len(dv.Partitions) > 0 {
				problems = append(problems, fmt.Sprintf("device %s is a physical volume of %s and has partitions", dv.Name, dv.VolumeGroup))
			}
		}
		for k, part := range dv.Partitions {
			s, err := parseSize(part.Size, "partition "+part.Name+" of "+dv.Name)
			if err != nil {
				problems = append(problems, err.Error())
			}
			pd.sizes = append(pd.sizes, s)
			if part.VolumeGroup != "" {
				i, ok := vgIndex[part.VolumeGroup]
				if !ok {
					problems = append(problems, fmt.Sprintf("partition %s of %s: volume group %s is not defined", part.Name, dv.Name, part.VolumeGroup))
				} else {
					p.vgs[i].parts = append(p.vgs[i].parts, [2]any{pd.name, k})
				}
			}
			if fs := part.Filesystem; fs != nil {
				switch fs.Mountpoint {
				case "/":
					rootDev = pd.name
				case "/boot":
					bootDev = pd.name
				}
			}
		}
		p.devs = append(p.devs, pd)
	}
	for _, pv := range p.vgs {
		if len(pv.devs)+len(pv.parts) == 0 {
			problems = append(problems, fmt.Sprintf("volume group %s has no physical volume", pv.v.Name))
		}
		for _, lv := range pv.v.LogicalVolumes {
			if lv.Filesystem != nil && lv.Filesystem.Mountpoint == "/" && rootDev == "" {
				// Root on LVM: boot from the device of the volume group's first physical volume.
				if len(pv.parts) > 0 {
					rootDev = pv.parts[0][0].(string)
				} else if len(pv.devs) > 0 {
					rootDev = pv.devs[0]
				}
			}
		}
	}
	// The boot disk carries /boot, else / (or the first physical volume of the root's VG).
	p.boot = rootDev
	if bootDev != "" {
		p.boot = bootDev
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return p, nil
}

func parseSize(s, what string) (design.Size, error) {
	if s == "" {
		return design.Size{Min: true, Text: ">0m"}, nil // no size: all that is left
	}
	sz, err := design.ParseSize(s)
	if err != nil {
		return sz, fmt.Errorf("%s: %v", what, err)
	}
	return sz, nil
}

// planSizes computes the sizes of the items of a container of total bytes (overhead kept
// free), aligned down to align. At most one item may be a ">" size: it takes the rest; 0 is
// returned for it when it is the last item (MAAS then gives it all that is left).
func planSizes(sizes []design.Size, total, overhead, align uint64, what string) ([]uint64, error) {
	out := make([]uint64, len(sizes))
	room := uint64(0)
	if total > overhead {
		room = total - overhead
	}
	var fixed uint64
	minIdx, lastPct := -1, -1
	for i, s := range sizes {
		switch {
		case s.Min:
			if minIdx >= 0 {
				return nil, fmt.Errorf("%s: only one size may take the rest (%s and %s)", what, sizes[minIdx].Text, s.Text)
			}
			minIdx = i
		case s.Percent:
			out[i] = s.Value * total / 100 / align * align
			lastPct = i
		default:
			out[i] = s.Bytes / align * align
		}
		fixed += out[i]
	}
	if fixed > room {
		// Percentages are of the whole container; the table overhead is taken from the last.
		if excess := fixed - room; lastPct >= 0 && excess <= overhead+align && out[lastPct] > excess {
			out[lastPct] -= (excess + align - 1) / align * align
			fixed -= excess
		} else {
			return nil, fmt.Errorf("%s: the sizes need %d MiB but only %d MiB are available", what, fixed/mib, room/mib)
		}
	}
	if minIdx >= 0 {
		rest := (room - fixed) / align * align
		if rest < sizes[minIdx].Bytes {
			return nil, fmt.Errorf("%s: %s needs at least %d MiB but only %d MiB are left", what, sizes[minIdx].Text, sizes[minIdx].Bytes/mib, rest/mib)
		}
		if minIdx != len(sizes)-1 {
			out[minIdx] = rest
		}
	}
	return out, nil
}

// sizeMatches compares a size MAAS reports with the planned one (0: "the rest", at least min).
func sizeMatches(cur uint64, planned uint64, s design.Size) bool {
	if planned == 0 {
		return cur+sizeSlack >= s.Bytes
	}
	d := int64(cur) - int64(planned)
	return d > -sizeSlack && d < sizeSlack
}

func fsMatches(cur *filesystem, want *design.NodeFilesystem) bool {
	if want == nil {
		return cur == nil || cur.FSType == ""
	}
	if cur == nil || cur.FSType != want.FSType {
		return false
	}
	mp := want.Mountpoint
	if mp == "none" {
		mp = ""
	}
	if cur.MountPoint != mp {
		return false
	}
	if mp != "" && normOpts(cur.MountOptions) != normOpts(want.MountOptions) {
		return false
	}
	if want.FSLabel != "" && cur.Label != want.FSLabel {
		return false
	}
	if want.FSUUID != "" && !strings.EqualFold(cur.UUID, want.FSUUID) {
		return false
	}
	return true
}

func normOpts(s string) string {
	if s == "" {
		return "defaults"
	}
	return s
}

// storageState is the machine's storage as MAAS has it.
type storageState struct {
	devs []blockDevice
	vgs  []volumeGroup
}

func (s *storageState) dev(name string) *blockDevice {
	for i := range s.devs {
		if s.devs[i].Name == name && s.devs[i].Type != "virtual" {
			return &s.devs[i]
		}
	}
	return nil
}

func (s *storageState) byID(id int) *blockDevice {
	for i := range s.devs {
		if s.devs[i].ID == id {
			return &s.devs[i]
		}
	}
	return nil
}

func (s *storageState) physicalNames() string {
	var ns []string
	for _, d := range s.devs {
		if d.Type == "physical" {
			ns = append(ns, d.Name)
		}
	}
	return strings.Join(ns, ", ")
}

func sortedParts(bd *blockDevice) []partition {
	ps := append([]partition(nil), bd.Partitions...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	return ps
}

// differences lists how the machine's storage differs from the plan (nil: it matches).
func (p *storagePlan) differences(st *storageState, bootID int) []string {
	var diff []string
	inPlan := map[string]bool{}
	partIDs := map[[2]any]int{}
	for _, pd := range p.devs {
		inPlan[pd.name] = true
		bd := st.dev(pd.name)
		if bd == nil {
			continue // reported by the caller
		}
		ps := sortedParts(bd)
		if len(ps) != len(pd.parts) {
			diff = append(diff, fmt.Sprintf("%s has %d partitions, the design %d", pd.name, len(ps), len(pd.parts)))
			continue
		}
		if pd.vg == "" && len(pd.parts) == 0 && bd.Filesystem != nil && bd.Filesystem.FSType != "" {
			diff = append(diff, fmt.Sprintf("%s carries a %s filesystem", pd.name, bd.Filesystem.FSType))
		}
		sizes, err := planSizes(pd.sizes, uint64(bd.Size), partOverhead, partAlign, pd.name)
		if err != nil {
			diff = append(diff, err.Error())
			continue
		}
		for k, want := range pd.parts {
			cur := ps[k]
			partIDs[[2]any{pd.name, k}] = cur.ID
			switch {
			case !sizeMatches(uint64(cur.Size), sizes[k], pd.sizes[k]):
				diff = append(diff, fmt.Sprintf("%s partition %d (%s) is %d MiB", pd.name, k+1, want.Name, uint64(cur.Size)/mib))
			case cur.Bootable != want.Bootable:
				diff = append(diff, fmt.Sprintf("%s partition %d (%s) bootable is %v", pd.name, k+1, want.Name, cur.Bootable))
			case want.PartUUID != "" && !strings.EqualFold(cur.UUID, want.PartUUID):
				diff = append(diff, fmt.Sprintf("%s partition %d (%s) has another UUID", pd.name, k+1, want.Name))
			case want.VolumeGroup == "" && !fsMatches(cur.Filesystem, want.Filesystem):
				diff = append(diff, fmt.Sprintf("%s partition %d (%s) filesystem differs", pd.name, k+1, want.Name))
			}
		}
	}
	for _, bd := range st.devs {
		if bd.Type == "physical" && !inPlan[bd.Name] && (len(bd.Partitions) > 0 || bd.Filesystem != nil && bd.Filesystem.FSType != "") {
			diff = append(diff, fmt.Sprintf("%s (not in the design) is in use", bd.Name))
		}
	}
	vgByName := map[string]*volumeGroup{}
	for i := range st.vgs {
		vgByName[st.vgs[i].Name] = &st.vgs[i]
	}
	for _, pv := range p.vgs {
		cur := vgByName[pv.v.Name]
		delete(vgByName, pv.v.Name)
		if cur == nil {
			diff = append(diff, "volume group "+pv.v.Name+" is missing")
			continue
		}
		if pv.v.VGUUID != "" && !strings.EqualFold(cur.UUID, pv.v.VGUUID) {
			diff = append(diff, "volume group "+pv.v.Name+" has another UUID")
		}
		var want []string
		for _, n := range pv.devs {
			if bd := st.dev(n); bd != nil {
				want = append(want, fmt.Sprintf("d%d", bd.ID))
			}
		}
		for _, pk := range pv.parts {
			want = append(want, fmt.Sprintf("p%d", partIDs[pk]))
		}
		var have []string
		for _, m := range cur.Devices {
			if m.Type == "partition" {
				have = append(have, fmt.Sprintf("p%d", m.ID))
			} else {
				have = append(have, fmt.Sprintf("d%d", m.ID))
			}
		}
		if !sameSet(want, have) {
			diff = append(diff, "volume group "+pv.v.Name+" has other physical volumes")
			continue
		}
		if len(cur.LogicalVolumes) != len(pv.v.LogicalVolumes) {
			diff = append(diff, fmt.Sprintf("volume group %s has %d logical volumes, the design %d", pv.v.Name, len(cur.LogicalVolumes), len(pv.v.LogicalVolumes)))
			continue
		}
		sizes, err := planSizes(pv.sizes, uint64(cur.Size), 0, partAlign, "volume group "+pv.v.Name)
		if err != nil {
			diff = append(diff, err.Error())
			continue
		}
		for k, lv := range pv.v.LogicalVolumes {
			var got *blockDevice
			for i := range cur.LogicalVolumes {
				n := cur.LogicalVolumes[i].Name
				if n == lv.Name || n == pv.v.Name+"-"+lv.Name {
					got = &cur.LogicalVolumes[i]
					if full := st.byID(got.ID); full != nil {
						got = full
					}
				}
			}
			switch {
			case got == nil:
				diff = append(diff, fmt.Sprintf("logical volume %s of %s is missing", lv.Name, pv.v.Name))
			case !sizeMatches(uint64(got.Size), sizes[k], pv.sizes[k]):
				diff = append(diff, fmt.Sprintf("logical volume %s of %s is %d MiB", lv.Name, pv.v.Name, uint64(got.Size)/mib))
			case lv.LVUUID != "" && !strings.EqualFold(got.UUID, lv.LVUUID):
				diff = append(diff, fmt.Sprintf("logical volume %s of %s has another UUID", lv.Name, pv.v.Name))
			case !fsMatches(got.Filesystem, lv.Filesystem):
				diff = append(diff, fmt.Sprintf("logical volume %s of %s: filesystem differs", lv.Name, pv.v.Name))
			}
		}
	}
	for _, name := range sortedKeys(vgByName) {
		diff = append(diff, "volume group "+name+" is not in the design")
	}
	if p.boot != "" {
		if bd := st.dev(p.boot); bd != nil && bootID != 0 && bd.ID != bootID {
			diff = append(diff, "the boot disk is not "+p.boot)
		}
	}
	return diff
}

func (o *nodeOp) readStorage(ctx context.Context) (*storageState, error) {
	devs, err := o.d.c.blockDevices(ctx, o.sid())
	if err != nil {
		return nil, err
	}
	vgs, err := o.d.c.volumeGroups(ctx, o.sid())
	if err != nil {
		return nil, err
	}
	return &storageState{devs: devs, vgs: vgs}, nil
}

// ApplyStorage makes the machine's storage layout the design's: partitions (sizes, bootable
// flags, partition UUIDs), filesystems (type, label, UUID, mount point and options), volume
// groups on whole disks and partitions, logical volumes, and the boot disk. When the layout
// already matches nothing is written; otherwise the machine's layout is cleared and rebuilt
// (a Ready machine holds no data).
func (d *Driver) ApplyStorage(ctx context.Context, c driver.Call) driver.Result {
	o, r := d.begin(ctx, c, "storage")
	if r != nil {
		return *r
	}
	switch st := o.m.StatusName; st {
	case stDeployed, stDeploying:
		return o.skip("machine is %s; storage not changed", st)
	case stFailedDeployment, stFailedReleasing:
		return o.releaseForRework(ctx, "releasing the "+st+" machine before configuring it again")
	case stReleasing, stDiskErasing:
		return o.wait("%s", st)
	case stReady, stAllocated:
	default:
		return o.fail("cannot configure the storage of a machine that is %s (commission it first)", st)
	}
	plan, err := o.storagePlan()
	if err != nil {
		return o.fail("storage layout: %v", err)
	}
	st, err := o.readStorage(ctx)
	if err != nil {
		return o.err("reading block devices and volume groups", err)
	}
	var missing []string
	for _, pd := range plan.devs {
		if st.dev(pd.name) == nil {
			n := pd.name
			if pd.alias != pd.name {
				n += " (" + pd.alias + ")"
			}
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return o.fail("no block device %s on the machine (it has %s)", strings.Join(missing, ", "), st.physicalNames())
	}
	bootID := 0
	if o.m.BootDisk != nil {
		bootID = o.m.BootDisk.ID
	}
	diff := plan.differences(st, bootID)
	if len(diff) == 0 {
		return o.skip("storage already as designed (%d devices, %d volume groups)", len(plan.devs), len(plan.vgs))
	}
	if o.m.StatusName == stAllocated {
		return o.releaseForRework(ctx, "the storage layout differs ("+diff[0]+"); releasing the Allocated machine to change it")
	}
	b := &storageBuild{o: o, st: st}
	if res := b.reset(ctx); res != nil {
		return *res
	}
	if res := b.build(ctx, plan); res != nil {
		return *res
	}
	return o.ok("storage layout applied (%s): %s", strings.Join(diff, "; "), strings.Join(b.changes, "; "))
}

// storageBuild clears and builds the layout.
type storageBuild struct {
	o       *nodeOp
	st      *storageState
	changes []string
}

func (b *storageBuild) err(doing string, err error) *driver.Result {
	r := b.o.err(doing, err)
	r.Message += " (the layout is incomplete; the next run rebuilds it)"
	return &r
}

func (b *storageBuild) post(ctx context.Context, path, op string, f url.Values, out any, doing string) *driver.Result {
	if f == nil {
		f = url.Values{}
	}
	if err := b.o.d.c.post(ctx, path, op, f, out); err != nil {
		return b.err(doing, err)
	}
	return nil
}

// reset removes volume groups, partitions and whole-disk filesystems.
func (b *storageBuild) reset(ctx context.Context) *driver.Result {
	c := b.o.d.c
	sid := b.o.sid()
	for _, vg := range b.st.vgs {
		for _, lv := range vg.LogicalVolumes {
			if res := b.post(ctx, vgPath(sid, vg.ID), "delete_logical_volume", form("id", itoa(lv.ID)), nil,
				fmt.Sprintf("deleting logical volume %s of %s", lv.Name, vg.Name)); res != nil {
				return res
			}
		}
		if err := c.del(ctx, vgPath(sid, vg.ID)); err != nil {
			return b.err("deleting volume group "+vg.Name, err)
		}
		b.changes = append(b.changes, "removed volume group "+vg.Name)
	}
	for _, bd := range b.st.devs {
		if bd.Type != "physical" {
			continue
		}
		ps := sortedParts(&bd)
		for k := len(ps) - 1; k >= 0; k-- {
			if err := c.del(ctx, partPath(sid, bd.ID, ps[k].ID)); err != nil && !isNotFound(err) {
				return b.err(fmt.Sprintf("deleting partition %d of %s", ps[k].ID, bd.Name), err)
			}
		}
		if len(ps) > 0 {
			b.changes = append(b.changes, fmt.Sprintf("cleared %s", bd.Name))
		}
		if fs := bd.Filesystem; fs != nil && fs.FSType != "" && fs.FSType != "lvm-pv" {
			if fs.MountPoint != "" {
				if res := b.post(ctx, blockPath(sid, bd.ID), "unmount", nil, nil, "unmounting "+bd.Name); res != nil {
					return res
				}
			}
			if res := b.post(ctx, blockPath(sid, bd.ID), "unformat", nil, nil, "unformatting "+bd.Name); res != nil {
				return res
			}
			b.changes = append(b.changes, "unformatted "+bd.Name)
		}
	}
	devs, err := c.blockDevices(ctx, sid)
	if err != nil {
		return b.err("reading block devices", err)
	}
	b.st.devs, b.st.vgs = devs, nil
	return nil
}

// formatMount puts a filesystem on a partition or block device (path) and mounts it.
func (b *storageBuild) formatMount(ctx context.Context, path, what string, fs *design.NodeFilesystem) *driver.Result {
	if fs == nil {
		return nil
	}
	f := form("fstype", fs.FSType)
	if fs.FSUUID != "" {
		f.Set("uuid", fs.FSUUID)
	}
	if fs.FSLabel != "" {
		f.Set("label", fs.FSLabel)
	}
	if res := b.post(ctx, path, "format", f, nil, fmt.Sprintf("formatting %s as %s", what, fs.FSType)); res != nil {
		return res
	}
	if fs.Mountpoint == "" || fs.Mountpoint == "none" {
		return nil
	}
	return b.post(ctx, path, "mount", form("mount_point", fs.Mountpoint, "mount_options", fs.MountOptions), nil,
		fmt.Sprintf("mounting %s at %s", what, fs.Mountpoint))
}

func (b *storageBuild) build(ctx context.Context, p *storagePlan) *driver.Result {
	o := b.o
	sid := o.sid()
	if p.boot != "" {
		bd := b.st.dev(p.boot)
		if o.m.BootDisk == nil || o.m.BootDisk.ID != bd.ID {
			if res := b.post(ctx, blockPath(sid, bd.ID), "set_boot_disk", nil, nil, "making "+p.boot+" the boot disk"); res != nil {
				return res
			}
			b.changes = append(b.changes, "boot disk "+p.boot)
		}
	}
	partIDs := map[[2]any]int{}
	for _, pd := range p.devs {
		bd := b.st.dev(pd.name)
		sizes, err := planSizes(pd.sizes, uint64(bd.Size), partOverhead, partAlign, pd.name)
		if err != nil {
			r := o.fail("storage layout: %v", err)
			return &r
		}
		for k, part := range pd.parts {
			f := form("bootable", btoa(part.Bootable))
			if sizes[k] > 0 {
				f.Set("size", fmt.Sprint(sizes[k]))
			}
			if part.PartUUID != "" {
				f.Set("uuid", part.PartUUID)
			}
			var np partition
			if res := b.post(ctx, fmt.Sprintf("%sblockdevices/%d/partitions/", nodePath(sid), bd.ID), "", f, &np,
				fmt.Sprintf("creating partition %s on %s", part.Name, pd.name)); res != nil {
				return res
			}
			partIDs[[2]any{pd.name, k}] = np.ID
			what := fmt.Sprintf("partition %s (%s-part%d)", part.Name, pd.name, k+1)
			if part.VolumeGroup == "" {
				if res := b.formatMount(ctx, partPath(sid, bd.ID, np.ID), what, part.Filesystem); res != nil {
					return res
				}
			}
			b.changes = append(b.changes, describePart(pd.name, k, part, uint64(np.Size)))
		}
	}
	for _, pv := range p.vgs {
		f := url.Values{"name": {pv.v.Name}}
		if pv.v.VGUUID != "" {
			f.Set("uuid", pv.v.VGUUID)
		}
		var members []string
		for _, n := range pv.devs {
			f.Add("block_devices", itoa(b.st.dev(n).ID))
			members = append(members, n)
		}
		for _, pk := range pv.parts {
			f.Add("partitions", itoa(partIDs[pk]))
			members = append(members, fmt.Sprintf("%s-part%d", pk[0], pk[1].(int)+1))
		}
		var vg volumeGroup
		if res := b.post(ctx, nodePath(sid)+"volume-groups/", "", f, &vg, "creating volume group "+pv.v.Name); res != nil {
			return res
		}
		b.changes = append(b.changes, fmt.Sprintf("volume group %s on %s", pv.v.Name, strings.Join(members, ", ")))
		sizes, err := planSizes(pv.sizes, uint64(vg.Size), 0, partAlign, "volume group "+pv.v.Name)
		if err != nil {
			r := o.fail("storage layout: %v", err)
			return &r
		}
		for k, lv := range pv.v.LogicalVolumes {
			f := form("name", lv.Name)
			if sizes[k] > 0 {
				f.Set("size", fmt.Sprint(sizes[k]))
			}
			if lv.LVUUID != "" {
				f.Set("uuid", lv.LVUUID)
			}
			var nb blockDevice
			if res := b.post(ctx, vgPath(sid, vg.ID), "create_logical_volume", f, &nb,
				fmt.Sprintf("creating logical volume %s in %s", lv.Name, pv.v.Name)); res != nil {
				return res
			}
			if res := b.formatMount(ctx, blockPath(sid, nb.ID), "logical volume "+lv.Name, lv.Filesystem); res != nil {
				return res
			}
			desc := fmt.Sprintf("logical volume %s/%s %d MiB", pv.v.Name, lv.Name, uint64(nb.Size)/mib)
			if fs := lv.Filesystem; fs != nil {
				desc += " " + fs.FSType
				if fs.Mountpoint != "" {
					desc += " at " + fs.Mountpoint
				}
			}
			b.changes = append(b.changes, desc)
		}
	}
	return nil
}

func describePart(dev string, k int, p design.NodePartition, size uint64) string {
	s := fmt.Sprintf("%s-part%d %s %d MiB", dev, k+1, p.Name, size/mib)
	if p.VolumeGroup != "" {
		s += " (physical volume of " + p.VolumeGroup + ")"
	} else if fs := p.Filesystem; fs != nil {
		s += " " + fs.FSType
		if fs.Mountpoint != "" {
			s += " at " + fs.Mountpoint
		}
	}
	return s
}
