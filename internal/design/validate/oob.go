package validate

import (
	"net"
	"net/url"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD5001",
		Slug:    "oob.ipmi",
		Name:    "Valid IPMI Configuration",
		Summary: "Nodes with oob type ipmi have oob.account, oob.credential (or credential_file or credential_env) and oob.network, and a static address on that network (the BMC address).",
		Example: "OOB parameter credential for IPMI node compute01 missing.",
		Check:   func(c *Context) { checkBMC(c, "ipmi", "IPMI") },
	})
	register(&Rule{
		Code:    "DD5003",
		Slug:    "oob.redfish",
		Name:    "Valid Redfish Configuration",
		Summary: "Nodes with oob type redfish have oob.account, oob.credential (or credential_file or credential_env) and oob.network, and a static address on that network (the BMC address).",
		Example: "OOB address missing for Redfish node compute01: it has no static address on its OOB network oob.",
		Check:   func(c *Context) { checkBMC(c, "redfish", "Redfish") },
	})
	register(&Rule{
		Code:    "DD5004",
		Slug:    "oob.type",
		Name:    "Supported OOB Type",
		Summary: "A node's oob.type, when set, is one Drydock has a driver for: ipmi, redfish, libvirt or manual.",
		Example: "OOB type idrac of node compute01 is not supported (supported: ipmi, libvirt, manual, redfish).",
		Check:   checkOOBType,
	})
	register(&Rule{
		Code:    "DD5002",
		Slug:    "oob.libvirt",
		Name:    "Valid Libvirt Configuration",
		Summary: "Nodes with oob type libvirt have oob.libvirt_uri with a qemu scheme (qemu, qemu+ssh, qemu+tcp, qemu+tls, qemu+unix) and a boot MAC address (metadata.boot_mac).",
		Example: "OOB parameter libvirt_uri has invalid scheme http (BaremetalNode compute01).",
		Check:   checkLibvirt,
	})
}

func checkBMC(c *Context, oobType, title string) {
	for _, n := range c.nodes() {
		if n.OOBType != oobType {
			continue
		}
		for _, p := range []string{"account", "credential", "network"} {
			if v, _ := n.OOBParams.Get(p); v != "" {
				continue
			}
			if p == "credential" { // the password may also come from a file or the environment
				f, _ := n.OOBParams.Get("credential_file")
				e, _ := n.OOBParams.Get("credential_env")
				if f != "" || e != "" {
					continue
				}
			}
			c.Errorf("Define OOB parameter "+p, docs(n.Ref), "OOB parameter %s for %s node %s missing.", p, title, n.Name)
		}
		net, _ := n.OOBParams.Get("network")
		if net == "" {
			continue
		}
		if addressOn(n, net) == "" {
			c.Errorf("Provide address to node OOB interface.", docs(n.Ref),
				"OOB address missing for %s node %s: it has no static address on its OOB network %s.", title, n.Name, net)
		}
	}
}

// addressOn returns the node's (last) static address on a network.
func addressOn(n *design.Node, network string) string {
	addr := ""
	for _, a := range n.Addressing {
		if a.Network == network {
			addr = a.Address
		}
	}
	return addr
}

var libvirtSchemes = map[string]bool{"qemu": true, "qemu+ssh": true, "qemu+tcp": true, "qemu+tls": true, "qemu+unix": true}

func checkLibvirt(c *Context) {
	for _, n := range c.nodes() {
		if n.OOBType != "libvirt" {
			continue
		}
		uri, _ := n.OOBParams.Get("libvirt_uri")
		if uri == "" {
			c.Errorf("Provide libvirt URI to node hypervisor.", docs(n.Ref), "OOB parameter libvirt_uri missing for node %s.", n.Name)
		} else if u, err := url.Parse(uri); err != nil || !libvirtSchemes[strings.ToLower(u.Scheme)] {
			scheme := uri // unparsable, or no scheme at all: show the whole URI
			if err == nil && u.Scheme != "" {
				scheme = u.Scheme
			}
			c.Errorf("Use a libvirt URI such as qemu+ssh://user@hypervisor/system or qemu:///system.", docs(n.Ref),
				"OOB parameter libvirt_uri has invalid scheme %s (BaremetalNode %s).", scheme, n.Name)
		}
		switch {
		case n.BootMAC == "":
			c.Errorf("Specify the node's PXE MAC address in metadata.boot_mac", docs(n.Ref), "libvirt-based node %s requires a defined boot MAC address.", n.Name)
		default:
			if _, err := net.ParseMAC(n.BootMAC); err != nil {
				c.Errorf("Write the MAC address as six hexadecimal pairs, e.g. 52:54:00:12:34:56.", docs(n.Ref), "Boot MAC address %q of node %s is not a MAC address.", n.BootMAC, n.Name)
			}
		}
	}
}

// OOBTypes are the oob.type values Drydock has drivers for.
var OOBTypes = []string{"ipmi", "libvirt", "manual", "redfish"}

func checkOOBType(c *Context) {
	for _, n := range c.nodes() {
		if n.OOBType == "" {
			continue
		}
		known := false
		for _, t := range OOBTypes {
			known = known || n.OOBType == t
		}
		if !known {
			c.Errorf("Set oob.type to one of "+strings.Join(OOBTypes, ", ")+".", docs(n.Ref),
				"OOB type %s of node %s is not supported (supported: %s).", n.OOBType, n.Name, strings.Join(OOBTypes, ", "))
		}
	}
}
