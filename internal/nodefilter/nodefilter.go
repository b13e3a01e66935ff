// Package nodefilter evaluates node filters against a site design.
//
// A node filter selects a subset of the bare-metal nodes of a site design.
// Tasks carry one in their JSON body and BootAction documents carry one in
// YAML; both use the same shape, modelled by [FilterSet] and [Filter]:
//
//	{ filter_set_type: union | intersection,
//	  filter_set: [ { filter_type: union | intersection,
//	                  node_names: [..], node_tags: [..], node_labels: {k: v},
//	                  rack_names: [..], rack_labels: {k: v} }, ... ] }
//
// Semantics in brief:
//
//   - The universe is the design's nodes in design order. Results are always
//     in design order and never contain a node twice.
//   - Within one filter every non-empty criterion selects a set of nodes:
//     node_names by name, node_tags by carrying any listed tag, rack_names by
//     rack, node_labels by carrying all listed label pairs, rack_labels by
//     sitting in a rack whose labels contain all listed pairs.
//   - filter_type combines a filter's criteria: intersection keeps the nodes
//     selected by every criterion, union the nodes selected by any.
//   - filter_set_type combines the filters' results the same way.
//   - A filter without criteria, an empty filter_set and a nil *FilterSet
//     place no restriction: they select every node.
//   - Unknown or missing filter_set_type / filter_type values are errors,
//     reported by [FilterSet.Validate] with the field's path.
//
// The full description, with a worked example and the deliberate differences
// from the original Drydock, is in docs/node-filters.md.
package nodefilter

import (
	"errors"
	"fmt"
)

// FilterSet is a node filter: a list of filters joined by FilterSetType.
type FilterSet struct {
	FilterSetType string   `json:"filter_set_type" yaml:"filter_set_type"`
	FilterSet     []Filter `json:"filter_set" yaml:"filter_set"`
}

// Filter is one entry of a FilterSet. Its non-empty criteria are joined by
// FilterType.
type Filter struct {
	FilterType string            `json:"filter_type" yaml:"filter_type"`
	NodeNames  []string          `json:"node_names,omitempty" yaml:"node_names,omitempty"`
	NodeTags   []string          `json:"node_tags,omitempty" yaml:"node_tags,omitempty"`
	NodeLabels map[string]string `json:"node_labels,omitempty" yaml:"node_labels,omitempty"`
	RackNames  []string          `json:"rack_names,omitempty" yaml:"rack_names,omitempty"`
	RackLabels map[string]string `json:"rack_labels,omitempty" yaml:"rack_labels,omitempty"`
}

// The two values accepted for filter_set_type and filter_type.
const (
	Union        = "union"
	Intersection = "intersection"
)

// Node is the view of one node that filtering needs.
type Node struct {
	Name   string
	Tags   []string
	Labels map[string]string // the node's owner_data after inheritance
	Rack   string
}

// Universe is what a filter is evaluated against.
type Universe struct {
	Nodes      []Node                       // design order
	RackLabels map[string]map[string]string // rack name -> labels (from Rack documents); may be nil
}

// FieldError reports a problem with one field of a node filter. Field is the
// path of the field, such as "filter_set[1].filter_type"; it is empty when
// the problem concerns the filter as a whole.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// Validate checks that filter_set_type and every filter_type are "union" or
// "intersection". All problems are reported, joined with errors.Join; each is
// a *FieldError. A nil receiver is valid and means "all nodes".
func (fs *FilterSet) Validate() error {
	if fs == nil {
		return nil
	}
	var errs []error
	if err := checkType("filter_set_type", fs.FilterSetType); err != nil {
		errs = append(errs, err)
	}
	for i := range fs.FilterSet {
		field := fmt.Sprintf("filter_set[%d].filter_type", i)
		if err := checkType(field, fs.FilterSet[i].FilterType); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkType(field, value string) error {
	switch value {
	case Union, Intersection:
		return nil
	case "":
		return &FieldError{Field: field, Problem: `missing; must be one of "union", "intersection"`}
	default:
		return &FieldError{Field: field, Problem: fmt.Sprintf("%q is not one of %q, %q", value, Union, Intersection)}
	}
}

// Select validates fs and returns the indices into u.Nodes of the selected
// nodes, in ascending (design) order and without duplicates. A nil fs selects
// every node. The returned slice is never nil when the error is nil.
//
// The cost is linear in the number of nodes times the size of the criteria a
// node is checked against (its tags, the filter's label pairs), plus the size
// of the filter itself: criteria lists are turned into sets once per call.
func Select(fs *FilterSet, u Universe) ([]int, error) {
	if err := fs.Validate(); err != nil {
		return nil, err
	}
	n := len(u.Nodes)
	if fs == nil || len(fs.FilterSet) == 0 {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}

	// keep[i] is the running combination of the filters seen so far.
	// Under union a node, once in, stays in; under intersection, once out,
	// stays out. Those nodes need not be tested against later filters.
	union := fs.FilterSetType == Union
	keep := make([]bool, n)
	if !union {
		for i := range keep {
			keep[i] = true
		}
	}
	for fi := range fs.FilterSet {
		m := compile(&fs.FilterSet[fi], u.RackLabels)
		for i := range u.Nodes {
			if keep[i] == union {
				continue
			}
			keep[i] = m.match(&u.Nodes[i])
		}
	}

	out := make([]int, 0, countTrue(keep))
	for i, k := range keep {
		if k {
			out = append(out, i)
		}
	}
	return out, nil
}

// SelectNames is Select returning node names instead of indices, in design
// order. Should the universe hold two nodes with the same name (an invalid
// design), the name is listed once.
func SelectNames(fs *FilterSet, u Universe) ([]string, error) {
	idx, err := Select(fs, u)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(idx))
	seen := make(map[string]struct{}, len(idx))
	for _, i := range idx {
		name := u.Nodes[i].Name
		if _, dup := seen[name]; dup {
			continue
		}
		seen[name] = struct{}{}
		names = append(names, name)
	}
	return names, nil
}

// FromNames builds the filter the orchestrator uses to target an explicit node list:
// {filter_set_type: intersection, filter_set: [{filter_type: union, node_names: names}]}
//
// names is copied. An empty names list must select no node, but an empty
// node_names criterion places no restriction; so for an empty list FromNames
// returns node_names: [""], which no node matches (the empty string never
// matches a node name). The result survives a JSON round trip either way.
func FromNames(names []string) *FilterSet {
	list := append([]string(nil), names...)
	if len(list) == 0 {
		list = []string{""}
	}
	return &FilterSet{
		FilterSetType: Intersection,
		FilterSet: []Filter{{
			FilterType: Union,
			NodeNames:  list,
		}},
	}
}

// matcher is one Filter prepared for evaluation: list criteria become sets,
// and rack_labels becomes the set of racks whose labels satisfy it.
type matcher struct {
	intersection bool
	criteria     int                 // number of criteria given
	names        map[string]struct{} // nil: node_names not given
	tags         map[string]struct{} // nil: node_tags not given
	racks        map[string]struct{} // nil: rack_names not given
	labels       map[string]string   // nil or empty: node_labels not given
	labelRacks   map[string]struct{} // nil: rack_labels not given
}

func compile(f *Filter, rackLabels map[string]map[string]string) *matcher {
	m := &matcher{intersection: f.FilterType == Intersection}
	if len(f.NodeNames) > 0 {
		m.names = toSet(f.NodeNames)
		m.criteria++
	}
	if len(f.NodeTags) > 0 {
		m.tags = toSet(f.NodeTags)
		m.criteria++
	}
	if len(f.RackNames) > 0 {
		m.racks = toSet(f.RackNames)
		m.criteria++
	}
	if len(f.NodeLabels) > 0 {
		m.labels = f.NodeLabels
		m.criteria++
	}
	if len(f.RackLabels) > 0 {
		m.labelRacks = make(map[string]struct{})
		for rack, labels := range rackLabels {
			if containsAll(labels, f.RackLabels) {
				m.labelRacks[rack] = struct{}{}
			}
		}
		m.criteria++
	}
	return m
}

// match reports whether the filter selects nd. Each given criterion is
// tested in turn; intersection stops at the first miss, union at the first
// hit. A filter without criteria selects every node.
func (m *matcher) match(nd *Node) bool {
	if m.criteria == 0 {
		return true
	}
	if m.names != nil && m.decided(inSet(m.names, nd.Name)) {
		return !m.intersection
	}
	if m.tags != nil && m.decided(anyInSet(m.tags, nd.Tags)) {
		return !m.intersection
	}
	if m.racks != nil && m.decided(inSet(m.racks, nd.Rack)) {
		return !m.intersection
	}
	if m.labels != nil && m.decided(containsAll(nd.Labels, m.labels)) {
		return !m.intersection
	}
	if m.labelRacks != nil && m.decided(inSet(m.labelRacks, nd.Rack)) {
		return !m.intersection
	}
	// Every criterion hit (intersection) or every criterion missed (union).
	return m.intersection
}

// decided reports whether one criterion's outcome settles the filter: a miss
// under intersection, a hit under union.
func (m *matcher) decided(hit bool) bool {
	return hit != m.intersection
}

func toSet(list []string) map[string]struct{} {
	s := make(map[string]struct{}, len(list))
	for _, v := range list {
		s[v] = struct{}{}
	}
	return s
}

// inSet is set membership for names and racks. The empty string never
// matches: a node always has a name, and a node with an empty rack is in no
// rack.
func inSet(s map[string]struct{}, v string) bool {
	if v == "" {
		return false
	}
	_, ok := s[v]
	return ok
}

func anyInSet(s map[string]struct{}, vs []string) bool {
	for _, v := range vs {
		if _, ok := s[v]; ok {
			return true
		}
	}
	return false
}

// containsAll reports whether have holds every key of want with the same
// value.
func containsAll(have, want map[string]string) bool {
	for k, v := range want {
		got, ok := have[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
