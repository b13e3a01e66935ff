package validate_test

// Test helpers: variants of testdata/base.yaml and assertions on reports.
//
// A test loads the base design, changes it with set/del/add/drop/clone, and validates the
// result:
//
//	rep := loadBase(t).
//		set("BaremetalNode", "cmp01", "oob.account", "").
//		run()
//	m := wantErrors(t, rep, "oob.ipmi", 1)[0]
//
// Documents are decoded into plain maps (go.yaml.in/yaml/v4) and encoded back with every
// string double-quoted, so that the YAML 1.1 reader sees exactly the strings the test wrote
// (no yes/no booleans or sexagesimal numbers sneaking in). Map keys come out sorted.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
)

// variant is a site design being derived from base.yaml.
type variant struct {
	t    testing.TB
	docs []map[string]any
}

var baseYAML = sync.OnceValues(func() ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "base.yaml"))
})

// loadBase returns a fresh, independent copy of testdata/base.yaml.
func loadBase(t testing.TB) *variant {
	t.Helper()
	data, err := baseYAML()
	if err != nil {
		t.Fatalf("read base.yaml: %v", err)
	}
	docs, err := decodeDocs(data)
	if err != nil {
		t.Fatalf("decode base.yaml: %v", err)
	}
	return &variant{t: t, docs: docs}
}

func decodeDocs(data []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// y parses a YAML snippet into plain values, for set: y("{account: root}").
func y(text string) any {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		panic(fmt.Sprintf("y(%q): %v", text, err))
	}
	return v
}

func schemaOf(kind string) string { return "drydock/" + kind + "/v1" }

func docName(doc map[string]any) string {
	md, _ := doc["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	return name
}

func (v *variant) index(kind, name string) int {
	for i, d := range v.docs {
		if d["schema"] == schemaOf(kind) && docName(d) == name {
			return i
		}
	}
	return -1
}

// data returns the data mapping of a document, creating it when the document has none.
func (v *variant) data(kind, name string) map[string]any {
	v.t.Helper()
	i := v.index(kind, name)
	if i < 0 {
		v.t.Fatalf("variant: no %s document %q", kind, name)
	}
	d, ok := v.docs[i]["data"].(map[string]any)
	if !ok {
		d = map[string]any{}
		v.docs[i]["data"] = d
	}
	return d
}

// splitPath splits a path on dots; a backslash escapes a dot that is part of a key.
func splitPath(path string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(path); i++ {
		switch {
		case path[i] == '\\' && i+1 < len(path) && path[i+1] == '.':
			cur.WriteByte('.')
			i++
		case path[i] == '.':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(path[i])
		}
	}
	return append(out, cur.String())
}

// set stores value at path (dot-separated, relative to the document's data; a number indexes
// a list, and one past the end appends). Missing mappings on the way are created.
func (v *variant) set(kind, name, path string, value any) *variant {
	v.t.Helper()
	keys := splitPath(path)
	var cur any = v.data(kind, name)
	for i, k := range keys {
		last := i == len(keys)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[k] = value
				return v
			}
			next, ok := c[k]
			if !ok || next == nil {
				next = map[string]any{}
				c[k] = next
			}
			cur = next
		case []any:
			idx, err := strconv.Atoi(k)
			if err != nil || idx < 0 || idx > len(c) {
				v.t.Fatalf("variant: %s %s: bad list index %q in %q", kind, name, k, path)
			}
			if idx == len(c) {
				if !last {
					v.t.Fatalf("variant: %s %s: can only append at the end of %q", kind, name, path)
				}
				v.setParent(kind, name, keys[:i], append(c, value))
				return v
			}
			if last {
				c[idx] = value
				return v
			}
			cur = c[idx]
		default:
			v.t.Fatalf("variant: %s %s: %q does not lead to a mapping or list at %q", kind, name, path, k)
		}
	}
	return v
}

func (v *variant) setParent(kind, name string, keys []string, value any) {
	v.t.Helper()
	esc := make([]string, len(keys))
	for i, k := range keys {
		esc[i] = strings.ReplaceAll(k, ".", `\.`)
	}
	v.set(kind, name, strings.Join(esc, "."), value)
}

// get returns the value at path, or nil.
func (v *variant) get(kind, name, path string) any {
	v.t.Helper()
	var cur any = v.data(kind, name)
	for _, k := range splitPath(path) {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			idx, err := strconv.Atoi(k)
			if err != nil || idx < 0 || idx >= len(c) {
				return nil
			}
			cur = c[idx]
		default:
			return nil
		}
	}
	return cur
}

// del removes the key (or list item) at path; it must exist.
func (v *variant) del(kind, name, path string) *variant {
	v.t.Helper()
	keys := splitPath(path)
	parentPath := strings.Join(escapeAll(keys[:len(keys)-1]), ".")
	var parent any = v.data(kind, name)
	if len(keys) > 1 {
		parent = v.get(kind, name, parentPath)
	}
	last := keys[len(keys)-1]
	switch p := parent.(type) {
	case map[string]any:
		if _, ok := p[last]; !ok {
			v.t.Fatalf("variant: %s %s: nothing at %q", kind, name, path)
		}
		delete(p, last)
	case []any:
		idx, err := strconv.Atoi(last)
		if err != nil || idx < 0 || idx >= len(p) {
			v.t.Fatalf("variant: %s %s: bad list index in %q", kind, name, path)
		}
		v.set(kind, name, parentPath, append(p[:idx:idx], p[idx+1:]...))
	default:
		v.t.Fatalf("variant: %s %s: nothing at %q", kind, name, path)
	}
	return v
}

func escapeAll(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.ReplaceAll(k, ".", `\.`)
	}
	return out
}

// drop removes a whole document.
func (v *variant) drop(kind, name string) *variant {
	v.t.Helper()
	i := v.index(kind, name)
	if i < 0 {
		v.t.Fatalf("variant: no %s document %q to drop", kind, name)
	}
	v.docs = append(v.docs[:i], v.docs[i+1:]...)
	return v
}

// add appends the documents of a YAML stream.
func (v *variant) add(text string) *variant {
	v.t.Helper()
	docs, err := decodeDocs([]byte(text))
	if err != nil {
		v.t.Fatalf("variant: add: %v", err)
	}
	v.docs = append(v.docs, docs...)
	return v
}

// doc appends one document of the given kind and name with the data given as YAML.
func (v *variant) doc(kind, name, data string) *variant {
	v.t.Helper()
	v.docs = append(v.docs, map[string]any{
		"schema":   schemaOf(kind),
		"metadata": map[string]any{"schema": "metadata/Document/v1", "name": name},
		"data":     y(data),
	})
	return v
}

// clone appends a deep copy of a document under a new name, right after the last document
// of its kind, and returns the variant.
func (v *variant) clone(kind, name, newName string) *variant {
	v.t.Helper()
	i := v.index(kind, name)
	if i < 0 {
		v.t.Fatalf("variant: no %s document %q to clone", kind, name)
	}
	cp := deepCopy(v.docs[i]).(map[string]any)
	cp["metadata"].(map[string]any)["name"] = newName
	at := i + 1
	for j := i + 1; j < len(v.docs); j++ {
		if v.docs[j]["schema"] == schemaOf(kind) {
			at = j + 1
		}
	}
	v.docs = append(v.docs[:at], append([]map[string]any{cp}, v.docs[at:]...)...)
	return v
}

func deepCopy(x any) any {
	switch c := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(c))
		for k, e := range c {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(c))
		for i, e := range c {
			l[i] = deepCopy(e)
		}
		return l
	}
	return x
}

// yaml renders the variant as a YAML stream.
func (v *variant) yaml() []byte {
	v.t.Helper()
	var b bytes.Buffer
	for _, d := range v.docs {
		n, err := toNode(d)
		if err != nil {
			v.t.Fatalf("variant: encode: %v", err)
		}
		out, err := yaml.Marshal(n)
		if err != nil {
			v.t.Fatalf("variant: encode: %v", err)
		}
		b.WriteString("---\n")
		b.Write(out)
	}
	return b.Bytes()
}

// toNode builds a YAML node with every string double-quoted and keys sorted (schema,
// metadata and data first in a document, for readability).
func toNode(x any) (*yaml.Node, error) {
	switch c := x.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: c, Style: yaml.DoubleQuotedStyle}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(c)}, nil
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(c)}, nil
	case int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(c, 10)}, nil
	case uint64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(c, 10)}, nil
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(c, 'g', -1, 64)}, nil
	case []string:
		l := make([]any, len(c))
		for i, s := range c {
			l[i] = s
		}
		return toNode(l)
	case map[string]string:
		m := make(map[string]any, len(c))
		for k, s := range c {
			m[k] = s
		}
		return toNode(m)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range c {
			en, err := toNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, en)
		}
		return n, nil
	case map[string]any:
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		rank := map[string]int{}
		if _, isDoc := c["schema"]; isDoc {
			rank = map[string]int{"schema": 1, "metadata": 2, "data": 3}
		}
		sort.Slice(keys, func(i, j int) bool {
			ri, rj := rank[keys[i]], rank[keys[j]]
			if ri == 0 {
				ri = 4
			}
			if rj == 0 {
				rj = 4
			}
			if ri != rj {
				return ri < rj
			}
			return keys[i] < keys[j]
		})
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			kn, _ := toNode(k)
			vn, err := toNode(c[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, kn, vn)
		}
		return n, nil
	}
	return nil, fmt.Errorf("cannot encode %T", x)
}

// run validates the variant with the given options (none: no platform catalogue).
func (v *variant) run(opts ...validate.Options) *validate.Report {
	v.t.Helper()
	var o validate.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	rep := validate.Sources(context.Background(), o, design.Source{Name: "variant.yaml", Data: v.yaml()})
	if rep.Site == nil || !rep.Ingested.OK() {
		v.t.Fatalf("variant could not be read; fix the test:\n%s\n%s", dump(rep.Messages), v.yaml())
	}
	return rep
}

// ---- assertions on reports ----

// msgsOf returns every message of a rule (by slug), in order.
func msgsOf(rep *validate.Report, slug string) []design.Message {
	var out []design.Message
	for _, m := range rep.Messages {
		if m.Rule == slug {
			out = append(out, m)
		}
	}
	return out
}

// errorsOf returns the error messages of a rule (by slug).
func errorsOf(rep *validate.Report, slug string) []design.Message {
	var out []design.Message
	for _, m := range msgsOf(rep, slug) {
		if m.Error {
			out = append(out, m)
		}
	}
	return out
}

// allErrors returns every error message of the report.
func allErrors(rep *validate.Report) []design.Message {
	var out []design.Message
	for _, m := range rep.Messages {
		if m.Error {
			out = append(out, m)
		}
	}
	return out
}

func dump(msgs []design.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "  %s %-24s %-7s %s || %s %v\n", m.Code, m.Rule, m.Level, m.Message, m.Diagnostic, docList(m))
	}
	return b.String()
}

// assertClean fails unless the report has no error, printing every error.
func assertClean(t testing.TB, rep *validate.Report) {
	t.Helper()
	if errs := allErrors(rep); len(errs) > 0 {
		t.Errorf("want zero errors, got %d:\n%s", len(errs), dump(errs))
	}
}

// wantErrors asserts that the report's errors are exactly n errors of one rule (no other rule
// reports an error), each with that rule's code, and returns them.
func wantErrors(t testing.TB, rep *validate.Report, slug string, n int) []design.Message {
	t.Helper()
	return wantErrorCounts(t, rep, map[string]int{slug: n})[slug]
}

// wantErrorCounts asserts the number of errors per rule; rules not listed must report none.
func wantErrorCounts(t testing.TB, rep *validate.Report, want map[string]int) map[string][]design.Message {
	t.Helper()
	got := map[string][]design.Message{}
	for _, m := range allErrors(rep) {
		got[m.Rule] = append(got[m.Rule], m)
	}
	bad := false
	for slug, n := range want {
		if len(got[slug]) != n {
			bad = true
		}
	}
	for slug := range got {
		if _, ok := want[slug]; !ok {
			bad = true
		}
	}
	if bad {
		t.Errorf("errors by rule: want %v, got:\n%s", want, dump(allErrors(rep)))
	}
	for slug, msgs := range got {
		r := validate.Lookup(slug)
		for _, m := range msgs {
			if r == nil || m.Code != r.Code {
				t.Errorf("message of %s has code %s", slug, m.Code)
			}
			if m.Level != design.LevelError || !m.Error {
				t.Errorf("error message with level %s / error=%v", m.Level, m.Error)
			}
		}
	}
	return got
}

// wantSuccess asserts that a rule reported no error and ended with its Info success message.
func wantSuccess(t testing.TB, rep *validate.Report, slug string) {
	t.Helper()
	msgs := msgsOf(rep, slug)
	if len(msgs) == 0 {
		t.Errorf("%s: rule did not run", slug)
		return
	}
	for _, m := range msgs {
		if m.Error {
			t.Errorf("%s: unexpected error: %s", slug, m.Message)
		}
	}
	last := msgs[len(msgs)-1]
	if last.Level != design.LevelInfo || last.Message != "Validation successful." {
		t.Errorf("%s: last message is %s %q, want Info \"Validation successful.\"", slug, last.Level, last.Message)
	}
}

// docList renders a message's documents as Kind/name.
func docList(m design.Message) []string {
	out := make([]string, len(m.Documents))
	for i, d := range m.Documents {
		out[i] = strings.TrimSuffix(strings.TrimPrefix(d.Schema, "drydock/"), "/v1") + "/" + d.Name
	}
	return out
}

// expect describes the message a test wants.
type expect struct {
	level    design.Level // default Error
	contains []string     // substrings of Message
	diag     string       // substring of Diagnostic, when set
	docs     []string     // exact Documents as Kind/name, in order; nil means "not checked"
	noDocs   bool         // Documents must be empty
}

// checkMsg asserts one message's code (the rule's), slug, level, text and documents.
func checkMsg(t testing.TB, m design.Message, slug string, e expect) {
	t.Helper()
	r := validate.Lookup(slug)
	if r == nil {
		t.Fatalf("no rule %s", slug)
	}
	if m.Code != r.Code || m.Rule != slug {
		t.Errorf("message %q: code/rule %s/%s, want %s/%s", m.Message, m.Code, m.Rule, r.Code, slug)
	}
	level := e.level
	if level == "" {
		level = design.LevelError
	}
	if m.Level != level || m.Error != (level == design.LevelError) {
		t.Errorf("message %q: level %s error=%v, want %s", m.Message, m.Level, m.Error, level)
	}
	if m.Kind != "ValidationMessage" {
		t.Errorf("message %q: kind %q", m.Message, m.Kind)
	}
	for _, s := range e.contains {
		if !strings.Contains(m.Message, s) {
			t.Errorf("message %q does not contain %q", m.Message, s)
		}
	}
	if e.diag != "" && !strings.Contains(m.Diagnostic, e.diag) {
		t.Errorf("message %q: diagnostic %q does not contain %q", m.Message, m.Diagnostic, e.diag)
	}
	got := docList(m)
	if e.noDocs && len(got) != 0 {
		t.Errorf("message %q: want no documents, got %v", m.Message, got)
	}
	if e.docs != nil && strings.Join(got, ",") != strings.Join(e.docs, ",") {
		t.Errorf("message %q: documents %v, want %v", m.Message, got, e.docs)
	}
	if m.Documents == nil {
		t.Errorf("message %q: Documents is nil (want an empty list)", m.Message)
	}
}

// one asserts that exactly one error of the rule was reported (and no other error) and checks it.
func one(t testing.TB, rep *validate.Report, slug string, e expect) design.Message {
	t.Helper()
	errs := wantErrors(t, rep, slug, 1)
	if len(errs) != 1 {
		return design.Message{}
	}
	checkMsg(t, errs[0], slug, e)
	return errs[0]
}

// platformCatalog is a fake node driver catalogue.
type platformCatalog struct {
	images []validate.Image
	err    error
	calls  int
}

func (p *platformCatalog) Images(context.Context) ([]validate.Image, error) {
	p.calls++
	return p.images, p.err
}

func xenialCatalog() *platformCatalog {
	return &platformCatalog{images: []validate.Image{{Name: "xenial", Kernels: []string{"ga-16.04", "hwe-16.04"}}}}
}
