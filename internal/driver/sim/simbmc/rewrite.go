package simbmc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	yaml "go.yaml.in/yaml/v4"
)

// RewriteOOB returns a design document stream in which every BaremetalNode named in params has
// its data.oob mapping set to include params[node] (see RewriteNodes).
func RewriteOOB(src []byte, params map[string]map[string]string) ([]byte, error) {
	return RewriteNodes(src, "oob", params)
}

// RewriteNodes returns a design document stream in which every BaremetalNode named in params
// has its data.<section> mapping (oob, metadata, ...) set to include params[node]: other keys
// are kept, and the node's own values override what its profiles set. Documents are
// re-encoded; comments may move.
func RewriteNodes(src []byte, section string, params map[string]map[string]string) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
			root := doc.Content[0]
			if scalar(get(root, "schema")) == "drydock/BaremetalNode/v1" {
				name := scalar(get(get(root, "metadata"), "name"))
				if p, ok := params[name]; ok {
					data := get(root, "data")
					if data == nil || data.Kind != yaml.MappingNode {
						return nil, fmt.Errorf("BaremetalNode %s has no data mapping", name)
					}
					m := get(data, section)
					if m == nil {
						m = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
						data.Content = append(data.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section}, m)
					}
					for _, k := range sortedKeys(p) {
						set(m, k, p[k])
					}
				}
			}
		}
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func set(m *yaml.Node, key, value string) {
	v := &yaml.Node{Kind: yaml.ScalarNode, Value: value, Tag: "!!str", Style: yaml.DoubleQuotedStyle}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
