package schema

import (
	"reflect"
	"strings"
	"testing"
)

// passCases are patterns real sites use; every one must validate cleanly.
var passCases = []struct {
	name, kind, yaml string
}{
	{"interface value null", "BaremetalNode", `
interfaces:
  bond0: null
  eth2:
`},
	{"interface removal key", "HostProfile", `
interfaces:
  '!eth1': {}
  '!eth2': null
`},
	{"interface with extra keys", "HostProfile", `
interfaces:
  ens3f0:
    device_link: dp
    slaves: [dp_nic01]
    networks: [sriov-net]
    sriov:
      num_vfs: 4
      promisc: false
      device: x
    ovs_dpdk:
      bridge: br-phy
      ports: 2
    pci_whitelist:
      - address: '0000:3b:00.0'
      - vendor_id: '8086'
    labels:
      noconfig: true
`},
	{"interface sriov with known keys", "HostProfile", `
interfaces:
  p1p1:
    slaves: [sriov_nic01]
    sriov:
      vf_count: 32
      trustedmode: false
`},
	{"interface without device_link and networks", "BaremetalNode", `
interfaces:
  p3p2:
    slaves: [sriov_nic02]
  eth9: {}
`},
	{"oob libvirt with account and credential", "BaremetalNode", `
oob:
  type: libvirt
  libvirt_uri: qemu+ssh://virtuser@10.0.0.1/system
  account: admin
  credential: secret
`},
	{"oob with driver keys of other scalar types", "HostProfile", `
oob:
  type: redfish
  network: oob
  redfish_verify_ssl: false
  port: 623
  timeout: 1.5
`},
	{"kernel params of every scalar type", "HostProfile", `
platform:
  image: xenial
  kernel: hwe-16.04
  kernel_params:
    quiet: true
    rcu_nocb_poll: true
    nosmt: false
    hugepages: 300
    console: 'ttyS1,115200n8'
    isolcpus: hardwareprofile:cpuset.kvm
    rd.break: 'pre-mount ro'
    root: 'UUID=1234-abcd'
    'modprobe.blacklist': 'nouveau foo=bar'
    ratio: 0.5
`},
	{"pkg_list with null version", "BootAction", `
assets:
  - type: pkg_list
    data:
      2ping: '3.2.1-1'
      docker.io:
      ceph-common: null
`},
	{"boot action without node_filter", "BootAction", `
signaling: false
assets:
  - path: /etc/systemd/system/promjoin.service
    type: unit
    permissions: '444'
    data: "[Unit]\nDescription=x\n"
    data_pipeline: [utf8_decode]
  - path: /opt/thing.sh
    type: file
    permissions: '0755'
    location: http://example.com/{{ node.hostname }}.sh
    location_pipeline: [template]
`},
	{"boot action with full node_filter", "BootAction", `
node_filter:
  filter_set_type: intersection
  filter_set:
    - filter_type: union
      node_names: [compute01]
      node_tags: [gpu]
      rack_names: [rack1]
      node_labels: {role: compute}
      rack_labels: {zone: a}
assets:
  - type: pkg_list
    location: http://example.com/pkgs
`},
	{"vlan as integer", "Network", `
cidr: 10.0.0.0/24
vlan: 100
`},
	{"vlan as string", "Network", `
cidr: 10.0.0.0/24
vlan: '100'
`},
	{"network without mtu", "Network", `
cidr: 172.16.1.0/24
ranges:
  - type: reserved
    start: 172.16.1.1
    end: 172.16.1.10
routes:
  - routedomain: storage
    gateway: 172.16.1.1
    metric: 10
labels: {purpose: storage}
`},
	{"region repositories", "Region", `
repositories:
  remove_unlisted: true
  main_archive:
    url: http://archive.ubuntu.com/ubuntu
    repo_type: apt
    distributions: [xenial]
    subrepos: [updates, security]
    components: [main, universe]
    arches: [amd64]
    options: {trusted: 'yes'}
  centos:
    url: http://mirror.centos.org/centos
    repo_type: rpm
`},
	{"storage with removal markers and full partitions", "HostProfile", `
storage:
  physical_devices:
    '!sdc': {}
    bootdisk:
      labels: {bootdrive: 'true'}
      partitions:
        - name: root
          size: 30g
          bootable: true
          part_uuid: 0f5a4f8c-7d8e-4b2a-9c1d-3e6f7a8b9c0d
          labels: {a: b}
          filesystem: {mountpoint: /, fstype: ext4, mount_options: defaults, fs_uuid: x, fs_label: root}
        - name: '!var'
        - name: journal
          size: '>10g'
    sdb:
      volume_group: log_vg
      vendor_hint: ignored
  volume_groups:
    log_vg:
      vg_uuid: abc
      logical_volumes:
        - name: log_lv
          size: 500m
          lv_uuid: def
          filesystem: {mountpoint: /var/log, fstype: xfs}
`},
	{"hardware profile", "HardwareProfile", `
vendor: Dell
generation: '8'
boot_mode: uefi
bootstrap_protocol: pxe
pxe_interface: 0
device_aliases:
  gp_nic01:
    address: 'regexp:0000:(19|01):00\.0'
    bus_type: pci
  bootdisk:
    address: '0:2.0.0'
    bus_type: scsi
    dev_type: 'RAID-1 SSDs'
cpu_sets:
  dpdk-lcore-mask: '0xF0000000000F'
hugepages:
  dpdk: {size: 1G, count: 0}
`},
	{"network link bonding", "NetworkLink", `
bonding:
  mode: active-backup
  mon_rate: 100
  up_delay: 0
  down_delay: 200
mtu: 9100
linkspeed: auto
trunking: {mode: 802.1q, default_network: oam}
allowed_networks: []
labels: {x: 1}
`},
	{"rack", "Rack", `
tor_switches:
  sw1: {mgmt_ip: 1.1.1.1, sdn_api_uri: 'https://sdn/x'}
location: {clli: HSTNTXMOCG0, grid: EG12}
local_networks: [pxe-rack1]
labels: {zone: a}
`},
}

func TestPatternsThatMustPass(t *testing.T) {
	for _, c := range passCases {
		t.Run(c.name, func(t *testing.T) {
			if vs := mustValidate(t, c.kind, decodeYAML(t, c.yaml)); vs != nil {
				t.Errorf("expected no violations, got %v", vs)
			}
		})
	}
}

// failCases must each produce exactly one violation, at path, whose message
// contains message.
var failCases = []struct {
	name, kind, yaml string
	path             []string
	message          string
}{
	{"nested kernel_params object", "HostProfile", `
platform:
  kernel_params:
    isolcpus: {cpus: '2-4'}
`, []string{"platform", "kernel_params", "isolcpus"}, "expected string, number or boolean, got object"},
	{"kernel_params list", "BaremetalNode", `
platform:
  kernel_params:
    console: [ttyS0, tty0]
`, []string{"platform", "kernel_params", "console"}, "expected string, number or boolean, got array"},
	{"bonding mode balanced-rr", "NetworkLink", `
bonding: {mode: balanced-rr}
allowed_networks: [a]
`, []string{"bonding", "mode"}, `"balanced-rr" is not a valid value; expected one of: disabled, 802.3ad, balance-rr, active-backup`},
	{"addressing item missing address", "BaremetalNode", `
addressing:
  - network: pxe
    address: dhcp
  - network: mgmt
`, []string{"addressing", "1"}, `missing required property "address"`},
	{"host profile with addressing", "HostProfile", `
addressing:
  - {network: pxe, address: dhcp}
`, []string{}, `additional property "addressing" is not allowed`},
	{"unknown top-level key", "Network", `
cidr: 10.0.0.0/8
vlna: '10'
`, []string{}, `additional property "vlna" is not allowed; allowed properties are: cidr, dhcp_relay, dns, labels, mtu, ranges, routedomain, routes, vlan`},
	{"permissions 999", "BootAction", `
assets:
  - {type: file, path: /tmp/x, permissions: '999', data: x}
`, []string{"assets", "0", "permissions"}, `"999" is not valid; expected an octal file mode`},
	{"permissions with junk around digits", "BootAction", `
assets:
  - {type: file, path: /tmp/x, permissions: 'a644', data: x}
`, []string{"assets", "0", "permissions"}, "octal file mode"},
	{"node_filter unknown filter_set_type", "BootAction", `
node_filter:
  filter_set_type: all
  filter_set: []
assets: []
`, []string{"node_filter", "filter_set_type"}, `"all" is not a valid value; expected one of: intersection, union`},
	{"hugepages count -1", "HardwareProfile", `
hugepages:
  dpdk: {size: 1G, count: -1}
`, []string{"hugepages", "dpdk", "count"}, "-1 is too small; expected a value of at least 0"},
	{"hugepages typo in key", "HardwareProfile", `
hugepages:
  dpdk: {size: 1G, count: 4, cout: 5}
`, []string{"hugepages", "dpdk"}, `additional property "cout" is not allowed`},
	{"vlan as list", "Network", `
cidr: 10.0.0.0/8
vlan: [1]
`, []string{"vlan"}, "expected string or integer, got array"},
	{"mtu quoted", "Network", `
cidr: 10.0.0.0/8
mtu: '1500'
`, []string{"mtu"}, `expected integer, got string "1500"`},
	{"mtu fractional", "NetworkLink", `
mtu: 1500.5
allowed_networks: [a]
`, []string{"mtu"}, "expected integer, got number 1500.5"},
	{"network without cidr", "Network", `
vlan: '5'
`, []string{}, `missing required property "cidr"`},
	{"range missing end", "Network", `
cidr: 10.0.0.0/8
ranges:
  - {type: static, start: 10.0.0.1}
`, []string{"ranges", "0"}, `missing required property "end"`},
	{"range of unknown type", "Network", `
cidr: 10.0.0.0/8
ranges:
  - {type: floating, start: 10.0.0.1, end: 10.0.0.2}
`, []string{"ranges", "0", "type"}, `"floating" is not a valid value`},
	{"dns servers as list", "Network", `
cidr: 10.0.0.0/8
dns: {domain: x, servers: [8.8.8.8]}
`, []string{"dns", "servers"}, "expected string, got array"},
	{"link without allowed_networks", "NetworkLink", `
mtu: 1500
`, []string{}, `missing required property "allowed_networks"`},
	{"bond delay negative", "NetworkLink", `
bonding: {mode: 802.3ad, up_delay: -5}
allowed_networks: [a]
`, []string{"bonding", "up_delay"}, "at least 0"},
	{"trunking mode unknown", "NetworkLink", `
trunking: {mode: tagged}
allowed_networks: [a]
`, []string{"trunking", "mode"}, `"tagged" is not a valid value; expected one of: disabled, 802.1q`},
	{"repository without url", "Region", `
repositories:
  docker: {repo_type: apt}
`, []string{"repositories", "docker"}, `missing required property "url"`},
	{"repository of unknown type", "Region", `
repositories:
  docker: {repo_type: yum, url: http://x}
`, []string{"repositories", "docker", "repo_type"}, `"yum" is not valid; expected a repository type: apt or rpm`},
	{"remove_unlisted not boolean", "Region", `
repositories:
  remove_unlisted: 'yes'
`, []string{"repositories", "remove_unlisted"}, "expected boolean, got string"},
	{"tag definition of unknown type", "Region", `
tag_definitions:
  - {tag: t, definition_type: other, definition: x}
`, []string{"tag_definitions", "0", "definition_type"}, `"other" is not a valid value; expected one of: lshw_xpath`},
	{"tor switch field of wrong type", "Rack", `
tor_switches:
  sw1: {mgmt_ip: [1.1.1.1]}
`, []string{"tor_switches", "sw1", "mgmt_ip"}, "expected string, got array"},
	{"device alias without bus_type", "HardwareProfile", `
device_aliases:
  nic: {address: '0000:00:03.0'}
`, []string{"device_aliases", "nic"}, `missing required property "bus_type"`},
	{"boot_mode unknown", "HardwareProfile", `
boot_mode: efi
`, []string{"boot_mode"}, `"efi" is not a valid value; expected one of: bios, uefi`},
	{"generation unquoted", "HardwareProfile", `
generation: 8
`, []string{"generation"}, "expected string, got number 8"},
	{"physical device given as string", "HostProfile", `
storage:
  physical_devices:
    sdb: invalid_device
`, []string{"storage", "physical_devices", "sdb"}, `expected object, got string "invalid_device"`},
	{"partition without name", "HostProfile", `
storage:
  physical_devices:
    sda:
      partitions:
        - size: 10g
`, []string{"storage", "physical_devices", "sda", "partitions", "0"}, `missing required property "name"`},
	{"partition filesystem typo", "HostProfile", `
storage:
  physical_devices:
    sda:
      partitions:
        - name: root
          filesystem: {mountpoint: /, fs_type: ext4}
`, []string{"storage", "physical_devices", "sda", "partitions", "0", "filesystem"}, `additional property "fs_type" is not allowed`},
	{"logical volume without name", "HostProfile", `
storage:
  volume_groups:
    vg: {logical_volumes: [{size: 1g}]}
`, []string{"storage", "volume_groups", "vg", "logical_volumes", "0"}, `missing required property "name"`},
	{"interface slaves not a list", "BaremetalNode", `
interfaces:
  bond0: {slaves: prim_nic01}
`, []string{"interfaces", "bond0", "slaves"}, `expected array, got string "prim_nic01"`},
	{"interface slave not a string", "BaremetalNode", `
interfaces:
  bond0: {slaves: [a, {b: c}]}
`, []string{"interfaces", "bond0", "slaves", "1"}, "expected string, got object"},
	{"interface given as list", "HostProfile", `
interfaces:
  bond0: [a]
`, []string{"interfaces", "bond0"}, "expected object or null, got array"},
	{"sriov vf_count quoted", "HostProfile", `
interfaces:
  p1p1: {sriov: {vf_count: '32'}}
`, []string{"interfaces", "p1p1", "sriov", "vf_count"}, `expected integer, got string "32"`},
	{"oob value that is a mapping", "BaremetalNode", `
oob:
  type: ipmi
  extra: {a: b}
`, []string{"oob", "extra"}, "expected string, number or boolean, got object"},
	{"platform unknown key", "HostProfile", `
platform:
  kernel_param: {quiet: true}
`, []string{"platform"}, `additional property "kernel_param" is not allowed; allowed properties are: image, kernel, kernel_params`},
	{"metadata unknown key", "BaremetalNode", `
metadata:
  labels: {a: b}
`, []string{"metadata"}, `additional property "labels" is not allowed; allowed properties are: boot_mac, owner_data, rack, tags`},
	{"owner_data value not a string", "BaremetalNode", `
metadata:
  owner_data: {sriov: true}
`, []string{"metadata", "owner_data", "sriov"}, "expected string, got boolean true"},
	{"asset without type", "BootAction", `
assets:
  - {path: /tmp/x, data: x}
`, []string{"assets", "0"}, `missing required property "type"`},
	{"asset relative path", "BootAction", `
assets:
  - {type: file, path: tmp/x, data: x}
`, []string{"assets", "0", "path"}, `"tmp/x" is not valid; expected an absolute path starting with "/"`},
	{"unit asset with mapping data", "BootAction", `
assets:
  - {type: unit, path: /etc/x.service, data: {a: b}}
`, []string{"assets", "0", "data"}, "expected string, got object (unit and file assets take their data as a string)"},
	{"file asset with list data", "BootAction", `
assets:
  - {type: file, path: /etc/x, data: [a, b]}
`, []string{"assets", "0", "data"}, "expected string, got array (unit and file assets take their data as a string)"},
	{"pkg_list version not a string", "BootAction", `
assets:
  - type: pkg_list
    data: {foo: [1]}
`, []string{"assets", "0", "data", "foo"}, "expected string or null, got array"},
	{"location_pipeline segment", "BootAction", `
assets:
  - {type: file, path: /x, location: http://x, location_pipeline: [base64_decode]}
`, []string{"assets", "0", "location_pipeline", "0"}, `"base64_decode" is not a valid value; expected one of: template`},
	{"filter without filter_type", "BootAction", `
node_filter:
  filter_set_type: union
  filter_set:
    - node_names: [a]
assets: []
`, []string{"node_filter", "filter_set", "0"}, `missing required property "filter_type"`},
	{"node_filter without filter_set", "BootAction", `
node_filter:
  filter_set_type: union
assets: []
`, []string{"node_filter"}, `missing required property "filter_set"`},
	{"signaling as string", "BootAction", `
signaling: 'false'
assets: []
`, []string{"signaling"}, `expected boolean, got string "false"`},
}

func TestFailuresWithPaths(t *testing.T) {
	for _, c := range failCases {
		t.Run(c.name, func(t *testing.T) {
			vs := mustValidate(t, c.kind, decodeYAML(t, c.yaml))
			if len(vs) != 1 {
				t.Fatalf("expected exactly 1 violation, got %d: %v", len(vs), vs)
			}
			if !reflect.DeepEqual(vs[0].Path, c.path) {
				t.Errorf("path = %q, want %q", vs[0].Path, c.path)
			}
			if !strings.Contains(vs[0].Message, c.message) {
				t.Errorf("message = %q, want it to contain %q", vs[0].Message, c.message)
			}
		})
	}
}
