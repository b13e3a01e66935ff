package validate

import "strings"

func init() {
	register(&Rule{
		Code:    "DD1004",
		Slug:    "storage.mountpoints",
		Name:    "Storage Mountpoint",
		Summary: "No mountpoint is used twice on one node (partitions and logical volumes together).",
		Example: "Mountpoint \"/boot\" already exists on BaremetalNode compute01 (partition boot on device sda and partition boot2 on device sdb)",
		Check:   checkMountpoints,
	})
}

func checkMountpoints(c *Context) {
	for _, n := range c.nodes() {
		seen := map[string]volume{}
		reported := map[string]bool{}
		for _, v := range volumes(n) {
			if v.mountpoint == "" || strings.EqualFold(v.mountpoint, "none") {
				continue
			}
			first, dup := seen[v.mountpoint]
			if !dup {
				seen[v.mountpoint] = v
				continue
			}
			if reported[v.mountpoint] {
				continue
			}
			reported[v.mountpoint] = true
			c.Errorf("Please use unique mountpoints.", docs(n.Ref),
				"Mountpoint %q already exists on BaremetalNode %s (%s %s on %s and %s %s on %s)",
				v.mountpoint, n.Name, first.kind, first.name, first.container, v.kind, v.name, v.container)
		}
	}
}
