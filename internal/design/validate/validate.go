// Package validate checks a compiled site design against Drydock's validation rules.
//
// Each rule lives in its own file and registers itself with a unique code (DD1001, ...) and a
// stable slug (storage.boot-size, ...); both are part of the public output. Rules read the
// applied model (design.Site) and report messages through a Context; they never modify the
// model. Every rule runs, whatever the others found, and a rule that panics is reported as an
// error of that rule instead of aborting the run. A rule that reports no error adds an Info
// message "Validation successful.", as the original Drydock did, so a report always says which
// rules ran.
//
// Every rule is linear in the size of the design (nodes, addresses, networks): anything that
// needs a lookup across nodes builds a map once.
package validate

import (
	"context"
	"fmt"
	"net/netip"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/design"
)

// Rule is one validation rule.
type Rule struct {
	Code    string // unique, e.g. DD1001
	Slug    string // unique and stable, e.g. storage.boot-size
	Name    string // human title, e.g. "Rational Boot Storage"
	Summary string // what the rule checks, one sentence
	Example string // an example message, for the documentation
	Check   func(c *Context)
}

var registry []*Rule

func register(r *Rule) {
	for _, x := range registry {
		if x.Code == r.Code || x.Slug == r.Slug {
			panic(fmt.Sprintf("validate: rule %s (%s) registered twice", r.Code, r.Slug))
		}
	}
	registry = append(registry, r)
	sort.Slice(registry, func(i, j int) bool { return registry[i].Code < registry[j].Code })
}

// Rules returns every rule, ordered by code.
func Rules() []*Rule { return append([]*Rule(nil), registry...) }

// Lookup finds a rule by code or slug.
func Lookup(codeOrSlug string) *Rule {
	for _, r := range registry {
		if r.Code == codeOrSlug || r.Slug == codeOrSlug {
			return r
		}
	}
	return nil
}

// Image is an OS image a node driver can deploy, with the kernels it offers.
type Image struct {
	Name    string
	Kernels []string
}

// PlatformCatalog is implemented by a node driver that knows which images and kernels exist.
type PlatformCatalog interface {
	Images(ctx context.Context) ([]Image, error)
}

// Options tune a validation run.
type Options struct {
	// Platform, when set, lets platform.selection check images and kernels.
	Platform PlatformCatalog
	// Only, when non-empty, runs just these rules (codes or slugs).
	Only []string
}

// Context is what a rule sees: the site and a way to report.
type Context struct {
	Ctx     context.Context
	Site    *design.Site
	Options Options

	rule   *Rule
	msgs   []design.Message
	errors int
	facts  *facts
}

func (c *Context) add(level design.Level, msg, diag string, docs ...design.DocRef) {
	c.msgs = append(c.msgs, design.NewMessage(c.rule.Code, c.rule.Slug, level, msg, diag, docs...))
	if level == design.LevelError {
		c.errors++
	}
}

// Errorf reports an error.
func (c *Context) Errorf(diag string, docs []design.DocRef, format string, args ...any) {
	c.add(design.LevelError, fmt.Sprintf(format, args...), diag, docs...)
}

// Warnf reports a warning.
func (c *Context) Warnf(diag string, docs []design.DocRef, format string, args ...any) {
	c.add(design.LevelWarning, fmt.Sprintf(format, args...), diag, docs...)
}

// Infof reports an informational message.
func (c *Context) Infof(diag string, docs []design.DocRef, format string, args ...any) {
	c.add(design.LevelInfo, fmt.Sprintf(format, args...), diag, docs...)
}

func docs(refs ...design.DocRef) []design.DocRef { return refs }

// Run applies the rules to a compiled site and returns their messages in rule order.
func Run(ctx context.Context, site *design.Site, opts Options) []design.Message {
	f := newFacts(site)
	var out []design.Message
	for _, r := range registry {
		if len(opts.Only) > 0 && !selected(r, opts.Only) {
			continue
		}
		c := &Context{Ctx: ctx, Site: site, Options: opts, rule: r, facts: f}
		runRule(c)
		out = append(out, c.msgs...)
	}
	return out
}

func selected(r *Rule, only []string) bool {
	for _, o := range only {
		if o == r.Code || o == r.Slug {
			return true
		}
	}
	return false
}

func runRule(c *Context) {
	defer func() {
		if p := recover(); p != nil {
			c.Errorf("This is a bug in Drydock; please report it with the design that triggers it.", nil,
				"rule %s (%s) failed internally: %v\n%s", c.rule.Code, c.rule.Slug, p, firstFrames(debug.Stack()))
		}
	}()
	c.rule.Check(c)
	if c.errors == 0 {
		c.Infof("", nil, "Validation successful.")
	}
}

func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	if len(lines) > 12 {
		lines = lines[:12]
	}
	return strings.Join(lines, "\n")
}

// Report is the outcome of reading, compiling and validating a design.
type Report struct {
	Ingested *design.Ingested
	Site     *design.Site // nil when documents could not be read
	Messages []design.Message
	Parse    time.Duration
	Compile  time.Duration
	Validate time.Duration
}

// Valid reports whether the design has no errors.
func (r *Report) Valid() bool { return design.ErrorCount(r.Messages) == 0 }

// ErrorCount counts errors.
func (r *Report) ErrorCount() int { return design.ErrorCount(r.Messages) }

// Sources reads, compiles and validates a design. When a document cannot be read (bad YAML,
// schema errors, duplicates), the rules do not run: the report holds the reading errors.
func Sources(ctx context.Context, opts Options, sources ...design.Source) *Report {
	rep := &Report{}
	t0 := time.Now()
	rep.Ingested = design.Parse(sources...)
	rep.Parse = time.Since(t0)
	rep.Messages = append(rep.Messages, rep.Ingested.Messages...)
	if !rep.Ingested.OK() {
		return rep
	}
	t1 := time.Now()
	rep.Site = design.Compile(rep.Ingested.Design)
	rep.Compile = time.Since(t1)
	t2 := time.Now()
	rep.Messages = append(rep.Messages, Run(ctx, rep.Site, opts)...)
	rep.Validate = time.Since(t2)
	return rep
}

// facts are derived once per run and shared by the rules.
type facts struct {
	prefixes map[string]netip.Prefix // networks whose CIDR parses
	linkOf   map[string][]*design.NetworkLink
	allowed  map[string]map[string]bool // link -> allowed networks
	// addrs[i][j] is node i's address j, parsed; the zero Addr when it is dhcp or invalid.
	addrs [][]netip.Addr
}

func newFacts(s *design.Site) *facts {
	f := &facts{prefixes: map[string]netip.Prefix{}, linkOf: map[string][]*design.NetworkLink{}, allowed: map[string]map[string]bool{}}
	for _, n := range s.Design.Networks {
		if p, err := netip.ParsePrefix(n.CIDR); err == nil {
			if _, dup := f.prefixes[n.Name]; !dup {
				f.prefixes[n.Name] = p
			}
		}
	}
	f.addrs = make([][]netip.Addr, len(s.Nodes))
	for i, n := range s.Nodes {
		f.addrs[i] = make([]netip.Addr, len(n.Addressing))
		for j, a := range n.Addressing {
			if a.Type == "static" {
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					f.addrs[i][j] = ip
				}
			}
		}
	}
	for _, l := range s.Design.NetworkLinks {
		set := make(map[string]bool, len(l.AllowedNetworks))
		for _, n := range l.AllowedNetworks {
			if set[n] {
				continue // listed twice on one link: still one link carrying it
			}
			set[n] = true
			f.linkOf[n] = append(f.linkOf[n], l)
		}
		if _, dup := f.allowed[l.Name]; !dup {
			f.allowed[l.Name] = set
		}
	}
	return f
}

// prefix returns the parsed CIDR of a network, if it is valid.
func (c *Context) prefix(network string) (netip.Prefix, bool) {
	p, ok := c.facts.prefixes[network]
	return p, ok
}

// nodes and networks of the site, for brevity in rules.
func (c *Context) nodes() []*design.Node  { return c.Site.Nodes }
func (c *Context) design() *design.Design { return c.Site.Design }
