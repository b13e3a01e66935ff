package design

import (
	"reflect"
	"testing"
)

// fuzzSeeds are small hand-written designs exercising the odd corners: anchors and merge keys,
// removal markers, cycles, unresolvable references, route domains and node filters.
var fuzzSeeds = []string{
	`schema: drydock/HostProfile/v1
metadata: {name: a}
data:
  host_profile: b
  interfaces: {'!eth0': {}, eth1: null, bond0: &i {slaves: [x], networks: ['!y', z], sriov: {vf_count: 1}}}
  platform: {kernel: '!', kernel_params: {'!q': x, k: 'hardwareprofile:hugepages.x'}}
---
schema: drydock/HostProfile/v1
metadata: {name: b}
data: {host_profile: a, hardware_profile: hw}
---
schema: drydock/BaremetalNode/v1
metadata: {name: n}
data:
  host_profile: a
  interfaces: {bond0: *i}
  storage:
    physical_devices: {'!sda': {}, sdb: {partitions: [{name: '!p'}, {name: q, size: '>10%'}]}}
    volume_groups: {vg: {logical_volumes: [{name: '!lv'}]}}
`,
	`base: &b {cidr: 10.0.0.0/24, routedomain: rd, routes: [{routedomain: rd, gateway: 10.0.0.1, metric: 1}]}
---
schema: drydock/Network/v1
metadata: {name: n1}
data: {<<: *b}
---
schema: drydock/Network/v1
metadata: {name: n2}
data: {<<: *b, cidr: 10.0.1.0/24}
---
schema: drydock/BootAction/v1
metadata: {name: ba}
data:
  assets: [{type: pkg_list, data: {a: '1', b: null}}, {type: file, path: /x, data: y, permissions: '0755'}]
  node_filter: {filter_set_type: union, filter_set: [{filter_type: intersection, rack_labels: {a: b}}]}
`,
	"apiVersion: drydock/v1\nkind: Rack\nmetadata: {name: r}\nspec: {labels: {a: b}, tor_switches: {s: {mgmt_ip: 1.1.1.1}}}\n",
	"schema: drydock/Network/v1\nmetadata: {name: x, name: y}\ndata: {cidr: 1, cidr: 2}\n---\n---\n",
	"a: &a [*a]\n",
	"? [a]\n: b\n",
	"schema: !!binary aGVsbG8=\n",
}

var fuzzSamples = []string{"deckhand_fullsite.yaml", "deckhand_bootaction.yaml", "invalid_bootaction.yaml",
	"fullsite.yaml", "invalid.yaml", "deckhand_routedomain.yaml", "invalid_kernel.yaml"}

// exercise runs the whole pipeline on data and checks what must hold for any input.
func exercise(t *testing.T, data []byte) {
	in := Parse(Source{Name: "fuzz.yaml", Data: data})
	if in == nil || in.Design == nil {
		t.Fatal("Parse returned nil")
	}
	if in.OK() != (ErrorCount(in.Messages) == 0) {
		t.Fatal("OK disagrees with the messages")
	}
	for _, m := range in.Messages {
		if m.Code == "" || m.Message == "" || len(m.Documents) == 0 || m.Error != (m.Level == LevelError) {
			t.Fatalf("malformed message %+v", m)
		}
	}
	s := Compile(in.Design)
	if len(s.Nodes) != len(in.Design.Nodes) {
		t.Fatalf("%d nodes compiled from %d", len(s.Nodes), len(in.Design.Nodes))
	}
	for _, n := range s.Nodes {
		_, _ = n.KernelCommandLine()
		for _, it := range n.Interfaces {
			if len(it.Selectors) != len(it.Slaves) {
				t.Fatalf("%s %s: %d selectors for %d slaves", n.Name, it.Name, len(it.Selectors), len(it.Slaves))
			}
		}
		for _, d := range n.Devices {
			for _, p := range d.Partitions {
				if sz, err := ParseSize(p.Size); err == nil {
					_, _ = sz.Resolve(100*gb, 50*gb)
				}
			}
		}
	}
	if _, err := s.SelectNodes(nil); err != nil {
		t.Fatalf("SelectNodes(nil): %v", err)
	}
	if again := Compile(in.Design); !reflect.DeepEqual(s, again) {
		t.Fatal("compiling twice gave different sites")
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range fuzzSamples {
		f.Add(readSample(f, name))
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, data)
	})
}

// TestParseOddInputs runs the fuzz seeds and inputs found by fuzzing as regular tests.
func TestParseOddInputs(t *testing.T) {
	inputs := append([]string{}, fuzzSeeds...)
	inputs = append(inputs,
		"",
		"---",
		"\x00",
		"\xef\xbb\xbfschema: drydock/Network/v1\nmetadata: {name: n}\ndata: {cidr: 10.0.0.0/8}\n",
		"schema: drydock/HostProfile/v1\nmetadata: {name: p}\ndata: {host_profile: p}\n---\nschema: drydock/BaremetalNode/v1\nmetadata: {name: n}\ndata: {host_profile: p}\n",
		"schema: drydock/BaremetalNode/v1\nmetadata: {name: n}\ndata: {platform: {kernel_params: {a: 'hardwareprofile:', b: 'hardwareprofile:.', c: 'hardwareprofile:hugepages..'}}}\n",
	)
	for _, in := range inputs {
		exercise(t, []byte(in))
	}
}
