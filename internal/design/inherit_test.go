package design

import (
	"reflect"
	"testing"
)

// Host-profile inheritance at the document level: profiles and nodes compiled from YAML, one
// test per merge rule (merge_test.go tests the merge helpers themselves).

const mergeHW = `
schema: drydock/HardwareProfile/v1
metadata: {name: hw}
data:
  device_aliases:
    nic1: {address: '0000:00:03.0', dev_type: 'NIC', bus_type: pci}
    nic2: {address: '0000:00:04.0', dev_type: 'NIC', bus_type: pci}
`

// compileNode parses the documents and returns the compiled node of that name.
func compileNode(t *testing.T, name string, docs ...string) *Node {
	t.Helper()
	s := mustCompile(t, joinDocs(docs...))
	n := s.Node(name)
	if n == nil {
		t.Fatalf("node %s not compiled", name)
	}
	return n
}

func TestScalarInheritance(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, `
schema: drydock/HostProfile/v1
metadata: {name: base}
data:
  hardware_profile: hw
  primary_network: mgmt
  oob: {type: ipmi}
  platform: {image: bionic, kernel: ga}
  metadata: {rack: r1}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  platform: {image: focal}
`)
	if n.Image != "focal" {
		t.Errorf("child image should win: %q", n.Image)
	}
	if n.Kernel != "ga" || n.Rack != "r1" || n.OOBType != "ipmi" || n.PrimaryNetwork != "mgmt" || n.HardwareProfile != "hw" {
		t.Errorf("unset child fields should inherit: %+v", n)
	}
}

// A '!' value unsets an inherited scalar at any level of a three-level chain, and root profiles
// lose their '!' markers too (B8).
func TestScalarUnsetThroughThreeLevels(t *testing.T) {
	docs := []string{mergeHW, `
schema: drydock/HostProfile/v1
metadata: {name: gp}
data:
  hardware_profile: hw
  platform: {image: bionic, kernel: ga}
  metadata: {rack: r1}
  oob: {type: '!'}
`, `
schema: drydock/HostProfile/v1
metadata: {name: parent}
data:
  host_profile: gp
  platform: {kernel: '!'}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: parent
  platform: {image: '!'}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n2}
data:
  host_profile: parent
  platform: {kernel: hwe}
  metadata: {rack: '!'}
`}
	s := mustCompile(t, joinDocs(docs...))
	n1, n2 := s.Node("n1"), s.Node("n2")
	if n1.Kernel != "" {
		t.Errorf("n1: kernel unset by the middle profile, got %q", n1.Kernel)
	}
	if n1.Image != "" {
		t.Errorf("n1: image unset by the node, got %q", n1.Image)
	}
	if n1.Rack != "r1" || n1.HardwareProfile != "hw" {
		t.Errorf("n1: rack and hardware profile come from the grandparent: %q %q", n1.Rack, n1.HardwareProfile)
	}
	if n1.OOBType != "" {
		t.Errorf("n1: a root '!' must not survive as a literal, got %q", n1.OOBType)
	}
	if n2.Kernel != "hwe" {
		t.Errorf("n2: a value below an unset wins, got %q", n2.Kernel)
	}
	if n2.Rack != "" || n2.Image != "bionic" {
		t.Errorf("n2: rack %q (want unset), image %q (want bionic)", n2.Rack, n2.Image)
	}
}

func TestListInheritanceTags(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, `
schema: drydock/HostProfile/v1
metadata: {name: base}
data:
  hardware_profile: hw
  metadata: {tags: [t1, t2]}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  metadata: {tags: ['!t1', t3]}
`)
	if want := []string{"t3", "t2"}; !reflect.DeepEqual(n.Tags, want) {
		t.Errorf("tags = %q, want %q", n.Tags, want)
	}
}

func TestMapInheritanceKernelParams(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, `
schema: drydock/HostProfile/v1
metadata: {name: base}
data:
  hardware_profile: hw
  platform:
    kernel_params: {a: 1, b: 2, flag: true}
  metadata:
    owner_data: {foo: bar, keep: me}
  oob: {type: ipmi, network: oob, account: admin}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  platform:
    kernel_params: {'!a': x, c: 3}
  metadata:
    owner_data: {foo: baz}
  oob: {'!account': x, credential: pw}
`)
	if want := kvOf("b", "2", "flag", "True", "c", "3"); !reflect.DeepEqual(n.KernelParams, want) {
		t.Errorf("kernel_params = %v, want %v", n.KernelParams, want)
	}
	if want := kvOf("foo", "baz", "keep", "me"); !reflect.DeepEqual(n.OwnerData, want) {
		t.Errorf("owner_data = %v, want %v", n.OwnerData, want)
	}
	if want := kvOf("network", "oob", "credential", "pw"); !reflect.DeepEqual(n.OOBParams, want) {
		t.Errorf("oob parameters = %v, want %v", n.OOBParams, want)
	}
}

// B8: '!' markers in a root profile (or a node without a profile) are removed, not kept as
// literals.
func TestRootMarkersRemoved(t *testing.T) {
	t.Run("node without profile", func(t *testing.T) {
		checkRootMarkers(t, compileNode(t, "n1", mergeHW, "schema: drydock/BaremetalNode/v1\nmetadata: {name: n1}\n"+rootMarkersBody))
	})
	t.Run("root profile", func(t *testing.T) {
		checkRootMarkers(t, compileNode(t, "n1", mergeHW, "schema: drydock/HostProfile/v1\nmetadata: {name: root}\n"+rootMarkersBody,
			"schema: drydock/BaremetalNode/v1\nmetadata: {name: n1}\ndata: {host_profile: root}\n"))
	})
}

const rootMarkersBody = `data:
  hardware_profile: hw
  platform:
    kernel: '!'
    kernel_params: {'!quiet': x, console: ttyS0}
  metadata:
    tags: ['!old', new]
    owner_data: {'!gone': x, kept: y}
  interfaces:
    '!eth9': {}
    eth0:
      slaves: [nic1]
      networks: ['!private', mgmt]
  storage:
    physical_devices:
      '!sdz': {}
      sda:
        partitions:
          - name: '!swap'
          - name: root
            size: 10g
            filesystem: {mountpoint: /}
    volume_groups:
      '!oldvg': {}
      vg:
        logical_volumes:
          - name: '!oldlv'
          - name: lv
            size: 1g
`

func checkRootMarkers(t *testing.T, n *Node) {
	t.Helper()
	if n.Kernel != "" {
		t.Errorf("kernel = %q", n.Kernel)
	}
	if want := kvOf("console", "ttyS0"); !reflect.DeepEqual(n.KernelParams, want) {
		t.Errorf("kernel_params = %v", n.KernelParams)
	}
	if !reflect.DeepEqual(n.Tags, []string{"new"}) || !reflect.DeepEqual(n.OwnerData, kvOf("kept", "y")) {
		t.Errorf("tags %q owner_data %v", n.Tags, n.OwnerData)
	}
	if len(n.Interfaces) != 1 || n.Interfaces[0].Name != "eth0" || !reflect.DeepEqual(n.Interfaces[0].Networks, []string{"mgmt"}) {
		t.Errorf("interfaces = %+v", n.Interfaces)
	}
	if len(n.Devices) != 1 || n.Devices[0].Name != "sda" || len(n.Devices[0].Partitions) != 1 || n.Devices[0].Partitions[0].Name != "root" {
		t.Errorf("devices = %+v", n.Devices)
	}
	if len(n.VolumeGroups) != 1 || n.VolumeGroups[0].Name != "vg" || len(n.VolumeGroups[0].LogicalVolumes) != 1 || n.VolumeGroups[0].LogicalVolumes[0].Name != "lv" {
		t.Errorf("volume groups = %+v", n.VolumeGroups)
	}
}

const ifaceProfile = `
schema: drydock/HostProfile/v1
metadata: {name: base}
data:
  hardware_profile: hw
  interfaces:
    pxe:
      device_link: pxe
      slaves: [nic1]
      networks: [pxe]
    bond0:
      device_link: gp
      slaves: [nic1, nic2]
      networks: [mgmt, private]
      sriov: {vf_count: 2, trustedmode: true}
    eth2:
      device_link: storage
      slaves: [eth2]
      networks: [storage]
`

func TestInterfaceKeyedMerge(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, ifaceProfile, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  interfaces:
    extra0:
      device_link: ext
      networks: [public]
    bond0:
      slaves: ['!nic2', nic3]
      networks: ['!private', public]
`)
	// Parent order kept, child-only entries appended.
	if want := []string{"pxe", "bond0", "eth2", "extra0"}; !reflect.DeepEqual(ifaceNames(n), want) {
		t.Fatalf("interfaces = %q, want %q", ifaceNames(n), want)
	}
	b := iface(t, n, "bond0")
	if b.DeviceLink != "gp" {
		t.Errorf("bond0 device_link = %q, want inherited gp", b.DeviceLink)
	}
	if want := []string{"nic3", "nic1"}; !reflect.DeepEqual(b.Slaves, want) {
		t.Errorf("bond0 slaves = %q, want %q", b.Slaves, want)
	}
	if want := []string{"public", "mgmt"}; !reflect.DeepEqual(b.Networks, want) {
		t.Errorf("bond0 networks = %q, want %q", b.Networks, want)
	}
	// B5 fixed: the SR-IOV settings survive the merge.
	if b.SRIOV == nil || b.SRIOV.VFCount != 2 || !b.SRIOV.TrustedMode {
		t.Errorf("bond0 sriov = %+v, want vf_count 2, trustedmode true", b.SRIOV)
	}
	if e := iface(t, n, "extra0"); e.DeviceLink != "ext" || !reflect.DeepEqual(e.Networks, []string{"public"}) {
		t.Errorf("extra0 = %+v", e)
	}
}

func TestInterfaceChildSRIOVOverrides(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, ifaceProfile, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  interfaces:
    bond0:
      sriov: {vf_count: 8}
    pxe:
      sriov: {vf_count: 1}
`)
	if s := iface(t, n, "bond0").SRIOV; s == nil || s.VFCount != 8 {
		t.Errorf("bond0 sriov = %+v, want the child's vf_count 8", s)
	}
	if s := iface(t, n, "pxe").SRIOV; s == nil || s.VFCount != 1 {
		t.Errorf("pxe sriov = %+v, want vf_count 1", s)
	}
	if s := iface(t, n, "eth2").SRIOV; s != nil {
		t.Errorf("eth2 sriov = %+v, want none", s)
	}
}

func TestInterfaceRemoval(t *testing.T) {
	for _, tt := range []struct{ name, ifaces string }{
		{"bang key", "    '!bond0': {}\n"},
		{"bang key null", "    '!bond0':\n"},
		{"null value", "    bond0: null\n"},
		{"empty value", "    bond0:\n"},
		{"tilde value", "    bond0: ~\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := compileNode(t, "n1", mergeHW, ifaceProfile, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  interfaces:
`+tt.ifaces)
			if want := []string{"pxe", "eth2"}; !reflect.DeepEqual(ifaceNames(n), want) {
				t.Errorf("interfaces = %q, want %q", ifaceNames(n), want)
			}
		})
	}
}

// An interface removed in a middle profile can be defined again further down.
func TestInterfaceRemovedThenRedefined(t *testing.T) {
	docs := []string{mergeHW, ifaceProfile, `
schema: drydock/HostProfile/v1
metadata: {name: mid}
data:
  host_profile: base
  interfaces:
    eth2: null
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: mid
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n2}
data:
  host_profile: mid
  interfaces:
    eth2:
      device_link: other
      networks: [x]
`}
	s := mustCompile(t, joinDocs(docs...))
	if got := ifaceNames(s.Node("n1")); !reflect.DeepEqual(got, []string{"pxe", "bond0"}) {
		t.Errorf("n1 interfaces = %q", got)
	}
	n2 := s.Node("n2")
	if got := ifaceNames(n2); !reflect.DeepEqual(got, []string{"pxe", "bond0", "eth2"}) {
		t.Fatalf("n2 interfaces = %q", got)
	}
	if e := iface(t, n2, "eth2"); e.DeviceLink != "other" || !reflect.DeepEqual(e.Slaves, []string{}) || !reflect.DeepEqual(e.Networks, []string{"x"}) {
		t.Errorf("n2 eth2 = %+v: nothing of the removed interface should come back", e)
	}
}

// deckhand_fullsite.yaml: controller01 overrides bond0 and keeps the profile's SR-IOV settings,
// unlike the original (B5).
func TestFullsiteController01KeepsSRIOV(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	for _, name := range []string{"controller01", "compute01", "compute02"} {
		b := iface(t, s.Node(name), "bond0")
		if b.SRIOV == nil || b.SRIOV.VFCount != 2 || b.SRIOV.TrustedMode {
			t.Errorf("%s bond0 sriov = %+v, want vf_count 2, trustedmode false", name, b.SRIOV)
		}
	}
}

const storageProfile = `
schema: drydock/HostProfile/v1
metadata: {name: base}
data:
  hardware_profile: hw
  storage:
    physical_devices:
      sda:
        labels: {role: rootdisk}
        partitions:
          - name: root
            size: 20g
            bootable: true
            labels: {purpose: os}
            filesystem: {mountpoint: /, fstype: ext4}
          - name: boot
            size: 1g
            filesystem: {mountpoint: /boot}
          - name: swap
            size: 4g
      sdb:
        volume_group: log_vg
      sdc:
        labels: {role: data}
    volume_groups:
      log_vg:
        vg_uuid: 11111111-1111-1111-1111-111111111111
        logical_volumes:
          - name: log_lv
            size: 500m
            filesystem: {mountpoint: /var/log, fstype: xfs}
          - name: audit_lv
            size: 100m
      data_vg:
        logical_volumes:
          - name: data_lv
            size: 10g
`

// B-S1 fixed: a child naming one device keeps every other parent device, in parent order.
func TestStorageKeepsUnmatchedParentDevices(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, storageProfile, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  storage:
    physical_devices:
      sdb:
        labels: {speed: fast}
      sdd:
        volume_group: data_vg
`)
	if want := []string{"sda", "sdb", "sdc", "sdd"}; !reflect.DeepEqual(devNames(n), want) {
		t.Fatalf("devices = %q, want %q", devNames(n), want)
	}
	sdb := device(t, n, "sdb")
	if sdb.VolumeGroup != "log_vg" || !reflect.DeepEqual(sdb.Labels, kvOf("speed", "fast")) {
		t.Errorf("sdb = %+v: volume group inherited, labels merged", sdb)
	}
	if sda := device(t, n, "sda"); len(sda.Partitions) != 3 {
		t.Errorf("sda partitions = %+v", sda.Partitions)
	}
	if names := []string{n.VolumeGroups[0].Name, n.VolumeGroups[1].Name}; len(n.VolumeGroups) != 2 || names[0] != "log_vg" || names[1] != "data_vg" {
		t.Errorf("volume groups = %+v", n.VolumeGroups)
	}
}

// B-S2 fixed: storage on a child whose parent has none is taken as it is.
func TestStorageEmptyParent(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, `
schema: drydock/HostProfile/v1
metadata: {name: base}
data:
  hardware_profile: hw
`, `
schema: drydock/HostProfile/v1
metadata: {name: emptystorage}
data:
  host_profile: base
  storage:
    physical_devices: {}
    volume_groups: {}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: emptystorage
  storage:
    physical_devices:
      sda:
        partitions:
          - name: root
            size: 10g
            filesystem: {mountpoint: /}
    volume_groups:
      vg0:
        logical_volumes:
          - name: lv0
            size: 1g
`)
	if !reflect.DeepEqual(devNames(n), []string{"sda"}) || len(device(t, n, "sda").Partitions) != 1 {
		t.Errorf("devices = %+v", n.Devices)
	}
	if v := vg(t, n, "vg0"); len(v.LogicalVolumes) != 1 || v.LogicalVolumes[0].Name != "lv0" {
		t.Errorf("vg0 = %+v", v)
	}
}

// B4 fixed: a merged volume group keeps its logical volumes; LVs merge by name.
func TestStorageMergedVGKeepsLVs(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, storageProfile, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  storage:
    volume_groups:
      log_vg:
        vg_uuid: 22222222-2222-2222-2222-222222222222
      data_vg:
        logical_volumes:
          - name: data_lv
            size: 20g
          - name: '!nothing'
          - name: extra_lv
            size: 1g
`)
	log := vg(t, n, "log_vg")
	if log.VGUUID != "22222222-2222-2222-2222-222222222222" {
		t.Errorf("log_vg uuid = %q", log.VGUUID)
	}
	if len(log.LogicalVolumes) != 2 || log.LogicalVolumes[0].Name != "log_lv" || log.LogicalVolumes[1].Name != "audit_lv" {
		t.Fatalf("log_vg LVs = %+v, want log_lv and audit_lv kept", log.LogicalVolumes)
	}
	if fs := log.LogicalVolumes[0].Filesystem; fs == nil || fs.Mountpoint != "/var/log" || fs.FSType != "xfs" {
		t.Errorf("log_lv filesystem = %+v", fs)
	}
	data := vg(t, n, "data_vg")
	if len(data.LogicalVolumes) != 2 || data.LogicalVolumes[0].Size != "20g" || data.LogicalVolumes[1].Name != "extra_lv" {
		t.Errorf("data_vg LVs = %+v", data.LogicalVolumes)
	}
}

func TestStorageRemovals(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, storageProfile, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  storage:
    physical_devices:
      '!sdc': {}
      sda:
        partitions:
          - name: '!swap'
    volume_groups:
      '!data_vg': {}
      log_vg:
        logical_volumes:
          - name: '!audit_lv'
`)
	if want := []string{"sda", "sdb"}; !reflect.DeepEqual(devNames(n), want) {
		t.Errorf("devices = %q, want %q", devNames(n), want)
	}
	var parts []string
	for _, p := range device(t, n, "sda").Partitions {
		parts = append(parts, p.Name)
	}
	if want := []string{"root", "boot"}; !reflect.DeepEqual(parts, want) {
		t.Errorf("sda partitions = %q, want %q", parts, want)
	}
	if len(n.VolumeGroups) != 1 || n.VolumeGroups[0].Name != "log_vg" {
		t.Fatalf("volume groups = %+v", n.VolumeGroups)
	}
	if lvs := n.VolumeGroups[0].LogicalVolumes; len(lvs) != 1 || lvs[0].Name != "log_lv" {
		t.Errorf("log_vg LVs = %+v", lvs)
	}
}

// B5 (partitions) fixed: a partition merged field by field keeps labels, filesystem and the
// bootable flag of its parent.
func TestPartitionFieldMergeKeepsLabels(t *testing.T) {
	n := compileNode(t, "n1", mergeHW, storageProfile, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  storage:
    physical_devices:
      sda:
        partitions:
          - name: root
            size: 30g
            labels: {tier: gold}
            filesystem: {mount_options: noatime}
          - name: data
            size: 5g
`)
	sda := device(t, n, "sda")
	var names []string
	for _, p := range sda.Partitions {
		names = append(names, p.Name)
	}
	if want := []string{"root", "boot", "swap", "data"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("partitions = %q, want %q", names, want)
	}
	root := sda.Partitions[0]
	if root.Size != "30g" || !root.Bootable {
		t.Errorf("root = %+v: size from child, bootable from parent", root)
	}
	if want := kvOf("purpose", "os", "tier", "gold"); !reflect.DeepEqual(root.Labels, want) {
		t.Errorf("root labels = %v, want %v", root.Labels, want)
	}
	want := &NodeFilesystem{Mountpoint: "/", FSType: "ext4", MountOptions: "noatime"}
	if !reflect.DeepEqual(root.Filesystem, want) {
		t.Errorf("root filesystem = %+v, want %+v", root.Filesystem, want)
	}
	if !reflect.DeepEqual(sda.Labels, kvOf("role", "rootdisk")) {
		t.Errorf("sda labels = %v", sda.Labels)
	}
}
