package nodefilter

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDecodeValid(t *testing.T) {
	in := `{
	  "filter_set_type": "union",
	  "filter_set": [
	    {"filter_type": "intersection",
	     "node_names": ["a", "b"], "node_tags": ["t"],
	     "node_labels": {"foo": "bar"},
	     "rack_names": ["r1"], "rack_labels": {"zone": "a"}},
	    {"filter_type": "union", "node_names": null, "node_labels": null}
	  ]
	}`
	got, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &FilterSet{FilterSetType: Union, FilterSet: []Filter{
		{
			FilterType: Intersection,
			NodeNames:  []string{"a", "b"},
			NodeTags:   []string{"t"},
			NodeLabels: map[string]string{"foo": "bar"},
			RackNames:  []string{"r1"},
			RackLabels: map[string]string{"zone": "a"},
		},
		{FilterType: Union},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDecodeNullAndEmpty(t *testing.T) {
	fs, err := Decode([]byte(" null "))
	if err != nil || fs != nil {
		t.Errorf("null: got %+v, %v; want nil, nil", fs, err)
	}
	fs, err = Decode([]byte(`{"filter_set_type": "intersection"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSelectNames(t, fs, fullsite()); len(got) != 3 {
		t.Errorf("absent filter_set: got %v, want all nodes", got)
	}
	fs, err = Decode([]byte(`{"filter_set_type": "union", "filter_set": null}`))
	if err != nil || fs.FilterSet != nil {
		t.Errorf("null filter_set: got %+v, %v", fs, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // every line of the error, in order
	}{
		{"unknown top-level field", `{"filter_set_type": "union", "filter_sets": []}`,
			[]string{`filter_sets: unknown field; expected one of filter_set_type, filter_set`}},
		{"unknown filter field", `{"filter_set_type": "union", "filter_set": [{"filter_type": "union"}, {"filter_type": "union", "nodes_names": ["a"]}]}`,
			[]string{`filter_set[1].nodes_names: unknown field; expected one of filter_type, node_names, node_tags, node_labels, rack_names, rack_labels`}},
		{"field names are case-sensitive", `{"Filter_Set_Type": "union"}`,
			[]string{
				`Filter_Set_Type: unknown field; expected one of filter_set_type, filter_set`,
			}},
		{"set type not a string", `{"filter_set_type": 1}`,
			[]string{`filter_set_type: expected a string, got number`}},
		{"filter_set not an array", `{"filter_set_type": "union", "filter_set": {"filter_type": "union"}}`,
			[]string{`filter_set: expected an array, got object`}},
		{"filter not an object", `{"filter_set_type": "union", "filter_set": ["union"]}`,
			[]string{`filter_set[0]: expected an object, got string`}},
		{"null filter", `{"filter_set_type": "union", "filter_set": [null]}`,
			[]string{`filter_set[0]: expected an object, got null`}},
		{"filter type not a string", `{"filter_set_type": "union", "filter_set": [{"filter_type": true}]}`,
			[]string{`filter_set[0].filter_type: expected a string, got boolean`}},
		{"node_names a string", `{"filter_set_type": "union", "filter_set": [{"filter_type": "union", "node_names": "a"}]}`,
			[]string{`filter_set[0].node_names: expected an array, got string`}},
		{"node_tags item a number", `{"filter_set_type": "union", "filter_set": [{"filter_type": "union", "node_tags": ["a", 2]}]}`,
			[]string{`filter_set[0].node_tags[1]: expected a string, got number`}},
		{"node_labels an array", `{"filter_set_type": "union", "filter_set": [{"filter_type": "union", "node_labels": ["a"]}]}`,
			[]string{`filter_set[0].node_labels: expected an object, got array`}},
		{"rack_labels value a number", `{"filter_set_type": "union", "filter_set": [{"filter_type": "union", "rack_labels": {"zone": 1}}]}`,
			[]string{`filter_set[0].rack_labels.zone: expected a string, got number`}},
		{"rack_names item null", `{"filter_set_type": "union", "filter_set": [{"filter_type": "union", "rack_names": [null]}]}`,
			[]string{`filter_set[0].rack_names[0]: expected a string, got null`}},
		{"several problems", `{"filter_set_type": "union", "extra": 1, "filter_set": [{"filter_type": "union", "node_names": 5, "bogus": []}]}`,
			[]string{
				`extra: unknown field; expected one of filter_set_type, filter_set`,
				`filter_set[0].bogus: unknown field; expected one of filter_type, node_names, node_tags, node_labels, rack_names, rack_labels`,
				`filter_set[0].node_names: expected an array, got number`,
			}},
		{"not an object", `["union"]`,
			[]string{`node filter must be a JSON object, got array`}},
		// Well-formed but invalid values are reported by Validate.
		{"bad set type", `{"filter_set_type": "foo", "filter_set": []}`,
			[]string{`filter_set_type: "foo" is not one of "union", "intersection"`}},
		{"missing filter type", `{"filter_set_type": "union", "filter_set": [{"node_names": ["a"]}]}`,
			[]string{`filter_set[0].filter_type: missing; must be one of "union", "intersection"`}},
		{"empty object", `{}`,
			[]string{`filter_set_type: missing; must be one of "union", "intersection"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error; decoded %+v", fs)
			}
			if fs != nil {
				t.Errorf("got a filter %+v along with the error", fs)
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v does not carry a *FieldError", err)
			}
		})
	}
}

func TestDecodeSyntaxErrors(t *testing.T) {
	for _, in := range []string{``, `   `, `{`, `{"filter_set_type": "union"} {}`, `{"filter_set_type": "union",}`} {
		fs, err := Decode([]byte(in))
		if err == nil || fs != nil {
			t.Errorf("Decode(%q): got %+v, %v; want an error", in, fs, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "node filter: invalid JSON: ") {
			t.Errorf("Decode(%q): error %q lacks the invalid JSON prefix", in, err)
		}
	}
}
