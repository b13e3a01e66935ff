package maas

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// tagName makes a string a valid MAAS tag name (letters, digits, _ and -).
func tagName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// kernelParamsTag is the tag carrying the node's kernel parameters (kernel_opts).
func kernelParamsTag(n *design.Node) string { return tagName(n.Name) + "_kp" }

// bootActionTagPrefix starts the tags carrying the node's boot action key.
func bootActionTagPrefix(n *design.Node) string { return tagName(n.Name) + "__baid__" }

// createTag creates a tag; a tag that appeared meanwhile (another node's call) is fine when it
// is the same.
func (d *Driver) createTag(ctx context.Context, t tag) error {
	f := form("name", t.Name, "comment", t.Comment)
	if t.KernelOpts != "" {
		f.Set("kernel_opts", t.KernelOpts)
	}
	if t.Definition != "" {
		f.Set("definition", t.Definition)
	}
	var got tag
	err := d.c.post(ctx, "tags/", "", f, &got)
	if s := statusOf(err); s == http.StatusBadRequest || s == http.StatusConflict {
		ts, lerr := d.tagList(ctx, true)
		if lerr == nil {
			if have, ok := ts[t.Name]; ok && have.KernelOpts == t.KernelOpts {
				return nil
			}
		}
	}
	if err != nil {
		return err
	}
	d.noteTag(t, false)
	return nil
}

func (d *Driver) deleteTag(ctx context.Context, name string) error {
	err := d.c.del(ctx, tagPath(name))
	if err != nil && !isNotFound(err) {
		return err
	}
	d.noteTag(tag{Name: name}, true)
	return nil
}

// tagMachine adds (or removes) the machine to a tag; definition is the tag's definition (MAAS
// asks for it on tags that have one).
func (o *nodeOp) tagMachine(ctx context.Context, name, definition string, add bool) error {
	verb := "add"
	if !add {
		verb = "remove"
	}
	f := form(verb, o.sid())
	if definition != "" {
		f.Set("definition", definition)
	}
	return o.d.c.post(ctx, tagPath(name), "update_nodes", f, nil)
}

// ApplyPlatform sets the node's kernel parameters (the tag <node>_kp with kernel_opts) and
// tags. Tags Drydock manages that the design no longer lists are taken off the machine, and
// the kernel parameter tag is deleted when the design has none. The image and kernel are
// given to MAAS with the deployment.
func (d *Driver) ApplyPlatform(ctx context.Context, c driver.Call) driver.Result {
	o, r := d.begin(ctx, c, "platform")
	if r != nil {
		return *r
	}
	switch st := o.m.StatusName; st {
	case stDeployed, stDeploying:
		return o.skip("machine is %s; platform not changed", st)
	}
	cmdline, err := o.node.KernelCommandLine()
	if err != nil {
		return o.fail("kernel parameters: %v", err)
	}
	tags, err := d.tagList(ctx, false)
	if err != nil {
		return o.err("reading tags", err)
	}
	var changes []string
	kp := kernelParamsTag(o.node)
	cur, exists := tags[kp]
	switch {
	case cmdline == "" && (exists || o.m.hasTag(kp)):
		if err := d.deleteTag(ctx, kp); err != nil {
			return o.err("deleting kernel parameter tag "+kp+" (the design has no kernel parameters)", err)
		}
		changes = append(changes, "removed kernel parameters (tag "+kp+")")
	case cmdline != "":
		applied := o.m.hasTag(kp)
		if exists && cur.KernelOpts != cmdline {
			if err := d.deleteTag(ctx, kp); err != nil {
				return o.err("replacing kernel parameter tag "+kp, err)
			}
			exists, applied = false, false
		}
		if !exists {
			if err := d.createTag(ctx, tag{Name: kp, KernelOpts: cmdline, Comment: managedComment}); err != nil {
				return o.err(fmt.Sprintf("creating tag %s with kernel_opts %q", kp, cmdline), err)
			}
		}
		if !applied {
			if err := o.tagMachine(ctx, kp, "", true); err != nil {
				return o.err("applying kernel parameter tag "+kp, err)
			}
			changes = append(changes, fmt.Sprintf("kernel parameters %q (tag %s)", cmdline, kp))
		}
	}
	defs := map[string]string{}
	if c.Site != nil && c.Site.Design != nil {
		if reg := c.Site.Design.Region(); reg != nil {
			for _, td := range reg.TagDefinitions {
				defs[td.Tag] = td.Definition
			}
		}
	}
	want := map[string]bool{}
	for _, t := range o.node.Tags {
		name := tagName(t)
		want[name] = true
		if o.m.hasTag(name) {
			continue
		}
		tg, ok := tags[name]
		if !ok {
			if tags, err = d.tagList(ctx, true); err != nil {
				return o.err("reading tags", err)
			}
			tg, ok = tags[name]
		}
		if !ok {
			tg = tag{Name: name, Comment: managedComment, Definition: defs[t]}
			if err := d.createTag(ctx, tg); err != nil {
				return o.err("creating tag "+name, err)
			}
		}
		if err := o.tagMachine(ctx, name, tg.Definition, true); err != nil {
			return o.err("adding the machine to tag "+name, err)
		}
		changes = append(changes, "tag "+name)
	}
	for _, name := range o.m.TagNames {
		if want[name] || name == kp || strings.HasPrefix(name, bootActionTagPrefix(o.node)) {
			continue
		}
		if tg, ok := tags[name]; ok && tg.Comment == managedComment {
			if err := o.tagMachine(ctx, name, tg.Definition, false); err != nil {
				return o.err("removing the machine from tag "+name+" (no longer in the design)", err)
			}
			changes = append(changes, "untagged "+name)
		}
	}
	if len(changes) == 0 {
		return o.skip("platform already as designed (kernel parameters %q, tags %s)", cmdline, strings.Join(o.node.Tags, ", "))
	}
	return o.ok("platform applied: %s", strings.Join(changes, "; "))
}
