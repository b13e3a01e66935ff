package validate

import (
	"net/netip"
	"sort"

	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD2007",
		Slug:    "net.ip-ranges",
		Name:    "IP Ranges",
		Summary: "Address ranges are valid, inside their network and do not overlap; a node's static address lies inside a static range when its network declares one, and never inside a DHCP range.",
		Example: "The IP Address 172.16.0.50 of BaremetalNode compute01 lies inside the dhcp range 172.16.0.5-172.16.0.254 of network pxe",
		Check:   checkIPRanges,
	})
}

type parsedRange struct {
	typ        string
	start, end netip.Addr
	text       string
}

func checkIPRanges(c *Context) {
	ranges := map[string][]parsedRange{}
	for _, n := range c.design().Networks {
		p, ok := c.prefix(n.Name)
		var valid []parsedRange
		for i, r := range n.Ranges {
			s, err1 := netip.ParseAddr(r.Start)
			e, err2 := netip.ParseAddr(r.End)
			if err1 != nil || err2 != nil {
				c.Errorf("Give the range start and end as IP addresses.", docs(n.Ref),
					"Range %d (%s) of network %s has an invalid start or end: %q - %q", i+1, r.Type, n.Name, r.Start, r.End)
				continue
			}
			pr := parsedRange{typ: r.Type, start: s, end: e, text: r.Start + "-" + r.End}
			if s.BitLen() != e.BitLen() {
				c.Errorf("Give the range start and end in the same address family.", docs(n.Ref),
					"Range %d (%s %s) of network %s mixes IPv4 and IPv6", i+1, r.Type, pr.text, n.Name)
				continue
			}
			if e.Less(s) {
				c.Errorf("The start of a range must not be after its end.", docs(n.Ref),
					"Range %d (%s %s) of network %s ends before it starts", i+1, r.Type, pr.text, n.Name)
				continue
			}
			if ok && (!p.Contains(s) || !p.Contains(e)) {
				c.Errorf("Ranges must lie inside the network's CIDR.", docs(n.Ref),
					"Range %d (%s %s) of network %s is not inside its CIDR %s", i+1, r.Type, pr.text, n.Name, n.CIDR)
				continue
			}
			valid = append(valid, pr)
		}
		sorted := append([]parsedRange(nil), valid...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].start.Less(sorted[j].start) })
		// Compare each range with every earlier range that still reaches it, not only with its
		// predecessor: a wide range can overlap several later ones. A range that ends before
		// the current start cannot reach any later range either, so it is dropped.
		var active []parsedRange
		for _, b := range sorted {
			keep := active[:0]
			for _, a := range active {
				if a.end.Less(b.start) {
					continue
				}
				c.Errorf("Address ranges of a network must not overlap.", docs(n.Ref),
					"The %s range %s and the %s range %s of network %s overlap", a.typ, a.text, b.typ, b.text, n.Name)
				keep = append(keep, a)
			}
			active = append(keep, b)
		}
		if _, dup := ranges[n.Name]; !dup {
			ranges[n.Name] = valid
		}
	}
	for i, n := range c.nodes() {
		for j, a := range n.Addressing {
			ip := c.facts.addrs[i][j]
			if !ip.IsValid() {
				continue // dhcp, or invalid (net.ip-locality reports it)
			}
			checkAddressInRanges(c, n, a, ip, ranges[a.Network])
		}
	}
}

func checkAddressInRanges(c *Context, n *design.Node, a design.Address, ip netip.Addr, rs []parsedRange) {
	hasStatic, inStatic := false, false
	for _, r := range rs {
		in := !ip.Less(r.start) && !r.end.Less(ip)
		switch r.typ {
		case "static":
			hasStatic = true
			if in {
				inStatic = true
			}
		case "dhcp":
			if in {
				c.Errorf("Static addresses must not be handed out by DHCP; move the address or shrink the DHCP range.", docs(n.Ref),
					"The IP Address %s of BaremetalNode %s lies inside the dhcp range %s of network %s", a.Address, n.Name, r.text, a.Network)
			}
		}
	}
	if hasStatic && !inStatic {
		c.Errorf("Use an address inside one of the network's static ranges, or widen a range.", docs(n.Ref),
			"The IP Address %s of BaremetalNode %s is outside every static range of network %s", a.Address, n.Name, a.Network)
	}
}
