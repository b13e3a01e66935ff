// Package sitegen generates valid synthetic Drydock site designs of any size
// in Deckhand form (schema: drydock/<Kind>/v1, metadata, data), for the
// design-engine benchmarks and for tests.
//
// The generated site is modelled on a large Airship site and is meant to pass
// every design validation rule (DD1001 ... DD4002) with zero errors:
//
//   - one Region "synthsite" with a tag definition and an authorized key;
//   - racks rack001... of Options.NodesPerRack nodes; every rack whose number
//     ends in 3 (rack003, rack013, ...) has no Rack document and is named in
//     node metadata only, as on real sites;
//   - NetworkLinks oob and pxe (untrunked, unbonded, mtu 1500) and gp
//     (802.3ad bond, 802.1q trunk, mtu 9100, native network mgmt);
//   - Networks oob, pxe, mgmt, private, storage and public, each an aligned
//     block of 10.0.0.0/8 (a /14 up to 245,520 nodes, growing to /13, /12 and
//     /11 for larger sites), with reserved, static and (pxe only) dhcp ranges;
//   - one HardwareProfile, HostProfiles defaults -> compute and control;
//   - BaremetalNodes node00001... with unique static addresses;
//   - BootActions for all nodes, by node label and by rack name.
//
// The output depends only on Options: the same Options give the same bytes.
package sitegen

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// Options selects the size of the generated site.
type Options struct {
	Nodes        int // number of BaremetalNode documents
	NodesPerRack int // 0: 40
}

// DefaultNodesPerRack is used when Options.NodesPerRack is 0.
const DefaultNodesPerRack = 40

// SiteName is the name of the generated Region.
const SiteName = "synthsite"

// Address layout inside each network block: the block is cut into pages of
// 256 addresses. Page 0 holds infrastructure (gateway .1, DNS .2/.3, all in a
// reserved range .1-.9; on pxe a small static range .10-.250). Node i gets
// host .10+i%240 of page 1+i/240, so no node address ends in .0 or .255.
const (
	hostsPerPage = 240
	hostOffset   = 10
	pageSize     = 256
	minBlockBits = 18 // /14
	maxBlockBits = 21 // /11: six networks plus the switch block fit in 10.0.0.0/8
	tenNet       = 10 << 24
)

// MaxNodes is the largest Options.Nodes that Generate accepts.
const MaxNodes = ((1<<maxBlockBits)/pageSize - 1) * hostsPerPage

// Network indices; the value is also the index of the network's block in
// 10.0.0.0/8. Block 6 (and 7) hold the ToR switch management addresses, which
// belong to no Drydock network.
const (
	netOOB = iota
	netPXE
	netMgmt
	netPrivate
	netStorage
	netPublic
	numNets
	blockSwitches = numNets
)

type network struct {
	name   string
	vlan   string // "" for none
	mtu    int
	domain string
	dns    string // "" means the block's .2 and .3
	metric int    // default route metric; 0 means no default route
}

var networks = [numNets]network{
	netOOB:     {name: "oob", mtu: 1500, domain: "oob." + SiteName + ".example.com"},
	netPXE:     {name: "pxe", mtu: 1500, domain: "pxe." + SiteName + ".example.com"},
	netMgmt:    {name: "mgmt", vlan: "100", mtu: 1500, domain: "mgmt." + SiteName + ".example.com", metric: 100},
	netPrivate: {name: "private", vlan: "101", mtu: 9100, domain: "priv." + SiteName + ".example.com"},
	netStorage: {name: "storage", vlan: "102", mtu: 9100, domain: "storage." + SiteName + ".example.com"},
	netPublic:  {name: "public", vlan: "103", mtu: 1500, domain: SiteName + ".example.com", dns: "8.8.8.8,8.8.4.4", metric: 10},
}

// Names of the generated profiles and documents.
const (
	hardwareProfileName = "dell-r740xd"
	profileDefaults     = "defaults"
	profileCompute      = "compute"
	profileControl      = "control"
)

// plan holds everything derived from Options.
type plan struct {
	nodes     int
	perRack   int
	racks     int
	nodeWidth int
	rackWidth int
	blockBits uint
}

func newPlan(o Options) (plan, error) {
	p := plan{nodes: o.Nodes, perRack: o.NodesPerRack}
	if p.nodes < 0 {
		return p, fmt.Errorf("sitegen: Nodes must not be negative, got %d", p.nodes)
	}
	if p.nodes > MaxNodes {
		return p, fmt.Errorf("sitegen: Nodes %d exceeds the maximum of %d", p.nodes, MaxNodes)
	}
	if p.perRack < 0 {
		return p, fmt.Errorf("sitegen: NodesPerRack must not be negative, got %d", p.perRack)
	}
	if p.perRack == 0 {
		p.perRack = DefaultNodesPerRack
	}
	p.racks = (p.nodes + p.perRack - 1) / p.perRack
	p.nodeWidth = max(5, len(strconv.Itoa(p.nodes)))
	p.rackWidth = max(3, len(strconv.Itoa(p.racks)))
	// The smallest block holding page 0 plus the node pages. The two switch
	// addresses per rack go to blocks 6 and 7, which hold 2*nodes >= 2*racks.
	pages := (p.nodes + hostsPerPage - 1) / hostsPerPage
	p.blockBits = minBlockBits
	for (1<<p.blockBits)/pageSize < 1+pages {
		p.blockBits++
	}
	return p, nil
}

func (p *plan) blockBase(block int) uint32 { return tenNet + uint32(block)<<p.blockBits }
func (p *plan) blockLast(block int) uint32 { return p.blockBase(block) + 1<<p.blockBits - 1 }
func (p *plan) prefix() int                { return 32 - int(p.blockBits) }

// hostAddr is the address of host idx (0-based) in a block.
func (p *plan) hostAddr(block, idx int) uint32 {
	return p.blockBase(block) + uint32(pageSize*(1+idx/hostsPerPage)+hostOffset+idx%hostsPerPage)
}

// switchAddr is the management address of ToR switch s (0 or 1) of rack r (1-based).
func (p *plan) switchAddr(r, s int) uint32 {
	return p.hostAddr(blockSwitches, 2*(r-1)+s)
}

// rackOf is the rack number (1-based) of node i (0-based).
func (p *plan) rackOf(i int) int { return i/p.perRack + 1 }

// zoneOf is the availability zone (1..4) of a rack.
func zoneOf(rack int) int { return (rack-1)%4 + 1 }

// rackHasDocument reports whether rack r gets a Rack document: one rack in
// ten (rack003, rack013, ...) is named in node metadata only.
func rackHasDocument(r int) bool { return r%10 != 3 }

// isControl reports whether node i (0-based) is a control node: node00001,
// node00021, ... (one in 20).
func isControl(i int) bool { return i%20 == 0 }

// nodeOverride is what node i (0-based) overrides: every 10th node
// (node00010, node00020, ...), alternately dropping storage from bond0 and
// adding a kernel parameter.
func nodeOverride(i int) overrideKind {
	n := i + 1
	switch {
	case n%10 != 0:
		return overrideNone
	case (n/10)%2 == 1:
		return overrideNoStorage
	default:
		return overrideKernelParam
	}
}

type overrideKind int

const (
	overrideNone        overrideKind = iota
	overrideNoStorage                // bond0 networks ['!storage'], no storage address
	overrideKernelParam              // adds a kernel parameter
)

// Generate writes a complete, valid Deckhand-format site design.
// Deterministic: the same Options give the same bytes.
func Generate(w io.Writer, o Options) error {
	p, err := newPlan(o)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	g := &gen{p: &p, w: bw, buf: make([]byte, 0, flushSize+4096)}
	if err := g.run(); err != nil {
		return err
	}
	return bw.Flush()
}

// Bytes is Generate into memory. It panics if the Options are invalid
// (negative counts, or more than MaxNodes nodes).
func Bytes(o Options) []byte {
	p, err := newPlan(o)
	if err != nil {
		panic(err)
	}
	// Without a writer, flush is a no-op and the whole site accumulates in
	// buf, allocated once at its final size.
	g := &gen{p: &p, buf: make([]byte, 0, p.sizeHint())}
	if err := g.run(); err != nil {
		panic(err)
	}
	return g.buf
}

// sizeHint is an upper bound of the generated size in bytes.
func (p *plan) sizeHint() int {
	return 12<<10 + p.nodes*(600+2*p.nodeWidth+p.rackWidth) + p.racks*(600+6*p.rackWidth)
}

// flushSize is the size at which the pending output is handed to the writer.
const flushSize = 32 << 10

// run writes the whole site: the fixed documents and racks, the nodes, then
// the boot actions.
func (g *gen) run() error {
	g.header()
	g.flush()
	for i := 0; i < g.p.nodes; i++ {
		g.node(i)
		if len(g.buf) >= flushSize {
			g.flush()
			if g.err != nil {
				return g.err
			}
		}
	}
	g.bootActions()
	g.flush()
	return g.err
}

// gen appends YAML to buf and hands it to w in chunks of about flushSize.
type gen struct {
	p   *plan
	w   *bufio.Writer // nil: accumulate everything in buf
	buf []byte
	err error
}

func (g *gen) flush() {
	if g.w == nil || len(g.buf) == 0 {
		return
	}
	if g.err == nil {
		_, g.err = g.w.Write(g.buf)
	}
	g.buf = g.buf[:0]
}

func (g *gen) s(ss ...string) {
	for _, s := range ss {
		g.buf = append(g.buf, s...)
	}
}

func (g *gen) i(v int) { g.buf = strconv.AppendInt(g.buf, int64(v), 10) }

func (g *gen) ip(a uint32) {
	g.buf = strconv.AppendUint(g.buf, uint64(a>>24), 10)
	g.buf = append(g.buf, '.')
	g.buf = strconv.AppendUint(g.buf, uint64(a>>16&0xff), 10)
	g.buf = append(g.buf, '.')
	g.buf = strconv.AppendUint(g.buf, uint64(a>>8&0xff), 10)
	g.buf = append(g.buf, '.')
	g.buf = strconv.AppendUint(g.buf, uint64(a&0xff), 10)
}

// padded appends prefix followed by n zero padded to width digits.
func (g *gen) padded(prefix string, n, width int) {
	g.buf = append(g.buf, prefix...)
	var d [20]byte
	digits := strconv.AppendInt(d[:0], int64(n), 10)
	for k := len(digits); k < width; k++ {
		g.buf = append(g.buf, '0')
	}
	g.buf = append(g.buf, digits...)
}

func (g *gen) nodeName(i int) { g.padded("node", i+1, g.p.nodeWidth) }
func (g *gen) rackName(r int) { g.padded("rack", r, g.p.rackWidth) }

// docStart starts a document of the given kind up to the value of
// metadata.name, which the caller appends before calling docEnd.
func (g *gen) docStart(kind string) {
	g.s("---\nschema: drydock/", kind, "/v1\nmetadata:\n  schema: metadata/Document/v1\n  name: ")
}

func (g *gen) docEnd() {
	g.s("\n  layeringDefinition:\n    abstract: false\n    layer: site\n  storagePolicy: cleartext\ndata:\n")
}

func (g *gen) named(kind, name string) {
	g.docStart(kind)
	g.s(name)
	g.docEnd()
}

func (g *gen) header() {
	p := g.p
	g.s("# Synthetic Drydock site design generated by internal/design/sitegen.\n")
	g.s("# nodes: ")
	g.i(p.nodes)
	g.s(", racks: ")
	g.i(p.racks)
	g.s(", nodes per rack: ")
	g.i(p.perRack)
	g.s("\n")

	// Region.
	g.named("Region", SiteName)
	g.s(`  tag_definitions:
    - tag: high_memory
      definition_type: lshw_xpath
      definition: '//node[@id="memory"]/size[@units="bytes"] > 274877906944'
  authorized_keys:
    - `, authorizedKey, "\n")

	// Network links.
	for _, l := range [...]string{"oob", "pxe"} {
		g.named("NetworkLink", l)
		g.s("  bonding:\n    mode: disabled\n  mtu: 1500\n  linkspeed: auto\n  trunking:\n    mode: disabled\n    default_network: ",
			l, "\n  allowed_networks:\n    - ", l, "\n")
	}
	g.named("NetworkLink", "gp")
	g.s(`  bonding:
    mode: 802.3ad
    hash: layer3+4
    peer_rate: fast
    mon_rate: 100
    up_delay: 200
    down_delay: 200
  mtu: 9100
  linkspeed: auto
  trunking:
    mode: 802.1q
    default_network: mgmt
  allowed_networks:
    - mgmt
    - private
    - storage
    - public
`)

	// Networks.
	for k := range networks {
		g.network(k)
	}

	// Hardware profile.
	g.named("HardwareProfile", hardwareProfileName)
	g.s(`  vendor: Dell
  generation: '14'
  hw_version: '1'
  bios_version: '2.12.2'
  boot_mode: bios
  bootstrap_protocol: pxe
  pxe_interface: 0
  device_aliases:
    nic01:
      address: '0000:18:00.0'
      dev_type: 'Ethernet Controller X710 for 10GbE SFP+'
      bus_type: 'pci'
    nic02:
      address: '0000:18:00.1'
      dev_type: 'Ethernet Controller X710 for 10GbE SFP+'
      bus_type: 'pci'
    bootdisk:
      address: '0:2.0.0'
      dev_type: 'PERC H740P'
      bus_type: 'scsi'
  cpu_sets:
    kvm: '4-21,26-43,48-65,70-87'
  hugepages:
    dpdk:
      size: '1G'
      count: 32
`)

	// Host profiles.
	g.named("HostProfile", profileDefaults)
	g.s(`  oob:
    type: ipmi
    network: oob
    account: admin
    credential: ipmi-password
  storage:
    physical_devices:
      sda:
        labels:
          role: rootdisk
        partitions:
          - name: root
            size: 30g
            bootable: true
            filesystem:
              mountpoint: '/'
              fstype: 'ext4'
              mount_options: 'defaults'
          - name: boot
            size: 1g
            bootable: false
            filesystem:
              mountpoint: '/boot'
              fstype: 'ext4'
              mount_options: 'defaults'
      sdb:
        volume_group: log_vg
    volume_groups:
      log_vg:
        logical_volumes:
          - name: log_lv
            size: 100g
            filesystem:
              mountpoint: '/var/log'
              fstype: 'xfs'
              mount_options: 'defaults'
  platform:
    image: xenial
    kernel: ga-16.04
    kernel_params:
      console: ttyS1
      quiet: true
  metadata:
    owner_data:
      site: `, SiteName, "\n")
	g.childProfile(profileCompute, "    networks:\n        - mgmt\n        - private\n        - storage\n", `  platform:
    kernel_params:
      isolcpus: hardwareprofile:cpuset.kvm
      hugepagesz: hardwareprofile:hugepages.dpdk.size
      hugepages: hardwareprofile:hugepages.dpdk.count
`)
	g.childProfile(profileControl, "    networks:\n        - mgmt\n        - private\n        - storage\n        - public\n", "")

	// Racks.
	for r := 1; r <= p.racks; r++ {
		if !rackHasDocument(r) {
			continue
		}
		g.docStart("Rack")
		g.rackName(r)
		g.docEnd()
		g.s("  tor_switches:\n")
		for s := 0; s < 2; s++ {
			g.s("    ")
			g.rackName(r)
			g.s("-tor", strconv.Itoa(s+1), ":\n      mgmt_ip: ")
			g.ip(p.switchAddr(r, s))
			g.s("\n      sdn_api_uri: 'polo+https://api.sdn.example.com/switchmgmt?switch=")
			g.rackName(r)
			g.s("-tor", strconv.Itoa(s+1), "'\n")
		}
		g.s("  location:\n    clli: SYNTHSITE01\n    grid: R")
		g.padded("", (r-1)/20+1, 2)
		g.s("C")
		g.padded("", (r-1)%20+1, 2)
		g.s("\n  labels:\n    zone: z")
		g.i(zoneOf(r))
		g.s("\n")
		if len(g.buf) >= flushSize {
			g.flush()
		}
	}
}

// childProfile writes a HostProfile adopting defaults. bond0Networks is the
// networks stanza of bond0 (with its indentation after the first four
// spaces), extra is appended to data.
func (g *gen) childProfile(name, bond0Networks, extra string) {
	g.named("HostProfile", name)
	g.s(`  host_profile: `, profileDefaults, `
  hardware_profile: `, hardwareProfileName, `
  primary_network: mgmt
  interfaces:
    pxe:
      device_link: pxe
      slaves:
        - nic01
      networks:
        - pxe
    bond0:
      device_link: gp
      slaves:
        - nic01
        - nic02
  `, bond0Networks, extra, `  metadata:
    tags:
      - `, name, "\n")
}

func (g *gen) network(k int) {
	p := g.p
	n := networks[k]
	base := p.blockBase(k)
	last := p.blockLast(k)
	g.named("Network", n.name)
	g.s("  cidr: ")
	g.ip(base)
	g.s("/", strconv.Itoa(p.prefix()), "\n")
	if n.vlan != "" {
		g.s("  vlan: '", n.vlan, "'\n")
	}
	g.s("  mtu: ", strconv.Itoa(n.mtu), "\n  ranges:\n    - type: reserved\n      start: ")
	g.ip(base + 1)
	g.s("\n      end: ")
	g.ip(base + 9)
	if k == netPXE {
		// Infrastructure statics (genesis, build hosts) in page 0; nodes boot by DHCP.
		g.s("\n    - type: static\n      start: ")
		g.ip(base + hostOffset)
		g.s("\n      end: ")
		g.ip(base + 250)
		g.s("\n    - type: dhcp\n      start: ")
	} else {
		g.s("\n    - type: static\n      start: ")
	}
	g.ip(p.hostAddr(k, 0))
	g.s("\n      end: ")
	g.ip(last - 1)
	g.s("\n")
	if n.metric != 0 {
		g.s("  routes:\n    - subnet: 0.0.0.0/0\n      gateway: ")
		g.ip(base + 1)
		g.s("\n      metric: ", strconv.Itoa(n.metric), "\n")
	}
	g.s("  dns:\n    domain: ", n.domain, "\n    servers: ")
	if n.dns != "" {
		g.s(n.dns)
	} else {
		g.ip(base + 2)
		g.s(",")
		g.ip(base + 3)
	}
	g.s("\n")
}

func (g *gen) node(i int) {
	p := g.p
	rack := p.rackOf(i)
	control := isControl(i)
	ov := nodeOverride(i)

	g.docStart("BaremetalNode")
	g.nodeName(i)
	g.docEnd()
	if control {
		g.s("  host_profile: ", profileControl, "\n")
	} else {
		g.s("  host_profile: ", profileCompute, "\n")
	}
	switch ov {
	case overrideNoStorage:
		g.s("  interfaces:\n    bond0:\n      networks:\n        - '!storage'\n")
	case overrideKernelParam:
		g.s("  platform:\n    kernel_params:\n      transparent_hugepage: never\n")
	}
	g.s("  addressing:\n    - network: pxe\n      address: dhcp\n")
	g.addr(netOOB, i)
	g.addr(netMgmt, i)
	g.addr(netPrivate, i)
	if ov != overrideNoStorage {
		g.addr(netStorage, i)
	}
	if control {
		g.addr(netPublic, i)
	}
	g.s("  metadata:\n    rack: ")
	g.rackName(rack)
	z := strconv.Itoa(zoneOf(rack))
	g.s("\n    tags:\n      - zone-z", z, "\n    owner_data:\n      role: ")
	if control {
		g.s(profileControl)
	} else {
		g.s(profileCompute)
	}
	g.s("\n      zone: z", z, "\n")
}

func (g *gen) addr(k, i int) {
	g.s("    - network: ", networks[k].name, "\n      address: ")
	g.ip(g.p.hostAddr(k, i))
	g.s("\n")
}

func (g *gen) bootActions() {
	g.named("BootAction", "base-config")
	g.s(`  assets:
    - path: /var/tmp/site-motd.sh
      type: file
      permissions: '555'
      data: |
        #!/bin/bash
        echo 'Provisioned {{ .node.hostname }}.{{ .node.domain }} by Drydock' > /etc/motd
      data_pipeline:
        - utf8_decode
        - template
    - type: pkg_list
      data:
        ipmitool: '1.2.3-1'
        chrony: null
`)
	g.named("BootAction", "compute-tuning")
	g.s(`  signaling: false
  node_filter:
    filter_set_type: union
    filter_set:
      - filter_type: union
        node_labels:
          role: compute
  assets:
    - path: /etc/systemd/system/compute-tuning.service
      type: unit
      permissions: '644'
      data: |
        [Unit]
        Description=Compute node tuning
        [Service]
        Type=oneshot
        ExecStart=/bin/sh -c 'echo never > /sys/kernel/mm/transparent_hugepage/enabled'
        [Install]
        WantedBy=multi-user.target
      data_pipeline:
        - utf8_decode
`)
	g.named("BootAction", "rack-firmware")
	g.s(`  node_filter:
    filter_set_type: union
    filter_set:
      - filter_type: union
        rack_names:
          - `)
	g.rackName(1)
	g.s("\n          - ")
	g.rackName(3)
	g.s(`
  assets:
    - path: /var/tmp/firmware-check.sh
      type: file
      permissions: '500'
      data: |
        #!/bin/bash
        echo 'Checking firmware on {{ .node.hostname }}'
      data_pipeline:
        - utf8_decode
        - template
`)
}

// authorizedKey is a well-formed (but made-up) ssh-ed25519 public key.
var authorizedKey = func() string {
	const typ = "ssh-ed25519"
	b := binary.BigEndian.AppendUint32(nil, uint32(len(typ)))
	b = append(b, typ...)
	b = binary.BigEndian.AppendUint32(b, 32)
	for k := 0; k < 32; k++ {
		b = append(b, byte(k*37+11))
	}
	return typ + " " + base64.StdEncoding.EncodeToString(b) + " drydock@" + SiteName
}()
