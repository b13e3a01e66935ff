package validate

import "github.com/drydock-go/drydock/internal/design"

func init() {
	register(&Rule{
		Code:    "DD2004",
		Slug:    "net.trunking",
		Name:    "Network Trunking Rationality",
		Summary: "A link that allows several networks uses 802.1q trunking; a non-trunked link names its (untagged) default network; a default network exists and is allowed on its link; on a trunk only the default network may be untagged.",
		Example: "If there is more than 1 allowed network,trunking mode must be enabled (NetworkLink gp)",
		Check:   checkTrunking,
	})
}

func checkTrunking(c *Context) {
	d := c.design()
	for _, l := range d.NetworkLinks {
		trunked := l.TrunkMode == design.Trunk8021q
		if !trunked && len(l.AllowedNetworks) > 1 {
			c.Errorf("Reduce the allowed network list to 1 or enable trunking on the link.", docs(l.Ref),
				"If there is more than 1 allowed network,trunking mode must be enabled (NetworkLink %s)", l.Name)
		}
		if !trunked && l.NativeNetwork == "" {
			c.Errorf("Non-trunked links must have a native network defined.", docs(l.Ref),
				"Trunking mode is disabled, a trunking default_network must be defined (NetworkLink %s)", l.Name)
		}
		if l.NativeNetwork != "" {
			native := d.Network(l.NativeNetwork)
			switch {
			case native == nil:
				c.Errorf("Define the network or correct the name.", docs(l.Ref),
					"The default_network %s of NetworkLink %s is not a defined network", l.NativeNetwork, l.Name)
			case !trunked && native.VLAN != "":
				c.Errorf("Tagged network not allowed on non-trunked network links.", docs(native.Ref, l.Ref),
					"Network link native network has a defined VLAN tag (network %s, VLAN %s, NetworkLink %s).", native.Name, native.VLAN, l.Name)
			}
			if !c.facts.allowed[l.Name][l.NativeNetwork] {
				c.Errorf("Add the default network to allowed_networks, or choose one of the allowed networks.", docs(l.Ref),
					"The default_network %s of NetworkLink %s is not among its allowed_networks", l.NativeNetwork, l.Name)
			}
		}
		if trunked {
			for _, name := range l.AllowedNetworks {
				n := d.Network(name)
				if n == nil || name == l.NativeNetwork || n.VLAN != "" {
					continue
				}
				c.Errorf("Give the network a VLAN tag, or make it the link's default_network.", docs(n.Ref, l.Ref),
					"Network %s on trunked NetworkLink %s has no VLAN tag and is not the link's default_network", name, l.Name)
			}
		}
	}
}
