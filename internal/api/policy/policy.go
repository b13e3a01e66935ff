// Package policy authorizes API requests: it decides whether an authenticated
// [auth.Identity] may perform an operation, named by a rule such as
// "physical_provisioner:create_task". Rule names and defaults are those of the
// original Airship Drydock, which used OpenStack oslo.policy; two rules are new in
// this port (physical_provisioner:terminate_task and physical_provisioner:retry_task).
// Every default is "role:admin".
//
// The rule language is implemented here rather than taken from a library: no
// maintained Go implementation of oslo.policy's rule language exists, and Drydock
// needs only the documented subset below. Expressions are parsed and checked when
// the policy is loaded, so a typo is a startup error rather than a silent denial.
//
// # Rule language
//
// An expression combines checks with "and", "or", "not" and parentheses. "not"
// binds tightest, then "and", then "or" ("a or b and not c" is "a or (b and (not
// c))"). Keywords are case-insensitive, as in oslo.policy. Checks:
//
//	role:NAME            the identity holds role NAME (case-insensitive)
//	user:NAME            the identity's user name is NAME (alias: user_name:NAME)
//	user_id:ID           the identity's user ID is ID
//	project_id:ID        the identity's project ID is ID
//	user_domain_id:ID    the identity's user domain ID is ID
//	project_domain_id:ID the identity's project domain ID is ID
//	is_admin:True        the identity's IsAdminProject is true (is_admin:False: false)
//	rule:OTHER           the rule OTHER allows the request
//	@                    always allows
//	!                    never allows
//
// An empty expression always allows, as in oslo.policy. In oslo.policy is_admin is
// a credential set by the deployment; here it is [auth.Identity.IsAdminProject]
// (Keystone's is_admin_project token attribute). Its value must be True or False
// (case-insensitive).
//
// The value of every check but rule: and is_admin: may refer to the request's
// target (the map passed to [Policy.Allowed]) with %(key)s, as in
// "project_id:%(project_id)s"; %% is a literal percent sign. A check whose target
// key is missing does not match (it is not an error). An empty identity attribute
// (say, an identity without a project) never matches, not even an empty target
// value.
//
// Not supported, and rejected when the policy is loaded: oslo.policy's legacy list
// syntax (a YAML or JSON list as a rule's value), http: checks, literal-kind checks
// ('value':%(key)s) and checks on other credentials. A rule: reference to an
// undefined rule and a cycle of references are load errors too, where oslo.policy
// would deny at request time.
//
// A nil identity (an unauthenticated caller) is denied by every rule, "@" included.
//
// A [Policy] is immutable once built and safe for concurrent use; expressions are
// compiled to a tree whose evaluation does not allocate in the common cases.
package policy

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/api/auth"
)

// Rule names.
const (
	RuleAdminRequired = "admin_required"

	RuleReadTask           = "physical_provisioner:read_task"
	RuleCreateTask         = "physical_provisioner:create_task"
	RuleValidateDesign     = "physical_provisioner:validate_design"
	RuleVerifySite         = "physical_provisioner:verify_site"
	RulePrepareSite        = "physical_provisioner:prepare_site"
	RuleVerifyNodes        = "physical_provisioner:verify_nodes"
	RulePrepareNodes       = "physical_provisioner:prepare_nodes"
	RuleDeployNodes        = "physical_provisioner:deploy_nodes"
	RuleDestroyNodes       = "physical_provisioner:destroy_nodes"
	RuleRelabelNodes       = "physical_provisioner:relabel_nodes"
	RuleDeleteTasks        = "physical_provisioner:delete_tasks"
	RuleReadBuildData      = "physical_provisioner:read_build_data"
	RuleTerminateTask      = "physical_provisioner:terminate_task"
	RuleRetryTask          = "physical_provisioner:retry_task"
	RuleReadData           = "physical_provisioner:read_data"
	RuleIngestData         = "physical_provisioner:ingest_data"
	RuleHealthData         = "physical_provisioner:health_data"
	RuleValidateSiteDesign = "physical_provisioner:validate_site_design"
)

// DefaultExpression is the default of every physical_provisioner rule.
const DefaultExpression = "role:admin"

// Rule is a named policy rule.
type Rule struct {
	// Name is the rule name, e.g. "physical_provisioner:read_task".
	Name string `json:"name" yaml:"name"`
	// Default is the rule's expression: its default in Defaults, the effective
	// expression (as written) in Policy.Rules.
	Default string `json:"default" yaml:"default"`
	// Description says what the rule guards (empty for custom rules).
	Description string `json:"description" yaml:"description"`
}

// defaults, in documentation order: base rule, task rules, data rules (as in
// Airship Drydock's drydock_provisioner/policy.py).
var defaults = []Rule{
	{RuleAdminRequired, "role:admin or is_admin:True", "Actions requiring admin authority (base rule kept for compatibility; not referenced by default)"},

	{RuleReadTask, DefaultExpression, "Get task status (GET /api/v1.0/tasks, GET /api/v1.0/tasks/{task_id})"},
	{RuleCreateTask, DefaultExpression, "Create a task (POST /api/v1.0/tasks); the task's action rule is checked too"},
	{RuleValidateDesign, DefaultExpression, "Create validate_design task"},
	{RuleVerifySite, DefaultExpression, "Create verify_site task"},
	{RulePrepareSite, DefaultExpression, "Create prepare_site task"},
	{RuleVerifyNodes, DefaultExpression, "Create verify_nodes task"},
	{RulePrepareNodes, DefaultExpression, "Create prepare_nodes task"},
	{RuleDeployNodes, DefaultExpression, "Create deploy_nodes task"},
	{RuleDestroyNodes, DefaultExpression, "Create destroy_nodes task"},
	{RuleRelabelNodes, DefaultExpression, "Create relabel_nodes task"},
	{RuleDeleteTasks, DefaultExpression, "Delete finished tasks and old build data by age (DELETE /api/v1.0/tasks?days=N)"},
	{RuleReadBuildData, DefaultExpression, "Read build data (GET /api/v1.0/nodes/{hostname}/builddata, GET /api/v1.0/tasks/{id}/builddata)"},
	{RuleTerminateTask, DefaultExpression, "Terminate a queued or running task"},
	{RuleRetryTask, DefaultExpression, "Retry (requeue) a task that did not succeed"},

	{RuleReadData, DefaultExpression, "Read the node driver's machines and evaluate node filters (GET /api/v1.0/nodes, POST /api/v1.0/nodefilter)"},
	{RuleIngestData, DefaultExpression, "Load design data (the original's designs API; kept for policy files, the endpoints answer 410)"},
	{RuleHealthData, DefaultExpression, "Get extended health status (GET /api/v1.0/health/extended)"},
	{RuleValidateSiteDesign, DefaultExpression, "Validate a site design (POST /api/v1.0/validatedesign)"},
}

// Defaults returns the built-in rules with their default expressions, in
// documentation order (base rule, task rules, data rules). The slice is a copy.
func Defaults() []Rule { return slices.Clone(defaults) }

// actionRules maps the task actions an operator can request to their rules.
var actionRules = map[string]string{
	"validate_design": RuleValidateDesign,
	"verify_site":     RuleVerifySite,
	"prepare_site":    RulePrepareSite,
	"verify_nodes":    RuleVerifyNodes,
	"prepare_nodes":   RulePrepareNodes,
	"deploy_nodes":    RuleDeployNodes,
	"destroy_nodes":   RuleDestroyNodes,
	"relabel_nodes":   RuleRelabelNodes,
}

// ActionRule returns the rule guarding the creation of a task with action
// ("physical_provisioner:" + action) for the eight task actions an operator can
// request, and "" for any other action (which the API must reject before
// authorization; passing "" to Allowed is an unknown-rule error).
func ActionRule(action string) string { return actionRules[action] }

// ErrUnknownRule is wrapped by the error Allowed returns for a rule name the
// policy does not define: a programming error.
var ErrUnknownRule = errors.New("unknown policy rule")

// Error is a policy load error. Rule names the rule, Column (1-based, in bytes)
// the position in its expression, when known; File and Line locate the rule in a
// policy file loaded by Load.
type Error struct {
	File   string
	Line   int
	Rule   string
	Column int
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	if e.Column > 0 {
		fmt.Fprintf(&b, "column %d: ", e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// compiled is a rule with its parsed expression.
type compiled struct {
	Rule
	root node
	refs []*ruleNode // rule: references, resolved by link
}

// Policy is a set of compiled rules. It is immutable and safe for concurrent use.
type Policy struct {
	rules  map[string]*compiled
	custom []string
}

// New returns the default policy with overrides (rule name → expression)
// applied. Override names that are not default rules are allowed: they define
// custom rules that other rules can reference with rule:NAME; Custom lists them.
func New(overrides map[string]string) (*Policy, error) {
	return build(overrides, nil, "")
}

// build compiles defaults merged with overrides. lines, when not nil, gives the
// file line of each override, for errors.
func build(overrides map[string]string, lines map[string]int, file string) (*Policy, error) {
	p := &Policy{rules: make(map[string]*compiled, len(defaults)+len(overrides))}
	for _, r := range defaults {
		p.rules[r.Name] = &compiled{Rule: r}
	}
	for name, expr := range overrides {
		c, ok := p.rules[name]
		if !ok {
			c = &compiled{Rule: Rule{Name: name}}
			p.rules[name] = c
			p.custom = append(p.custom, name)
		}
		c.Default = expr
	}
	sort.Strings(p.custom)
	fail := func(e *Error) error {
		e.File = file
		if lines != nil {
			e.Line = lines[e.Rule]
		}
		return e
	}
	// Parse in name order so that the first error reported is deterministic.
	names := p.names()
	for _, name := range names {
		c := p.rules[name]
		if name == "" {
			return nil, fail(&Error{Msg: "empty rule name"})
		}
		root, refs, err := parse(c.Default)
		if err != nil {
			var se *syntaxError
			if errors.As(err, &se) {
				return nil, fail(&Error{Rule: name, Column: se.pos, Msg: se.msg})
			}
			return nil, fail(&Error{Rule: name, Msg: err.Error()})
		}
		c.root, c.refs = root, refs
	}
	for _, name := range names {
		for _, ref := range p.rules[name].refs {
			target, ok := p.rules[ref.name]
			if !ok {
				return nil, fail(&Error{Rule: name, Column: ref.pos, Msg: fmt.Sprintf("rule:%s references undefined rule %q", ref.name, ref.name)})
			}
			ref.target = target
		}
	}
	if e := p.findCycle(names); e != nil {
		return nil, fail(e)
	}
	return p, nil
}

// findCycle reports the first reference cycle, if any.
func (p *Policy) findCycle(names []string) *Error {
	const (
		unvisited = iota
		active
		done
	)
	state := make(map[string]int, len(p.rules))
	var path []string
	var visit func(name string) *Error
	visit = func(name string) *Error {
		state[name] = active
		path = append(path, name)
		for _, ref := range p.rules[name].refs {
			switch state[ref.name] {
			case active:
				i := slices.Index(path, ref.name)
				cycle := append(slices.Clone(path[i:]), ref.name)
				return &Error{Rule: name, Column: ref.pos, Msg: "reference cycle: " + strings.Join(cycle, " -> ")}
			case unvisited:
				if e := visit(ref.name); e != nil {
					return e
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, name := range names {
		if state[name] == unvisited {
			if e := visit(name); e != nil {
				return e
			}
		}
	}
	return nil
}

func (p *Policy) names() []string {
	names := make([]string, 0, len(p.rules))
	for name := range p.rules {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Custom returns the names of rules the overrides defined that are not default
// rules, sorted. The server should warn about them: they are either custom rules
// referenced by rule:NAME or misspelled rule names.
func (p *Policy) Custom() []string { return slices.Clone(p.custom) }

// Rules returns the effective rules (name, expression as written, description),
// sorted by name.
func (p *Policy) Rules() []Rule {
	out := make([]Rule, 0, len(p.rules))
	for _, name := range p.names() {
		out = append(out, p.rules[name].Rule)
	}
	return out
}

// Allowed reports whether id may perform the operation guarded by rule, on
// target (attributes of the object acted on, referred to by %(key)s in
// expressions; may be nil). A rule name the policy does not define is an error
// wrapping ErrUnknownRule. A nil identity is never allowed.
func (p *Policy) Allowed(rule string, id *auth.Identity, target map[string]string) (bool, error) {
	if p == nil {
		return false, fmt.Errorf("%w %q: nil policy", ErrUnknownRule, rule)
	}
	c, ok := p.rules[rule]
	if !ok {
		return false, fmt.Errorf("%w %q", ErrUnknownRule, rule)
	}
	if id == nil {
		return false, nil
	}
	return c.root.eval(id, target), nil
}
