package validate

import (
	"net/netip"

	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD2005",
		Slug:    "net.duplicate-ip",
		Name:    "Duplicated IP Check",
		Summary: "No static address is assigned twice, across all nodes and networks.",
		Example: "Duplicate IP Address Found: 172.16.100.21 (BaremetalNode controller01 on oob, and BaremetalNode compute01 on oob)",
		Check:   checkDuplicateIP,
	})
}

func checkDuplicateIP(c *Context) {
	if len(c.nodes()) == 0 {
		c.Warnf("Site design unlikely complete with no defined baremetal nodes.", nil, "No BaremetalNodes Found.")
		return
	}
	type owner struct {
		node    *design.Node
		network string
	}
	count := 0
	for _, n := range c.nodes() {
		count += len(n.Addressing)
	}
	seen := make(map[netip.Addr]owner, count)
	for i, n := range c.nodes() {
		for j, a := range n.Addressing {
			ip := c.facts.addrs[i][j]
			if !ip.IsValid() {
				continue
			}
			ip = ip.Unmap()
			if first, dup := seen[ip]; dup {
				c.Errorf("Select unique IP addresses for each node.", docs(first.node.Ref, n.Ref),
					"Duplicate IP Address Found: %s (BaremetalNode %s on %s, and BaremetalNode %s on %s)", a.Address, first.node.Name, first.network, n.Name, a.Network)
				continue
			}
			seen[ip] = owner{n, a.Network}
		}
	}
}
