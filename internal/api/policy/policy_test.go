package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/drydock-go/drydock/internal/api/auth"
)

var allRuleConstants = []string{
	RuleAdminRequired, RuleReadTask, RuleCreateTask, RuleValidateDesign, RuleVerifySite,
	RulePrepareSite, RuleVerifyNodes, RulePrepareNodes, RuleDeployNodes, RuleDestroyNodes,
	RuleRelabelNodes, RuleDeleteTasks, RuleReadBuildData, RuleTerminateTask, RuleRetryTask,
	RuleReadData, RuleIngestData, RuleHealthData, RuleValidateSiteDesign,
}

func withRoles(roles ...string) *auth.Identity {
	return &auth.Identity{User: "alice", UserID: "u-1", ProjectID: "p-1", UserDomainID: "d-u", ProjectDomainID: "d-p", Roles: roles}
}

func mustNew(t testing.TB, overrides map[string]string) *Policy {
	t.Helper()
	p, err := New(overrides)
	if err != nil {
		t.Fatalf("New(%v): %v", overrides, err)
	}
	return p
}

func allowed(t testing.TB, p *Policy, rule string, id *auth.Identity, target map[string]string) bool {
	t.Helper()
	ok, err := p.Allowed(rule, id, target)
	if err != nil {
		t.Fatalf("Allowed(%q): %v", rule, err)
	}
	return ok
}

func TestDefaults(t *testing.T) {
	defs := Defaults()
	if len(defs) != 19 {
		t.Fatalf("Defaults() has %d rules, want 19", len(defs))
	}
	var names []string
	for _, r := range defs {
		names = append(names, r.Name)
		if r.Description == "" {
			t.Errorf("rule %s has no description", r.Name)
		}
		want := "role:admin"
		if r.Name == RuleAdminRequired {
			want = "role:admin or is_admin:True"
		} else if !strings.HasPrefix(r.Name, "physical_provisioner:") {
			t.Errorf("unexpected rule name %q", r.Name)
		}
		if r.Default != want {
			t.Errorf("rule %s default = %q, want %q", r.Name, r.Default, want)
		}
	}
	if got, want := slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(allRuleConstants)); !slices.Equal(got, want) {
		t.Errorf("Defaults() names = %v, want the Rule constants %v", got, want)
	}
	defs[0].Default = "@" // Defaults returns a copy
	if Defaults()[0].Default == "@" {
		t.Error("Defaults() returned the package's slice")
	}

	p := mustNew(t, nil)
	if c := p.Custom(); len(c) != 0 {
		t.Errorf("Custom() = %v, want none", c)
	}
	for _, name := range allRuleConstants {
		for _, id := range []*auth.Identity{withRoles("admin"), withRoles("reader", "Admin"), withRoles("ADMIN")} {
			if !allowed(t, p, name, id, nil) {
				t.Errorf("%s: roles %v denied, want allowed", name, id.Roles)
			}
		}
		for _, id := range []*auth.Identity{withRoles("member"), withRoles("reader"), withRoles(), withRoles("admins", "administrator"), nil} {
			if allowed(t, p, name, id, nil) {
				t.Errorf("%s: identity %+v allowed, want denied", name, id)
			}
		}
	}
	// admin_required also accepts an admin-project token without the admin role.
	adminProject := withRoles("member")
	adminProject.IsAdminProject = true
	if !allowed(t, p, RuleAdminRequired, adminProject, nil) {
		t.Error("admin_required denies an admin-project identity")
	}
	if allowed(t, p, RuleReadTask, adminProject, nil) {
		t.Error("read_task allows an admin-project identity without the admin role")
	}
}

func TestActionRule(t *testing.T) {
	p := mustNew(t, nil)
	actions := []string{"validate_design", "verify_site", "prepare_site", "verify_nodes",
		"prepare_nodes", "deploy_nodes", "destroy_nodes", "relabel_nodes"}
	for _, a := range actions {
		r := ActionRule(a)
		if r != "physical_provisioner:"+a {
			t.Errorf("ActionRule(%q) = %q", a, r)
		}
		if _, err := p.Allowed(r, withRoles("admin"), nil); err != nil {
			t.Errorf("ActionRule(%q) = %q is not a defined rule: %v", a, r, err)
		}
	}
	for _, a := range []string{"", "noop", "read_task", "create_task", "DEPLOY_NODES"} {
		if r := ActionRule(a); r != "" {
			t.Errorf("ActionRule(%q) = %q, want \"\"", a, r)
		}
	}
}

func TestAllowedUnknownRule(t *testing.T) {
	p := mustNew(t, nil)
	for _, id := range []*auth.Identity{withRoles("admin"), nil} {
		ok, err := p.Allowed("physical_provisioner:no_such_rule", id, nil)
		if ok || !errors.Is(err, ErrUnknownRule) {
			t.Errorf("Allowed(unknown, %v) = %v, %v; want false, ErrUnknownRule", id, ok, err)
		}
	}
	if _, err := p.Allowed("", withRoles("admin"), nil); !errors.Is(err, ErrUnknownRule) {
		t.Errorf("Allowed(\"\") error = %v, want ErrUnknownRule", err)
	}
	var nilPolicy *Policy
	if _, err := nilPolicy.Allowed(RuleReadTask, withRoles("admin"), nil); err == nil {
		t.Error("nil policy: no error")
	}
}

// TestExpressions evaluates expressions as the read_task rule.
func TestExpressions(t *testing.T) {
	admin := withRoles("admin")
	member := withRoles("member")
	both := withRoles("member", "operator")
	adminProject := withRoles("member")
	adminProject.IsAdminProject = true
	noProject := &auth.Identity{User: "bob", Roles: []string{"member"}}
	own := map[string]string{"project_id": "p-1", "user_id": "u-1", "owner": "alice", "role": "Operator"}
	other := map[string]string{"project_id": "p-2", "user_id": "u-2", "owner": "bob"}

	tests := []struct {
		expr   string
		id     *auth.Identity
		target map[string]string
		want   bool
	}{
		// constants
		{"", member, nil, true},
		{"   ", member, nil, true},
		{"@", member, nil, true},
		{"!", admin, nil, false},
		{"", nil, nil, false}, // nil identity: never
		{"@", nil, nil, false},
		// role, case-insensitive
		{"role:admin", admin, nil, true},
		{"role:ADMIN", admin, nil, true},
		{"role:Admin", withRoles("aDmIn"), nil, true},
		{"role:admin", member, nil, false},
		{"role:adm", admin, nil, false},
		// user, user_name, ids, domains
		{"user:alice", member, nil, true},
		{"user:Alice", member, nil, false},
		{"user_name:alice", member, nil, true},
		{"user_name:bob", member, nil, false},
		{"user_id:u-1", member, nil, true},
		{"user_id:u-2", member, nil, false},
		{"project_id:p-1", member, nil, true},
		{"project_id:p-2", member, nil, false},
		{"user_domain_id:d-u", member, nil, true},
		{"project_domain_id:d-p", member, nil, true},
		{"project_domain_id:d-u", member, nil, false},
		// is_admin maps to IsAdminProject
		{"is_admin:True", adminProject, nil, true},
		{"is_admin:true", adminProject, nil, true},
		{"is_admin:True", admin, nil, false},
		{"is_admin:False", admin, nil, true},
		{"is_admin:FALSE", adminProject, nil, false},
		// not, and, or
		{"not role:admin", member, nil, true},
		{"not role:admin", admin, nil, false},
		{"not not role:admin", admin, nil, true},
		{"role:member and role:operator", both, nil, true},
		{"role:member and role:operator", member, nil, false},
		{"role:member AND role:operator", both, nil, true},
		{"role:admin or role:operator", both, nil, true},
		{"role:admin Or role:operator", member, nil, false},
		{"NOT role:admin", member, nil, true},
		// precedence: not > and > or
		{"role:admin or role:member and role:operator", both, nil, true}, // admin or (member and operator)
		{"role:admin or role:member and role:operator", member, nil, false},
		{"role:member or role:admin and role:operator", member, nil, true}, // member or (admin and operator)
		{"role:member and role:admin or role:operator", both, nil, true},   // (member and admin) or operator
		{"not role:member and role:operator", both, nil, false},            // (not member) and operator
		{"not role:admin and role:operator", member, nil, false},           // (not admin) and operator; not (admin and operator) would be true
		{"not role:operator or role:member", both, nil, true},              // (not operator) or member; not (operator or member) would be false
		{"not role:admin or role:admin", admin, nil, true},                 // (not admin) or admin
		{"not role:member or role:admin", member, nil, false},
		// parentheses
		{"(role:admin or role:member) and role:operator", member, nil, false},
		{"(role:admin or role:member) and role:operator", both, nil, true},
		{"not (role:member and role:operator)", both, nil, false},
		{"not (role:member and role:operator)", member, nil, true},
		{"((role:member))", member, nil, true},
		{"(role:admin)or(role:member)", member, nil, true},
		{"\trole:admin\nor\r\nrole:member ", member, nil, true},
		// target substitution
		{"project_id:%(project_id)s", member, own, true},
		{"project_id:%(project_id)s", member, other, false},
		{"project_id:%(project_id)s", member, nil, false},                                    // missing key: false
		{"not project_id:%(project_id)s", member, nil, true},                                 // ... and not an error
		{"project_id:%(project_id)s", noProject, map[string]string{"project_id": ""}, false}, // empty never matches
		{"user_id:%(user_id)s and user:%(owner)s", member, own, true},
		{"user:%(owner)s", member, other, false},
		{"role:%(role)s", both, own, true}, // substituted role still case-insensitive
		{"project_id:p-%(suffix)s", member, map[string]string{"suffix": "1"}, true},
		{"project_id:%(a)s-%(b)s", member, map[string]string{"a": "p", "b": "1"}, true},
		{"project_id:%(a)s-%(b)s", member, map[string]string{"a": "p"}, false},
		{"user:50%%", &auth.Identity{User: "50%"}, nil, true},
		{"role:admin or project_id:%(project_id)s", member, own, true},
		{"role:admin or project_id:%(project_id)s", member, other, false},
		// rule references (admin_required is a default rule)
		{"rule:admin_required", admin, nil, true},
		{"rule:admin_required", adminProject, nil, true},
		{"rule:admin_required", member, nil, false},
		{"not rule:admin_required", member, nil, true},
		{"rule:" + RuleCreateTask, admin, nil, true},
	}
	if len(tests) < 25 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tc := range tests {
		p, err := New(map[string]string{RuleReadTask: tc.expr})
		if err != nil {
			t.Errorf("%q: New: %v", tc.expr, err)
			continue
		}
		got := allowed(t, p, RuleReadTask, tc.id, tc.target)
		if got != tc.want {
			t.Errorf("%q with %+v, target %v = %v, want %v", tc.expr, tc.id, tc.target, got, tc.want)
		}
	}
}

func TestCustomRules(t *testing.T) {
	p := mustNew(t, map[string]string{
		RuleReadTask:    "rule:readers",
		RuleDeployNodes: "rule:deployers and not rule:frozen",
		"readers":       "role:admin or role:reader or rule:deployers",
		"deployers":     "role:deployer",
		"frozen":        "!",
	})
	if got, want := p.Custom(), []string{"deployers", "frozen", "readers"}; !slices.Equal(got, want) {
		t.Errorf("Custom() = %v, want %v", got, want)
	}
	p.Custom()[0] = "x" // a copy
	if p.Custom()[0] != "deployers" {
		t.Error("Custom() returned the policy's slice")
	}
	cases := []struct {
		rule string
		id   *auth.Identity
		want bool
	}{
		{RuleReadTask, withRoles("reader"), true},
		{RuleReadTask, withRoles("deployer"), true},
		{RuleReadTask, withRoles("member"), false},
		{RuleDeployNodes, withRoles("deployer"), true},
		{RuleDeployNodes, withRoles("admin"), false},
		{"readers", withRoles("reader"), true}, // custom rules can be checked directly
		{"frozen", withRoles("admin"), false},
		{RuleCreateTask, withRoles("admin"), true}, // untouched defaults keep theirs
		{RuleCreateTask, withRoles("deployer"), false},
	}
	for _, c := range cases {
		if got := allowed(t, p, c.rule, c.id, nil); got != c.want {
			t.Errorf("%s with roles %v = %v, want %v", c.rule, c.id.Roles, got, c.want)
		}
	}

	rules := p.Rules()
	if len(rules) != len(defaults)+3 {
		t.Errorf("Rules() has %d rules, want %d", len(rules), len(defaults)+3)
	}
	if !slices.IsSortedFunc(rules, func(a, b Rule) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Rules() not sorted by name")
	}
	for _, r := range rules {
		switch r.Name {
		case RuleReadTask:
			if r.Default != "rule:readers" || r.Description == "" {
				t.Errorf("Rules(): %+v", r)
			}
		case "readers":
			if r.Default != "role:admin or role:reader or rule:deployers" || r.Description != "" {
				t.Errorf("Rules(): %+v", r)
			}
		case RuleCreateTask:
			if r.Default != "role:admin" {
				t.Errorf("Rules(): %+v", r)
			}
		}
	}
}

// TestOverrideDefaultReference: overriding a referenced default rule changes the referrers.
func TestOverrideDefaultReference(t *testing.T) {
	p := mustNew(t, map[string]string{
		RuleAdminRequired: "role:superuser",
		RuleReadData:      "rule:admin_required",
	})
	if !allowed(t, p, RuleReadData, withRoles("superuser"), nil) || allowed(t, p, RuleReadData, withRoles("admin"), nil) {
		t.Error("rule:admin_required does not follow the overridden admin_required")
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "@"},
		{"!", "!"},
		{"role:a", "role:a"},
		{"role:a OR role:b", "role:a or role:b"},
		{"(role:a or role:b) or role:c", "role:a or role:b or role:c"},
		{"role:a and (role:b and role:c)", "role:a and role:b and role:c"},
		{"(role:a or role:b) and role:c", "(role:a or role:b) and role:c"},
		{"role:a or (role:b and role:c)", "role:a or role:b and role:c"},
		{"not (role:a and role:b)", "not (role:a and role:b)"},
		{"not (role:a or role:b)", "not (role:a or role:b)"},
		{"(not role:a) and role:b", "not role:a and role:b"},
		{"not role:a and role:b", "not role:a and role:b"},
		{"not role:a or role:b", "not role:a or role:b"},
		{"role:a or role:b and role:c or role:d", "role:a or role:b and role:c or role:d"},
		{"role:a and role:b or role:c and role:d", "role:a and role:b or role:c and role:d"},
		{"not (not role:a)", "not not role:a"},
		{"((project_id:%(project_id)s))", "project_id:%(project_id)s"},
		{"is_admin:TRUE and rule:x", "is_admin:TRUE and rule:x"},
	}
	for _, tc := range tests {
		n, _, err := parse(tc.in)
		if err != nil {
			t.Errorf("parse(%q): %v", tc.in, err)
			continue
		}
		if got := nodeString(n); got != tc.want {
			t.Errorf("String(parse(%q)) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr   string
		column int
		msg    string
	}{
		{"role:admin or", 14, "unexpected end of expression"},
		{"or role:admin", 1, `unexpected "or"`},
		{"role:admin role:member", 12, `unexpected check "role:member"`},
		{"role:admin and and role:x", 16, `unexpected "and"`},
		{"(role:admin", 1, `unclosed "("`},
		{"role:admin)", 11, `unmatched ")"`},
		{"(role:a) (role:b)", 10, `unexpected "("`},
		{"()", 2, "empty parentheses"},
		{"not", 4, "unexpected end of expression"},
		{"admin", 1, `"admin" is not a check`},
		{"role:admin or admin", 15, `"admin" is not a check`},
		{"roles:admin", 1, `unknown check kind "roles"`},
		{"role:a or http://example.com/check", 11, `unknown check kind "http"`},
		{"'member':%(role)s", 1, `unknown check kind "'member'"`},
		{"role:", 1, "has no value"},
		{":admin", 1, "has no kind"},
		{"@@", 1, "is not a check"},
		{"is_admin:1", 10, "is_admin takes True or False"},
		{"is_admin:%(x)s", 10, "is_admin takes True or False"},
		{"rule:%(x)s", 6, "rule: takes a rule name"},
		{"project_id:%(project_id", 12, "unterminated %(key)s"},
		{"project_id:%(project id)s", 12, "unterminated %(key)s"},
		{"project_id:%(project_id)d", 12, "only %(key)s is supported"},
		{"project_id:%()s", 12, "empty key"},
		{"project_id:100%", 15, `stray "%"`},
		{strings.Repeat("(", 100) + "@" + strings.Repeat(")", 100), 65, "nested more than 64 levels"},
		{strings.Repeat("not ", 100) + "@", 257, "nested more than 64 levels"},
	}
	for _, tc := range tests {
		_, err := New(map[string]string{"custom": tc.expr})
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want *Error", tc.expr, err)
			continue
		}
		if pe.Rule != "custom" || pe.Column != tc.column || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%q: got rule %q column %d %q, want rule custom column %d containing %q",
				tc.expr, pe.Rule, pe.Column, pe.Msg, tc.column, tc.msg)
		}
		if s := err.Error(); !strings.Contains(s, `rule "custom"`) || !strings.Contains(s, "column ") {
			t.Errorf("%q: error text %q does not name the rule and column", tc.expr, s)
		}
	}
}

func TestReferenceErrors(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		rule      string
		column    int
		msg       string
	}{
		{"undefined", map[string]string{RuleReadTask: "role:admin or rule:nope"}, RuleReadTask, 15, `undefined rule "nope"`},
		{"undefined custom", map[string]string{"a": "rule:b"}, "a", 1, `undefined rule "b"`},
		{"self", map[string]string{"a": "role:x or rule:a"}, "a", 11, "reference cycle: a -> a"},
		{"two", map[string]string{"a": "rule:b", "b": "not rule:a"}, "b", 5, "reference cycle: a -> b -> a"},
		{"three", map[string]string{"a": "@ and rule:b", "b": "rule:c", "c": "rule:a"}, "c", 1, "reference cycle: a -> b -> c -> a"},
		{"through default", map[string]string{RuleAdminRequired: "rule:" + RuleReadTask, RuleReadTask: "rule:admin_required"}, RuleReadTask, 1, "reference cycle: admin_required -> physical_provisioner:read_task -> admin_required"},
	}
	for _, tc := range tests {
		_, err := New(tc.overrides)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v, want *Error", tc.name, err)
			continue
		}
		if pe.Rule != tc.rule || pe.Column != tc.column || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%s: got rule %q column %d %q, want rule %q column %d containing %q",
				tc.name, pe.Rule, pe.Column, pe.Msg, tc.rule, tc.column, tc.msg)
		}
	}
	// A diamond is not a cycle.
	mustNew(t, map[string]string{"a": "rule:b and rule:c", "b": "rule:d", "c": "rule:d", "d": "@"})
	// Empty rule names are rejected.
	if _, err := New(map[string]string{"": "@"}); err == nil {
		t.Error("empty rule name accepted")
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	path := writeFile(t, `# Drydock policy
"physical_provisioner:read_task": "role:admin or rule:readers"
physical_provisioner:health_data: ""
"physical_provisioner:destroy_nodes": "!"
readers: role:reader or project_id:%(project_id)s
always: '@'
"physical_provisioner:read_data": &x role:reader
"physical_provisioner:ingest_data": *x
`)
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Custom(), []string{"always", "readers"}; !slices.Equal(got, want) {
		t.Errorf("Custom() = %v, want %v", got, want)
	}
	reader, member := withRoles("reader"), withRoles("member")
	checks := []struct {
		rule   string
		id     *auth.Identity
		target map[string]string
		want   bool
	}{
		{RuleReadTask, reader, nil, true},
		{RuleReadTask, member, map[string]string{"project_id": "p-1"}, true},
		{RuleReadTask, member, map[string]string{"project_id": "p-9"}, false},
		{RuleHealthData, member, nil, true},
		{RuleHealthData, nil, nil, false},
		{RuleDestroyNodes, withRoles("admin"), nil, false},
		{RuleDeployNodes, withRoles("admin"), nil, true},
		{RuleReadData, reader, nil, true},
		{RuleIngestData, reader, nil, true},
		{"always", member, nil, true},
	}
	for _, c := range checks {
		if got := allowed(t, p, c.rule, c.id, c.target); got != c.want {
			t.Errorf("%s with %+v, target %v = %v, want %v", c.rule, c.id, c.target, got, c.want)
		}
	}
	for _, r := range p.Rules() {
		if r.Name == RuleHealthData && r.Default != "" {
			t.Errorf("Rules(): health_data = %q, want \"\"", r.Default)
		}
	}

	// Empty path, empty file and comment-only file: defaults.
	for _, path := range []string{"", writeFile(t, ""), writeFile(t, "# nothing\n\n"), writeFile(t, "---\n~\n")} {
		p, err := Load(path)
		if err != nil {
			t.Errorf("Load(%q): %v", path, err)
			continue
		}
		if !slices.Equal(p.Rules(), mustNew(t, nil).Rules()) {
			t.Errorf("Load(%q) is not the default policy", path)
		}
	}

	// JSON is YAML.
	p, err = Load(writeFile(t, `{"physical_provisioner:read_task": "role:reader"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !allowed(t, p, RuleReadTask, reader, nil) {
		t.Error("JSON policy not applied")
	}

	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		line    int
		rule    string
		column  int
		msg     string
	}{
		{"list value", "a: '@'\nphysical_provisioner:read_task:\n  - [role:admin]\n", 3, RuleReadTask, 0, "legacy list syntax is not supported"},
		{"flow list", "physical_provisioner:read_task: [\"role:admin\"]\n", 1, RuleReadTask, 0, "legacy list syntax"},
		{"mapping value", "a: {b: c}\n", 1, "a", 0, "mapping"},
		{"int value", "x: '@'\nb: 5\n", 2, "b", 0, "!!int"},
		{"bool value", "b: true\n", 1, "b", 0, "!!bool"},
		{"null value", "b:\n", 1, "b", 0, "null"},
		{"duplicate", "a: '@'\nb: '!'\na: '!'\n", 3, "a", 0, "defined twice (first on line 1)"},
		{"not a mapping", "- role:admin\n", 1, "", 0, "must be a mapping"},
		{"scalar document", "role:admin\n", 1, "", 0, "must be a mapping"},
		{"multiple documents", "a: '@'\n---\nb: '@'\n", 2, "", 0, "single YAML document"},
		{"syntax error", "# c\nphysical_provisioner:read_task: \"role:admin or\"\n", 2, RuleReadTask, 14, "unexpected end of expression"},
		{"unknown kind", "a: '@'\nb: role:x and group:y\n", 2, "b", 12, `unknown check kind "group"`},
		{"undefined rule", "a: rule:b\n", 1, "a", 1, `undefined rule "b"`},
		{"cycle", "a: rule:b\nb: rule:a\n", 2, "b", 1, "reference cycle: a -> b -> a"},
	}
	for _, tc := range tests {
		path := writeFile(t, tc.content)
		_, err := Load(path)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v, want *Error", tc.name, err)
			continue
		}
		if pe.File != path || pe.Line != tc.line || pe.Rule != tc.rule || pe.Column != tc.column || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%s: got %+v, want line %d rule %q column %d msg containing %q", tc.name, *pe, tc.line, tc.rule, tc.column, tc.msg)
		}
		if tc.rule != "" && !strings.Contains(err.Error(), `rule "`+tc.rule+`"`) {
			t.Errorf("%s: %q does not name the rule", tc.name, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %q does not name the file", tc.name, err)
		}
	}

	// Bad YAML: an error naming the file, not a *Error.
	for _, content := range []string{"a: b: c\n", "a: [unclosed\n", "a: *nope\n", "\"a\": 'x\n"} {
		path := writeFile(t, content)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("bad YAML %q: error %v", content, err)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "p.yaml", Line: 3, Rule: "a", Column: 5, Msg: "boom"}, `policy: p.yaml:3: rule "a": column 5: boom`},
		{Error{Rule: "a", Column: 5, Msg: "boom"}, `policy: rule "a": column 5: boom`},
		{Error{Line: 2, Msg: "boom"}, `policy: line 2: boom`},
		{Error{File: "p.yaml", Msg: "boom"}, `policy: p.yaml: boom`},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestConcurrentAllowed(t *testing.T) {
	p := mustNew(t, map[string]string{RuleReadTask: "rule:admin_required or project_id:%(project_id)s"})
	target := map[string]string{"project_id": "p-1"}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 500 {
				id := withRoles("member")
				if (i+j)%2 == 0 {
					id.ProjectID = "p-2"
				}
				want := (i+j)%2 != 0
				ok, err := p.Allowed(RuleReadTask, id, target)
				if err != nil || ok != want {
					t.Errorf("Allowed = %v, %v; want %v", ok, err, want)
					return
				}
				_ = p.Rules()
			}
		})
	}
	wg.Wait()
}

// fuzzIdentities are evaluated against both the parsed and the re-parsed tree.
var fuzzIdentities = []*auth.Identity{
	withRoles("admin"), withRoles("member", "reader"), {IsAdminProject: true, Roles: []string{"x"}}, {},
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "@", "!", "role:admin", "role:admin or is_admin:True", "not (role:a and role:b) or role:c",
		"project_id:%(project_id)s", "user:%(a)s-%(b)s%%", "rule:admin_required", "((role:x))",
		"role:a and not role:b or (user_id:u and not not project_id:p)", "(", ")", "role:%(x", "a:b:c",
		"ROLE:A AND role:b", "is_admin:false or user_name:alice",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		n, _, err := parse(expr)
		if err != nil {
			var se *syntaxError
			if !errors.As(err, &se) || se.pos < 1 || se.pos > len(expr)+1 {
				t.Fatalf("parse(%q): bad error %#v", expr, err)
			}
			return
		}
		s1 := nodeString(n)
		n2, _, err := parse(s1)
		if err != nil {
			t.Fatalf("parse(%q) = %q, which does not parse: %v", expr, s1, err)
		}
		if s2 := nodeString(n2); s2 != s1 {
			t.Fatalf("round trip of %q: %q then %q", expr, s1, s2)
		}
		target := map[string]string{"project_id": "p-1", "a": "x"}
		for _, id := range fuzzIdentities {
			if a, b := n.eval(id, target), n2.eval(id, target); a != b {
				t.Fatalf("%q and its canonical form %q disagree for %+v: %v, %v", expr, s1, id, a, b)
			}
		}
	})
}

func BenchmarkAllowed(b *testing.B) {
	p := mustNew(b, map[string]string{
		RuleReadTask: "rule:admin_required or (role:reader and project_id:%(project_id)s)",
	})
	id := withRoles("member", "reader", "observer")
	target := map[string]string{"project_id": "p-1"}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := p.Allowed(RuleReadTask, id, target)
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
