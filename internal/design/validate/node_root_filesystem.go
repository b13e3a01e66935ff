package validate

func init() {
	register(&Rule{
		Code:    "DD1005",
		Slug:    "node.root-filesystem",
		Name:    "Root Filesystem",
		Summary: "Every node mounts a root filesystem (mountpoint /) on a partition or a logical volume.",
		Example: "BaremetalNode compute01 has no root filesystem: no partition or logical volume is mounted at /",
		Check:   checkRootFilesystem,
	})
}

func checkRootFilesystem(c *Context) {
	for _, n := range c.nodes() {
		found := false
		eachVolume(n, func(v *volume) bool {
			found = v.mountpoint == "/"
			return !found
		})
		if !found {
			c.Errorf("Give a partition or logical volume a filesystem with mountpoint '/' (usually in the host profile's storage section).",
				docs(n.Ref), "BaremetalNode %s has no root filesystem: no partition or logical volume is mounted at /", n.Name)
		}
	}
}
