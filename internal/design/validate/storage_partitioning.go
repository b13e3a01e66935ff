package validate

func init() {
	register(&Rule{
		Code:    "DD1002",
		Slug:    "storage.partitioning",
		Name:    "Storage Partitioning",
		Summary: "Each storage device is either a volume-group physical volume or carved into partitions (not both, not neither); a partition is a physical volume or has a filesystem, not both; every volume group has a physical volume, and every volume group a device or partition names is declared.",
		Example: "Volume group log_vg on BaremetalNode compute01 is not assigned any physical volumes",
		Check:   checkPartitioning,
	})
}

func checkPartitioning(c *Context) {
	for _, n := range c.nodes() {
		used := map[string]bool{}
		declared := make(map[string]bool, len(n.VolumeGroups))
		for _, vg := range n.VolumeGroups {
			declared[vg.Name] = true
		}
		undeclared := func(vg, what string) {
			if !declared[vg] {
				c.Errorf("Declare the volume group under storage.volume_groups, or correct the name.", docs(n.Ref),
					"%s on BaremetalNode %s is a physical volume of volume group %s, which is not declared", what, n.Name, vg)
			}
		}
		for _, d := range n.Devices {
			hasParts := len(d.Partitions) > 0
			switch {
			case d.VolumeGroup != "" && hasParts:
				c.Errorf("A storage device must be used for exactly one of a volume group physical volume or carved into partitions.", docs(n.Ref),
					"Storage device %s on BaremetalNode %s has both a volume group (%s) and partitions", d.Name, n.Name, d.VolumeGroup)
			case d.VolumeGroup == "" && !hasParts:
				c.Errorf("A storage device must be used for exactly one of a volume group physical volume or carved into partitions.", docs(n.Ref),
					"Storage device %s on BaremetalNode %s has neither a volume group nor partitions", d.Name, n.Name)
			}
			if d.VolumeGroup != "" {
				used[d.VolumeGroup] = true
				undeclared(d.VolumeGroup, "Storage device "+d.Name)
			}
			for _, p := range d.Partitions {
				if p.VolumeGroup != "" && p.Filesystem != nil {
					c.Errorf("A partition can be used for only one of a volume group physical volume or formatted as a filesystem.", docs(n.Ref),
						"Partition %s on device %s of BaremetalNode %s has both a volume group (%s) and a filesystem", p.Name, d.Name, n.Name, p.VolumeGroup)
				}
				if p.VolumeGroup != "" {
					used[p.VolumeGroup] = true
					undeclared(p.VolumeGroup, "Partition "+p.Name+" on device "+d.Name)
				}
			}
		}
		for _, vg := range n.VolumeGroups {
			if !used[vg.Name] {
				c.Errorf("Each volume group should be assigned at least one storage device or partition as a physical volume.", docs(n.Ref),
					"Volume group %s on BaremetalNode %s is not assigned any physical volumes", vg.Name, n.Name)
			}
		}
	}
}
