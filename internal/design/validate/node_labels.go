package validate

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

func init() {
	register(&Rule{
		Code:    "DD3005",
		Slug:    "node.labels",
		Name:    "Node Label Validity",
		Summary: "A node's owner_data are the labels relabel_nodes gives its Kubernetes node: every key is a valid label key (an optional DNS-subdomain prefix and a name of at most 63 characters) and every value a valid label value.",
		Example: "Label \"bad key!\" of node cmp01 (owner_data) is not a valid Kubernetes label key: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
		Check:   checkNodeLabels,
	})
}

func checkNodeLabels(c *Context) {
	for _, n := range c.nodes() {
		labels := n.OwnerData.Map()
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				c.Errorf("Use keys such as example.com/role or rack: at most 63 characters of letters, digits, '-', '_' and '.', with an optional DNS-name prefix and '/'.",
					docs(n.Ref), "Label %q of node %s (owner_data) is not a valid Kubernetes label key: %s", k, n.Name, strings.Join(errs, "; "))
			}
			if errs := validation.IsValidLabelValue(labels[k]); len(errs) > 0 {
				c.Errorf("Label values are at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty).",
					docs(n.Ref), "Value %q of label %s of node %s (owner_data) is not a valid Kubernetes label value: %s", labels[k], k, n.Name, strings.Join(errs, "; "))
			}
		}
	}
}
