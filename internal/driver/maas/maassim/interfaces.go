package maassim

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

type iface struct {
	id             int
	name, typ, mac string
	vlan           *vlan
	parents        []*iface
	tags           []string
	enabled        bool
	links          []*link
	params         map[string]any // bond_*, bridge_* and mtu
	linkConnected  bool
	interfaceSpeed int
	linkSpeed      int
	vendor         string
	product        string
	pci            string
}

// link is a StaticIPAddress of an interface: its mode, subnet and address.
type link struct {
	id     int
	mode   string // auto, dhcp, static, link_up
	subnet *subnet
	ip     string
}

func (ifc *iface) mtu() int {
	if v, ok := ifc.params["mtu"].(int); ok && v > 0 {
		return v
	}
	return 0
}

func (ifc *iface) effectiveMTU() int {
	if v := ifc.mtu(); v > 0 {
		return v
	}
	if ifc.vlan != nil {
		return ifc.vlan.mtu
	}
	return 1500
}

// ensureLinkUp gives a connected interface without links a bare LINK_UP link, as MAAS does.
func (st *state) ensureLinkUp(ifc *iface) {
	if len(ifc.links) == 0 && ifc.vlan != nil && ifc.enabled {
		ifc.links = append(ifc.links, &link{id: st.next("ip"), mode: "link_up"})
	}
}

func (ifc *iface) removeLinkUp() {
	var ls []*link
	for _, l := range ifc.links {
		if l.mode != "link_up" {
			ls = append(ls, l)
		}
	}
	ifc.links = ls
}

// resetNetwork restores the discovered network configuration: one physical interface per
// NIC (keeping the ids of known MACs), the boot interface on the VLAN it booted from with an
// AUTO link to its first subnet, the other cabled NICs linked up on their VLAN, no bond, VLAN
// or bridge interface.
func (st *state) resetNetwork(m *machine) {
	old := map[string]*iface{}
	for _, ifc := range m.interfaces {
		if ifc.typ == "physical" {
			old[ifc.mac] = ifc
		}
	}
	m.interfaces = nil
	for _, n := range m.spec.Interfaces {
		ifc := old[n.MAC]
		if ifc == nil {
			ifc = &iface{id: st.next("iface")}
		}
		boot := n.MAC == m.spec.BootMAC
		*ifc = iface{id: ifc.id, name: n.Name, typ: "physical", mac: n.MAC, enabled: true, tags: []string{},
			params: map[string]any{}, vlan: st.vlanForNIC(n, boot), interfaceSpeed: n.SpeedMbps, pci: n.PCIAddress,
			vendor: "Intel Corporation", product: "Ethernet Controller X710 for 10GbE SFP+"}
		if ifc.vlan != nil {
			ifc.linkConnected = true
			ifc.linkSpeed = n.SpeedMbps
			if subs := st.vlanSubnets(ifc.vlan); boot && len(subs) > 0 {
				ifc.links = []*link{{id: st.next("ip"), mode: "auto", subnet: subs[0]}}
			}
			st.ensureLinkUp(ifc)
		}
		m.interfaces = append(m.interfaces, ifc)
	}
}

// clearNetwork is what starting a commissioning clears: every non-physical interface and
// every link.
func (st *state) clearNetwork(m *machine) {
	var keep []*iface
	for _, ifc := range m.interfaces {
		if ifc.typ == "physical" {
			ifc.links = nil
			ifc.parents = nil
			keep = append(keep, ifc)
		}
	}
	m.interfaces = keep
}

// claimAutoIPs gives every AUTO link an address, as deployment does (503 when a subnet is
// exhausted).
func (st *state) claimAutoIPs(m *machine) *apiError {
	var done []*link
	for _, ifc := range m.interfaces {
		for _, l := range ifc.links {
			if l.mode != "auto" || l.ip != "" || l.subnet == nil {
				continue
			}
			ip, ok := st.freeIP(l.subnet)
			if !ok {
				for _, d := range done {
					d.ip = ""
				}
				e := textError(http.StatusServiceUnavailable, "No more IPs available in subnet: %s.", l.subnet.cidr)
				return e
			}
			l.ip = ip
			st.holdIP(m, l)
			done = append(done, l)
		}
	}
	return nil
}

func (st *state) releaseAutoIPs(m *machine) {
	for _, ifc := range m.interfaces {
		for _, l := range ifc.links {
			if l.mode == "auto" {
				l.ip = ""
			}
		}
	}
}

func (m *machine) iface(key string) *iface {
	for _, ifc := range m.interfaces {
		if strconv.Itoa(ifc.id) == key || ifc.name == key {
			return ifc
		}
	}
	return nil
}

func (m *machine) children(ifc *iface) []*iface {
	var out []*iface
	for _, o := range m.interfaces {
		for _, p := range o.parents {
			if p == ifc {
				out = append(out, o)
			}
		}
	}
	return out
}

// JSON (maas_api.md §6.2).

type linkJSON struct {
	ID        int         `json:"id"`
	Mode      string      `json:"mode"`
	IPAddress string      `json:"ip_address,omitempty"`
	Subnet    *subnetJSON `json:"subnet,omitempty"`
}

type ifaceJSON struct {
	SystemID        string     `json:"system_id"`
	ID              int        `json:"id"`
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	VLAN            *vlanJSON  `json:"vlan"`
	MACAddress      string     `json:"mac_address"`
	Parents         []string   `json:"parents"`
	Children        []string   `json:"children"`
	Tags            []string   `json:"tags"`
	Enabled         bool       `json:"enabled"`
	Links           []linkJSON `json:"links"`
	Params          any        `json:"params"`
	Discovered      []any      `json:"discovered"`
	EffectiveMTU    int        `json:"effective_mtu"`
	Vendor          *string    `json:"vendor"`
	Product         *string    `json:"product"`
	FirmwareVersion *string    `json:"firmware_version"`
	LinkConnected   bool       `json:"link_connected"`
	InterfaceSpeed  int        `json:"interface_speed"`
	LinkSpeed       int        `json:"link_speed"`
	NUMANode        *int       `json:"numa_node"`
	SRIOVMaxVF      int        `json:"sriov_max_vf"`
	ResourceURI     string     `json:"resource_uri"`
}

func renderIface(m *machine, ifc *iface) *ifaceJSON {
	j := &ifaceJSON{SystemID: m.systemID, ID: ifc.id, Name: ifc.name, Type: ifc.typ, VLAN: renderVLAN(ifc.vlan),
		MACAddress: ifc.mac, Parents: []string{}, Children: []string{}, Tags: append([]string{}, ifc.tags...),
		Enabled: ifc.enabled, Links: []linkJSON{}, Params: "", EffectiveMTU: ifc.effectiveMTU(),
		Vendor: nstr(ifc.vendor), Product: nstr(ifc.product), LinkConnected: ifc.linkConnected,
		InterfaceSpeed: ifc.interfaceSpeed, LinkSpeed: ifc.linkSpeed,
		ResourceURI: fmt.Sprintf("%snodes/%s/interfaces/%d/", Prefix, m.systemID, ifc.id)}
	if ifc.typ == "physical" {
		zero := 0
		j.NUMANode = &zero
	}
	for _, p := range ifc.parents {
		j.Parents = append(j.Parents, p.name)
	}
	for _, ch := range m.children(ifc) {
		j.Children = append(j.Children, ch.name)
	}
	for _, l := range ifc.links {
		j.Links = append(j.Links, linkJSON{ID: l.id, Mode: l.mode, IPAddress: l.ip, Subnet: renderSubnet(l.subnet)})
	}
	if len(ifc.params) > 0 {
		p := map[string]any{}
		for k, v := range ifc.params {
			p[k] = v
		}
		j.Params = p
	}
	return j
}

// Handlers (maas_api.md §5.2).

// node resolves nodes/{sid}/… to any node type.
func (c *req) node() (*machine, *apiError) {
	m := c.s.st.bySID[c.seg[1]]
	if m == nil {
		return nil, notFound("Node")
	}
	c.fx = append(c.fx, c.s.st.settle(m)...)
	return m, nil
}

// editInterfaces gates interface edits on the machine status.
func (c *req) editInterfaces(m *machine, op string, allowDeployed bool) *apiError {
	if m.nodeType != nodeMachine {
		if op == "create" || op == "delete" {
			return forbidden("Cannot %s interface on a controller.", op)
		}
		return nil
	}
	switch m.status {
	case statusNew, statusReady, statusAllocated, statusBroken, statusFailedTesting:
		return nil
	case statusDeployed:
		if allowDeployed {
			return nil
		}
	}
	return conflict("Cannot %s interface because the machine is not New, Ready, Allocated, or Broken.", op)
}

func listInterfaces(c *req) (any, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, e
	}
	out := []*ifaceJSON{}
	for _, ifc := range m.interfaces {
		out = append(out, renderIface(m, ifc))
	}
	return out, nil
}

func (c *req) ifaceArg() (*machine, *iface, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, nil, e
	}
	ifc := m.iface(c.seg[3])
	if ifc == nil {
		return nil, nil, notFound("Interface")
	}
	return m, ifc, nil
}

// editIfaceArg is ifaceArg for an edit the machine's status must allow (editInterfaces).
func (c *req) editIfaceArg(op string, allowDeployed bool) (*machine, *iface, *apiError) {
	m, ifc, e := c.ifaceArg()
	if e != nil {
		return nil, nil, e
	}
	if e := c.editInterfaces(m, op, allowDeployed); e != nil {
		return nil, nil, e
	}
	return m, ifc, nil
}

// createIfaceNode resolves the node of nodes/{sid}/interfaces/ for an interface creation the
// machine's status must allow.
func (c *req) createIfaceNode() (*machine, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, e
	}
	if e := c.editInterfaces(m, "create", false); e != nil {
		return nil, e
	}
	return m, nil
}

// addIface adds a created interface to the machine, linked up if it has no link, and renders it.
func (st *state) addIface(m *machine, ifc *iface) *ifaceJSON {
	m.interfaces = append(m.interfaces, ifc)
	st.ensureLinkUp(ifc)
	return renderIface(m, ifc)
}

func getInterface(c *req) (any, *apiError) {
	m, ifc, e := c.ifaceArg()
	if e != nil {
		return nil, e
	}
	return renderIface(m, ifc), nil
}

func validMAC(s string) (string, bool) {
	hw, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil || len(hw) != 6 {
		return "", false
	}
	return hw.String(), true
}

// applyCommonForm applies name, mac_address, tags, vlan, mtu and the bond/bridge settings.
func (c *req) applyIfaceForm(m *machine, ifc *iface, deployed bool) *apiError {
	st := c.s.st
	n := *ifc
	n.params = map[string]any{}
	for k, v := range ifc.params {
		n.params[k] = v
	}
	if c.has("name") && c.get("name") != "" {
		name := c.get("name")
		if o := m.iface(name); o != nil && o != ifc {
			return fieldError("name", "Interface with this name already exists on the node.")
		}
		n.name = name
	}
	if c.has("mac_address") && c.get("mac_address") != "" {
		mac, ok := validMAC(c.get("mac_address"))
		if !ok {
			return fieldError("mac_address", "'%s' is not a valid MAC address.", c.get("mac_address"))
		}
		n.mac = mac
	}
	if c.has("tags") {
		n.tags = c.listComma("tags")
		if n.tags == nil {
			n.tags = []string{}
		}
	}
	for _, k := range []string{"link_connected"} {
		if c.has(k) {
			n.linkConnected = c.formBool(k, n.linkConnected)
		}
	}
	for _, f := range []struct {
		k   string
		dst *int
	}{{"interface_speed", &n.interfaceSpeed}, {"link_speed", &n.linkSpeed}} {
		v, e := c.formInt(f.k, *f.dst)
		if e != nil {
			return e
		}
		*f.dst = v
	}
	if deployed {
		*ifc = n
		return nil
	}
	if c.has("enabled") {
		n.enabled = c.formBool("enabled", true)
	}
	if c.has("vlan") {
		if c.get("vlan") == "" {
			n.vlan = nil
		} else if v := st.vlanByID(c.get("vlan")); v == nil {
			return fieldError("vlan", "Select a valid choice. That choice is not one of the available choices.")
		} else {
			if ifc.typ == "vlan" && v.vid == 0 {
				return fieldError("vlan", "A VLAN interface can only belong to a tagged VLAN.")
			}
			n.vlan = v
		}
	}
	if c.has("mtu") && c.get("mtu") != "" {
		mtu, e := c.formInt("mtu", 0)
		if e != nil {
			return e
		}
		if mtu < 552 || mtu > 65535 {
			return fieldError("mtu", "Ensure this value is between 552 and 65535.")
		}
		n.params["mtu"] = mtu
	}
	if e := c.applyBondParams(&n); e != nil {
		return e
	}
	if n.vlan != ifc.vlan {
		var ls []*link
		for _, l := range n.links {
			if l.subnet != nil && l.subnet.vlan == n.vlan {
				ls = append(ls, l)
			}
		}
		n.links = ls
		if n.vlan == nil {
			n.links = nil
		}
	}
	*ifc = n
	st.ensureLinkUp(ifc)
	return nil
}

var bondModes = []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}
var hashPolicies = []string{"layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4"}

func (c *req) applyBondParams(n *iface) *apiError {
	if n.typ == "bond" {
		for _, f := range []struct {
			k       string
			choices []string
		}{{"bond_mode", bondModes}, {"bond_lacp_rate", []string{"fast", "slow"}},
			{"bond_xmit_hash_policy", hashPolicies}} {
			if c.has(f.k) && c.get(f.k) != "" {
				v := c.get(f.k)
				if !containsFold(f.choices, v) {
					return fieldError(f.k, "Select a valid choice. %s is not one of the available choices.", v)
				}
				n.params[f.k] = v
			}
		}
		for _, k := range []string{"bond_miimon", "bond_downdelay", "bond_updelay", "bond_num_grat_arp"} {
			if c.has(k) && c.get(k) != "" {
				v, e := c.formInt(k, 0)
				if e != nil {
					return e
				}
				n.params[k] = v
			}
		}
	}
	if n.typ == "bridge" {
		if c.has("bridge_type") && c.get("bridge_type") != "" {
			v := c.get("bridge_type")
			if v != "standard" && v != "ovs" {
				return fieldError("bridge_type", "Select a valid choice. %s is not one of the available choices.", v)
			}
			n.params["bridge_type"] = v
		}
		if c.has("bridge_stp") {
			n.params["bridge_stp"] = c.formBool("bridge_stp", false)
		}
		if c.has("bridge_fd") && c.get("bridge_fd") != "" {
			v, e := c.formInt("bridge_fd", 15)
			if e != nil {
				return e
			}
			n.params["bridge_fd"] = v
		}
	}
	return nil
}

func createPhysical(c *req) (any, *apiError) {
	m, e := c.createIfaceNode()
	if e != nil {
		return nil, e
	}
	mac, ok := validMAC(c.get("mac_address"))
	if c.get("mac_address") == "" {
		return nil, fieldError("mac_address", "This field is required.")
	}
	if !ok {
		return nil, fieldError("mac_address", "'%s' is not a valid MAC address.", c.get("mac_address"))
	}
	for _, o := range c.s.st.nodes {
		for _, ifc := range o.interfaces {
			if ifc.mac == mac && ifc.typ == "physical" {
				return nil, fieldError("mac_address", "This MAC address is already in use by %s.", o.hostname)
			}
		}
	}
	ifc := &iface{id: c.s.st.next("iface"), typ: "physical", mac: mac, enabled: true, tags: []string{},
		params: map[string]any{}, name: fmt.Sprintf("eth%d", len(m.interfaces))}
	if e := c.applyIfaceForm(m, ifc, false); e != nil {
		return nil, e
	}
	return c.s.st.addIface(m, ifc), nil
}

// parentsArg resolves the parents of a bond (ids or names of the same node's interfaces); an
// interface another bond than self already uses is refused (self: the bond being updated, or
// nil on create).
func (c *req) parentsArg(m *machine, key string, self *iface) ([]*iface, *apiError) {
	var out []*iface
	for _, v := range c.listComma(key) {
		p := m.iface(v)
		if p == nil {
			return nil, fieldError(key, "Select a valid choice. %s is not one of the available choices.", v)
		}
		for _, ch := range m.children(p) {
			if ch.typ == "bond" && ch != self {
				return nil, fieldError(key, "Interface %s is already in use by %s.", p.name, ch.name)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func createBond(c *req) (any, *apiError) {
	m, e := c.createIfaceNode()
	if e != nil {
		return nil, e
	}
	fe := fieldErrors{}
	if c.get("name") == "" {
		fe.add("name", "This field is required.")
	}
	parents, e := c.parentsArg(m, "parents", nil)
	if e != nil {
		return nil, e
	}
	if len(parents) == 0 {
		fe.add("parents", "A bond interface must have one or more parents.")
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	bond := &iface{id: c.s.st.next("iface"), typ: "bond", mac: parents[0].mac, enabled: true, tags: []string{},
		parents: parents, vlan: parents[0].vlan, linkConnected: true,
		params: map[string]any{"bond_mode": "active-backup", "bond_miimon": 100, "bond_downdelay": 0,
			"bond_updelay": 0, "bond_lacp_rate": "slow", "bond_xmit_hash_policy": "layer2", "bond_num_grat_arp": 1}}
	if e := c.applyIfaceForm(m, bond, false); e != nil {
		return nil, e
	}
	for _, p := range parents {
		p.links = nil
		p.vlan = bond.vlan
	}
	return c.s.st.addIface(m, bond), nil
}

func createVLANInterface(c *req) (any, *apiError) {
	m, e := c.createIfaceNode()
	if e != nil {
		return nil, e
	}
	fe := fieldErrors{}
	if c.get("vlan") == "" {
		fe.add("vlan", "This field is required.")
	}
	if c.get("parent") == "" {
		fe.add("parent", "This field is required.")
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	v := c.s.st.vlanByID(c.get("vlan"))
	if v == nil {
		return nil, fieldError("vlan", "Select a valid choice. That choice is not one of the available choices.")
	}
	if v.vid == 0 {
		return nil, fieldError("vlan", "A VLAN interface can only belong to a tagged VLAN.")
	}
	parents, e := c.parentsArg(m, "parent", nil)
	if e != nil {
		return nil, e
	}
	for _, o := range m.interfaces {
		if o.typ == "vlan" && o.vlan == v && len(o.parents) == 1 && o.parents[0] == parents[0] {
			return nil, fieldError("__all__", "A VLAN interface with this parent and VLAN already exists.")
		}
	}
	ifc := &iface{id: c.s.st.next("iface"), typ: "vlan", mac: parents[0].mac, enabled: true, tags: []string{},
		parents: parents[:1], vlan: v, linkConnected: true, params: map[string]any{},
		name: fmt.Sprintf("%s.%d", parents[0].name, v.vid)}
	form := c.form
	c.form = cloneValues(form, "name", "vlan")
	e = c.applyIfaceForm(m, ifc, false)
	c.form = form
	if e != nil {
		return nil, e
	}
	return c.s.st.addIface(m, ifc), nil
}

func createBridge(c *req) (any, *apiError) {
	m, e := c.createIfaceNode()
	if e != nil {
		return nil, e
	}
	if c.get("parent") == "" {
		return nil, fieldError("parent", "This field is required.")
	}
	parents, e := c.parentsArg(m, "parent", nil)
	if e != nil {
		return nil, e
	}
	br := &iface{id: c.s.st.next("iface"), typ: "bridge", mac: parents[0].mac, enabled: true, tags: []string{},
		parents: parents[:1], vlan: parents[0].vlan, linkConnected: true, name: "br-" + parents[0].name,
		params: map[string]any{"bridge_type": "standard", "bridge_stp": false, "bridge_fd": 15}}
	if e := c.applyIfaceForm(m, br, false); e != nil {
		return nil, e
	}
	parents[0].links = nil
	return c.s.st.addIface(m, br), nil
}

func cloneValues(v map[string][]string, drop ...string) map[string][]string {
	out := map[string][]string{}
	for k, x := range v {
		if !containsFold(drop, k) {
			out[k] = x
		}
	}
	return out
}
