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
