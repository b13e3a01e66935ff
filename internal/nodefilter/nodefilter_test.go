package nodefilter

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fullsite is the effective node view of testdata/drydock-samples/deckhand_fullsite.yaml:
// the tags come from the k8-node profile, foo=bar from the defaults profile's
// owner_data, and compute02 overrides it with foo=baz. rack1 is the only Rack
// document; its metadata labels are not rack labels, and the original did not
// store rack labels at all, so the universe has none.
func fullsite() Universe {
	return Universe{Nodes: []Node{
		{Name: "controller01", Rack: "rack1", Tags: []string{"test"}, Labels: map[string]string{"foo": "bar"}},
		{Name: "compute01", Rack: "rack2", Tags: []string{"test"}, Labels: map[string]string{"foo": "bar"}},
		{Name: "compute02", Rack: "rack3", Tags: []string{"test"}, Labels: map[string]string{"foo": "baz"}},
	}}
}

func mustSelectNames(t *testing.T, fs *FilterSet, u Universe) []string {
	t.Helper()
	got, err := SelectNames(fs, u)
	if err != nil {
		t.Fatalf("SelectNames: unexpected error: %v", err)
	}
	return got
}

// one wraps a single filter in a filter set.
func one(setType string, f Filter) *FilterSet {
	return &FilterSet{FilterSetType: setType, FilterSet: []Filter{f}}
}

// The facts asserted by the original's test_orch_node_filter.py (design spec
// 6.4). They hold unchanged under our semantics.
func TestOriginalTestFacts(t *testing.T) {
	u := fullsite()
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"node_filter_obj", Filter{FilterType: Intersection, NodeNames: []string{"compute01"}}, []string{"compute01"}},
		{"by_rackname", Filter{FilterType: Intersection, RackNames: []string{"rack2", "rack3"}}, []string{"compute01", "compute02"}},
		{"by_nodetag", Filter{FilterType: Intersection, NodeTags: []string{"test"}}, []string{"controller01", "compute01", "compute02"}},
		{"by_nodelabel", Filter{FilterType: Intersection, NodeLabels: map[string]string{"foo": "baz"}}, []string{"compute02"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustSelectNames(t, one(Intersection, tt.f), u)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// test_node_filter_dict: the same filter written as a JSON document.
	fs, err := Decode([]byte(`{"filter_set_type": "intersection",
		"filter_set": [{"filter_type": "intersection", "node_names": ["compute01"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSelectNames(t, fs, u); !slices.Equal(got, []string{"compute01"}) {
		t.Errorf("dict filter: got %v, want [compute01]", got)
	}

	// test_no_baremetal_nodes: a design without nodes gives an empty result.
	got, err := Select(nil, Universe{})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("no nodes: got %#v, %v; want empty non-nil slice", got, err)
	}
}

// Every row of the observed truth table (design spec 6.3), with the result our
// semantics give. Rows marked DIFFERS are deliberate departures from the
// original; see docs/node-filters.md.
func TestTruthTable(t *testing.T) {
	u := fullsite()
	all := []string{"controller01", "compute01", "compute02"}
	tests := []struct {
		name    string
		fs      *FilterSet
		want    []string
		wantErr string // substring of the expected error; "" means no error
	}{
		{name: "nil filter", fs: nil, want: all},
		// DIFFERS (message only): the original said "Unknown filter set type None".
		{name: "empty object", fs: &FilterSet{}, wantErr: `filter_set_type: missing`},
		// DIFFERS: the original returned None; no criteria means no restriction.
		{name: "intersection/intersection no criteria", fs: one(Intersection, Filter{FilterType: Intersection}), want: all},
		// DIFFERS: the original returned [].
		{name: "union/union no criteria", fs: one(Union, Filter{FilterType: Union}), want: all},
		// DIFFERS: the original crashed with a TypeError.
		{name: "union/intersection no criteria", fs: one(Union, Filter{FilterType: Intersection}), want: all},
		// DIFFERS: the original returned None.
		{name: "union empty filter_set", fs: &FilterSet{FilterSetType: Union, FilterSet: []Filter{}}, want: all},
		// DIFFERS: the original crashed with a TypeError.
		{name: "intersection empty filter_set", fs: &FilterSet{FilterSetType: Intersection}, want: all},
		{name: "labels foo=bar", fs: one(Intersection, Filter{FilterType: Intersection, NodeLabels: map[string]string{"foo": "bar"}}),
			want: []string{"controller01", "compute01"}},
		// DIFFERS: label pairs are ANDed, as the original's documentation says;
		// the original ORed them and returned controller01, compute01.
		{name: "labels foo=bar,x=y", fs: one(Intersection, Filter{FilterType: Intersection, NodeLabels: map[string]string{"foo": "bar", "x": "y"}}),
			want: []string{}},
		// DIFFERS: rack_labels is evaluated; no rack has labels here, so it
		// matches nothing. The original ignored it (None under intersection,
		// [] under union).
		{name: "rack_labels only, intersection", fs: one(Intersection, Filter{FilterType: Intersection, RackLabels: map[string]string{"zone": "a"}}),
			want: []string{}},
		{name: "rack_labels only, union", fs: one(Union, Filter{FilterType: Union, RackLabels: map[string]string{"zone": "a"}}),
			want: []string{}},
		{name: "names ∩ racks", fs: one(Intersection, Filter{FilterType: Intersection,
			NodeNames: []string{"compute01", "compute02"}, RackNames: []string{"rack2"}}),
			want: []string{"compute01"}},
		// DIFFERS (order only): the original gave compute01, controller01 in
		// hash order; we give design order.
		{name: "names ∪ racks", fs: one(Union, Filter{FilterType: Union,
			NodeNames: []string{"compute01"}, RackNames: []string{"rack1"}}),
			want: []string{"controller01", "compute01"}},
		{name: "two filters joined by intersection", fs: &FilterSet{FilterSetType: Intersection, FilterSet: []Filter{
			{FilterType: Union, NodeNames: []string{"compute01", "compute02"}},
			{FilterType: Union, RackNames: []string{"rack3"}},
		}}, want: []string{"compute02"}},
		{name: "two filters joined by union", fs: &FilterSet{FilterSetType: Union, FilterSet: []Filter{
			{FilterType: Union, NodeNames: []string{"compute01"}},
			{FilterType: Union, RackNames: []string{"rack3"}},
		}}, want: []string{"compute01", "compute02"}},
		// Same outcome (an error), different message.
		{name: "filter_set_type foo", fs: one("foo", Filter{FilterType: Union, NodeNames: []string{"compute01"}}),
			wantErr: `filter_set_type: "foo" is not one of "union", "intersection"`},
		// DIFFERS: the original crashed with a TypeError.
		{name: "filter_type foo", fs: one(Union, Filter{FilterType: "foo", NodeNames: []string{"compute01"}}),
			wantErr: `filter_set[0].filter_type: "foo" is not one of "union", "intersection"`},
		{name: "tags test,nope", fs: one(Intersection, Filter{FilterType: Intersection, NodeTags: []string{"test", "nope"}}), want: all},
		{name: "names nope", fs: one(Intersection, Filter{FilterType: Intersection, NodeNames: []string{"nope"}}), want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectNames(tt.fs, u)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRackLabels(t *testing.T) {
	u := Universe{
		Nodes: []Node{
			{Name: "a1", Rack: "rack1"},
			{Name: "b1", Rack: "rack2"},
			{Name: "a2", Rack: "rack1"},
			{Name: "c1", Rack: "rack3"}, // rack3 has no Rack entry at all
			{Name: "d1", Rack: "rack4"}, // rack4 has an entry without labels
			{Name: "e1"},                // no rack
		},
		RackLabels: map[string]map[string]string{
			"rack1": {"zone": "a", "row": "1"},
			"rack2": {"zone": "b"},
			"rack4": nil,
		},
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"zone a", map[string]string{"zone": "a"}, []string{"a1", "a2"}},
		{"zone b", map[string]string{"zone": "b"}, []string{"b1"}},
		{"all pairs must match", map[string]string{"zone": "a", "row": "2"}, []string{}},
		{"two pairs", map[string]string{"zone": "a", "row": "1"}, []string{"a1", "a2"}},
		{"absent key", map[string]string{"power": "x"}, []string{}},
		{"empty value does not match an absent key", map[string]string{"power": ""}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ft := range []string{Union, Intersection} {
				got := mustSelectNames(t, one(Intersection, Filter{FilterType: ft, RackLabels: tt.labels}), u)
				if !slices.Equal(got, tt.want) {
					t.Errorf("filter_type %s: got %v, want %v", ft, got, tt.want)
				}
			}
		})
	}

	// Nil RackLabels in the universe: rack_labels matches nothing.
	u.RackLabels = nil
	got := mustSelectNames(t, one(Union, Filter{FilterType: Union, RackLabels: map[string]string{"zone": "a"}}), u)
	if len(got) != 0 {
		t.Errorf("nil rack labels: got %v, want none", got)
	}
}

func TestNodeLabelsAreANDed(t *testing.T) {
	u := Universe{Nodes: []Node{
		{Name: "yellow-physical", Labels: map[string]string{"color": "yellow", "type": "physical"}},
		{Name: "yellow-virtual", Labels: map[string]string{"color": "yellow", "type": "virtual"}},
		{Name: "blue-physical", Labels: map[string]string{"color": "blue", "type": "physical"}},
		{Name: "unlabelled"},
	}}
	// The example from the original's task.rst.
	labels := map[string]string{"color": "yellow", "type": "physical"}
	for _, ft := range []string{Union, Intersection} {
		got := mustSelectNames(t, one(Union, Filter{FilterType: ft, NodeLabels: labels}), u)
		if want := []string{"yellow-physical"}; !slices.Equal(got, want) {
			t.Errorf("filter_type %s: got %v, want %v", ft, got, want)
		}
	}
}

func TestCriteriaCombination(t *testing.T) {
	u := Universe{Nodes: []Node{
		{Name: "n0", Rack: "r1", Tags: []string{"ctl"}},
		{Name: "n1", Rack: "r1", Tags: []string{"cmp"}},
		{Name: "n2", Rack: "r2", Tags: []string{"ctl", "cmp"}},
		{Name: "n3", Rack: "r2"},
	}}
	f := Filter{RackNames: []string{"r1"}, NodeTags: []string{"ctl"}}

	f.FilterType = Intersection
	if got, want := mustSelectNames(t, one(Union, f), u), []string{"n0"}; !slices.Equal(got, want) {
		t.Errorf("intersection: got %v, want %v", got, want)
	}
	f.FilterType = Union
	if got, want := mustSelectNames(t, one(Union, f), u), []string{"n0", "n1", "n2"}; !slices.Equal(got, want) {
		t.Errorf("union: got %v, want %v", got, want)
	}

	// Empty criteria are not given: they neither restrict nor add.
	f = Filter{FilterType: Intersection, NodeNames: []string{}, NodeTags: []string{"cmp"}, NodeLabels: map[string]string{}}
	if got, want := mustSelectNames(t, one(Union, f), u), []string{"n1", "n2"}; !slices.Equal(got, want) {
		t.Errorf("empty criteria: got %v, want %v", got, want)
	}

	// A filter without criteria inside a union set selects everything,
	// whatever the other filters say.
	fs := &FilterSet{FilterSetType: Union, FilterSet: []Filter{
		{FilterType: Union, NodeNames: []string{"n3"}},
		{FilterType: Intersection},
	}}
	if got := mustSelectNames(t, fs, u); len(got) != 4 {
		t.Errorf("union with unrestricted filter: got %v, want all 4", got)
	}
	// Inside an intersection set it is neutral.
	fs.FilterSetType = Intersection
	if got, want := mustSelectNames(t, fs, u), []string{"n3"}; !slices.Equal(got, want) {
		t.Errorf("intersection with unrestricted filter: got %v, want %v", got, want)
	}
}

func TestDesignOrder(t *testing.T) {
	u := fullsite()
	fs := one(Union, Filter{FilterType: Union,
		NodeNames: []string{"compute02", "controller01", "compute02", "compute01"}})
	idx, err := Select(fs, u)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2}; !slices.Equal(idx, want) {
		t.Errorf("Select: got %v, want %v", idx, want)
	}

	// A node selected by several filters and several criteria appears once.
	fs = &FilterSet{FilterSetType: Union, FilterSet: []Filter{
		{FilterType: Union, NodeNames: []string{"compute02"}, RackNames: []string{"rack3"}, NodeTags: []string{"test"}},
		{FilterType: Union, NodeNames: []string{"compute02", "controller01"}},
	}}
	if got, want := mustSelectNames(t, fs, u), []string{"controller01", "compute01", "compute02"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSelectNamesDeduplicatesNames(t *testing.T) {
	// An invalid design with a repeated node name: indices are distinct,
	// names are listed once.
	u := Universe{Nodes: []Node{{Name: "a"}, {Name: "b"}, {Name: "a"}}}
	idx, err := Select(nil, u)
	if err != nil || !slices.Equal(idx, []int{0, 1, 2}) {
		t.Errorf("Select: got %v, %v", idx, err)
	}
	if got := mustSelectNames(t, nil, u); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("SelectNames: got %v, want [a b]", got)
	}
}

func TestEmptyStringNeverMatchesNameOrRack(t *testing.T) {
	u := Universe{Nodes: []Node{{Name: "a", Rack: ""}, {Name: "", Rack: "r"}}}
	fs := one(Union, Filter{FilterType: Union, NodeNames: []string{""}, RackNames: []string{""}})
	idx, err := Select(fs, u)
	if err != nil || len(idx) != 0 {
		t.Errorf("got %v, %v; want nothing", idx, err)
	}
}

func TestValidate(t *testing.T) {
	var nilSet *FilterSet
	if err := nilSet.Validate(); err != nil {
		t.Errorf("nil FilterSet: %v", err)
	}
	valid := &FilterSet{FilterSetType: Union, FilterSet: []Filter{{FilterType: Intersection}, {FilterType: Union}}}
	if err := valid.Validate(); err != nil {
		t.Errorf("valid set: %v", err)
	}

	tests := []struct {
		name string
		fs   *FilterSet
		want []string // every line of the error, in order
	}{
		{"missing set type", &FilterSet{},
			[]string{`filter_set_type: missing; must be one of "union", "intersection"`}},
		{"bad set type", &FilterSet{FilterSetType: "Union"},
			[]string{`filter_set_type: "Union" is not one of "union", "intersection"`}},
		{"bad filter type", &FilterSet{FilterSetType: Union, FilterSet: []Filter{{FilterType: Union}, {FilterType: "foo"}}},
			[]string{`filter_set[1].filter_type: "foo" is not one of "union", "intersection"`}},
		{"missing filter type", &FilterSet{FilterSetType: Intersection, FilterSet: []Filter{{NodeNames: []string{"x"}}}},
			[]string{`filter_set[0].filter_type: missing; must be one of "union", "intersection"`}},
		{"all problems reported", &FilterSet{FilterSetType: "both", FilterSet: []Filter{{FilterType: "x"}, {FilterType: Union}, {}}},
			[]string{
				`filter_set_type: "both" is not one of "union", "intersection"`,
				`filter_set[0].filter_type: "x" is not one of "union", "intersection"`,
				`filter_set[2].filter_type: missing; must be one of "union", "intersection"`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fs.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Errorf("error %v does not carry a *FieldError with a field", err)
			}
			// Select reports the same error and selects nothing.
			idx, selErr := Select(tt.fs, fullsite())
			if selErr == nil || selErr.Error() != err.Error() || idx != nil {
				t.Errorf("Select: got %v, %v; want nil and %v", idx, selErr, err)
			}
			if names, nameErr := SelectNames(tt.fs, fullsite()); nameErr == nil || names != nil {
				t.Errorf("SelectNames: got %v, %v; want an error", names, nameErr)
			}
		})
	}
}

func TestFromNames(t *testing.T) {
	u := fullsite()
	names := []string{"compute02", "controller01"}
	fs := FromNames(names)

	want := &FilterSet{FilterSetType: Intersection, FilterSet: []Filter{{FilterType: Union, NodeNames: []string{"compute02", "controller01"}}}}
	if !reflect.DeepEqual(fs, want) {
		t.Fatalf("FromNames: got %+v, want %+v", fs, want)
	}
	names[0] = "changed"
	if fs.FilterSet[0].NodeNames[0] != "compute02" {
		t.Error("FromNames does not copy its argument")
	}

	data, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"filter_set_type":"intersection","filter_set":[{"filter_type":"union","node_names":["compute02","controller01"]}]}`
	if string(data) != wantJSON {
		t.Errorf("JSON: got %s, want %s", data, wantJSON)
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, fs) {
		t.Errorf("round trip: got %+v, want %+v", back, fs)
	}
	if got, want := mustSelectNames(t, back, u), []string{"controller01", "compute02"}; !slices.Equal(got, want) {
		t.Errorf("select: got %v, want %v", got, want)
	}

	// Selecting, rebuilding from the names, and selecting again is stable.
	again := mustSelectNames(t, FromNames(mustSelectNames(t, back, u)), u)
	if !slices.Equal(again, []string{"controller01", "compute02"}) {
		t.Errorf("second pass: got %v", again)
	}
}

func TestFromNamesEmptySelectsNothing(t *testing.T) {
	u := fullsite()
	for _, names := range [][]string{nil, {}} {
		fs := FromNames(names)
		if got := mustSelectNames(t, fs, u); len(got) != 0 {
			t.Errorf("FromNames(%#v) selected %v, want nothing", names, got)
		}
		data, err := json.Marshal(fs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustSelectNames(t, back, u); len(got) != 0 {
			t.Errorf("after round trip %s: selected %v, want nothing", data, got)
		}
	}
}

// The worked example of docs/node-filters.md.
func TestWorkedExample(t *testing.T) {
	u := fullsite()
	u.Nodes[2].Tags = []string{"test", "gpu"}
	u.RackLabels = map[string]map[string]string{"rack3": {"zone": "b"}}
	first := Filter{FilterType: Intersection, NodeLabels: map[string]string{"foo": "bar"}, RackNames: []string{"rack2", "rack3"}}
	second := Filter{FilterType: Union, NodeNames: []string{"compute02", "nope"}, RackLabels: map[string]string{"zone": "a"}}
	unrestricted := Filter{FilterType: Intersection}

	tests := []struct {
		name string
		fs   *FilterSet
		want []string
	}{
		{"first filter", one(Union, first), []string{"compute01"}},
		{"second filter", one(Union, second), []string{"compute02"}},
		{"union", &FilterSet{FilterSetType: Union, FilterSet: []Filter{first, second}}, []string{"compute01", "compute02"}},
		{"intersection", &FilterSet{FilterSetType: Intersection, FilterSet: []Filter{first, second}}, []string{}},
		{"union, first without criteria", &FilterSet{FilterSetType: Union, FilterSet: []Filter{unrestricted, second}},
			[]string{"controller01", "compute01", "compute02"}},
		{"intersection, first without criteria", &FilterSet{FilterSetType: Intersection, FilterSet: []Filter{unrestricted, second}},
			[]string{"compute02"}},
	}
	for _, tt := range tests {
		if got := mustSelectNames(t, tt.fs, u); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
