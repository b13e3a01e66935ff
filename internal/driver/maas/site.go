package maas

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// rangeComment marks the IP ranges the driver creates (and may therefore delete).
const rangeComment = "Configured by Drydock"

// PrepareSite writes site-wide configuration to MAAS: the network template (fabrics, VLANs,
// subnets, IP ranges, DHCP, static routes), the SSH keys, and the provisioner settings
// (package repositories, tag definitions). Each step reads MAAS first and writes only what
// differs, so a second run makes no change.
func (d *Driver) PrepareSite(ctx context.Context, op string, site *design.Site) driver.Result {
	if site == nil || site.Design == nil {
		return driver.Fail("%s: no site design", op)
	}
	defer d.cache.invalidate()
	switch op {
	case "create_network_template":
		return d.networkTemplate(ctx, site)
	case "configure_user_credentials":
		return d.userCredentials(ctx, site)
	case "configure_node_provisioner":
		return d.nodeProvisioner(ctx, site)
	}
	return driver.Fail("unknown prepare_site step %q", op)
}

// siteRun collects what one site step changed and what went wrong.
type siteRun struct {
	d        *Driver
	step     string
	changes  []string
	problems []string
}

func (s *siteRun) changed(format string, args ...any) {
	s.changes = append(s.changes, fmt.Sprintf(format, args...))
}
func (s *siteRun) problem(format string, args ...any) {
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

// result is the step's single outcome: Failed when anything went wrong (naming what changed
// before), else Done (Skipped when nothing changed).
func (s *siteRun) result(what string) driver.Result {
	changes := "no change"
	if len(s.changes) > 0 {
		changes = "changed: " + strings.Join(s.changes, "; ")
	}
	if len(s.problems) > 0 {
		return driver.Fail("%s: %s (%s)", s.step, strings.Join(s.problems, "; "), changes)
	}
	if len(s.changes) == 0 {
		r := driver.OK("%s: %s already as designed", s.step, what)
		r.Skipped = true
		return r
	}
	return driver.OK("%s: %s", s.step, changes)
}

// abort is the outcome when a request failed: transient → Unreachable, else Failed.
func (s *siteRun) abort(doing string, err error) driver.Result {
	r := s.d.siteErr(s.step+": "+doing, err)
	if len(s.changes) > 0 {
		r.Message += " (changed before: " + strings.Join(s.changes, "; ") + ")"
	}
	return r
}

type netTemplate struct {
	siteRun
	fabrics []fabric
	subnets []subnet
	ranges  []ipRange
	routes  []staticRoute
	racks   []machine
	racksOK bool
}

func (t *netTemplate) fabricByID(id int) *fabric {
	for i := range t.fabrics {
		if t.fabrics[i].ID == id {
			return &t.fabrics[i]
		}
	}
	return nil
}

func (d *Driver) networkTemplate(ctx context.Context, site *design.Site) driver.Result {
	t := &netTemplate{siteRun: siteRun{d: d, step: "create_network_template"}}
	c := d.c
	var err error
	if t.fabrics, err = c.fabrics(ctx); err != nil {
		return t.abort("reading fabrics", err)
	}
	if t.subnets, err = c.subnets(ctx); err != nil {
		return t.abort("reading subnets", err)
	}
	if err = c.get(ctx, "ipranges/", "", nil, &t.ranges); err != nil {
		return t.abort("reading IP ranges", err)
	}
	if err = c.get(ctx, "static-routes/", "", nil, &t.routes); err != nil {
		return t.abort("reading static routes", err)
	}
	linkNames := map[string]bool{}
	for _, l := range site.Design.NetworkLinks {
		linkNames[l.Name] = true
	}
	var done []*design.Network
	for _, l := range site.Design.NetworkLinks {
		if v, ok := l.Labels.Get("noconfig"); ok && truthy(v) {
			continue
		}
		var nets []*design.Network
		for _, name := range l.AllowedNetworks {
			nw := site.Network(name)
			if nw == nil {
				t.problem("link %s: network %s is not in the design", l.Name, name)
				continue
			}
			nets = append(nets, nw)
		}
		fab, res := t.fabricFor(ctx, l, nets, linkNames)
		if res != nil {
			return *res
		}
		if fab == nil {
			continue
		}
		if res := t.linkNetworks(ctx, l, fab, nets); res != nil {
			return *res
		}
		done = append(done, nets...)
	}
	if res := t.staticRoutes(ctx, done); res != nil {
		return *res
	}
	return t.result("network template")
}

// fabricFor finds or makes the link's fabric: the fabric named like the link; else the one
// fabric on which MAAS discovered the link's networks (renamed to the link); else a new one.
func (t *netTemplate) fabricFor(ctx context.Context, l *design.NetworkLink, nets []*design.Network, links map[string]bool) (*fabric, *driver.Result) {
	c := t.d.c
	if f := fabricByName(t.fabrics, l.Name); f != nil {
		return f, nil
	}
	found := map[int]string{}
	for _, nw := range nets {
		if sn := subnetByCIDR(t.subnets, nw.CIDR); sn != nil && sn.VLAN != nil {
			found[sn.VLAN.FabricID] += nw.Name + " "
		}
	}
	switch len(found) {
	case 0:
		var f fabric
		if err := c.post(ctx, "fabrics/", "", form("name", l.Name), &f); err != nil {
			r := t.abort("creating fabric "+l.Name, err)
			return nil, &r
		}
		if len(f.VLANs) == 0 {
			if err := c.get(ctx, fmt.Sprintf("fabrics/%d/vlans/", f.ID), "", nil, &f.VLANs); err != nil {
				r := t.abort("reading the VLANs of fabric "+l.Name, err)
				return nil, &r
			}
		}
		t.fabrics = append(t.fabrics, f)
		t.changed("created fabric %s", l.Name)
		return &t.fabrics[len(t.fabrics)-1], nil
	case 1:
		for id, names := range found {
			f := t.fabricByID(id)
			if f == nil {
				t.problem("link %s: networks %son unknown fabric %d", l.Name, names, id)
				return nil, nil
			}
			if links[f.Name] {
				t.problem("link %s: networks %sare on fabric %s, which belongs to link %s", l.Name, names, f.Name, f.Name)
				return nil, nil
			}
			var nf fabric
			if err := c.put(ctx, fmt.Sprintf("fabrics/%d/", f.ID), form("name", l.Name), &nf); err != nil {
				r := t.abort(fmt.Sprintf("renaming fabric %s (where MAAS found networks %s) to %s", f.Name, strings.TrimSpace(names), l.Name), err)
				return nil, &r
			}
			t.changed("renamed fabric %s to %s", f.Name, l.Name)
			f.Name = l.Name
			return f, nil
		}
	}
	var fs []string
	for id, names := range found {
		name := strconv.Itoa(id)
		if f := t.fabricByID(id); f != nil {
			name = f.Name
		}
		fs = append(fs, fmt.Sprintf("%s on %s", strings.TrimSpace(names), name))
	}
	sort.Strings(fs)
	t.problem("link %s: its networks are on different MAAS fabrics (%s)", l.Name, strings.Join(fs, "; "))
	return nil, nil
}

func (t *netTemplate) putVLAN(ctx context.Context, f *fabric, v *vlan, fv url.Values, what string) *driver.Result {
	var nv vlan
	if err := t.d.c.put(ctx, fmt.Sprintf("fabrics/%d/vlans/%d/", f.ID, v.VID), fv, &nv); err != nil {
		r := t.abort(fmt.Sprintf("fabric %s VLAN %d: setting %s", f.Name, v.VID, what), err)
		return &r
	}
	if nv.ID != 0 {
		*v = nv
	}
	t.changed("fabric %s VLAN %d: %s", f.Name, v.VID, what)
	return nil
}

// linkNetworks makes the link's VLANs and subnets.
func (t *netTemplate) linkNetworks(ctx context.Context, l *design.NetworkLink, fab *fabric, nets []*design.Network) *driver.Result {
	c := t.d.c
	// The untagged VLAN carries the link's MTU (or the MTU of an untagged network on it).
	untagged := fab.vlanByVID(0)
	if untagged == nil {
		t.problem("fabric %s has no untagged VLAN", fab.Name)
		return nil
	}
	mtu := l.MTU
	for _, nw := range nets {
		if vid, _ := vlanID(nw); vid == 0 && nw.MTU > 0 {
			mtu = nw.MTU
		}
	}
	if mtu > 0 && untagged.MTU != mtu {
		if res := t.putVLAN(ctx, fab, untagged, form("mtu", itoa(mtu)), fmt.Sprintf("MTU %d", mtu)); res != nil {
			return res
		}
	}
	for _, nw := range nets {
		vid, err := vlanID(nw)
		if err != nil {
			t.problem("network %s: %v", nw.Name, err)
			continue
		}
		if nw.DNSDomain != "" {
			created, err := t.d.ensureDomain(ctx, nw.DNSDomain)
			if err != nil {
				r := t.abort("creating DNS domain "+nw.DNSDomain, err)
				return &r
			}
			if created {
				t.changed("created DNS domain %s", nw.DNSDomain)
			}
		}
		v := fab.vlanByVID(vid)
		if v == nil {
			f := form("vid", itoa(vid), "name", nw.Name)
			if m := vlanMTU(nw, l); m > 0 {
				f.Set("mtu", itoa(m))
			}
			var nv vlan
			if err := c.post(ctx, fmt.Sprintf("fabrics/%d/vlans/", fab.ID), "", f, &nv); err != nil {
				r := t.abort(fmt.Sprintf("creating VLAN %d on fabric %s for network %s", vid, fab.Name, nw.Name), err)
				return &r
			}
			fab.VLANs = append(fab.VLANs, nv)
			v = &fab.VLANs[len(fab.VLANs)-1]
			t.changed("created VLAN %d on fabric %s", vid, fab.Name)
		} else if vid != 0 {
			fv := url.Values{}
			if v.Name != nw.Name {
				fv.Set("name", nw.Name)
			}
			if m := vlanMTU(nw, l); m > 0 && v.MTU != m {
				fv.Set("mtu", itoa(m))
			}
			if len(fv) > 0 {
				if res := t.putVLAN(ctx, fab, v, fv, strings.Join(sortedKeys(fv), ", ")); res != nil {
					return res
				}
			}
		}
		sn, res := t.subnet(ctx, nw, v)
		if res != nil {
			return res
		}
		if sn == nil {
			continue
		}
		if res := t.ipRanges(ctx, nw, sn); res != nil {
			return res
		}
		if res := t.dhcp(ctx, nw, fab, v); res != nil {
			return res
		}
	}
	return nil
}

// vlanID is the network's VLAN id (0: untagged).
func vlanID(nw *design.Network) (int, error) {
	if strings.TrimSpace(nw.VLAN) == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(nw.VLAN))
	if err != nil || v < 0 || v > 4094 {
		return 0, fmt.Errorf("VLAN %q is not a number from 0 to 4094", nw.VLAN)
	}
	return v, nil
}

// vlanMTU is the MTU of a tagged VLAN: the network's, else the link's.
func vlanMTU(nw *design.Network, l *design.NetworkLink) int {
	if nw.MTU > 0 {
		return nw.MTU
	}
	return l.MTU
}

func dnsServers(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}

// subnet makes the network's subnet exist on the VLAN with its name, gateway and DNS servers.
func (t *netTemplate) subnet(ctx context.Context, nw *design.Network, v *vlan) (*subnet, *driver.Result) {
	c := t.d.c
	gw := nw.DefaultGateway()
	dns := dnsServers(nw.DNSServers)
	sn := subnetByCIDR(t.subnets, nw.CIDR)
	if sn == nil {
		f := form("cidr", normCIDR(nw.CIDR), "name", nw.Name, "vlan", itoa(v.ID))
		if gw != "" {
			f.Set("gateway_ip", gw)
		}
		if len(dns) > 0 {
			f.Set("dns_servers", strings.Join(dns, ","))
		}
		var ns subnet
		if err := c.post(ctx, "subnets/", "", f, &ns); err != nil {
			r := t.abort(fmt.Sprintf("creating subnet %s for network %s", nw.CIDR, nw.Name), err)
			return nil, &r
		}
		t.subnets = append(t.subnets, ns)
		t.changed("created subnet %s (%s)", normCIDR(nw.CIDR), nw.Name)
		return &t.subnets[len(t.subnets)-1], nil
	}
	f := url.Values{}
	if sn.Name != nw.Name {
		f.Set("name", nw.Name)
	}
	if sn.VLAN == nil || sn.VLAN.ID != v.ID {
		f.Set("vlan", itoa(v.ID))
	}
	if cur := deref(sn.GatewayIP); cur != gw {
		f.Set("gateway_ip", gw)
	}
	if !sameSet(sn.DNSServers, dns) {
		f.Set("dns_servers", strings.Join(dns, ","))
	}
	if len(f) > 0 {
		var ns subnet
		if err := c.put(ctx, fmt.Sprintf("subnets/%d/", sn.ID), f, &ns); err != nil {
			r := t.abort(fmt.Sprintf("updating subnet %s (%s) of network %s", sn.CIDR, strings.Join(sortedKeys(f), ", "), nw.Name), err)
			return nil, &r
		}
		if ns.ID != 0 {
			*sn = ns
		}
		t.changed("subnet %s: set %s", sn.CIDR, strings.Join(sortedKeys(f), ", "))
	}
	return sn, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ipRanges makes the subnet's ranges the network's dhcp (dynamic) and reserved ranges; ranges
// the driver made earlier that the design no longer has are deleted. (MAAS has no static
// range type: static addresses are assigned outside the dynamic and reserved ranges.)
func (t *netTemplate) ipRanges(ctx context.Context, nw *design.Network, sn *subnet) *driver.Result {
	c := t.d.c
	type rng struct{ typ, start, end string }
	var want []rng
	for _, r := range nw.Ranges {
		switch r.Type {
		case "dhcp":
			want = append(want, rng{"dynamic", r.Start, r.End})
		case "reserved":
			want = append(want, rng{"reserved", r.Start, r.End})
		}
	}
	met := make([]bool, len(want))
	for i := 0; i < len(t.ranges); i++ {
		cur := t.ranges[i]
		if cur.Subnet == nil || cur.Subnet.ID != sn.ID {
			continue
		}
		ok := false
		for k, w := range want {
			if !met[k] && cur.Type == w.typ && cur.StartIP == w.start && cur.EndIP == w.end {
				met[k], ok = true, true
				break
			}
		}
		if ok || cur.Comment != rangeComment {
			continue
		}
		if err := c.del(ctx, fmt.Sprintf("ipranges/%d/", cur.ID)); err != nil {
			r := t.abort(fmt.Sprintf("deleting IP range %s-%s of subnet %s (no longer in network %s)", cur.StartIP, cur.EndIP, sn.CIDR, nw.Name), err)
			return &r
		}
		t.changed("deleted %s range %s-%s of %s", cur.Type, cur.StartIP, cur.EndIP, sn.CIDR)
		t.ranges = append(t.ranges[:i], t.ranges[i+1:]...)
		i--
	}
	for k, w := range want {
		if met[k] {
			continue
		}
		var nr ipRange
		f := form("type", w.typ, "start_ip", w.start, "end_ip", w.end, "subnet", itoa(sn.ID), "comment", rangeComment)
		if err := c.post(ctx, "ipranges/", "", f, &nr); err != nil {
			r := t.abort(fmt.Sprintf("creating %s range %s-%s on subnet %s (network %s)", w.typ, w.start, w.end, sn.CIDR, nw.Name), err)
			return &r
		}
		if nr.Subnet == nil {
			nr.Subnet = sn
		}
		t.ranges = append(t.ranges, nr)
		t.changed("created %s range %s-%s on %s", w.typ, w.start, w.end, sn.CIDR)
	}
	return nil
}

// rackControllers lists the healthy rack controllers with their interfaces (once per run).
func (t *netTemplate) rackControllers(ctx context.Context) ([]machine, error) {
	if t.racksOK {
		return t.racks, nil
	}
	var racks []machine
	if err := t.d.c.get(ctx, "rackcontrollers/", "", nil, &racks); err != nil {
		return nil, err
	}
	for _, rk := range racks {
		if rk.ServiceSet == nil || rk.InterfaceSet == nil {
			var full machine
			if err := t.d.c.get(ctx, "rackcontrollers/"+url.PathEscape(rk.SystemID)+"/", "", nil, &full); err != nil {
				return nil, err
			}
			rk = full
		}
		if len(rackProblems(&rk)) == 0 {
			t.racks = append(t.racks, rk)
		}
	}
	sort.Slice(t.racks, func(i, j int) bool { return t.racks[i].SystemID < t.racks[j].SystemID })
	t.racksOK = true
	return t.racks, nil
}

// dhcp serves DHCP on a VLAN whose network has a dhcp range: relayed to the VLAN of the rack
// interface holding dhcp_relay_upstream_target when one does, else from the healthy rack
// controllers with an interface on the VLAN (primary, secondary).
func (t *netTemplate) dhcp(ctx context.Context, nw *design.Network, fab *fabric, v *vlan) *driver.Result {
	needs := false
	for _, r := range nw.Ranges {
		needs = needs || r.Type == "dhcp"
	}
	if !needs {
		return nil
	}
	racks, err := t.rackControllers(ctx)
	if err != nil {
		r := t.abort("listing rack controllers", err)
		return &r
	}
	if target := nw.DHCPRelayUpstreamTarget; target != "" {
		var relay *vlan
		for _, rk := range racks {
			for _, i := range rk.InterfaceSet {
				for _, l := range i.Links {
					if l.IPAddress == target && i.VLAN != nil {
						relay = i.VLAN
					}
				}
			}
		}
		if relay != nil && relay.ID != v.ID {
			if rf := t.fabricByID(relay.FabricID); rf != nil {
				if rv := rf.vlanByVID(relay.VID); rv != nil {
					relay = rv
				}
			}
			if !relay.DHCPOn {
				fname := strconv.Itoa(relay.FabricID)
				if rf := t.fabricByID(relay.FabricID); rf != nil {
					fname = rf.Name
				}
				t.problem("network %s: DHCP relay target %s is on VLAN %d of fabric %s, which does not serve DHCP", nw.Name, target, relay.VID, fname)
				return nil
			}
			if int(v.RelayVLAN) == relay.ID && !v.DHCPOn {
				return nil
			}
			return t.putVLAN(ctx, fab, v, form("relay_vlan", itoa(relay.ID), "dhcp_on", "false"),
				fmt.Sprintf("DHCP relayed to VLAN %d (relay target %s)", relay.VID, target))
		}
	}
	var on []string
	for _, rk := range racks {
		for _, i := range rk.InterfaceSet {
			if i.VLAN != nil && i.VLAN.ID == v.ID && !contains(on, rk.SystemID) {
				on = append(on, rk.SystemID)
			}
		}
	}
	if len(on) == 0 {
		t.problem("network %s needs DHCP but no healthy rack controller has an interface on VLAN %d of fabric %s", nw.Name, v.VID, fab.Name)
		return nil
	}
	primary := on[0]
	if p := deref(v.PrimaryRack); contains(on, p) {
		primary = p
	}
	secondary := ""
	if s := deref(v.SecondaryRack); contains(on, s) && s != primary {
		secondary = s
	} else {
		for _, s := range on {
			if s != primary {
				secondary = s
				break
			}
		}
	}
	if v.DHCPOn && deref(v.PrimaryRack) == primary && deref(v.SecondaryRack) == secondary && v.RelayVLAN == 0 {
		return nil
	}
	f := form("dhcp_on", "true", "primary_rack", primary, "secondary_rack", secondary)
	if v.RelayVLAN != 0 {
		f.Set("relay_vlan", "")
	}
	what := "DHCP on, primary rack " + primary
	if secondary != "" {
		what += ", secondary rack " + secondary
	}
	return t.putVLAN(ctx, fab, v, f, what)
}

// staticRoutes makes each network's routes (other than the default route, which is the
// subnet's gateway) static routes from its subnet; routes from those subnets the design does
// not have are deleted.
func (t *netTemplate) staticRoutes(ctx context.Context, nets []*design.Network) *driver.Result {
	c := t.d.c
	for _, nw := range nets {
		src := subnetByCIDR(t.subnets, nw.CIDR)
		if src == nil {
			continue
		}
		keep := map[int]bool{}
		for _, r := range nw.Routes {
			if r.Subnet == "" || normCIDR(r.Subnet) == "0.0.0.0/0" {
				continue
			}
			dst := subnetByCIDR(t.subnets, r.Subnet)
			if dst == nil {
				t.problem("network %s: route to %s: MAAS has no such subnet", nw.Name, r.Subnet)
				continue
			}
			metric := 100
			if r.Metric != nil {
				metric = *r.Metric
			}
			var cur *staticRoute
			for i := range t.routes {
				x := &t.routes[i]
				if x.Source != nil && x.Destination != nil && x.Source.ID == src.ID && x.Destination.ID == dst.ID {
					cur = x
				}
			}
			desc := fmt.Sprintf("route %s → %s via %s metric %d", src.CIDR, dst.CIDR, r.Gateway, metric)
			switch {
			case cur == nil:
				var nr staticRoute
				f := form("source", itoa(src.ID), "destination", itoa(dst.ID), "gateway_ip", r.Gateway, "metric", itoa(metric))
				if err := c.post(ctx, "static-routes/", "", f, &nr); err != nil {
					r := t.abort("creating "+desc, err)
					return &r
				}
				t.routes = append(t.routes, nr)
				keep[nr.ID] = true
				t.changed("created %s", desc)
			case cur.GatewayIP != r.Gateway || cur.Metric != metric:
				f := form("source", itoa(src.ID), "destination", itoa(dst.ID), "gateway_ip", r.Gateway, "metric", itoa(metric))
				if err := c.put(ctx, fmt.Sprintf("static-routes/%d/", cur.ID), f, nil); err != nil {
					r := t.abort("updating "+desc, err)
					return &r
				}
				cur.GatewayIP, cur.Metric = r.Gateway, metric
				keep[cur.ID] = true
				t.changed("updated %s", desc)
			default:
				keep[cur.ID] = true
			}
		}
		for i := 0; i < len(t.routes); i++ {
			x := t.routes[i]
			if x.Source == nil || x.Source.ID != src.ID || keep[x.ID] {
				continue
			}
			if err := c.del(ctx, fmt.Sprintf("static-routes/%d/", x.ID)); err != nil {
				r := t.abort(fmt.Sprintf("deleting static route %d from %s (not in network %s)", x.ID, src.CIDR, nw.Name), err)
				return &r
			}
			t.changed("deleted route %s → %s", src.CIDR, cidrOf(x.Destination))
			t.routes = append(t.routes[:i], t.routes[i+1:]...)
			i--
		}
	}
	return nil
}

func cidrOf(s *subnet) string {
	if s == nil {
		return "?"
	}
	return s.CIDR
}
