package maassim

import (
	"fmt"
	"net/netip"
	"strings"
)

// RackSpec describes a rack controller registered at start (Config.RackControllers) or with
// AddRackController.
type RackSpec struct {
	Hostname   string
	Interfaces []RackNIC
	// Services maps service names (rackd, http, tftp, dhcpd, dhcpd6, ntp_rack, dns_rack,
	// proxy_rack, syslog_rack) to a status (running, degraded, dead, off, unknown); services
	// not listed are running, except dhcpd and dhcpd6 which are off.
	Services map[string]string
	Version  string
}

// RackNIC is a rack controller interface. With a CIDR, MAAS has discovered its subnet: the
// subnet is created (the first one on fabric-0, later ones on new fabrics) unless it exists,
// and the interface gets a static link with IP (the first host address when empty).
type RackNIC struct {
	Name, MAC string
	CIDR, IP  string
	VID       int // the VLAN of the subnet when created (0: untagged)
}

// DefaultRackController is a healthy rack controller whose eth0 is on fabric-0's untagged
// VLAN without a subnet.
func DefaultRackController() RackSpec {
	return RackSpec{Hostname: "maas-rack", Interfaces: []RackNIC{{Name: "eth0"}}}
}

var rackServices = []string{"rackd", "http", "tftp", "dhcpd", "dhcpd6", "ntp_rack", "dns_rack", "proxy_rack",
	"syslog_rack"}

// AddRackController registers a rack controller and returns its system id.
func (s *Server) AddRackController(r RackSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addRack(r).systemID
}

// SetRackService sets the status of one service of a rack controller; false when there is
// no such rack controller.
func (s *Server) SetRackService(systemID, name, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.st.lookupMachine(systemID)
	if m == nil || m.nodeType == nodeMachine {
		return false
	}
	for i := range m.services {
		if m.services[i].name == name {
			m.services[i].status = status
			return true
		}
	}
	m.services = append(m.services, service{name: name, status: status})
	return true
}

func (st *state) addRack(r RackSpec) *machine {
	now := st.now()
	m := &machine{id: st.next("node"), nodeType: nodeRack, domain: st.domains[0], status: statusDeployed,
		ownerData: map[string]string{}, powerParams: map[string]string{}, arch: "amd64/generic", cpuCount: 8,
		memory: 16384, bootMethod: "pxe", zone: "default", pool: "default", version: r.Version, created: now,
		updated: now, commissioningStatus: scriptPassed, testingStatus: scriptPassed, installStatus: scriptUnknown,
		curResults: map[int]int{}, commissioned: true}
	m.hostname = r.Hostname
	if m.hostname == "" {
		m.hostname = fmt.Sprintf("rack%d", m.id)
	}
	m.systemID = st.newSystemID("rack" + m.hostname)
	if m.version == "" {
		m.version = Version
	}
	m.hardwareUUID = uuidFrom("hw", m.systemID)
	for _, name := range rackServices {
		status := "running"
		if name == "dhcpd" || name == "dhcpd6" {
			status = "off"
		}
		if v, ok := r.Services[name]; ok {
			status = v
		}
		m.services = append(m.services, service{name: name, status: status})
	}
	for _, name := range sortedKeys(r.Services) {
		if !containsFold(rackServices, name) {
			m.services = append(m.services, service{name: name, status: r.Services[name]})
		}
	}
	for i, n := range r.Interfaces {
		if n.Name == "" {
			n.Name = fmt.Sprintf("eth%d", i)
		}
		mac := strings.ToLower(n.MAC)
		if mac == "" {
			mac = derivedMAC(m.systemID, n.Name)
		}
		m.spec.Interfaces = append(m.spec.Interfaces, NICSpec{Name: n.Name, MAC: mac})
		ifc := &iface{id: st.next("iface"), name: n.Name, typ: "physical", mac: mac, enabled: true, tags: []string{},
			params: map[string]any{}, linkConnected: true, interfaceSpeed: 10000, linkSpeed: 10000,
			vlan: st.fabrics[0].defaultVLAN()}
		if p, err := netip.ParsePrefix(n.CIDR); err == nil {
			sn := st.subnetByCIDR(n.CIDR)
			if sn == nil {
				f := st.fabrics[0]
				if len(st.vlanSubnets(f.defaultVLAN())) > 0 || n.VID != 0 && i > 0 {
					f = st.newFabric("", "", "")
				}
				v := f.defaultVLAN()
				if n.VID != 0 {
					v = nil
					for _, x := range f.vlans {
						if x.vid == n.VID {
							v = x
						}
					}
					if v == nil {
						v = st.newVLAN(f, n.VID, "", 1500)
					}
				}
				sn = &subnet{id: st.next("subnet"), name: p.Masked().String(), cidr: p.Masked(), vlan: v, rdnsMode: 2,
					allowDNS: true, allowProxy: true, managed: true}
				st.subnets = append(st.subnets, sn)
			}
			ip := n.IP
			if ip == "" {
				ip = sn.cidr.Addr().Next().String()
			}
			ifc.vlan = sn.vlan
			ifc.links = []*link{{id: st.next("ip"), mode: "static", subnet: sn, ip: ip}}
			st.holdIP(m, ifc.links[0])
		} else {
			st.ensureLinkUp(ifc)
		}
		m.interfaces = append(m.interfaces, ifc)
	}
	if len(m.spec.Interfaces) > 0 {
		m.spec.BootMAC = m.spec.Interfaces[0].MAC
	}
	st.nodes = append(st.nodes, m)
	st.bySID[m.systemID] = m
	return m
}

func (c *req) rack() (*machine, *apiError) {
	m := c.s.st.bySID[c.seg[1]]
	if m == nil || (m.nodeType != nodeRack && m.nodeType != nodeRegionRack) {
		return nil, notFound("RackController")
	}
	return m, nil
}

func listRacks(c *req) (any, *apiError) { return c.listNodesOf(nodeRack, nodeRegionRack) }

func getRack(c *req) (any, *apiError) {
	m, e := c.rack()
	if e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func updateRack(c *req) (any, *apiError) {
	m, e := c.rack()
	if e != nil {
		return nil, e
	}
	form := c.form
	c.form = cloneValues(form, "hostname", "architecture", "cpu_count", "memory", "swap_size")
	e = c.applyMachineForm(m)
	c.form = form
	if e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func deleteRack(c *req) (any, *apiError) {
	m, e := c.rack()
	if e != nil {
		return nil, e
	}
	if _, e := c.stringBool("force", false); e != nil {
		return nil, e
	}
	for _, v := range c.s.st.vlans {
		if v.primary == m.systemID && v.dhcpOn {
			return nil, badRequest("Unable to delete %s; it is currently set as a primary rack controller on VLANs %s and no secondary rack controller will be available to take over. Specify force=True to override.", m.hostname, v.displayName())
		}
	}
	c.s.st.removeNode(m)
	return noContent{}, nil
}

func rackPowerParameters(c *req) (any, *apiError) {
	return c.powerParamsOf(c.s.st.nodesOfType(nodeRack, nodeRegionRack)), nil
}

func listBootImages(c *req) (any, *apiError) {
	if _, e := c.rack(); e != nil {
		return nil, e
	}
	images := []map[string]any{}
	for _, r := range c.s.st.boot {
		images = append(images, map[string]any{"name": r.Name, "architecture": strings.Split(r.Architecture, "/")[0],
			"subarches": strings.Split(r.Subarches, ",")})
	}
	return map[string]any{"images": images, "connected": true, "status": "synced"}, nil
}

func importBootImages(c *req) (any, *apiError) {
	return accepted{"Import of boot images started on all rack controllers"}, nil
}

func describePowerTypes(c *req) (any, *apiError) {
	out := []map[string]any{}
	for _, name := range sortedKeys(powerSchemas) {
		sc := powerSchemas[name]
		fields := []map[string]any{}
		for _, f := range append(append([]string{}, sc.required...), sc.optional...) {
			fields = append(fields, map[string]any{"name": f, "label": f, "required": containsFold(sc.required, f),
				"default": sc.defaults[f], "field_type": "string", "choices": []any{}, "scope": "bmc"})
		}
		out = append(out, map[string]any{"name": name, "description": name, "fields": fields, "driver_type": "power",
			"chassis": false, "can_probe": false, "queryable": name != "manual", "missing_packages": []string{}})
	}
	return out, nil
}
