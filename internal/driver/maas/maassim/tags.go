package maassim

import (
	"regexp"
	"strings"
)

// Tags (maas_api.md §5.6). Tags are applied by hand (update_nodes); a definition is stored
// and compared but not evaluated against lshw.

type tag struct {
	name, definition, comment, kernelOpts string
	nodes                                 map[string]bool // system ids
}

type tagJSON struct {
	Name        string `json:"name"`
	Definition  string `json:"definition"`
	Comment     string `json:"comment"`
	KernelOpts  string `json:"kernel_opts"`
	ResourceURI string `json:"resource_uri"`
}

func renderTag(t *tag) *tagJSON {
	return &tagJSON{Name: t.name, Definition: t.definition, Comment: t.comment, KernelOpts: t.kernelOpts,
		ResourceURI: Prefix + "tags/" + t.name + "/"}
}

var tagNameRE = regexp.MustCompile(`^[\w-]+$`)

func (st *state) tag(name string) *tag { return st.tagIndex[name] }

// kernelOptions is what a deployed machine boots with: the global kernel_opts, then the
// kernel_opts of its tags in name order.
func (st *state) kernelOptions(m *machine) string {
	var parts []string
	if g, _ := st.config["kernel_opts"].(string); g != "" {
		parts = append(parts, g)
	}
	for _, name := range st.machineTags(m) {
		if t := st.tag(name); t != nil && t.kernelOpts != "" {
			parts = append(parts, t.kernelOpts)
		}
	}
	return strings.Join(parts, " ")
}

func listTags(c *req) (any, *apiError) {
	out := []*tagJSON{}
	for _, t := range c.s.st.tags {
		out = append(out, renderTag(t))
	}
	return out, nil
}

func (c *req) tagArg() (*tag, *apiError) {
	if t := c.s.st.tag(c.seg[1]); t != nil {
		return t, nil
	}
	return nil, notFound("Tag")
}

func createTag(c *req) (any, *apiError) {
	name := c.get("name")
	if name == "" {
		return nil, fieldError("name", "This field is required.")
	}
	if !tagNameRE.MatchString(name) {
		return nil, fieldError("name", "Invalid character in tag name.")
	}
	st := c.s.st
	if st.tag(name) != nil {
		return nil, fieldError("name", "Tag with this Name already exists.")
	}
	t := &tag{name: name, definition: c.get("definition"), comment: c.get("comment"), kernelOpts: c.get("kernel_opts"),
		nodes: map[string]bool{}}
	st.tags = append(st.tags, t)
	st.tagIndex[name] = t
	return renderTag(t), nil
}

func getTag(c *req) (any, *apiError) {
	t, e := c.tagArg()
	if e != nil {
		return nil, e
	}
	return renderTag(t), nil
}

func updateTag(c *req) (any, *apiError) {
	t, e := c.tagArg()
	if e != nil {
		return nil, e
	}
	if c.has("name") && c.get("name") != t.name {
		name := c.get("name")
		if !tagNameRE.MatchString(name) {
			return nil, fieldError("name", "Invalid character in tag name.")
		}
		if c.s.st.tag(name) != nil {
			return nil, fieldError("name", "Tag with this Name already exists.")
		}
		delete(c.s.st.tagIndex, t.name)
		t.name = name
		c.s.st.tagIndex[name] = t
	}
	for _, f := range []struct {
		k   string
		dst *string
	}{{"comment", &t.comment}, {"definition", &t.definition}, {"kernel_opts", &t.kernelOpts}} {
		if c.has(f.k) {
			*f.dst = c.get(f.k)
		}
	}
	return renderTag(t), nil
}

func deleteTag(c *req) (any, *apiError) {
	t, e := c.tagArg()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	for i, x := range st.tags {
		if x == t {
			st.tags = append(st.tags[:i], st.tags[i+1:]...)
			break
		}
	}
	delete(st.tagIndex, t.name)
	return noContent{}, nil
}

func (c *req) tagged(types ...int) (any, *apiError) {
	t, e := c.tagArg()
	if e != nil {
		return nil, e
	}
	out := []*machineJSON{}
	for _, m := range c.s.st.nodesOfType(types...) {
		if t.nodes[m.systemID] {
			c.fx = append(c.fx, c.s.st.settle(m)...)
			out = append(out, c.renderMachine(m))
		}
	}
	return out, nil
}

func tagNodes(c *req) (any, *apiError) {
	return c.tagged(nodeMachine, nodeDevice, nodeRack, nodeRegion, nodeRegionRack)
}
func tagMachines(c *req) (any, *apiError) { return c.tagged(nodeMachine) }
func tagRacks(c *req) (any, *apiError)    { return c.tagged(nodeRack, nodeRegionRack) }

func tagNone(c *req) (any, *apiError) {
	if _, e := c.tagArg(); e != nil {
		return nil, e
	}
	return []any{}, nil
}

// tagUpdateNodes adds and removes nodes and counts the nodes found (unknown system ids are
// ignored, as MAAS's filter ignores them); a definition, when given, must equal the tag's.
func tagUpdateNodes(c *req) (any, *apiError) {
	t, e := c.tagArg()
	if e != nil {
		return nil, e
	}
	if c.has("definition") && c.get("definition") != t.definition {
		return nil, conflict("Definition supplied '%s' doesn't match current definition '%s'", c.get("definition"), t.definition)
	}
	st := c.s.st
	added, removed := 0, 0
	for _, sid := range c.list("add") {
		if m := st.bySID[sid]; m != nil {
			t.nodes[sid] = true
			if m.tags == nil {
				m.tags = map[*tag]bool{}
			}
			m.tags[t] = true
			added++
		}
	}
	for _, sid := range c.list("remove") {
		if m := st.bySID[sid]; m != nil {
			delete(t.nodes, sid)
			delete(m.tags, t)
			removed++
		}
	}
	return map[string]int{"added": added, "removed": removed}, nil
}

func tagRebuild(c *req) (any, *apiError) {
	t, e := c.tagArg()
	if e != nil {
		return nil, e
	}
	return map[string]string{"rebuilding": t.name}, nil
}
