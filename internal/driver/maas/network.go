package maas

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// wantIface is a design interface as MAAS should have it: a bond, or a physical NIC.
type wantIface struct {
	design  string // the design's device_name
	name    string // the MAAS interface name (bond name or kernel NIC name)
	bond    bool
	parents []string // kernel NIC names of a bond's slaves
	link    *design.NetworkLink
	vlan    *vlan // the VLAN of the interface itself
	mtu     int
	links   []wantLink // networks on the interface itself (untagged)
	tagged  []wantTagged
}

type wantTagged struct {
	vlan *vlan
	mtu  int // 0: not set
	link wantLink
}

type wantLink struct {
	network string
	subnet  *subnet
	mode    string // static, dhcp, link_up
	ip      string
	gateway bool
}

func (w wantLink) String() string {
	s := fmt.Sprintf("%s (%s", w.network, w.subnet.CIDR)
	switch w.mode {
	case "static":
		s += ", static " + w.ip
	default:
		s += ", " + w.mode
	}
	if w.gateway {
		s += ", default gateway"
	}
	return s + ")"
}

// truthy reads a label value (bool or string) as a flag.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, _ := strconv.ParseBool(x)
		return b
	}
	return false
}

// noconfig reports an interface or link labelled noconfig (left alone by the driver).
func noconfig(it design.NodeInterface, l *design.NetworkLink) bool {
	if l != nil {
		if v, ok := l.Labels.Get("noconfig"); ok && truthy(v) {
			return true
		}
	}
	switch labels := it.Extra["labels"].(type) {
	case map[string]any:
		return truthy(labels["noconfig"])
	case design.KV:
		v, _ := labels.Get("noconfig")
		return truthy(v)
	}
	return false
}

func normCIDR(s string) string {
	if _, n, err := net.ParseCIDR(strings.TrimSpace(s)); err == nil {
		return n.String()
	}
	return strings.TrimSpace(s)
}

func subnetByCIDR(ss []subnet, cidr string) *subnet {
	want := normCIDR(cidr)
	for i := range ss {
		if normCIDR(ss[i].CIDR) == want {
			return &ss[i]
		}
	}
	return nil
}

func fabricByName(fs []fabric, name string) *fabric {
	for i := range fs {
		if fs[i].Name == name {
			return &fs[i]
		}
	}
	return nil
}

// addressing returns how the node is addressed on a network: static with the address, dhcp,
// or link_up when the node has no address there.
func addressing(n *design.Node, network string) (mode, ip string) {
	for _, a := range n.Addressing {
		if a.Network != network {
			continue
		}
		if a.Type == "dhcp" || a.Address == "dhcp" {
			return "dhcp", ""
		}
		if a.Address != "" {
			return "static", a.Address
		}
	}
	return "link_up", ""
}

// netPlan resolves the node's interfaces against MAAS's fabrics and subnets. A missing fabric
// or subnet returns retry=true once, so that the caller reads the lists again.
func (o *nodeOp) netPlan(fs []fabric, ss []subnet) (ws []wantIface, problems []string, stale bool) {
	n, site := o.node, o.c.Site
	usedBy := map[string]string{} // kernel NIC name → design interface
	use := func(it, nic string) bool {
		if other, ok := usedBy[nic]; ok && other != it {
			problems = append(problems, fmt.Sprintf("interfaces %s and %s both use NIC %s", other, it, nic))
			return false
		}
		usedBy[nic] = it
		return true
	}
	for _, it := range n.Interfaces {
		if it.DeviceLink == "" {
			continue
		}
		var l *design.NetworkLink
		if site != nil && site.Design != nil {
			l = site.Design.NetworkLink(it.DeviceLink)
		}
		if l == nil {
			problems = append(problems, fmt.Sprintf("interface %s: network link %s is not in the design", it.Name, it.DeviceLink))
			continue
		}
		if noconfig(it, l) {
			continue
		}
		fab := fabricByName(fs, l.Name)
		if fab == nil {
			stale = true
			problems = append(problems, fmt.Sprintf("interface %s: MAAS has no fabric %s (run prepare_site)", it.Name, l.Name))
			continue
		}
		w := wantIface{design: it.Name, link: l, mtu: l.MTU, bond: l.Bonded()}
		switch {
		case w.bond:
			if len(it.Slaves) == 0 {
				problems = append(problems, fmt.Sprintf("interface %s: bonded link %s needs at least one hardware slave", it.Name, l.Name))
				continue
			}
			w.name = it.Name
			for _, s := range it.Slaves {
				w.parents = append(w.parents, o.c.DeviceName(s))
			}
		case len(it.Slaves) > 1:
			problems = append(problems, fmt.Sprintf("interface %s: %d hardware slaves but link %s is not bonded", it.Name, len(it.Slaves), l.Name))
			continue
		case len(it.Slaves) == 1:
			w.name = o.c.DeviceName(it.Slaves[0])
		default:
			w.name = o.c.DeviceName(it.Name)
		}
		nics := w.parents
		if !w.bond {
			nics = []string{w.name}
		}
		ok := true
		for _, nic := range nics {
			ok = use(it.Name, nic) && ok
		}
		if !ok {
			continue
		}
		trunk := l.TrunkMode == design.Trunk8021q
		for _, netName := range it.Networks {
			var nw *design.Network
			if site != nil {
				nw = site.Network(netName)
			}
			if nw == nil {
				problems = append(problems, fmt.Sprintf("interface %s: network %s is not in the design", it.Name, netName))
				continue
			}
			sn := subnetByCIDR(ss, nw.CIDR)
			if sn == nil || sn.VLAN == nil {
				stale = true
				problems = append(problems, fmt.Sprintf("interface %s: MAAS has no subnet %s for network %s (run prepare_site)", it.Name, nw.CIDR, netName))
				continue
			}
			if sn.VLAN.FabricID != fab.ID {
				stale = true
				problems = append(problems, fmt.Sprintf("interface %s: subnet %s of network %s is on fabric %d, not on fabric %s (%d) of link %s",
					it.Name, sn.CIDR, netName, sn.VLAN.FabricID, fab.Name, fab.ID, l.Name))
				continue
			}
			mode, ip := addressing(n, netName)
			wl := wantLink{network: netName, subnet: sn, mode: mode, ip: ip,
				gateway: netName == n.PrimaryNetwork && mode == "static" && nw.DefaultGateway() != ""}
			if !trunk || netName == l.NativeNetwork {
				if w.vlan != nil && w.vlan.ID != sn.VLAN.ID {
					problems = append(problems, fmt.Sprintf("interface %s: untagged networks on different VLANs (%d and %d)", it.Name, w.vlan.VID, sn.VLAN.VID))
					continue
				}
				w.vlan = fab.vlanByVID(sn.VLAN.VID)
				if w.vlan == nil {
					w.vlan = sn.VLAN
				}
				w.links = append(w.links, wl)
				continue
			}
			if sn.VLAN.VID == 0 {
				problems = append(problems, fmt.Sprintf("interface %s: network %s is tagged on link %s but its subnet %s is on the untagged VLAN", it.Name, netName, l.Name, sn.CIDR))
				continue
			}
			w.tagged = append(w.tagged, wantTagged{vlan: sn.VLAN, mtu: nw.MTU, link: wl})
		}
		if w.vlan == nil {
			w.vlan = fab.vlanByVID(0)
			if w.vlan == nil {
				problems = append(problems, fmt.Sprintf("interface %s: fabric %s has no untagged VLAN", it.Name, fab.Name))
				continue
			}
		}
		ws = append(ws, w)
	}
	return ws, problems, stale
}

// ApplyNetworking makes the machine's interfaces match the design: bonds, the fabric (VLAN)
// and MTU of each interface, VLAN sub-interfaces, subnet links with static addresses, DHCP or
// link-up, and the default gateway on the primary network. Only what differs is written.
func (d *Driver) ApplyNetworking(ctx context.Context, c driver.Call) driver.Result {
	o, r := d.begin(ctx, c, "networking")
	if r != nil {
		return *r
	}
	switch st := o.m.StatusName; st {
	case stDeployed, stDeploying:
		return o.skip("machine is %s; networking not changed", st)
	case stFailedDeployment, stFailedReleasing:
		return o.releaseForRework(ctx, "releasing the "+st+" machine before configuring it again")
	case stReleasing, stDiskErasing:
		return o.wait("%s", st)
	case stReady, stAllocated, stBroken:
	default:
		return o.fail("cannot configure the networking of a machine that is %s (commission it first)", st)
	}
	fs, ss, err := d.network(ctx, false)
	if err != nil {
		return o.err("reading fabrics and subnets", err)
	}
	ws, problems, stale := o.netPlan(fs, ss)
	if stale {
		if fs, ss, err = d.network(ctx, true); err != nil {
			return o.err("reading fabrics and subnets", err)
		}
		ws, problems, _ = o.netPlan(fs, ss)
	}
	if len(problems) > 0 {
		return o.fail("networking not applied: %s", strings.Join(problems, "; "))
	}
	a := &netApply{o: o}
	if err := a.load(ctx); err != nil {
		return o.err("reading the machine's interfaces", err)
	}
	for _, w := range ws {
		if res := a.apply(ctx, w); res != nil {
			return *res
		}
	}
	if len(a.changes) == 0 {
		return o.skip("networking already as designed (%d interfaces)", len(ws))
	}
	return o.ok("networking applied: %s", strings.Join(a.changes, "; "))
}

// netApply holds the machine's interfaces while they are changed.
type netApply struct {
	o       *nodeOp
	ifaces  []iface
	changes []string
}

func (a *netApply) load(ctx context.Context) error {
	is, err := a.o.d.c.interfaces(ctx, a.o.sid())
	a.ifaces = is
	return err
}

func (a *netApply) byName(name string) *iface {
	for i := range a.ifaces {
		if a.ifaces[i].Name == name {
			return &a.ifaces[i]
		}
	}
	return nil
}

func (a *netApply) names(typ string) string {
	var ns []string
	for _, i := range a.ifaces {
		if typ == "" || i.Type == typ {
			ns = append(ns, i.Name)
		}
	}
	return strings.Join(ns, ", ")
}

// store replaces (or adds) an interface with the one MAAS returned.
func (a *netApply) store(i *iface) *iface {
	for k := range a.ifaces {
		if a.ifaces[k].ID == i.ID {
			a.ifaces[k] = *i
			return &a.ifaces[k]
		}
	}
	a.ifaces = append(a.ifaces, *i)
	return &a.ifaces[len(a.ifaces)-1]
}

func (a *netApply) fail(format string, args ...any) *driver.Result {
	r := a.o.fail(format, args...)
	return &r
}

func (a *netApply) err(doing string, err error) *driver.Result {
	r := a.o.err(doing, err)
	if len(a.changes) > 0 {
		r.Message += " (already changed: " + strings.Join(a.changes, "; ") + ")"
	}
	return &r
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		if m[x]--; m[x] < 0 {
			return false
		}
	}
	return true
}

// bondParams are the bond settings of a link as MAAS's create_bond takes them.
func bondParams(l *design.NetworkLink) [][2]string {
	p := [][2]string{{"bond_mode", l.BondingMode}, {"bond_miimon", itoa(l.EffectiveMonRate())},
		{"bond_updelay", itoa(l.EffectiveUpDelay())}, {"bond_downdelay", itoa(l.EffectiveDownDelay())}}
	if l.BondingMode == design.Bond8023ad {
		p = append(p, [2]string{"bond_lacp_rate", l.EffectivePeerRate()}, [2]string{"bond_xmit_hash_policy", l.EffectiveHash()})
	}
	return p
}

func (a *netApply) apply(ctx context.Context, w wantIface) *driver.Result {
	o := a.o
	c := o.d.c
	sid := o.sid()
	var cur *iface
	if w.bond {
		if res := a.bond(ctx, w); res != nil {
			return res
		}
		cur = a.byName(w.name)
	} else {
		cur = a.byName(w.name)
		if cur == nil {
			return a.fail("interface %s: no interface %s on the machine (it has %s)", w.design, w.name, a.names(""))
		}
		if res := a.freeFromBonds(ctx, cur, ""); res != nil {
			return res
		}
		cur = a.byName(w.name)
	}
	// The interface's own VLAN (fabric) and MTU.
	f := url.Values{}
	var what []string
	if cur.VLAN == nil || cur.VLAN.ID != w.vlan.ID {
		f.Set("vlan", itoa(w.vlan.ID))
		what = append(what, fmt.Sprintf("VLAN %d of fabric %s", w.vlan.VID, w.link.Name))
	}
	if w.mtu > 0 && cur.mtu() != w.mtu {
		f.Set("mtu", itoa(w.mtu))
		what = append(what, fmt.Sprintf("MTU %d", w.mtu))
	}
	if len(f) > 0 {
		ni, err := c.updateIface(ctx, sid, cur.ID, f)
		if err != nil {
			return a.err(fmt.Sprintf("interface %s: setting %s", cur.Name, strings.Join(what, ", ")), err)
		}
		cur = a.store(ni)
		a.changes = append(a.changes, fmt.Sprintf("%s: %s", cur.Name, strings.Join(what, ", ")))
	}
	if res := a.links(ctx, cur, w.links); res != nil {
		return res
	}
	// VLAN sub-interfaces.
	keep := map[int]bool{}
	for _, t := range w.tagged {
		var child *iface
		for i := range a.ifaces {
			x := &a.ifaces[i]
			if x.Type == "vlan" && x.VLAN != nil && x.VLAN.ID == t.vlan.ID && len(x.Parents) == 1 && x.Parents[0] == cur.Name {
				child = x
				break
			}
		}
		if child == nil {
			f := form("vlan", itoa(t.vlan.ID), "parent", itoa(cur.ID))
			if t.mtu > 0 {
				f.Set("mtu", itoa(t.mtu))
			}
			ni, err := c.createIface(ctx, sid, "create_vlan", f)
			if err != nil {
				return a.err(fmt.Sprintf("creating the VLAN %d interface on %s", t.vlan.VID, cur.Name), err)
			}
			child = a.store(ni)
			a.changes = append(a.changes, fmt.Sprintf("created %s (VLAN %d on %s)", child.Name, t.vlan.VID, cur.Name))
		} else if t.mtu > 0 && child.mtu() != t.mtu {
			ni, err := c.updateIface(ctx, sid, child.ID, form("mtu", itoa(t.mtu)))
			if err != nil {
				return a.err(fmt.Sprintf("interface %s: setting MTU %d", child.Name, t.mtu), err)
			}
			child = a.store(ni)
			a.changes = append(a.changes, fmt.Sprintf("%s: MTU %d", child.Name, t.mtu))
		}
		keep[child.ID] = true
		if res := a.links(ctx, child, []wantLink{t.link}); res != nil {
			return res
		}
	}
	// VLAN sub-interfaces of this interface that the design does not have.
	for i := 0; i < len(a.ifaces); i++ {
		x := a.ifaces[i]
		if x.Type != "vlan" || keep[x.ID] || len(x.Parents) != 1 || x.Parents[0] != cur.Name {
			continue
		}
		if err := c.del(ctx, ifacePath(sid, x.ID)); err != nil {
			return a.err("deleting the VLAN interface "+x.Name+" the design does not have", err)
		}
		a.changes = append(a.changes, "deleted "+x.Name+" (not in the design)")
		a.ifaces = append(a.ifaces[:i], a.ifaces[i+1:]...)
		i--
	}
	return nil
}

// bond makes the bond exist with the design's slaves and settings.
func (a *netApply) bond(ctx context.Context, w wantIface) *driver.Result {
	o := a.o
	c := o.d.c
	sid := o.sid()
	cur := a.byName(w.name)
	if cur != nil && (cur.Type != "bond" || !sameSet(cur.Parents, w.parents)) {
		if err := c.del(ctx, ifacePath(sid, cur.ID)); err != nil {
			return a.err(fmt.Sprintf("deleting interface %s (%s of %s, the design wants a bond of %s)", cur.Name, cur.Type,
				strings.Join(cur.Parents, ", "), strings.Join(w.parents, ", ")), err)
		}
		a.changes = append(a.changes, fmt.Sprintf("deleted %s %s (parents %s)", cur.Type, cur.Name, strings.Join(cur.Parents, ", ")))
		if err := a.load(ctx); err != nil {
			return a.err("reading the interfaces again", err)
		}
		cur = nil
	}
	if cur == nil {
		var ids []string
		for _, p := range w.parents {
			pi := a.byName(p)
			if pi == nil || pi.Type != "physical" {
				return a.fail("bond %s: no physical interface %s on the machine (it has %s)", w.name, p, a.names("physical"))
			}
			if res := a.freeFromBonds(ctx, pi, w.name); res != nil {
				return res
			}
			pi = a.byName(p)
			if len(pi.Links) > 0 {
				ni, err := c.ifaceOp(ctx, sid, pi.ID, "disconnect", nil)
				if err != nil {
					return a.err("disconnecting "+pi.Name+" before bonding it", err)
				}
				pi = a.store(ni)
				a.changes = append(a.changes, "disconnected "+pi.Name)
			}
			if pi.VLAN == nil || pi.VLAN.ID != w.vlan.ID {
				ni, err := c.updateIface(ctx, sid, pi.ID, form("vlan", itoa(w.vlan.ID)))
				if err != nil {
					return a.err(fmt.Sprintf("moving %s to VLAN %d of fabric %s before bonding it", pi.Name, w.vlan.VID, w.link.Name), err)
				}
				a.store(ni)
			}
			ids = append(ids, itoa(pi.ID))
		}
		f := url.Values{"name": {w.name}, "parents": ids, "vlan": {itoa(w.vlan.ID)}}
		if w.mtu > 0 {
			f.Set("mtu", itoa(w.mtu))
		}
		for _, p := range bondParams(w.link) {
			f.Set(p[0], p[1])
		}
		ni, err := c.createIface(ctx, sid, "create_bond", f)
		if err != nil {
			return a.err(fmt.Sprintf("creating bond %s of %s", w.name, strings.Join(w.parents, ", ")), err)
		}
		a.store(ni)
		a.changes = append(a.changes, fmt.Sprintf("created bond %s (%s, %s)", w.name, strings.Join(w.parents, ", "), w.link.BondingMode))
		// The parents changed (they belong to the bond now).
		if err := a.load(ctx); err != nil {
			return a.err("reading the interfaces again", err)
		}
		return nil
	}
	f := url.Values{}
	for _, p := range bondParams(w.link) {
		if v, ok := cur.param(p[0]); !ok || v != p[1] {
			f.Set(p[0], p[1])
		}
	}
	if len(f) > 0 {
		ni, err := c.updateIface(ctx, sid, cur.ID, f)
		if err != nil {
			return a.err("bond "+w.name+": updating its settings", err)
		}
		a.store(ni)
		a.changes = append(a.changes, fmt.Sprintf("bond %s: set %s", w.name, strings.Join(sortedKeys(f), ", ")))
	}
	return nil
}

// freeFromBonds deletes a bond (other than keep) that holds the interface: the design uses
// the interface elsewhere.
func (a *netApply) freeFromBonds(ctx context.Context, i *iface, keep string) *driver.Result {
	for k := range a.ifaces {
		b := a.ifaces[k]
		if b.Type != "bond" || b.Name == keep || !contains(b.Parents, i.Name) {
			continue
		}
		if err := a.o.d.c.del(ctx, ifacePath(a.o.sid(), b.ID)); err != nil {
			return a.err(fmt.Sprintf("deleting bond %s, which holds %s", b.Name, i.Name), err)
		}
		a.changes = append(a.changes, fmt.Sprintf("deleted bond %s (holding %s)", b.Name, i.Name))
		if err := a.load(ctx); err != nil {
			return a.err("reading the interfaces again", err)
		}
		return nil
	}
	return nil
}

// links makes an interface's subnet links exactly the wanted ones.
func (a *netApply) links(ctx context.Context, i *iface, ws []wantLink) *driver.Result {
	o := a.o
	c := o.d.c
	sid := o.sid()
	done := make([]bool, len(ws))
	var drop []link
	for _, l := range i.Links {
		matched := false
		for k, w := range ws {
			if done[k] || l.Subnet == nil || l.Subnet.ID != w.subnet.ID || !strings.EqualFold(l.Mode, w.mode) {
				continue
			}
			if w.mode == "static" && l.IPAddress != w.ip {
				continue
			}
			done[k], matched = true, true
			if w.gateway && !o.isGatewayLink(l.ID) {
				if _, err := c.ifaceOp(ctx, sid, i.ID, "set_default_gateway", form("link_id", itoa(l.ID))); err != nil {
					return a.err(fmt.Sprintf("%s: making %s the default gateway", i.Name, w), err)
				}
				a.changes = append(a.changes, fmt.Sprintf("%s: default gateway via %s", i.Name, w.network))
			}
			break
		}
		// A bare link_up (no subnet) is what MAAS gives a connected interface; linking a subnet
		// replaces it, so it is only removed below if it is still there then.
		if !matched && (l.Subnet != nil || len(ws) == 0) {
			drop = append(drop, l)
		}
	}
	for _, l := range drop {
		ni, err := c.ifaceOp(ctx, sid, i.ID, "unlink_subnet", form("id", itoa(l.ID)))
		if err != nil {
			return a.err(fmt.Sprintf("%s: removing link %d (%s)", i.Name, l.ID, describeLink(l)), err)
		}
		i = a.store(ni)
		a.changes = append(a.changes, fmt.Sprintf("%s: unlinked %s", i.Name, describeLink(l)))
	}
	for k, w := range ws {
		if done[k] {
			continue
		}
		f := form("mode", w.mode, "subnet", itoa(w.subnet.ID))
		if w.mode == "static" {
			f.Set("ip_address", w.ip)
		}
		if w.gateway {
			f.Set("default_gateway", "true")
		}
		ni, err := c.ifaceOp(ctx, sid, i.ID, "link_subnet", f)
		if err != nil {
			return a.err(fmt.Sprintf("%s: linking %s", i.Name, w), err)
		}
		i = a.store(ni)
		a.changes = append(a.changes, fmt.Sprintf("%s: linked %s", i.Name, w))
	}
	if len(ws) == 0 {
		return nil
	}
	for _, l := range i.Links {
		if l.Subnet != nil || !strings.EqualFold(l.Mode, "link_up") {
			continue
		}
		ni, err := c.ifaceOp(ctx, sid, i.ID, "unlink_subnet", form("id", itoa(l.ID)))
		if err != nil {
			return a.err(fmt.Sprintf("%s: removing link %d (%s)", i.Name, l.ID, describeLink(l)), err)
		}
		i = a.store(ni)
		a.changes = append(a.changes, fmt.Sprintf("%s: unlinked %s", i.Name, describeLink(l)))
	}
	return nil
}

func describeLink(l link) string {
	s := l.Mode
	if l.Subnet != nil {
		s += " on " + l.Subnet.CIDR
	}
	if l.IPAddress != "" {
		s += " " + l.IPAddress
	}
	return s
}

// isGatewayLink reports whether MAAS has the link as the machine's IPv4 default gateway (true
// when MAAS does not say: the link was made with default_gateway set).
func (o *nodeOp) isGatewayLink(id int) bool {
	g := o.m.DefaultGateways
	if g == nil || g.IPv4 == nil || g.IPv4.LinkID == nil {
		return true
	}
	return *g.IPv4.LinkID == id
}
