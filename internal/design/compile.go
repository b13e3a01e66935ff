package design

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/drydock-go/drydock/internal/nodefilter"
)

// Site is the applied ("effective") model of a design: every node with its host-profile chain
// merged, its hardware profile applied and its kernel parameters resolved, networks with their
// route-domain routes rendered, and boot actions with their target nodes.
type Site struct {
	Design      *Design
	Nodes       []*Node
	Networks    []*Network // copies of the design's networks, with rendered routes
	BootActions []*AppliedBootAction
	// UsedProfiles names every host profile that some node's chain goes through.
	UsedProfiles map[string]bool
	// ProfileIssues are reference problems of host profiles that no node uses.
	ProfileIssues map[string][]RefIssue

	nodeIndex    map[string]*Node
	networkIndex map[string]*Network
}

// Node returns the named compiled node, or nil.
func (s *Site) Node(name string) *Node { return s.nodeIndex[name] }

// Network returns the named network (with rendered routes), or nil.
func (s *Site) Network(name string) *Network { return s.networkIndex[name] }

// AppliedBootAction is a boot action with the nodes it targets.
type AppliedBootAction struct {
	*BootAction
	Targets     []string // node names in design order
	FilterError error
}

// Node is a compiled BaremetalNode.
type Node struct {
	Ref             DocRef            `json:"-"`
	Name            string            `json:"name"`
	Domain          string            `json:"domain"`
	FQDN            string            `json:"fqdn"`
	HostProfile     string            `json:"host_profile,omitempty"`
	ProfileChain    []string          `json:"profile_chain,omitempty"`
	HardwareProfile string            `json:"hardware_profile,omitempty"`
	PrimaryNetwork  string            `json:"primary_network,omitempty"`
	Rack            string            `json:"rack,omitempty"`
	BootMAC         string            `json:"boot_mac,omitempty"`
	Tags            []string          `json:"tags"`
	OwnerData       KV                `json:"owner_data"`
	OOBType         string            `json:"oob_type,omitempty"`
	OOBParams       KV                `json:"oob_parameters"`
	Image           string            `json:"image,omitempty"`
	Kernel          string            `json:"kernel,omitempty"`
	KernelParams    KV                `json:"kernel_params"`
	Interfaces      []NodeInterface   `json:"interfaces"`
	Devices         []NodeDevice      `json:"storage_devices"`
	VolumeGroups    []NodeVolumeGroup `json:"volume_groups"`
	Addressing      []Address         `json:"addressing"`
	// Issues are the references compiling could not resolve; validation reports them.
	Issues []RefIssue `json:"-"`
}

// NodeInterface is a compiled interface.
type NodeInterface struct {
	Name       string          `json:"device_name"`
	DeviceLink string          `json:"network_link,omitempty"`
	Slaves     []string        `json:"hardware_slaves"`
	Selectors  []SlaveSelector `json:"slave_selectors"`
	Networks   []string        `json:"networks"`
	SRIOV      *SRIOV          `json:"sriov,omitempty"`
	Extra      map[string]any  `json:"extra,omitempty"`
}

// SlaveSelector says how a driver finds a slave NIC: by PCI address (from a hardware-profile
// alias) or by kernel name.
type SlaveSelector struct {
	Type       string `json:"selector_type"` // "address" or "name"
	Address    string `json:"address"`
	DeviceType string `json:"device_type,omitempty"`
}

// NodeFilesystem is a compiled filesystem (fstype defaults to ext4, options to "defaults").
type NodeFilesystem struct {
	Mountpoint   string `json:"mountpoint,omitempty"`
	FSType       string `json:"fstype"`
	MountOptions string `json:"mount_options"`
	FSUUID       string `json:"fs_uuid,omitempty"`
	FSLabel      string `json:"fs_label,omitempty"`
}

// NodeDevice is a compiled physical storage device.
type NodeDevice struct {
	Name        string          `json:"name"`
	Labels      KV              `json:"labels,omitempty"`
	VolumeGroup string          `json:"volume_group,omitempty"`
	Partitions  []NodePartition `json:"partitions,omitempty"`
	// PartitionsSet is true when the device declares partitions (possibly an empty list).
	PartitionsSet bool `json:"-"`
}

// NodePartition is a compiled partition.
type NodePartition struct {
	Name        string          `json:"name"`
	Size        string          `json:"size,omitempty"`
	PartUUID    string          `json:"part_uuid,omitempty"`
	Bootable    bool            `json:"bootable"`
	Labels      KV              `json:"labels,omitempty"`
	VolumeGroup string          `json:"volume_group,omitempty"`
	Filesystem  *NodeFilesystem `json:"filesystem,omitempty"`
}

// NodeVolumeGroup is a compiled volume group.
type NodeVolumeGroup struct {
	Name           string              `json:"name"`
	VGUUID         string              `json:"vg_uuid,omitempty"`
	LogicalVolumes []NodeLogicalVolume `json:"logical_volumes"`
}

// NodeLogicalVolume is a compiled logical volume.
type NodeLogicalVolume struct {
	Name       string          `json:"name"`
	Size       string          `json:"size,omitempty"`
	LVUUID     string          `json:"lv_uuid,omitempty"`
	Filesystem *NodeFilesystem `json:"filesystem,omitempty"`
}

// Reference issue kinds.
const (
	IssueHostProfile     = "HostProfile"
	IssueCycle           = "cycle"
	IssueHardwareProfile = "HardwareProfile"
	IssueKernelParam     = "kernel-param"
)

// RefIssue is a reference that compiling could not resolve.
type RefIssue struct {
	Kind   string
	Name   string // the missing name
	Field  string // where the reference is, e.g. "host_profile of k8-node"
	Detail string
}

// Compile builds the applied model. It never fails: unresolvable references are recorded on
// the node (Node.Issues) and reported by validation. The design is not modified, so compiling
// the same design twice gives the same result.
func Compile(d *Design) *Site {
	s := &Site{Design: d, UsedProfiles: map[string]bool{}, ProfileIssues: map[string][]RefIssue{}}
	c := &compiler{d: d, done: map[string]*compiled{}}
	s.nodeIndex = make(map[string]*Node, len(d.Nodes))
	for _, raw := range d.Nodes {
		n := c.node(raw, s.UsedProfiles)
		s.Nodes = append(s.Nodes, n)
		if _, dup := s.nodeIndex[n.Name]; !dup {
			s.nodeIndex[n.Name] = n
		}
	}
	for _, p := range d.HostProfiles {
		if s.UsedProfiles[p.Name] {
			continue
		}
		cp := c.profile(p.Name, nil)
		issues := append([]RefIssue(nil), cp.issues...)
		if hw := str(cp.merged.HardwareProfile); hw != "" {
			if d.HardwareProfile(hw) == nil {
				issues = append(issues, RefIssue{Kind: IssueHardwareProfile, Name: hw, Field: "hardware_profile"})
			}
		}
		if len(issues) > 0 {
			s.ProfileIssues[p.Name] = issues
		}
	}
	s.renderNetworks()
	s.targetBootActions()
	return s
}

type compiled struct {
	merged *HostProfile
	chain  []string // this profile first, then its ancestors
	issues []RefIssue
}

type compiler struct {
	d    *Design
	done map[string]*compiled
}

// profile compiles a host profile with its ancestors. visiting detects cycles.
func (c *compiler) profile(name string, visiting []string) *compiled {
	if cp, ok := c.done[name]; ok {
		return cp
	}
	for i, v := range visiting {
		if v == name {
			cycle := append(append([]string{}, visiting[i:]...), name)
			return &compiled{merged: &HostProfile{Name: name}, issues: []RefIssue{{Kind: IssueCycle, Name: name,
				Detail: strings.Join(cycle, " -> ")}}}
		}
	}
	p := c.d.HostProfile(name)
	if p == nil {
		return nil
	}
	cp := &compiled{merged: p, chain: []string{name}}
	if p.ParentProfile != "" {
		parent := c.profile(p.ParentProfile, append(visiting, name))
		if parent == nil {
			cp.issues = append(cp.issues, RefIssue{Kind: IssueHostProfile, Name: p.ParentProfile, Field: "host_profile of HostProfile " + name})
		} else {
			cp.merged = mergeHost(p, parent.merged)
			cp.chain = append(cp.chain, parent.chain...)
			cp.issues = append(cp.issues, parent.issues...)
		}
	}
	if len(visiting) == 0 || !hasCycle(cp.issues) {
		c.done[name] = cp
	}
	return cp
}

func hasCycle(issues []RefIssue) bool {
	for _, i := range issues {
		if i.Kind == IssueCycle {
			return true
		}
	}
	return false
}

func str(p *string) string {
	if p == nil || *p == "!" {
		return ""
	}
	return *p
}

func (c *compiler) node(raw *HostProfile, used map[string]bool) *Node {
	merged := raw
	n := &Node{Ref: raw.Ref, Name: raw.Name, HostProfile: raw.ParentProfile}
	if raw.ParentProfile != "" {
		cp := c.profile(raw.ParentProfile, nil)
		if cp == nil {
			n.Issues = append(n.Issues, RefIssue{Kind: IssueHostProfile, Name: raw.ParentProfile, Field: "host_profile"})
		} else {
			merged = mergeHost(raw, cp.merged)
			n.ProfileChain = cp.chain
			n.Issues = append(n.Issues, cp.issues...)
			for _, p := range cp.chain {
				used[p] = true
			}
		}
	}
	n.HardwareProfile = str(merged.HardwareProfile)
	n.PrimaryNetwork = str(merged.PrimaryNetwork)
	n.Rack = str(merged.Rack)
	n.BootMAC = merged.BootMAC
	n.OOBType = str(merged.OOBType)
	n.OOBParams = cleanKV(merged.OOBParams)
	n.Image = str(merged.Image)
	n.Kernel = str(merged.Kernel)
	n.Tags = cleanList(merged.Tags)
	n.OwnerData = cleanKV(merged.OwnerData)
	n.Addressing = merged.Addressing
	if n.Addressing == nil {
		n.Addressing = []Address{}
	}

	n.Domain = "local"
	if net := c.d.Network(n.PrimaryNetwork); net != nil && net.DNSDomain != "" {
		n.Domain = net.DNSDomain
	}
	n.FQDN = n.Name + "." + n.Domain

	var hw *HardwareProfile
	switch {
	case n.HardwareProfile == "":
		n.Issues = append(n.Issues, RefIssue{Kind: IssueHardwareProfile, Field: "hardware_profile", Detail: "no hardware profile is set"})
	default:
		hw = c.d.HardwareProfile(n.HardwareProfile)
		if hw == nil {
			n.Issues = append(n.Issues, RefIssue{Kind: IssueHardwareProfile, Name: n.HardwareProfile, Field: "hardware_profile"})
		}
	}

	n.Interfaces = make([]NodeInterface, 0, len(merged.Interfaces))
	for _, it := range merged.Interfaces {
		if it.Remove {
			continue
		}
		ni := NodeInterface{Name: it.Name, DeviceLink: str(it.DeviceLink), Slaves: cleanList(it.Slaves),
			Networks: cleanList(it.Networks), SRIOV: it.SRIOV, Extra: it.Extra}
		ni.Selectors = make([]SlaveSelector, 0, len(ni.Slaves))
		for _, s := range ni.Slaves {
			sel := SlaveSelector{Type: "name", Address: s}
			if hw != nil {
				if a := hw.Alias(s); a != nil && a.BusType == "pci" {
					sel = SlaveSelector{Type: "address", Address: a.Address, DeviceType: a.DevType}
				}
			}
			ni.Selectors = append(ni.Selectors, sel)
		}
		n.Interfaces = append(n.Interfaces, ni)
	}

	n.Devices = make([]NodeDevice, 0, len(merged.Devices))
	for _, dv := range merged.Devices {
		if dv.Remove {
			continue
		}
		nd := NodeDevice{Name: dv.Name, Labels: cleanKV(dv.Labels), VolumeGroup: str(dv.VolumeGroup), PartitionsSet: dv.Partitions != nil}
		for _, p := range dv.Partitions {
			if p.Remove {
				continue
			}
			np := NodePartition{Name: p.Name, Size: str(p.Size), PartUUID: str(p.PartUUID), Labels: cleanKV(p.Labels),
				VolumeGroup: str(p.VolumeGroup), Filesystem: compileFS(p.Filesystem)}
			if p.Bootable != nil {
				np.Bootable = *p.Bootable
			}
			nd.Partitions = append(nd.Partitions, np)
		}
		n.Devices = append(n.Devices, nd)
	}
	n.VolumeGroups = make([]NodeVolumeGroup, 0, len(merged.VolumeGroups))
	for _, vg := range merged.VolumeGroups {
		if vg.Remove {
			continue
		}
		nv := NodeVolumeGroup{Name: vg.Name, VGUUID: str(vg.VGUUID), LogicalVolumes: []NodeLogicalVolume{}}
		for _, lv := range vg.LogicalVolumes {
			if lv.Remove {
				continue
			}
			nv.LogicalVolumes = append(nv.LogicalVolumes, NodeLogicalVolume{Name: lv.Name, Size: str(lv.Size),
				LVUUID: str(lv.LVUUID), Filesystem: compileFS(lv.Filesystem)})
		}
		n.VolumeGroups = append(n.VolumeGroups, nv)
	}

	n.KernelParams = cleanKV(merged.KernelParams)
	if len(n.KernelParams) > 0 {
		kp := make(KV, len(n.KernelParams))
		copy(kp, n.KernelParams)
		for i := range kp {
			v, issue := resolveParam(kp[i].Value, hw)
			if issue != "" {
				n.Issues = append(n.Issues, RefIssue{Kind: IssueKernelParam, Name: kp[i].Value,
					Field: "platform.kernel_params." + kp[i].Key, Detail: issue})
				continue
			}
			kp[i].Value = v
		}
		n.KernelParams = kp
	}
	return n
}

func compileFS(f *Filesystem) *NodeFilesystem {
	if f == nil {
		return nil
	}
	fs := &NodeFilesystem{Mountpoint: str(f.Mountpoint), FSType: str(f.FSType), MountOptions: str(f.MountOptions),
		FSUUID: str(f.FSUUID), FSLabel: str(f.FSLabel)}
	if fs.FSType == "" {
		fs.FSType = "ext4"
	}
	if fs.MountOptions == "" {
		fs.MountOptions = "defaults"
	}
	return fs
}

// cleanKV drops removal markers left at the root of an inheritance chain.
func cleanKV(kv KV) KV {
	out := make(KV, 0, len(kv))
	for _, p := range kv {
		if !strings.HasPrefix(p.Key, "!") {
			out = append(out, p)
		}
	}
	return out
}

func cleanList(l []string) []string {
	out := make([]string, 0, len(l))
	have := newStringSet(len(l))
	for _, s := range l {
		if !strings.HasPrefix(s, "!") && !have.has(out, s) {
			out = have.add(out, s)
		}
	}
	return out
}

// resolveParam resolves "hardwareprofile:cpuset.<name>" and
// "hardwareprofile:hugepages.<conf>.size|count" against the node's hardware profile. Other
// values are returned unchanged. A reference that cannot be resolved returns a reason.
func resolveParam(v string, hw *HardwareProfile) (string, string) {
	const prefix = "hardwareprofile:"
	if !strings.HasPrefix(v, prefix) {
		return v, ""
	}
	ref := v[len(prefix):]
	if ref == "" {
		return v, ""
	}
	if hw == nil {
		return v, "the node has no hardware profile to resolve it against"
	}
	parts := strings.Split(ref, ".")
	switch parts[0] {
	case "cpuset":
		if len(parts) != 2 {
			return v, "expected hardwareprofile:cpuset.<name>"
		}
		if set, ok := hw.CPUSets.Get(parts[1]); ok {
			return set, ""
		}
		return v, fmt.Sprintf("hardware profile %s has no cpu set %q", hw.Name, parts[1])
	case "hugepages":
		if len(parts) != 3 {
			return v, "expected hardwareprofile:hugepages.<name>.size or .count"
		}
		conf := hw.HugepagesConf(parts[1])
		if conf == nil {
			return v, fmt.Sprintf("hardware profile %s has no hugepages configuration %q", hw.Name, parts[1])
		}
		switch parts[2] {
		case "size":
			return conf.Size, ""
		case "count":
			return strconv.FormatInt(conf.Count, 10), ""
		}
		return v, fmt.Sprintf("unknown hugepages field %q (use size or count)", parts[2])
	}
	return v, fmt.Sprintf("unknown reference type %q (use cpuset or hugepages)", parts[0])
}

// KernelCommandLine renders the node's kernel parameters: hugepagesz and hugepages first (both
// or neither), then the others in order. A value "True" is a bare flag and a value "False"
// leaves the parameter out (the original wrote key=False); a value containing spaces is
// double-quoted, as the kernel's command-line parser expects. There is no leading space.
func (n *Node) KernelCommandLine() (string, error) {
	var parts []string
	size, hasSize := n.KernelParams.Get("hugepagesz")
	count, hasCount := n.KernelParams.Get("hugepages")
	if hasSize != hasCount {
		return "", fmt.Errorf("node %s: hugepagesz and hugepages must be given together", n.Name)
	}
	if hasSize {
		parts = append(parts, "hugepagesz="+size, "hugepages="+count)
	}
	for _, p := range n.KernelParams {
		switch {
		case p.Key == "hugepagesz" || p.Key == "hugepages":
		case p.Value == "True":
			parts = append(parts, p.Key)
		case p.Value == "False":
		case strings.ContainsAny(p.Value, " \t"):
			parts = append(parts, p.Key+"=\""+p.Value+"\"")
		default:
			parts = append(parts, p.Key+"="+p.Value)
		}
	}
	return strings.Join(parts, " "), nil
}

// renderNetworks copies the networks and adds, for every network with a route to a route
// domain, a route to each other network of that domain.
func (s *Site) renderNetworks() {
	d := s.Design
	members := map[string][]string{} // route domain -> member CIDRs in design order
	for _, n := range d.Networks {
		if n.RouteDomain != "" {
			members[n.RouteDomain] = append(members[n.RouteDomain], n.CIDR)
		}
	}
	s.Networks = make([]*Network, 0, len(d.Networks))
	s.networkIndex = make(map[string]*Network, len(d.Networks))
	for _, n := range d.Networks {
		cp := *n
		cp.Routes = append([]Route(nil), n.Routes...)
		seen := map[string]bool{}
		for _, r := range n.Routes {
			if r.RouteDomain == "" || seen[r.RouteDomain] {
				continue
			}
			seen[r.RouteDomain] = true
			if r.Gateway == "" || r.Metric == nil {
				continue
			}
			for _, cidr := range members[r.RouteDomain] {
				if cidr == n.CIDR {
					continue
				}
				cp.Routes = append(cp.Routes, Route{Subnet: cidr, Gateway: r.Gateway, Metric: r.Metric, Rendered: true})
			}
		}
		s.Networks = append(s.Networks, &cp)
		if _, dup := s.networkIndex[cp.Name]; !dup {
			s.networkIndex[cp.Name] = &cp
		}
	}
}

// Universe is the node-filter view of the site.
func (s *Site) Universe() nodefilter.Universe {
	u := nodefilter.Universe{Nodes: make([]nodefilter.Node, len(s.Nodes))}
	for i, n := range s.Nodes {
		u.Nodes[i] = nodefilter.Node{Name: n.Name, Tags: n.Tags, Labels: n.OwnerData.Map(), Rack: n.Rack}
	}
	if len(s.Design.Racks) > 0 {
		u.RackLabels = make(map[string]map[string]string, len(s.Design.Racks))
		for _, r := range s.Design.Racks {
			u.RackLabels[r.Name] = r.Labels.Map()
		}
	}
	return u
}

// SelectNodes evaluates a node filter against the site; nil selects every node.
func (s *Site) SelectNodes(fs *nodefilter.FilterSet) ([]*Node, error) {
	idx, err := nodefilter.Select(fs, s.Universe())
	if err != nil {
		return nil, err
	}
	out := make([]*Node, len(idx))
	for i, j := range idx {
		out[i] = s.Nodes[j]
	}
	return out, nil
}

func (s *Site) targetBootActions() {
	if len(s.Design.BootActions) == 0 {
		return
	}
	u := s.Universe()
	for _, ba := range s.Design.BootActions {
		ab := &AppliedBootAction{BootAction: ba, Targets: []string{}}
		idx, err := nodefilter.Select(ba.NodeFilter, u)
		if err != nil {
			ab.FilterError = err
		}
		for _, i := range idx {
			ab.Targets = append(ab.Targets, s.Nodes[i].Name)
		}
		s.BootActions = append(s.BootActions, ab)
	}
}
