package maassim

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"
)

func idOf(v any) string { return fmt.Sprint(v.(map[string]any)["id"]) }

func findBy(t *testing.T, list []any, key, val string) map[string]any {
	t.Helper()
	for _, x := range list {
		if m := x.(map[string]any); fmt.Sprint(m[key]) == val {
			return m
		}
	}
	t.Fatalf("no element with %s=%s", key, val)
	return nil
}

// TestDrydockFlow replays the calls of Drydock's MAAS driver (drivers_spec.md §2.3, §2.6,
// minimum coverage §7.7) with its wire format (base64 multipart bodies, op in the query) from
// service validation to destruction, and checks the machine the emulator ends up with.
func TestDrydockFlow(t *testing.T) {
	clk := newClock()
	s, _, c := newServer(t, Config{Now: clk.Now, Delays: testDelays, RackControllers: []RackSpec{{
		Hostname: "rack01", Interfaces: []RackNIC{{Name: "eno3", CIDR: "172.16.1.0/24", IP: "172.16.1.2"}}}}})
	bmc := &fakeBMC{}
	sid := s.AddMachine(MachineSpec{Hostname: "", PowerType: "ipmi",
		PowerParams: map[string]string{"power_address": "172.16.100.21", "power_user": "admin", "power_pass": "pw"},
		BMC:         bmc,
		Interfaces: []NICSpec{{Name: "eno1", Subnet: "10.0.0.0/24"}, {Name: "eno2"},
			{Name: "eno3", MAC: "52:54:00:00:00:03", Subnet: "172.16.1.0/24"}},
		BootMAC: "52:54:00:00:00:03",
		Disks:   []DiskSpec{{Name: "sda", Size: 480e9}, {Name: "sdb", Size: 960e9}}})

	// ValidateNodeServices.
	must(t, c.get("version/", nil), 200)
	must(t, c.get("account/?op=list_authorisation_tokens", nil), 200)
	if len(must(t, c.get("boot-resources/", nil), 200).list(t)) == 0 {
		t.Fatal("no boot resources")
	}
	must(t, c.get("boot-resources/?op=is_importing", nil), 200)
	racks := must(t, c.get("rackcontrollers/", nil), 200).list(t)
	rack := racks[0].(map[string]any)["system_id"].(string)
	for _, sv := range must(t, c.get("rackcontrollers/"+rack+"/", nil), 200).obj(t)["service_set"].([]any) {
		svc := sv.(map[string]any)
		if slices.Contains([]string{"http", "dhcpd", "rackd", "tftp"}, svc["name"].(string)) &&
			svc["status"] != "running" && svc["status"] != "off" {
			t.Fatalf("rack service %v", svc)
		}
	}
	if string(must(t, c.get("machines/", vals("mac_address", "00:00:00:00:00:00")), 200).body) != "[]" {
		t.Fatal("API probe")
	}

	// CreateNetworkTemplate: the PXE subnet the rack discovered names its fabric; a new
	// fabric carries the management VLAN.
	subnets := must(t, c.get("subnets/", nil), 200).list(t)
	pxe := findBy(t, subnets, "cidr", "172.16.1.0/24")
	pxeFabric := fmt.Sprint(pxe["vlan"].(map[string]any)["fabric_id"])
	must(t, c.put("fabrics/"+pxeFabric+"/", vals("name", "pxe-link")), 200)
	must(t, c.put("fabrics/"+pxeFabric+"/vlans/0/", vals("mtu", "1500")), 200)
	must(t, c.post("domains/", vals("name", "site.example", "authoritative", "False")), 200)
	must(t, c.put("subnets/"+idOf(pxe)+"/", vals("name", "pxe", "dns_servers", "172.16.1.9", "gateway_ip", "172.16.1.1")), 200)
	must(t, c.post("ipranges/", vals("comment", "Configured by Drydock", "start_ip", "172.16.1.100",
		"end_ip", "172.16.1.200", "subnet", idOf(pxe), "type", "dynamic")), 200)
	must(t, c.put("fabrics/"+pxeFabric+"/vlans/0/", vals("dhcp_on", "True", "primary_rack", rack)), 200)
	gp := must(t, c.post("fabrics/", vals("name", "gp-link")), 200).obj(t)
	must(t, c.put("fabrics/"+idOf(gp)+"/vlans/0/", vals("mtu", "9000")), 200)
	mgmtVLAN := must(t, c.post("fabrics/"+idOf(gp)+"/vlans/", vals("name", "mgmt", "vid", "100", "mtu", "9000")), 200).obj(t)
	mgmt := must(t, c.post("subnets/", vals("name", "mgmt", "cidr", "10.0.0.0/24", "vlan", idOf(mgmtVLAN),
		"gateway_ip", "10.0.0.1", "dns_servers", "10.0.0.9")), 200).obj(t)
	must(t, c.post("static-routes/", vals("source", idOf(mgmt), "destination", idOf(pxe), "gateway_ip", "10.0.0.254",
		"metric", "100")), 200)
	must(t, c.post("account/prefs/sshkeys/", vals("key", testSSHKey)), 201)
	must(t, c.put("package-repositories/1/", vals("disabled_pockets", "backports")), 200)

	// IdentifyNode: found by BMC address, renamed.
	pp := must(t, c.get("machines/?op=power_parameters", nil), 200).obj(t)
	if pp[sid].(map[string]any)["power_address"] != "172.16.100.21" {
		t.Fatalf("power parameters %v", pp)
	}
	must(t, c.put("machines/"+sid+"/", vals("hostname", "cmp01", "domain", "site.example")), 200)
	must(t, c.put("machines/"+sid+"/", vals("power_type", "ipmi", "power_parameters_power_address", "172.16.100.21",
		"power_parameters_power_user", "admin", "power_parameters_power_pass", "pw")), 200)

	// ConfigureHardware.
	if found := must(t, c.get("machines/", vals("hostname", "cmp01")), 200).list(t); len(found) != 1 {
		t.Fatal("lookup by hostname")
	}
	must(t, c.post("machines/"+sid+"/?op=commission", vals("enable_ssh", "0", "skip_bmc_config", "0")), 200)
	for i := 0; i < 10 && must(t, c.get("machines/"+sid+"/", nil), 200).obj(t)["status_name"] != "Ready"; i++ {
		clk.Advance(time.Second)
	}
	decodeBSON(t, must(t, c.get("machines/"+sid+"/?op=details", nil), 200).body)
	must(t, c.call("GET", "commissioning-results/", vals("system_id", sid, "result_type", "0"), encDrydock, ""), 200)

	// ApplyNodeNetworking: bond0 of eno1+eno2 on gp-link with a VLAN interface on mgmt; eno3
	// DHCP on pxe.
	must(t, c.post("machines/"+sid+"/?op=restore_networking_configuration", nil), 200)
	ifs := must(t, c.get("nodes/"+sid+"/interfaces/", nil), 200).list(t)
	gpUntagged := idOf(gp["vlans"].([]any)[0])
	var parents []string
	for _, name := range []string{"eno1", "eno2"} {
		id := idOf(findBy(t, ifs, "name", name))
		parents = append(parents, id)
		must(t, c.put("nodes/"+sid+"/interfaces/"+id+"/", vals("mtu", "9000")), 200)
		must(t, c.post("nodes/"+sid+"/interfaces/"+id+"/?op=disconnect", nil), 200)
		must(t, c.put("nodes/"+sid+"/interfaces/"+id+"/", vals("vlan", gpUntagged)), 200)
	}
	bond := must(t, c.post("nodes/"+sid+"/interfaces/?op=create_bond", vals("name", "bond0", "parents", parents[0],
		"parents", parents[1], "mtu", "9000", "bond_mode", "802.3ad", "bond_miimon", "100", "bond_downdelay", "200",
		"bond_updelay", "200", "bond_lacp_rate", "slow", "bond_xmit_hash_policy", "layer3+4")), 200).obj(t)
	must(t, c.put("nodes/"+sid+"/interfaces/"+idOf(bond)+"/", vals("vlan", gpUntagged)), 200)
	// Sending a bond its own parents again is accepted (they are its, not another bond's).
	must(t, c.put("nodes/"+sid+"/interfaces/"+idOf(bond)+"/", vals("parents", parents[0], "parents", parents[1])), 200)
	vif := must(t, c.post("nodes/"+sid+"/interfaces/?op=create_vlan", vals("vlan", idOf(mgmtVLAN), "parent", idOf(bond),
		"tags", "", "mtu", "9000")), 200).obj(t)
	must(t, c.post("nodes/"+sid+"/interfaces/"+idOf(vif)+"/?op=link_subnet", vals("subnet", idOf(mgmt), "mode", "static",
		"ip_address", "10.0.0.10", "default_gateway", "True")), 200)
	eno3 := findBy(t, ifs, "name", "eno3")
	for _, l := range eno3["links"].([]any) {
		must(t, c.post("nodes/"+sid+"/interfaces/"+idOf(eno3)+"/?op=unlink_subnet", vals("id", idOf(l))), 200)
	}
	must(t, c.post("nodes/"+sid+"/interfaces/"+idOf(eno3)+"/?op=link_subnet", vals("subnet", idOf(pxe), "mode", "dhcp",
		"default_gateway", "False")), 200)

	// ApplyNodeStorage: reset, flat root on sda, a /var/log partition and a VG on sdb.
	bds := must(t, c.get("nodes/"+sid+"/blockdevices/", nil), 200).list(t)
	for _, bd := range bds {
		for _, p := range bd.(map[string]any)["partitions"].([]any) {
			must(t, c.del(fmt.Sprintf("nodes/%s/blockdevices/%s/partition/%s", sid, idOf(bd), idOf(p))), 204)
		}
	}
	sda, sdb := idOf(findBy(t, bds, "name", "sda")), idOf(findBy(t, bds, "name", "sdb"))
	must(t, c.post("nodes/"+sid+"/blockdevices/"+sda+"/?op=set_boot_disk", nil), 200)
	must(t, c.post("machines/"+sid+"/?op=set_storage_layout", vals("storage_layout", "flat", "root_device", sda,
		"root_size", "100000000000", "boot_size", "1000000000")), 200)
	p1 := must(t, c.post("nodes/"+sid+"/blockdevices/"+sdb+"/partitions/", vals("size", "50000000000", "bootable", "False")), 200).obj(t)
	pp1 := fmt.Sprintf("nodes/%s/blockdevices/%s/partition/%s", sid, sdb, idOf(p1))
	must(t, c.post(pp1+"?op=format", vals("fstype", "ext4", "uuid", "11111111-2222-4333-8444-555555555555")), 200)
	must(t, c.post(pp1+"?op=mount", vals("mount_point", "/var/log", "mount_options", "defaults")), 200)
	p2 := must(t, c.post("nodes/"+sid+"/blockdevices/"+sdb+"/partitions/", vals("bootable", "False")), 200).obj(t)
	vg := must(t, c.post("nodes/"+sid+"/volume-groups/", vals("name", "data", "partitions", idOf(p2))), 200).obj(t)
	lv := must(t, c.post(fmt.Sprintf("nodes/%s/volume-group/%s/?op=create_logical_volume", sid, idOf(vg)),
		vals("name", "lv1", "size", "100000000000")), 200).obj(t)
	must(t, c.post("nodes/"+sid+"/blockdevices/"+idOf(lv)+"/?op=format", vals("fstype", "xfs")), 200)
	must(t, c.post("nodes/"+sid+"/blockdevices/"+idOf(lv)+"/?op=mount", vals("mount_point", "/data")), 200)

	// ApplyNodePlatform.
	must(t, c.post("tags/", vals("name", "cmp01_kp", "kernel_opts", "hugepagesz=1G hugepages=16")), 200)
	must(t, c.post("tags/cmp01_kp/?op=update_nodes", vals("add", sid)), 200)
	must(t, c.post("tags/", vals("name", "compute")), 200)
	if len(must(t, c.get("tags/compute/?op=nodes", nil), 200).list(t)) == 0 {
		must(t, c.post("tags/compute/?op=update_nodes", vals("add", sid)), 200)
	}

	// DeployNode.
	must(t, c.post("machines/?op=allocate", vals("system_id", sid)), 200)
	must(t, c.post("machines/"+sid+"/?op=set_workload_annotations", vals("rack", "r1")), 200)
	ud := base64.StdEncoding.EncodeToString([]byte(cloudConfig))
	must(t, c.post("machines/"+sid+"/?op=deploy", vals("distro_series", "jammy", "hwe_kernel", "ga-22.04", "user_data", ud)), 200)
	for i := 0; i < 10 && must(t, c.get("machines/"+sid+"/", nil), 200).obj(t)["status_name"] != "Deployed"; i++ {
		clk.Advance(time.Second)
	}

	ms, _ := s.Snapshot(sid)
	if ms.StatusName != "Deployed" || ms.Hostname != "cmp01" || ms.Domain != "site.example" ||
		ms.KernelOptions != "hugepagesz=1G hugepages=16" || !slices.Equal(ms.Tags, []string{"cmp01_kp", "compute"}) ||
		string(ms.UserData) != cloudConfig || ms.HWEKernel != "ga-22.04" || ms.WorkloadAnnotations["rack"] != "r1" ||
		ms.DefaultGateway != "10.0.0.1" {
		t.Fatalf("deployed machine: %+v", ms)
	}
	byName := map[string]InterfaceState{}
	for _, i := range ms.Interfaces {
		byName[i.Name] = i
	}
	if b := byName["bond0"]; b.Type != "bond" || !slices.Equal(b.Parents, []string{"eno1", "eno2"}) || b.MTU != 9000 ||
		b.Fabric != "gp-link" || b.Params["bond_mode"] != "802.3ad" {
		t.Errorf("bond0 %+v", b)
	}
	if v := byName["bond0.100"]; v.VID != 100 || len(v.Links) != 1 || v.Links[0].IP != "10.0.0.10" || !v.Links[0].DefaultGateway {
		t.Errorf("bond0.100 %+v", v)
	}
	if e := byName["eno3"]; len(e.Links) != 1 || e.Links[0].Mode != "dhcp" || e.Fabric != "pxe-link" {
		t.Errorf("eno3 %+v", e)
	}
	root := ms.BlockDevices[0].Partitions
	if len(root) != 2 || root[0].Filesystem.MountPoint != "/boot" || root[1].Filesystem.MountPoint != "/" ||
		root[1].Size != 100000000000/(4*mib)*4*mib {
		t.Errorf("sda partitions %+v", root)
	}
	if len(ms.VolumeGroups) != 1 || ms.VolumeGroups[0].Devices[0] != "sdb-part2" ||
		ms.VolumeGroups[0].LogicalVolumes[0] != "data-lv1" || ms.BlockDevices[2].Filesystem.MountPoint != "/data" {
		t.Errorf("volume groups %+v, LV %+v", ms.VolumeGroups, ms.BlockDevices[2])
	}

	// DestroyNode.
	must(t, c.post("machines/"+sid+"/?op=release", vals("erase", "True", "secure_erase", "False", "quick_erase", "True")), 200)
	for i := 0; i < 10 && must(t, c.get("machines/"+sid+"/", nil), 200).obj(t)["status_name"] != "Ready"; i++ {
		clk.Advance(time.Second)
	}
	must(t, c.del("machines/"+sid+"/"), 204)
	if _, ok := s.Snapshot(sid); ok {
		t.Error("machine still there")
	}
}
