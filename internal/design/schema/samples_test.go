package schema

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

const samplesDir = "../../../testdata/drydock-samples"

// loadSample decodes every YAML document of a sample file into `any`.
func loadSample(t testing.TB, name string) []any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatalf("reading sample: %v", err)
	}
	var docs []any
	if err := yaml.Load(b, &docs, yaml.WithAllDocuments()); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return docs
}

// legacyDoc returns kind and spec of a single-document legacy sample
// (apiVersion/kind/metadata/spec).
func legacyDoc(t *testing.T, name string) (string, any) {
	t.Helper()
	docs := loadSample(t, name)
	if len(docs) != 1 {
		t.Fatalf("%s: expected 1 document, got %d", name, len(docs))
	}
	m, ok := docs[0].(map[string]any)
	if !ok {
		t.Fatalf("%s: document is %T, not a mapping", name, docs[0])
	}
	kind, _ := m["kind"].(string)
	if kind == "" {
		t.Fatalf("%s: no kind", name)
	}
	return kind, m["spec"]
}

// deckhandDoc is one drydock document of a Deckhand-format file.
type deckhandDoc struct {
	kind, name string
	data       any
}

// deckhandDocs returns the drydock/<Kind>/v1 documents of a sample file.
func deckhandDocs(t testing.TB, file string) []deckhandDoc {
	t.Helper()
	var out []deckhandDoc
	for i, d := range loadSample(t, file) {
		m, ok := d.(map[string]any)
		if !ok {
			t.Fatalf("%s: document %d is %T, not a mapping", file, i, d)
		}
		s, _ := m["schema"].(string)
		parts := strings.Split(s, "/")
		if len(parts) != 3 || parts[0] != "drydock" || parts[2] != "v1" {
			continue
		}
		name := ""
		if md, ok := m["metadata"].(map[string]any); ok {
			name, _ = md["name"].(string)
		}
		out = append(out, deckhandDoc{kind: parts[1], name: name, data: m["data"]})
	}
	return out
}

func TestLegacySamplesValid(t *testing.T) {
	files := []string{
		"baremetalNode.yaml", "baremetalNode2.yaml",
		"hardwareProfile.yaml",
		"hostProfile.yaml", "hostProfile2.yaml",
		"network.yaml", "network2.yaml", "network3.yaml", "network4.yaml", "network5.yaml",
		"networkLink.yaml", "networkLink2.yaml", "networkLink3.yaml",
		"region.yaml", "rack.yaml",
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			kind, spec := legacyDoc(t, f)
			vs, err := Validate(kind, spec)
			if err != nil {
				t.Fatal(err)
			}
			if vs != nil {
				t.Errorf("%s (%s): expected no violations, got %v", f, kind, vs)
			}
		})
	}
}

func TestLegacySamplesInvalid(t *testing.T) {
	type want struct {
		path    []string
		message string // substring
	}
	foo := want{[]string{}, `additional property "foo" is not allowed`}
	cases := map[string]want{
		"invalid_baremetalNode.yaml":   foo,
		"invalid_baremetalNode2.yaml":  foo,
		"invalid_hardwareProfile.yaml": foo,
		"invalid_hostProfile.yaml":     foo,
		"invalid_hostProfile2.yaml":    {[]string{"storage", "physical_devices", "sdb"}, `expected object, got string "invalid_device"`},
		"invalid_network.yaml":         foo,
		"invalid_network2.yaml":        foo,
		"invalid_network3.yaml":        foo,
		"invalid_network4.yaml":        foo,
		"invalid_network5.yaml":        foo,
		"invalid_networkLink.yaml":     foo,
		"invalid_networkLink2.yaml":    foo,
		"invalid_networkLink3.yaml":    foo,
		"invalid_region.yaml":          foo,
		"invalid_rack.yaml":            foo,
	}
	for f, w := range cases {
		t.Run(f, func(t *testing.T) {
			kind, spec := legacyDoc(t, f)
			vs, err := Validate(kind, spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) == 0 {
				t.Fatalf("%s (%s): expected violations, got none", f, kind)
			}
			found := false
			for _, v := range vs {
				if reflect.DeepEqual(v.Path, w.path) && strings.Contains(v.Message, w.message) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no violation at %q containing %q; got %v", f, w.path, w.message, vs)
			}
		})
	}
}

func TestDeckhandSamplesValid(t *testing.T) {
	// deckhand_bootaction.yaml is left out on purpose: its unquoted 0xffff
	// package name is an integer key (see TestIntegerMappingKeyReported).
	files := []string{
		"deckhand_fullsite.yaml",
		"deckhand_fullsite_libvirt.yaml",
		"deckhand_fullsite_nic_autodetect.yaml",
		"deckhand_routedomain.yaml",
		"validation.yaml",
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			docs := deckhandDocs(t, f)
			if len(docs) == 0 {
				t.Fatalf("%s: no drydock documents found", f)
			}
			for _, d := range docs {
				if !Has(d.kind) {
					t.Errorf("%s: document %s has kind %q without a schema", f, d.name, d.kind)
					continue
				}
				vs, err := Validate(d.kind, d.data)
				if err != nil {
					t.Fatal(err)
				}
				if vs != nil {
					t.Errorf("%s: %s %s: expected no violations, got %v", f, d.kind, d.name, vs)
				}
			}
		})
	}
}

func TestInvalidBootActionSample(t *testing.T) {
	type got struct {
		doc string
		Violation
	}
	var all []got
	for _, d := range deckhandDocs(t, "invalid_bootaction.yaml") {
		vs, err := Validate(d.kind, d.data)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			all = append(all, got{d.name, v})
		}
	}
	want := []struct {
		doc     string
		path    []string
		message string
	}{
		{"helloworld", []string{"assets", "0", "data_pipeline", "0"}, `"foo" is not a valid value; expected one of: base64_encode, base64_decode, utf8_encode, utf8_decode, template`},
		{"helloworld", []string{"assets", "1", "permissions"}, "expected string, got number 600"},
		{"invalid_pkg_list", []string{"assets", "0", "data"}, "expected object or string, got array"},
	}
	if len(all) != len(want) {
		t.Fatalf("expected %d violations, got %d: %v", len(want), len(all), all)
	}
	for i, w := range want {
		g := all[i]
		if g.doc != w.doc || !reflect.DeepEqual(g.Path, w.path) || g.Message != w.message {
			t.Errorf("violation %d: got %s %q %q, want %s %q %q", i, g.doc, g.Path, g.Message, w.doc, w.path, w.message)
		}
	}
}

// TestIntegerMappingKeyReported covers deckhand_bootaction.yaml: the YAML
// decoder turns the unquoted package name 0xffff into the integer 65535,
// which is not a valid mapping key in a document.
func TestIntegerMappingKeyReported(t *testing.T) {
	var vs []Violation
	for _, d := range deckhandDocs(t, "deckhand_bootaction.yaml") {
		got, err := Validate(d.kind, d.data)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, got...)
	}
	if len(vs) != 1 {
		t.Fatalf("expected 1 violation, got %v", vs)
	}
	v := vs[0]
	if !reflect.DeepEqual(v.Path, []string{"assets", "1", "data"}) || !strings.Contains(v.Message, "mapping key 65535 is not a string") {
		t.Errorf("unexpected violation %v", v)
	}
}
