package validate_test

import (
	"testing"
)

// Storage variants change one node (cmp01) through the keyed-list inheritance: a partition,
// device, volume group or logical volume the node names is merged with the profile's entry
// of the same name, and new names are added.
const (
	bootdiskParts = "storage.physical_devices.bootdisk.partitions"
	dataVGLVs     = "storage.volume_groups.data_vg.logical_volumes"
)

// ---- storage.boot-size (DD1001) ----

func TestStorageBootSize(t *testing.T) {
	t.Run("root too small", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", bootdiskParts, y("[{name: root, size: 19g}]")).run()
		one(t, rep, "storage.boot-size", expect{
			contains: []string{"Root volume must be > 20GB on BaremetalNode cmp01: partition root on device bootdisk is 19g (19000000000 bytes)"},
			diag:     "at least 20g",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("root just below 20g in binary units", func(t *testing.T) {
		// 18gi = 19,327,352,832 bytes: the bound is decimal, as in the original.
		rep := loadBase(t).set(kNode, "cmp01", bootdiskParts, y("[{name: root, size: 18gi}]")).run()
		one(t, rep, "storage.boot-size", expect{contains: []string{"is 18gi (19327352832 bytes)"}})
	})
	t.Run("root minimum too small", func(t *testing.T) {
		rep := loadBase(t).
			set(kNode, "cmp01", bootdiskParts, y("[{name: root, size: '>10g'}, {name: var, size: 100g}]")).
			run()
		one(t, rep, "storage.boot-size", expect{
			contains: []string{"Root volume must be > 20GB on BaremetalNode cmp01: partition root on device bootdisk is at least >10g (10000000000 bytes)"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("root logical volume too small", func(t *testing.T) {
		rep := loadBase(t).
			set(kNode, "cmp01", bootdiskParts, y("[{name: root, filesystem: {mountpoint: /srv}}]")).
			set(kNode, "cmp01", dataVGLVs, y("[{name: root_lv, size: 10g, filesystem: {mountpoint: /}}]")).
			run()
		one(t, rep, "storage.boot-size", expect{
			contains: []string{"Root volume must be > 20GB on BaremetalNode cmp01: logical volume root_lv on volume group data_vg is 10g"},
		})
	})
	t.Run("boot too small", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", bootdiskParts, y("[{name: boot, size: 999m}]")).run()
		one(t, rep, "storage.boot-size", expect{
			contains: []string{"Boot volume must be > 1GB on BaremetalNode cmp02: partition boot on device bootdisk is 999m (999000000 bytes)"},
			diag:     "at least 1g",
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("boot listed before root is checked too", func(t *testing.T) {
		// The original only looked at a boot partition listed after root.
		rep := loadBase(t).set(kProfile, "defaults", bootdiskParts, y(`[
			{name: boot, size: 500m, filesystem: {mountpoint: /boot}},
			{name: root, size: 30g, filesystem: {mountpoint: /}}]`)).
			run()
		errs := wantErrors(t, rep, "storage.boot-size", 3)
		for _, m := range errs {
			checkMsg(t, m, "storage.boot-size", expect{contains: []string{"Boot volume must be > 1GB", "is 500m"}})
		}
	})
	t.Run("near misses", func(t *testing.T) {
		for _, parts := range []string{
			"[{name: root, size: 20g}, {name: boot, size: 1g}]",                               // exactly the bounds
			"[{name: root, size: '>20g'}, {name: boot, size: 1000m}, {name: var, size: 10g}]", // a minimum at the bound
			"[{name: root, size: 20gi}, {name: boot, size: 1gi}]",                             // binary units
			"[{name: root, size: '60%'}, {name: boot, size: '1%'}]",                           // cannot know before deployment
			"[{name: root, size: 20000m}, {name: boot, size: 1000mib}]",                       // other units
		} {
			rep := loadBase(t).set(kNode, "cmp01", bootdiskParts, y(parts)).run()
			if errs := allErrors(rep); len(errs) > 0 {
				t.Errorf("%s:\n%s", parts, dump(errs))
			}
			wantSuccess(t, rep, "storage.boot-size")
		}
	})
}

// ---- storage.partitioning (DD1002) ----

func TestStoragePartitioning(t *testing.T) {
	t.Run("device with a volume group and partitions", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "storage.physical_devices.datadisk.partitions", y("[{name: p1, size: 10g}]")).run()
		one(t, rep, "storage.partitioning", expect{
			contains: []string{"Storage device datadisk on BaremetalNode cmp01 has both a volume group (data_vg) and partitions"},
			diag:     "exactly one of",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("device with neither", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "storage.physical_devices.sdc", y("{labels: {role: spare}}")).run()
		one(t, rep, "storage.partitioning", expect{
			contains: []string{"Storage device sdc on BaremetalNode cmp01 has neither a volume group nor partitions"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("partition with a volume group and a filesystem", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "storage.physical_devices.sdc",
			y("{partitions: [{name: pv1, size: 10g, volume_group: data_vg, filesystem: {mountpoint: /srv}}]}")).run()
		one(t, rep, "storage.partitioning", expect{
			contains: []string{"Partition pv1 on device sdc of BaremetalNode cmp01 has both a volume group (data_vg) and a filesystem"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("device in an undeclared volume group", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "storage.physical_devices.sdc", y("{volume_group: nope_vg}")).run()
		one(t, rep, "storage.partitioning", expect{
			contains: []string{"Storage device sdc on BaremetalNode cmp01 is a physical volume of volume group nope_vg, which is not declared"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("partition in an undeclared volume group", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "storage.physical_devices.sdc",
			y("{partitions: [{name: pv1, size: 10g, volume_group: nope_vg}]}")).run()
		one(t, rep, "storage.partitioning", expect{
			contains: []string{"Partition pv1 on device sdc on BaremetalNode cmp01 is a physical volume of volume group nope_vg, which is not declared"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("volume group without physical volumes", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", "storage.volume_groups.extra_vg", y("{logical_volumes: [{name: x_lv, size: 1g}]}")).run()
		one(t, rep, "storage.partitioning", expect{
			contains: []string{"Volume group extra_vg on BaremetalNode cmp02 is not assigned any physical volumes"},
			diag:     "Each volume group should be assigned at least one storage device or partition",
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("a volume group used on one node does not count on another", func(t *testing.T) {
		// The original shared one list of volume groups across all nodes.
		rep := loadBase(t).
			set(kNode, "cmp01", "storage.physical_devices.sdc", y("{volume_group: extra_vg}")).
			set(kNode, "cmp01", "storage.volume_groups.extra_vg", y("{logical_volumes: [{name: x_lv, size: 1g}]}")).
			set(kNode, "cmp02", "storage.volume_groups.extra_vg", y("{logical_volumes: [{name: x_lv, size: 1g}]}")).
			run()
		one(t, rep, "storage.partitioning", expect{contains: []string{"Volume group extra_vg on BaremetalNode cmp02 is not assigned"}})
	})
	t.Run("near misses", func(t *testing.T) {
		// A volume group whose only physical volume is a partition; a device removed with
		// '!name' together with its volume group.
		rep := loadBase(t).
			set(kNode, "cmp01", "storage.physical_devices.sdc", y("{partitions: [{name: pv1, size: '99%', volume_group: extra_vg}]}")).
			set(kNode, "cmp01", "storage.volume_groups.extra_vg", y("{logical_volumes: [{name: x_lv, size: '100%', filesystem: {mountpoint: /srv}}]}")).
			set(kNode, "cmp02", "storage.physical_devices.!datadisk", y("{}")).
			set(kNode, "cmp02", "storage.volume_groups.!data_vg", y("{}")).
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "storage.partitioning")
		if n := rep.Site.Node("cmp02"); len(n.Devices) != 1 || len(n.VolumeGroups) != 0 {
			t.Errorf("cmp02 storage: %+v %+v", n.Devices, n.VolumeGroups)
		}
	})
}

// ---- storage.sizing (DD1003) ----

func TestStorageSizing(t *testing.T) {
	sdc := func(parts string) *variant {
		return loadBase(t).set(kNode, "cmp01", "storage.physical_devices.sdc", y("{partitions: "+parts+"}"))
	}
	t.Run("no size", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", dataVGLVs, y("[{name: extra_lv, filesystem: {mountpoint: /srv}}]")).run()
		one(t, rep, "storage.sizing", expect{
			contains: []string{"Logical volume extra_lv on volume group data_vg of BaremetalNode cmp01 has no size"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	for _, bad := range []string{"10", "1.5g", "10k", "ten", "-5%", "101%", ">"} {
		t.Run("invalid size "+bad, func(t *testing.T) {
			rep := sdc("[{name: p1, size: '" + bad + "'}]").run()
			one(t, rep, "storage.sizing", expect{
				contains: []string{"Partition p1 on device sdc of BaremetalNode cmp01: invalid size \"" + bad + "\""},
				diag:     "Sizes are a whole number and a unit",
				docs:     []string{"BaremetalNode/cmp01"},
			})
		})
	}
	t.Run("percentages above 100", func(t *testing.T) {
		rep := sdc("[{name: a, size: '60%'}, {name: b, size: '50%'}, {name: c, size: '10%'}]").run()
		// Reported once per device, not once per partition as the original did.
		one(t, rep, "storage.sizing", expect{
			contains: []string{"Cumulative sizes on device sdc of BaremetalNode cmp01 is greater than 100% (120%)"},
			diag:     "Percentage-based sizes must sum to 100% or less.",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("logical volume percentages above 100", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", dataVGLVs, y("[{name: extra_lv, size: '60%'}]")).run()
		one(t, rep, "storage.sizing", expect{
			contains: []string{"Cumulative sizes on volume group data_vg of BaremetalNode cmp01 is greater than 100% (110%)"},
		})
	})
	t.Run("100 percent leaves no room", func(t *testing.T) {
		rep := sdc("[{name: a, size: '100%'}, {name: b, size: 1g}]").run()
		one(t, rep, "storage.sizing", expect{
			contains: []string{"Sizes on device sdc of BaremetalNode cmp01 take 100% and 1 more partitions or volumes need room too"},
		})
	})
	t.Run("two sizes take the rest", func(t *testing.T) {
		rep := sdc("[{name: a, size: '>1g'}, {name: b, size: '>2g'}]").run()
		one(t, rep, "storage.sizing", expect{
			contains: []string{"2 sizes on device sdc of BaremetalNode cmp01 use > to take the remaining space"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		for _, parts := range []string{
			"[{name: a, size: '99%'}]",                                               // one 99% partition alone
			"[{name: a, size: '100%'}]",                                              // 100% alone
			"[{name: a, size: '50%'}, {name: b, size: '50%'}]",                       // exactly 100%
			"[{name: a, size: '>20g'}, {name: b, size: '10%'}, {name: c, size: 1g}]", // > with % and absolute
			"[{name: a, size: '>10%'}, {name: b, size: '89%'}]",                      // a minimum in percent
			"[{name: a, size: 1T}, {name: b, size: 512MiB}, {name: c, size: 2GB}]",   // units, any case
		} {
			rep := sdc(parts).run()
			if errs := allErrors(rep); len(errs) > 0 {
				t.Errorf("%s:\n%s", parts, dump(errs))
			}
			wantSuccess(t, rep, "storage.sizing")
		}
	})
}

// ---- storage.mountpoints (DD1004) ----

func TestStorageMountpoints(t *testing.T) {
	t.Run("partition and logical volume", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", dataVGLVs, y("[{name: var2_lv, size: 1g, filesystem: {mountpoint: /var}}]")).run()
		one(t, rep, "storage.mountpoints", expect{
			contains: []string{`Mountpoint "/var" already exists on BaremetalNode cmp01 (partition var on device bootdisk and logical volume var2_lv on volume group data_vg)`},
			diag:     "Please use unique mountpoints.",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("each duplicate once, on every node", func(t *testing.T) {
		// The original stopped at the first duplicate of the whole design.
		rep := loadBase(t).
			set(kProfile, "defaults", dataVGLVs+".2", y("{name: a_lv, size: 1g, filesystem: {mountpoint: /var/log}}")).
			set(kProfile, "defaults", dataVGLVs+".3", y("{name: b_lv, size: 1g, filesystem: {mountpoint: /var/log}}")).
			run()
		errs := wantErrors(t, rep, "storage.mountpoints", 3)
		for i, node := range []string{"cmp01", "cmp02", "vm01"} {
			if i < len(errs) {
				checkMsg(t, errs[i], "storage.mountpoints", expect{
					contains: []string{`Mountpoint "/var/log" already exists on BaremetalNode ` + node + " (logical volume log_lv on volume group data_vg and logical volume a_lv on volume group data_vg)"},
					docs:     []string{"BaremetalNode/" + node},
				})
			}
		}
	})
	t.Run("near misses", func(t *testing.T) {
		// Several unmounted (swap) volumes; partitions without filesystems.
		rep := loadBase(t).
			set(kNode, "cmp01", "storage.physical_devices.sdc", y(`{partitions: [
				{name: swap1, size: 8g, filesystem: {mountpoint: none, fstype: swap}},
				{name: swap2, size: 8g, filesystem: {mountpoint: none, fstype: swap}},
				{name: raw1, size: 8g}, {name: raw2, size: 8g}]}`)).
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "storage.mountpoints")
	})
}
