package validate

func init() {
	register(&Rule{
		Code:    "DD2003",
		Slug:    "net.mtu",
		Name:    "MTU Rationality",
		Summary: "Link and network MTUs lie between 1280 and 65536, and a network's MTU is not larger than the MTU of any link that carries it.",
		Example: "MTU of network mgmt (15000) must be <= the MTU of NetworkLink gp (9000) that carries it",
		Check:   checkMTU,
	})
}

const (
	minMTU = 1280
	maxMTU = 65536
)

func checkMTU(c *Context) {
	diag := "Define a valid MTU. Standard is 1500, Jumbo is 9100."
	for _, l := range c.design().NetworkLinks {
		if l.MTU != 0 && (l.MTU < minMTU || l.MTU > maxMTU) {
			c.Errorf(diag, docs(l.Ref), "MTU must be between %d and %d, value is %d (NetworkLink %s)", minMTU, maxMTU, l.MTU, l.Name)
		}
	}
	for _, n := range c.design().Networks {
		if n.MTU == 0 {
			continue
		}
		if n.MTU < minMTU || n.MTU > maxMTU {
			c.Errorf(diag, docs(n.Ref), "MTU must be between %d and %d, value is %d (Network %s)", minMTU, maxMTU, n.MTU, n.Name)
			continue
		}
		for _, l := range c.facts.linkOf[n.Name] {
			if l.MTU != 0 && n.MTU > l.MTU {
				c.Errorf("Define a MTU less than or equal to that of the carrying network link.", docs(n.Ref, l.Ref),
					"MTU of network %s (%d) must be <= the MTU of NetworkLink %s (%d) that carries it", n.Name, n.MTU, l.Name, l.MTU)
			}
		}
	}
}
