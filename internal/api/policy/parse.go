package policy

import (
	"fmt"
	"strings"

	"github.com/drydock-go/drydock/internal/api/auth"
)

// maxDepth bounds the nesting of parentheses and "not" in one expression.
const maxDepth = 64

// syntaxError is a parse error at pos (1-based byte column).
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.pos, e.msg) }

// ---------------------------------------------------------------------------
// Compiled tree

// node is a compiled expression.
type node interface {
	eval(id *auth.Identity, target map[string]string) bool
	// write appends the canonical form of the node to b.
	write(b *strings.Builder)
}

type constNode bool

func (n constNode) eval(*auth.Identity, map[string]string) bool { return bool(n) }
func (n constNode) write(b *strings.Builder) {
	if n {
		b.WriteByte('@')
	} else {
		b.WriteByte('!')
	}
}

type notNode struct{ x node }

func (n *notNode) eval(id *auth.Identity, t map[string]string) bool { return !n.x.eval(id, t) }
func (n *notNode) write(b *strings.Builder) {
	b.WriteString("not ")
	writeOperand(b, n.x, false)
}

type andNode struct{ xs []node }

func (n *andNode) eval(id *auth.Identity, t map[string]string) bool {
	for _, x := range n.xs {
		if !x.eval(id, t) {
			return false
		}
	}
	return true
}
func (n *andNode) write(b *strings.Builder) {
	for i, x := range n.xs {
		if i > 0 {
			b.WriteString(" and ")
		}
		writeOperand(b, x, true)
	}
}

type orNode struct{ xs []node }

func (n *orNode) eval(id *auth.Identity, t map[string]string) bool {
	for _, x := range n.xs {
		if x.eval(id, t) {
			return true
		}
	}
	return false
}
func (n *orNode) write(b *strings.Builder) {
	for i, x := range n.xs {
		if i > 0 {
			b.WriteString(" or ")
		}
		x.write(b)
	}
}

// writeOperand writes x as an operand of "not" (inAnd false) or "and" (inAnd
// true), parenthesized where precedence requires it.
func writeOperand(b *strings.Builder, x node, inAnd bool) {
	paren := false
	switch x.(type) {
	case *orNode:
		paren = true
	case *andNode:
		paren = !inAnd
	}
	if paren {
		b.WriteByte('(')
	}
	x.write(b)
	if paren {
		b.WriteByte(')')
	}
}

// ruleNode is a rule:NAME reference; target is set when the policy is linked.
type ruleNode struct {
	name   string
	pos    int
	target *compiled
}

func (n *ruleNode) eval(id *auth.Identity, t map[string]string) bool {
	return n.target != nil && n.target.root.eval(id, t)
}
func (n *ruleNode) write(b *strings.Builder) { b.WriteString("rule:"); b.WriteString(n.name) }

// attr is the identity attribute a check compares with.
type attr int

const (
	attrRole attr = iota
	attrUser
	attrUserID
	attrProjectID
	attrUserDomainID
	attrProjectDomainID
)

var checkKinds = map[string]attr{
	"role":              attrRole,
	"user":              attrUser,
	"user_name":         attrUser,
	"user_id":           attrUserID,
	"project_id":        attrProjectID,
	"user_domain_id":    attrUserDomainID,
	"project_domain_id": attrProjectDomainID,
}

const knownKinds = "role, user, user_name, user_id, project_id, user_domain_id, project_domain_id, is_admin, rule"

// checkNode compares an identity attribute with a (possibly templated) value.
type checkNode struct {
	kind  string // as written, for String
	raw   string // value as written, for String
	attr  attr
	value template
}

func (n *checkNode) eval(id *auth.Identity, t map[string]string) bool {
	want, ok := n.value.expand(t)
	if !ok || want == "" {
		return false
	}
	switch n.attr {
	case attrRole:
		for _, r := range id.Roles {
			if strings.EqualFold(r, want) {
				return true
			}
		}
		return false
	case attrUser:
		return id.User == want
	case attrUserID:
		return id.UserID == want
	case attrProjectID:
		return id.ProjectID == want
	case attrUserDomainID:
		return id.UserDomainID == want
	case attrProjectDomainID:
		return id.ProjectDomainID == want
	}
	return false
}
func (n *checkNode) write(b *strings.Builder) {
	b.WriteString(n.kind)
	b.WriteByte(':')
	b.WriteString(n.raw)
}

// isAdminNode is is_admin:True or is_admin:False.
type isAdminNode struct {
	raw  string
	want bool
}

func (n *isAdminNode) eval(id *auth.Identity, _ map[string]string) bool {
	return id.IsAdminProject == n.want
}
func (n *isAdminNode) write(b *strings.Builder) { b.WriteString("is_admin:"); b.WriteString(n.raw) }

// String returns the canonical form of an expression tree.
func nodeString(n node) string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

// template is a check value with %(key)s substitutions. Either it is a literal
// (keys empty), a single substitution (one key, no literal text: the common
// "%(project_id)s", expanded without allocating), or a mix.
type template struct {
	lit   string   // the literal value, when keys is empty
	parts []string // literal text around keys: parts[i] precedes keys[i]; len(parts) == len(keys)+1
	keys  []string
}

func (t *template) expand(target map[string]string) (string, bool) {
	switch {
	case len(t.keys) == 0:
		return t.lit, true
	case len(t.keys) == 1 && t.parts[0] == "" && t.parts[1] == "":
		v, ok := target[t.keys[0]]
		return v, ok
	}
	var b strings.Builder
	for i, k := range t.keys {
		v, ok := target[k]
		if !ok {
			return "", false
		}
		b.WriteString(t.parts[i])
		b.WriteString(v)
	}
	b.WriteString(t.parts[len(t.keys)])
	return b.String(), true
}

// parseTemplate parses s (starting at column pos) into a template.
func parseTemplate(s string, pos int) (template, error) {
	if !strings.Contains(s, "%") {
		return template{lit: s}, nil
	}
	var t template
	var cur strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			cur.WriteByte(c)
			i++
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "%%"):
			cur.WriteByte('%')
			i += 2
		case strings.HasPrefix(s[i:], "%("):
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				return t, &syntaxError{pos + i, "unterminated %(key)s substitution"}
			}
			key := s[i+2 : i+end]
			if key == "" {
				return t, &syntaxError{pos + i, "empty key in %(key)s substitution"}
			}
			if i+end+1 >= len(s) || s[i+end+1] != 's' {
				return t, &syntaxError{pos + i, fmt.Sprintf("substitution %%(%s) must end in s: only %%(key)s is supported", key)}
			}
			t.parts = append(t.parts, cur.String())
			t.keys = append(t.keys, key)
			cur.Reset()
			i += end + 2
		default:
			return t, &syntaxError{pos + i, `stray "%": use %(key)s for a target value or %% for a percent sign`}
		}
	}
	t.parts = append(t.parts, cur.String())
	if len(t.keys) == 0 {
		return template{lit: t.parts[0]}, nil
	}
	return t, nil
}

// ---------------------------------------------------------------------------
// Lexer

type tokKind int

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokWord // a check: kind:value, @ or !
)

type token struct {
	kind tokKind
	text string
	pos  int // 1-based byte column
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokWord:
		return fmt.Sprintf("check %q", t.text)
	default:
		return fmt.Sprintf("%q", t.text)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// lex splits expr into tokens. Parentheses are tokens of their own except in a
// %(key)s substitution inside a word.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case isSpace(c):
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i + 1})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i + 1})
			i++
		default:
			start := i
			for i < len(expr) && !isSpace(expr[i]) && expr[i] != '(' && expr[i] != ')' {
				if expr[i] == '%' && i+1 < len(expr) && expr[i+1] == '(' {
					// A substitution: consume through its ')'.
					j := i + 2
					for j < len(expr) && expr[j] != ')' && expr[j] != '(' && !isSpace(expr[j]) {
						j++
					}
					if j >= len(expr) || expr[j] != ')' {
						return nil, &syntaxError{i + 1, "unterminated %(key)s substitution"}
					}
					i = j + 1
					continue
				}
				i++
			}
			w := expr[start:i]
			k := tokWord
			switch strings.ToLower(w) {
			case "and":
				k = tokAnd
			case "or":
				k = tokOr
			case "not":
				k = tokNot
			}
			toks = append(toks, token{k, w, start + 1})
		}
	}
	return append(toks, token{tokEOF, "", len(expr) + 1}), nil
}

// ---------------------------------------------------------------------------
// Parser
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" expr ")" | check

type parser struct {
	toks  []token
	i     int
	depth int
	refs  []*ruleNode
}

// parse compiles expr. rule: references are returned unresolved.
func parse(expr string) (node, []*ruleNode, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, nil, err
	}
	if len(toks) == 1 {
		return constNode(true), nil, nil // "" always allows, as in oslo.policy
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, nil, p.unexpected(t, "")
	}
	return n, p.refs, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) unexpected(t token, want string) error {
	msg := "unexpected " + t.describe()
	if t.kind == tokRParen {
		msg = `unmatched ")"`
	}
	if want != "" {
		msg += ", expected " + want
	}
	return &syntaxError{t.pos, msg}
}

func (p *parser) expr() (node, error) {
	var xs []node
	for {
		x, err := p.and()
		if err != nil {
			return nil, err
		}
		if o, ok := x.(*orNode); ok {
			xs = append(xs, o.xs...)
		} else {
			xs = append(xs, x)
		}
		if p.peek().kind != tokOr {
			break
		}
		p.next()
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return &orNode{xs}, nil
}

func (p *parser) and() (node, error) {
	var xs []node
	for {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if a, ok := x.(*andNode); ok {
			xs = append(xs, a.xs...)
		} else {
			xs = append(xs, x)
		}
		if p.peek().kind != tokAnd {
			break
		}
		p.next()
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return &andNode{xs}, nil
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > maxDepth {
		return &syntaxError{t.pos, fmt.Sprintf("expression nested more than %d levels deep", maxDepth)}
	}
	return nil
}

func (p *parser) unary() (node, error) {
	t := p.peek()
	if t.kind != tokNot {
		return p.primary()
	}
	p.next()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	return &notNode{x}, nil
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if p.peek().kind == tokRParen {
			return nil, &syntaxError{p.peek().pos, `empty parentheses`}
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tokRParen {
			if c.kind == tokEOF {
				return nil, &syntaxError{t.pos, `unclosed "("`}
			}
			return nil, p.unexpected(c, `"and", "or" or ")"`)
		}
		p.next()
		return x, nil
	case tokWord:
		return p.check(t)
	default:
		return nil, p.unexpected(t, `a check, "not" or "("`)
	}
}

// check compiles a check token.
func (p *parser) check(t token) (node, error) {
	switch t.text {
	case "@":
		return constNode(true), nil
	case "!":
		return constNode(false), nil
	}
	kind, value, ok := strings.Cut(t.text, ":")
	if !ok {
		return nil, &syntaxError{t.pos, fmt.Sprintf("%q is not a check: expected kind:value, @ or !", t.text)}
	}
	valuePos := t.pos + len(kind) + 1
	if kind == "" {
		return nil, &syntaxError{t.pos, fmt.Sprintf("check %q has no kind", t.text)}
	}
	if value == "" {
		return nil, &syntaxError{t.pos, fmt.Sprintf("check %q has no value", t.text)}
	}
	switch kind {
	case "rule":
		if strings.ContainsRune(value, '%') {
			return nil, &syntaxError{valuePos, "rule: takes a rule name, not a %(key)s substitution"}
		}
		r := &ruleNode{name: value, pos: t.pos}
		p.refs = append(p.refs, r)
		return r, nil
	case "is_admin":
		switch {
		case strings.EqualFold(value, "true"):
			return &isAdminNode{raw: value, want: true}, nil
		case strings.EqualFold(value, "false"):
			return &isAdminNode{raw: value, want: false}, nil
		}
		return nil, &syntaxError{valuePos, fmt.Sprintf("is_admin takes True or False, not %q", value)}
	}
	a, ok := checkKinds[kind]
	if !ok {
		return nil, &syntaxError{t.pos, fmt.Sprintf("unknown check kind %q (supported: %s, @, !)", kind, knownKinds)}
	}
	tmpl, err := parseTemplate(value, valuePos)
	if err != nil {
		return nil, err
	}
	return &checkNode{kind: kind, raw: value, attr: a, value: tmpl}, nil
}
