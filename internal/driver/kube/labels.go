package kube

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/drydock-go/drydock/internal/design"
)

// Labels Drydock generates from the design when Config.DesignLabels is set (off by default: the
// cluster then gets exactly the node's owner_data, as with the original Promenade driver).
const (
	// LabelRack carries the node's rack (omitted when the node has none).
	LabelRack = "drydock.io/rack"
	// LabelTagPrefix + tag is set to "true" for each of the node's tags.
	LabelTagPrefix = "drydock.io/tag-"
)

// DesiredLabels is the set of labels the design asks for on node n: its owner_data, plus (when
// designLabels is set) LabelRack and one LabelTagPrefix label per tag. An owner_data entry wins
// over a generated label with the same key. The result is never nil.
func DesiredLabels(n *design.Node, designLabels bool) map[string]string {
	out := map[string]string{}
	if designLabels {
		if n.Rack != "" {
			out[LabelRack] = n.Rack
		}
		for _, t := range n.Tags {
			out[LabelTagPrefix+t] = "true"
		}
	}
	for _, p := range n.OwnerData {
		out[p.Key] = p.Value
	}
	return out
}

// ValidateLabels checks label keys and values with Kubernetes' own rules (a qualified name,
// optionally prefixed by a DNS subdomain, for a key; at most 63 characters of [A-Za-z0-9_.-],
// starting and ending with an alphanumeric, for a value). It returns one problem per invalid key
// or value, each naming the node and the label, sorted by key; nil when all are valid. It makes
// no API call, so a design validation rule can use it.
func ValidateLabels(node string, labels map[string]string) []string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, k := range keys {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("node %s: label key %q is not a valid Kubernetes label key: %s", node, k, strings.Join(errs, "; ")))
		}
		if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("node %s: label %q: value %q is not a valid Kubernetes label value: %s", node, k, labels[k], strings.Join(errs, "; ")))
		}
	}
	return problems
}
