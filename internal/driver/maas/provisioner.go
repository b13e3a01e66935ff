package maas

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// normKey joins an SSH public key written over several lines.
func normKey(k string) string {
	lines := strings.Split(k, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	return strings.TrimSpace(strings.Join(lines, ""))
}

// keyID is the part of a public key that identifies it: type and blob (not the comment).
func keyID(k string) string {
	f := strings.Fields(k)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return strings.TrimSpace(k)
}

// userCredentials adds the design's authorized keys to the MAAS user's SSH keys (keys not in
// the design are left: MAAS's keys serve other users of the account too).
func (d *Driver) userCredentials(ctx context.Context, site *design.Site) driver.Result {
	s := &siteRun{d: d, step: "configure_user_credentials"}
	reg := site.Design.Region()
	if reg == nil || len(reg.AuthorizedKeys) == 0 {
		r := driver.OK("%s: the design has no authorized keys", s.step)
		r.Skipped = true
		return r
	}
	var have []sshKey
	if err := d.c.get(ctx, "account/prefs/sshkeys/", "", nil, &have); err != nil {
		return s.abort("reading SSH keys", err)
	}
	known := map[string]bool{}
	for _, k := range have {
		known[keyID(normKey(k.Key))] = true
	}
	for i, raw := range reg.AuthorizedKeys {
		k := normKey(raw)
		if k == "" || known[keyID(k)] {
			continue
		}
		if err := d.c.post(ctx, "account/prefs/sshkeys/", "", form("key", k), nil); err != nil {
			return s.abort(fmt.Sprintf("adding authorized key %d (%s)", i+1, keyComment(k)), err)
		}
		known[keyID(k)] = true
		s.changed("added SSH key %s", keyComment(k))
	}
	return s.result(fmt.Sprintf("%d SSH keys", len(reg.AuthorizedKeys)))
}

func keyComment(k string) string {
	f := strings.Fields(k)
	if len(f) >= 3 {
		return f[0] + " " + strings.Join(f[2:], " ")
	}
	if len(f) > 0 {
		return f[0]
	}
	return "(empty)"
}

var (
	aptComponents = []string{"main", "restricted", "universe", "multiverse"}
	aptPockets    = []string{"security", "updates", "backports"}
)

func minus(all, some []string) []string {
	var out []string
	for _, x := range all {
		if !contains(some, x) {
			out = append(out, x)
		}
	}
	return out
}

func isArchive(name string) bool { return name == "main_archive" || name == "ports_archive" }

// repoForm is the MAAS form of a design repository, by field, lists comma-joined.
func repoForm(r design.Repository) map[string][]string {
	f := map[string][]string{
		"url":           {r.URL},
		"distributions": r.Distributions,
		"arches":        r.Arches,
	}
	if len(r.Arches) == 0 {
		f["arches"] = []string{"amd64"}
	}
	if len(r.Components) > 0 {
		if isArchive(r.Name) {
			f["disabled_components"] = minus(aptComponents, r.Components)
		} else {
			f["components"] = r.Components
		}
	}
	if len(r.Subrepos) > 0 || isArchive(r.Name) {
		f["disabled_pockets"] = minus(aptPockets, r.Subrepos)
	}
	f["key"] = []string{strings.TrimSpace(r.GPGKey)}
	return f
}

func repoField(p *packageRepo, field string) []string {
	switch field {
	case "url":
		return []string{p.URL}
	case "distributions":
		return p.Distributions
	case "arches":
		return p.Arches
	case "components":
		return p.Components
	case "disabled_components":
		return p.DisabledComponents
	case "disabled_pockets":
		return p.DisabledPockets
	case "key":
		return []string{strings.TrimSpace(p.Key)}
	}
	return nil
}

// nodeProvisioner configures the package repositories nodes install from, and the site's tag
// definitions (MAAS tags with an lshw XPath definition).
func (d *Driver) nodeProvisioner(ctx context.Context, site *design.Site) driver.Result {
	s := &siteRun{d: d, step: "configure_node_provisioner"}
	reg := site.Design.Region()
	var what []string
	if reg != nil && reg.Repositories != nil {
		if res := d.repositories(ctx, s, reg.Repositories); res != nil {
			return *res
		}
		what = append(what, fmt.Sprintf("%d repositories", len(reg.Repositories.Repositories)))
	}
	if reg != nil && len(reg.TagDefinitions) > 0 {
		tags, err := d.tagList(ctx, true)
		if err != nil {
			return s.abort("reading tags", err)
		}
		for _, td := range reg.TagDefinitions {
			name := tagName(td.Tag)
			if td.DefinitionType != "" && td.DefinitionType != "lshw_xpath" {
				s.problem("tag definition %s: type %s is not supported by MAAS (lshw_xpath only)", td.Tag, td.DefinitionType)
				continue
			}
			cur, ok := tags[name]
			switch {
			case !ok:
				if err := d.createTag(ctx, tag{Name: name, Definition: td.Definition, Comment: managedComment}); err != nil {
					return s.abort("creating tag "+name, err)
				}
				s.changed("created tag %s with its definition", name)
			case cur.Definition != td.Definition:
				if err := d.c.put(ctx, tagPath(name), form("definition", td.Definition), nil); err != nil {
					return s.abort("updating the definition of tag "+name, err)
				}
				s.changed("updated the definition of tag %s", name)
			}
		}
		what = append(what, fmt.Sprintf("%d tag definitions", len(reg.TagDefinitions)))
	}
	if len(what) == 0 {
		r := driver.OK("%s: the design has no repositories nor tag definitions", s.step)
		r.Skipped = true
		return r
	}
	return s.result(strings.Join(what, " and "))
}

func (d *Driver) repositories(ctx context.Context, s *siteRun, rl *design.RepositoryList) *driver.Result {
	var have []packageRepo
	if err := d.c.get(ctx, "package-repositories/", "", nil, &have); err != nil {
		r := s.abort("reading package repositories", err)
		return &r
	}
	byName := map[string]*packageRepo{}
	for i := range have {
		byName[have[i].Name] = &have[i]
	}
	listed := map[string]bool{}
	for _, r := range rl.Repositories {
		listed[r.Name] = true
		if r.RepoType != "" && r.RepoType != "apt" {
			s.problem("repository %s: MAAS package repositories are apt repositories; type %s is not supported", r.Name, r.RepoType)
			continue
		}
		want := repoForm(r)
		cur := byName[r.Name]
		f := url.Values{}
		for _, field := range sortedKeys(want) {
			if cur == nil || !sameSet(nonEmpty(repoField(cur, field)), nonEmpty(want[field])) {
				f.Set(field, strings.Join(want[field], ","))
			}
		}
		switch {
		case cur == nil:
			f.Set("name", r.Name)
			if err := d.c.post(ctx, "package-repositories/", "", f, nil); err != nil {
				res := s.abort("creating package repository "+r.Name, err)
				return &res
			}
			s.changed("created repository %s", r.Name)
		case len(f) > 0:
			if err := d.c.put(ctx, fmt.Sprintf("package-repositories/%d/", cur.ID), f, nil); err != nil {
				res := s.abort(fmt.Sprintf("updating package repository %s (%s)", r.Name, strings.Join(sortedKeys(f), ", ")), err)
				return &res
			}
			s.changed("repository %s: set %s", r.Name, strings.Join(sortedKeys(f), ", "))
		}
	}
	if rl.RemoveUnlisted {
		names := sortedKeys(byName)
		sort.Strings(names)
		for _, n := range names {
			if listed[n] || isArchive(n) {
				continue
			}
			if err := d.c.del(ctx, fmt.Sprintf("package-repositories/%d/", byName[n].ID)); err != nil {
				res := s.abort("deleting package repository "+n+" (not in the design, remove_unlisted)", err)
				return &res
			}
			s.changed("deleted repository %s", n)
		}
	}
	return nil
}

func nonEmpty(l []string) []string {
	var out []string
	for _, x := range l {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
