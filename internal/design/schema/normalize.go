package schema

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// normalize returns data in the shape the JSON Schema validator accepts:
// map[string]any, []any, string, bool, nil and Go numbers. Input that is
// already in that shape is returned as is (nothing is copied); anything else
// is converted on a copy, so the caller's value is never modified.
//
// Values JSON cannot express are reported as violations:
//   - mapping keys that are not strings (YAML decodes an unquoted 0xffff or
//     true key as an integer or a boolean); the key is stringified so the rest
//     of the mapping is still checked;
//   - NaN and infinite floats (YAML .nan and .inf); they are checked as null;
//   - Go values of other types (structs, channels, ...); checked as null.
//
// YAML timestamps decoded as time.Time are turned into their text form, as a
// date ("2017-02-17") when they carry no time of day.
func normalize(v any, path []string, vs *[]Violation) any {
	if plain(v) {
		return v // the common case: nothing to convert, so no paths to build
	}
	out, _ := normalizeValue(v, path, vs)
	return out
}

// plain reports whether v is already in the validator's shape and holds no value that needs
// reporting, without allocating.
func plain(v any) bool {
	switch x := v.(type) {
	case nil, string, bool, json.Number,
		int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case map[string]any:
		for _, child := range x {
			if !plain(child) {
				return false
			}
		}
		return true
	case []any:
		for _, child := range x {
			if !plain(child) {
				return false
			}
		}
		return true
	}
	return false
}

// normalizeValue returns the normalized value and whether it differs from v.
func normalizeValue(v any, path []string, vs *[]Violation) (any, bool) {
	switch x := v.(type) {
	case nil, string, bool, json.Number,
		int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64:
		return v, false
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			addViolation(vs, path, fmt.Sprintf("%v is not a valid value; expected a finite number", x))
			return nil, true
		}
		return v, false
	case float32:
		return normalizeValue(float64(x), path, vs)
	case map[string]any:
		var out map[string]any
		for k, child := range x {
			nv, changed := normalizeValue(child, append(path, k), vs)
			if changed {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = nv
			}
		}
		if out != nil {
			return out, true
		}
		return x, false
	case []any:
		var out []any
		for i, child := range x {
			nv, changed := normalizeValue(child, append(path, strconv.Itoa(i)), vs)
			if changed {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = nv
			}
		}
		if out != nil {
			return out, true
		}
		return x, false
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, child := range x {
			key := keyString(k, path, vs)
			nv, _ := normalizeValue(child, append(path, key), vs)
			out[key] = nv
		}
		return out, true
	case time.Time:
		return timeString(x), true
	case []byte:
		return string(x), true
	}
	return normalizeReflect(v, path, vs), true
}

// normalizeReflect converts the less common Go shapes (typed maps and
// slices, named scalar types, pointers) built by Go callers rather than by a
// YAML or JSON decoder.
func normalizeReflect(v any, path []string, vs *[]Violation) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface(), path, vs)
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			key := keyString(iter.Key().Interface(), path, vs)
			out[key] = normalize(iter.Value().Interface(), append(path, key), vs)
		}
		return out
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return []any{}
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface(), append(path, strconv.Itoa(i)), vs)
		}
		return out
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		return normalize(rv.Float(), path, vs)
	}
	addViolation(vs, path, fmt.Sprintf("a value of Go type %T cannot appear in a document", v))
	return nil
}

// keyString returns the mapping key k as a string, reporting keys that are
// not strings.
func keyString(k any, path []string, vs *[]Violation) string {
	if s, ok := k.(string); ok {
		return s
	}
	if k != nil && reflect.TypeOf(k).Kind() == reflect.String {
		return reflect.ValueOf(k).String()
	}
	key := "null"
	if k != nil {
		key = fmt.Sprint(k)
	}
	addViolation(vs, path, fmt.Sprintf("mapping key %s is not a string; keys must be strings (quote the key in YAML)", key))
	return key
}

// timeString renders a decoded YAML timestamp back as text.
func timeString(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 && t.Location() == time.UTC {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

func addViolation(vs *[]Violation, path []string, msg string) {
	p := slices.Clone(path)
	if p == nil {
		p = []string{}
	}
	*vs = append(*vs, Violation{Path: p, Message: msg})
}
