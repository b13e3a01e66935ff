package design

import (
	"slices"
	"strings"
)

// Host-profile inheritance. A node adopts its host profile, which adopts its parent, and so on.
// Merging never modifies the documents: every merge returns new values.
//
// The rules, child over parent:
//   - scalars: a value set on the child wins; "!" unsets the inherited value; unset inherits.
//   - lists of names (tags, interface slaves and networks): the child's entries, then the
//     parent's entries the child does not already have and does not negate with "!name".
//   - maps (oob parameters, kernel parameters, owner data, labels): the parent's keys in
//     order, minus keys the child negates with "!key"; the child's keys override in place or
//     are appended.
//   - keyed lists (interfaces by name; storage devices, partitions, volume groups and
//     logical volumes by name): parent entries in parent order, removed when the child says
//     "!name" (or, for interfaces, gives the name a null value), merged field by field when
//     the child has the same name, kept as they are otherwise; then the child's new entries.

func mergeOpt(child, parent *string) *string {
	if child != nil {
		if *child == "!" {
			return nil
		}
		return child
	}
	return parent
}

func mergeOptBool(child, parent *bool) *bool {
	if child != nil {
		return child
	}
	return parent
}

func mergeKV(child, parent KV) KV {
	if child == nil {
		return parent
	}
	if parent == nil {
		return child
	}
	out := make(KV, 0, len(parent)+len(child))
	for _, p := range parent {
		if child.Has("!" + p.Key) {
			continue
		}
		out = append(out, p)
	}
	for _, c := range child {
		if strings.HasPrefix(c.Key, "!") {
			continue
		}
		out = out.Set(c.Key, c.Value)
	}
	return out
}

func mergeList(child, parent []string) []string {
	if child == nil {
		return parent
	}
	if parent == nil {
		return child
	}
	out := make([]string, 0, len(child)+len(parent))
	negated := map[string]bool{}
	have := newStringSet(len(child) + len(parent))
	for _, c := range child {
		if strings.HasPrefix(c, "!") {
			negated[c[1:]] = true
			continue
		}
		if !have.has(out, c) {
			out = have.add(out, c)
		}
	}
	for _, p := range parent {
		if negated[p] || have.has(out, p) {
			continue
		}
		out = have.add(out, p)
	}
	return out
}

// stringSet answers "is s already in the list" for lists being built: by a linear search
// while lists are short, by a map once they may be long, so that merging long lists along a
// deep inheritance chain stays linear rather than quadratic per merge.
type stringSet map[string]bool

func newStringSet(n int) stringSet {
	if n <= 16 {
		return nil
	}
	return make(stringSet, n)
}

func (s stringSet) has(list []string, x string) bool {
	if s == nil {
		return slices.Contains(list, x)
	}
	return s[x]
}

func (s stringSet) add(list []string, x string) []string {
	if s != nil {
		s[x] = true
	}
	return append(list, x)
}

// keyed merges two lists of named entries following the keyed-list rule. name and removed
// read an entry; merge combines a child entry with the parent entry of the same name.
func keyed[T any](child, parent []T, name func(*T) string, removed func(*T) bool, merge func(c, p *T) T) []T {
	if child == nil {
		return parent
	}
	if parent == nil {
		return child
	}
	out := make([]T, 0, len(parent)+len(child))
	find := func(n string) *T {
		for i := range child {
			if name(&child[i]) == n {
				return &child[i]
			}
		}
		return nil
	}
	used := make(map[string]bool, len(child))
	for i := range parent {
		p := &parent[i]
		n := name(p)
		c := find(n)
		switch {
		case c == nil:
			out = append(out, *p)
		case removed(c):
			used[n] = true
		default:
			used[n] = true
			out = append(out, merge(c, p))
		}
	}
	for i := range child {
		c := &child[i]
		if used[name(c)] || removed(c) {
			continue
		}
		used[name(c)] = true
		out = append(out, *c)
	}
	return out
}

func mergeInterfaces(child, parent []Interface) []Interface {
	return keyed(child, parent,
		func(i *Interface) string { return i.Name },
		func(i *Interface) bool { return i.Remove },
		func(c, p *Interface) Interface {
			m := Interface{Name: c.Name, Line: c.Line,
				DeviceLink: mergeOpt(c.DeviceLink, p.DeviceLink),
				Slaves:     mergeList(c.Slaves, p.Slaves),
				Networks:   mergeList(c.Networks, p.Networks),
				SRIOV:      p.SRIOV,
			}
			if c.SRIOV != nil {
				m.SRIOV = c.SRIOV
			}
			if len(p.Extra)+len(c.Extra) > 0 {
				m.Extra = make(map[string]any, len(p.Extra)+len(c.Extra))
				for k, v := range p.Extra {
					m.Extra[k] = v
				}
				for k, v := range c.Extra {
					m.Extra[k] = v
				}
			}
			return m
		})
}

func mergeFilesystem(c, p *Filesystem) *Filesystem {
	if c == nil {
		return p
	}
	if p == nil {
		return c
	}
	return &Filesystem{
		Mountpoint:   mergeOpt(c.Mountpoint, p.Mountpoint),
		FSType:       mergeOpt(c.FSType, p.FSType),
		MountOptions: mergeOpt(c.MountOptions, p.MountOptions),
		FSUUID:       mergeOpt(c.FSUUID, p.FSUUID),
		FSLabel:      mergeOpt(c.FSLabel, p.FSLabel),
	}
}

func mergePartitions(child, parent []Partition) []Partition {
	return keyed(child, parent,
		func(x *Partition) string { return x.Name },
		func(x *Partition) bool { return x.Remove },
		func(c, p *Partition) Partition {
			return Partition{Name: c.Name,
				Size:        mergeOpt(c.Size, p.Size),
				PartUUID:    mergeOpt(c.PartUUID, p.PartUUID),
				Bootable:    mergeOptBool(c.Bootable, p.Bootable),
				Labels:      mergeKV(c.Labels, p.Labels),
				VolumeGroup: mergeOpt(c.VolumeGroup, p.VolumeGroup),
				Filesystem:  mergeFilesystem(c.Filesystem, p.Filesystem),
			}
		})
}

func mergeDevices(child, parent []Device) []Device {
	return keyed(child, parent,
		func(x *Device) string { return x.Name },
		func(x *Device) bool { return x.Remove },
		func(c, p *Device) Device {
			return Device{Name: c.Name,
				Labels:      mergeKV(c.Labels, p.Labels),
				VolumeGroup: mergeOpt(c.VolumeGroup, p.VolumeGroup),
				Partitions:  mergePartitions(c.Partitions, p.Partitions),
			}
		})
}

func mergeLVs(child, parent []LogicalVolume) []LogicalVolume {
	return keyed(child, parent,
		func(x *LogicalVolume) string { return x.Name },
		func(x *LogicalVolume) bool { return x.Remove },
		func(c, p *LogicalVolume) LogicalVolume {
			return LogicalVolume{Name: c.Name,
				Size:       mergeOpt(c.Size, p.Size),
				LVUUID:     mergeOpt(c.LVUUID, p.LVUUID),
				Filesystem: mergeFilesystem(c.Filesystem, p.Filesystem),
			}
		})
}

func mergeVGs(child, parent []VolumeGroup) []VolumeGroup {
	return keyed(child, parent,
		func(x *VolumeGroup) string { return x.Name },
		func(x *VolumeGroup) bool { return x.Remove },
		func(c, p *VolumeGroup) VolumeGroup {
			return VolumeGroup{Name: c.Name,
				VGUUID:         mergeOpt(c.VGUUID, p.VGUUID),
				LogicalVolumes: mergeLVs(c.LogicalVolumes, p.LogicalVolumes),
			}
		})
}

// mergeHost applies child over parent. The result keeps the child's identity.
func mergeHost(c, p *HostProfile) *HostProfile {
	if p == nil {
		return c
	}
	return &HostProfile{
		Ref: c.Ref, Name: c.Name, IsNode: c.IsNode, ParentProfile: c.ParentProfile,
		HardwareProfile: mergeOpt(c.HardwareProfile, p.HardwareProfile),
		PrimaryNetwork:  mergeOpt(c.PrimaryNetwork, p.PrimaryNetwork),
		OOBType:         mergeOpt(c.OOBType, p.OOBType),
		OOBParams:       mergeKV(c.OOBParams, p.OOBParams),
		Image:           mergeOpt(c.Image, p.Image),
		Kernel:          mergeOpt(c.Kernel, p.Kernel),
		KernelParams:    mergeKV(c.KernelParams, p.KernelParams),
		Rack:            mergeOpt(c.Rack, p.Rack),
		Tags:            mergeList(c.Tags, p.Tags),
		OwnerData:       mergeKV(c.OwnerData, p.OwnerData),
		Interfaces:      mergeInterfaces(c.Interfaces, p.Interfaces),
		Devices:         mergeDevices(c.Devices, p.Devices),
		VolumeGroups:    mergeVGs(c.VolumeGroups, p.VolumeGroups),
		BootMAC:         c.BootMAC,
		Addressing:      c.Addressing,
	}
}
