// Package yaml11 reads multi-document YAML streams the way the original Drydock did (PyYAML's
// safe_load_all, which follows YAML 1.1), on top of the go.yaml.in/yaml/v4 parser.
//
// Why not just the library's decoder: Go YAML libraries follow YAML 1.2, while site designs written
// for the original rely on YAML 1.1 meanings — unquoted yes/no/on/off are booleans, 0755 is octal,
// 0xff is hex, 1:20 is sexagesimal — and on duplicate mapping keys being accepted with the last
// value winning. The parser does the hard part (syntax, positions, anchors); this package only
// resolves plain scalars with the YAML 1.1 implicit types, expands aliases and merge keys with a
// budget, and reports problems with line and column.
package yaml11

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v4"
)

// Node is the parser's node type; callers walk it with the helpers of this package.
type Node = yaml.Node

// Node kinds, re-exported so callers need not import the parser.
const (
	DocumentNode = yaml.DocumentNode
	SequenceNode = yaml.SequenceNode
	MappingNode  = yaml.MappingNode
	ScalarNode   = yaml.ScalarNode
	AliasNode    = yaml.AliasNode
)

// MaxExpandedNodes bounds how many nodes alias expansion may produce in one document, so that
// a "billion laughs" document cannot exhaust memory.
const MaxExpandedNodes = 1_000_000

// maxDepth bounds nesting, so that deeply nested input cannot exhaust the stack.
const maxDepth = 200

// SyntaxError is a YAML syntax error with its position (1-based; 0 when unknown).
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return e.Msg
}

// Document is one non-empty document of a stream.
type Document struct {
	Index int   // 0-based position in the stream, counting empty documents
	Line  int   // line where the document's content starts
	Root  *Node // the document's top-level node (never a DocumentNode)
}

// ParseStream splits data into documents. Empty (null) documents are skipped. A syntax error
// stops parsing: the documents before it are returned together with a *SyntaxError.
func ParseStream(data []byte) ([]Document, error) {
	var docs []Document
	err := Stream(data, func(d Document) { docs = append(docs, d) })
	return docs, err
}

// Stream calls fn with each non-empty document of data in turn, without keeping earlier
// documents alive, so that large designs are read in constant memory per document. A syntax
// error stops the stream and is returned as a *SyntaxError.
func Stream(data []byte, fn func(Document)) error {
	l, err := yaml.NewLoader(bytes.NewReader(data), yaml.WithUniqueKeys(false))
	if err != nil {
		return &SyntaxError{Msg: err.Error()}
	}
	for i := 0; ; i++ {
		var n yaml.Node
		err := loadOne(l, &n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return toSyntaxError(err)
		}
		root := &n
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		if IsNull(root) {
			continue
		}
		fn(Document{Index: i, Line: root.Line, Root: root})
	}
}

// loadOne loads the next document, converting a parser panic (there should be none, but the
// input is untrusted) into an error.
func loadOne(l *yaml.Loader, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	return l.Load(n)
}

var posRe = regexp.MustCompile(`\bL(\d+)\.C(\d+)\b|\bline (\d+)(?:, column (\d+))?`)

func toSyntaxError(err error) *SyntaxError {
	var le *yaml.LoadError
	if errors.As(err, &le) && le.Message != "" {
		msg := le.Message
		if le.ContextMsg != "" {
			msg = le.ContextMsg + ": " + msg
		}
		return &SyntaxError{Line: le.Mark.Line, Column: le.Mark.Column, Msg: msg}
	}
	se := &SyntaxError{Msg: cleanMsg(err.Error())}
	if m := posRe.FindStringSubmatch(err.Error()); m != nil {
		if m[1] != "" {
			se.Line, _ = strconv.Atoi(m[1])
			se.Column, _ = strconv.Atoi(m[2])
		} else {
			se.Line, _ = strconv.Atoi(m[3])
			se.Column, _ = strconv.Atoi(m[4])
		}
	}
	return se
}

var locRe = regexp.MustCompile(`\s*\bat L\d+\.C\d+(-L\d+\.C\d+)?`)

func cleanMsg(s string) string {
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.TrimPrefix(s, "go-yaml load error ")
	s = locRe.ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}

// Error is a problem found while interpreting a document's nodes (an unusable key, an unknown
// tag, an alias that expands too far). It carries the position of the offending node.
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func errAt(n *Node, format string, args ...any) *Error {
	return &Error{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)}
}

// Deref follows aliases to the anchored node.
func Deref(n *Node) *Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is a null scalar (or absent).
func IsNull(n *Node) bool {
	n = Deref(n)
	if n == nil {
		return true
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	if n.Style&yaml.TaggedStyle != 0 {
		return n.Tag == "!!null" || n.Tag == "tag:yaml.org,2002:null"
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return false
	}
	switch n.Value {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// Scalar resolves a scalar node to nil, bool, int64, float64 or string, following YAML 1.1's
// implicit typing for plain scalars and honouring the standard explicit tags.
func Scalar(n *Node) (any, error) {
	n = Deref(n)
	if n.Kind != yaml.ScalarNode {
		return nil, errAt(n, "expected a single value, found a %s", kindName(n))
	}
	if n.Style&yaml.TaggedStyle != 0 {
		return explicitScalar(n)
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, nil
	}
	return resolvePlain(n)
}

// Text resolves a scalar like Scalar but returns it as text the way the original Drydock's
// models stringified values (booleans as True/False, numbers in decimal); null is "". It avoids
// boxing for the common case of a plain string.
func Text(n *Node) (string, error) {
	n = Deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Style&yaml.TaggedStyle == 0 {
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return n.Value, nil
		}
		if s := n.Value; s != "" && !strings.ContainsAny(s[:1], "+-.0123456789~nNtTfFyYoO") {
			return s, nil
		}
	}
	v, err := Scalar(n)
	if err != nil {
		return "", err
	}
	return FormatScalar(v), nil
}

// FormatScalar renders a resolved scalar as text: booleans as True/False (as Python did),
// integers in decimal, floats in the shortest form, null as "".
func FormatScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e16 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// explicitScalar handles a scalar with a tag the author wrote (!!str, !!int, ...).
func explicitScalar(n *Node) (any, error) {
	switch n.Tag {
	case "!!str", "tag:yaml.org,2002:str":
		return n.Value, nil
	case "!!null", "tag:yaml.org,2002:null":
		return nil, nil
	case "!!bool", "tag:yaml.org,2002:bool":
		if b, ok := boolValue(n.Value); ok {
			return b, nil
		}
		return nil, errAt(n, "%q is not a boolean", n.Value)
	case "!!int", "tag:yaml.org,2002:int":
		if v, ok, err := intValue(n.Value); ok {
			if err != nil {
				return nil, errAt(n, "%s", err)
			}
			return v, nil
		}
		return nil, errAt(n, "%q is not an integer", n.Value)
	case "!!float", "tag:yaml.org,2002:float":
		if v, ok := floatValue(n.Value); ok {
			return v, nil
		}
		if v, ok, err := intValue(n.Value); ok && err == nil {
			return float64(v), nil
		}
		return nil, errAt(n, "%q is not a number", n.Value)
	}
	return nil, errAt(n, "unsupported tag %s", n.Tag)
}

func resolvePlain(n *Node) (any, error) {
	s := n.Value
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil, nil
	}
	if b, ok := boolValue(s); ok {
		return b, nil
	}
	if v, ok, err := intValue(s); ok {
		if err != nil {
			return nil, errAt(n, "%s", err)
		}
		return v, nil
	}
	if v, ok := floatValue(s); ok {
		return v, nil
	}
	return s, nil
}

func boolValue(s string) (bool, bool) {
	switch s {
	case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true, true
	case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

var (
	intRe   = regexp.MustCompile(`^[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	floatRe = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
)

// intValue parses a YAML 1.1 integer. ok is false when s is not an integer at all; err is set
// when it is one but does not fit in 64 bits.
func intValue(s string) (v int64, ok bool, err error) {
	if s == "" || !strings.ContainsAny(s[:1], "+-0123456789") || strings.IndexByte(s, '.') >= 0 {
		return 0, false, nil
	}
	if allDigits(s) && (len(s) == 1 || s[0] != '0') {
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil || u > math.MaxInt64 {
			return 0, true, fmt.Errorf("integer %s is too large", s)
		}
		return int64(u), true, nil
	}
	if !intRe.MatchString(s) {
		return 0, false, nil
	}
	neg := false
	t := strings.ReplaceAll(s, "_", "")
	switch t[0] {
	case '-':
		neg = true
		t = t[1:]
	case '+':
		t = t[1:]
	}
	var u uint64
	switch {
	case strings.Contains(t, ":"):
		for _, part := range strings.Split(t, ":") {
			d, perr := strconv.ParseUint(part, 10, 64)
			if perr != nil || u > (math.MaxUint64-d)/60 {
				return 0, true, fmt.Errorf("integer %s is too large", s)
			}
			u = u*60 + d
		}
	case strings.HasPrefix(t, "0b"):
		u, err = strconv.ParseUint(t[2:], 2, 64)
	case strings.HasPrefix(t, "0x"):
		u, err = strconv.ParseUint(t[2:], 16, 64)
	case len(t) > 1 && t[0] == '0':
		u, err = strconv.ParseUint(t[1:], 8, 64)
	default:
		u, err = strconv.ParseUint(t, 10, 64)
	}
	if err != nil || u > math.MaxInt64 {
		return 0, true, fmt.Errorf("integer %s is too large", s)
	}
	if neg {
		return -int64(u), true, nil
	}
	return int64(u), true, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func floatValue(s string) (float64, bool) {
	if s == "" || strings.Count(s, ".") != 1 || !floatRe.MatchString(s) {
		return 0, false
	}
	t := strings.ReplaceAll(s, "_", "")
	switch strings.ToLower(strings.TrimLeft(t, "+-")) {
	case ".inf":
		if strings.HasPrefix(t, "-") {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case ".nan":
		return math.NaN(), true
	}
	if strings.Contains(t, ":") {
		neg := strings.HasPrefix(t, "-")
		t = strings.TrimLeft(t, "+-")
		parts := strings.Split(t, ":")
		var v float64
		for i, p := range parts {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil {
				return 0, false
			}
			if i < len(parts)-1 {
				v = (v + f) * 60
			} else {
				v += f
			}
		}
		if neg {
			v = -v
		}
		return v, true
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

func kindName(n *Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// Pair is one key/value entry of a mapping, after merge keys are applied and duplicate keys
// collapsed (the last value wins, at the position of the first occurrence, as PyYAML does).
type Pair struct {
	Key     string
	KeyNode *Node
	Value   *Node
	// Duplicate holds the line of an earlier occurrence of the same key, or 0.
	Duplicate int
}

// Pairs returns the entries of a mapping node in document order. Keys must be strings (or
// scalars whose YAML 1.1 type is string): a key that reads as a boolean, a number or null is
// an error that says how to quote it.
func Pairs(n *Node) ([]Pair, error) {
	n = Deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "expected a mapping, found a %s", kindName(n))
	}
	return pairs(n, 0)
}

func pairs(n *Node, depth int) ([]Pair, error) {
	if depth > 20 {
		return nil, errAt(n, "merge keys nested too deeply")
	}
	out := make([]Pair, 0, len(n.Content)/2)
	var index map[string]int
	if len(n.Content) > 16 {
		index = make(map[string]int, len(n.Content)/2)
	}
	find := func(k string) int {
		if index != nil {
			if i, ok := index[k]; ok {
				return i
			}
			return -1
		}
		for i := range out {
			if out[i].Key == k {
				return i
			}
		}
		return -1
	}
	put := func(p Pair, override bool) {
		if i := find(p.Key); i >= 0 {
			if override {
				p.Duplicate = out[i].KeyNode.Line
				p.KeyNode = out[i].KeyNode
				out[i] = p
			}
			return
		}
		if index != nil {
			index[p.Key] = len(out)
		}
		out = append(out, p)
	}
	var merged []Pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := Deref(n.Content[i]), n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.Value == "<<" && kn.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			ps, err := mergeSources(vn, depth)
			if err != nil {
				return nil, err
			}
			merged = append(merged, ps...)
			continue
		}
		if kn.Kind != yaml.ScalarNode {
			return nil, errAt(kn, "a mapping key must be a single value, not a %s", kindName(kn))
		}
		kv, err := Scalar(kn)
		if err != nil {
			return nil, err
		}
		ks, ok := kv.(string)
		if !ok {
			if kv == nil {
				return nil, errAt(kn, "empty mapping key (is a key missing before ':'?)")
			}
			return nil, errAt(kn, "key %s reads as %s in YAML 1.1; quote it ('%s') to use it as a name", kn.Value, typeName(kv), kn.Value)
		}
		put(Pair{Key: ks, KeyNode: kn, Value: vn}, true)
	}
	for _, p := range merged {
		put(p, false)
	}
	return out, nil
}

func mergeSources(vn *Node, depth int) ([]Pair, error) {
	vn = Deref(vn)
	switch vn.Kind {
	case yaml.MappingNode:
		return pairs(vn, depth+1)
	case yaml.SequenceNode:
		var out []Pair
		for _, item := range vn.Content {
			item = Deref(item)
			if item.Kind != yaml.MappingNode {
				return nil, errAt(item, "a merge key (<<) takes mappings, found a %s", kindName(item))
			}
			ps, err := pairs(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
		return out, nil
	}
	return nil, errAt(vn, "a merge key (<<) takes a mapping or a list of mappings, found a %s", kindName(vn))
}

func typeName(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case nil:
		return "null"
	}
	return "a string"
}

// Items returns the entries of a sequence node.
func Items(n *Node) ([]*Node, error) {
	n = Deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(n, "expected a list, found a %s", kindName(n))
	}
	return n.Content, nil
}

// Value converts a node to plain Go values (map[string]any, []any, string, bool, int64,
// float64, nil), resolving YAML 1.1 scalars, aliases and merge keys. It is the form that JSON
// Schema validation takes. Alias expansion is bounded by MaxExpandedNodes.
func Value(n *Node) (any, error) {
	return ValueReport(n, nil)
}

// ValueReport is Value that also calls onDuplicate for every mapping key given more than once
// (the Pair holds the winning value and the line of the first occurrence). A nil node is nil.
func ValueReport(n *Node, onDuplicate func(Pair)) (any, error) {
	if n == nil {
		return nil, nil
	}
	budget := MaxExpandedNodes
	return value(n, &budget, 0, onDuplicate)
}

func value(n *Node, budget *int, depth int, onDup func(Pair)) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errAt(n, "document too large after expanding aliases (more than %d values)", MaxExpandedNodes)
	}
	if depth > maxDepth {
		return nil, errAt(n, "document nested too deeply (more than %d levels)", maxDepth)
	}
	d := Deref(n)
	if d == nil {
		return nil, errAt(n, "alias to an unknown anchor")
	}
	switch d.Kind {
	case yaml.ScalarNode:
		return Scalar(d)
	case yaml.SequenceNode:
		out := make([]any, 0, len(d.Content))
		for _, c := range d.Content {
			v, err := value(c, budget, depth+1, onDup)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		ps, err := pairs(d, 0)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(ps))
		for _, p := range ps {
			if p.Duplicate != 0 && onDup != nil {
				onDup(p)
			}
			v, err := value(p.Value, budget, depth+1, onDup)
			if err != nil {
				return nil, err
			}
			out[p.Key] = v
		}
		return out, nil
	}
	return nil, errAt(d, "unsupported YAML node")
}

// Lookup follows a path of mapping keys and sequence indexes from n and returns the node found,
// or the deepest node reached when the path leaves the document.
func Lookup(n *Node, path []string) *Node {
	cur := Deref(n)
	for _, seg := range path {
		if cur == nil {
			break
		}
		switch cur.Kind {
		case yaml.MappingNode:
			var next *Node
			ps, err := pairs(cur, 0)
			if err != nil {
				return cur
			}
			for _, p := range ps {
				if p.Key == seg {
					next = Deref(p.Value)
					break
				}
			}
			if next == nil {
				return cur
			}
			cur = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(cur.Content) {
				return cur
			}
			cur = Deref(cur.Content[i])
		default:
			return cur
		}
	}
	return cur
}
