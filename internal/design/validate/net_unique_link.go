package validate

import "github.com/drydock-go/drydock/internal/design"

func init() {
	register(&Rule{
		Code:    "DD1007",
		Slug:    "net.unique-link",
		Name:    "Allowed Network Check",
		Summary: "A network is allowed on at most one network link.",
		Example: "Allowed network mgmt duplicated on NetworkLink gp and NetworkLink gp2",
		Check:   checkUniqueLink,
	})
}

func checkUniqueLink(c *Context) {
	first := map[string]*design.NetworkLink{}
	for _, l := range c.design().NetworkLinks {
		seen := map[string]bool{}
		for _, n := range l.AllowedNetworks {
			if seen[n] {
				continue
			}
			seen[n] = true
			if f, dup := first[n]; dup {
				c.Errorf("Each network is only allowed to cross a single network link.", docs(f.Ref, l.Ref),
					"Allowed network %s duplicated on NetworkLink %s and NetworkLink %s", n, f.Name, l.Name)
				continue
			}
			first[n] = l
		}
	}
}
