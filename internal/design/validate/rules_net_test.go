package validate_test

import (
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
)

const (
	kNode    = "BaremetalNode"
	kProfile = "HostProfile"
	kNet     = "Network"
	kLink    = "NetworkLink"
	kHW      = "HardwareProfile"
	kBA      = "BootAction"
	kRegion  = "Region"
	kRack    = "Rack"
)

// ---- net.cidr (DD2006) ----

func TestNetCIDR(t *testing.T) {
	t.Run("host bits set", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "oob", "cidr", "172.16.100.1/24").run()
		m := wantErrorCounts(t, rep, map[string]int{"net.cidr": 1})["net.cidr"]
		if len(m) == 1 {
			checkMsg(t, m[0], "net.cidr", expect{
				contains: []string{"The provided CIDR 172.16.100.1/24 of network oob has host bits set"},
				diag:     "Provide a CIDR acceptable by MAAS: 172.16.100.0/24",
				docs:     []string{"Network/oob"},
			})
		}
	})
	t.Run("not a CIDR", func(t *testing.T) {
		for _, cidr := range []string{"foo", "172.16.100.0/33", "172.16.100.0"} {
			rep := loadBase(t).set(kNet, "oob", "cidr", cidr).run()
			m := wantErrors(t, rep, "net.cidr", 1)
			if len(m) != 1 {
				continue
			}
			checkMsg(t, m[0], "net.cidr", expect{
				contains: []string{`The CIDR "` + cidr + `" of network oob is not valid`},
				docs:     []string{"Network/oob"},
			})
			// The other rules skip what they cannot check: no crash, no second report of it.
			for _, e := range allErrors(rep) {
				if e.Rule != "net.cidr" && strings.Contains(e.Message, "failed internally") {
					t.Errorf("cidr %q: %s", cidr, e.Message)
				}
			}
		}
	})
	t.Run("bad route subnet", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "mgmt", "routes.0.subnet", "0.0.0.0/99").run()
		one(t, rep, "net.cidr", expect{
			contains: []string{"Route 1 of network mgmt has an invalid subnet \"0.0.0.0/99\""},
			docs:     []string{"Network/mgmt"},
		})
	})
	t.Run("no networks: a warning", func(t *testing.T) {
		v := loadBase(t)
		for _, n := range []string{"oob", "pxe", "mgmt", "private", "storage"} {
			v.drop(kNet, n)
		}
		rep := v.run()
		msgs := msgsOf(rep, "net.cidr")
		if len(msgs) != 2 {
			t.Fatalf("want warning + success, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "net.cidr", expect{level: design.LevelWarning, contains: []string{"No networks found."}, noDocs: true})
		wantSuccess(t, rep, "net.cidr")
		// net.ip-locality says the same (and then checks nothing).
		msgs = msgsOf(rep, "net.ip-locality")
		if len(msgs) == 0 {
			t.Fatal("net.ip-locality did not run")
		}
		checkMsg(t, msgs[0], "net.ip-locality", expect{level: design.LevelWarning, contains: []string{"No networks found."}, noDocs: true})
	})
	t.Run("near misses", func(t *testing.T) {
		// A /32, a /0 route and an IPv6 network are all valid CIDRs.
		rep := loadBase(t).
			doc(kNet, "loopback", "{cidr: 10.255.255.1/32}").
			doc(kNet, "v6", "{cidr: 'fd00:10::/64', routes: [{subnet: '::/0', gateway: 'fd00:10::1'}]}").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "net.cidr")
	})
}

// ---- net.ip-locality (DD2002) ----

func TestNetIPLocality(t *testing.T) {
	t.Run("gateway outside the CIDR", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "mgmt", "routes.0.gateway", "172.16.9.1").run()
		one(t, rep, "net.ip-locality", expect{
			contains: []string{"The gateway IP Address 172.16.9.1 is not within the defined CIDR: 172.16.1.0/24 of mgmt."},
			diag:     "Route gateways must reside on the local network",
			docs:     []string{"Network/mgmt"},
		})
	})
	t.Run("route without gateway", func(t *testing.T) {
		rep := loadBase(t).del(kNet, "mgmt", "routes.0.gateway").run()
		one(t, rep, "net.ip-locality", expect{
			contains: []string{"No gateway found for route 1", "of network mgmt"},
			docs:     []string{"Network/mgmt"},
		})
	})
	t.Run("gateway not an address", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "mgmt", "routes.0.gateway", "gw.example.com").run()
		one(t, rep, "net.ip-locality", expect{
			contains: []string{`The gateway "gw.example.com" of route 1 of network mgmt is not an IP address`},
			docs:     []string{"Network/mgmt"},
		})
	})
	t.Run("address outside the CIDR", func(t *testing.T) {
		// 172.16.2.50 is in private's range, not mgmt's: only the locality rule can tell.
		rep := loadBase(t).set(kNode, "cmp02", "addressing.2.address", "172.16.2.50").run()
		errs := wantErrorCounts(t, rep, map[string]int{"net.ip-locality": 1, "net.ip-ranges": 1})
		if m := errs["net.ip-locality"]; len(m) == 1 {
			checkMsg(t, m[0], "net.ip-locality", expect{
				contains: []string{"The IP Address 172.16.2.50 is not within the defined CIDR: 172.16.1.0/24 of mgmt (BaremetalNode cmp02)"},
				diag:     "Define a valid address for this network.",
				docs:     []string{"BaremetalNode/cmp02"},
			})
		}
	})
	t.Run("address not an address", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "addressing.2.address", "172.16.1.300").run()
		one(t, rep, "net.ip-locality", expect{
			contains: []string{`The address "172.16.1.300" of BaremetalNode cmp01 on network mgmt is not an IP address`},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("no nodes: a warning", func(t *testing.T) {
		v := loadBase(t).drop(kNode, "cmp01").drop(kNode, "cmp02").drop(kNode, "vm01")
		rep := v.run()
		assertClean(t, rep)
		msgs := msgsOf(rep, "net.ip-locality")
		if len(msgs) != 2 {
			t.Fatalf("want warning + success, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "net.ip-locality", expect{level: design.LevelWarning, contains: []string{"No baremetal_nodes found."}, noDocs: true})
	})
	t.Run("near misses", func(t *testing.T) {
		// The network and broadcast addresses count as inside; a dhcp address is not checked;
		// a rendered route-domain route keeps its network-local gateway.
		v := loadBase(t).
			set(kNet, "mgmt", "ranges", y("[{type: static, start: 172.16.1.0, end: 172.16.1.255}]")).
			set(kNode, "cmp01", "addressing.2.address", "172.16.1.255").
			set(kNode, "cmp02", "addressing.2.address", "172.16.1.0").
			set(kNode, "vm01", "addressing.2.address", "dhcp")
		rep := v.run()
		assertClean(t, rep)
		wantSuccess(t, rep, "net.ip-locality")
		if n := rep.Site.Network("private"); n == nil || len(n.Routes) != 2 {
			t.Errorf("private: want its route-domain route rendered, got %+v", n)
		}
	})
}

// ---- net.ip-ranges (DD2007) ----

func TestNetIPRanges(t *testing.T) {
	t.Run("invalid start", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "oob", "ranges.1.start", "172.16.100.x").run()
		one(t, rep, "net.ip-ranges", expect{
			contains: []string{"Range 2 (static) of network oob has an invalid start or end", `"172.16.100.x"`},
			docs:     []string{"Network/oob"},
		})
	})
	t.Run("ends before it starts", func(t *testing.T) {
		rep := loadBase(t).
			set(kNet, "oob", "ranges.1.start", "172.16.100.254").
			set(kNet, "oob", "ranges.1.end", "172.16.100.10").
			run()
		// The broken range is left out, so oob has no valid static range and the node
		// addresses on oob are not checked against one.
		one(t, rep, "net.ip-ranges", expect{
			contains: []string{"Range 2 (static 172.16.100.254-172.16.100.10) of network oob ends before it starts"},
			docs:     []string{"Network/oob"},
		})
	})
	t.Run("mixed address families", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "pxe", "ranges.2.end", "fd00::10").run()
		one(t, rep, "net.ip-ranges", expect{
			contains: []string{"Range 3 (dhcp 172.16.0.100-fd00::10) of network pxe mixes IPv4 and IPv6"},
			docs:     []string{"Network/pxe"},
		})
	})
	t.Run("outside the CIDR", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "pxe", "ranges.2.end", "172.16.1.10").run()
		one(t, rep, "net.ip-ranges", expect{
			contains: []string{"Range 3 (dhcp 172.16.0.100-172.16.1.10) of network pxe is not inside its CIDR 172.16.0.0/24"},
			docs:     []string{"Network/pxe"},
		})
	})
	t.Run("overlap", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "pxe", "ranges.1.end", "172.16.0.100").run()
		one(t, rep, "net.ip-ranges", expect{
			contains: []string{"The static range 172.16.0.10-172.16.0.100 and the dhcp range 172.16.0.100-172.16.0.250 of network pxe overlap"},
			docs:     []string{"Network/pxe"},
		})
	})
	t.Run("a range overlapping two later ones is reported twice", func(t *testing.T) {
		// reserved .1-.200 covers the static range .10-.99 and starts the dhcp range .100-.250.
		rep := loadBase(t).set(kNet, "pxe", "ranges.0.end", "172.16.0.200").run()
		errs := wantErrors(t, rep, "net.ip-ranges", 2)
		if len(errs) == 2 {
			checkMsg(t, errs[0], "net.ip-ranges", expect{contains: []string{"reserved range 172.16.0.1-172.16.0.200 and the static range 172.16.0.10-172.16.0.99"}})
			checkMsg(t, errs[1], "net.ip-ranges", expect{contains: []string{"reserved range 172.16.0.1-172.16.0.200 and the dhcp range 172.16.0.100-172.16.0.250"}})
		}
	})
	t.Run("address inside a dhcp range", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "vm01", "addressing.0.address", "172.16.0.150").run()
		errs := wantErrors(t, rep, "net.ip-ranges", 2)
		if len(errs) == 2 {
			checkMsg(t, errs[0], "net.ip-ranges", expect{
				contains: []string{"The IP Address 172.16.0.150 of BaremetalNode vm01 lies inside the dhcp range 172.16.0.100-172.16.0.250 of network pxe"},
				docs:     []string{"BaremetalNode/vm01"},
			})
			checkMsg(t, errs[1], "net.ip-ranges", expect{
				contains: []string{"The IP Address 172.16.0.150 of BaremetalNode vm01 is outside every static range of network pxe"},
				docs:     []string{"BaremetalNode/vm01"},
			})
		}
	})
	t.Run("address outside every static range", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", "addressing.1.address", "172.16.100.5").run()
		one(t, rep, "net.ip-ranges", expect{
			contains: []string{"The IP Address 172.16.100.5 of BaremetalNode cmp02 is outside every static range of network oob"},
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// Adjacent ranges do not overlap; addresses on the first and last address of a static
		// range are inside it; a network with only a dhcp range accepts static addresses
		// outside it; a static range may end at the broadcast address.
		rep := loadBase(t).
			set(kNet, "oob", "ranges.1.end", "172.16.100.255").
			set(kNode, "cmp01", "addressing.1.address", "172.16.100.10").
			set(kNode, "cmp02", "addressing.1.address", "172.16.100.255").
			set(kNet, "pxe", "ranges", y("[{type: dhcp, start: 172.16.0.100, end: 172.16.0.250}]")).
			set(kNode, "vm01", "addressing.0.address", "172.16.0.251").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "net.ip-ranges")
	})
}

// ---- net.duplicate-ip (DD2005) ----

func TestNetDuplicateIP(t *testing.T) {
	t.Run("two nodes", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "vm01", "addressing.1.address", "172.16.1.11").run()
		one(t, rep, "net.duplicate-ip", expect{
			contains: []string{"Duplicate IP Address Found: 172.16.1.11", "BaremetalNode cmp01 on mgmt", "BaremetalNode vm01 on mgmt"},
			diag:     "Select unique IP addresses for each node.",
			// In the order the message names them: the node that had the address first, then the other.
			docs: []string{"BaremetalNode/cmp01", "BaremetalNode/vm01"},
		})
	})
	t.Run("two networks of one node", func(t *testing.T) {
		// Different networks, same address text: the original compared strings across all
		// networks, and so do we (one address, one host).
		v := loadBase(t).
			set(kNet, "storage", "cidr", "172.16.1.0/24").
			set(kNet, "storage", "ranges", y("[]")).
			set(kNet, "storage", "routes", y("[]")).
			del(kNode, "cmp01", "addressing.4").
			del(kNode, "vm01", "addressing.3").
			set(kNode, "cmp02", "addressing.4.address", "172.16.1.12")
		rep := v.run()
		errs := wantErrorCounts(t, rep, map[string]int{"net.duplicate-ip": 1})
		if m := errs["net.duplicate-ip"]; len(m) == 1 {
			checkMsg(t, m[0], "net.duplicate-ip", expect{
				contains: []string{"Duplicate IP Address Found: 172.16.1.12", "BaremetalNode cmp02 on mgmt", "BaremetalNode cmp02 on storage"},
				docs:     []string{"BaremetalNode/cmp02", "BaremetalNode/cmp02"},
			})
		}
	})
	t.Run("no nodes: a warning", func(t *testing.T) {
		rep := loadBase(t).drop(kNode, "cmp01").drop(kNode, "cmp02").drop(kNode, "vm01").run()
		msgs := msgsOf(rep, "net.duplicate-ip")
		if len(msgs) != 2 {
			t.Fatalf("want warning + success, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "net.duplicate-ip", expect{level: design.LevelWarning, contains: []string{"No BaremetalNodes Found."}, noDocs: true})
	})
	t.Run("near misses", func(t *testing.T) {
		// Several dhcp addresses are not duplicates.
		rep := loadBase(t).
			set(kNode, "vm01", "addressing.0.address", "dhcp").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "net.duplicate-ip")
	})
}

// ---- net.unique-link (DD1007) ----

func TestNetUniqueLink(t *testing.T) {
	t.Run("network on two links", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "pxe", "allowed_networks.1", "mgmt").run()
		// pxe now carries two networks untrunked: net.trunking says so too.
		errs := wantErrorCounts(t, rep, map[string]int{"net.unique-link": 1, "net.trunking": 1})
		if m := errs["net.unique-link"]; len(m) == 1 {
			checkMsg(t, m[0], "net.unique-link", expect{
				contains: []string{"Allowed network mgmt duplicated on NetworkLink pxe and NetworkLink gp"},
				diag:     "Each network is only allowed to cross a single network link.",
				docs:     []string{"NetworkLink/pxe", "NetworkLink/gp"},
			})
		}
	})
	t.Run("near misses", func(t *testing.T) {
		// A network listed twice on one link, and a network on no link at all.
		rep := loadBase(t).
			set(kLink, "gp", "allowed_networks.3", "private").
			doc(kNet, "spare", "{cidr: 10.9.0.0/24, vlan: '999'}").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "net.unique-link")
	})
}

// ---- net.mtu (DD2003) ----

func TestNetMTU(t *testing.T) {
	t.Run("link MTU out of range", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "oob", "mtu", 1000).run()
		one(t, rep, "net.mtu", expect{
			contains: []string{"MTU must be between 1280 and 65536, value is 1000 (NetworkLink oob)"},
			diag:     "Define a valid MTU.",
			docs:     []string{"NetworkLink/oob"},
		})
	})
	t.Run("network MTU out of range reports the network's own MTU", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "private", "mtu", 74000).run()
		one(t, rep, "net.mtu", expect{
			contains: []string{"MTU must be between 1280 and 65536, value is 74000 (Network private)"},
			docs:     []string{"Network/private"},
		})
	})
	t.Run("tagged network larger than its link", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "storage", "mtu", 9100).run()
		one(t, rep, "net.mtu", expect{
			contains: []string{"MTU of network storage (9100) must be <= the MTU of NetworkLink gp (9000) that carries it"},
			diag:     "Define a MTU less than or equal to that of the carrying network link.",
			docs:     []string{"Network/storage", "NetworkLink/gp"},
		})
	})
	t.Run("native network larger than its link", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "pxe", "mtu", 9000).run()
		one(t, rep, "net.mtu", expect{
			contains: []string{"MTU of network pxe (9000) must be <= the MTU of NetworkLink pxe (1500)"},
			docs:     []string{"Network/pxe", "NetworkLink/pxe"},
		})
	})
	t.Run("a network listed twice on its link is reported once", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "storage", "mtu", 9100).set(kLink, "gp", "allowed_networks.3", "storage").run()
		one(t, rep, "net.mtu", expect{contains: []string{"MTU of network storage (9100)"}})
	})
	t.Run("link without mtu is 1500", func(t *testing.T) {
		rep := loadBase(t).del(kLink, "gp", "mtu").run()
		errs := wantErrors(t, rep, "net.mtu", 2)
		for _, m := range errs {
			checkMsg(t, m, "net.mtu", expect{contains: []string{"(9000) must be <= the MTU of NetworkLink gp (1500)"}})
		}
	})
	t.Run("near misses", func(t *testing.T) {
		// Network MTU equal to the link's; the bounds themselves; networks without an mtu.
		rep := loadBase(t).
			set(kNet, "storage", "mtu", 9000).
			set(kLink, "oob", "mtu", 1280).
			set(kLink, "gp", "mtu", 65536).
			set(kNet, "private", "mtu", 65536).
			del(kNet, "mgmt", "mtu").
			del(kNet, "pxe", "mtu").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "net.mtu")
	})
}

// ---- net.trunking (DD2004) ----

func TestNetTrunking(t *testing.T) {
	t.Run("several networks without trunking", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "gp", "trunking", y("{mode: disabled, default_network: mgmt}")).run()
		errs := wantErrors(t, rep, "net.trunking", 2)
		if len(errs) == 2 {
			checkMsg(t, errs[0], "net.trunking", expect{
				contains: []string{"If there is more than 1 allowed network,trunking mode must be enabled (NetworkLink gp)"},
				docs:     []string{"NetworkLink/gp"},
			})
			checkMsg(t, errs[1], "net.trunking", expect{
				contains: []string{"Network link native network has a defined VLAN tag (network mgmt, VLAN 100, NetworkLink gp)."},
				diag:     "Tagged network not allowed on non-trunked network links.",
				docs:     []string{"Network/mgmt", "NetworkLink/gp"},
			})
		}
	})
	t.Run("untrunked link without default network", func(t *testing.T) {
		rep := loadBase(t).del(kLink, "oob", "trunking.default_network").run()
		one(t, rep, "net.trunking", expect{
			contains: []string{"Trunking mode is disabled, a trunking default_network must be defined (NetworkLink oob)"},
			diag:     "Non-trunked links must have a native network defined.",
			docs:     []string{"NetworkLink/oob"},
		})
	})
	t.Run("undefined default network", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "gp", "trunking.default_network", "nope").run()
		errs := wantErrors(t, rep, "net.trunking", 2)
		if len(errs) == 2 {
			checkMsg(t, errs[0], "net.trunking", expect{
				contains: []string{"The default_network nope of NetworkLink gp is not a defined network"},
				docs:     []string{"NetworkLink/gp"},
			})
			checkMsg(t, errs[1], "net.trunking", expect{
				contains: []string{"The default_network nope of NetworkLink gp is not among its allowed_networks"},
				docs:     []string{"NetworkLink/gp"},
			})
		}
	})
	t.Run("default network not allowed", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "gp", "trunking.default_network", "pxe").run()
		// pxe is untagged and now gp's default, so only the allowed_networks check fires.
		one(t, rep, "net.trunking", expect{
			contains: []string{"The default_network pxe of NetworkLink gp is not among its allowed_networks"},
			docs:     []string{"NetworkLink/gp"},
		})
	})
	t.Run("untagged non-default network on a trunk", func(t *testing.T) {
		rep := loadBase(t).del(kNet, "storage", "vlan").run()
		one(t, rep, "net.trunking", expect{
			contains: []string{"Network storage on trunked NetworkLink gp has no VLAN tag and is not the link's default_network"},
			docs:     []string{"Network/storage", "NetworkLink/gp"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// An 802.1q link without default_network whose networks are all tagged; an untagged
		// default network on a trunk; an 802.1q trunk on a link with bonding disabled.
		rep := loadBase(t).
			del(kLink, "gp", "trunking.default_network").
			set(kLink, "gp", "bonding", y("{mode: disabled}")).
			set(kLink, "pxe", "trunking.mode", "802.1q").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "net.trunking")
		rep = loadBase(t).del(kNet, "mgmt", "vlan").run()
		assertClean(t, rep)
	})
}

// ---- net.bond (DD1006) ----

func TestNetBond(t *testing.T) {
	t.Run("options on a disabled bond", func(t *testing.T) {
		rep := loadBase(t).set(kLink, "oob", "bonding", y("{mode: disabled, mon_rate: 100, hash: layer2}")).run()
		one(t, rep, "net.bond", expect{
			contains: []string{"If bonding mode is disabled no other bond option can be specified (NetworkLink oob sets mon_rate, hash)"},
			diag:     "Enable a bonding mode or remove the bond options.",
			docs:     []string{"NetworkLink/oob"},
		})
	})
	t.Run("802.3ad delays below the mon rate", func(t *testing.T) {
		rep := loadBase(t).
			set(kLink, "gp", "bonding.mon_rate", 150).
			set(kLink, "gp", "bonding.up_delay", 50).
			set(kLink, "gp", "bonding.down_delay", 50).
			run()
		errs := wantErrors(t, rep, "net.bond", 2)
		if len(errs) == 2 {
			checkMsg(t, errs[0], "net.bond", expect{
				contains: []string{"Up delay 50 is less than mon rate 150 (NetworkLink gp)"},
				diag:     "Link up delay must be equal or greater than the mon_rate",
				docs:     []string{"NetworkLink/gp"},
			})
			checkMsg(t, errs[1], "net.bond", expect{
				contains: []string{"Down delay 50 is less than mon rate 150 (NetworkLink gp)"},
				diag:     "Link down delay must be equal or greater than the mon_rate",
				docs:     []string{"NetworkLink/gp"},
			})
		}
	})
	t.Run("802.3ad defaults against an explicit mon rate", func(t *testing.T) {
		// up/down delays default to 200.
		rep := loadBase(t).set(kLink, "gp", "bonding", y("{mode: 802.3ad, mon_rate: 250}")).run()
		errs := wantErrors(t, rep, "net.bond", 2)
		if len(errs) == 2 {
			checkMsg(t, errs[0], "net.bond", expect{contains: []string{"Up delay 200 is less than mon rate 250"}})
		}
	})
	for _, mode := range []string{"active-backup", "balance-rr"} {
		t.Run(mode+" with LACP options", func(t *testing.T) {
			// The original crashed on active-backup and never checked balance-rr.
			rep := loadBase(t).set(kLink, "gp", "bonding", y("{mode: "+mode+", hash: layer2, peer_rate: slow}")).run()
			errs := wantErrors(t, rep, "net.bond", 2)
			if len(errs) == 2 {
				checkMsg(t, errs[0], "net.bond", expect{
					contains: []string{"Hash cannot be defined if bond mode is " + mode + " (NetworkLink gp)"},
					diag:     "Hash mode is only applicable to LACP (802.3ad)",
					docs:     []string{"NetworkLink/gp"},
				})
				checkMsg(t, errs[1], "net.bond", expect{
					contains: []string{"Peer rate cannot be defined if bond mode is " + mode + " (NetworkLink gp)"},
					diag:     "Peer rate is only applicable to LACP (802.3ad)",
					docs:     []string{"NetworkLink/gp"},
				})
			}
		})
	}
	t.Run("near misses", func(t *testing.T) {
		for _, bonding := range []string{
			"{mode: 802.3ad, mon_rate: 100, up_delay: 100, down_delay: 100}", // equal
			"{mode: 802.3ad, mon_rate: 100, up_delay: 300, down_delay: 400}", // above
			"{mode: 802.3ad}", // defaults 100/200/200
			"{mode: active-backup, mon_rate: 100, up_delay: 200, down_delay: 200}",
			"{mode: balance-rr}",
			"{mode: disabled}",
		} {
			rep := loadBase(t).set(kLink, "gp", "bonding", y(bonding)).run()
			if len(allErrors(rep)) > 0 {
				t.Errorf("bonding %s:\n%s", bonding, dump(allErrors(rep)))
			}
			wantSuccess(t, rep, "net.bond")
		}
	})
}
