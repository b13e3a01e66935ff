package maassim

import (
	"fmt"
	"strconv"
	"strings"
)

// BootResource is an image boot-resources/ lists.
type BootResource struct {
	Name         string // "ubuntu/jammy", "grub-efi-signed/uefi"
	Architecture string // "amd64/ga-22.04"
	Type         string // "Synced" (default) or "Uploaded"
	Subarches    string // comma-separated
	Title        string
}

// DefaultBootResources are the images of a MAAS that synced Ubuntu 22.04 and 20.04 for amd64
// (GA and HWE kernels) and its UEFI bootloader.
func DefaultBootResources() []BootResource {
	return []BootResource{
		{Name: "ubuntu/jammy", Architecture: "amd64/ga-22.04", Subarches: "generic,hwe-p,hwe-q,hwe-r,hwe-s,hwe-t,hwe-u,hwe-v,hwe-w,ga-16.04,ga-16.10,ga-17.04,ga-17.10,ga-18.04,ga-18.10,ga-19.04,ga-19.10,ga-20.04,ga-20.10,ga-21.04,ga-21.10,ga-22.04", Title: "22.04 LTS"},
		{Name: "ubuntu/jammy", Architecture: "amd64/hwe-22.04", Subarches: "generic,hwe-22.04", Title: "22.04 LTS"},
		{Name: "ubuntu/focal", Architecture: "amd64/ga-20.04", Subarches: "generic,hwe-p,hwe-q,hwe-r,hwe-s,hwe-t,hwe-u,hwe-v,hwe-w,ga-16.04,ga-16.10,ga-17.04,ga-17.10,ga-18.04,ga-18.10,ga-19.04,ga-19.10,ga-20.04", Title: "20.04 LTS"},
		{Name: "ubuntu/focal", Architecture: "amd64/hwe-20.04", Subarches: "generic,hwe-20.04", Title: "20.04 LTS"},
		{Name: "grub-efi-signed/uefi", Architecture: "amd64/generic", Subarches: "generic", Title: ""},
	}
}

type bootResource struct {
	id int
	BootResource
}

type bootSource struct {
	id                         int
	url, keyringFile, keyring  string
	priority                   int
	skipVerification, disabled bool
	selections                 []*selection
}

type selection struct {
	id                        int
	os, release               string
	arches, subarches, labels []string
}

func (st *state) initBoot(rs []BootResource) {
	if rs == nil {
		rs = DefaultBootResources()
	}
	st.setBoot(rs)
	src := &bootSource{id: st.next("bootsource"), url: "http://images.maas.io/ephemeral-v3/stable/",
		keyringFile: "/usr/share/keyrings/ubuntu-cloudimage-keyring.gpg"}
	src.selections = []*selection{{id: st.next("selection"), os: "ubuntu", release: "jammy", arches: []string{"amd64"},
		subarches: []string{"*"}, labels: []string{"*"}}}
	st.sources = []*bootSource{src}
}

func (st *state) setBoot(rs []BootResource) {
	st.boot = nil
	for _, r := range rs {
		if r.Type == "" {
			r.Type = "Synced"
		}
		st.boot = append(st.boot, &bootResource{id: st.next("bootres"), BootResource: r})
	}
}

// SetBootResources replaces the synced images (nil or empty: none).
func (s *Server) SetBootResources(rs []BootResource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.setBoot(rs)
}

// SetImporting sets what boot-resources/?op=is_importing answers.
func (s *Server) SetImporting(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.importing = on
}

func renderBootResource(r *bootResource, full bool) map[string]any {
	j := map[string]any{"id": r.id, "type": r.Type, "name": r.Name, "architecture": r.Architecture,
		"subarches": r.Subarches, "title": r.Title, "last_deployed": nil,
		"resource_uri": fmt.Sprintf("%sboot-resources/%d/", Prefix, r.id)}
	if full {
		j["sets"] = map[string]any{"20240101": map[string]any{"version": "20240101", "label": "stable",
			"size": 1 << 28, "complete": true, "files": map[string]any{"squashfs": map[string]any{
				"filename": "squashfs", "filetype": "squashfs", "sha256": strings.Repeat("0", 64), "size": 1 << 28,
				"complete": true}}}}
	}
	return j
}

func listBootResources(c *req) (any, *apiError) {
	filter := ""
	if c.has("type") {
		switch t := strings.ToLower(c.get("type")); t {
		case "synced", "uploaded":
			filter = t
		default:
			return nil, badRequest("'%s' is not a valid boot resource type.", c.get("type"))
		}
	}
	out := []map[string]any{}
	for _, r := range c.s.st.boot {
		if filter == "" || strings.EqualFold(r.Type, filter) {
			out = append(out, renderBootResource(r, false))
		}
	}
	return out, nil
}

func createBootResource(c *req) (any, *apiError) {
	fe := fieldErrors{}
	for _, k := range []string{"name", "architecture", "sha256", "size"} {
		if c.get(k) == "" {
			fe.add(k, "This field is required.")
		}
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	r := &bootResource{id: c.s.st.next("bootres"), BootResource: BootResource{Name: c.get("name"),
		Architecture: c.get("architecture"), Type: "Uploaded", Subarches: "generic", Title: c.get("title")}}
	c.s.st.boot = append(c.s.st.boot, r)
	return created{renderBootResource(r, true)}, nil
}

func (c *req) bootResource() (*bootResource, *apiError) {
	for _, r := range c.s.st.boot {
		if strconv.Itoa(r.id) == c.seg[1] {
			return r, nil
		}
	}
	return nil, notFound("BootResource")
}

func getBootResource(c *req) (any, *apiError) {
	r, e := c.bootResource()
	if e != nil {
		return nil, e
	}
	return renderBootResource(r, true), nil
}

func deleteBootResource(c *req) (any, *apiError) {
	r, e := c.bootResource()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	for i, x := range st.boot {
		if x == r {
			st.boot = append(st.boot[:i], st.boot[i+1:]...)
		}
	}
	return noContent{}, nil
}

func isImporting(c *req) (any, *apiError) { return c.s.st.importing, nil }

func importBootResources(c *req) (any, *apiError) {
	return plainText{"Import of boot resources started"}, nil
}

func stopImport(c *req) (any, *apiError) {
	c.s.st.importing = false
	return plainText{"Import of boot resources is being stopped"}, nil
}

// Boot sources and selections.

func renderSource(s *bootSource) map[string]any {
	return map[string]any{"id": s.id, "name": "", "url": s.url, "priority": s.priority, "enabled": !s.disabled,
		"keyring_filename": s.keyringFile, "keyring_data": s.keyring, "skip_keyring_verification": s.skipVerification,
		"created": "2024-01-01T00:00:00.000", "updated": "2024-01-01T00:00:00.000",
		"resource_uri": fmt.Sprintf("%sboot-sources/%d/", Prefix, s.id)}
}

func renderSelection(s *bootSource, sel *selection) map[string]any {
	return map[string]any{"id": sel.id, "boot_source_id": s.id, "os": sel.os, "release": sel.release,
		"arches": sel.arches, "subarches": sel.subarches, "labels": sel.labels,
		"resource_uri": fmt.Sprintf("%sboot-sources/%d/selections/%d/", Prefix, s.id, sel.id)}
}

func listBootSources(c *req) (any, *apiError) {
	out := []map[string]any{}
	for _, s := range c.s.st.sources {
		out = append(out, renderSource(s))
	}
	return out, nil
}

func (c *req) applySourceForm(s *bootSource) *apiError {
	if c.has("url") {
		s.url = c.get("url")
	}
	if c.has("keyring_filename") {
		s.keyringFile = c.get("keyring_filename")
	}
	if c.has("keyring_data") {
		s.keyring = c.get("keyring_data")
	}
	if c.has("priority") {
		p, e := c.formInt("priority", 0)
		if e != nil {
			return e
		}
		s.priority = p
	}
	s.skipVerification = c.formBool("skip_keyring_verification", s.skipVerification)
	s.disabled = !c.formBool("enabled", !s.disabled)
	return nil
}

func createBootSource(c *req) (any, *apiError) {
	if c.get("url") == "" {
		return nil, fieldError("url", "This field is required.")
	}
	s := &bootSource{id: c.s.st.next("bootsource")}
	if e := c.applySourceForm(s); e != nil {
		return nil, e
	}
	c.s.st.sources = append(c.s.st.sources, s)
	return created{renderSource(s)}, nil
}

func (c *req) bootSource() (*bootSource, *apiError) {
	for _, s := range c.s.st.sources {
		if strconv.Itoa(s.id) == c.seg[1] {
			return s, nil
		}
	}
	return nil, notFound("BootSource")
}

func getBootSource(c *req) (any, *apiError) {
	s, e := c.bootSource()
	if e != nil {
		return nil, e
	}
	return renderSource(s), nil
}

func updateBootSource(c *req) (any, *apiError) {
	s, e := c.bootSource()
	if e != nil {
		return nil, e
	}
	if e := c.applySourceForm(s); e != nil {
		return nil, e
	}
	return renderSource(s), nil
}

func deleteBootSource(c *req) (any, *apiError) {
	s, e := c.bootSource()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	for i, x := range st.sources {
		if x == s {
			st.sources = append(st.sources[:i], st.sources[i+1:]...)
		}
	}
	return noContent{}, nil
}

func listSelections(c *req) (any, *apiError) {
	s, e := c.bootSource()
	if e != nil {
		return nil, e
	}
	out := []map[string]any{}
	for _, sel := range s.selections {
		out = append(out, renderSelection(s, sel))
	}
	return out, nil
}

func (c *req) applySelectionForm(sel *selection) {
	if c.has("os") {
		sel.os = c.get("os")
	}
	if c.has("release") {
		sel.release = c.get("release")
	}
	for _, f := range []struct {
		k   string
		dst *[]string
	}{{"arches", &sel.arches}, {"subarches", &sel.subarches}, {"labels", &sel.labels}} {
		if c.has(f.k) {
			*f.dst = c.listComma(f.k)
		}
		if *f.dst == nil {
			*f.dst = []string{"*"}
		}
	}
}

func createSelection(c *req) (any, *apiError) {
	s, e := c.bootSource()
	if e != nil {
		return nil, e
	}
	sel := &selection{id: c.s.st.next("selection"), os: "ubuntu"}
	c.applySelectionForm(sel)
	if sel.release == "" {
		return nil, fieldError("release", "This field is required.")
	}
	for _, o := range s.selections {
		if o.os == sel.os && o.release == sel.release {
			return nil, fieldError("__all__", "Boot source selection with this Boot source, Os and Release already exists.")
		}
	}
	s.selections = append(s.selections, sel)
	return renderSelection(s, sel), nil
}

func (c *req) selection() (*bootSource, *selection, *apiError) {
	s, e := c.bootSource()
	if e != nil {
		return nil, nil, e
	}
	for _, sel := range s.selections {
		if strconv.Itoa(sel.id) == c.seg[3] {
			return s, sel, nil
		}
	}
	return nil, nil, notFound("BootSourceSelection")
}

func getSelection(c *req) (any, *apiError) {
	s, sel, e := c.selection()
	if e != nil {
		return nil, e
	}
	return renderSelection(s, sel), nil
}

func updateSelection(c *req) (any, *apiError) {
	s, sel, e := c.selection()
	if e != nil {
		return nil, e
	}
	c.applySelectionForm(sel)
	return renderSelection(s, sel), nil
}

func deleteSelection(c *req) (any, *apiError) {
	s, sel, e := c.selection()
	if e != nil {
		return nil, e
	}
	for i, x := range s.selections {
		if x == sel {
			s.selections = append(s.selections[:i], s.selections[i+1:]...)
		}
	}
	return noContent{}, nil
}
