package bootaction

import (
	"github.com/drydock-go/drydock/internal/design"
)

// ActionInfo is what the template context says about one boot action of one deployment.
type ActionInfo struct {
	ID        string // the action's ULID (26 characters, Crockford base32)
	KeyHex    string // the node's identity key in hex (the same for all actions of a deployment)
	ReportURL string // base URL of the boot action API
	DesignRef string // design reference of the deployment
}

// NodeInfo is the part of ActionInfo that is the same for every action of a node's deployment.
type NodeInfo struct {
	KeyHex    string
	ReportURL string
	DesignRef string
}

// Action returns the ActionInfo of the action with the given id.
func (ni NodeInfo) Action(id string) ActionInfo {
	return ActionInfo{ID: id, KeyHex: ni.KeyHex, ReportURL: ni.ReportURL, DesignRef: ni.DesignRef}
}

// TemplateData is the template context of one node and one action:
//
//	node.hostname                 the node's name
//	node.domain                   dns domain of the node's primary network, else "local"
//	node.tags                     []string
//	node.labels                   owner_data, map[string]string
//	node.network.<net>.ip         for each addressing entry with an address (not dhcp)
//	node.network.<net>.cidr       the network's CIDR
//	node.network.<net>.dns_suffix the network's DNS domain
//	node.network.default          the entry of the primary network, when it has an address
//	node.interfaces.<dev>.sriov   bool; vf_count (int) and trustedmode (bool) when true
//	action.action_id              ActionInfo.ID
//	action.action_key             ActionInfo.KeyHex
//	action.report_url             ActionInfo.ReportURL
//	action.design_ref             ActionInfo.DesignRef
//
// The values are plain maps, slices, strings, ints and bools, freshly built on every call.
func TemplateData(site *design.Site, n *design.Node, a ActionInfo) map[string]any {
	return map[string]any{"node": nodeData(site, n), "action": actionData(a)}
}

func actionData(a ActionInfo) map[string]any {
	return map[string]any{
		"action_id":  a.ID,
		"action_key": a.KeyHex,
		"report_url": a.ReportURL,
		"design_ref": a.DesignRef,
	}
}

func nodeData(site *design.Site, n *design.Node) map[string]any {
	tags := append([]string{}, n.Tags...)
	labels := make(map[string]string, len(n.OwnerData))
	for _, p := range n.OwnerData {
		labels[p.Key] = p.Value
	}
	domain := n.Domain
	if domain == "" {
		domain = "local"
	}
	networks := map[string]any{}
	for _, a := range n.Addressing {
		if a.Address == "" { // dhcp, or no address: the original left these out too
			continue
		}
		entry := map[string]any{"ip": a.Address, "cidr": "", "dns_suffix": ""}
		if net := lookupNetwork(site, a.Network); net != nil {
			entry["cidr"] = net.CIDR
			entry["dns_suffix"] = net.DNSDomain
		}
		networks[a.Network] = entry
		if a.Network == n.PrimaryNetwork {
			networks["default"] = entry
		}
	}
	interfaces := make(map[string]any, len(n.Interfaces))
	for _, it := range n.Interfaces {
		e := map[string]any{"sriov": it.SRIOV != nil}
		if it.SRIOV != nil {
			e["vf_count"] = it.SRIOV.VFCount
			e["trustedmode"] = it.SRIOV.TrustedMode
		}
		interfaces[it.Name] = e
	}
	return map[string]any{
		"hostname":   n.Name,
		"domain":     domain,
		"tags":       tags,
		"labels":     labels,
		"network":    networks,
		"interfaces": interfaces,
	}
}

// lookupNetwork finds a network in the applied site, or in its design when the site was built
// by hand (tests, tools) without the index.
func lookupNetwork(site *design.Site, name string) *design.Network {
	if site == nil {
		return nil
	}
	if net := site.Network(name); net != nil {
		return net
	}
	for _, net := range site.Networks {
		if net.Name == name {
			return net
		}
	}
	if site.Design != nil {
		return site.Design.Network(name)
	}
	return nil
}

// Targeting returns the boot actions of the site whose targets contain the node, in design
// order.
func Targeting(site *design.Site, node string) []*design.AppliedBootAction {
	var out []*design.AppliedBootAction
	for _, ba := range site.BootActions {
		for _, t := range ba.Targets {
			if t == node {
				out = append(out, ba)
				break
			}
		}
	}
	return out
}
