package design

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// checkMessage asserts the code, rule, level, the document named and that the text gives the
// source and line.
func checkMessage(t *testing.T, m Message, code, rule string, level Level, schema, name, source string, line int) {
	t.Helper()
	if m.Code != code || m.Rule != rule || m.Level != level || m.Error != (level == LevelError) || m.Kind != "ValidationMessage" {
		t.Errorf("message %+v: want code %s rule %s level %s", m, code, rule, level)
	}
	if len(m.Documents) != 1 || m.Documents[0].Schema != schema || m.Documents[0].Name != name || m.Documents[0].Source != source {
		t.Errorf("message documents %+v: want %s %s from %s", m.Documents, schema, name, source)
	}
	if schema != "yaml" && !strings.Contains(m.Message, schema+" "+name) {
		t.Errorf("message %q does not name the document %q", m.Message, schema+" "+name)
	}
	if where := fmt.Sprintf("%s:%d", source, line); line > 0 && !strings.Contains(m.Message, where) {
		t.Errorf("message %q does not give the position %s", m.Message, where)
	}
}

func onlyMessage(t *testing.T, in *Ingested) Message {
	t.Helper()
	if len(in.Messages) != 1 {
		for _, m := range in.Messages {
			t.Logf("%s %s: %s", m.Code, m.Level, m.Message)
		}
		t.Fatalf("got %d messages, want 1", len(in.Messages))
	}
	return in.Messages[0]
}

func TestYAML11Scalars(t *testing.T) {
	d := mustParse(t, `
schema: drydock/HostProfile/v1
metadata: {name: p}
data:
  platform:
    kernel_params:
      a: yes
      b: no
      c: on
      d: off
      e: TRUE
      f: 0755
      g: 0xff
      h: '0755'
      i: "yes"
      j: 1:20
      k: 0b101
      l: 1_000
      m: 802.3ad
      n: 10g
      o: 2.50
`)
	want := kvOf("a", "True", "b", "False", "c", "True", "d", "False", "e", "True", "f", "493", "g", "255",
		"h", "0755", "i", "yes", "j", "80", "k", "5", "l", "1000", "m", "802.3ad", "n", "10g", "o", "2.5")
	if got := d.HostProfile("p").KernelParams; !reflect.DeepEqual(got, want) {
		t.Errorf("kernel_params = %v\nwant %v", got, want)
	}
}

func TestYAML11NumbersInTypedFields(t *testing.T) {
	d := mustParse(t, `
schema: drydock/NetworkLink/v1
metadata: {name: l}
data:
  mtu: 0x2328
  allowed_networks: [n]
---
schema: drydock/HardwareProfile/v1
metadata: {name: hw}
data:
  pxe_interface: 010
`)
	if l := d.NetworkLink("l"); l.MTU != 9000 || !l.MTUSet {
		t.Errorf("mtu 0x2328 = %d, want 9000", l.MTU)
	}
	if hw := d.HardwareProfile("hw"); hw.PXEInterface == nil || *hw.PXEInterface != 8 {
		t.Errorf("pxe_interface 010 = %v, want octal 8", hw.PXEInterface)
	}
}

func TestDuplicateKeysLastWinsWithWarning(t *testing.T) {
	text := `schema: drydock/Network/v1
metadata:
  name: net
data:
  cidr: 10.0.0.0/24
  mtu: 1500
  cidr: 10.0.1.0/24
`
	in := parseText(text)
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocDupKey, RuleDocDupKey, LevelWarning, "drydock/Network/v1", "net", "test.yaml", 7)
	if !strings.Contains(m.Message, `"cidr"`) || !strings.Contains(m.Message, "first at line 5") {
		t.Errorf("message %q should name the key and its first line", m.Message)
	}
	if !in.OK() || in.Documents != 1 {
		t.Fatalf("a duplicate key is only a warning: OK %v, documents %d", in.OK(), in.Documents)
	}
	if got := in.Design.Network("net").CIDR; got != "10.0.1.0/24" {
		t.Errorf("cidr = %q, want the last value", got)
	}
}

// A duplicate metadata.name renames the document silently unless it is reported.
func TestDuplicateKeysInMetadataWarned(t *testing.T) {
	text := `schema: drydock/Network/v1
metadata:
  name: first
  name: second
data:
  cidr: 10.0.0.0/24
`
	in := parseText(text)
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocDupKey, RuleDocDupKey, LevelWarning, "drydock/Network/v1", "second", "test.yaml", 4)
	if in.Design.Network("second") == nil {
		t.Errorf("the last name should win")
	}
}

func TestEmptyDocumentsSkipped(t *testing.T) {
	in := parseText("---\n---\n# only a comment\n---\n~\n---\nnull\n---\nschema: drydock/Network/v1\nmetadata: {name: n}\ndata: {cidr: 10.0.0.0/8}\n---\n...\n")
	if len(in.Messages) != 0 || in.Documents != 1 || in.Ignored != 0 || len(in.Design.Networks) != 1 {
		t.Errorf("messages %v, documents %d, ignored %d", in.Messages, in.Documents, in.Ignored)
	}
}

func TestOtherNamespacesIgnored(t *testing.T) {
	in := parseText(joinDocs(
		"schema: deckhand/DataSchema/v1\nmetadata: {name: drydock/Network/v1}\ndata: {type: object}\n",
		"schema: promenade/Genesis/v1\nmetadata: {name: genesis}\ndata: {}\n",
		"schema: pegleg/CommonAddresses/v1\nmetadata: {name: common}\ndata: {}\n",
		"apiVersion: promenade/v1\nkind: Genesis\nmetadata: {name: g}\nspec: {}\n",
		"apiVersion: v1.0\nkind: Network\nmetadata: {name: legacy}\nspec: {cidr: 10.0.0.0/8}\n",
		"schema: drydock/Network/v1\nmetadata: {name: n}\ndata: {cidr: 10.0.0.0/8}\n",
	))
	if len(in.Messages) != 0 {
		t.Errorf("unexpected messages %v", in.Messages)
	}
	if in.Ignored != 5 || in.Documents != 1 || len(in.Design.Networks) != 1 {
		t.Errorf("ignored %d, documents %d, networks %d; want 5, 1, 1", in.Ignored, in.Documents, len(in.Design.Networks))
	}
}

func TestLegacyDocumentsConverted(t *testing.T) {
	in := parseText(`apiVersion: 'drydock/v1'
kind: Network
metadata:
  name: mgmt
spec:
  cidr: 172.16.1.0/24
  vlan: '100'
`)
	if len(in.Messages) != 0 || in.Documents != 1 {
		t.Fatalf("messages %v", in.Messages)
	}
	n := in.Design.Network("mgmt")
	if n == nil || n.CIDR != "172.16.1.0/24" || n.VLAN != "100" || n.Ref.Schema != "drydock/Network/v1" || n.Ref.Name != "mgmt" {
		t.Errorf("network = %+v", n)
	}
}

func TestLegacyDocumentsSchemaChecked(t *testing.T) {
	text := `apiVersion: 'drydock/v1'
kind: Network
metadata:
  name: mgmt
spec:
  cidr: 172.16.1.0/24
  vlan_id: '100'
`
	in := parseText(text)
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocSchema, RuleDocSchema, LevelError, "drydock/Network/v1", "mgmt", "test.yaml", 0)
	if !strings.Contains(m.Message, "spec") || !strings.Contains(m.Message, "vlan_id") {
		t.Errorf("message %q should name the field", m.Message)
	}
	if in.OK() || len(in.Design.Networks) != 0 {
		t.Errorf("a schema violation drops the document")
	}
}

func TestUnknownKindOrVersion(t *testing.T) {
	for _, tt := range []struct{ text, schema string }{
		{"schema: drydock/Foo/v1\nmetadata: {name: x}\ndata: {}\n", "drydock/Foo/v1"},
		{"schema: drydock/Network/v2\nmetadata: {name: x}\ndata: {cidr: 10.0.0.0/8}\n", "drydock/Network/v2"},
		{"schema: drydock/Network/v1/extra\nmetadata: {name: x}\ndata: {cidr: 10.0.0.0/8}\n", "drydock/Network/v1/extra"},
		{"apiVersion: drydock/v1\nkind: Foo\nmetadata: {name: x}\nspec: {}\n", "drydock/Foo/v1"},
	} {
		t.Run(tt.schema, func(t *testing.T) {
			in := parseText(tt.text)
			m := onlyMessage(t, in)
			checkMessage(t, m, CodeDocInvalid, RuleDocInvalid, LevelError, tt.schema, "x", "test.yaml", 1)
			if in.OK() || in.Documents != 0 {
				t.Errorf("OK %v, documents %d", in.OK(), in.Documents)
			}
		})
	}
}

// A name YAML reads as a number is taken as its text, as the original did.
func TestNumericName(t *testing.T) {
	in := parseText("schema: drydock/Network/v1\nmetadata:\n  name: 12\ndata: {cidr: 10.0.0.0/8}\n")
	if len(in.Messages) != 0 || len(in.Design.Networks) != 1 || in.Design.Networks[0].Name != "12" {
		t.Fatalf("messages %v, networks %+v", in.Messages, in.Design.Networks)
	}
}

func TestMissingName(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		line       int
	}{
		{"no metadata", "schema: drydock/Network/v1\ndata: {cidr: 10.0.0.0/8}\n", 1},
		{"metadata without name", "schema: drydock/Network/v1\nmetadata:\n  labels: {a: b}\ndata: {cidr: 10.0.0.0/8}\n", 3},
		{"empty name", "schema: drydock/Network/v1\nmetadata:\n  name: ''\ndata: {cidr: 10.0.0.0/8}\n", 3},
		{"legacy", "apiVersion: drydock/v1\nkind: Network\nspec: {cidr: 10.0.0.0/8}\n", 1},
		{"null metadata", "schema: drydock/Network/v1\nmetadata:\ndata: {cidr: 10.0.0.0/8}\n", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := parseText(tt.text)
			m := onlyMessage(t, in)
			// Without a name the document is named by its position in the stream.
			checkMessage(t, m, CodeDocInvalid, RuleDocInvalid, LevelError, "drydock/Network/v1", "document 1", "test.yaml", tt.line)
			if !strings.Contains(m.Message, "metadata.name") {
				t.Errorf("message %q should name the field", m.Message)
			}
			if in.Documents != 0 || len(in.Design.Networks) != 0 {
				t.Errorf("the document must be left out")
			}
		})
	}
}

// A metadata key YAML 1.1 reads as a boolean is reported as such, not as a missing name.
func TestNonStringKeyInMetadata(t *testing.T) {
	in := parseText("schema: drydock/Network/v1\nmetadata:\n  name: n\n  on: x\ndata: {cidr: 10.0.0.0/8}\n")
	m := onlyMessage(t, in)
	if m.Code != CodeDocInvalid || m.Level != LevelError || !strings.Contains(m.Message, "quote it ('on')") || !strings.Contains(m.Message, "test.yaml:4") {
		t.Errorf("message %+v", m)
	}
}

func TestSchemaViolationPathAndLine(t *testing.T) {
	text := `schema: drydock/Network/v1
metadata:
  name: mgmt
data:
  cidr: 172.16.1.0/24
  ranges:
    - type: static
      start: 172.16.1.15
      end: [172.16.1.254]
`
	in := parseText(text)
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocSchema, RuleDocSchema, LevelError, "drydock/Network/v1", "mgmt", "test.yaml", 9)
	if !strings.Contains(m.Message, "data.ranges.0.end") {
		t.Errorf("message %q should give the field path data.ranges.0.end", m.Message)
	}
}

func TestYAMLSyntaxError(t *testing.T) {
	text := "schema: drydock/Network/v1\nmetadata: {name: good}\ndata: {cidr: 10.0.0.0/8}\n---\nschema: drydock/Network/v1\nmetadata: {name: bad\ndata: {cidr: 10.0.0.0/8}\n"
	in := Parse(Source{Name: "broken.yaml", Data: []byte(text)})
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocYAML, RuleDocYAML, LevelError, "yaml", "broken.yaml", "broken.yaml", 0)
	if m.Documents[0].Line < 6 {
		t.Errorf("syntax error line %d, want 6 or later", m.Documents[0].Line)
	}
	if !strings.Contains(m.Message, fmt.Sprintf("line %d", m.Documents[0].Line)) {
		t.Errorf("message %q does not give the line", m.Message)
	}
	if in.OK() || in.Design.Network("good") == nil {
		t.Errorf("documents before the error are still read; OK must be false")
	}
}

func TestDuplicateDocument(t *testing.T) {
	text := `schema: drydock/Network/v1
metadata: {name: mgmt}
data: {cidr: 10.0.0.0/24}
---
schema: drydock/NetworkLink/v1
metadata: {name: mgmt}
data: {allowed_networks: [mgmt]}
---
schema: drydock/Network/v1
metadata: {name: mgmt}
data: {cidr: 10.9.9.0/24}
`
	in := parseText(text)
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocDuplicate, RuleDocDuplicate, LevelError, "drydock/Network/v1", "mgmt", "test.yaml", 9)
	if !strings.Contains(m.Message, "test.yaml:1") {
		t.Errorf("message %q should give the first definition", m.Message)
	}
	if len(in.Design.Networks) != 1 || in.Design.Network("mgmt").CIDR != "10.0.0.0/24" {
		t.Errorf("the first definition is kept: %+v", in.Design.Networks)
	}
	if in.Design.NetworkLink("mgmt") == nil || in.Documents != 2 {
		t.Errorf("the same name in another kind is fine")
	}
}

func TestDuplicateDocumentAcrossSources(t *testing.T) {
	a := Source{Name: "a.yaml", Data: []byte("schema: drydock/Network/v1\nmetadata: {name: mgmt}\ndata: {cidr: 10.0.0.0/24}\n")}
	b := Source{Name: "b.yaml", Data: []byte("---\napiVersion: drydock/v1\nkind: Network\nmetadata: {name: mgmt}\nspec: {cidr: 10.9.9.0/24}\n")}
	in := Parse(a, b)
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocDuplicate, RuleDocDuplicate, LevelError, "drydock/Network/v1", "mgmt", "b.yaml", 2)
	if !strings.Contains(m.Message, "a.yaml:1") {
		t.Errorf("message %q should give the first definition", m.Message)
	}
}

func TestNonStringKeys(t *testing.T) {
	for _, tt := range []struct{ key, reads string }{
		{"0xffff", "an integer"},
		{"off", "a boolean"},
		{"yes", "a boolean"},
		{"12", "an integer"},
		{"1.5", "a number"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			text := "schema: drydock/HostProfile/v1\nmetadata:\n  name: p\ndata:\n  platform:\n    kernel_params:\n      quiet: true\n      " + tt.key + ": 1\n"
			in := parseText(text)
			m := onlyMessage(t, in)
			checkMessage(t, m, CodeDocInvalid, RuleDocInvalid, LevelError, "drydock/HostProfile/v1", "p", "test.yaml", 8)
			if !strings.Contains(m.Message, tt.reads) || !strings.Contains(m.Message, "quote it ('"+tt.key+"')") {
				t.Errorf("message %q should say the key reads as %s and how to quote it", m.Message, tt.reads)
			}
			if len(in.Design.HostProfiles) != 0 {
				t.Errorf("the document must be left out")
			}
		})
	}
	// Quoted, the same keys are fine.
	d := mustParse(t, "schema: drydock/HostProfile/v1\nmetadata: {name: p}\ndata:\n  platform:\n    kernel_params: {'off': 1, '0xffff': x}\n")
	if want := kvOf("off", "1", "0xffff", "x"); !reflect.DeepEqual(d.HostProfile("p").KernelParams, want) {
		t.Errorf("kernel_params = %v", d.HostProfile("p").KernelParams)
	}
}

func TestFullsiteIngest(t *testing.T) {
	in := parseSample(t, "deckhand_fullsite.yaml")
	if len(in.Messages) != 0 {
		t.Fatalf("messages: %v", in.Messages)
	}
	d := in.Design
	if len(d.HostProfiles) != 2 || len(d.Nodes) != 3 || len(d.HardwareProfiles) != 2 || len(d.Networks) != 5 ||
		len(d.NetworkLinks) != 3 || len(d.Racks) != 1 || len(d.Regions) != 1 || len(d.BootActions) != 3 {
		t.Errorf("counts: %d host profiles, %d nodes, %d hw, %d networks, %d links, %d racks, %d regions, %d boot actions",
			len(d.HostProfiles), len(d.Nodes), len(d.HardwareProfiles), len(d.Networks), len(d.NetworkLinks), len(d.Racks), len(d.Regions), len(d.BootActions))
	}
	if in.Documents != 20 || in.Ignored != 0 {
		t.Errorf("documents %d, ignored %d", in.Documents, in.Ignored)
	}
	for _, hp := range d.HostProfiles {
		if hp.Ref.Schema != "drydock/HostProfile/v1" || hp.Ref.Name != hp.Name || hp.Ref.Source != "deckhand_fullsite.yaml" || hp.Ref.Line == 0 {
			t.Errorf("host profile %s ref %+v", hp.Name, hp.Ref)
		}
	}
	for _, n := range d.Nodes {
		if n.Ref.Schema != "drydock/BaremetalNode/v1" || !n.IsNode {
			t.Errorf("node %s ref %+v", n.Name, n.Ref)
		}
	}
	repos := d.Region().Repositories
	if repos == nil || !repos.RemoveUnlisted || len(repos.Repositories) != 1 {
		t.Fatalf("repositories = %+v", repos)
	}
	if r := repos.Repositories[0]; r.Name != "docker" || !strings.Contains(r.URL, "docker") || r.RepoType != "apt" ||
		!reflect.DeepEqual(r.Arches, []string{"amd64"}) || !reflect.DeepEqual(r.Distributions, []string{"ubuntu-xenial"}) {
		t.Errorf("repository = %+v", r)
	}
	rack := d.Rack("rack1")
	if g, _ := rack.Location.Get("grid"); g != "EG12" {
		t.Errorf("rack1 grid = %q", g)
	}
	if len(rack.TorSwitches) != 2 || rack.TorSwitches[0].SDNAPIURI == "" {
		t.Errorf("rack1 switches = %+v (sdn_api_uri must be read, B10)", rack.TorSwitches)
	}
	// Partition fields the original lost (B9): bootable is read.
	defaults := d.HostProfile("defaults")
	if p := defaults.Devices[0].Partitions[0]; p.Name != "root" || p.Bootable == nil || !*p.Bootable {
		t.Errorf("root partition = %+v", p)
	}
	hw := d.HardwareProfile("HPGen9v3")
	if c := hw.HugepagesConf("sriov"); c == nil || c.Size != "1G" || c.Count != 300 {
		t.Errorf("hugepages sriov = %+v", c)
	}
	if pxe := hw.PXEInterface; pxe == nil || *pxe != 0 {
		t.Errorf("pxe_interface = %v", pxe)
	}
}

func TestBootActionPermissionsOctal(t *testing.T) {
	d := parseSample(t, "deckhand_fullsite.yaml").Design
	var ba *BootAction
	for _, b := range d.BootActions {
		if b.Name == "hw_filtered" {
			ba = b
		}
	}
	if ba == nil || len(ba.Assets) != 2 || ba.Signaling {
		t.Fatalf("hw_filtered = %+v", ba)
	}
	for i, want := range []uint32{0o555, 0o600} {
		if p := ba.Assets[i].Permissions; p == nil || *p != want {
			t.Errorf("asset %d permissions = %v, want %#o", i, p, want)
		}
	}
	d = mustParse(t, "schema: drydock/BootAction/v1\nmetadata: {name: b}\ndata:\n  assets:\n    - {type: file, path: /x, data: y, permissions: '0644'}\n    - {type: file, path: /z, data: y}\n")
	if p := d.BootActions[0].Assets[0].Permissions; p == nil || *p != 0o644 {
		t.Errorf("'0644' = %v, want 0o644", p)
	}
	if p := d.BootActions[0].Assets[1].Permissions; p != nil {
		t.Errorf("no permissions = %v, want nil", *p)
	}
}

func TestDeckhandBootactionSample(t *testing.T) {
	data := readSample(t, "deckhand_bootaction.yaml")
	in := parseSample(t, "deckhand_bootaction.yaml")
	m := onlyMessage(t, in)
	checkMessage(t, m, CodeDocInvalid, RuleDocInvalid, LevelError, "drydock/BootAction/v1", "pkg_install", "deckhand_bootaction.yaml",
		lineOf(t, data, "", "0xffff:"))
	if !strings.Contains(m.Message, "quote it ('0xffff')") {
		t.Errorf("message %q should say how to quote the key", m.Message)
	}
	if len(in.Design.BootActions) != 1 || in.Design.BootActions[0].Name != "helloworld" {
		t.Fatalf("boot actions = %+v", in.Design.BootActions)
	}
	ba := in.Design.BootActions[0]
	if len(ba.Assets) != 3 || !ba.Signaling || ba.NodeFilter != nil {
		t.Errorf("helloworld = %+v", ba)
	}
	if a := ba.Assets[1]; a.Type != AssetUnit || a.Path != "/lib/systemd/system/hello.service" ||
		!reflect.DeepEqual(a.DataPipeline, []string{"base64_decode", "utf8_decode"}) {
		t.Errorf("asset 1 = %+v", a)
	}
}

func TestPkgListFromFullsite(t *testing.T) {
	d := parseSample(t, "deckhand_fullsite.yaml").Design
	for _, b := range d.BootActions {
		if b.Name != "helloworld" {
			continue
		}
		a := b.Assets[3]
		want := []Pkg{{Name: "2ping", Version: "3.2.1-1"}, {Name: "0xffff"}}
		if a.Type != AssetPkgList || !a.DataIsMap || !reflect.DeepEqual(a.PackageList, want) {
			t.Errorf("pkg_list asset = %+v", a)
		}
		return
	}
	t.Fatal("helloworld not found")
}

func TestInvalidBootactionSample(t *testing.T) {
	data := readSample(t, "invalid_bootaction.yaml")
	in := parseSample(t, "invalid_bootaction.yaml")
	if len(in.Messages) != 3 || len(messagesWith(in.Messages, CodeDocSchema)) != 3 {
		for _, m := range in.Messages {
			t.Logf("%s: %s", m.Code, m.Message)
		}
		t.Fatalf("got %d messages, want exactly 3 DD001", len(in.Messages))
	}
	src := "invalid_bootaction.yaml"
	checkMessage(t, in.Messages[0], CodeDocSchema, RuleDocSchema, LevelError, "drydock/BootAction/v1", "helloworld", src, lineOf(t, data, "", "- foo"))
	checkMessage(t, in.Messages[1], CodeDocSchema, RuleDocSchema, LevelError, "drydock/BootAction/v1", "helloworld", src, lineOf(t, data, "", "permissions: 600"))
	checkMessage(t, in.Messages[2], CodeDocSchema, RuleDocSchema, LevelError, "drydock/BootAction/v1", "invalid_pkg_list", src, lineOf(t, data, "invalid_pkg_list", "- pkg1"))
	if !strings.Contains(in.Messages[0].Message, "data_pipeline") || !strings.Contains(in.Messages[1].Message, "permissions") {
		t.Errorf("messages should name the fields: %q / %q", in.Messages[0].Message, in.Messages[1].Message)
	}
	if len(in.Design.BootActions) != 0 || in.OK() {
		t.Errorf("both documents must be dropped")
	}
}

func TestLegacyFullsiteSample(t *testing.T) {
	in := parseSample(t, "fullsite.yaml")
	if len(in.Messages) != 0 {
		t.Fatalf("messages: %v", in.Messages)
	}
	d := in.Design
	if len(d.HostProfiles) != 2 || len(d.Nodes) != 2 {
		t.Fatalf("%d host profiles, %d nodes; want 2 and 2", len(d.HostProfiles), len(d.Nodes))
	}
	for _, hp := range d.HostProfiles {
		if hp.Ref.Schema != "drydock/HostProfile/v1" {
			t.Errorf("legacy profile %s has schema %q", hp.Name, hp.Ref.Schema)
		}
	}
}

func TestLegacyV10SamplesIgnored(t *testing.T) {
	for _, name := range []string{"oob.yaml", "fullsite_networks.yaml", "fullsite_nodes.yaml", "unknown_kind.yaml"} {
		in := parseSample(t, name)
		if len(in.Messages) != 0 || in.Documents != 0 || in.Ignored == 0 {
			t.Errorf("%s: messages %v, documents %d, ignored %d", name, in.Messages, in.Documents, in.Ignored)
		}
	}
}

func TestInvalidSampleIsCleanError(t *testing.T) {
	data := readSample(t, "invalid.yaml")
	in := parseSample(t, "invalid.yaml")
	if in.OK() || in.Documents != 0 || len(in.Design.Networks) != 0 {
		t.Fatalf("OK %v, documents %d", in.OK(), in.Documents)
	}
	m := in.Messages[0]
	if m.Level != LevelError || (m.Code != CodeDocInvalid && m.Code != CodeDocYAML) {
		t.Errorf("message %+v", m)
	}
	if where := fmt.Sprintf("invalid.yaml:%d", lineOf(t, data, "", ": Network")); !strings.Contains(m.Message, where) {
		t.Errorf("message %q should point at %s", m.Message, where)
	}
	// A design that cannot be read still compiles to an empty site.
	if s := Compile(in.Design); len(s.Nodes) != 0 {
		t.Errorf("nodes = %v", s.Nodes)
	}
}

// splitDocs cuts a YAML stream at its "---" lines.
func splitDocs(data []byte) [][]byte {
	var out [][]byte
	for _, part := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(part)) > 0 {
			out = append(out, part)
		}
	}
	return out
}

func TestSeveralSources(t *testing.T) {
	data := readSample(t, "deckhand_fullsite.yaml")
	parts := splitDocs(data)
	if len(parts) < 10 {
		t.Fatalf("split into %d parts", len(parts))
	}
	var srcs []Source
	for i, p := range parts {
		srcs = append(srcs, Source{Name: fmt.Sprintf("part%02d.yaml", i), Data: p})
	}
	many := Parse(srcs...)
	one := Parse(Source{Name: "all.yaml", Data: data})
	if len(many.Messages) != 0 || many.Documents != one.Documents {
		t.Fatalf("messages %v, documents %d vs %d", many.Messages, many.Documents, one.Documents)
	}
	for _, n := range many.Design.Nodes {
		if !strings.HasPrefix(n.Ref.Source, "part") || n.Ref.Line == 0 {
			t.Errorf("node %s ref %+v should name its own source", n.Name, n.Ref)
		}
	}
	a, _ := json.Marshal(Compile(many.Design).Nodes)
	b, _ := json.Marshal(Compile(one.Design).Nodes)
	if !bytes.Equal(a, b) {
		t.Errorf("the design read from several sources compiles differently:\n%s\n%s", a, b)
	}
	// A profile in one source, the node in another.
	in := Parse(
		Source{Name: "profiles.yaml", Data: []byte("schema: drydock/HostProfile/v1\nmetadata: {name: p}\ndata: {metadata: {tags: [t]}}\n")},
		Source{Name: "nodes.yaml", Data: []byte("schema: drydock/BaremetalNode/v1\nmetadata: {name: n}\ndata: {host_profile: p}\n")},
	)
	if s := Compile(in.Design); len(s.Nodes) != 1 || !reflect.DeepEqual(s.Nodes[0].Tags, []string{"t"}) {
		t.Errorf("cross-source inheritance failed: %+v", s.Nodes)
	}
}

// An integral float passes the schema's "integer" type. One out of the int range used to be
// converted to a garbage value (1e22 became -9223372036854775808) instead of being reported.
func TestIntegralFloatOutOfRange(t *testing.T) {
	d := mustParse(t, "schema: drydock/NetworkLink/v1\nmetadata: {name: l}\ndata: {mtu: 9000.0, allowed_networks: [a]}\n")
	if got := d.NetworkLink("l").MTU; got != 9000 {
		t.Errorf("mtu 9000.0 = %d", got)
	}
	for _, text := range []string{
		"schema: drydock/NetworkLink/v1\nmetadata: {name: l}\ndata:\n  allowed_networks: [a]\n  mtu: 10000000000000000000000.0\n",
		"schema: drydock/HardwareProfile/v1\nmetadata: {name: l}\ndata:\n  hugepages:\n    a: {size: 1G, count: 10000000000000000000000.0}\n",
		"schema: drydock/Network/v1\nmetadata: {name: l}\ndata:\n  cidr: 10.0.0.0/8\n  routes: [{subnet: 0.0.0.0/0, gateway: 10.0.0.1, metric: -10000000000000000000000.0}]\n",
	} {
		in := parseText(text)
		m := onlyMessage(t, in)
		if m.Code != CodeDocInvalid || m.Level != LevelError || !strings.Contains(m.Message, "integer") || !strings.Contains(m.Message, "test.yaml:") {
			t.Errorf("message %+v", m)
		}
		if in.Documents != 0 {
			t.Errorf("the document must be left out: %q", text)
		}
	}
}
