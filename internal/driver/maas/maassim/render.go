package maassim

import (
	"fmt"
	"sort"
)

// machineJSON is a machine (or rack controller) as MAAS emits it (maas_api.md §6.1).
type machineJSON struct {
	SystemID                     string            `json:"system_id"`
	Hostname                     string            `json:"hostname"`
	Description                  string            `json:"description"`
	HardwareUUID                 string            `json:"hardware_uuid"`
	Domain                       *domainJSON       `json:"domain"`
	FQDN                         string            `json:"fqdn"`
	Owner                        *string           `json:"owner"`
	OwnerData                    map[string]string `json:"owner_data"`
	Locked                       bool              `json:"locked"`
	CacheSets                    []any             `json:"cache_sets"`
	BCaches                      []any             `json:"bcaches"`
	BiosBootMethod               string            `json:"bios_boot_method"`
	BootInterface                *ifaceJSON        `json:"boot_interface"`
	Architecture                 string            `json:"architecture"`
	MinHWEKernel                 *string           `json:"min_hwe_kernel"`
	HWEKernel                    *string           `json:"hwe_kernel"`
	CPUCount                     int               `json:"cpu_count"`
	CPUSpeed                     int               `json:"cpu_speed"`
	Memory                       int64             `json:"memory"`
	SwapSize                     *int64            `json:"swap_size"`
	Storage                      float64           `json:"storage"`
	Status                       int               `json:"status"`
	OSystem                      string            `json:"osystem"`
	DistroSeries                 string            `json:"distro_series"`
	EphemeralDeploy              bool              `json:"ephemeral_deploy"`
	ErrorDescription             string            `json:"error_description"`
	Netboot                      bool              `json:"netboot"`
	PowerType                    string            `json:"power_type"`
	PowerState                   string            `json:"power_state"`
	TagNames                     []string          `json:"tag_names"`
	AddressTTL                   *int              `json:"address_ttl"`
	IPAddresses                  []string          `json:"ip_addresses"`
	InterfaceSet                 []*ifaceJSON      `json:"interface_set"`
	Zone                         *namedJSON        `json:"zone"`
	Pool                         *namedJSON        `json:"pool"`
	DisableIPv4                  bool              `json:"disable_ipv4"`
	BootDisk                     *bdevJSON         `json:"boot_disk"`
	BlockDeviceSet               []*bdevJSON       `json:"blockdevice_set"`
	PhysicalBlockDeviceSet       []*bdevJSON       `json:"physicalblockdevice_set"`
	VirtualBlockDeviceSet        []*bdevJSON       `json:"virtualblockdevice_set"`
	ISCSIBlockDeviceSet          []*bdevJSON       `json:"iscsiblockdevice_set"`
	VolumeGroups                 []incompleteJSON  `json:"volume_groups"`
	RAIDs                        []incompleteJSON  `json:"raids"`
	StatusAction                 string            `json:"status_action"`
	StatusMessage                *string           `json:"status_message"`
	StatusName                   string            `json:"status_name"`
	NodeType                     int               `json:"node_type"`
	NodeTypeName                 string            `json:"node_type_name"`
	SpecialFilesystems           []*fsJSON         `json:"special_filesystems"`
	Parent                       *string           `json:"parent"`
	DefaultGateways              gatewaysJSON      `json:"default_gateways"`
	CurrentCommissioningResultID *int              `json:"current_commissioning_result_id"`
	CurrentTestingResultID       *int              `json:"current_testing_result_id"`
	CurrentInstallationResultID  *int              `json:"current_installation_result_id"`
	CommissioningStatus          int               `json:"commissioning_status"`
	CommissioningStatusName      string            `json:"commissioning_status_name"`
	TestingStatus                int               `json:"testing_status"`
	TestingStatusName            string            `json:"testing_status_name"`
	CPUTestStatus                int               `json:"cpu_test_status"`
	CPUTestStatusName            string            `json:"cpu_test_status_name"`
	MemoryTestStatus             int               `json:"memory_test_status"`
	MemoryTestStatusName         string            `json:"memory_test_status_name"`
	NetworkTestStatus            int               `json:"network_test_status"`
	NetworkTestStatusName        string            `json:"network_test_status_name"`
	StorageTestStatus            int               `json:"storage_test_status"`
	StorageTestStatusName        string            `json:"storage_test_status_name"`
	OtherTestStatus              int               `json:"other_test_status"`
	OtherTestStatusName          string            `json:"other_test_status_name"`
	InterfaceTestStatus          int               `json:"interface_test_status"`
	InterfaceTestStatusName      string            `json:"interface_test_status_name"`
	HardwareInfo                 map[string]string `json:"hardware_info"`
	NUMANodeSet                  []numaJSON        `json:"numanode_set"`
	WorkloadAnnotations          map[string]string `json:"workload_annotations"`
	LastSync                     *string           `json:"last_sync"`
	SyncInterval                 *int              `json:"sync_interval"`
	NextSync                     *string           `json:"next_sync"`
	EnableHWSync                 bool              `json:"enable_hw_sync"`
	EnableKernelCrashDump        bool              `json:"enable_kernel_crash_dump"`
	IsDPU                        bool              `json:"is_dpu"`
	ServiceSet                   []serviceJSON     `json:"service_set,omitempty"`
	Version                      string            `json:"version,omitempty"`
	ResourceURI                  string            `json:"resource_uri"`
}

type incompleteJSON struct {
	SystemID   string `json:"system_id"`
	ID         int    `json:"id"`
	Incomplete bool   `json:"__incomplete__"`
}

type gatewayJSON struct {
	GatewayIP *string `json:"gateway_ip"`
	LinkID    *int    `json:"link_id"`
}

type gatewaysJSON struct {
	IPv4 gatewayJSON `json:"ipv4"`
	IPv6 gatewayJSON `json:"ipv6"`
}

type numaJSON struct {
	Index        int   `json:"index"`
	Cores        []int `json:"cores"`
	Memory       int64 `json:"memory"`
	HugepagesSet []any `json:"hugepages_set"`
}

type serviceJSON struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	StatusInfo string `json:"status_info"`
}

// allocatedJSON is op=allocate's answer: the machine and its constraints.
type allocatedJSON struct {
	*machineJSON
	ConstraintsByType map[string]any `json:"constraints_by_type"`
}

func (c *req) renderMachine(m *machine) *machineJSON { return renderMachine(c.s.st, m) }

func scriptName(v int) string { return scriptStatusNames[v] }

func renderMachine(st *state, m *machine) *machineJSON {
	j := &machineJSON{
		SystemID: m.systemID, Hostname: m.hostname, Description: m.description, HardwareUUID: m.hardwareUUID,
		Domain: renderDomain(m.domain), FQDN: m.fqdn(), Owner: nstr(m.owner), OwnerData: copyMap(m.ownerData),
		Locked: m.locked, CacheSets: []any{}, BCaches: []any{}, BiosBootMethod: m.bootMethod,
		Architecture: m.arch, MinHWEKernel: nstr(m.minHWE), HWEKernel: nstr(m.hweKernel), CPUCount: m.cpuCount,
		CPUSpeed: 2400, Memory: m.memory, SwapSize: m.swapSize, Status: m.status, OSystem: m.osystem,
		DistroSeries: m.distro, EphemeralDeploy: m.ephemeral, ErrorDescription: m.errorDescription,
		Netboot: m.netboot, PowerType: m.powerType, PowerState: m.powerState(), TagNames: st.machineTags(m),
		IPAddresses: []string{}, InterfaceSet: []*ifaceJSON{}, Zone: defaultZone(), Pool: defaultPool(),
		BlockDeviceSet: []*bdevJSON{}, PhysicalBlockDeviceSet: []*bdevJSON{}, VirtualBlockDeviceSet: []*bdevJSON{},
		ISCSIBlockDeviceSet: []*bdevJSON{}, VolumeGroups: []incompleteJSON{}, RAIDs: []incompleteJSON{},
		StatusMessage: nstr(m.statusMessage), StatusName: statusLabel(m.status), NodeType: m.nodeType,
		NodeTypeName: nodeTypeNames[m.nodeType], SpecialFilesystems: []*fsJSON{},
		CommissioningStatus: m.commissioningStatus, CommissioningStatusName: scriptName(m.commissioningStatus),
		TestingStatus: m.testingStatus, TestingStatusName: scriptName(m.testingStatus),
		CPUTestStatus: scriptUnknown, CPUTestStatusName: scriptName(scriptUnknown),
		MemoryTestStatus: scriptUnknown, MemoryTestStatusName: scriptName(scriptUnknown),
		NetworkTestStatus: scriptUnknown, NetworkTestStatusName: scriptName(scriptUnknown),
		StorageTestStatus: m.testingStatus, StorageTestStatusName: scriptName(m.testingStatus),
		OtherTestStatus: scriptUnknown, OtherTestStatusName: scriptName(scriptUnknown),
		InterfaceTestStatus: scriptUnknown, InterfaceTestStatusName: scriptName(scriptUnknown),
		HardwareInfo: hardwareInfo(m), WorkloadAnnotations: copyMap(m.ownerData),
		ResourceURI: fmt.Sprintf("%smachines/%s/", Prefix, m.systemID),
	}
	if m.nodeType != nodeMachine {
		j.ResourceURI = fmt.Sprintf("%srackcontrollers/%s/", Prefix, m.systemID)
		j.Version = m.version
		for _, s := range m.services {
			j.ServiceSet = append(j.ServiceSet, serviceJSON{s.name, s.status, s.info})
		}
	}
	for _, ifc := range m.interfaces {
		ij := renderIface(m, ifc)
		j.InterfaceSet = append(j.InterfaceSet, ij)
		if ifc.mac == m.spec.BootMAC && ifc.typ == "physical" && j.BootInterface == nil {
			j.BootInterface = ij
		}
		for _, l := range ifc.links {
			if l.ip != "" {
				j.IPAddresses = append(j.IPAddresses, l.ip)
			}
		}
	}
	if j.BootInterface == nil && len(j.InterfaceSet) > 0 {
		j.BootInterface = j.InterfaceSet[0]
	}
	var total int64
	for _, d := range m.bdevs {
		bj := renderBdev(m, d)
		j.BlockDeviceSet = append(j.BlockDeviceSet, bj)
		if d.virtual {
			j.VirtualBlockDeviceSet = append(j.VirtualBlockDeviceSet, bj)
		} else {
			total += d.size
			j.PhysicalBlockDeviceSet = append(j.PhysicalBlockDeviceSet, bj)
		}
	}
	j.Storage = float64(total) / 1e6
	if bd := m.bootDiskOf(); bd != nil {
		j.BootDisk = renderBdev(m, bd)
	}
	for _, vg := range m.vgs {
		j.VolumeGroups = append(j.VolumeGroups, incompleteJSON{m.systemID, vg.id, true})
	}
	for _, f := range m.specialFS {
		j.SpecialFilesystems = append(j.SpecialFilesystems, renderFS(f))
	}
	j.DefaultGateways.IPv4 = gatewayOf(m, m.gw4)
	j.DefaultGateways.IPv6 = gatewayOf(m, m.gw6)
	for rt, ptr := range map[int]**int{0: &j.CurrentCommissioningResultID, 1: &j.CurrentInstallationResultID,
		2: &j.CurrentTestingResultID} {
		if id, ok := m.curResults[rt]; ok {
			v := id
			*ptr = &v
		}
	}
	cores := make([]int, m.cpuCount)
	for i := range cores {
		cores[i] = i
	}
	j.NUMANodeSet = []numaJSON{{Index: 0, Cores: cores, Memory: m.memory, HugepagesSet: []any{}}}
	return j
}

func gatewayOf(m *machine, linkID int) gatewayJSON {
	if linkID == 0 {
		return gatewayJSON{}
	}
	for _, ifc := range m.interfaces {
		for _, l := range ifc.links {
			if l.id == linkID && l.subnet != nil {
				id := l.id
				return gatewayJSON{GatewayIP: nstr(l.subnet.gateway), LinkID: &id}
			}
		}
	}
	return gatewayJSON{}
}

func copyMap(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

func hardwareInfo(m *machine) map[string]string {
	known := m.commissioned
	v := func(s string) string {
		if !known {
			return "Unknown"
		}
		return orUnknown(s)
	}
	return map[string]string{
		"system_vendor": v(m.spec.Vendor), "system_product": v(m.spec.Product), "system_family": "Unknown",
		"system_version": "Unknown", "system_sku": "Unknown", "system_serial": v(m.spec.Serial),
		"cpu_model": v("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz"), "mainboard_vendor": v(m.spec.Vendor),
		"mainboard_product": "Unknown", "mainboard_serial": "Unknown", "mainboard_version": "Unknown",
		"mainboard_firmware_vendor": "Unknown", "mainboard_firmware_date": "Unknown",
		"mainboard_firmware_version": "Unknown", "chassis_vendor": v(m.spec.Vendor), "chassis_type": "Unknown",
		"chassis_serial": "Unknown", "chassis_version": "Unknown",
	}
}

// machineTags lists the names of the tags applied to a machine, sorted. It reads the
// machine's own set (m.tags), not every tag: the set is kept by update_nodes, and a tag
// deleted since is dropped from it here.
func (st *state) machineTags(m *machine) []string {
	out := []string{}
	for t := range m.tags {
		if st.tagIndex[t.name] != t || !t.nodes[m.systemID] {
			delete(m.tags, t)
			continue
		}
		out = append(out, t.name)
	}
	sort.Strings(out)
	return out
}
