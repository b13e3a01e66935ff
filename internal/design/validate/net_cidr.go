package validate

import (
	"net/netip"
)

func init() {
	register(&Rule{
		Code:    "DD2006",
		Slug:    "net.cidr",
		Name:    "CIDR Validity",
		Summary: "Every network's cidr is a valid address/prefix without host bits set (what MAAS accepts), and every route's subnet is a valid CIDR.",
		Example: "The provided CIDR 172.16.100.1/24 of network oob has host bits set",
		Check:   checkCIDR,
	})
}

func checkCIDR(c *Context) {
	nets := c.design().Networks
	if len(nets) == 0 {
		c.Warnf("Site design likely incomplete without defined networks.", nil, "No networks found.")
		return
	}
	for _, n := range nets {
		p, err := netip.ParsePrefix(n.CIDR)
		switch {
		case err != nil:
			c.Errorf("Write the CIDR as address/prefix-length, for example 172.16.1.0/24.", docs(n.Ref),
				"The CIDR %q of network %s is not valid", n.CIDR, n.Name)
		case p.Masked() != p:
			c.Errorf("Provide a CIDR acceptable by MAAS: "+p.Masked().String(), docs(n.Ref),
				"The provided CIDR %s of network %s has host bits set", n.CIDR, n.Name)
		}
		for i, r := range n.Routes {
			if r.Subnet == "" {
				continue
			}
			if _, err := netip.ParsePrefix(r.Subnet); err != nil {
				c.Errorf("Write the route subnet as address/prefix-length, for example 0.0.0.0/0.", docs(n.Ref),
					"Route %d of network %s has an invalid subnet %q", i+1, n.Name, r.Subnet)
			}
		}
	}
}
