package validate_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
)

// Patterns found in real Airship site designs. Each one, in an otherwise valid design, must
// validate with zero errors; where a message about it is allowed at all, its level is capped.

// atMost asserts that every message mentioning one of the words has at most the given level.
func atMost(t *testing.T, rep *validate.Report, level design.Level, words ...string) {
	t.Helper()
	rank := map[design.Level]int{design.LevelInfo: 0, design.LevelWarning: 1, design.LevelError: 2}
	for _, m := range rep.Messages {
		for _, w := range words {
			if strings.Contains(m.Message, w) && rank[m.Level] > rank[level] {
				t.Errorf("message about %q: want at most %s, got %s %s: %s", w, level, m.Level, m.Rule, m.Message)
			}
		}
	}
}

func TestRealWorld(t *testing.T) {
	t.Run("racks without Rack documents", func(t *testing.T) {
		rep := loadBase(t).
			drop(kRack, "rack01").
			set(kNode, "cmp02", "metadata.rack", "rack02").
			set(kBA, "site-setup", "node_filter", y("{filter_set_type: union, filter_set: [{filter_type: union, rack_names: [rack01, rack02]}]}")).
			run()
		assertClean(t, rep)
		atMost(t, rep, design.LevelInfo, "rack01", "rack02")
		if got := rep.Site.BootActions[0].Targets; strings.Join(got, ",") != "cmp01,cmp02,vm01" {
			t.Errorf("rack_names targets: %v", got)
		}
	})

	t.Run("kernel device names that are not hardware-profile aliases", func(t *testing.T) {
		rep := loadBase(t).
			// Lists merge with the profile's: '!name' drops the inherited aliases.
			set(kNode, "vm01", "interfaces.pxe.slaves", y("[ens3, '!pxe_nic01']")).
			set(kNode, "vm01", "interfaces.bond0.slaves", y("[ens4, ens5, '!data_nic01', '!data_nic02']")).
			set(kNode, "vm01", "storage.physical_devices", y(`{
				'!bootdisk': {}, '!datadisk': {},
				vda: {partitions: [
					{name: root, size: 30g, filesystem: {mountpoint: /}},
					{name: boot, size: 1g, filesystem: {mountpoint: /boot}},
					{name: var, size: '>10g', filesystem: {mountpoint: /var}}]},
				vdb: {volume_group: data_vg}}`)).
			run()
		assertClean(t, rep)
		atMost(t, rep, design.LevelInfo, "ens3", "ens4", "ens5", "vda", "vdb")
		n := rep.Site.Node("vm01")
		if sel := n.Interfaces[0].Selectors; len(sel) != 1 || sel[0].Type != "name" || sel[0].Address != "ens3" {
			t.Errorf("ens3 should be selected by kernel name: %+v", sel)
		}
		if len(n.Devices) != 2 || n.Devices[0].Name != "vda" {
			t.Errorf("vm01 devices: %+v", n.Devices)
		}
	})

	t.Run("root exactly 20g and boot exactly 1g", func(t *testing.T) {
		rep := loadBase(t).
			set(kProfile, "defaults", bootdiskParts+".0.size", "20g").
			set(kProfile, "defaults", bootdiskParts+".1.size", "1g").
			run()
		assertClean(t, rep)
	})

	t.Run("sizes with > and %", func(t *testing.T) {
		rep := loadBase(t).
			set(kProfile, "defaults", bootdiskParts, y(`[
				{name: root, size: '>20g', filesystem: {mountpoint: /}},
				{name: boot, size: 1g, filesystem: {mountpoint: /boot}},
				{name: var, size: '30%', filesystem: {mountpoint: /var}}]`)).
			set(kProfile, "defaults", dataVGLVs, y(`[
				{name: log_lv, size: '>10%', filesystem: {mountpoint: /var/log}},
				{name: lib_lv, size: '90%', filesystem: {mountpoint: /var/lib/nova}}]`)).
			run()
		assertClean(t, rep)
	})

	t.Run("one 99% partition alone on a device", func(t *testing.T) {
		rep := loadBase(t).
			set(kProfile, "defaults", "storage.physical_devices.sdc", y("{partitions: [{name: data, size: '99%', filesystem: {mountpoint: /srv}}]}")).
			run()
		assertClean(t, rep)
	})

	t.Run("a node that sets only oob.account keeps the rest of its profile's oob", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "oob", y("{account: root}")).run()
		assertClean(t, rep)
		n := rep.Site.Node("cmp01")
		want := map[string]string{"network": "oob", "account": "root", "credential": "password"}
		for k, v := range want {
			if got, _ := n.OOBParams.Get(k); got != v {
				t.Errorf("oob.%s = %q, want %q (all: %v)", k, got, v, n.OOBParams)
			}
		}
		if n.OOBType != "ipmi" {
			t.Errorf("oob type %q, want ipmi", n.OOBType)
		}
	})

	t.Run("a replacement profile leaves keys of another OOB type behind", func(t *testing.T) {
		// compute replaced by a libvirt variant that kept the IPMI keys, and an IPMI node
		// that kept a libvirt_uri.
		rep := loadBase(t).
			set(kProfile, "compute", "oob", y("{type: libvirt, libvirt_uri: 'qemu+ssh://virtuser@172.16.1.5/system', account: admin, credential: password, network: oob}")).
			set(kNode, "cmp01", "metadata.boot_mac", "52:54:00:00:00:01").
			set(kNode, "cmp02", "metadata.boot_mac", "52:54:00:00:00:02").
			set(kNode, "cmp02", "oob", y("{type: ipmi}")).
			run()
		assertClean(t, rep)
		if n := rep.Site.Node("cmp01"); n.OOBType != "libvirt" {
			t.Errorf("cmp01 oob type %q", n.OOBType)
		}
		if n := rep.Site.Node("cmp02"); n.OOBType != "ipmi" || !n.OOBParams.Has("libvirt_uri") {
			t.Errorf("cmp02 oob %q %v", n.OOBType, n.OOBParams)
		}
	})

	t.Run("SR-IOV ports without device_link or networks", func(t *testing.T) {
		rep := loadBase(t).
			set(kProfile, "compute", "interfaces.ens3f0", y("{sriov: {vf_count: 16, trustedmode: false}}")).
			set(kProfile, "compute", "interfaces.ens3f1", y("{slaves: [ens3f1]}")).
			run()
		assertClean(t, rep)
	})

	t.Run("interface keys beyond the documented ones", func(t *testing.T) {
		rep := loadBase(t).
			set(kProfile, "compute", "interfaces.ens3f0", y(`{
				sriov: {num_vfs: 32, promisc: false, device: ens3f0},
				ovs_dpdk: {enabled: true, bridge: br-phy, pci_address: '0000:5e:00.0'},
				pci_whitelist: [{address: '0000:5e:00.1'}, {vendor_id: '8086', product_id: '154c'}],
				labels: {noconfig: 'true'}}`)).
			run()
		assertClean(t, rep)
		var it *design.NodeInterface
		for i, x := range rep.Site.Node("cmp01").Interfaces {
			if x.Name == "ens3f0" {
				it = &rep.Site.Node("cmp01").Interfaces[i]
			}
		}
		if it == nil || it.SRIOV == nil || it.SRIOV.Extra["num_vfs"] == nil || it.Extra["ovs_dpdk"] == nil || it.Extra["pci_whitelist"] == nil {
			t.Errorf("extra keys lost: %+v", it)
		}
	})

	t.Run("an address on a network the link allows but no interface lists", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "interfaces.bond0.networks", y("['!storage']")).run()
		assertClean(t, rep)
	})

	t.Run("networks allowed on no link and used by no node", func(t *testing.T) {
		rep := loadBase(t).
			doc(kNet, "ceph-cluster", "{cidr: 10.30.0.0/24, vlan: '300', ranges: [{type: static, start: 10.30.0.10, end: 10.30.0.200}]}").
			doc(kNet, "external", "{cidr: 192.0.2.0/24, routes: [{subnet: 0.0.0.0/0, gateway: 192.0.2.1, metric: 50}]}").
			run()
		assertClean(t, rep)
	})

	t.Run("a dhcp-only network with static addresses outside the range", func(t *testing.T) {
		rep := loadBase(t).
			set(kNet, "pxe", "ranges", y("[{type: dhcp, start: 172.16.0.100, end: 172.16.0.250}]")).
			set(kNode, "cmp01", "addressing.0.address", "172.16.0.21").
			set(kNode, "vm01", "addressing.0.address", "172.16.0.251").
			run()
		assertClean(t, rep)
	})

	t.Run("a static range ending at the broadcast address", func(t *testing.T) {
		rep := loadBase(t).
			set(kNet, "mgmt", "ranges.1.end", "172.16.1.255").
			set(kNet, "private", "ranges.0.end", "172.16.2.255").
			run()
		assertClean(t, rep)
	})

	t.Run("networks with no mtu", func(t *testing.T) {
		v := loadBase(t)
		for _, n := range []string{"pxe", "mgmt", "private", "storage"} {
			v.del(kNet, n, "mtu")
		}
		assertClean(t, v.run())
	})

	t.Run("network MTU equal to the link MTU", func(t *testing.T) {
		rep := loadBase(t).
			set(kNet, "mgmt", "mtu", 9000).
			set(kNet, "storage", "mtu", 9000).
			set(kNet, "oob", "mtu", 1500).
			run()
		assertClean(t, rep)
	})

	t.Run("an 802.1q link without default_network whose networks are all tagged", func(t *testing.T) {
		rep := loadBase(t).del(kLink, "gp", "trunking.default_network").run()
		assertClean(t, rep)
	})

	t.Run("an 802.1q trunk on a link with bonding disabled", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "gp", "bonding", y("{mode: disabled}")).run()
		assertClean(t, rep)
	})

	t.Run("bond delays above the mon rate", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "gp", "bonding", y("{mode: 802.3ad, hash: layer3+4, peer_rate: slow, mon_rate: 100, up_delay: 1000, down_delay: 3000}")).run()
		assertClean(t, rep)
	})

	t.Run("two Region documents with different names", func(t *testing.T) {
		rep := loadBase(t).add(`
schema: drydock/Region/v1
metadata:
  schema: metadata/Document/v1
  name: testsite-east
data:
  authorized_keys: []
`).run()
		assertClean(t, rep)
		if len(rep.Site.Design.Regions) != 2 {
			t.Errorf("regions: %d", len(rep.Site.Design.Regions))
		}
	})

	t.Run("concrete host profiles used by no node, with dangling references", func(t *testing.T) {
		rep := loadBase(t).
			doc(kProfile, "cp-gen9", `{host_profile: defaults, hardware_profile: hp-gen9, primary_network: oam,
				interfaces: {bond0: {device_link: data-link, slaves: [nic01], networks: [oam, overlay]}},
				platform: {kernel_params: {isolcpus: 'hardwareprofile:cpuset.nope', hugepagesz: 'hardwareprofile:hugepages.nope.size', hugepages: 'hardwareprofile:hugepages.nope.count'}}}`).
			doc(kProfile, "orphan", `{host_profile: global-base, oob: {type: ipmi}}`).
			doc(kProfile, "spare-compute", `{host_profile: compute}`).
			run()
		assertClean(t, rep)
		atMost(t, rep, design.LevelWarning, "cp-gen9", "orphan", "spare-compute", "hp-gen9", "oam", "data-link")
		if len(withMessage(msgsOf(rep, "node.references"), "used by no node")) == 0 {
			t.Error("the dangling references of unused profiles should be mentioned as warnings")
		}
	})

	t.Run("kernel parameters of every kind", func(t *testing.T) {
		rep := loadBase(t).
			set(kProfile, "compute", "platform.kernel_params.rcu_nocb_poll", true).
			set(kProfile, "compute", "platform.kernel_params.nohz_full", "4-43").
			set(kProfile, "compute", "platform.kernel_params.nr_cpus", 64).
			set(kProfile, "compute", "platform.kernel_params.dyndbg", "file drivers/usb/* +p").
			set(kProfile, "compute", "platform.kernel_params.rd\\.break", "pre-mount").
			set(kProfile, "compute", "platform.kernel_params.systemd\\.unified_cgroup_hierarchy", "cgroup_no_v1=all").
			set(kNode, "cmp01", "platform.kernel_params.hugepagesz", "2M").
			set(kNode, "cmp01", "platform.kernel_params.hugepages", 1024).
			run()
		assertClean(t, rep)
		cmdline, err := rep.Site.Node("cmp01").KernelCommandLine()
		if err != nil {
			t.Fatal(err)
		}
		fields := " " + cmdline + " "
		for _, want := range []string{" hugepagesz=2M hugepages=1024 ", " rcu_nocb_poll ", " nr_cpus=64 ", " nohz_full=4-43 ",
			" isolcpus=4-43 ", `dyndbg="file drivers/usb/* +p"`, " rd.break=pre-mount ", " systemd.unified_cgroup_hierarchy=cgroup_no_v1=all "} {
			if !strings.Contains(fields, want) {
				t.Errorf("command line %q lacks %q", cmdline, want)
			}
		}
		if strings.Contains(cmdline, "rcu_nocb_poll=") {
			t.Errorf("a true value must render as the bare flag: %q", cmdline)
		}
		if !strings.HasPrefix(cmdline, "hugepagesz=") {
			t.Errorf("hugepagesz and hugepages come first: %q", cmdline)
		}
	})

	t.Run("a pkg_list entry with a null version", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "assets.2.data.jq", nil).run()
		assertClean(t, rep)
	})

	t.Run("boot actions without node_filter", func(t *testing.T) {
		rep := loadBase(t).
			doc(kBA, "motd", "{assets: [{type: file, path: /etc/motd.d/10-site, permissions: '644', data: 'welcome', data_pipeline: [utf8_decode]}]}").
			run()
		assertClean(t, rep)
		for _, ba := range rep.Site.BootActions {
			if strings.Join(ba.Targets, ",") != "cmp01,cmp02,vm01" {
				t.Errorf("%s targets %v, want every node", ba.Name, ba.Targets)
			}
		}
	})

	t.Run("node filters on node_labels target nodes in design order", func(t *testing.T) {
		v := loadBase(t).clone(kNode, "cmp01", "aaa01")
		for i, a := range []string{"dhcp", "172.16.100.21", "172.16.1.21", "172.16.2.21", "172.16.3.21"} {
			v.set(kNode, "aaa01", "addressing."+strconv.Itoa(i)+".address", a)
		}
		v.set(kNode, "aaa01", "metadata.owner_data", y("{gpu: nvidia}"))
		v.set(kNode, "cmp02", "metadata.owner_data", y("{gpu: nvidia}"))
		v.doc(kBA, "gpu-drivers", `{node_filter: {filter_set_type: union, filter_set: [{filter_type: intersection, node_labels: {gpu: nvidia, role: compute}}]},
			assets: [{type: pkg_list, data: {nvidia-driver-535: null}}]}`)
		rep := v.run()
		assertClean(t, rep)
		var gpu *design.AppliedBootAction
		for _, ba := range rep.Site.BootActions {
			if ba.Name == "gpu-drivers" {
				gpu = ba
			}
		}
		if gpu == nil {
			t.Fatal("no gpu-drivers boot action")
		}
		// Design order (cmp01, cmp02, vm01, aaa01), not name order.
		if got := strings.Join(gpu.Targets, ","); got != "cmp02,aaa01" {
			t.Errorf("node_labels targets %s, want cmp02,aaa01", got)
		}
		if msgs := msgsOf(rep, "bootaction.definition"); len(msgs) != 1 {
			t.Errorf("bootaction.definition: want only the success message, got:\n%s", dump(msgs))
		}
	})
}
