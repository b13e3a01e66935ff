package maassim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

type fabric struct {
	id                           int
	name, description, classType string
	vlans                        []*vlan
}

type vlan struct {
	id, vid            int
	name, description  string
	mtu                int
	dhcpOn             bool
	primary, secondary string // rack system ids
	relay              *vlan
	space              string
	fabric             *fabric
}

type subnet struct {
	id                int
	name, description string
	vlan              *vlan
	cidr              netip.Prefix
	gateway           string
	dns               []string
	rdnsMode          int
	allowDNS          bool
	allowProxy        bool
	activeDiscovery   bool
	managed           bool
	disabledBoot      []string
}

type ipRange struct {
	id         int
	typ        string
	start, end netip.Addr
	comment    string
	subnet     *subnet
}

type staticRoute struct {
	id       int
	src, dst *subnet
	gateway  string
	metric   int
}

type domain struct {
	id            int
	name          string
	authoritative bool
	isDefault     bool
	ttl           *int
}

type space struct {
	id                int
	name, description string
}

func nstr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newFabric creates a fabric with its untagged default VLAN (vid 0).
func (st *state) newFabric(name, description, classType string) *fabric {
	f := &fabric{id: st.next("fabric"), name: name, description: description, classType: classType}
	if f.name == "" {
		f.name = fmt.Sprintf("fabric-%d", f.id)
	}
	st.fabrics = append(st.fabrics, f)
	st.newVLAN(f, 0, "untagged", 1500)
	return f
}

func (st *state) newVLAN(f *fabric, vid int, name string, mtu int) *vlan {
	v := &vlan{id: st.next("vlan"), vid: vid, name: name, mtu: mtu, fabric: f}
	f.vlans = append(f.vlans, v)
	st.vlans[v.id] = v
	return v
}

func (f *fabric) defaultVLAN() *vlan { return f.vlans[0] }

func (st *state) fabricByID(s string) *fabric {
	id, err := strconv.Atoi(s)
	if err != nil {
		for _, f := range st.fabrics {
			if f.name == s {
				return f
			}
		}
		return nil
	}
	for _, f := range st.fabrics {
		if f.id == id {
			return f
		}
	}
	return nil
}

func (st *state) vlanByID(s string) *vlan {
	id, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return nil
	}
	return st.vlans[id]
}

// subnetBySpec resolves a subnet id or specifier: an id, a CIDR, or cidr:, name:, ip:, vid:.
func (st *state) subnetBySpec(spec string) *subnet {
	spec = strings.TrimSpace(spec)
	kind, val, _ := strings.Cut(spec, ":")
	switch kind {
	case "cidr", "name", "ip", "vid":
	default:
		kind, val = "", spec
	}
	for _, sn := range st.subnets {
		switch kind {
		case "":
			if id, err := strconv.Atoi(val); err == nil {
				if sn.id == id {
					return sn
				}
			} else if p, err := netip.ParsePrefix(val); err == nil && p.Masked() == sn.cidr {
				return sn
			} else if sn.name == val {
				return sn
			}
		case "cidr":
			if p, err := netip.ParsePrefix(val); err == nil && p.Masked() == sn.cidr {
				return sn
			}
		case "name":
			if sn.name == val {
				return sn
			}
		case "ip":
			if a, err := netip.ParseAddr(val); err == nil && sn.cidr.Contains(a) {
				return sn
			}
		case "vid":
			if sn.vlan != nil && strconv.Itoa(sn.vlan.vid) == val {
				return sn
			}
		}
	}
	return nil
}

func (st *state) subnetByCIDR(cidr string) *subnet {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil {
		return nil
	}
	for _, sn := range st.subnets {
		if sn.cidr == p.Masked() {
			return sn
		}
	}
	return nil
}

func (st *state) vlanSubnets(v *vlan) []*subnet {
	var out []*subnet
	for _, sn := range st.subnets {
		if sn.vlan == v {
			out = append(out, sn)
		}
	}
	return out
}

// JSON shapes (maas_api.md §6.2).

type vlanJSON struct {
	ID            int       `json:"id"`
	Name          string    `json:"name"`
	VID           int       `json:"vid"`
	Fabric        string    `json:"fabric"`
	FabricID      int       `json:"fabric_id"`
	MTU           int       `json:"mtu"`
	PrimaryRack   *string   `json:"primary_rack"`
	SecondaryRack *string   `json:"secondary_rack"`
	DHCPOn        bool      `json:"dhcp_on"`
	ExternalDHCP  *string   `json:"external_dhcp"`
	RelayVLAN     *vlanJSON `json:"relay_vlan"`
	Space         string    `json:"space"`
	Description   string    `json:"description"`
	ResourceURI   string    `json:"resource_uri"`
}

func renderVLAN(v *vlan) *vlanJSON {
	if v == nil {
		return nil
	}
	j := &vlanJSON{ID: v.id, Name: v.displayName(), VID: v.vid, Fabric: v.fabric.name, FabricID: v.fabric.id, MTU: v.mtu,
		PrimaryRack: nstr(v.primary), SecondaryRack: nstr(v.secondary), DHCPOn: v.dhcpOn, Space: orUndefined(v.space),
		Description: v.description, ResourceURI: fmt.Sprintf("%svlans/%d/", Prefix, v.id)}
	if v.relay != nil {
		r := *renderVLAN(&vlan{id: v.relay.id, vid: v.relay.vid, name: v.relay.name, mtu: v.relay.mtu, dhcpOn: v.relay.dhcpOn,
			primary: v.relay.primary, secondary: v.relay.secondary, space: v.relay.space, fabric: v.relay.fabric,
			description: v.relay.description})
		j.RelayVLAN = &r
	}
	return j
}

func (v *vlan) displayName() string {
	if v.name != "" {
		return v.name
	}
	if v.vid == 0 {
		return "untagged"
	}
	return strconv.Itoa(v.vid)
}

func orUndefined(s string) string {
	if s == "" {
		return "undefined"
	}
	return s
}

type fabricJSON struct {
	ID          int         `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	ClassType   *string     `json:"class_type"`
	VLANs       []*vlanJSON `json:"vlans"`
	ResourceURI string      `json:"resource_uri"`
}

func renderFabric(f *fabric) *fabricJSON {
	j := &fabricJSON{ID: f.id, Name: f.name, Description: f.description, ClassType: nstr(f.classType),
		VLANs: []*vlanJSON{}, ResourceURI: fmt.Sprintf("%sfabrics/%d/", Prefix, f.id)}
	for _, v := range f.vlans {
		j.VLANs = append(j.VLANs, renderVLAN(v))
	}
	return j
}

type subnetJSON struct {
	ID                       int       `json:"id"`
	Name                     string    `json:"name"`
	Description              string    `json:"description"`
	VLAN                     *vlanJSON `json:"vlan"`
	CIDR                     string    `json:"cidr"`
	RDNSMode                 int       `json:"rdns_mode"`
	GatewayIP                *string   `json:"gateway_ip"`
	DNSServers               []string  `json:"dns_servers"`
	AllowDNS                 bool      `json:"allow_dns"`
	AllowProxy               bool      `json:"allow_proxy"`
	ActiveDiscovery          bool      `json:"active_discovery"`
	Managed                  bool      `json:"managed"`
	DisabledBootArchitecture []string  `json:"disabled_boot_architectures"`
	Space                    string    `json:"space"`
	ResourceURI              string    `json:"resource_uri"`
}

func renderSubnet(sn *subnet) *subnetJSON {
	if sn == nil {
		return nil
	}
	return &subnetJSON{ID: sn.id, Name: sn.name, Description: sn.description, VLAN: renderVLAN(sn.vlan),
		CIDR: sn.cidr.String(), RDNSMode: sn.rdnsMode, GatewayIP: nstr(sn.gateway),
		DNSServers: append([]string{}, sn.dns...), AllowDNS: sn.allowDNS, AllowProxy: sn.allowProxy,
		ActiveDiscovery: sn.activeDiscovery, Managed: sn.managed,
		DisabledBootArchitecture: append([]string{}, sn.disabledBoot...), Space: orUndefined(sn.vlan.space),
		ResourceURI: fmt.Sprintf("%ssubnets/%d/", Prefix, sn.id)}
}

type ipRangeJSON struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	StartIP     string      `json:"start_ip"`
	EndIP       string      `json:"end_ip"`
	Comment     string      `json:"comment"`
	User        *userJSON   `json:"user"`
	Subnet      *subnetJSON `json:"subnet"`
	ResourceURI string      `json:"resource_uri"`
}

func renderRange(r *ipRange) *ipRangeJSON {
	return &ipRangeJSON{ID: r.id, Type: r.typ, StartIP: r.start.String(), EndIP: r.end.String(), Comment: r.comment,
		User:   renderUser(&user{username: "admin", email: "admin@example.com", superuser: true}),
		Subnet: renderSubnet(r.subnet), ResourceURI: fmt.Sprintf("%sipranges/%d/", Prefix, r.id)}
}

type routeJSON struct {
	ID          int         `json:"id"`
	Source      *subnetJSON `json:"source"`
	Destination *subnetJSON `json:"destination"`
	GatewayIP   string      `json:"gateway_ip"`
	Metric      int         `json:"metric"`
	ResourceURI string      `json:"resource_uri"`
}

func renderRoute(r *staticRoute) *routeJSON {
	return &routeJSON{ID: r.id, Source: renderSubnet(r.src), Destination: renderSubnet(r.dst), GatewayIP: r.gateway,
		Metric: r.metric, ResourceURI: fmt.Sprintf("%sstatic-routes/%d/", Prefix, r.id)}
}

type domainJSON struct {
	ID                  int    `json:"id"`
	Name                string `json:"name"`
	Authoritative       bool   `json:"authoritative"`
	TTL                 *int   `json:"ttl"`
	IsDefault           bool   `json:"is_default"`
	ResourceRecordCount int    `json:"resource_record_count"`
	ResourceURI         string `json:"resource_uri"`
}

func renderDomain(d *domain) *domainJSON {
	return &domainJSON{ID: d.id, Name: d.name, Authoritative: d.authoritative, TTL: d.ttl, IsDefault: d.isDefault,
		ResourceURI: fmt.Sprintf("%sdomains/%d/", Prefix, d.id)}
}

// ipHolder is a link that was given an address, with its node.
type ipHolder struct {
	m *machine
	l *link
}

// holdIP records that a node's link was given an address (every place that sets link.ip to
// an address calls it), so that ipUsed need not scan every node's links. Entries are checked
// when read: the link may since have been unlinked, its interface or node deleted, or its
// address cleared or changed, none of which needs to update the index.
func (st *state) holdIP(m *machine, l *link) {
	a, err := netip.ParseAddr(l.ip)
	if err != nil {
		return
	}
	for _, h := range st.ips[a] {
		if h.l == l {
			return
		}
	}
	st.ips[a] = append(st.ips[a], ipHolder{m, l})
}

// ipUsed reports whether a link of a node holds the address: usedIPs()[a], at the cost of
// checking the few links recorded for it.
func (st *state) ipUsed(a netip.Addr) bool {
	hs := st.ips[a]
	if len(hs) == 0 {
		return false
	}
	live := hs[:0]
	for _, h := range hs {
		if st.holds(h, a) {
			live = append(live, h)
		}
	}
	if len(live) == 0 {
		delete(st.ips, a)
		return false
	}
	st.ips[a] = live
	return true
}

// holds reports whether the holder's link still holds the address: the node still exists and
// one of its interfaces still has the link, with that address.
func (st *state) holds(h ipHolder, a netip.Addr) bool {
	if st.bySID[h.m.systemID] != h.m {
		return false
	}
	if b, err := netip.ParseAddr(h.l.ip); err != nil || b != a {
		return false
	}
	for _, ifc := range h.m.interfaces {
		for _, l := range ifc.links {
			if l == h.l {
				return true
			}
		}
	}
	return false
}

// usedIPs is every address held by a node's links (a scan of every node: for the rare
// listings; ipUsed answers for one address).
func (st *state) usedIPs() map[netip.Addr]bool {
	used := map[netip.Addr]bool{}
	for _, m := range st.nodes {
		for _, ifc := range m.interfaces {
			for _, l := range ifc.links {
				if a, err := netip.ParseAddr(l.ip); err == nil {
					used[a] = true
				}
			}
		}
	}
	return used
}

// inRanges reports whether an address is inside one of the subnet's IP ranges.
func (st *state) inRanges(sn *subnet, a netip.Addr, types ...string) *ipRange {
	for _, r := range st.ipranges {
		if r.subnet != sn || (len(types) > 0 && !containsFold(types, r.typ)) {
			continue
		}
		if r.start.Compare(a) <= 0 && a.Compare(r.end) <= 0 {
			return r
		}
	}
	return nil
}

// freeIP picks the lowest address of the subnet that is neither the network or broadcast
// address, the gateway, inside an IP range, nor held by a link.
func (st *state) freeIP(sn *subnet) (string, bool) {
	gw, _ := netip.ParseAddr(sn.gateway)
	a := sn.cidr.Addr().Next()
	for n := 0; a.IsValid() && sn.cidr.Contains(a) && n < 1<<20; a, n = a.Next(), n+1 {
		if a == gw || st.ipUsed(a) || st.inRanges(sn, a) != nil {
			continue
		}
		if next := a.Next(); a.Is4() && !sn.cidr.Contains(next) && sn.cidr.Bits() < 31 {
			break // broadcast
		}
		return a.String(), true
	}
	return "", false
}

// vlanForNIC finds the VLAN a NIC is discovered on.
func (st *state) vlanForNIC(n NICSpec, boot bool) *vlan {
	if n.Subnet != "" {
		if sn := st.subnetByCIDR(n.Subnet); sn != nil {
			return sn.vlan
		}
	}
	if !boot {
		return nil
	}
	for _, r := range st.nodes {
		if r.nodeType == nodeMachine {
			continue
		}
		for _, ifc := range r.interfaces {
			for _, l := range ifc.links {
				if l.subnet != nil {
					return l.subnet.vlan
				}
			}
		}
	}
	return st.fabrics[0].defaultVLAN()
}
