package maassim

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// IP ranges.

func listRanges(c *req) (any, *apiError) {
	out := []*ipRangeJSON{}
	for _, r := range c.s.st.ipranges {
		out = append(out, renderRange(r))
	}
	return out, nil
}

func (c *req) ipRange() (*ipRange, *apiError) {
	id, err := strconv.Atoi(c.seg[1])
	if err == nil {
		for _, r := range c.s.st.ipranges {
			if r.id == id {
				return r, nil
			}
		}
	}
	return nil, notFound("IPRange")
}

func createRange(c *req) (any, *apiError) {
	r := &ipRange{}
	fe := fieldErrors{}
	for _, k := range []string{"type", "start_ip", "end_ip"} {
		if c.get(k) == "" {
			fe.add(k, "This field is required.")
		}
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	if e := c.applyRangeForm(r); e != nil {
		return nil, e
	}
	r.id = c.s.st.next("iprange")
	c.s.st.ipranges = append(c.s.st.ipranges, r)
	return renderRange(r), nil
}

// applyRangeForm validates the IP range form: type, addresses inside the subnet, start not
// after end, no overlap with another range of the subnet.
func (c *req) applyRangeForm(r *ipRange) *apiError {
	st := c.s.st
	n := *r
	if c.has("type") {
		t := c.get("type")
		if t != "dynamic" && t != "reserved" {
			return fieldError("type", "Select a valid choice. %s is not one of the available choices.", t)
		}
		n.typ = t
	}
	fe := fieldErrors{}
	for _, f := range []struct {
		k   string
		dst *netip.Addr
	}{{"start_ip", &n.start}, {"end_ip", &n.end}} {
		if !c.has(f.k) {
			continue
		}
		a, err := netip.ParseAddr(strings.TrimSpace(c.get(f.k)))
		if err != nil {
			fe.add(f.k, "Enter a valid IPv4 or IPv6 address.")
			continue
		}
		*f.dst = a
	}
	if e := fe.err(); e != nil {
		return e
	}
	if c.has("subnet") && c.get("subnet") != "" {
		sn := st.subnetBySpec(c.get("subnet"))
		if sn == nil {
			return fieldError("subnet", "Select a valid choice. That choice is not one of the available choices.")
		}
		n.subnet = sn
	}
	if n.subnet == nil {
		n.subnet = st.subnetBySpec("ip:" + n.start.String())
		if n.subnet == nil {
			return fieldError("start_ip", "No subnet found that contains %s.", n.start)
		}
	}
	if !n.subnet.cidr.Contains(n.start) {
		fe.add("start_ip", "Start IP address must be within subnet: %s.", n.subnet.cidr)
	}
	if !n.subnet.cidr.Contains(n.end) {
		fe.add("end_ip", "End IP address must be within subnet: %s.", n.subnet.cidr)
	}
	if e := fe.err(); e != nil {
		return e
	}
	if n.end.Less(n.start) {
		return fieldError("end_ip", "End IP address must not be less than Start IP address.")
	}
	for _, o := range st.ipranges {
		if o == r || o.subnet != n.subnet {
			continue
		}
		if !(n.end.Less(o.start) || o.end.Less(n.start)) {
			return fieldError("__all__", "Requested %s range conflicts with an existing range.", n.typ)
		}
	}
	if c.has("comment") {
		n.comment = c.get("comment")
	}
	*r = n
	return nil
}

func getRange(c *req) (any, *apiError) {
	r, e := c.ipRange()
	if e != nil {
		return nil, e
	}
	return renderRange(r), nil
}

func updateRange(c *req) (any, *apiError) {
	r, e := c.ipRange()
	if e != nil {
		return nil, e
	}
	if e := c.applyRangeForm(r); e != nil {
		return nil, e
	}
	return renderRange(r), nil
}

func deleteRange(c *req) (any, *apiError) {
	r, e := c.ipRange()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	for i, x := range st.ipranges {
		if x == r {
			st.ipranges = append(st.ipranges[:i], st.ipranges[i+1:]...)
		}
	}
	return noContent{}, nil
}

// Static routes (maas_api.md §5.5).

func listRoutes(c *req) (any, *apiError) {
	out := []*routeJSON{}
	for _, r := range c.s.st.routes {
		out = append(out, renderRoute(r))
	}
	return out, nil
}

func (c *req) staticRoute() (*staticRoute, *apiError) {
	if id, err := strconv.Atoi(c.seg[1]); err == nil {
		for _, r := range c.s.st.routes {
			if r.id == id {
				return r, nil
			}
		}
	}
	return nil, notFound("StaticRoute")
}

func createRoute(c *req) (any, *apiError) {
	fe := fieldErrors{}
	for _, k := range []string{"source", "destination", "gateway_ip"} {
		if c.get(k) == "" {
			fe.add(k, "This field is required.")
		}
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	r := &staticRoute{}
	if e := c.applyRouteForm(r); e != nil {
		return nil, e
	}
	r.id = c.s.st.next("route")
	c.s.st.routes = append(c.s.st.routes, r)
	return renderRoute(r), nil
}

func (c *req) applyRouteForm(r *staticRoute) *apiError {
	st := c.s.st
	n := *r
	for _, f := range []struct {
		k   string
		dst **subnet
	}{{"source", &n.src}, {"destination", &n.dst}} {
		if !c.has(f.k) {
			continue
		}
		sn := st.subnetBySpec(c.get(f.k))
		if sn == nil {
			return fieldError(f.k, "Select a valid choice. That choice is not one of the available choices.")
		}
		*f.dst = sn
	}
	if c.has("gateway_ip") {
		n.gateway = strings.TrimSpace(c.get("gateway_ip"))
	}
	if c.has("metric") {
		v, e := c.formInt("metric", 0)
		if e != nil {
			return e
		}
		if v < 0 {
			return fieldError("metric", "Ensure this value is greater than or equal to 0.")
		}
		n.metric = v
	}
	gw, err := netip.ParseAddr(n.gateway)
	if err != nil {
		return fieldError("gateway_ip", "Enter a valid IPv4 or IPv6 address.")
	}
	if !n.src.cidr.Contains(gw) {
		return fieldError("gateway_ip", "Gateway IP must be within the source subnet %s.", n.src.cidr)
	}
	if n.src == n.dst {
		return fieldError("__all__", "source and destination cannot be the same subnet.")
	}
	for _, o := range st.routes {
		if o != r && o.src == n.src && o.dst == n.dst && o.gateway == n.gateway {
			return fieldError("__all__", "Static route with this Source, Destination and Gateway ip already exists.")
		}
	}
	*r = n
	return nil
}

func getRoute(c *req) (any, *apiError) {
	r, e := c.staticRoute()
	if e != nil {
		return nil, e
	}
	return renderRoute(r), nil
}

func updateRoute(c *req) (any, *apiError) {
	r, e := c.staticRoute()
	if e != nil {
		return nil, e
	}
	if e := c.applyRouteForm(r); e != nil {
		return nil, e
	}
	return renderRoute(r), nil
}

func deleteRoute(c *req) (any, *apiError) {
	r, e := c.staticRoute()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	for i, x := range st.routes {
		if x == r {
			st.routes = append(st.routes[:i], st.routes[i+1:]...)
		}
	}
	return noContent{}, nil
}

// Domains.

func listDomains(c *req) (any, *apiError) {
	out := []*domainJSON{}
	for _, d := range c.s.st.domains {
		out = append(out, renderDomain(d))
	}
	return out, nil
}

func (st *state) domainByName(name string) *domain {
	for _, d := range st.domains {
		if d.name == name || strconv.Itoa(d.id) == name {
			return d
		}
	}
	return nil
}

func (c *req) domain() (*domain, *apiError) {
	if id, err := strconv.Atoi(c.seg[1]); err == nil {
		for _, d := range c.s.st.domains {
			if d.id == id {
				return d, nil
			}
		}
	}
	return nil, notFound("Domain")
}

var domainNameOK = func(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func createDomain(c *req) (any, *apiError) {
	name := c.get("name")
	if name == "" {
		return nil, fieldError("name", "This field is required.")
	}
	if !domainNameOK(name) {
		return nil, fieldError("name", "Invalid domain name: %s.", name)
	}
	st := c.s.st
	for _, d := range st.domains {
		if d.name == name {
			return nil, fieldError("name", "Domain with this Name already exists.")
		}
	}
	d := &domain{id: st.next("domain"), name: name, authoritative: c.formBool("authoritative", true)}
	if c.has("ttl") && c.get("ttl") != "" {
		v, e := c.formInt("ttl", 0)
		if e != nil {
			return nil, e
		}
		d.ttl = &v
	}
	st.domains = append(st.domains, d)
	return renderDomain(d), nil
}

func getDomain(c *req) (any, *apiError) {
	d, e := c.domain()
	if e != nil {
		return nil, e
	}
	return renderDomain(d), nil
}

func updateDomain(c *req) (any, *apiError) {
	d, e := c.domain()
	if e != nil {
		return nil, e
	}
	if c.has("name") {
		name := c.get("name")
		if !domainNameOK(name) {
			return nil, fieldError("name", "Invalid domain name: %s.", name)
		}
		if o := c.s.st.domainByName(name); o != nil && o != d {
			return nil, fieldError("name", "Domain with this Name already exists.")
		}
		d.name = name
	}
	d.authoritative = c.formBool("authoritative", d.authoritative)
	return renderDomain(d), nil
}

func deleteDomain(c *req) (any, *apiError) {
	d, e := c.domain()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	if d.isDefault {
		return nil, badRequest("This domain is the default domain, it cannot be deleted.")
	}
	for _, m := range st.nodes {
		if m.domain == d {
			return nil, badRequest("Cannot delete domain %s: it has nodes.", d.name)
		}
	}
	for i, x := range st.domains {
		if x == d {
			st.domains = append(st.domains[:i], st.domains[i+1:]...)
		}
	}
	return noContent{}, nil
}

// Zones, resource pools, spaces: the defaults only.

type namedJSON struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	ResourceURI string `json:"resource_uri"`
}

func defaultZone() *namedJSON {
	return &namedJSON{ID: 1, Name: "default", Description: "", ResourceURI: Prefix + "zones/default/"}
}

func defaultPool() *namedJSON {
	return &namedJSON{ID: 0, Name: "default", Description: "Default pool", ResourceURI: Prefix + "resourcepool/0/"}
}

func listZones(c *req) (any, *apiError) { return []*namedJSON{defaultZone()}, nil }

func getZone(c *req) (any, *apiError) {
	if c.seg[1] != "default" {
		return nil, notFound("Zone")
	}
	return defaultZone(), nil
}

func listPools(c *req) (any, *apiError) { return []*namedJSON{defaultPool()}, nil }

func getPool(c *req) (any, *apiError) {
	if c.seg[1] != "0" && c.seg[1] != "default" {
		return nil, notFound("ResourcePool")
	}
	return defaultPool(), nil
}

func listSpaces(c *req) (any, *apiError) {
	out := []map[string]any{}
	names := map[string]bool{}
	for _, v := range c.s.st.vlans {
		if v.space != "" {
			names[v.space] = true
		}
	}
	for i, n := range sortedKeys(names) {
		out = append(out, map[string]any{"id": i + 1, "name": n, "description": "", "vlans": []any{}, "subnets": []any{},
			"resource_uri": fmt.Sprintf("%sspaces/%d/", Prefix, i+1)})
	}
	return out, nil
}
