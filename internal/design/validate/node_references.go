package validate

import (
	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD3004",
		Slug:    "node.references",
		Name:    "Node References",
		Summary: "The host profiles (without cycles), hardware profile, networks, network links and hardware-profile kernel parameter references a node uses exist. Racks need no Rack document and device names that are not hardware-profile aliases are kernel names (no message for either); host profiles no node uses only get a Warning for their dangling references.",
		Example: "BaremetalNode compute01: its host_profile names host profile k8-nodes, which is not defined",
		Check:   checkReferences,
	})
}

func checkReferences(c *Context) {
	d := c.design()
	for _, n := range c.nodes() {
		for _, is := range n.Issues {
			reportIssue(c, n, is)
		}
		if n.PrimaryNetwork != "" && d.Network(n.PrimaryNetwork) == nil {
			c.Errorf("Define the network or correct primary_network.", docs(n.Ref),
				"BaremetalNode %s has primary_network %s, which is not defined", n.Name, n.PrimaryNetwork)
		}
		for _, it := range n.Interfaces {
			if it.DeviceLink != "" && d.NetworkLink(it.DeviceLink) == nil {
				c.Errorf("Define the network link attached to this interface.", docs(n.Ref),
					"Interface %s of BaremetalNode %s connected to undefined network link %s.", it.Name, n.Name, it.DeviceLink)
			}
			for _, net := range it.Networks {
				if d.Network(net) == nil {
					c.Errorf("Define the network or correct the interface's networks.", docs(n.Ref),
						"Interface %s of BaremetalNode %s is attached to network %s, which is not defined", it.Name, n.Name, net)
				}
			}
		}
		for _, a := range n.Addressing {
			if d.Network(a.Network) == nil {
				c.Errorf("Define network or correct address definition.", docs(n.Ref),
					"%s is not a valid network. (address %s of BaremetalNode %s)", a.Network, addrText(a), n.Name)
			}
		}
		if net, ok := n.OOBParams.Get("network"); ok && net != "" && d.Network(net) == nil {
			c.Errorf("Define the network or correct oob.network.", docs(n.Ref),
				"The OOB network %s of BaremetalNode %s is not defined", net, n.Name)
		}
		// A rack named without a Rack document is a plain label, as on real Airship sites: no
		// message. A device name that is not a hardware-profile alias is a kernel name: no message.
	}
	for _, p := range d.HostProfiles {
		for _, is := range c.Site.ProfileIssues[p.Name] {
			c.Warnf("No node uses this host profile, so this is not an error; fix or remove the profile before a node adopts it.", docs(p.Ref),
				"HostProfile %s (used by no node): %s", p.Name, issueText(is))
		}
	}
}

func addrText(a design.Address) string {
	if a.Type == "dhcp" {
		return "dhcp"
	}
	return a.Address
}

func issueText(is design.RefIssue) string {
	switch is.Kind {
	case design.IssueHostProfile:
		return "its " + is.Field + " names host profile " + is.Name + ", which is not defined"
	case design.IssueCycle:
		return "host profile inheritance forms a cycle: " + is.Detail
	case design.IssueHardwareProfile:
		if is.Name == "" {
			return is.Detail
		}
		return "hardware profile " + is.Name + " is not defined"
	case design.IssueKernelParam:
		return "kernel parameter " + is.Field + " = " + is.Name + " cannot be resolved: " + is.Detail
	}
	return is.Detail
}

func reportIssue(c *Context, n *design.Node, is design.RefIssue) {
	diag := map[string]string{
		design.IssueHostProfile:     "Define the host profile or correct host_profile.",
		design.IssueCycle:           "Break the cycle: a host profile cannot adopt itself, directly or through its parents.",
		design.IssueHardwareProfile: "Set hardware_profile (on the node or a host profile it adopts) to a defined HardwareProfile.",
		design.IssueKernelParam:     "Use hardwareprofile:cpuset.<name> or hardwareprofile:hugepages.<name>.size|count with names defined in the node's hardware profile.",
	}[is.Kind]
	c.Errorf(diag, docs(n.Ref), "BaremetalNode %s: %s", n.Name, issueText(is))
}
