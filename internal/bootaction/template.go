package bootaction

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
)

// funcs are the functions templates may call besides text/template's built-ins (and, or, not,
// eq, ne, lt, le, gt, ge, len, index, slice, print, printf, println, html, js, urlquery, call).
// None of them touches files, processes or the network.
//
//	urlencode X     a string: url.QueryEscape (space → "+", "/" → "%2F"); a map: k=v pairs
//	                joined by "&", sorted by key, each escaped (like Jinja's urlencode of a dict)
//	b64enc S        standard base64 of S
//	b64dec S        decodes standard base64 (whitespace ignored); an error if S is not base64
//	join SEP LIST   the elements of a list joined by SEP: {{ .node.tags | join "," }}
//	lower S, upper S, trim S   strings.ToLower, strings.ToUpper, strings.TrimSpace
//	default D X     X, or D when X is empty (nil, "", 0, false, empty list or map):
//	                {{ index .node.labels "role" | default "none" }}
//	toJSON X        X as compact JSON (no HTML escaping)
//	hasKey M K      whether map M has key K: {{ if hasKey .node.network "storage" }}
var funcs = template.FuncMap{
	"urlencode": urlencode,
	"b64enc":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"b64dec": func(s string) (string, error) {
		b, err := base64Decode([]byte(s))
		return string(b), err
	},
	"join":    join,
	"lower":   strings.ToLower,
	"upper":   strings.ToUpper,
	"trim":    strings.TrimSpace,
	"default": dflt,
	"toJSON":  toJSON,
	"hasKey":  hasKey,
}

func urlencode(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String {
		keys := make([]string, 0, rv.Len())
		vals := make(map[string]string, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			k := it.Key().String()
			keys = append(keys, k)
			vals[k] = fmt.Sprint(it.Value().Interface())
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(vals[k])
		}
		return strings.Join(parts, "&")
	}
	if s, ok := v.(string); ok {
		return url.QueryEscape(s)
	}
	return url.QueryEscape(fmt.Sprint(v))
}

func join(sep string, list any) (string, error) {
	switch l := list.(type) {
	case []string:
		return strings.Join(l, sep), nil
	case nil:
		return "", nil
	}
	rv := reflect.ValueOf(list)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return "", fmt.Errorf("join: %T is not a list", list)
	}
	parts := make([]string, rv.Len())
	for i := range parts {
		parts[i] = fmt.Sprint(rv.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}

func dflt(d, v any) any {
	if v == nil {
		return d
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.String:
		if rv.Len() == 0 {
			return d
		}
	default:
		if rv.IsZero() {
			return d
		}
	}
	return v
}

func toJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func hasKey(m any, key string) (bool, error) {
	rv := reflect.ValueOf(m)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return false, fmt.Errorf("hasKey: %T is not a map with string keys", m)
	}
	return rv.MapIndex(reflect.ValueOf(key).Convert(rv.Type().Key())).IsValid(), nil
}

// templater renders template text with one context under one size limit.
type templater struct {
	name string // template name in messages: the asset path
	data map[string]any
	max  int64
}

func (t *templater) render(text string) ([]byte, error) {
	tp, err := template.New(t.name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, withHint(err)
	}
	if err := checkTree(tp); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tp.Execute(&limitedWriter{w: &buf, left: t.max, max: t.max}, t.data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// withHint adds a pointer to the Go syntax when a parse error looks like a Jinja template.
func withHint(err error) error {
	msg := err.Error()
	for _, name := range []string{"node", "action"} {
		if strings.Contains(msg, fmt.Sprintf("function %q not defined", name)) {
			return fmt.Errorf("%w (Go templates write {{ .%s.x }} where Jinja wrote {{ %s.x }}; see docs/bootactions.md)", err, name, name)
		}
	}
	return err
}

// checkTree rejects what the parse tree should not contain:
//
//   - {{ define }}, {{ block }} and {{ template }}: an asset is one template, and sub-templates
//     would allow recursion whose running time no limit bounds;
//   - a Jinja statement tag "{%" in the text outside actions: Go templates would copy it to the
//     output unchanged, so a template translated incompletely from the original would silently
//     deliver a broken file. A literal "{%" is written {{ "{%" }}.
func checkTree(tp *template.Template) error {
	if len(tp.Templates()) > 1 {
		return errors.New("{{ define }} and {{ block }} are not supported in boot action templates")
	}
	if tp.Tree == nil {
		return nil
	}
	var err error
	walk(tp.Tree.Root, func(n parse.Node) bool {
		switch n := n.(type) {
		case *parse.TemplateNode:
			err = fmt.Errorf("{{ template %q }} is not supported in boot action templates", n.Name)
		case *parse.TextNode:
			if i := bytes.Index(n.Text, []byte("{%")); i >= 0 {
				near := n.Text[i:]
				if j := bytes.IndexByte(near, '\n'); j >= 0 {
					near = near[:j]
				}
				if len(near) > 40 {
					near = near[:40]
				}
				err = fmt.Errorf("the text contains the Jinja tag {%% ... %%} (near %q): Go templates write {{ if }}, {{ range }}, {{ end }}; write {{ \"{%%\" }} for a literal {%% (see docs/bootactions.md)", near)
			}
		}
		return err == nil
	})
	return err
}

// walk calls visit on n and the nodes below it (lists and the bodies of if, range and with)
// until visit returns false. It reports whether the walk went to the end.
func walk(n parse.Node, visit func(parse.Node) bool) bool {
	if l, ok := n.(*parse.ListNode); ok && l == nil {
		return true
	}
	if !visit(n) {
		return false
	}
	var b *parse.BranchNode
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			if !walk(c, visit) {
				return false
			}
		}
		return true
	case *parse.IfNode:
		b = &n.BranchNode
	case *parse.RangeNode:
		b = &n.BranchNode
	case *parse.WithNode:
		b = &n.BranchNode
	default:
		return true
	}
	return walk(b.List, visit) && walk(b.ElseList, visit)
}

// limitedWriter fails a write that would take the total past max.
type limitedWriter struct {
	w         *bytes.Buffer
	left, max int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, &limitError{"the rendered template", l.max}
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}
