package validate

// Internal tests of the rule registry and of the framework's guarantees. They live in
// package validate to reach the registry; they modify it only inside one test, restoring it
// before returning, and never in parallel with other tests.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
)

// wantRules is the public identity of every rule: its slug and code appear in API output and
// in users' scripts, so neither may change.
var wantRules = map[string]string{
	"storage.boot-size":       "DD1001",
	"storage.partitioning":    "DD1002",
	"storage.sizing":          "DD1003",
	"storage.mountpoints":     "DD1004",
	"node.root-filesystem":    "DD1005",
	"net.bond":                "DD1006",
	"net.unique-link":         "DD1007",
	"platform.hugepages":      "DD1008",
	"node.interface-networks": "DD1009",
	"net.ip-locality":         "DD2002",
	"net.mtu":                 "DD2003",
	"net.trunking":            "DD2004",
	"net.duplicate-ip":        "DD2005",
	"net.cidr":                "DD2006",
	"net.ip-ranges":           "DD2007",
	"platform.selection":      "DD3001",
	"node.hostname":           "DD3003",
	"node.references":         "DD3004",
	"bootaction.definition":   "DD4001", // the original's test_absent_bootaction filters on DD4001
	"bootaction.pkg-list":     "DD4002",
	"bootaction.template":     "DD4003",
	"oob.ipmi":                "DD5001",
	"oob.libvirt":             "DD5002",
	"oob.redfish":             "DD5003",
	"oob.type":                "DD5004",
	"node.labels":             "DD3005",
}

func TestRegistryCodesAndSlugs(t *testing.T) {
	code := regexp.MustCompile(`^DD\d{4}$`)
	codes, slugs := map[string]bool{}, map[string]bool{}
	rules := Rules()
	for _, r := range rules {
		if !code.MatchString(r.Code) {
			t.Errorf("rule %s: code %q does not match DDnnnn", r.Slug, r.Code)
		}
		if codes[r.Code] {
			t.Errorf("code %s used twice", r.Code)
		}
		if slugs[r.Slug] {
			t.Errorf("slug %s used twice", r.Slug)
		}
		codes[r.Code], slugs[r.Slug] = true, true
		if want, ok := wantRules[r.Slug]; !ok {
			t.Errorf("unexpected rule %s (%s)", r.Slug, r.Code)
		} else if r.Code != want {
			t.Errorf("rule %s has code %s, want %s", r.Slug, r.Code, want)
		}
		if strings.TrimSpace(r.Name) == "" || strings.TrimSpace(r.Summary) == "" || strings.TrimSpace(r.Example) == "" {
			t.Errorf("rule %s (%s) needs a Name, a Summary and an Example", r.Slug, r.Code)
		}
		if r.Check == nil {
			t.Errorf("rule %s has no Check", r.Slug)
		}
		if Lookup(r.Code) != r || Lookup(r.Slug) != r {
			t.Errorf("Lookup does not find %s by code and slug", r.Slug)
		}
	}
	for slug := range wantRules {
		if !slugs[slug] {
			t.Errorf("rule %s is missing", slug)
		}
	}
	if len(rules) != len(wantRules) {
		t.Errorf("%d rules, want exactly %d", len(rules), len(wantRules))
	}
	if !sort.SliceIsSorted(rules, func(i, j int) bool { return rules[i].Code < rules[j].Code }) {
		t.Error("Rules() is not ordered by code")
	}
	if Lookup("DD0000") != nil || Lookup("no.such-rule") != nil {
		t.Error("Lookup of an unknown rule should be nil")
	}
	// Rules returns a copy: changing it does not change the registry.
	rules[0] = nil
	if Rules()[0] == nil {
		t.Error("Rules() exposes the registry")
	}
}

func TestRegisterRejectsDuplicates(t *testing.T) {
	saved := append([]*Rule(nil), registry...)
	defer func() { registry = saved }()
	for _, r := range []*Rule{
		{Code: "DD1001", Slug: "test.other", Check: func(*Context) {}},
		{Code: "DD9998", Slug: "net.cidr", Check: func(*Context) {}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("registering %s (%s) twice did not panic", r.Code, r.Slug)
				}
			}()
			register(r)
		}()
	}
}

func readBase(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "base.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A rule that panics is reported as an error of that rule; the run goes on.
func TestPanickingRuleIsContained(t *testing.T) {
	saved := append([]*Rule(nil), registry...)
	defer func() { registry = saved }()
	register(&Rule{Code: "DD9901", Slug: "test.panics", Name: "Panics", Summary: "panics", Example: "-",
		Check: func(c *Context) {
			var m map[string]int
			m["boom"]++ // a nil-map write: a runtime error, not just panic(string)
		}})
	register(&Rule{Code: "DD9902", Slug: "test.reports-then-panics", Name: "Reports then panics", Summary: "-", Example: "-",
		Check: func(c *Context) {
			c.Warnf("", nil, "a warning before the panic")
			panic("second")
		}})

	rep := Sources(context.Background(), Options{}, design.Source{Name: "base.yaml", Data: readBase(t)})
	byRule := map[string][]design.Message{}
	for _, m := range rep.Messages {
		byRule[m.Rule] = append(byRule[m.Rule], m)
	}
	p := byRule["test.panics"]
	if len(p) != 1 {
		t.Fatalf("test.panics: want one message, got %+v", p)
	}
	if !p[0].Error || p[0].Level != design.LevelError || p[0].Code != "DD9901" ||
		!strings.Contains(p[0].Message, "rule DD9901 (test.panics) failed internally") ||
		!strings.Contains(p[0].Message, "assignment to entry in nil map") {
		t.Errorf("test.panics: %+v", p[0])
	}
	if p[0].Documents == nil {
		t.Error("documents must be an empty list, not nil")
	}
	q := byRule["test.reports-then-panics"]
	if len(q) != 2 || q[0].Level != design.LevelWarning || !q[1].Error || !strings.Contains(q[1].Message, "failed internally: second") {
		t.Errorf("test.reports-then-panics: want the warning, then the error: %+v", q)
	}
	// Every real rule still ran and found the base design clean.
	for slug := range wantRules {
		msgs := byRule[slug]
		if len(msgs) == 0 {
			t.Errorf("rule %s did not run after the panic", slug)
			continue
		}
		last := msgs[len(msgs)-1]
		if last.Message != "Validation successful." {
			t.Errorf("rule %s: %+v", slug, msgs)
		}
	}
	if rep.ErrorCount() != 2 || rep.Valid() {
		t.Errorf("want exactly the 2 panic errors, got %d", rep.ErrorCount())
	}
	// The messages keep rule order: DD99xx run last.
	if n := len(rep.Messages); rep.Messages[n-1].Rule != "test.reports-then-panics" {
		t.Errorf("rule order: last message is from %s", rep.Messages[n-1].Rule)
	}
}

func TestOnlyRunsSelectedRules(t *testing.T) {
	data := readBase(t)
	rep := Sources(context.Background(), Options{Only: []string{"net.mtu", "DD4002"}}, design.Source{Name: "base.yaml", Data: data})
	var got []string
	for _, m := range rep.Messages {
		got = append(got, m.Code+" "+m.Rule+" "+m.Message)
	}
	want := []string{"DD2003 net.mtu Validation successful.", "DD4002 bootaction.pkg-list Validation successful."}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Only: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rep = Sources(context.Background(), Options{Only: []string{"no.such-rule"}}, design.Source{Name: "base.yaml", Data: data})
	if len(rep.Messages) != 0 {
		t.Errorf("Only an unknown rule: %+v", rep.Messages)
	}
	// Without Only, every rule runs once, in code order.
	rep = Sources(context.Background(), Options{}, design.Source{Name: "base.yaml", Data: data})
	var order []string
	for _, m := range rep.Messages {
		if m.Message == "Validation successful." {
			order = append(order, m.Code)
		}
	}
	if len(order) != len(wantRules) || !sort.StringsAreSorted(order) {
		t.Errorf("success messages by code: %v", order)
	}
}

// Validation does not modify the site: running twice gives the same messages.
func TestRunIsRepeatable(t *testing.T) {
	rep := Sources(context.Background(), Options{}, design.Source{Name: "base.yaml", Data: readBase(t)})
	again := Run(context.Background(), rep.Site, Options{})
	if len(again) != len(rep.Messages) {
		t.Fatalf("second run: %d messages, first %d", len(again), len(rep.Messages))
	}
	for i := range again {
		if again[i].Message != rep.Messages[i].Message || again[i].Rule != rep.Messages[i].Rule {
			t.Errorf("message %d differs: %q vs %q", i, again[i].Message, rep.Messages[i].Message)
		}
	}
}
