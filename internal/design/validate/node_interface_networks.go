package validate

func init() {
	register(&Rule{
		Code:    "DD1009",
		Slug:    "node.interface-networks",
		Name:    "Interface Networks",
		Summary: "An interface that carries networks is attached to a network link, and each of its networks is allowed on that link.",
		Example: "Interface bond0 of BaremetalNode compute01 attached to network private not allowed on interface link gp",
		Check:   checkInterfaceNetworks,
	})
}

func checkInterfaceNetworks(c *Context) {
	for _, n := range c.nodes() {
		for _, it := range n.Interfaces {
			if len(it.Networks) == 0 {
				continue
			}
			if it.DeviceLink == "" {
				c.Errorf("Set device_link on the interface to the NetworkLink that carries its networks.", docs(n.Ref),
					"Interface %s of BaremetalNode %s carries networks but has no device_link", it.Name, n.Name)
				continue
			}
			allowed, ok := c.facts.allowed[it.DeviceLink]
			if !ok {
				continue // node.references reports an undefined link
			}
			for _, net := range it.Networks {
				if !allowed[net] {
					c.Errorf("Interfaces can only be attached to networks allowed on the network link connected to the interface.", docs(n.Ref),
						"Interface %s of BaremetalNode %s attached to network %s not allowed on interface link %s", it.Name, n.Name, net, it.DeviceLink)
				}
			}
		}
	}
}
