package maassim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Fabrics (maas_api.md §5.5).

func listFabrics(c *req) (any, *apiError) {
	out := []*fabricJSON{}
	if c.s.st.takeRequestFault(FabricsVanish) {
		return out, nil
	}
	for _, f := range c.s.st.fabrics {
		out = append(out, renderFabric(f))
	}
	return out, nil
}

func (c *req) fabric(i int) (*fabric, *apiError) {
	if _, err := strconv.Atoi(c.seg[i]); err != nil {
		return nil, notFound("Fabric")
	}
	f := c.s.st.fabricByID(c.seg[i])
	if f == nil {
		return nil, notFound("Fabric")
	}
	return f, nil
}

func createFabric(c *req) (any, *apiError) {
	st := c.s.st
	if name := c.get("name"); name != "" && st.fabricByID(name) != nil {
		return nil, fieldError("name", "Fabric with this Name already exists.")
	}
	return renderFabric(st.newFabric(c.get("name"), c.get("description"), c.get("class_type"))), nil
}

func getFabric(c *req) (any, *apiError) {
	f, e := c.fabric(1)
	if e != nil {
		return nil, e
	}
	return renderFabric(f), nil
}

func updateFabric(c *req) (any, *apiError) {
	f, e := c.fabric(1)
	if e != nil {
		return nil, e
	}
	if c.has("name") {
		name := c.get("name")
		if o := c.s.st.fabricByID(name); o != nil && o != f {
			return nil, fieldError("name", "Fabric with this Name already exists.")
		}
		if name == "" {
			name = fmt.Sprintf("fabric-%d", f.id)
		}
		f.name = name
	}
	if c.has("description") {
		f.description = c.get("description")
	}
	if c.has("class_type") {
		f.classType = c.get("class_type")
	}
	return renderFabric(f), nil
}

func deleteFabric(c *req) (any, *apiError) {
	f, e := c.fabric(1)
	if e != nil {
		return nil, e
	}
	st := c.s.st
	if f.id == 0 {
		return nil, badRequest("Cannot delete the default fabric.")
	}
	for _, v := range f.vlans {
		if st.vlanInUse(v) {
			return nil, badRequest("Cannot delete fabric %s: a VLAN of it is in use.", f.name)
		}
	}
	for _, v := range f.vlans {
		st.deleteVLANObjects(v)
	}
	for i, x := range st.fabrics {
		if x == f {
			st.fabrics = append(st.fabrics[:i], st.fabrics[i+1:]...)
			break
		}
	}
	return noContent{}, nil
}

// VLANs: fabrics/{fid}/vlans/{vid}/ (addressed by vid) and vlans/{id}/.

func listVLANs(c *req) (any, *apiError) {
	f, e := c.fabric(1)
	if e != nil {
		return nil, e
	}
	return renderFabric(f).VLANs, nil
}

func (c *req) vlan() (*vlan, *apiError) {
	if c.seg[0] == "vlans" {
		if v := c.s.st.vlanByID(c.seg[1]); v != nil {
			return v, nil
		}
		return nil, notFound("VLAN")
	}
	f, e := c.fabric(1)
	if e != nil {
		return nil, e
	}
	vid, err := strconv.Atoi(c.seg[3])
	if err != nil {
		return nil, notFound("VLAN")
	}
	for _, v := range f.vlans {
		if v.vid == vid {
			return v, nil
		}
	}
	return nil, notFound("VLAN")
}

func createVLAN(c *req) (any, *apiError) {
	f, e := c.fabric(1)
	if e != nil {
		return nil, e
	}
	fe := fieldErrors{}
	if !c.has("vid") || c.get("vid") == "" {
		fe.add("vid", "This field is required.")
		return nil, fe.err()
	}
	vid, e := c.formInt("vid", 0)
	if e != nil {
		return nil, e
	}
	if vid < 0 || vid > 4094 {
		return nil, fieldError("vid", "VID must be between 0 and 4094.")
	}
	for _, v := range f.vlans {
		if v.vid == vid {
			return nil, fieldError("__all__", "VLAN with this Fabric and Vid already exists.")
		}
	}
	mtu, e := c.vlanMTU(1500)
	if e != nil {
		return nil, e
	}
	v := c.s.st.newVLAN(f, vid, c.get("name"), mtu)
	v.description = c.get("description")
	if sp := c.get("space"); sp != "undefined" {
		v.space = sp
	}
	return renderVLAN(v), nil
}

func (c *req) vlanMTU(def int) (int, *apiError) {
	mtu, e := c.formInt("mtu", def)
	if e != nil {
		return 0, e
	}
	if mtu < 552 {
		return 0, fieldError("mtu", "Ensure this value is greater than or equal to 552.")
	}
	if mtu > 65535 {
		return 0, fieldError("mtu", "Ensure this value is less than or equal to 65535.")
	}
	return mtu, nil
}

func getVLAN(c *req) (any, *apiError) {
	v, e := c.vlan()
	if e != nil {
		return nil, e
	}
	return renderVLAN(v), nil
}

// updateVLAN applies the VLAN form; turning DHCP on needs a primary rack and a dynamic range
// on one of the VLAN's subnets.
func updateVLAN(c *req) (any, *apiError) {
	v, e := c.vlan()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	nv := *v
	if c.has("vid") {
		vid, e := c.formInt("vid", v.vid)
		if e != nil {
			return nil, e
		}
		if vid != v.vid {
			if v == v.fabric.defaultVLAN() {
				return nil, fieldError("vid", "Cannot modify the VID of the default VLAN.")
			}
			if vid < 0 || vid > 4094 {
				return nil, fieldError("vid", "VID must be between 0 and 4094.")
			}
			for _, o := range v.fabric.vlans {
				if o != v && o.vid == vid {
					return nil, fieldError("__all__", "VLAN with this Fabric and Vid already exists.")
				}
			}
		}
		nv.vid = vid
	}
	if c.has("name") {
		nv.name = c.get("name")
	}
	if c.has("description") {
		nv.description = c.get("description")
	}
	if c.has("mtu") {
		mtu, e := c.vlanMTU(v.mtu)
		if e != nil {
			return nil, e
		}
		nv.mtu = mtu
	}
	if c.has("space") {
		nv.space = c.get("space")
		if nv.space == "undefined" {
			nv.space = ""
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"primary_rack", &nv.primary}, {"secondary_rack", &nv.secondary}} {
		if !c.has(f.name) {
			continue
		}
		val := c.get(f.name)
		if val == "" {
			*f.dst = ""
			continue
		}
		r := st.lookupMachine(val)
		if r == nil || r.nodeType == nodeMachine {
			return nil, fieldError(f.name, "Select a valid choice. That choice is not one of the available choices.")
		}
		*f.dst = r.systemID
	}
	if c.has("relay_vlan") {
		if val := c.get("relay_vlan"); val == "" {
			nv.relay = nil
		} else if r := st.vlanByID(val); r == nil || r == v {
			return nil, fieldError("relay_vlan", "Select a valid choice. That choice is not one of the available choices.")
		} else {
			nv.relay = r
		}
	}
	if c.has("dhcp_on") {
		nv.dhcpOn = c.formBool("dhcp_on", false)
	}
	if nv.dhcpOn {
		if nv.primary == "" {
			return nil, fieldError("dhcp_on", "dhcp can only be turned on when a primary rack controller is set.")
		}
		dynamic := false
		for _, sn := range st.vlanSubnets(v) {
			for _, r := range st.ipranges {
				if r.subnet == sn && r.typ == "dynamic" {
					dynamic = true
				}
			}
		}
		if !dynamic {
			return nil, fieldError("dhcp_on", "dhcp can only be turned on when a dynamic IP range is defined.")
		}
		nv.relay = nil
	}
	if nv.primary != "" && nv.primary == nv.secondary {
		return nil, fieldError("secondary_rack", "Primary rack controller and secondary rack controller cannot be the same.")
	}
	*v = nv
	return renderVLAN(v), nil
}

func (st *state) vlanInUse(v *vlan) bool {
	for _, m := range st.nodes {
		for _, ifc := range m.interfaces {
			if ifc.vlan == v {
				return true
			}
		}
	}
	return false
}

// deleteVLANObjects removes a VLAN with its subnets (and their ranges and routes).
func (st *state) deleteVLANObjects(v *vlan) {
	for _, sn := range st.vlanSubnets(v) {
		st.deleteSubnetObjects(sn)
	}
	delete(st.vlans, v.id)
	for i, x := range v.fabric.vlans {
		if x == v {
			v.fabric.vlans = append(v.fabric.vlans[:i], v.fabric.vlans[i+1:]...)
			break
		}
	}
}

func deleteVLAN(c *req) (any, *apiError) {
	v, e := c.vlan()
	if e != nil {
		return nil, e
	}
	if v == v.fabric.defaultVLAN() {
		return nil, badRequest("This VLAN is the default VLAN in the fabric, it cannot be deleted.")
	}
	c.s.st.deleteVLANObjects(v)
	return noContent{}, nil
}

// Subnets.

func listSubnets(c *req) (any, *apiError) {
	out := []*subnetJSON{}
	for _, sn := range c.s.st.subnets {
		out = append(out, renderSubnet(sn))
	}
	return out, nil
}

func (c *req) subnet() (*subnet, *apiError) {
	if sn := c.s.st.subnetBySpec(c.seg[1]); sn != nil {
		return sn, nil
	}
	return nil, notFound("Subnet")
}

func createSubnet(c *req) (any, *apiError) {
	if !c.has("cidr") || c.get("cidr") == "" {
		return nil, fieldError("cidr", "This field is required.")
	}
	sn := &subnet{rdnsMode: 2, allowDNS: true, allowProxy: true, managed: true}
	if e := c.applySubnetForm(sn, true); e != nil {
		return nil, e
	}
	sn.id = c.s.st.next("subnet")
	if sn.name == "" {
		sn.name = sn.cidr.String()
	}
	c.s.st.subnets = append(c.s.st.subnets, sn)
	return renderSubnet(sn), nil
}

// applySubnetForm validates the subnet form and applies it to sn only when it is valid.
func (c *req) applySubnetForm(sn *subnet, creating bool) *apiError {
	st := c.s.st
	n := *sn
	if c.has("cidr") {
		p, err := netip.ParsePrefix(strings.TrimSpace(c.get("cidr")))
		if err != nil {
			return fieldError("cidr", "Required format: <network>/<prefixlen>.")
		}
		n.cidr = p.Masked()
		for _, o := range st.subnets {
			if o != sn && o.cidr == n.cidr {
				return fieldError("cidr", "Subnet with this Cidr already exists.")
			}
		}
	}
	if c.has("name") {
		n.name = c.get("name")
	}
	if c.has("description") {
		n.description = c.get("description")
	}
	switch {
	case c.has("vlan") && c.get("vlan") != "":
		v := st.vlanByID(c.get("vlan"))
		if v == nil {
			return fieldError("vlan", "Select a valid choice. That choice is not one of the available choices.")
		}
		n.vlan = v
	case c.has("fabric") || c.has("vid"):
		f := st.fabrics[0]
		if c.has("fabric") {
			if f = st.fabricByID(c.get("fabric")); f == nil {
				return fieldError("fabric", "Select a valid choice. That choice is not one of the available choices.")
			}
		}
		vid, e := c.formInt("vid", 0)
		if e != nil {
			return e
		}
		n.vlan = nil
		for _, v := range f.vlans {
			if v.vid == vid {
				n.vlan = v
			}
		}
		if n.vlan == nil {
			return fieldError("vid", "No VLAN with vid %d in default fabric.", vid)
		}
	case creating:
		n.vlan = st.fabrics[0].defaultVLAN()
	}
	if c.has("gateway_ip") {
		gw := strings.TrimSpace(c.get("gateway_ip"))
		if gw != "" {
			a, err := netip.ParseAddr(gw)
			if err != nil {
				return fieldError("gateway_ip", "Enter a valid IPv4 or IPv6 address.")
			}
			if !n.cidr.Contains(a) {
				return fieldError("gateway_ip", "Gateway IP must be within CIDR range.")
			}
		}
		n.gateway = gw
	} else if n.gateway != "" {
		if a, err := netip.ParseAddr(n.gateway); err != nil || !n.cidr.Contains(a) {
			n.gateway = ""
		}
	}
	if c.has("dns_servers") {
		n.dns = nil
		for _, v := range c.list("dns_servers") {
			for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
				if _, err := netip.ParseAddr(s); err != nil {
					return fieldError("dns_servers", "'%s' is not a valid IP address.", s)
				}
				n.dns = append(n.dns, s)
			}
		}
	}
	if c.has("rdns_mode") {
		v, e := c.formInt("rdns_mode", 2)
		if e != nil {
			return e
		}
		if v < 0 || v > 2 {
			return fieldError("rdns_mode", "Select a valid choice. %d is not one of the available choices.", v)
		}
		n.rdnsMode = v
	}
	n.allowDNS = c.formBool("allow_dns", n.allowDNS)
	n.allowProxy = c.formBool("allow_proxy", n.allowProxy)
	n.activeDiscovery = c.formBool("active_discovery", n.activeDiscovery)
	n.managed = c.formBool("managed", n.managed)
	if c.has("disabled_boot_architectures") {
		n.disabledBoot = c.listComma("disabled_boot_architectures")
	}
	*sn = n
	return nil
}

func getSubnet(c *req) (any, *apiError) {
	sn, e := c.subnet()
	if e != nil {
		return nil, e
	}
	return renderSubnet(sn), nil
}

func updateSubnet(c *req) (any, *apiError) {
	sn, e := c.subnet()
	if e != nil {
		return nil, e
	}
	if e := c.applySubnetForm(sn, false); e != nil {
		return nil, e
	}
	return renderSubnet(sn), nil
}

func (st *state) deleteSubnetObjects(sn *subnet) {
	var rs []*ipRange
	for _, r := range st.ipranges {
		if r.subnet != sn {
			rs = append(rs, r)
		}
	}
	st.ipranges = rs
	var routes []*staticRoute
	for _, r := range st.routes {
		if r.src != sn && r.dst != sn {
			routes = append(routes, r)
		}
	}
	st.routes = routes
	for _, m := range st.nodes {
		for _, ifc := range m.interfaces {
			var ls []*link
			for _, l := range ifc.links {
				if l.subnet != sn {
					ls = append(ls, l)
				}
			}
			ifc.links = ls
		}
	}
	for i, x := range st.subnets {
		if x == sn {
			st.subnets = append(st.subnets[:i], st.subnets[i+1:]...)
			break
		}
	}
}

func deleteSubnet(c *req) (any, *apiError) {
	sn, e := c.subnet()
	if e != nil {
		return nil, e
	}
	c.s.st.deleteSubnetObjects(sn)
	return noContent{}, nil
}

type rangeInfo struct {
	Start        string   `json:"start"`
	End          string   `json:"end"`
	NumAddresses int      `json:"num_addresses"`
	Purpose      []string `json:"purpose,omitempty"`
}

func reservedRanges(c *req) (any, *apiError) {
	sn, e := c.subnet()
	if e != nil {
		return nil, e
	}
	out := []rangeInfo{}
	for _, r := range c.s.st.ipranges {
		if r.subnet == sn {
			purpose := "reserved"
			if r.typ == "dynamic" {
				purpose = "dynamic"
			}
			out = append(out, rangeInfo{r.start.String(), r.end.String(), countAddrs(r.start, r.end), []string{purpose}})
		}
	}
	if sn.gateway != "" {
		out = append(out, rangeInfo{sn.gateway, sn.gateway, 1, []string{"gateway-ip"}})
	}
	return out, nil
}

func unreservedRanges(c *req) (any, *apiError) {
	sn, e := c.subnet()
	if e != nil {
		return nil, e
	}
	out := []rangeInfo{}
	var start netip.Addr
	flush := func(end netip.Addr) {
		if start.IsValid() {
			out = append(out, rangeInfo{Start: start.String(), End: end.String(), NumAddresses: countAddrs(start, end)})
			start = netip.Addr{}
		}
	}
	gw, _ := netip.ParseAddr(sn.gateway)
	prev := sn.cidr.Addr()
	for a, n := sn.cidr.Addr().Next(), 0; a.IsValid() && sn.cidr.Contains(a.Next()) && n < 1<<16; a, n = a.Next(), n+1 {
		if a == gw || c.s.st.inRanges(sn, a) != nil {
			flush(prev)
		} else if !start.IsValid() {
			start = a
		}
		prev = a
	}
	flush(prev)
	return out, nil
}

func countAddrs(a, b netip.Addr) int {
	n := 1
	for x := a; x != b && n < 1<<24; x = x.Next() {
		n++
	}
	return n
}

func subnetStatistics(c *req) (any, *apiError) {
	sn, e := c.subnet()
	if e != nil {
		return nil, e
	}
	total := 1 << (sn.cidr.Addr().BitLen() - sn.cidr.Bits())
	if sn.cidr.Addr().Is4() && total > 2 {
		total -= 2
	}
	used := 0
	for a := range c.s.st.usedIPs() {
		if sn.cidr.Contains(a) {
			used++
		}
	}
	return map[string]any{"num_available": total - used, "largest_available": total - used, "num_unavailable": used,
		"total_addresses": total, "usage": float64(used) / float64(max(total, 1)),
		"usage_string":     fmt.Sprintf("%.0f%%", 100*float64(used)/float64(max(total, 1))),
		"available_string": fmt.Sprintf("%.0f%%", 100*float64(total-used)/float64(max(total, 1))),
		"first_address":    sn.cidr.Addr().Next().String(), "ip_version": sn.cidr.Addr().BitLen() / 32 * 2}, nil
}

func subnetIPAddresses(c *req) (any, *apiError) {
	sn, e := c.subnet()
	if e != nil {
		return nil, e
	}
	out := []map[string]any{}
	for _, m := range c.s.st.nodes {
		for _, ifc := range m.interfaces {
			for _, l := range ifc.links {
				if l.subnet == sn && l.ip != "" {
					out = append(out, map[string]any{"ip": l.ip, "alloc_type": allocType(l.mode),
						"alloc_type_name": strings.ToUpper(l.mode[:1]) + l.mode[1:], "user": "admin",
						"node_summary": map[string]any{"system_id": m.systemID, "hostname": m.hostname,
							"node_type": m.nodeType, "via": ifc.name}})
				}
			}
		}
	}
	return out, nil
}

func allocType(mode string) int {
	switch mode {
	case "auto":
		return 0
	case "static":
		return 1
	case "dhcp":
		return 5
	}
	return 6
}
