package schema

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
)

// decodeYAML decodes a YAML snippet the way documents are decoded.
func decodeYAML(t testing.TB, src string) any {
	t.Helper()
	var v any
	if err := yaml.Load([]byte(src), &v); err != nil {
		t.Fatalf("decoding test YAML: %v\n%s", err, src)
	}
	return v
}

func mustValidate(t testing.TB, kind string, data any) []Violation {
	t.Helper()
	vs, err := Validate(kind, data)
	if err != nil {
		t.Fatalf("Validate(%s): %v", kind, err)
	}
	return vs
}

func TestKindsHasSource(t *testing.T) {
	want := []string{"Region", "Rack", "NetworkLink", "Network", "HardwareProfile", "HostProfile", "BaremetalNode", "BootAction"}
	if got := Kinds(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Kinds() = %v, want %v", got, want)
	}
	// The result is a copy: changing it must not affect the package.
	Kinds()[0] = "Mangled"
	if Kinds()[0] != "Region" {
		t.Fatal("Kinds() returned the package's own slice")
	}
	for _, k := range want {
		if !Has(k) {
			t.Errorf("Has(%q) = false", k)
		}
		src, ok := Source(k)
		if !ok || len(src) == 0 {
			t.Errorf("Source(%q) returned nothing", k)
		}
		if !json.Valid(src) {
			t.Errorf("Source(%q) is not valid JSON", k)
		}
	}
	for _, k := range []string{"", "network", "BareMetalNode", "Unknown", "drydock/Network/v1"} {
		if Has(k) {
			t.Errorf("Has(%q) = true", k)
		}
		if _, ok := Source(k); ok {
			t.Errorf("Source(%q) reported a schema", k)
		}
	}
}

func TestValidateUnknownKind(t *testing.T) {
	vs, err := Validate("Switch", map[string]any{})
	if err == nil {
		t.Fatal("expected an error for an unknown kind")
	}
	if vs != nil {
		t.Errorf("expected no violations with the error, got %v", vs)
	}
}

func TestValidateNilData(t *testing.T) {
	for _, k := range Kinds() {
		vs := mustValidate(t, k, nil)
		if len(vs) != 1 || len(vs[0].Path) != 0 || !strings.Contains(vs[0].Message, "no data") || !strings.Contains(vs[0].Message, "object is required") {
			t.Errorf("%s: unexpected result for nil data: %v", k, vs)
		}
	}
}

func TestValidateNonObjectData(t *testing.T) {
	vs := mustValidate(t, "Network", []any{"a"})
	want := []Violation{{Path: []string{}, Message: "expected object, got array"}}
	if !reflect.DeepEqual(vs, want) {
		t.Errorf("got %v, want %v", vs, want)
	}
}

func TestValidateEmptyObjects(t *testing.T) {
	// Kinds without required top-level keys accept an empty body.
	for _, k := range []string{"Region", "Rack", "HardwareProfile", "HostProfile", "BaremetalNode"} {
		if vs := mustValidate(t, k, map[string]any{}); vs != nil {
			t.Errorf("%s: expected an empty body to pass, got %v", k, vs)
		}
	}
	required := map[string]string{"Network": "cidr", "NetworkLink": "allowed_networks", "BootAction": "assets"}
	for k, prop := range required {
		vs := mustValidate(t, k, map[string]any{})
		want := []Violation{{Path: []string{}, Message: `missing required property "` + prop + `"`}}
		if !reflect.DeepEqual(vs, want) {
			t.Errorf("%s: got %v, want %v", k, vs, want)
		}
	}
}

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

func TestGoNumberTypes(t *testing.T) {
	for _, mtu := range []any{1500, int8(100), int16(1500), int32(1500), int64(1500), uint(1500), uint16(1500), uint32(1500), uint64(1500), float32(1500), float64(1500), json.Number("1500")} {
		data := map[string]any{"cidr": "10.0.0.0/8", "mtu": mtu, "vlan": mtu}
		if vs := mustValidate(t, "Network", data); vs != nil {
			t.Errorf("mtu %T(%v): expected no violations, got %v", mtu, mtu, vs)
		}
	}
	for _, mtu := range []any{1500.5, float32(0.25), json.Number("1.5")} {
		vs := mustValidate(t, "Network", map[string]any{"cidr": "10.0.0.0/8", "mtu": mtu})
		if len(vs) != 1 || !reflect.DeepEqual(vs[0].Path, []string{"mtu"}) {
			t.Errorf("mtu %T(%v): expected one violation at mtu, got %v", mtu, mtu, vs)
		}
	}
}

func TestNormalization(t *testing.T) {
	t.Run("map with interface keys", func(t *testing.T) {
		data := map[any]any{"cidr": "10.0.0.0/8", "dns": map[any]any{"domain": "x"}}
		if vs := mustValidate(t, "Network", data); vs != nil {
			t.Errorf("expected no violations, got %v", vs)
		}
	})
	t.Run("non-string keys", func(t *testing.T) {
		data := map[string]any{"metadata": map[string]any{"owner_data": map[any]any{true: "x", 7: "y", "ok": "z"}}}
		vs := mustValidate(t, "HostProfile", data)
		want := []Violation{
			{Path: []string{"metadata", "owner_data"}, Message: "mapping key 7 is not a string; keys must be strings (quote the key in YAML)"},
			{Path: []string{"metadata", "owner_data"}, Message: "mapping key true is not a string; keys must be strings (quote the key in YAML)"},
		}
		if !reflect.DeepEqual(vs, want) {
			t.Errorf("got %v, want %v", vs, want)
		}
	})
	t.Run("typed Go values", func(t *testing.T) {
		type name string
		data := map[string]any{
			"allowed_networks": []string{"a", "b"},
			"labels":           map[string]string{"x": "y"},
			"linkspeed":        name("auto"),
			"trunking":         &map[string]any{"mode": "802.1q"},
		}
		if vs := mustValidate(t, "NetworkLink", data); vs != nil {
			t.Errorf("expected no violations, got %v", vs)
		}
	})
	t.Run("timestamps checked as strings", func(t *testing.T) {
		data := decodeYAML(t, "metadata:\n  owner_data:\n    built: 2017-02-17\n")
		if _, ok := data.(map[string]any)["metadata"].(map[string]any)["owner_data"].(map[string]any)["built"].(time.Time); !ok {
			t.Skip("YAML decoder no longer produces time.Time for dates")
		}
		if vs := mustValidate(t, "BaremetalNode", data); vs != nil {
			t.Errorf("expected no violations, got %v", vs)
		}
	})
	t.Run("NaN", func(t *testing.T) {
		vs := mustValidate(t, "HostProfile", map[string]any{"platform": map[string]any{"kernel_params": map[string]any{"x": math.NaN()}}})
		if len(vs) == 0 || !reflect.DeepEqual(vs[0].Path, []string{"platform", "kernel_params", "x"}) || !strings.Contains(vs[0].Message, "finite number") {
			t.Errorf("unexpected result %v", vs)
		}
	})
	t.Run("unsupported Go type", func(t *testing.T) {
		vs := mustValidate(t, "Rack", map[string]any{"labels": map[string]any{"x": make(chan int)}})
		if len(vs) == 0 || !strings.Contains(vs[0].Message, "chan int") {
			t.Errorf("unexpected result %v", vs)
		}
	})
	t.Run("input not modified", func(t *testing.T) {
		inner := map[any]any{"domain": "x"}
		data := map[string]any{"cidr": "10.0.0.0/8", "dns": inner}
		mustValidate(t, "Network", data)
		if _, ok := data["dns"].(map[any]any); !ok {
			t.Error("Validate replaced a value in the caller's map")
		}
	})
}

func TestViolationOrderAndDeduplication(t *testing.T) {
	var assets []any
	for i := 0; i < 12; i++ {
		a := map[string]any{"type": "file", "path": "/x", "data": "x"}
		switch i {
		case 2:
			a["permissions"] = 644
		case 10:
			a["permissions"] = "9"
			a["zzz"] = 1
			a["aaa"] = 1
		}
		assets = append(assets, a)
	}
	data := map[string]any{"assets": assets, "extra": true, "node_filter": map[string]any{}}
	vs := mustValidate(t, "BootAction", data)
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	want := []string{
		`/: additional property "extra" is not allowed; allowed properties are: assets, node_filter, signaling`,
		`/assets/2/permissions: expected string, got number 644`,
		`/assets/10: additional property "aaa" is not allowed; allowed properties are: data, data_pipeline, location, location_pipeline, path, permissions, type`,
		`/assets/10: additional property "zzz" is not allowed; allowed properties are: data, data_pipeline, location, location_pipeline, path, permissions, type`,
		`/assets/10/permissions: "9" is not valid; expected an octal file mode of 3 or 4 digits, quoted, such as "0644" or "555"`,
		`/node_filter: missing required property "filter_set"`,
		`/node_filter: missing required property "filter_set_type"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	dup := sortViolations([]Violation{
		{Path: []string{"a"}, Message: "m"},
		{Path: []string{"a"}, Message: "m"},
		{Path: []string{}, Message: "m"},
	})
	if len(dup) != 2 || len(dup[0].Path) != 0 {
		t.Errorf("sortViolations did not sort and deduplicate: %v", dup)
	}
}

func TestValidateConcurrent(t *testing.T) {
	node := decodeYAML(t, benchNodeYAML)
	bad := decodeYAML(t, "foo: 1\naddressing: [{network: x}]\n")
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if vs, err := Validate("BaremetalNode", node); err != nil || vs != nil {
					errs <- "valid node failed"
					return
				}
				if vs, err := Validate("BaremetalNode", bad); err != nil || len(vs) != 2 {
					errs <- "invalid node gave an unexpected result"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// walkJSON calls fn for every object node of a decoded JSON document, with
// its JSON pointer.
func walkJSON(node any, ptr string, fn func(ptr string, obj map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		fn(ptr, n)
		for k, v := range n {
			walkJSON(v, ptr+"/"+k, fn)
		}
	case []any:
		for i, v := range n {
			walkJSON(v, ptr+"/"+strconv.Itoa(i), fn)
		}
	}
}

func decodeSource(t *testing.T, kind string) map[string]any {
	t.Helper()
	src, _ := Source(kind)
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	return doc
}

func TestSchemaFilesHygiene(t *testing.T) {
	for _, k := range Kinds() {
		doc := decodeSource(t, k)
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema is %v", k, doc["$schema"])
		}
		if doc["title"] != "drydock/"+k+"/v1" {
			t.Errorf("%s: title is %v", k, doc["title"])
		}
		if doc["type"] != "object" || doc["additionalProperties"] != false {
			t.Errorf("%s: top level must be a closed object", k)
		}
		walkJSON(doc, "", func(ptr string, obj map[string]any) {
			if strings.HasSuffix(ptr, "/properties") || strings.HasSuffix(ptr, "/$defs") {
				return // keys here are property or definition names
			}
			if _, ok := obj["format"]; ok {
				t.Errorf("%s: %s uses format, which must not be asserted", k, ptr)
			}
			if ref, ok := obj["$ref"].(string); ok && !strings.HasPrefix(ref, "#/$defs/") {
				t.Errorf("%s: %s has a reference %q outside the file", k, ptr, ref)
			}
		})
		src, _ := Source(k)
		if !bytes.HasSuffix(src, []byte("}\n")) {
			t.Errorf("%s: file must end with a newline", k)
		}
	}
}

// TestHostDefinitionsShared checks that HostProfile and BaremetalNode, which
// are kept as two self-contained files, describe the same host fields and
// differ only by BaremetalNode's addressing.
func TestHostDefinitionsShared(t *testing.T) {
	hp := decodeSource(t, "HostProfile")
	bn := decodeSource(t, "BaremetalNode")
	if !reflect.DeepEqual(hp["$defs"], bn["$defs"]) {
		t.Error("HostProfile and BaremetalNode $defs differ; keep them identical")
	}
	bnProps := bn["properties"].(map[string]any)
	hpProps := hp["properties"].(map[string]any)
	if _, ok := bnProps["addressing"]; !ok {
		t.Fatal("BaremetalNode has no addressing")
	}
	if _, ok := hpProps["addressing"]; ok {
		t.Fatal("HostProfile must not allow addressing")
	}
	rest := map[string]any{}
	for k, v := range bnProps {
		if k != "addressing" {
			rest[k] = v
		}
	}
	if !reflect.DeepEqual(rest, hpProps) {
		t.Error("HostProfile and BaremetalNode properties differ beyond addressing")
	}
}

const benchNodeYAML = `
host_profile: cp-r640
hardware_profile: dell_r640
primary_network: oam
oob:
  type: ipmi
  network: oob
  account: root
  credential: calvin
  address_port: 623
addressing:
  - {network: pxe, address: dhcp}
  - {network: oob, address: 10.23.104.11}
  - {network: oam, address: 10.23.21.11}
  - {network: storage, address: 10.23.23.11}
  - {network: overlay, address: 10.23.24.11}
  - {network: calico, address: 10.23.22.11}
interfaces:
  pxe:
    device_link: pxe
    slaves: [pxe_nic01]
    networks: [pxe]
  bond0:
    device_link: data
    slaves: [data_nic01, data_nic02, data_nic03, data_nic04]
    networks: [oam, storage, overlay, calico]
  p1p1:
    slaves: [sriov_nic01]
    sriov: {vf_count: 32, trustedmode: false}
  '!eno4': {}
  eno5: null
storage:
  physical_devices:
    bootdisk:
      labels: {bootdrive: 'true'}
      partitions:
        - name: root
          size: 30g
          bootable: true
          filesystem: {mountpoint: /, fstype: ext4, mount_options: defaults}
        - name: boot
          size: 1g
          filesystem: {mountpoint: /boot, fstype: ext4, mount_options: defaults}
        - name: var_log
          size: 100g
          filesystem: {mountpoint: /var/log, fstype: ext4, mount_options: defaults}
        - name: var
          size: '>300g'
          filesystem: {mountpoint: /var, fstype: ext4, mount_options: defaults}
    cephjournal1:
      partitions:
        - {name: ceph-j1, size: 10g}
        - {name: ceph-j2, size: 10g}
    sdc:
      volume_group: data_vg
  volume_groups:
    data_vg:
      logical_volumes:
        - name: data_lv
          size: 99%
          filesystem: {mountpoint: /var/lib/data, fstype: xfs}
platform:
  image: xenial
  kernel: hwe-16.04
  kernel_params:
    console: 'ttyS1,115200n8'
    intel_iommu: 'on'
    iommu: pt
    cgroup_disable: hugetlb
    transparent_hugepage: never
    hugepagesz: 'hardwareprofile:hugepages.dpdk.size'
    hugepages: 'hardwareprofile:hugepages.dpdk.count'
    isolcpus: 'hardwareprofile:cpuset.kvm'
    rcu_nocb_poll: true
    quiet: true
metadata:
  rack: rack03
  boot_mac: '3c:fd:fe:aa:bb:cc'
  tags: [masters, workers]
  owner_data:
    control-plane: enabled
    ceph-mon: enabled
    ceph-osd: enabled
    openstack-control-plane: enabled
    openvswitch: enabled
`

func BenchmarkValidateBaremetalNode(b *testing.B) {
	node := decodeYAML(b, benchNodeYAML)
	if vs, err := Validate("BaremetalNode", node); err != nil || vs != nil {
		b.Fatalf("benchmark node is not valid: %v %v", vs, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if vs, err := Validate("BaremetalNode", node); err != nil || vs != nil {
			b.Fatal("unexpected failure")
		}
	}
}
