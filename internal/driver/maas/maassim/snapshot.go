package maassim

import "sort"

// MachineState is everything about a machine that tests compare, as it is now.
type MachineState struct {
	SystemID   string
	Hostname   string
	Domain     string
	Status     int    // MAAS status value (maas_api.md §4)
	StatusName string // its label, e.g. "Ready"
	Owner      string
	// PowerType and PowerParams are the BMC settings MAAS holds; PowerState is power_state.
	PowerType   string
	PowerParams map[string]string
	PowerState  string
	// Deployment.
	OSystem, DistroSeries, HWEKernel string
	UserData                         []byte // decoded user_data of the last deploy (nil: none)
	KernelOptions                    string // global kernel_opts then the kernel_opts of the tags
	Tags                             []string
	WorkloadAnnotations              map[string]string
	ErrorDescription                 string
	EraseMode                        string // last release: "", "erase", "secure" or "quick"
	Locked                           bool
	// Configuration.
	Interfaces     []InterfaceState
	BlockDevices   []BlockDeviceState // physical disks then logical volumes
	VolumeGroups   []VolumeGroupState
	BootDisk       string // name of the boot disk
	StorageLayout  string // last layout applied ("" when none or after edits from blank)
	DefaultGateway string // IPv4 default gateway ("" when none)
	Commissioned   bool   // lshw/lldp details captured
}

// InterfaceState is one interface.
type InterfaceState struct {
	ID      int
	Name    string
	Type    string // physical, bond, vlan, bridge
	MAC     string
	Parents []string
	Fabric  string // "" when disconnected
	VLANID  int    // VLAN object id (0 when disconnected)
	VID     int
	MTU     int            // effective MTU
	Params  map[string]any // bond_*, bridge_*, mtu
	Links   []LinkState
	Tags    []string
}

// LinkState is one link of an interface.
type LinkState struct {
	ID             int
	Mode           string // auto, dhcp, static, link_up
	Subnet         string // CIDR ("" for a bare link_up)
	IP             string
	DefaultGateway bool
}

// FilesystemState is a filesystem on a block device or partition.
type FilesystemState struct {
	FSType, Label, UUID, MountPoint, MountOptions string
	VolumeGroup                                   string // for lvm-pv
}

// BlockDeviceState is a physical disk or a logical volume (Virtual).
type BlockDeviceState struct {
	ID                 int
	Name               string
	Virtual            bool
	Model, Serial      string
	IDPath             string
	Size               int64
	AvailableSize      int64
	UUID               string
	Tags               []string
	PartitionTableType string
	Filesystem         *FilesystemState
	Partitions         []PartitionState
	VolumeGroup        string // for a logical volume: its VG
}

// PartitionState is a partition.
type PartitionState struct {
	ID         int
	Path       string
	Size       int64
	Bootable   bool
	UUID       string
	Filesystem *FilesystemState
}

// VolumeGroupState is a volume group.
type VolumeGroupState struct {
	ID             int
	Name, UUID     string
	Size           int64
	AvailableSize  int64
	Devices        []string // member block devices and partitions (by-dname path base names)
	LogicalVolumes []string // LV block device names ("<vg>-<lv>")
}

func fsState(f *filesystem) *FilesystemState {
	if f == nil {
		return nil
	}
	s := &FilesystemState{FSType: f.fstype, Label: f.label, UUID: f.uuid, MountPoint: f.mountPoint,
		MountOptions: f.mountOptions}
	if f.vg != nil {
		s.VolumeGroup = f.vg.name
	}
	return s
}

func (st *state) snapshot(m *machine) MachineState {
	s := MachineState{SystemID: m.systemID, Hostname: m.hostname, Domain: m.domain.name, Status: m.status,
		StatusName: statusLabel(m.status), Owner: m.owner, PowerType: m.powerType, PowerParams: copyMap(m.powerParams),
		PowerState: m.powerState(), OSystem: m.osystem, DistroSeries: m.distro, HWEKernel: m.hweKernel,
		KernelOptions: st.kernelOptions(m), Tags: st.machineTags(m), WorkloadAnnotations: copyMap(m.ownerData),
		ErrorDescription: m.errorDescription, EraseMode: m.eraseMode, Locked: m.locked, StorageLayout: m.layout,
		Commissioned: m.commissioned}
	if m.hasUD {
		s.UserData = append([]byte{}, m.userData...)
	}
	for _, ifc := range m.interfaces {
		is := InterfaceState{ID: ifc.id, Name: ifc.name, Type: ifc.typ, MAC: ifc.mac, MTU: ifc.effectiveMTU(),
			Params: map[string]any{}, Tags: append([]string{}, ifc.tags...)}
		for k, v := range ifc.params {
			is.Params[k] = v
		}
		for _, p := range ifc.parents {
			is.Parents = append(is.Parents, p.name)
		}
		if ifc.vlan != nil {
			is.Fabric, is.VLANID, is.VID = ifc.vlan.fabric.name, ifc.vlan.id, ifc.vlan.vid
		}
		for _, l := range ifc.links {
			ls := LinkState{ID: l.id, Mode: l.mode, IP: l.ip, DefaultGateway: l.id == m.gw4 || l.id == m.gw6}
			if l.subnet != nil {
				ls.Subnet = l.subnet.cidr.String()
				if ls.DefaultGateway && l.id == m.gw4 {
					s.DefaultGateway = l.subnet.gateway
				}
			}
			is.Links = append(is.Links, ls)
		}
		s.Interfaces = append(s.Interfaces, is)
	}
	for _, d := range m.bdevs {
		bs := BlockDeviceState{ID: d.id, Name: d.name, Virtual: d.virtual, Model: d.model, Serial: d.serial,
			IDPath: d.idPath, Size: d.size, AvailableSize: m.availableSize(d), UUID: d.uuid,
			Tags: append([]string{}, d.tags...), PartitionTableType: d.ptable, Filesystem: fsState(d.fs)}
		if d.lvOf != nil {
			bs.VolumeGroup = d.lvOf.name
		}
		for _, p := range d.parts {
			pj := renderPartition(m, p)
			bs.Partitions = append(bs.Partitions, PartitionState{ID: p.id, Path: pj.Path, Size: p.size,
				Bootable: p.bootable, UUID: p.uuid, Filesystem: fsState(p.fs)})
		}
		s.BlockDevices = append(s.BlockDevices, bs)
	}
	if bd := m.bootDiskOf(); bd != nil {
		s.BootDisk = bd.name
	}
	for _, vg := range m.vgs {
		size, used := m.vgSize(vg), m.vgUsed(vg)
		vs := VolumeGroupState{ID: vg.id, Name: vg.name, UUID: vg.uuid, Size: size, AvailableSize: size - used}
		devs, parts := m.vgMembers(vg)
		for _, d := range devs {
			vs.Devices = append(vs.Devices, d.name)
		}
		for _, p := range parts {
			vs.Devices = append(vs.Devices, baseName(renderPartition(m, p).Path))
		}
		for _, lv := range m.lvs(vg) {
			vs.LogicalVolumes = append(vs.LogicalVolumes, lv.name)
		}
		sort.Strings(vs.Devices)
		s.VolumeGroups = append(s.VolumeGroups, vs)
	}
	return s
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// Machines returns the system ids of all machines (not controllers), in enlistment order.
func (s *Server) Machines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.st.nodesOfType(nodeMachine) {
		out = append(out, m.systemID)
	}
	return out
}
