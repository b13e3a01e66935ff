package policy

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	yaml "go.yaml.in/yaml/v4"
)

// Load reads a policy file: a YAML (or JSON) mapping of rule name to expression
// string, applied over the defaults like New's overrides. An empty path returns
// the default policy; so does an empty file. Values must be strings (quote
// expressions starting with "@" or "!", which YAML reserves); a list (oslo's
// legacy list syntax), mapping, number, boolean or null is an error naming the
// key and its line.
func Load(path string) (*Policy, error) {
	if path == "" {
		return New(nil)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	overrides, lines, err := decode(data)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			pe.File = path
			return nil, pe
		}
		return nil, fmt.Errorf("policy: %s: %w", path, err)
	}
	return build(overrides, lines, path)
}

// decode parses a policy file into overrides and the line of each rule.
func decode(data []byte) (map[string]string, map[string]int, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, nil
	}
	var docs []yaml.Node
	if err := yaml.Load(data, &docs, yaml.WithAllDocuments()); err != nil {
		return nil, nil, err
	}
	switch len(docs) {
	case 0:
		return nil, nil, nil // only comments
	case 1:
	default:
		return nil, nil, &Error{Line: docs[1].Line, Msg: "a policy file must hold a single YAML document"}
	}
	root := &docs[0]
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil, nil
		}
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, nil, nil // only comments, or an explicit null
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, &Error{Line: root.Line, Msg: "a policy file must be a mapping of rule name to expression string"}
	}
	overrides := make(map[string]string, len(root.Content)/2)
	lines := make(map[string]int, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := deref(root.Content[i]), deref(root.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" || k.Value == "" {
			return nil, nil, &Error{Line: k.Line, Msg: "rule names must be non-empty strings"}
		}
		name := k.Value
		if prev, dup := lines[name]; dup {
			return nil, nil, &Error{Line: k.Line, Rule: name, Msg: fmt.Sprintf("defined twice (first on line %d)", prev)}
		}
		switch {
		case v.Kind == yaml.SequenceNode:
			return nil, nil, &Error{Line: v.Line, Rule: name, Msg: `the legacy list syntax is not supported: write the expression as a string, e.g. "role:admin or role:operator"`}
		case v.Kind == yaml.MappingNode:
			return nil, nil, &Error{Line: v.Line, Rule: name, Msg: "value is a mapping: write the expression as a string"}
		case v.Kind != yaml.ScalarNode:
			return nil, nil, &Error{Line: v.Line, Rule: name, Msg: "value must be an expression string"}
		case v.ShortTag() == "!!null":
			return nil, nil, &Error{Line: v.Line, Rule: name, Msg: `value is empty (null): write "" to always allow or "!" to never allow`}
		case v.ShortTag() != "!!str":
			return nil, nil, &Error{Line: v.Line, Rule: name, Msg: fmt.Sprintf("value %q is a %s, not an expression string: quote it", v.Value, v.ShortTag())}
		}
		overrides[name] = v.Value
		lines[name] = k.Line
	}
	return overrides, lines, nil
}

// deref follows an alias to the node it refers to.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
