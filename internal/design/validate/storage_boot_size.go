package validate

import (
	"fmt"

	"github.com/drydock-go/drydock/internal/design"
)

// Minimum sizes of the root and boot filesystems, both bounds inclusive (decimal units, as
// the original measured them).
const (
	minRootBytes = 20_000_000_000
	minBootBytes = 1_000_000_000
)

func init() {
	register(&Rule{
		Code:    "DD1001",
		Slug:    "storage.boot-size",
		Name:    "Rational Boot Storage",
		Summary: "The root filesystem (mountpoint /) is at least 20 GB and /boot, when separate, at least 1 GB; they are found by mountpoint on partitions or logical volumes. Percentage sizes cannot be checked before deployment; a size with > is checked against its stated minimum.",
		Example: "Root volume must be > 20GB on BaremetalNode compute01: partition root on device sda is 10g (10000000000 bytes)",
		Check:   checkBootSize,
	})
}

// volume is a partition or logical volume with a filesystem, as the storage rules see it.
type volume struct {
	kind       string // "partition" or "logical volume"
	name       string
	container  string // device or volume group name
	vg         bool   // the container is a volume group
	size       string
	mountpoint string
}

// eachVolume calls fn with a node's partitions and logical volumes in declaration order,
// without allocating; fn returns false to stop.
func eachVolume(n *design.Node, fn func(v *volume) bool) {
	var v volume
	for _, d := range n.Devices {
		for _, p := range d.Partitions {
			v = volume{kind: "partition", name: p.Name, container: d.Name, size: p.Size}
			if p.Filesystem != nil {
				v.mountpoint = p.Filesystem.Mountpoint
			}
			if !fn(&v) {
				return
			}
		}
	}
	for _, vg := range n.VolumeGroups {
		for _, lv := range vg.LogicalVolumes {
			v = volume{kind: "logical volume", name: lv.Name, container: vg.Name, vg: true, size: lv.Size}
			if lv.Filesystem != nil {
				v.mountpoint = lv.Filesystem.Mountpoint
			}
			if !fn(&v) {
				return
			}
		}
	}
}

// where names the volume's container for messages.
func (v *volume) where() string {
	if v.vg {
		return "volume group " + v.container
	}
	return "device " + v.container
}

func checkBootSize(c *Context) {
	for _, n := range c.nodes() {
		var root, boot volume
		eachVolume(n, func(v *volume) bool {
			switch {
			case v.mountpoint == "/" && root.kind == "":
				root = *v
			case v.mountpoint == "/boot" && boot.kind == "":
				boot = *v
			}
			return true
		})
		checkMin(c, n, &root, "Root", minRootBytes, "20GB", "Configure a root partition or logical volume of at least 20g.")
		checkMin(c, n, &boot, "Boot", minBootBytes, "1GB", "Configure a /boot partition of at least 1g.")
	}
}

func checkMin(c *Context, n *design.Node, v *volume, what string, min uint64, minText, diag string) {
	if v.kind == "" || v.size == "" {
		return // a missing root is node.root-filesystem's finding; a missing size is storage.sizing's
	}
	s, err := design.ParseSize(v.size)
	if err != nil {
		return // storage.sizing reports the format
	}
	got, known := s.MinimumBytes()
	if !known || got >= min {
		return
	}
	qualifier := ""
	if s.Min {
		qualifier = " at least"
	}
	c.Errorf(diag, docs(n.Ref), "%s volume must be > %s on BaremetalNode %s: %s %s on %s is%s %s (%s bytes)",
		what, minText, n.Name, v.kind, v.name, v.where(), qualifier, v.size, fmt.Sprint(got))
}
