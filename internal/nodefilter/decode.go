package nodefilter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Field names, as written in JSON and YAML.
var (
	setFields    = []string{"filter_set_type", "filter_set"}
	filterFields = []string{"filter_type", "node_names", "node_tags", "node_labels", "rack_names", "rack_labels"}
)

// Decode strictly decodes a JSON node filter (unknown fields are errors, with a message naming the field).
//
// Strict means: field names must match exactly (encoding/json would accept
// any letter case), unknown fields are errors, every value must have its
// documented JSON type, and nothing may follow the object. A JSON null for a
// field counts as the field being absent; a JSON null for the whole input
// decodes to a nil *FilterSet, which selects every node.
//
// The decoded filter is then checked with Validate, so a nil error means the
// filter can be passed to Select. Problems with fields are reported as
// *FieldError values whose Field is the path of the offending field, such as
// "filter_set[0].node_names[2]"; several problems are joined with
// errors.Join.
func Decode(data []byte) (*FilterSet, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("node filter: invalid JSON: %w", err)
	}
	if kindOf(raw) == "null" {
		return nil, nil
	}
	d := &decoder{}
	fs := d.filterSet(raw)
	if err := errors.Join(d.errs...); err != nil {
		return nil, err
	}
	if err := fs.Validate(); err != nil {
		return nil, err
	}
	return fs, nil
}

// decoder collects every problem found while walking the input, so that a
// caller sees all of them at once.
type decoder struct {
	errs []error
}

func (d *decoder) fail(field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (d *decoder) filterSet(raw json.RawMessage) *FilterSet {
	obj, ok := d.object("", raw)
	if !ok {
		return nil
	}
	fs := &FilterSet{}
	for _, key := range sortedKeys(obj) {
		val := obj[key]
		switch key {
		case "filter_set_type":
			fs.FilterSetType = d.str(key, val)
		case "filter_set":
			items, ok := d.array(key, val)
			if !ok {
				continue
			}
			fs.FilterSet = make([]Filter, 0, len(items))
			for i, item := range items {
				fs.FilterSet = append(fs.FilterSet, d.filter(fmt.Sprintf("filter_set[%d]", i), item))
			}
		default:
			d.unknown("", key, setFields)
		}
	}
	return fs
}

func (d *decoder) filter(path string, raw json.RawMessage) Filter {
	var f Filter
	obj, ok := d.object(path, raw)
	if !ok {
		return f
	}
	for _, key := range sortedKeys(obj) {
		val := obj[key]
		field := path + "." + key
		switch key {
		case "filter_type":
			f.FilterType = d.str(field, val)
		case "node_names":
			f.NodeNames = d.strList(field, val)
		case "node_tags":
			f.NodeTags = d.strList(field, val)
		case "rack_names":
			f.RackNames = d.strList(field, val)
		case "node_labels":
			f.NodeLabels = d.strMap(field, val)
		case "rack_labels":
			f.RackLabels = d.strMap(field, val)
		default:
			d.unknown(path, key, filterFields)
		}
	}
	return f
}

func (d *decoder) unknown(path, key string, known []string) {
	field := key
	if path != "" {
		field = path + "." + key
	}
	d.fail(field, "unknown field; expected one of %s", strings.Join(known, ", "))
}

// object decodes a JSON object. The whole input (path "") must be an object;
// a null filter_set entry is an error, not an absent filter.
func (d *decoder) object(path string, raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if k := kindOf(raw); k != "object" {
		if path == "" {
			d.fail("", "node filter must be a JSON object, got %s", k)
		} else {
			d.fail(path, "expected an object, got %s", k)
		}
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		d.fail(path, "%v", err)
		return nil, false
	}
	return obj, true
}

// array decodes a JSON array; null is an absent value.
func (d *decoder) array(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
	switch k := kindOf(raw); k {
	case "null":
		return nil, false
	case "array":
	default:
		d.fail(path, "expected an array, got %s", k)
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		d.fail(path, "%v", err)
		return nil, false
	}
	return items, true
}

// str decodes a JSON string; null is an absent value.
func (d *decoder) str(path string, raw json.RawMessage) string {
	switch k := kindOf(raw); k {
	case "null":
		return ""
	case "string":
	default:
		d.fail(path, "expected a string, got %s", k)
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.fail(path, "%v", err)
	}
	return s
}

func (d *decoder) strList(path string, raw json.RawMessage) []string {
	items, ok := d.array(path, raw)
	if !ok {
		return nil
	}
	list := make([]string, 0, len(items))
	for i, item := range items {
		field := fmt.Sprintf("%s[%d]", path, i)
		if k := kindOf(item); k != "string" {
			d.fail(field, "expected a string, got %s", k)
			continue
		}
		list = append(list, d.str(field, item))
	}
	return list
}

func (d *decoder) strMap(path string, raw json.RawMessage) map[string]string {
	if kindOf(raw) == "null" {
		return nil
	}
	obj, ok := d.object(path, raw)
	if !ok {
		return nil
	}
	m := make(map[string]string, len(obj))
	for _, key := range sortedKeys(obj) {
		field := path + "." + key
		if k := kindOf(obj[key]); k != "string" {
			d.fail(field, "expected a string, got %s", k)
			continue
		}
		m[key] = d.str(field, obj[key])
	}
	return m
}

// kindOf names the JSON type of a value that is already known to be valid
// JSON.
func kindOf(raw json.RawMessage) string {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// sortedKeys gives a deterministic walk, so errors come out in a stable
// order.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
