package design

import (
	"bytes"
	"encoding/json"

	"github.com/drydock-go/drydock/internal/nodefilter"
)

// DocRef identifies the document a model or a message comes from.
type DocRef struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Source is the file or URL the document was read from, and Line its first line there.
	Source string `json:"-"`
	Line   int    `json:"-"`
}

// String renders the reference as "schema/name".
func (r DocRef) String() string { return r.Schema + " " + r.Name }

// Kinds of design documents.
const (
	KindRegion          = "Region"
	KindRack            = "Rack"
	KindNetworkLink     = "NetworkLink"
	KindNetwork         = "Network"
	KindHardwareProfile = "HardwareProfile"
	KindHostProfile     = "HostProfile"
	KindBaremetalNode   = "BaremetalNode"
	KindBootAction      = "BootAction"
)

// AllKinds lists the document kinds Drydock reads, in the order documents are described.
var AllKinds = []string{KindRegion, KindRack, KindNetworkLink, KindNetwork, KindHardwareProfile,
	KindHostProfile, KindBaremetalNode, KindBootAction}

// SchemaFor returns the Deckhand schema string of a kind, e.g. "drydock/Network/v1".
func SchemaFor(kind string) string { return "drydock/" + kind + "/v1" }

// Design is an ingested site design: every document that was read successfully, in document
// order, grouped by kind. It is never modified after ingestion; compiling it produces a Site.
type Design struct {
	Regions          []*Region
	Racks            []*Rack
	NetworkLinks     []*NetworkLink
	Networks         []*Network
	HardwareProfiles []*HardwareProfile
	HostProfiles     []*HostProfile
	Nodes            []*HostProfile // BaremetalNode documents
	BootActions      []*BootAction

	racks     map[string]*Rack
	links     map[string]*NetworkLink
	networks  map[string]*Network
	hwprofs   map[string]*HardwareProfile
	profiles  map[string]*HostProfile
	nodeIndex map[string]*HostProfile
}

// Region (drydock/Region/v1) holds site-wide settings. When several are given, the last one is
// the site's (as in the original).
func (d *Design) Region() *Region {
	if len(d.Regions) == 0 {
		return nil
	}
	return d.Regions[len(d.Regions)-1]
}

// Rack returns the named Rack document, or nil.
func (d *Design) Rack(name string) *Rack { return d.racks[name] }

// NetworkLink returns the named NetworkLink document, or nil.
func (d *Design) NetworkLink(name string) *NetworkLink { return d.links[name] }

// Network returns the named Network document, or nil.
func (d *Design) Network(name string) *Network { return d.networks[name] }

// HardwareProfile returns the named HardwareProfile document, or nil.
func (d *Design) HardwareProfile(name string) *HardwareProfile { return d.hwprofs[name] }

// HostProfile returns the named HostProfile document, or nil.
func (d *Design) HostProfile(name string) *HostProfile { return d.profiles[name] }

// Node returns the named BaremetalNode document, or nil.
func (d *Design) Node(name string) *HostProfile { return d.nodeIndex[name] }

func (d *Design) index() {
	d.racks = make(map[string]*Rack, len(d.Racks))
	for _, x := range d.Racks {
		d.racks[x.Name] = x
	}
	d.links = make(map[string]*NetworkLink, len(d.NetworkLinks))
	for _, x := range d.NetworkLinks {
		d.links[x.Name] = x
	}
	d.networks = make(map[string]*Network, len(d.Networks))
	for _, x := range d.Networks {
		d.networks[x.Name] = x
	}
	d.hwprofs = make(map[string]*HardwareProfile, len(d.HardwareProfiles))
	for _, x := range d.HardwareProfiles {
		d.hwprofs[x.Name] = x
	}
	d.profiles = make(map[string]*HostProfile, len(d.HostProfiles))
	for _, x := range d.HostProfiles {
		d.profiles[x.Name] = x
	}
	d.nodeIndex = make(map[string]*HostProfile, len(d.Nodes))
	for _, x := range d.Nodes {
		d.nodeIndex[x.Name] = x
	}
}

// KV is an ordered string map. Order matters: it is the order of kernel parameters on the
// command line and the order a person reads in the rendered model.
type KV []KVPair

// KVPair is one entry of a KV.
type KVPair struct {
	Key   string
	Value string
}

// Get returns the value for key.
func (kv KV) Get(key string) (string, bool) {
	for _, p := range kv {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Has reports whether key is present.
func (kv KV) Has(key string) bool {
	_, ok := kv.Get(key)
	return ok
}

// Map returns the entries as a Go map.
func (kv KV) Map() map[string]string {
	if kv == nil {
		return nil
	}
	m := make(map[string]string, len(kv))
	for _, p := range kv {
		m[p.Key] = p.Value
	}
	return m
}

// MarshalJSON writes the map as a JSON object, keeping the order.
func (kv KV) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range kv {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Key)
		v, _ := json.Marshal(p.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Set replaces the value of key in place, or appends it.
func (kv KV) Set(key, value string) KV {
	for i := range kv {
		if kv[i].Key == key {
			kv[i].Value = value
			return kv
		}
	}
	return append(kv, KVPair{key, value})
}

// Region is a drydock/Region/v1 document.
type Region struct {
	Ref            DocRef
	Name           string
	TagDefinitions []TagDefinition
	AuthorizedKeys []string
	Repositories   *RepositoryList
}

// TagDefinition defines a node tag by an lshw XPath expression.
type TagDefinition struct {
	Tag            string `json:"tag"`
	DefinitionType string `json:"definition_type"`
	Definition     string `json:"definition"`
}

// RepositoryList is the Region's package repositories.
type RepositoryList struct {
	RemoveUnlisted bool         `json:"remove_unlisted"`
	Repositories   []Repository `json:"repositories"`
}

// Repository is one package repository.
type Repository struct {
	Name          string   `json:"name"`
	URL           string   `json:"url"`
	RepoType      string   `json:"repo_type"`
	GPGKey        string   `json:"gpgkey,omitempty"`
	Distributions []string `json:"distributions,omitempty"`
	Subrepos      []string `json:"subrepos,omitempty"`
	Components    []string `json:"components,omitempty"`
	Arches        []string `json:"arches"`
	Options       KV       `json:"options,omitempty"`
}

// Rack is a drydock/Rack/v1 document.
type Rack struct {
	Ref           DocRef
	Name          string
	TorSwitches   []TorSwitch
	Location      KV
	LocalNetworks []string
	Labels        KV
}

// TorSwitch is a top-of-rack switch.
type TorSwitch struct {
	Name      string `json:"switch_name"`
	MgmtIP    string `json:"mgmt_ip,omitempty"`
	SDNAPIURI string `json:"sdn_api_uri,omitempty"`
}

// Bonding modes and trunking modes of a NetworkLink.
const (
	BondDisabled     = "disabled"
	Bond8023ad       = "802.3ad"
	BondBalanceRR    = "balance-rr"
	BondActiveBackup = "active-backup"
	TrunkDisabled    = "disabled"
	Trunk8021q       = "802.1q"
)

// NetworkLink is a drydock/NetworkLink/v1 document: an L1/L2 link (maybe bonded, maybe
// trunked) and the networks allowed on it.
type NetworkLink struct {
	Ref         DocRef
	Name        string
	Labels      KV
	BondingMode string
	// Bond options as written; nil when absent. Effective values with defaults come from the
	// methods below.
	MonRate, UpDelay, DownDelay *int
	Hash, PeerRate              *string
	MTU                         int // 1500 when absent
	MTUSet                      bool
	LinkSpeed                   string
	TrunkMode                   string
	NativeNetwork               string
	AllowedNetworks             []string
}

// Bonded reports whether the link is a bond.
func (l *NetworkLink) Bonded() bool { return l.BondingMode != BondDisabled }

// EffectiveMonRate is the miimon rate, defaulting to 100 on bonds.
func (l *NetworkLink) EffectiveMonRate() int { return intOr(l.MonRate, 100) }

// EffectiveUpDelay defaults to 200 on bonds.
func (l *NetworkLink) EffectiveUpDelay() int { return intOr(l.UpDelay, 200) }

// EffectiveDownDelay defaults to 200 on bonds.
func (l *NetworkLink) EffectiveDownDelay() int { return intOr(l.DownDelay, 200) }

// EffectiveHash defaults to layer3+4 on 802.3ad bonds.
func (l *NetworkLink) EffectiveHash() string { return strOr(l.Hash, "layer3+4") }

// EffectivePeerRate defaults to fast on 802.3ad bonds.
func (l *NetworkLink) EffectivePeerRate() string { return strOr(l.PeerRate, "fast") }

func intOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func strOr(p *string, d string) string {
	if p == nil {
		return d
	}
	return *p
}

// Network is a drydock/Network/v1 document: an L3 network.
type Network struct {
	Ref                     DocRef
	Name                    string
	Labels                  KV
	CIDR                    string
	VLAN                    string
	MTU                     int // 0 when absent
	RouteDomain             string
	DNSDomain               string // "local" when absent
	DNSServers              string
	Ranges                  []AddressRange
	Routes                  []Route
	DHCPRelaySelfIP         string
	DHCPRelayUpstreamTarget string
}

// DefaultGateway is the gateway of the first route to 0.0.0.0/0.
func (n *Network) DefaultGateway() string {
	for _, r := range n.Routes {
		if r.Subnet == "0.0.0.0/0" {
			return r.Gateway
		}
	}
	return ""
}

// AddressRange is a range of addresses of a network.
type AddressRange struct {
	Type  string `json:"type"`
	Start string `json:"start"`
	End   string `json:"end"`
}

// Route is a static route of a network. A route with a RouteDomain (and no subnet) stands for
// routes to every other network of that route domain; compiling the site renders them.
type Route struct {
	Subnet      string `json:"subnet,omitempty"`
	Gateway     string `json:"gateway,omitempty"`
	Metric      *int   `json:"metric,omitempty"`
	RouteDomain string `json:"routedomain,omitempty"`
	// Rendered marks a route added by route-domain rendering.
	Rendered bool `json:"-"`
}

// HardwareProfile is a drydock/HardwareProfile/v1 document.
type HardwareProfile struct {
	Ref               DocRef
	Name              string
	Vendor            string
	Generation        string
	HWVersion         string
	BIOSVersion       string
	BootMode          string
	BootstrapProtocol string
	PXEInterface      *int
	DeviceAliases     []DeviceAlias
	CPUSets           KV
	Hugepages         []HugepagesConf
}

// Alias returns the device alias with the given name, or nil.
func (h *HardwareProfile) Alias(name string) *DeviceAlias {
	for i := range h.DeviceAliases {
		if h.DeviceAliases[i].Alias == name {
			return &h.DeviceAliases[i]
		}
	}
	return nil
}

// HugepagesConf returns the named hugepages configuration, or nil.
func (h *HardwareProfile) HugepagesConf(name string) *HugepagesConf {
	for i := range h.Hugepages {
		if h.Hugepages[i].Name == name {
			return &h.Hugepages[i]
		}
	}
	return nil
}

// DeviceAlias names a device by its bus address, so profiles can refer to "prim_nic01".
type DeviceAlias struct {
	Alias   string `json:"alias"`
	Address string `json:"address"`
	BusType string `json:"bus_type"`
	DevType string `json:"dev_type,omitempty"`
}

// HugepagesConf is a named hugepages size and count.
type HugepagesConf struct {
	Name  string `json:"name"`
	Size  string `json:"size"`
	Count int64  `json:"count"`
}

// HostProfile is a drydock/HostProfile/v1 document, or (with IsNode set) a
// drydock/BaremetalNode/v1 document, as written: fields are nil when the document does not set
// them, so that inheritance can tell "not set" from "set to empty". The value "!" unsets an
// inherited scalar; list entries and map keys starting with "!" remove inherited ones.
type HostProfile struct {
	Ref    DocRef
	Name   string
	IsNode bool

	ParentProfile   string
	HardwareProfile *string
	PrimaryNetwork  *string
	OOBType         *string
	OOBParams       KV // may contain "!key" removal markers
	Image           *string
	Kernel          *string
	KernelParams    KV
	Rack            *string
	Tags            []string // nil when absent
	OwnerData       KV

	Interfaces   []Interface // nil when absent
	Devices      []Device    // nil when absent
	VolumeGroups []VolumeGroup

	// BaremetalNode only.
	BootMAC    string
	Addressing []Address
}

// Interface is a host network interface as written in a profile or node.
type Interface struct {
	Name       string
	Remove     bool // "!name" key or a null value: drop the inherited interface
	DeviceLink *string
	Slaves     []string // nil when absent
	Networks   []string // nil when absent
	SRIOV      *SRIOV
	// Extra holds keys beyond the documented ones (ovs_dpdk, pci_whitelist, labels, ...), kept
	// so that renders and drivers can see them.
	Extra map[string]any
	// Line is where the interface is declared.
	Line int
}

// SRIOV is an interface's SR-IOV settings. The presence of an sriov stanza turns SR-IOV on.
type SRIOV struct {
	VFCount     int            `json:"vf_count"`
	TrustedMode bool           `json:"trustedmode"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// Device is a physical storage device as written.
type Device struct {
	Name        string
	Remove      bool
	Labels      KV
	VolumeGroup *string
	Partitions  []Partition // nil when absent
}

// Filesystem is a filesystem on a partition or logical volume, as written.
type Filesystem struct {
	Mountpoint   *string
	FSType       *string
	MountOptions *string
	FSUUID       *string
	FSLabel      *string
}

// Partition is a partition as written.
type Partition struct {
	Name        string
	Remove      bool
	Size        *string
	PartUUID    *string
	Bootable    *bool
	Labels      KV
	VolumeGroup *string
	Filesystem  *Filesystem
}

// VolumeGroup is an LVM volume group as written.
type VolumeGroup struct {
	Name           string
	Remove         bool
	VGUUID         *string
	LogicalVolumes []LogicalVolume // nil when absent
}

// LogicalVolume is an LVM logical volume as written.
type LogicalVolume struct {
	Name       string
	Remove     bool
	Size       *string
	LVUUID     *string
	Filesystem *Filesystem
}

// Address is an address assignment of a node on a network.
type Address struct {
	Network string `json:"network"`
	Type    string `json:"type"` // static or dhcp
	Address string `json:"address,omitempty"`
}

// BootAction is a drydock/BootAction/v1 document: files, units and packages delivered to nodes
// after deployment.
type BootAction struct {
	Ref        DocRef
	Name       string
	Signaling  bool
	Assets     []Asset
	NodeFilter *nodefilter.FilterSet
}

// Asset types.
const (
	AssetFile    = "file"
	AssetUnit    = "unit"
	AssetPkgList = "pkg_list"
)

// Asset is one item of a boot action.
type Asset struct {
	Type             string   `json:"type"`
	Path             string   `json:"path,omitempty"`
	Location         string   `json:"location,omitempty"`
	Data             string   `json:"data,omitempty"`
	DataIsMap        bool     `json:"-"`
	PackageList      []Pkg    `json:"package_list,omitempty"`
	LocationPipeline []string `json:"location_pipeline,omitempty"`
	DataPipeline     []string `json:"data_pipeline,omitempty"`
	// Permissions is the file mode parsed from the octal string; nil when not given.
	Permissions *uint32 `json:"permissions,omitempty"`
}

// Pkg is a package of a pkg_list asset; an empty Version means any version.
type Pkg struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}
