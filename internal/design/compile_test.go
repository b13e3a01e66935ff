package design

import (
	"reflect"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/nodefilter"
)

func TestFullsiteNaming(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	n := s.Node("controller01")
	if n.FQDN != "controller01.mgmt.sitename.example.com" || n.Domain != "mgmt.sitename.example.com" {
		t.Errorf("controller01 fqdn %q domain %q", n.FQDN, n.Domain)
	}
	var names []string
	for _, n := range s.Nodes {
		names = append(names, n.Name)
	}
	if want := []string{"controller01", "compute01", "compute02"}; !reflect.DeepEqual(names, want) {
		t.Errorf("nodes = %q, want design order %q", names, want)
	}
	for _, n := range s.Nodes {
		if len(n.Issues) != 0 {
			t.Errorf("%s issues: %+v", n.Name, n.Issues)
		}
	}
}

// design_spec 3.3.7.
func TestFullsiteInheritance(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	c := s.Node("controller01")
	if c.Rack != "rack1" || !reflect.DeepEqual(c.Tags, []string{"test"}) || !reflect.DeepEqual(c.OwnerData, kvOf("foo", "bar")) {
		t.Errorf("controller01 rack %q tags %q owner_data %v", c.Rack, c.Tags, c.OwnerData)
	}
	if c.HardwareProfile != "HPGen9v3" || c.PrimaryNetwork != "mgmt" || c.Image != "xenial" || c.Kernel != "ga-16.04" || c.OOBType != "ipmi" {
		t.Errorf("controller01 scalars: %+v", c)
	}
	if !reflect.DeepEqual(c.OOBParams, kvOf("network", "oob", "account", "admin", "credential", "admin")) {
		t.Errorf("controller01 oob parameters %v", c.OOBParams)
	}
	if !reflect.DeepEqual(c.KernelParams, kvOf("quiet", "True", "console", "ttyS2")) {
		t.Errorf("controller01 kernel_params %v", c.KernelParams)
	}
	if !reflect.DeepEqual(c.ProfileChain, []string{"k8-node", "defaults"}) || c.HostProfile != "k8-node" {
		t.Errorf("controller01 chain %q", c.ProfileChain)
	}
	b := iface(t, c, "bond0")
	if b.DeviceLink != "gp" || !reflect.DeepEqual(b.Slaves, []string{"prim_nic01", "prim_nic02"}) || !reflect.DeepEqual(b.Networks, []string{"mgmt"}) {
		t.Errorf("controller01 bond0 = %+v", b)
	}
	if b.SRIOV == nil || b.SRIOV.VFCount != 2 {
		t.Errorf("controller01 bond0 keeps sriov (B5 fixed): %+v", b.SRIOV)
	}
	if got := iface(t, s.Node("compute01"), "bond0").Networks; !reflect.DeepEqual(got, []string{"mgmt", "private"}) {
		t.Errorf("compute01 bond0 networks %q", got)
	}
	c2 := s.Node("compute02")
	if c2.Rack != "rack3" || !reflect.DeepEqual(c2.OwnerData, kvOf("foo", "baz")) {
		t.Errorf("compute02 rack %q owner_data %v", c2.Rack, c2.OwnerData)
	}
	// Storage comes from the defaults profile.
	if want := []string{"sda", "sdb"}; !reflect.DeepEqual(devNames(c), want) {
		t.Errorf("devices %q", devNames(c))
	}
	if lv := vg(t, c, "log_vg").LogicalVolumes; len(lv) != 1 || lv[0].Name != "log_lv" || lv[0].Filesystem.FSType != "xfs" {
		t.Errorf("log_vg %+v", lv)
	}
	if a := c.Addressing; len(a) != 4 || a[0] != (Address{Network: "pxe", Type: "dhcp"}) || a[1] != (Address{Network: "mgmt", Type: "static", Address: "172.16.1.20"}) {
		t.Errorf("addressing %+v", a)
	}
}

func TestFullsiteKernelParams(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	n := s.Node("compute01")
	want := kvOf("quiet", "True", "console", "ttyS2", "isolcpus", "2,4", "hugepagesz", "1G", "hugepages", "300")
	if !reflect.DeepEqual(n.KernelParams, want) {
		t.Errorf("compute01 kernel_params = %v\nwant %v", n.KernelParams, want)
	}
	cl, err := n.KernelCommandLine()
	if err != nil || cl != "hugepagesz=1G hugepages=300 quiet console=ttyS2 isolcpus=2,4" {
		t.Errorf("compute01 command line = %q, %v", cl, err)
	}
	// B34 fixed: no leading space without hugepages.
	cl, err = s.Node("controller01").KernelCommandLine()
	if err != nil || cl != "quiet console=ttyS2" {
		t.Errorf("controller01 command line = %q, %v", cl, err)
	}
	// The design keeps the references: resolving happens on the compiled node only.
	raw, _ := s.Design.Node("compute01").KernelParams.Get("isolcpus")
	if raw != "hardwareprofile:cpuset.sriov" {
		t.Errorf("the design's kernel param was changed to %q", raw)
	}
}

func TestKernelCommandLine(t *testing.T) {
	tests := []struct {
		params KV
		want   string
		err    bool
	}{
		{nil, "", false},
		{kvOf("quiet", "True"), "quiet", false},
		// "False" leaves the parameter out; a value with spaces is quoted.
		{kvOf("a", "1", "quiet", "True", "nomodeset", "False"), "a=1 quiet", false},
		{kvOf("dyndbg", "file foo.c +p", "b", "x"), `dyndbg="file foo.c +p" b=x`, false},
		{kvOf("x", "y", "hugepages", "4", "hugepagesz", "2M"), "hugepagesz=2M hugepages=4 x=y", false},
		{kvOf("hugepagesz", "2M"), "", true},
		{kvOf("hugepages", "4"), "", true},
	}
	for _, tt := range tests {
		n := &Node{Name: "n", KernelParams: tt.params}
		got, err := n.KernelCommandLine()
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("KernelCommandLine(%v) = %q, %v; want %q (error %v)", tt.params, got, err, tt.want, tt.err)
		}
	}
}

func TestFullsiteSlaveSelectors(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	for _, n := range s.Nodes {
		pxe := iface(t, n, "pxe")
		want := []SlaveSelector{{Type: "address", Address: "0000:00:03.0", DeviceType: "82540EM Gigabit Ethernet Controller"}}
		if !reflect.DeepEqual(pxe.Selectors, want) {
			t.Errorf("%s pxe selectors = %+v", n.Name, pxe.Selectors)
		}
		bond := iface(t, n, "bond0")
		if len(bond.Selectors) != 2 || bond.Selectors[0].Address != "0000:00:03.0" || bond.Selectors[1].Address != "0000:00:04.0" {
			t.Errorf("%s bond0 selectors = %+v (the node's own profile, not HPGen9v3-duplicate)", n.Name, bond.Selectors)
		}
	}
}

func TestSlaveSelectorByName(t *testing.T) {
	n := compileNode(t, "n1", `
schema: drydock/HardwareProfile/v1
metadata: {name: hw}
data:
  device_aliases:
    disk0: {address: '2:0.0.0', bus_type: scsi, dev_type: disk}
    nic0: {address: '0000:00:03.0', bus_type: pci}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  hardware_profile: hw
  interfaces:
    eth0: {slaves: [eno1, disk0, nic0]}
`)
	want := []SlaveSelector{{Type: "name", Address: "eno1"}, {Type: "name", Address: "disk0"}, {Type: "address", Address: "0000:00:03.0"}}
	if got := iface(t, n, "eth0").Selectors; !reflect.DeepEqual(got, want) {
		t.Errorf("selectors = %+v, want %+v", got, want)
	}
}

func TestDomainDefaultsToLocal(t *testing.T) {
	s := mustCompile(t, joinDocs(`
schema: drydock/Network/v1
metadata: {name: nodns}
data: {cidr: 10.0.0.0/24}
`, `
schema: drydock/Network/v1
metadata: {name: withdns}
data: {cidr: 10.0.1.0/24, dns: {domain: example.org}}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: a}
data: {primary_network: nodns}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: b}
data: {primary_network: nosuchnet}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: c}
data: {}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: d}
data: {primary_network: withdns}
`))
	for name, want := range map[string]string{"a": "a.local", "b": "b.local", "c": "c.local", "d": "d.example.org"} {
		if got := s.Node(name).FQDN; got != want {
			t.Errorf("%s fqdn = %q, want %q", name, got, want)
		}
	}
}

func TestFullsiteBootActionTargets(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	want := map[string][]string{
		"hw_filtered":  {"compute01"},
		"helloworld":   {"controller01", "compute01", "compute02"},
		"hw_filtered2": {"compute02"},
	}
	if len(s.BootActions) != 3 {
		t.Fatalf("%d boot actions", len(s.BootActions))
	}
	for i, name := range []string{"hw_filtered", "helloworld", "hw_filtered2"} {
		ba := s.BootActions[i]
		if ba.Name != name || ba.FilterError != nil || !reflect.DeepEqual(ba.Targets, want[name]) {
			t.Errorf("boot action %d: %s targets %q (error %v), want %s %q", i, ba.Name, ba.Targets, ba.FilterError, name, want[name])
		}
	}
}

func TestBootActionTargetsLabelsAndRackLabels(t *testing.T) {
	s := mustCompile(t, joinDocs(`
schema: drydock/Rack/v1
metadata: {name: r1}
data: {labels: {zone: a}}
`, `
schema: drydock/Rack/v1
metadata: {name: r2}
data: {labels: {zone: b}}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data: {metadata: {rack: r1, owner_data: {color: yellow, type: physical}}}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n2}
data: {metadata: {rack: r2, owner_data: {color: yellow}}}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n3}
data: {metadata: {rack: r2, owner_data: {color: yellow, type: physical}}}
`, `
schema: drydock/BootAction/v1
metadata: {name: both_labels}
data:
  assets: [{type: file, path: /x, data: y}]
  node_filter:
    filter_set_type: union
    filter_set:
      - filter_type: union
        node_labels: {color: yellow, type: physical}
`, `
schema: drydock/BootAction/v1
metadata: {name: zone_b}
data:
  assets: [{type: file, path: /x, data: y}]
  node_filter:
    filter_set_type: intersection
    filter_set:
      - filter_type: intersection
        rack_labels: {zone: b}
`))
	if got := s.BootActions[0].Targets; !reflect.DeepEqual(got, []string{"n1", "n3"}) {
		t.Errorf("labels are ANDed: targets %q, want [n1 n3]", got)
	}
	if got := s.BootActions[1].Targets; !reflect.DeepEqual(got, []string{"n2", "n3"}) {
		t.Errorf("rack_labels: targets %q, want [n2 n3]", got)
	}
}

func TestRouteDomainRendering(t *testing.T) {
	in := parseSample(t, "deckhand_routedomain.yaml")
	if !in.OK() {
		t.Fatalf("messages %v", in.Messages)
	}
	d := in.Design
	first := Compile(d)
	second := Compile(d)
	for i, s := range []*Site{first, second} {
		rack3 := s.Network("storage_rack3")
		var subnets []string
		for _, r := range rack3.Routes {
			if r.Subnet != "" {
				subnets = append(subnets, r.Subnet)
				if r.Gateway != "172.16.3.1" || r.Metric == nil || *r.Metric != 10 || !r.Rendered || r.RouteDomain != "" {
					t.Errorf("compile %d: rendered route %+v", i+1, r)
				}
			}
		}
		if want := []string{"172.16.1.0/24", "172.16.2.0/24"}; !reflect.DeepEqual(subnets, want) {
			t.Errorf("compile %d: storage_rack3 routes %q, want exactly %q", i+1, subnets, want)
		}
		if len(rack3.Routes) != 3 || rack3.Routes[0].RouteDomain != "storage" {
			t.Errorf("compile %d: the route-domain route stays first: %+v", i+1, rack3.Routes)
		}
		if len(s.Networks) != 3 || s.Networks[0].Name != "storage_rack1" {
			t.Errorf("compile %d: networks %+v", i+1, s.Networks)
		}
	}
	for _, n := range d.Networks {
		if len(n.Routes) != 1 {
			t.Errorf("the design's network %s now has %d routes", n.Name, len(n.Routes))
		}
	}
}

func TestRouteDomainWithoutMetricRendersNothing(t *testing.T) {
	s := mustCompile(t, joinDocs(`
schema: drydock/Network/v1
metadata: {name: a}
data: {cidr: 10.0.1.0/24, routedomain: rd, routes: [{routedomain: rd, gateway: 10.0.1.1}]}
`, `
schema: drydock/Network/v1
metadata: {name: b}
data: {cidr: 10.0.2.0/24, routedomain: rd, routes: [{routedomain: rd, gateway: 10.0.2.1, metric: 5}]}
`, `
schema: drydock/Network/v1
metadata: {name: c}
data: {cidr: 10.0.3.0/24, routes: [{routedomain: rd, gateway: 10.0.3.1, metric: 7}]}
`))
	if got := len(s.Network("a").Routes); got != 1 {
		t.Errorf("a: %d routes, want only its own", got)
	}
	if r := s.Network("b").Routes; len(r) != 2 || r[1].Subnet != "10.0.1.0/24" {
		t.Errorf("b routes %+v", r)
	}
	// A network outside the domain with a route to it reaches every member.
	if r := s.Network("c").Routes; len(r) != 3 || r[1].Subnet != "10.0.1.0/24" || r[2].Subnet != "10.0.2.0/24" {
		t.Errorf("c routes %+v", r)
	}
}

func TestLegacyFullsiteInheritance(t *testing.T) {
	s := compileSample(t, "fullsite.yaml")
	if len(s.Nodes) != 2 {
		t.Fatalf("%d nodes", len(s.Nodes))
	}
	n := s.Node("controller01")
	if n == nil || n.HardwareProfile != "HPGen9v3" {
		t.Fatalf("controller01 = %+v", n)
	}
	if got := iface(t, n, "bond0").Slaves; len(got) != 2 {
		t.Errorf("bond0 slaves %q", got)
	}
	if got := iface(t, n, "pxe").Slaves; len(got) != 1 {
		t.Errorf("pxe slaves %q", got)
	}
	if want := []string{"test", "deployment=initial"}; !reflect.DeepEqual(n.Tags, want) {
		t.Errorf("tags %q", n.Tags)
	}
}

func findIssue(n *Node, kind string) *RefIssue {
	for i := range n.Issues {
		if n.Issues[i].Kind == kind {
			return &n.Issues[i]
		}
	}
	return nil
}

const issueHW = `
schema: drydock/HardwareProfile/v1
metadata: {name: hw}
data:
  cpu_sets: {sriov: '2,4'}
  hugepages: {dpdk: {size: 2M, count: 100}}
`

func TestIssueMissingParent(t *testing.T) {
	s := mustCompile(t, joinDocs(issueHW, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data: {host_profile: nosuch, hardware_profile: hw, metadata: {tags: [mine]}}
`, `
schema: drydock/HostProfile/v1
metadata: {name: orphan}
data: {host_profile: gone, metadata: {tags: [p]}}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n2}
data: {host_profile: orphan, hardware_profile: hw}
`))
	n1 := s.Node("n1")
	if i := findIssue(n1, IssueHostProfile); i == nil || i.Name != "nosuch" || i.Field != "host_profile" {
		t.Errorf("n1 issues %+v", n1.Issues)
	}
	if !reflect.DeepEqual(n1.Tags, []string{"mine"}) || n1.HardwareProfile != "hw" {
		t.Errorf("n1 keeps its own fields: %+v", n1)
	}
	n2 := s.Node("n2")
	if i := findIssue(n2, IssueHostProfile); i == nil || i.Name != "gone" || !strings.Contains(i.Field, "orphan") {
		t.Errorf("n2 issues %+v", n2.Issues)
	}
	if !reflect.DeepEqual(n2.Tags, []string{"p"}) {
		t.Errorf("n2 still inherits from orphan: %q", n2.Tags)
	}
}

func TestIssueCycles(t *testing.T) {
	s := mustCompile(t, joinDocs(issueHW, `
schema: drydock/HostProfile/v1
metadata: {name: A}
data: {host_profile: B, metadata: {tags: [a]}}
`, `
schema: drydock/HostProfile/v1
metadata: {name: B}
data: {host_profile: A, hardware_profile: hw, metadata: {tags: [b]}}
`, `
schema: drydock/HostProfile/v1
metadata: {name: self}
data: {host_profile: self, hardware_profile: hw}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: nA}
data: {host_profile: A}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: nB}
data: {host_profile: B}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: nself}
data: {host_profile: self}
`))
	// The cycle is described from wherever it was entered first: either way it names both
	// profiles and both links.
	for _, tt := range []struct{ node, detail, detail2 string }{
		{"nA", "A -> B", "B -> A"},
		{"nB", "B -> A", "A -> B"},
		{"nself", "self -> self", "self -> self"},
	} {
		n := s.Node(tt.node)
		i := findIssue(n, IssueCycle)
		if i == nil {
			t.Errorf("%s: no cycle issue in %+v", tt.node, n.Issues)
			continue
		}
		if !strings.Contains(i.Detail, tt.detail) || !strings.Contains(i.Detail, tt.detail2) {
			t.Errorf("%s: cycle detail %q, want %q and %q", tt.node, i.Detail, tt.detail, tt.detail2)
		}
		if n.HardwareProfile != "hw" {
			t.Errorf("%s: hardware profile %q: the profiles of the cycle still apply once", tt.node, n.HardwareProfile)
		}
	}
	if got := s.Node("nA").Tags; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("nA tags %q", got)
	}
}

func TestIssueHardwareProfile(t *testing.T) {
	s := mustCompile(t, joinDocs(issueHW, `
schema: drydock/HostProfile/v1
metadata: {name: p}
data: {hardware_profile: hw}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: missing}
data: {hardware_profile: nosuch}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: unset}
data: {host_profile: p, hardware_profile: '!'}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: none}
data: {}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: fine}
data: {host_profile: p}
`))
	if i := findIssue(s.Node("missing"), IssueHardwareProfile); i == nil || i.Name != "nosuch" {
		t.Errorf("missing: %+v", s.Node("missing").Issues)
	}
	for _, name := range []string{"unset", "none"} {
		n := s.Node(name)
		if i := findIssue(n, IssueHardwareProfile); i == nil || n.HardwareProfile != "" {
			t.Errorf("%s: issues %+v, hardware profile %q", name, n.Issues, n.HardwareProfile)
		}
	}
	if n := s.Node("fine"); len(n.Issues) != 0 {
		t.Errorf("fine: %+v", n.Issues)
	}
}

func TestIssueKernelParamReferences(t *testing.T) {
	s := mustCompile(t, joinDocs(issueHW, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  hardware_profile: hw
  platform:
    kernel_params:
      a: 'hardwareprofile:foo'
      b: 'hardwareprofile:hugepages.dpdk'
      c: 'hardwareprofile:cpuset.nosuch'
      d: 'hardwareprofile:hugepages.nosuch.size'
      e: 'hardwareprofile:hugepages.dpdk.bogus'
      f: 'hardwareprofile:memory.x'
      g: 'hardwareprofile:cpuset'
      ok1: 'hardwareprofile:cpuset.sriov'
      ok2: 'hardwareprofile:hugepages.dpdk.count'
      ok3: 'hardwareprofile:'
      ok4: plain
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: nohw}
data:
  platform:
    kernel_params: {x: 'hardwareprofile:cpuset.sriov'}
`))
	n := s.Node("n1")
	want := kvOf("a", "hardwareprofile:foo", "b", "hardwareprofile:hugepages.dpdk", "c", "hardwareprofile:cpuset.nosuch",
		"d", "hardwareprofile:hugepages.nosuch.size", "e", "hardwareprofile:hugepages.dpdk.bogus", "f", "hardwareprofile:memory.x",
		"g", "hardwareprofile:cpuset", "ok1", "2,4", "ok2", "100", "ok3", "hardwareprofile:", "ok4", "plain")
	if !reflect.DeepEqual(n.KernelParams, want) {
		t.Errorf("kernel_params = %v\nwant %v", n.KernelParams, want)
	}
	var fields []string
	for _, i := range n.Issues {
		if i.Kind != IssueKernelParam || i.Detail == "" {
			t.Errorf("issue %+v", i)
		}
		fields = append(fields, i.Field)
	}
	wantFields := []string{"platform.kernel_params.a", "platform.kernel_params.b", "platform.kernel_params.c",
		"platform.kernel_params.d", "platform.kernel_params.e", "platform.kernel_params.f", "platform.kernel_params.g"}
	if !reflect.DeepEqual(fields, wantFields) {
		t.Errorf("issue fields %q\nwant %q", fields, wantFields)
	}
	nohw := s.Node("nohw")
	if i := findIssue(nohw, IssueKernelParam); i == nil || i.Name != "hardwareprofile:cpuset.sriov" {
		t.Errorf("nohw issues %+v", nohw.Issues)
	}
}

func TestProfileIssuesForUnusedProfiles(t *testing.T) {
	s := mustCompile(t, joinDocs(issueHW, `
schema: drydock/HostProfile/v1
metadata: {name: used}
data: {hardware_profile: hw}
`, `
schema: drydock/HostProfile/v1
metadata: {name: unused}
data: {host_profile: gone, hardware_profile: nosuchhw}
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data: {host_profile: used}
`))
	if !s.UsedProfiles["used"] || s.UsedProfiles["unused"] {
		t.Errorf("used profiles %v", s.UsedProfiles)
	}
	got := issueKindsOf(s.ProfileIssues["unused"])
	if want := []string{IssueHostProfile, IssueHardwareProfile}; !reflect.DeepEqual(got, want) {
		t.Errorf("unused profile issues %q, want %q", got, want)
	}
	if _, ok := s.ProfileIssues["used"]; ok {
		t.Errorf("used profile has issues %+v", s.ProfileIssues["used"])
	}
}

func issueKindsOf(issues []RefIssue) []string {
	var out []string
	for _, i := range issues {
		out = append(out, i.Kind)
	}
	return out
}

// design_spec 6.4 on deckhand_fullsite.yaml.
func TestSelectNodesFullsite(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	tests := []struct {
		name string
		fs   *nodefilter.FilterSet
		want []string
	}{
		{"node_names", &nodefilter.FilterSet{FilterSetType: "intersection", FilterSet: []nodefilter.Filter{{FilterType: "intersection", NodeNames: []string{"compute01"}}}},
			[]string{"compute01"}},
		{"rack_names", &nodefilter.FilterSet{FilterSetType: "intersection", FilterSet: []nodefilter.Filter{{FilterType: "intersection", RackNames: []string{"rack2", "rack3"}}}},
			[]string{"compute01", "compute02"}},
		{"node_tags", &nodefilter.FilterSet{FilterSetType: "intersection", FilterSet: []nodefilter.Filter{{FilterType: "intersection", NodeTags: []string{"test"}}}},
			[]string{"controller01", "compute01", "compute02"}},
		{"node_labels", &nodefilter.FilterSet{FilterSetType: "intersection", FilterSet: []nodefilter.Filter{{FilterType: "intersection", NodeLabels: map[string]string{"foo": "baz"}}}},
			[]string{"compute02"}},
		{"nil", nil, []string{"controller01", "compute01", "compute02"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := s.SelectNodes(tt.fs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range nodes {
				got = append(got, n.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("selected %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := s.SelectNodes(&nodefilter.FilterSet{FilterSetType: "foo"}); err == nil {
		t.Errorf("an unknown filter_set_type must be an error")
	}
	empty := compileSample(t, "deckhand_fullsite_no_nodes.yaml")
	if nodes, err := empty.SelectNodes(nil); err != nil || len(nodes) != 0 {
		t.Errorf("no nodes: %v, %v", nodes, err)
	}
}

// B1 fixed: compiling the same design twice gives equal sites, and the design is not changed.
func TestCompileTwiceIsDeterministic(t *testing.T) {
	for _, name := range []string{"deckhand_fullsite.yaml", "deckhand_routedomain.yaml", "fullsite.yaml", "invalid_validation.yaml",
		"deckhand_fullsite_nic_autodetect.yaml", "invalid_kernel.yaml"} {
		t.Run(name, func(t *testing.T) {
			d := parseSample(t, name).Design
			fresh := parseSample(t, name).Design
			a := Compile(d)
			b := Compile(d)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("two compiles differ")
			}
			if !reflect.DeepEqual(d, fresh) {
				t.Errorf("Compile modified the design")
			}
			for _, n := range b.Nodes {
				for _, it := range n.Interfaces {
					if len(it.Selectors) != len(it.Slaves) {
						t.Errorf("%s %s: %d selectors for %d slaves", n.Name, it.Name, len(it.Selectors), len(it.Slaves))
					}
				}
			}
		})
	}
}

func TestCompileEmptyDesign(t *testing.T) {
	for _, d := range []*Design{{}, Parse().Design} {
		s := Compile(d)
		if len(s.Nodes) != 0 || len(s.Networks) != 0 || len(s.BootActions) != 0 || s.Node("x") != nil || s.Network("x") != nil {
			t.Errorf("site %+v", s)
		}
		if nodes, err := s.SelectNodes(nil); err != nil || len(nodes) != 0 {
			t.Errorf("SelectNodes: %v %v", nodes, err)
		}
	}
}
