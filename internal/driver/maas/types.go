package maas

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The MAAS objects the driver reads, with MAAS's field names (maas_api.md §6). Only the fields
// the driver uses are decoded.

// machine is a machine (or a rack controller).
type machine struct {
	SystemID            string            `json:"system_id"`
	Hostname            string            `json:"hostname"`
	FQDN                string            `json:"fqdn"`
	Domain              *domain           `json:"domain"`
	Status              int               `json:"status"`
	StatusName          string            `json:"status_name"`
	StatusMessage       string            `json:"status_message"`
	ErrorDescription    string            `json:"error_description"`
	PowerType           string            `json:"power_type"`
	PowerState          string            `json:"power_state"`
	TagNames            []string          `json:"tag_names"`
	BootInterface       *iface            `json:"boot_interface"`
	InterfaceSet        []iface           `json:"interface_set"`
	BootDisk            *blockDevice      `json:"boot_disk"`
	OwnerData           map[string]string `json:"owner_data"`
	WorkloadAnnotations map[string]string `json:"workload_annotations"`
	CPUCount            int               `json:"cpu_count"`
	Memory              number            `json:"memory"`
	Owner               *string           `json:"owner"`
	DistroSeries        string            `json:"distro_series"`
	HWEKernel           *string           `json:"hwe_kernel"`
	DefaultGateways     *struct {
		IPv4 *struct {
			GatewayIP *string `json:"gateway_ip"`
			LinkID    *int    `json:"link_id"`
		} `json:"ipv4"`
	} `json:"default_gateways"`
	ServiceSet []service `json:"service_set"`
}

// annotations are the machine's workload annotations (owner_data in older MAAS).
func (m *machine) annotations() map[string]string {
	if m.WorkloadAnnotations != nil {
		return m.WorkloadAnnotations
	}
	return m.OwnerData
}

func (m *machine) hasTag(t string) bool {
	for _, x := range m.TagNames {
		if x == t {
			return true
		}
	}
	return false
}

type service struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

type domain struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// iface is a node's network interface.
type iface struct {
	ID         int             `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	MACAddress string          `json:"mac_address"`
	VLAN       *vlan           `json:"vlan"`
	Links      []link          `json:"links"`
	Parents    []string        `json:"parents"`
	Children   []string        `json:"children"`
	Params     json.RawMessage `json:"params"`
	MTU        number          `json:"mtu"`
	EffMTU     number          `json:"effective_mtu"`
}

// param reads one of the interface's params (bond_mode, mtu, ...) as a string.
func (i *iface) param(name string) (string, bool) {
	if len(i.Params) == 0 || i.Params[0] != '{' {
		return "", false
	}
	var m map[string]any
	if json.Unmarshal(i.Params, &m) != nil {
		return "", false
	}
	v, ok := m[name]
	if !ok || v == nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// mtu is the interface's configured MTU (params.mtu), else its effective MTU.
func (i *iface) mtu() int {
	if s, ok := i.param("mtu"); ok {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	if i.MTU > 0 {
		return int(i.MTU)
	}
	return int(i.EffMTU)
}

type link struct {
	ID        int     `json:"id"`
	Mode      string  `json:"mode"`
	IPAddress string  `json:"ip_address"`
	Subnet    *subnet `json:"subnet"`
}

type vlan struct {
	ID            int     `json:"id"`
	VID           int     `json:"vid"`
	Name          string  `json:"name"`
	FabricID      int     `json:"fabric_id"`
	Fabric        string  `json:"fabric"`
	MTU           int     `json:"mtu"`
	DHCPOn        bool    `json:"dhcp_on"`
	PrimaryRack   *string `json:"primary_rack"`
	SecondaryRack *string `json:"secondary_rack"`
	RelayVLAN     idRef   `json:"relay_vlan"`
}

type fabric struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	VLANs []vlan `json:"vlans"`
}

func (f *fabric) vlanByVID(vid int) *vlan {
	for i := range f.VLANs {
		if f.VLANs[i].VID == vid {
			return &f.VLANs[i]
		}
	}
	return nil
}

type subnet struct {
	ID         int      `json:"id"`
	Name       string   `json:"name"`
	CIDR       string   `json:"cidr"`
	VLAN       *vlan    `json:"vlan"`
	GatewayIP  *string  `json:"gateway_ip"`
	DNSServers []string `json:"dns_servers"`
}

type ipRange struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	StartIP string  `json:"start_ip"`
	EndIP   string  `json:"end_ip"`
	Comment string  `json:"comment"`
	Subnet  *subnet `json:"subnet"`
}

type staticRoute struct {
	ID          int     `json:"id"`
	Source      *subnet `json:"source"`
	Destination *subnet `json:"destination"`
	GatewayIP   string  `json:"gateway_ip"`
	Metric      int     `json:"metric"`
}

type filesystem struct {
	FSType       string `json:"fstype"`
	Label        string `json:"label"`
	UUID         string `json:"uuid"`
	MountPoint   string `json:"mount_point"`
	MountOptions string `json:"mount_options"`
}

type blockDevice struct {
	ID            int         `json:"id"`
	Name          string      `json:"name"`
	Type          string      `json:"type"`
	Size          number      `json:"size"`
	AvailableSize number      `json:"available_size"`
	UUID          string      `json:"uuid"`
	Path          string      `json:"path"`
	IDPath        string      `json:"id_path"`
	Serial        string      `json:"serial"`
	Model         string      `json:"model"`
	Filesystem    *filesystem `json:"filesystem"`
	Partitions    []partition `json:"partitions"`
	UsedFor       string      `json:"used_for"`
}

type partition struct {
	ID         int         `json:"id"`
	DeviceID   int         `json:"device_id"`
	Size       number      `json:"size"`
	UUID       string      `json:"uuid"`
	Bootable   bool        `json:"bootable"`
	Path       string      `json:"path"`
	Type       string      `json:"type"`
	Filesystem *filesystem `json:"filesystem"`
}

// vgMember is an entry of a volume group's devices: a block device or a partition.
type vgMember struct {
	ID   int    `json:"id"`
	Type string `json:"type"` // physical, virtual, partition
	Name string `json:"name"`
}

type volumeGroup struct {
	ID             int           `json:"id"`
	Name           string        `json:"name"`
	UUID           string        `json:"uuid"`
	Size           number        `json:"size"`
	AvailableSize  number        `json:"available_size"`
	Devices        []vgMember    `json:"devices"`
	LogicalVolumes []blockDevice `json:"logical_volumes"`
}

type tag struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
	Comment    string `json:"comment"`
	KernelOpts string `json:"kernel_opts"`
}

type sshKey struct {
	ID  int    `json:"id"`
	Key string `json:"key"`
}

type packageRepo struct {
	ID                 int      `json:"id"`
	Name               string   `json:"name"`
	URL                string   `json:"url"`
	Distributions      []string `json:"distributions"`
	DisabledPockets    []string `json:"disabled_pockets"`
	DisabledComponents []string `json:"disabled_components"`
	Components         []string `json:"components"`
	Arches             []string `json:"arches"`
	Key                string   `json:"key"`
	Enabled            bool     `json:"enabled"`
}

type bootResource struct {
	ID           int         `json:"id"`
	Type         string      `json:"type"`
	Name         string      `json:"name"`
	Architecture string      `json:"architecture"`
	Subarches    stringsList `json:"subarches"`
}

type scriptResult struct {
	ID           int    `json:"id"`
	Name         string `json:"name"`
	ResultType   int    `json:"result_type"`
	ScriptResult int    `json:"script_result"`
	Data         string `json:"data"`
	Updated      string `json:"updated"`
	Node         *struct {
		SystemID string `json:"system_id"`
	} `json:"node"`
}

// Script result types.
const (
	resultCommissioning = 0
	resultInstallation  = 1
	resultTesting       = 2
)

// idRef is an id given either as a number or as an object with an id (relay_vlan), or null.
type idRef int

func (r *idRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*r = 0
	case b[0] == '{':
		var o struct {
			ID int `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*r = idRef(o.ID)
	default:
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*r = idRef(n)
	}
	return nil
}

// number is a JSON number that may be written as an integer, a float or a string.
type number int64

func (n *number) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = number(i)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*n = number(math.Round(f))
	return nil
}

// stringsList is a list given as a JSON array or a comma-separated string.
type stringsList []string

func (l *stringsList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var a []string
		err := json.Unmarshal(b, &a)
		*l = a
		return err
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		*l = nil
		return nil
	}
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
