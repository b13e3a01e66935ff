package validate

import "strings"

func init() {
	register(&Rule{
		Code:    "DD3003",
		Slug:    "node.hostname",
		Name:    "Hostname Validity",
		Summary: "Node names are valid DNS labels (letters, digits and inner hyphens, at most 63 characters), network DNS domains are valid DNS names, and each node's FQDN is at most 253 characters.",
		Example: "Hostname bad__name of BaremetalNode bad__name is invalid: a DNS label has only letters, digits and inner hyphens",
		Check:   checkHostname,
	})
}

// validLabel reports whether s is a DNS label: 1 to 63 letters, digits and hyphens, not
// starting or ending with a hyphen (RFC 1035 as relaxed by RFC 1123).
func validLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

const labelDiag = "RFC 1035 requires each label in a DNS name to be <= 63 characters and contain only A-Z, a-z, 0-9, and hyphens (not at either end)."

func checkHostname(c *Context) {
	for _, net := range c.design().Networks {
		domain := strings.TrimSuffix(net.DNSDomain, ".")
		for _, label := range strings.Split(domain, ".") {
			if !validLabel(label) {
				c.Errorf(labelDiag, docs(net.Ref), "DNS domain %s of network %s is invalid - label '%s' is invalid.", net.DNSDomain, net.Name, label)
				break
			}
		}
	}
	for _, n := range c.nodes() {
		if !validLabel(n.Name) {
			c.Errorf(labelDiag, docs(n.Ref), "Hostname %s of BaremetalNode %s is invalid: a DNS label has only letters, digits and inner hyphens, at most 63 characters", n.Name, n.Name)
		}
		fqdn := strings.TrimSuffix(n.FQDN, ".")
		if len(fqdn) > 253 {
			c.Errorf("RFC 1035 limits full DNS names to 253 characters.", docs(n.Ref), "FQDN %s is invalid, greater than 253 characters.", fqdn)
		}
	}
}
