package maassim

import (
	"net/netip"
	"strconv"
	"strings"
)

func updateInterface(c *req) (any, *apiError) {
	m, ifc, e := c.editIfaceArg("update", true)
	if e != nil {
		return nil, e
	}
	if ifc.typ == "bond" && (c.has("parents") || c.has("parent")) && m.status != statusDeployed {
		key := "parents"
		if !c.has(key) {
			key = "parent"
		}
		parents, e := c.parentsArg(m, key, ifc)
		if e != nil {
			return nil, e
		}
		if len(parents) == 0 {
			return nil, fieldError("parents", "A bond interface must have one or more parents.")
		}
		ifc.parents = parents
	}
	if e := c.applyIfaceForm(m, ifc, m.status == statusDeployed); e != nil {
		return nil, e
	}
	return renderIface(m, ifc), nil
}

func deleteInterface(c *req) (any, *apiError) {
	m, ifc, e := c.editIfaceArg("delete", false)
	if e != nil {
		return nil, e
	}
	c.s.st.removeIface(m, ifc)
	return noContent{}, nil
}

// removeIface deletes an interface with the interfaces built on it; the parents of a deleted
// bond or bridge are linked up again.
func (st *state) removeIface(m *machine, ifc *iface) {
	for _, ch := range m.children(ifc) {
		st.removeIface(m, ch)
	}
	var keep []*iface
	for _, o := range m.interfaces {
		if o != ifc {
			keep = append(keep, o)
		}
	}
	m.interfaces = keep
	for _, l := range ifc.links {
		st.dropGateway(m, l.id)
	}
	for _, p := range ifc.parents {
		st.ensureLinkUp(p)
	}
}

func (st *state) dropGateway(m *machine, linkID int) {
	if m.gw4 == linkID {
		m.gw4 = 0
	}
	if m.gw6 == linkID {
		m.gw6 = 0
	}
}

// setGateway makes a link (with a subnet) the machine's default gateway of its address family.
func (m *machine) setGateway(l *link) {
	if l.subnet.cidr.Addr().Is4() {
		m.gw4 = l.id
	} else {
		m.gw6 = l.id
	}
}

// linkSubnet is op=link_subnet: mode AUTO, DHCP, STATIC (an address inside the subnet, free;
// the lowest free one when omitted) or LINK_UP.
func linkSubnet(c *req) (any, *apiError) {
	m, ifc, e := c.editIfaceArg("link subnet on", false)
	if e != nil {
		return nil, e
	}
	st := c.s.st
	mode := strings.ToLower(c.get("mode"))
	switch mode {
	case "":
		return nil, fieldError("mode", "This field is required.")
	case "auto", "dhcp", "static", "link_up":
	default:
		return nil, fieldError("mode", "Select a valid choice. %s is not one of the available choices.", c.get("mode"))
	}
	var sn *subnet
	if v := c.get("subnet"); v != "" {
		if sn = st.subnetBySpec(v); sn == nil {
			return nil, fieldError("subnet", "Select a valid choice. That choice is not one of the available choices.")
		}
	} else if mode != "link_up" {
		return nil, fieldError("subnet", "This field is required.")
	}
	if sn != nil && ifc.vlan != nil && sn.vlan.fabric != ifc.vlan.fabric {
		return nil, fieldError("subnet", "Subnet %s is not on the fabric of interface %s.", sn.cidr, ifc.name)
	}
	defGW := c.formBool("default_gateway", false)
	if defGW {
		if mode != "auto" && mode != "static" {
			return nil, fieldError("default_gateway", "Cannot use in mode '%s'.", mode)
		}
		if sn.gateway == "" {
			return nil, fieldError("default_gateway", "Subnet %s has no gateway IP.", sn.cidr)
		}
	}
	for _, l := range ifc.links {
		if sn != nil && l.subnet == sn {
			return nil, fieldError("subnet", "Interface is already linked to subnet %s.", sn.cidr)
		}
	}
	l := &link{mode: mode, subnet: sn}
	if mode == "static" {
		if v := strings.TrimSpace(c.get("ip_address")); v != "" {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return nil, fieldError("ip_address", "Enter a valid IPv4 or IPv6 address.")
			}
			if !sn.cidr.Contains(a) {
				return nil, fieldError("ip_address", "IP address is not in the given subnet '%s'.", sn.cidr)
			}
			if st.ipUsed(a) {
				return nil, fieldError("ip_address", "IP address is already in use.")
			}
			if r := st.inRanges(sn, a, "dynamic"); r != nil {
				return nil, fieldError("ip_address", "IP address is inside a dynamic range %s-%s.", r.start, r.end)
			}
			l.ip = a.String()
		} else {
			ip, ok := st.freeIP(sn)
			if !ok {
				return nil, textError(503, "No more IPs available in subnet: %s.", sn.cidr)
			}
			l.ip = ip
		}
	} else if c.get("ip_address") != "" {
		return nil, fieldError("ip_address", "IP address can only be set in mode STATIC.")
	}
	if mode == "link_up" {
		if len(ifc.links) > 0 && !c.formBool("force", false) {
			return nil, fieldError("mode", "Cannot configure interface to link up (with no IP address) while other links are already configured. Specify force=True to override this behavior and delete all links.")
		}
		ifc.links = nil
	} else {
		ifc.removeLinkUp()
	}
	if sn != nil && ifc.vlan == nil {
		ifc.vlan = sn.vlan
	}
	l.id = st.next("ip")
	ifc.links = append(ifc.links, l)
	st.holdIP(m, l)
	if defGW {
		m.setGateway(l)
	}
	return renderIface(m, ifc), nil
}

func unlinkSubnet(c *req) (any, *apiError) {
	m, ifc, e := c.editIfaceArg("unlink subnet on", false)
	if e != nil {
		return nil, e
	}
	if c.get("id") == "" {
		return nil, fieldError("id", "This field is required.")
	}
	id, err := strconv.Atoi(c.get("id"))
	for i, l := range ifc.links {
		if err == nil && l.id == id {
			ifc.links = append(ifc.links[:i], ifc.links[i+1:]...)
			c.s.st.dropGateway(m, id)
			c.s.st.ensureLinkUp(ifc)
			return renderIface(m, ifc), nil
		}
	}
	return nil, fieldError("id", "Select a valid choice. %s is not one of the available choices.", c.get("id"))
}

func disconnectInterface(c *req) (any, *apiError) {
	m, ifc, e := c.editIfaceArg("disconnect", false)
	if e != nil {
		return nil, e
	}
	for _, l := range ifc.links {
		c.s.st.dropGateway(m, l.id)
	}
	ifc.links = nil
	ifc.vlan = nil
	return renderIface(m, ifc), nil
}

func setDefaultGateway(c *req) (any, *apiError) {
	m, ifc, e := c.editIfaceArg("set default gateway for", false)
	if e != nil {
		return nil, e
	}
	var cands []*link
	for _, l := range ifc.links {
		if (l.mode == "auto" || l.mode == "static") && l.subnet != nil && l.subnet.gateway != "" {
			if c.get("link_id") == "" || strconv.Itoa(l.id) == c.get("link_id") {
				cands = append(cands, l)
			}
		}
	}
	if len(cands) == 0 {
		if c.get("link_id") != "" {
			return nil, fieldError("link_id", "Select a valid choice. %s is not one of the available choices.", c.get("link_id"))
		}
		return nil, fieldError("__all__", "This interface has no usable gateways.")
	}
	for _, l := range cands {
		m.setGateway(l)
	}
	return renderIface(m, ifc), nil
}

func interfaceAddTag(c *req) (any, *apiError)    { return interfaceTag(c, true) }
func interfaceRemoveTag(c *req) (any, *apiError) { return interfaceTag(c, false) }

// interfaceTag adds a tag (unless the interface has it, in any case) or removes it.
func interfaceTag(c *req, add bool) (any, *apiError) {
	m, ifc, e := c.ifaceArg()
	if e != nil {
		return nil, e
	}
	t := c.get("tag")
	if t == "" {
		return nil, missingParam("tag")
	}
	if !add {
		ifc.tags = editTags(ifc.tags, t, false)
	} else if !containsFold(ifc.tags, t) {
		ifc.tags = append(ifc.tags, t)
	}
	return renderIface(m, ifc), nil
}
