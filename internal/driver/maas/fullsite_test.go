package maas

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
)

// lvmNode is a node of the full site with a second storage layout: root on LVM over a
// partition and a whole disk, labelled and UUID'd filesystems, percentages, swap.
const lvmNode = `
---
schema: 'drydock/HostProfile/v1'
metadata: {schema: 'metadata/Document/v1', name: lvm-node, storagePolicy: cleartext, labels: {application: drydock}}
data:
  hardware_profile: HPGen9v3
  primary_network: mgmt
  oob: {type: ipmi, network: oob, account: admin, credential: admin}
  interfaces:
    bond0:
      device_link: gp
      slaves: [prim_nic01, prim_nic02]
      networks: [mgmt, private, public]
  storage:
    physical_devices:
      sda:
        partitions:
          - name: boot
            size: 1g
            bootable: true
            part_uuid: 84db9664-f45e-11e6-823d-080027ef795a
            filesystem: {mountpoint: /boot, fstype: ext4, fs_label: boot, fs_uuid: cdb74f1c-9e50-4e51-be1d-068b0e9ff69e}
          - name: pv1
            size: '>100g'
            volume_group: root_vg
      sdb:
        volume_group: root_vg
      sdc:
        partitions:
          - name: data
            size: 50%
            filesystem: {mountpoint: /data, fstype: xfs, fs_label: data, mount_options: noatime}
          - name: swap
            size: 8g
            filesystem: {fstype: swap}
    volume_groups:
      root_vg:
        vg_uuid: 0b3d9e3a-6c1e-4a33-9a40-3d5a0f1e2b11
        logical_volumes:
          - name: root
            size: 100g
            lv_uuid: 5d2c1b0a-1f2e-4d3c-8b4a-69788766a5b4
            filesystem: {mountpoint: /, fstype: ext4, fs_label: root, fs_uuid: 7f0e9d8c-2b3a-4c5d-9e6f-0a1b2c3d4e5f}
          - name: var
            size: '>10g'
            filesystem: {mountpoint: /var, fstype: xfs, fs_label: var}
  platform:
    image: xenial
    kernel: ga-16.04
    kernel_params: {quiet: true, intel_iommu: 'on'}
  metadata:
    tags: [lvm, storage]
    owner_data: {role: storage, foo: qux}
---
schema: 'drydock/BaremetalNode/v1'
metadata: {schema: 'metadata/Document/v1', name: storage01, storagePolicy: cleartext, labels: {application: drydock}}
data:
  host_profile: lvm-node
  addressing:
    - {network: mgmt, address: 172.16.1.31}
    - {network: private, address: 172.16.2.31}
    - {network: public, address: dhcp}
    - {network: oob, address: 172.16.100.31}
`

// fullSiteSources are the documents of the full site: deckhand_fullsite.yaml and the
// storage01 node.
func fullSiteSources(t testing.TB) []design.Source {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sampleDir, "deckhand_fullsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return []design.Source{{Name: "deckhand_fullsite.yaml", Data: data}, {Name: "lvm.yaml", Data: []byte(lvmNode)}}
}

// loadFullSite is deckhand_fullsite.yaml with the storage01 node added.
func loadFullSite(t testing.TB) *design.Site {
	t.Helper()
	in := design.Parse(fullSiteSources(t)...)
	if !in.OK() {
		for _, m := range in.Messages {
			t.Logf("%s %s: %s", m.Code, m.Level, m.Message)
		}
		t.Fatal("the full site does not ingest")
	}
	return design.Compile(in.Design)
}

// bootActions is the boot action context the orchestrator hands Deploy for a node.
func bootActions(n *design.Node) *driver.BootActions {
	key := []byte(n.Name + "-0123456789abcdef0123456789ab")[:32]
	return &driver.BootActions{Key: key, ReportURL: "http://drydock/api/v1.0/bootactions/",
		Actions:  []driver.BootActionRef{{ID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", Name: "helloworld"}},
		UserData: "#cloud-config\npackages:\n- [2ping, 3.2.1-1]\n- 0xffff\n"}
}

// TestFullSiteFieldByField enlists the full site's nodes, runs every node step through the
// driver and compares what MAAS holds with each node's applied model, field by field.
func TestFullSiteFieldByField(t *testing.T) {
	site := loadFullSite(t)
	e := newEnv(t, site, envOpts{})
	e.enlist()
	e.prepareSite()
	for _, n := range site.Nodes {
		e.commission(n)
		e.must("apply_node_networking", e.d.ApplyNetworking, n)
		e.must("apply_node_storage", e.d.ApplyStorage, n)
		e.must("apply_node_platform", e.d.ApplyPlatform, n)
		c := e.call(n, "deploy_node")
		c.BootActions = bootActions(n)
		if r := e.drive(e.d.Deploy, c, maxWait); r.Outcome != driver.Done {
			t.Fatalf("deploy %s: %s", n.Name, r.Message)
		}
	}
	for _, n := range site.Nodes {
		t.Run(n.Name, func(t *testing.T) {
			st, ok := e.sim.Snapshot(e.sids[n.Name])
			if !ok {
				t.Fatal("no machine")
			}
			checkMachine(t, e, n, st)
		})
	}
	e.checkNoKey()
}

func checkMachine(t *testing.T, e *env, n *design.Node, st maassim.MachineState) {
	t.Helper()
	checkMachineWith(t, e, n, st, bootActions(n))
}

// checkMachineWith compares a deployed machine with the node's applied model, the node
// having been deployed with the boot action context ba (nil: no boot action targets it).
func checkMachineWith(t *testing.T, e *env, n *design.Node, st maassim.MachineState, ba *driver.BootActions) {
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("hostname", st.Hostname, n.Name)
	eq("domain", st.Domain, n.Domain)
	eq("status", st.StatusName, "Deployed")
	eq("distro_series", st.DistroSeries, n.Image)
	eq("hwe_kernel", st.HWEKernel, n.Kernel)
	userData := ""
	if ba != nil {
		userData = ba.UserData
	}
	eq("user_data", string(st.UserData), userData)
	eq("power_type", st.PowerType, n.OOBType)
	eq("power_address", st.PowerParams["power_address"], bmcAddress(n))

	// Workload annotations are the owner data.
	if len(st.WorkloadAnnotations) != len(n.OwnerData) {
		t.Errorf("workload annotations %v, want %v", st.WorkloadAnnotations, n.OwnerData)
	}
	for _, kv := range n.OwnerData {
		eq("workload annotation "+kv.Key, st.WorkloadAnnotations[kv.Key], kv.Value)
	}

	// Kernel parameters and tags.
	cmdline, _ := n.KernelCommandLine()
	eq("kernel options", st.KernelOptions, cmdline)
	wantTags := append([]string{kernelParamsTag(n)}, n.Tags...)
	if ba != nil {
		wantTags = append(wantTags, bootActionTagPrefix(n)+ba.KeyHex())
	}
	sort.Strings(wantTags)
	gotTags := append([]string(nil), st.Tags...)
	sort.Strings(gotTags)
	eq("tags", strings.Join(gotTags, " "), strings.Join(wantTags, " "))

	checkNetworking(t, e, n, st)
	checkStorage(t, e, n, st)
}

func checkNetworking(t *testing.T, e *env, n *design.Node, st maassim.MachineState) {
	byName := map[string]maassim.InterfaceState{}
	for _, i := range st.Interfaces {
		byName[i.Name] = i
	}
	names := e.names[n.Name]
	gateway := ""
	for _, it := range n.Interfaces {
		l := e.site.Design.NetworkLink(it.DeviceLink)
		if noconfig(it, l) {
			continue
		}
		var parents []string
		for _, s := range it.Slaves {
			if names[s] == "" {
				t.Errorf("alias %s not resolved from lshw", s)
			}
			parents = append(parents, names[s])
		}
		maasName := it.Name
		if !l.Bonded() {
			maasName = parents[0]
		}
		ifc, ok := byName[maasName]
		if !ok {
			t.Errorf("interface %s (%s) missing (have %v)", it.Name, maasName, byName)
			continue
		}
		switch {
		case l.Bonded() && (ifc.Type != "bond" || !sameSet(ifc.Parents, parents)):
			t.Errorf("%s: %s of %v, want a bond of %v", it.Name, ifc.Type, ifc.Parents, parents)
		case !l.Bonded() && ifc.Type != "physical":
			t.Errorf("%s: %s, want the physical interface %s", it.Name, ifc.Type, maasName)
		}
		if ifc.Fabric != l.Name || ifc.MTU != l.MTU {
			t.Errorf("%s: fabric %s MTU %d, want %s %d", it.Name, ifc.Fabric, ifc.MTU, l.Name, l.MTU)
		}
		for _, p := range bondParams(l) {
			if !l.Bonded() {
				break
			}
			if got := paramString(ifc.Params[p[0]]); got != p[1] {
				t.Errorf("%s: %s = %q, want %q", it.Name, p[0], got, p[1])
			}
		}
		vlans := map[int]bool{}
		for _, netName := range it.Networks {
			nw := e.site.Network(netName)
			mode, ip := addressing(n, netName)
			target := ifc
			if netName != l.NativeNetwork {
				vid, _ := vlanID(nw)
				vlans[vid] = true
				child, ok := byName[maasName+"."+nw.VLAN]
				if !ok {
					t.Errorf("VLAN interface %s.%s for %s missing", maasName, nw.VLAN, netName)
					continue
				}
				if child.Type != "vlan" || child.VID != vid || !sameSet(child.Parents, []string{maasName}) || child.Fabric != l.Name {
					t.Errorf("%s: %s VID %d parents %v fabric %s", child.Name, child.Type, child.VID, child.Parents, child.Fabric)
				}
				if nw.MTU > 0 && child.MTU != nw.MTU {
					t.Errorf("%s: MTU %d, want %d", child.Name, child.MTU, nw.MTU)
				}
				target = child
			} else if vid, _ := vlanID(nw); ifc.VID != vid {
				t.Errorf("%s carries native network %s: VID %d, want %d", it.Name, netName, ifc.VID, vid)
			}
			if len(target.Links) != 1 {
				t.Errorf("%s: links %+v, want one to %s", target.Name, target.Links, nw.CIDR)
				continue
			}
			lk := target.Links[0]
			if lk.Subnet != nw.CIDR || lk.Mode != mode || lk.IP != ip && mode == "static" {
				t.Errorf("%s: link %+v, want %s %s %s", target.Name, lk, nw.CIDR, mode, ip)
			}
			if netName == n.PrimaryNetwork {
				gateway = nw.DefaultGateway()
				if !lk.DefaultGateway {
					t.Errorf("%s: the link to the primary network %s is not the default gateway", target.Name, netName)
				}
			}
		}
		for _, i := range st.Interfaces {
			if i.Type == "vlan" && sameSet(i.Parents, []string{maasName}) && !vlans[i.VID] {
				t.Errorf("VLAN interface %s is not in the design", i.Name)
			}
		}
	}
	if st.DefaultGateway != gateway {
		t.Errorf("default gateway %q, want %q", st.DefaultGateway, gateway)
	}
}

func paramString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func checkStorage(t *testing.T, e *env, n *design.Node, st maassim.MachineState) {
	devs := map[string]maassim.BlockDeviceState{}
	for _, d := range st.BlockDevices {
		devs[d.Name] = d
	}
	fsEq := func(what string, got *maassim.FilesystemState, want *design.NodeFilesystem) {
		t.Helper()
		if want == nil {
			return
		}
		if got == nil {
			t.Errorf("%s: no filesystem, want %s", what, want.FSType)
			return
		}
		mp := want.Mountpoint
		if got.FSType != want.FSType || got.MountPoint != mp || mp != "" && got.MountOptions != want.MountOptions ||
			want.FSLabel != "" && got.Label != want.FSLabel || want.FSUUID != "" && got.UUID != want.FSUUID {
			t.Errorf("%s: filesystem %+v, want %+v", what, *got, *want)
		}
	}
	sizeEq := func(what string, got int64, want string, total int64) {
		t.Helper()
		s, err := design.ParseSize(want)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case s.Min:
			if uint64(got) < s.Bytes {
				t.Errorf("%s: %d bytes, want at least %s", what, got, want)
			}
		case s.Percent:
			w := int64(s.Value) * total / 100
			if got > w || w-got > 16*mib {
				t.Errorf("%s: %d bytes, want %s of %d", what, got, want, total)
			}
		default:
			if got > int64(s.Bytes) || int64(s.Bytes)-got >= partAlign {
				t.Errorf("%s: %d bytes, want %s", what, got, want)
			}
		}
	}
	for _, dv := range n.Devices {
		name := e.names[n.Name][dv.Name]
		if name == "" {
			name = dv.Name
		}
		d, ok := devs[name]
		if !ok {
			t.Errorf("block device %s missing", name)
			continue
		}
		if dv.VolumeGroup != "" {
			if d.Filesystem == nil || d.Filesystem.FSType != "lvm-pv" || d.Filesystem.VolumeGroup != dv.VolumeGroup {
				t.Errorf("%s: filesystem %+v, want a physical volume of %s", name, d.Filesystem, dv.VolumeGroup)
			}
		}
		if len(d.Partitions) != len(dv.Partitions) {
			t.Errorf("%s: %d partitions, want %d", name, len(d.Partitions), len(dv.Partitions))
			continue
		}
		for k, p := range dv.Partitions {
			got := d.Partitions[k]
			what := name + " partition " + p.Name
			sizeEq(what, got.Size, p.Size, d.Size)
			if got.Bootable != p.Bootable {
				t.Errorf("%s: bootable %v", what, got.Bootable)
			}
			if p.PartUUID != "" && got.UUID != p.PartUUID {
				t.Errorf("%s: uuid %s, want %s", what, got.UUID, p.PartUUID)
			}
			if p.VolumeGroup != "" {
				if got.Filesystem == nil || got.Filesystem.FSType != "lvm-pv" || got.Filesystem.VolumeGroup != p.VolumeGroup {
					t.Errorf("%s: filesystem %+v, want a physical volume of %s", what, got.Filesystem, p.VolumeGroup)
				}
				continue
			}
			fsEq(what, got.Filesystem, p.Filesystem)
			if fs := p.Filesystem; fs != nil && (fs.Mountpoint == "/" || fs.Mountpoint == "/boot") && st.BootDisk != name {
				t.Errorf("boot disk %s, want %s (it holds %s)", st.BootDisk, name, fs.Mountpoint)
			}
		}
	}
	if len(st.VolumeGroups) != len(n.VolumeGroups) {
		t.Errorf("%d volume groups, want %d", len(st.VolumeGroups), len(n.VolumeGroups))
	}
	for _, vg := range n.VolumeGroups {
		var got *maassim.VolumeGroupState
		for i := range st.VolumeGroups {
			if st.VolumeGroups[i].Name == vg.Name {
				got = &st.VolumeGroups[i]
			}
		}
		if got == nil {
			t.Errorf("volume group %s missing", vg.Name)
			continue
		}
		if vg.VGUUID != "" && got.UUID != vg.VGUUID {
			t.Errorf("volume group %s: uuid %s", vg.Name, got.UUID)
		}
		var members []string
		for _, dv := range n.Devices {
			if dv.VolumeGroup == vg.Name {
				members = append(members, dv.Name)
			}
			for k, p := range dv.Partitions {
				if p.VolumeGroup == vg.Name {
					members = append(members, dv.Name+"-part"+itoa(k+1))
				}
			}
		}
		if !sameSet(got.Devices, members) {
			t.Errorf("volume group %s on %v, want %v", vg.Name, got.Devices, members)
		}
		if len(got.LogicalVolumes) != len(vg.LogicalVolumes) {
			t.Errorf("volume group %s: logical volumes %v", vg.Name, got.LogicalVolumes)
		}
		for _, lv := range vg.LogicalVolumes {
			d, ok := devs[vg.Name+"-"+lv.Name]
			if !ok || !d.Virtual || d.VolumeGroup != vg.Name {
				t.Errorf("logical volume %s-%s missing (%+v)", vg.Name, lv.Name, d)
				continue
			}
			sizeEq("logical volume "+lv.Name, d.Size, lv.Size, got.Size)
			if lv.LVUUID != "" && d.UUID != lv.LVUUID {
				t.Errorf("logical volume %s: uuid %s, want %s", lv.Name, d.UUID, lv.LVUUID)
			}
			fsEq("logical volume "+lv.Name, d.Filesystem, lv.Filesystem)
		}
	}
}
