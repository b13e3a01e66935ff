package design

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// --- unit level: the merge helpers ---------------------------------------------------------

func TestMergeListRule(t *testing.T) {
	tests := []struct {
		name          string
		child, parent []string
		want          []string
	}{
		// design_spec 3.3.3, observed in the original.
		{"spec example", []string{"!t1", "t3"}, []string{"t1", "t2"}, []string{"t3", "t2"}},
		{"child then parent", []string{"c1", "c2"}, []string{"p1", "p2"}, []string{"c1", "c2", "p1", "p2"}},
		{"no duplicates from parent", []string{"a", "b"}, []string{"b", "c"}, []string{"a", "b", "c"}},
		{"remove every parent entry", []string{"!a", "!b"}, []string{"a", "b"}, []string{}},
		{"negating an absent entry is harmless", []string{"!zz"}, []string{"a"}, []string{"a"}},
		{"child absent inherits", nil, []string{"a", "b"}, []string{"a", "b"}},
		{"child empty inherits", []string{}, []string{"a", "b"}, []string{"a", "b"}},
		{"parent absent", []string{"a"}, nil, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeList(tt.child, tt.parent)
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("mergeList(%q, %q) = %q, want %q", tt.child, tt.parent, got, tt.want)
			}
		})
	}
}

func kvOf(pairs ...string) KV {
	kv := KV{}
	for i := 0; i+1 < len(pairs); i += 2 {
		kv = append(kv, KVPair{pairs[i], pairs[i+1]})
	}
	return kv
}

func TestMergeKVRule(t *testing.T) {
	tests := []struct {
		name          string
		child, parent KV
		want          KV
	}{
		// design_spec 3.3.4, observed in the original: parent order, '!a' removes a, c appended.
		{"spec example", kvOf("!a", "x", "c", "3"), kvOf("a", "1", "b", "2", "flag", "True"), kvOf("b", "2", "flag", "True", "c", "3")},
		{"override keeps the parent position", kvOf("a", "9"), kvOf("a", "1", "b", "2"), kvOf("a", "9", "b", "2")},
		{"override and append", kvOf("z", "26", "b", "20"), kvOf("a", "1", "b", "2"), kvOf("a", "1", "b", "20", "z", "26")},
		{"child absent inherits", nil, kvOf("a", "1"), kvOf("a", "1")},
		{"child empty inherits", KV{}, kvOf("a", "1"), kvOf("a", "1")},
		{"parent absent", kvOf("a", "1"), nil, kvOf("a", "1")},
		{"a '!' value is a value", kvOf("a", "!"), kvOf("a", "1"), kvOf("a", "!")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeKV(tt.child, tt.parent)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mergeKV(%v, %v) = %v, want %v", tt.child, tt.parent, got, tt.want)
			}
		})
	}
}

func TestMergeKVDoesNotModifyInputs(t *testing.T) {
	parent := kvOf("a", "1", "b", "2")
	child := kvOf("a", "9", "!b", "")
	mergeKV(child, parent)
	if !reflect.DeepEqual(parent, kvOf("a", "1", "b", "2")) || !reflect.DeepEqual(child, kvOf("a", "9", "!b", "")) {
		t.Errorf("inputs changed: parent %v, child %v", parent, child)
	}
}

func TestMergeOptScalarRule(t *testing.T) {
	if got := mergeOpt(ptr("c"), ptr("p")); got == nil || *got != "c" {
		t.Errorf("child value should win, got %v", got)
	}
	if got := mergeOpt(nil, ptr("p")); got == nil || *got != "p" {
		t.Errorf("unset child should inherit, got %v", got)
	}
	if got := mergeOpt(ptr("!"), ptr("p")); got != nil {
		t.Errorf("'!' should unset, got %q", *got)
	}
	if got := mergeOpt(ptr(""), ptr("p")); got == nil || *got != "" {
		t.Errorf("an explicit empty value is a value, got %v", got)
	}
}

// --- document level: whole designs (inherit_test.go has one test per rule) ----------------------

// Merging never changes the documents it reads: compiling must leave the design as parsed.
func TestMergeHostDoesNotModifyDocuments(t *testing.T) {
	text := joinDocs(mergeHW, storageProfile, strings.Replace(ifaceProfile, "name: base", "name: base2", 1), `
schema: drydock/BaremetalNode/v1
metadata: {name: n1}
data:
  host_profile: base
  storage:
    physical_devices:
      sda:
        partitions:
          - name: root
            size: 30g
`, `
schema: drydock/BaremetalNode/v1
metadata: {name: n2}
data:
  host_profile: base2
  interfaces:
    bond0: {networks: ['!mgmt']}
`)
	d := mustParse(t, text)
	fresh := mustParse(t, text)
	Compile(d)
	if !reflect.DeepEqual(d, fresh) {
		t.Errorf("Compile modified the design")
	}
}

// refMergeList is the list rule written as plainly as possible, as an oracle.
func refMergeList(child, parent []string) []string {
	if child == nil {
		return parent
	}
	if parent == nil {
		return child
	}
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	out := []string{}
	for _, c := range child {
		if !strings.HasPrefix(c, "!") && !in(out, c) {
			out = append(out, c)
		}
	}
	for _, p := range parent {
		if !in(child, "!"+p) && !in(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Long lists take a different path (a set instead of a linear search); both must agree with
// the rule.
func TestMergeListLongLists(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		w := fmt.Sprintf("w%d", r.IntN(30))
		if r.IntN(5) == 0 {
			w = "!" + w
		}
		return w
	}
	for i := 0; i < 2000; i++ {
		child := make([]string, r.IntN(40))
		for j := range child {
			child[j] = word()
		}
		parent := make([]string, r.IntN(40))
		for j := range parent {
			parent[j] = word()
		}
		got, want := mergeList(child, parent), refMergeList(child, parent)
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("mergeList(%q, %q)\n got %q\nwant %q", child, parent, got, want)
		}
		if cl := cleanList(parent); !reflect.DeepEqual(cl, refMergeList(parent, []string{})) && len(cl)+len(parent) > 0 {
			t.Fatalf("cleanList(%q) = %q", parent, cl)
		}
	}
}

// deepChain is a chain of n host profiles, p0 -> p1 -> ... -> p(n-1), each adding one tag, and a
// node on p0.
func deepChain(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		parent := ""
		if i+1 < n {
			parent = fmt.Sprintf("host_profile: p%d, ", i+1)
		}
		fmt.Fprintf(&b, "---\nschema: drydock/HostProfile/v1\nmetadata: {name: p%d}\ndata: {%smetadata: {tags: [t%d]}, platform: {kernel_params: {k%d: v}}}\n", i, parent, i, i)
	}
	b.WriteString("---\nschema: drydock/BaremetalNode/v1\nmetadata: {name: n}\ndata: {host_profile: p0}\n")
	return b.String()
}

func TestDeepProfileChain(t *testing.T) {
	const depth = 500
	n := mustCompile(t, deepChain(depth)).Node("n")
	if len(n.Tags) != depth || n.Tags[0] != "t0" || n.Tags[depth-1] != fmt.Sprintf("t%d", depth-1) {
		t.Errorf("tags: %d, first %q", len(n.Tags), n.Tags[0])
	}
	// Maps keep the parent's order: the root's key comes first.
	if len(n.KernelParams) != depth || n.KernelParams[0].Key != fmt.Sprintf("k%d", depth-1) || n.KernelParams[depth-1].Key != "k0" {
		t.Errorf("kernel params: %d, first %v", len(n.KernelParams), n.KernelParams[0])
	}
	if len(n.ProfileChain) != depth || findIssue(n, IssueCycle) != nil || findIssue(n, IssueHostProfile) != nil {
		t.Errorf("chain %d, issues %v", len(n.ProfileChain), n.Issues)
	}
}
