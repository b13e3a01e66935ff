package validate

import (
	"net/netip"
)

func init() {
	register(&Rule{
		Code:    "DD2002",
		Slug:    "net.ip-locality",
		Name:    "IP Locality Check",
		Summary: "Route gateways and nodes' static addresses are valid addresses inside the CIDR of their network.",
		Example: "The IP Address 172.16.1.21 is not within the defined CIDR: 172.16.2.0/24 of private (BaremetalNode compute01)",
		Check:   checkIPLocality,
	})
}

func checkIPLocality(c *Context) {
	if len(c.design().Networks) == 0 {
		c.Warnf("Site design likely incomplete without defined networks.", nil, "No networks found.")
	}
	for _, n := range c.design().Networks {
		p, ok := c.prefix(n.Name)
		for i, r := range n.Routes {
			if r.Gateway == "" {
				c.Errorf("Define a network-local gateway for the route.", docs(n.Ref),
					"No gateway found for route %d (subnet %q, routedomain %q) of network %s", i+1, r.Subnet, r.RouteDomain, n.Name)
				continue
			}
			gw, err := netip.ParseAddr(r.Gateway)
			if err != nil {
				c.Errorf("Write the gateway as an IP address.", docs(n.Ref), "The gateway %q of route %d of network %s is not an IP address", r.Gateway, i+1, n.Name)
				continue
			}
			if ok && !p.Contains(gw) {
				c.Errorf("Route gateways must reside on the local network. Check gateway IP and CIDR netmask.", docs(n.Ref),
					"The gateway IP Address %s is not within the defined CIDR: %s of %s.", r.Gateway, n.CIDR, n.Name)
			}
		}
	}
	if len(c.nodes()) == 0 {
		c.Warnf("Site design likely incomplete without defined nodes.", nil, "No baremetal_nodes found.")
		return
	}
	for i, n := range c.nodes() {
		for j, a := range n.Addressing {
			if a.Type != "static" {
				continue
			}
			ip := c.facts.addrs[i][j]
			if !ip.IsValid() {
				c.Errorf("Write the address as an IP address (or 'dhcp').", docs(n.Ref),
					"The address %q of BaremetalNode %s on network %s is not an IP address", a.Address, n.Name, a.Network)
				continue
			}
			p, ok := c.prefix(a.Network)
			if ok && !p.Contains(ip) {
				c.Errorf("Define a valid address for this network.", docs(n.Ref),
					"The IP Address %s is not within the defined CIDR: %s of %s (BaremetalNode %s)", a.Address, p, a.Network, n.Name)
			}
		}
	}
}
