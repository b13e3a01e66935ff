package sitegen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// doc is one decoded Deckhand document.
type doc struct {
	kind string
	name string
	data map[string]any
}

func decodeAll(t testing.TB, b []byte) []doc {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []doc
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("document %d: YAML error: %v", len(docs)+1, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("document %d is %T, not a mapping", len(docs)+1, v)
		}
		schema, _ := m["schema"].(string)
		parts := strings.Split(schema, "/")
		if len(parts) != 3 || parts[0] != "drydock" || parts[2] != "v1" {
			t.Fatalf("document %d: bad schema %q", len(docs)+1, schema)
		}
		md, _ := m["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		if name == "" || md["schema"] != "metadata/Document/v1" {
			t.Fatalf("document %d: bad metadata %v", len(docs)+1, md)
		}
		data, ok := m["data"].(map[string]any)
		if !ok {
			t.Fatalf("%s %s: data is %T", parts[1], name, m["data"])
		}
		docs = append(docs, doc{kind: parts[1], name: name, data: data})
	}
	return docs
}

// Small accessors over decoded YAML; they fail the test on a type mismatch.

func mp(t testing.TB, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want mapping, got %T (%v)", what, v, v)
	}
	return m
}

func list(t testing.TB, v any, what string) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: want sequence, got %T (%v)", what, v, v)
	}
	return l
}

func str(t testing.TB, v any, what string) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s: want string, got %T (%v)", what, v, v)
	}
	return s
}

func num(t testing.TB, v any, what string) int {
	t.Helper()
	n, ok := v.(int)
	if !ok {
		t.Fatalf("%s: want int, got %T (%v)", what, v, v)
	}
	return n
}

func strs(t testing.TB, v any, what string) []string {
	t.Helper()
	var out []string
	for k, e := range list(t, v, what) {
		out = append(out, str(t, e, fmt.Sprintf("%s[%d]", what, k)))
	}
	return out
}

func addr(t testing.TB, v any, what string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(str(t, v, what))
	if err != nil || !a.Is4() {
		t.Fatalf("%s: bad IPv4 address %v: %v", what, v, err)
	}
	return a
}

type ipRange struct{ start, end netip.Addr }

func (r ipRange) contains(a netip.Addr) bool {
	return r.start.Compare(a) <= 0 && a.Compare(r.end) <= 0
}

type netInfo struct {
	prefix netip.Prefix
	vlan   string
	mtu    int
	static []ipRange
	dhcp   []ipRange
	ranges []ipRange
}

// merge applies Drydock's list inheritance (child entries without '!', then
// parent entries not negated and not already present).
func merge(child, parent []string) []string {
	if len(child) == 0 {
		return parent
	}
	var out []string
	neg := map[string]bool{}
	for _, c := range child {
		if strings.HasPrefix(c, "!") {
			neg[c[1:]] = true
		} else {
			out = append(out, c)
		}
	}
	for _, p := range parent {
		if !neg[p] && !contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

var (
	labelRE   = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	versionRE = regexp.MustCompile(`^(\d+:)?([a-zA-Z0-9.+~-]+)(-[a-zA-Z0-9.+~]+)$`)
	sizeRE    = regexp.MustCompile(`^(\d+)([gG])$`)
)
