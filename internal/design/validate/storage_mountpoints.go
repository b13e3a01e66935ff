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
	var seen []volume // a node has few volumes: a slice beats a map and does not allocate per node
	var reported []string
	for _, n := range c.nodes() {
		seen, reported = seen[:0], reported[:0]
		eachVolume(n, func(v *volume) bool {
			if v.mountpoint == "" || strings.EqualFold(v.mountpoint, "none") {
				return true
			}
			for i := range seen {
				if seen[i].mountpoint != v.mountpoint {
					continue
				}
				for _, r := range reported {
					if r == v.mountpoint {
						return true
					}
				}
				reported = append(reported, v.mountpoint)
				first := seen[i]
				c.Errorf("Please use unique mountpoints.", docs(n.Ref),
					"Mountpoint %q already exists on BaremetalNode %s (%s %s on %s and %s %s on %s)",
					v.mountpoint, n.Name, first.kind, first.name, first.where(), v.kind, v.name, v.where())
				return true
			}
			seen = append(seen, *v)
			return true
		})
	}
}
