package maassim

import (
	"fmt"
	"strconv"
)

// Package repositories (drivers_spec.md §2.3 #67): main_archive and ports_archive are
// pre-seeded, as in MAAS.

type packageRepo struct {
	id                                 int
	name, url, key                     string
	distributions, components, arches  []string
	disabledPockets, disabledComponent []string
	disableSources, enabled, isDefault bool
}

func (st *state) initRepos() {
	st.repos = []*packageRepo{
		{id: st.next("repo"), name: "main_archive", url: "http://archive.ubuntu.com/ubuntu",
			arches: []string{"amd64", "i386"}, disableSources: true, enabled: true, isDefault: true},
		{id: st.next("repo"), name: "ports_archive", url: "http://ports.ubuntu.com/ubuntu-ports",
			arches: []string{"armhf", "arm64", "ppc64el", "s390x"}, disableSources: true, enabled: true, isDefault: true},
	}
}

func renderRepo(r *packageRepo) map[string]any {
	l := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return map[string]any{"id": r.id, "name": r.name, "url": r.url, "distributions": l(r.distributions),
		"disabled_pockets": l(r.disabledPockets), "disabled_components": l(r.disabledComponent),
		"disable_sources": r.disableSources, "components": l(r.components), "arches": l(r.arches), "key": r.key,
		"enabled": r.enabled, "resource_uri": fmt.Sprintf("%spackage-repositories/%d/", Prefix, r.id)}
}

func listRepos(c *req) (any, *apiError) {
	out := []map[string]any{}
	for _, r := range c.s.st.repos {
		out = append(out, renderRepo(r))
	}
	return out, nil
}

func (c *req) applyRepoForm(r *packageRepo) *apiError {
	n := *r
	if c.has("name") {
		n.name = c.get("name")
		for _, o := range c.s.st.repos {
			if o != r && o.name == n.name {
				return fieldError("name", "Package repository with this Name already exists.")
			}
		}
	}
	if c.has("url") {
		n.url = c.get("url")
	}
	if c.has("key") {
		n.key = c.get("key")
	}
	n.enabled = c.formBool("enabled", n.enabled)
	n.disableSources = c.formBool("disable_sources", n.disableSources)
	for _, f := range []struct {
		k   string
		dst *[]string
	}{{"distributions", &n.distributions}, {"arches", &n.arches}, {"components", &n.components},
		{"disabled_components", &n.disabledComponent}, {"disabled_pockets", &n.disabledPockets}} {
		if c.has(f.k) {
			*f.dst = c.listComma(f.k)
		}
	}
	for _, p := range n.disabledPockets {
		if !containsFold([]string{"updates", "security", "backports"}, p) {
			return fieldError("disabled_pockets", "'%s' is not a valid Pocket name.", p)
		}
	}
	if c.has("components") && len(n.components) > 0 && n.isDefault {
		return fieldError("components", "This is a default Ubuntu repository. Please update 'disabled_components' instead.")
	}
	if c.has("disabled_components") && len(n.disabledComponent) > 0 {
		if !n.isDefault {
			return fieldError("disabled_components", "This is a custom repository. Please update 'components' instead.")
		}
		for _, p := range n.disabledComponent {
			if !containsFold([]string{"restricted", "universe", "multiverse"}, p) {
				return fieldError("disabled_components", "'%s' is not a valid Component name.", p)
			}
		}
	}
	*r = n
	return nil
}

func createRepo(c *req) (any, *apiError) {
	fe := fieldErrors{}
	for _, k := range []string{"name", "url"} {
		if c.get(k) == "" {
			fe.add(k, "This field is required.")
		}
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	r := &packageRepo{enabled: true}
	if e := c.applyRepoForm(r); e != nil {
		return nil, e
	}
	r.id = c.s.st.next("repo")
	c.s.st.repos = append(c.s.st.repos, r)
	return renderRepo(r), nil
}

func (c *req) repo() (*packageRepo, *apiError) {
	for _, r := range c.s.st.repos {
		if strconv.Itoa(r.id) == c.seg[1] {
			return r, nil
		}
	}
	return nil, notFound("PackageRepository")
}

func getRepo(c *req) (any, *apiError) {
	r, e := c.repo()
	if e != nil {
		return nil, e
	}
	return renderRepo(r), nil
}

func updateRepo(c *req) (any, *apiError) {
	r, e := c.repo()
	if e != nil {
		return nil, e
	}
	if e := c.applyRepoForm(r); e != nil {
		return nil, e
	}
	return renderRepo(r), nil
}

func deleteRepo(c *req) (any, *apiError) {
	r, e := c.repo()
	if e != nil {
		return nil, e
	}
	if r.isDefault {
		return nil, badRequest("This is a default Ubuntu repository. Please update it instead of deleting it.")
	}
	st := c.s.st
	for i, x := range st.repos {
		if x == r {
			st.repos = append(st.repos[:i], st.repos[i+1:]...)
		}
	}
	return noContent{}, nil
}
