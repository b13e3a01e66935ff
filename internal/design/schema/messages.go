package schema

import (
	"cmp"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// messagePrinter renders the library's own wording for the rare error kinds
// the schemas do not normally produce.
var messagePrinter = message.NewPrinter(language.English)

// patternHints describes the patterns used in the schemas in words, so a
// violation can say what was expected instead of quoting a regular
// expression.
var patternHints = map[string]string{
	"^/.+":         `an absolute path starting with "/"`,
	"^[0-7]{3,4}$": `an octal file mode of 3 or 4 digits, quoted, such as "0644" or "555"`,
	"^(apt|rpm)$":  `a repository type: apt or rpm`,
}

// typeOrder is the order type names are listed in "expected ..." messages.
var typeOrder = []string{"object", "array", "string", "integer", "number", "boolean", "null"}

// schemaInfo is what the message builder knows about one schema document,
// keyed by the JSON pointer of a schema object as the validator reports it.
type schemaInfo struct {
	// closed lists, for every schema object with "additionalProperties":
	// false, the sorted names of the properties it allows.
	closed map[string][]string
	// hints holds the descriptions of schema objects inside a "then" or
	// "else" branch. Such a schema applies only in some cases, and its
	// description says which, so it is added to the violation message.
	hints map[string]string
}

// inspectSchema walks a schema document and fills in info.
func inspectSchema(node any, ptr string, conditional bool, info *schemaInfo) {
	switch n := node.(type) {
	case map[string]any:
		if ap, ok := n["additionalProperties"].(bool); ok && !ap {
			var names []string
			if props, ok := n["properties"].(map[string]any); ok {
				for name := range props {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			info.closed[ptr] = names
		}
		if d, ok := n["description"].(string); ok && conditional {
			info.hints[ptr] = d
		}
		for k, v := range n {
			inspectSchema(v, ptr+"/"+escapePointer(k), conditional || k == "then" || k == "else", info)
		}
	case []any:
		for i, v := range n {
			inspectSchema(v, ptr+"/"+strconv.Itoa(i), conditional, info)
		}
	}
}

func escapePointer(tok string) string {
	tok = strings.ReplaceAll(tok, "~", "~0")
	return strings.ReplaceAll(tok, "/", "~1")
}

// pointer returns the JSON-pointer fragment of an absolute schema location.
func pointer(location string) string {
	_, frag, _ := strings.Cut(location, "#")
	if dec, err := url.PathUnescape(frag); err == nil {
		return dec
	}
	return frag
}

// typeFailure remembers a type violation already collected, so a second one
// at the same place can be merged with it.
type typeFailure struct {
	index int      // position in the violation list
	want  []string // the types the schema asked for
}

// flattener collects the leaf causes of a validation error tree.
type flattener struct {
	c     *compiled
	inst  any
	vs    []Violation
	types map[string]typeFailure // keyed by instance path
}

// flatten appends the leaf causes of a validation error tree to vs.
func flatten(e *jsonschema.ValidationError, c *compiled, inst any, vs []Violation) []Violation {
	f := &flattener{c: c, inst: inst, vs: vs}
	f.walk(e)
	return f.vs
}

func (f *flattener) walk(e *jsonschema.ValidationError) {
	if len(e.Causes) > 0 {
		for _, cause := range e.Causes {
			f.walk(cause)
		}
		return
	}
	vs := leafViolations(e, f.c, f.inst)
	if k, ok := e.ErrorKind.(*kind.Type); ok && len(vs) == 1 {
		// Two schemas may constrain the type of the same value (a general
		// one and a conditional one). When one asks for a subset of the
		// other's types, only the narrower requirement is worth reporting.
		key := strings.Join(e.InstanceLocation, "\x00")
		if prev, seen := f.types[key]; seen {
			switch {
			case subset(k.Want, prev.want):
				f.vs[prev.index] = vs[0]
				f.types[key] = typeFailure{prev.index, k.Want}
				return
			case subset(prev.want, k.Want):
				return
			}
		}
		if f.types == nil {
			f.types = map[string]typeFailure{}
		}
		f.types[key] = typeFailure{len(f.vs), k.Want}
	}
	f.vs = append(f.vs, vs...)
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// leafViolations turns one leaf error of the library into violations with
// messages of our own wording. Errors naming several properties become one
// violation per property.
func leafViolations(e *jsonschema.ValidationError, c *compiled, inst any) []Violation {
	path := slices.Clone(e.InstanceLocation)
	if path == nil {
		path = []string{}
	}
	one := func(msg string) []Violation { return []Violation{{Path: path, Message: msg}} }

	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		allowed := c.info.closed[pointer(e.SchemaURL)]
		out := make([]Violation, 0, len(k.Properties))
		for _, p := range k.Properties {
			msg := fmt.Sprintf("additional property %s is not allowed", strconv.Quote(p))
			if len(allowed) > 0 {
				msg += "; allowed properties are: " + strings.Join(allowed, ", ")
			} else {
				msg += "; this object takes no properties"
			}
			out = append(out, Violation{Path: path, Message: msg})
		}
		return out
	case *kind.Required:
		out := make([]Violation, 0, len(k.Missing))
		for _, p := range k.Missing {
			out = append(out, Violation{Path: path, Message: fmt.Sprintf("missing required property %s", strconv.Quote(p))})
		}
		return out
	case *kind.Type:
		msg := fmt.Sprintf("expected %s, got %s", joinTypes(k.Want), k.Got)
		if v, ok := valueAt(inst, e.InstanceLocation); ok && v != nil {
			if d := describeScalar(v); d != "" {
				msg += " " + d
			}
		}
		if hint, ok := c.info.hints[pointer(e.SchemaURL)]; ok {
			msg += " (" + hint + ")"
		}
		return one(msg)
	case *kind.Enum:
		want := make([]string, 0, len(k.Want))
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		return one(fmt.Sprintf("%s is not a valid value; expected one of: %s", describeValue(k.Got), strings.Join(want, ", ")))
	case *kind.Const:
		return one(fmt.Sprintf("%s is not a valid value; expected %v", describeValue(k.Got), k.Want))
	case *kind.Pattern:
		if hint, ok := patternHints[k.Want]; ok {
			return one(fmt.Sprintf("%s is not valid; expected %s", describeValue(k.Got), hint))
		}
		return one(fmt.Sprintf("%s does not match the pattern %s", describeValue(k.Got), k.Want))
	case *kind.Minimum:
		return one(fmt.Sprintf("%s is too small; expected a value of at least %s", ratString(k.Got), ratString(k.Want)))
	case *kind.Maximum:
		return one(fmt.Sprintf("%s is too large; expected a value of at most %s", ratString(k.Got), ratString(k.Want)))
	case *kind.MinItems:
		return one(fmt.Sprintf("expected at least %d item(s), got %d", k.Want, k.Got))
	case *kind.MinLength:
		return one(fmt.Sprintf("expected at least %d character(s), got %d", k.Want, k.Got))
	case *kind.FalseSchema:
		return one("this value is not allowed here")
	default:
		return one(e.ErrorKind.LocalizedString(messagePrinter))
	}
}

// joinTypes renders a list of JSON type names as "a", "a or b" or "a, b or c".
func joinTypes(types []string) string {
	sorted := slices.Clone(types)
	slices.SortStableFunc(sorted, func(a, b string) int {
		return cmp.Compare(typeRank(a), typeRank(b))
	})
	switch len(sorted) {
	case 0:
		return "nothing"
	case 1:
		return sorted[0]
	default:
		return strings.Join(sorted[:len(sorted)-1], ", ") + " or " + sorted[len(sorted)-1]
	}
}

func typeRank(t string) int {
	if i := slices.Index(typeOrder, t); i >= 0 {
		return i
	}
	return len(typeOrder)
}

// maxShown is the longest string value quoted in a message.
const maxShown = 60

// describeValue renders a value for a message: strings quoted (and cut when
// long), scalars as written, containers by their type.
func describeValue(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	return describeScalar(v)
}

// describeScalar renders a scalar value; it returns "" for containers.
func describeScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if r := []rune(x); len(r) > maxShown {
			return strconv.Quote(string(r[:maxShown])) + "..."
		}
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case map[string]any, []any:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// valueAt returns the value at path inside inst.
func valueAt(inst any, path []string) (any, bool) {
	cur := inst
	for _, tok := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// sortViolations orders violations by path (numeric segments compared as
// numbers) and then message, and drops exact duplicates.
func sortViolations(vs []Violation) []Violation {
	slices.SortFunc(vs, compareViolations)
	return slices.CompactFunc(vs, func(a, b Violation) bool {
		return compareViolations(a, b) == 0
	})
}

func compareViolations(a, b Violation) int {
	if c := comparePaths(a.Path, b.Path); c != 0 {
		return c
	}
	return strings.Compare(a.Message, b.Message)
}

func comparePaths(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		ai, aerr := strconv.Atoi(a[i])
		bi, berr := strconv.Atoi(b[i])
		if aerr == nil && berr == nil {
			if c := cmp.Compare(ai, bi); c != 0 {
				return c
			}
		}
		return strings.Compare(a[i], b[i])
	}
	return cmp.Compare(len(a), len(b))
}
