package maassim

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJvZ3VzLWtleS1mb3ItdGVzdGluZy1vbmx5LTEyMzQ1Ng== ops@example"

// resourceCases: maas_api.md §5 (endpoints) and §6 (response objects).
func resourceCases() []confCase {
	return []confCase{
		{sec: "§6.1", name: "machine object field names and types", method: "GET", path: "machines/{ready}/", status: 200,
			ctype: "json",
			fields: map[string]string{"system_id": "string", "hostname": "string", "status": "number",
				"status_name": "string", "domain": "object", "fqdn": "string", "owner": "null", "owner_data": "object",
				"interface_set": "array", "boot_interface": "object", "blockdevice_set": "array",
				"physicalblockdevice_set": "array", "virtualblockdevice_set": "array", "boot_disk": "object",
				"volume_groups": "array", "tag_names": "array", "power_state": "string", "power_type": "string",
				"memory": "number", "cpu_count": "number", "storage": "number", "architecture": "string",
				"hardware_info": "object", "default_gateways.ipv4": "object", "testing_status": "number",
				"node_type": "number", "zone": "object", "pool": "object", "ip_addresses": "array",
				"special_filesystems": "array", "workload_annotations": "object", "numanode_set": "array",
				"current_commissioning_result_id": "number", "hwe_kernel": "null", "bios_boot_method": "string"},
			values: map[string]string{"status": "4", "status_name": "Ready", "node_type_name": "Machine",
				"power_state": "off", "commissioning_status_name": "Passed", "testing_status_name": "Passed",
				"resource_uri": "/MAAS/api/2.0/machines/{ready}/", "domain.name": "maas", "zone.name": "default",
				"boot_interface.name": "eth0", "hardware_info.system_vendor": "Unknown"}},
		{sec: "§6.2", name: "interface object", method: "GET", path: "nodes/{ready}/interfaces/{ready_eth0}/", status: 200,
			fields: map[string]string{"id": "number", "name": "string", "type": "string", "vlan": "object",
				"vlan.fabric_id": "number", "mac_address": "string", "parents": "array", "children": "array",
				"links": "array", "links.[0].id": "number", "links.[0].subnet": "object", "effective_mtu": "number",
				"enabled": "bool", "tags": "array", "discovered": "null", "params": "string"},
			values: map[string]string{"type": "physical", "links.[0].mode": "auto", "links.[0].subnet.cidr": "10.0.0.0/24",
				"vlan.name": "untagged", "vlan.vid": "0", "effective_mtu": "1500",
				"resource_uri": "/MAAS/api/2.0/nodes/{ready}/interfaces/{ready_eth0}/"}},
		{sec: "§6.3", name: "block device after commissioning has the flat layout", method: "GET",
			path: "nodes/{ready}/blockdevices/{ready_sda}/", status: 200,
			fields: map[string]string{"size": "number", "available_size": "number", "used_size": "number",
				"filesystem": "null", "partitions": "array", "tags": "array", "uuid": "null", "id_path": "string"},
			values: map[string]string{"type": "physical", "partition_table_type": "GPT", "path": "/dev/disk/by-dname/sda",
				"partitions.[0].filesystem.mount_point": "/", "partitions.[0].filesystem.fstype": "ext4",
				"partitions.[0].filesystem.label": "root", "used_for": "GPT partitioned with 1 partition",
				"partitions.[0].path": "/dev/disk/by-dname/sda-part1", "available_size": "0",
				"partitions.[0].type": "partition", "model": "SAMSUNG MZ7LH480"}},
		{sec: "§5.3", name: "create a partition: GPT table, 4 MiB rounding", method: "POST",
			path: "nodes/{ready}/blockdevices/{ready_sdb}/partitions/", params: []string{"size", "10000000000"}, status: 200,
			values: map[string]string{"size": fmt.Sprint(int64(10000000000) / (4 * mib) * 4 * mib), "type": "partition",
				"path": "/dev/disk/by-dname/sdb-part1", "bootable": "false"},
			check: func(t *testing.T, f *fixture, r resp) {
				d := must(t, f.c.get("nodes/"+f.ids["ready"]+"/blockdevices/"+f.ids["ready_sdb"]+"/", nil), 200).obj(t)
				size := int64(200 << 30)
				want := (size - 6*mib - int64(10000000000)/(4*mib)*4*mib) / (4 * mib) * 4 * mib
				if d["partition_table_type"] != "GPT" || d["available_size"] != float64(want) {
					t.Errorf("table %v available %v, want %d", d["partition_table_type"], d["available_size"], want)
				}
			}},
		{sec: "§5.3", name: "a partition larger than the free space is refused", method: "POST",
			path: "nodes/{ready}/blockdevices/{ready_sdb}/partitions/", params: []string{"size", "999999999999999"},
			status: 400, ctype: "json", fields: map[string]string{"size": "array"}},
		{sec: "§5.3", name: "partitions of a Deployed machine are 409", method: "POST",
			path: "nodes/{deployed}/blockdevices/{deployed_sdb}/partitions/", params: []string{"size", "10000000000"},
			status: 409, body: "=Cannot create partition because the machine is not Ready."},
		{sec: "§5.3", name: "format and mount a partition of an Allocated machine", method: "POST",
			path:   "nodes/{alloc}/blockdevices/{alloc_sdb}/partition/{p}?op=format",
			params: []string{"fstype", "xfs", "label", "data", "uuid", "0a0a0a0a-1b1b-4c4c-8d8d-9e9e9e9e9e9e"}, status: 200,
			pre: func(t *testing.T, f *fixture) {
				// Partitions are created while Ready; formatting is also allowed Allocated.
				f.srv.mu.Lock()
				m := f.srv.st.bySID[f.ids["alloc"]]
				d := m.bdev(f.ids["alloc_sdb"])
				p := f.srv.st.newPartition(m, d, 8<<30, false, "")
				f.srv.mu.Unlock()
				f.ids["p"] = fmt.Sprint(p.id)
			},
			values: map[string]string{"filesystem.fstype": "xfs", "filesystem.label": "data",
				"filesystem.uuid": "0a0a0a0a-1b1b-4c4c-8d8d-9e9e9e9e9e9e", "used_for": "Unmounted xfs formatted filesystem"},
			check: func(t *testing.T, f *fixture, r resp) {
				p := must(t, f.c.post(f.expand("nodes/{alloc}/blockdevices/{alloc_sdb}/partition/{p}?op=mount"),
					vals("mount_point", "/srv", "mount_options", "noatime")), 200).obj(t)
				if v, _ := dig(p, "filesystem.mount_options"); v != "noatime" || p["used_for"] != "xfs formatted filesystem mounted at /srv" {
					t.Errorf("mounted partition %v", p)
				}
			}},
		{sec: "§5.3", name: "format a block device of a Deployed machine is 409", method: "POST",
			path: "nodes/{deployed}/blockdevices/{deployed_sdb}/?op=format", params: []string{"fstype", "ext4"},
			status: 409, body: "=Cannot format block device because the machine is not Ready or Allocated."},
		{sec: "§5.3", name: "format and mount a whole disk", method: "POST", path: "nodes/{ready}/blockdevices/{ready_sdb}/?op=format",
			params: []string{"fstype", "ext4"}, status: 200, values: map[string]string{"filesystem.fstype": "ext4",
				"available_size": "0"},
			check: func(t *testing.T, f *fixture, r resp) {
				d := must(t, f.c.post(f.expand("nodes/{ready}/blockdevices/{ready_sdb}/?op=mount"),
					vals("mount_point", "/var/lib/docker")), 200).obj(t)
				if v, _ := dig(d, "filesystem.mount_point"); v != "/var/lib/docker" {
					t.Errorf("mount point %v", v)
				}
				must(t, f.c.post(f.expand("nodes/{ready}/blockdevices/{ready_sdb}/?op=unformat"), nil), 400)
			}},
		{sec: "§5.3", name: "set_boot_disk answers OK", method: "POST", path: "nodes/{ready}/blockdevices/{ready_sdb}/?op=set_boot_disk",
			status: 200, ctype: "text", body: "=OK",
			check: func(t *testing.T, f *fixture, r resp) {
				m := must(t, f.c.get("machines/"+f.ids["ready"]+"/", nil), 200).obj(t)
				if v, _ := dig(m, "boot_disk.name"); v != "sdb" {
					t.Errorf("boot disk %v", v)
				}
			}},
		{sec: "§5.3", name: "partitions have no set_boot_disk", method: "POST",
			path: "nodes/{ready}/blockdevices/{ready_sda}/partition/{ready_sda_part}?op=set_boot_disk", status: 400,
			body: "=Unrecognised signature: method=POST op=set_boot_disk"},
		{sec: "§5.4", name: "volume group and logical volume", method: "POST", path: "nodes/{ready}/volume-groups/",
			params: []string{"name", "vg1", "block_devices", "{ready_sdb}"}, status: 200,
			fields: map[string]string{"id": "number", "uuid": "string", "devices": "array", "size": "number",
				"human_size": "string", "available_size": "number", "logical_volumes": "array"},
			values: map[string]string{"name": "vg1", "devices.[0].id": "{ready_sdb}", "size": fmt.Sprint(200<<30 - 4*mib),
				"devices.[0].filesystem.fstype": "lvm-pv", "human_size": "214.7 GB"},
			check: func(t *testing.T, f *fixture, r resp) {
				vg := r.obj(t)
				path := fmt.Sprintf("nodes/%s/volume-group/%v/", f.ids["ready"], vg["id"])
				lv := must(t, f.c.post(path+"?op=create_logical_volume", vals("name", "lv1", "size", "10G")), 200).obj(t)
				if lv["name"] != "vg1-lv1" || lv["type"] != "virtual" || lv["size"] != float64(10<<30) {
					t.Errorf("logical volume %v", lv)
				}
				must(t, f.c.post(path+"?op=delete_logical_volume", vals("id", fmt.Sprint(lv["id"]))), 204)
				must(t, f.c.del(path), 204)
			}},
		{sec: "§5.4", name: "comma-joined member ids are one invalid choice", method: "POST", path: "nodes/{ready}/volume-groups/",
			params: []string{"name", "vg1", "block_devices", "{ready_sdb},{ready_sda}"}, status: 400, ctype: "json",
			body: "is not one of the available choices"},
		{sec: "§5.4", name: "volume groups of a Deployed machine are 409", method: "POST", path: "nodes/{deployed}/volume-groups/",
			params: []string{"name", "vg1", "block_devices", "{deployed_sdb}"}, status: 409,
			body: "=Cannot create volume group because the machine is not Ready."},
		{sec: "§5.2", name: "create_bond", method: "POST", path: "nodes/{ready}/interfaces/?op=create_bond",
			params: []string{"name", "bond0", "parents", "{ready_eth0}", "parents", "{ready_eth1}", "bond_mode", "802.3ad",
				"bond_miimon", "100", "bond_xmit_hash_policy", "layer3+4", "mtu", "9000", "tags", ""},
			status: 200, values: map[string]string{"type": "bond", "name": "bond0", "params.bond_mode": "802.3ad",
				"params.bond_xmit_hash_policy": "layer3+4", "params.mtu": "9000", "parents.[1]": "eth1",
				"effective_mtu": "9000", "params.bond_lacp_rate": "slow"},
			check: func(t *testing.T, f *fixture, r resp) {
				eth0 := must(t, f.c.get("nodes/"+f.ids["ready"]+"/interfaces/"+f.ids["ready_eth0"]+"/", nil), 200).obj(t)
				if v, _ := dig(eth0, "children.[0]"); v != "bond0" {
					t.Errorf("eth0 children %v", eth0["children"])
				}
			}},
		{sec: "§5.2", name: "create_bond without parents", method: "POST", path: "nodes/{ready}/interfaces/?op=create_bond",
			params: []string{"name", "bond0"}, status: 400, ctype: "json",
			values: map[string]string{"parents.[0]": "A bond interface must have one or more parents."}},
		{sec: "§5.2", name: "interfaces of a Deployed machine cannot be created", method: "POST",
			path: "nodes/{deployed}/interfaces/?op=create_bond", params: []string{"name", "bond0", "parents", "{deployed_eth0}"},
			status: 409, body: "=Cannot create interface because the machine is not New, Ready, Allocated, or Broken."},
		{sec: "§5.2", name: "create_vlan names it <parent>.<vid>", method: "POST", path: "nodes/{ready}/interfaces/?op=create_vlan",
			params: []string{"vlan", "{vlan100}", "parent", "{ready_eth0}", "tags", "", "mtu", "1500"}, status: 200,
			values: map[string]string{"name": "eth0.100", "type": "vlan", "vlan.vid": "100", "parents.[0]": "eth0"}},
		{sec: "§5.2", name: "create_vlan on the untagged VLAN is refused", method: "POST",
			path: "nodes/{ready}/interfaces/?op=create_vlan", params: []string{"vlan", "5001", "parent", "{ready_eth0}"},
			status: 400, values: map[string]string{"vlan.[0]": "A VLAN interface can only belong to a tagged VLAN."}},
		{sec: "§5.2", name: "link_subnet STATIC with default gateway", method: "POST",
			path:   "nodes/{ready}/interfaces/{ready_eth1}/?op=link_subnet",
			params: []string{"mode", "STATIC", "subnet", "{subnet}", "ip_address", "10.0.0.20", "default_gateway", "True"},
			status: 200, values: map[string]string{"links.[0].mode": "static", "links.[0].ip_address": "10.0.0.20",
				"links.[0].subnet.id": "{subnet}", "vlan.id": "5001"},
			check: func(t *testing.T, f *fixture, r resp) {
				m := must(t, f.c.get("machines/"+f.ids["ready"]+"/", nil), 200).obj(t)
				if v, _ := dig(m, "default_gateways.ipv4.gateway_ip"); v != "10.0.0.1" {
					t.Errorf("default gateway %v", m["default_gateways"])
				}
			}},
		{sec: "§5.2", name: "link_subnet with an address in use", method: "POST",
			path:   "nodes/{ready}/interfaces/{ready_eth1}/?op=link_subnet",
			params: []string{"mode", "static", "subnet", "{subnet}", "ip_address", "10.0.0.20"}, status: 400,
			pre: func(t *testing.T, f *fixture) {
				must(t, f.c.post(f.expand("nodes/{alloc}/interfaces/{alloc_eth1}/?op=link_subnet"),
					vals("mode", "static", "subnet", f.ids["subnet"], "ip_address", "10.0.0.20")), 200)
			}, values: map[string]string{"ip_address.[0]": "IP address is already in use."}},
		{sec: "§5.2", name: "link_subnet with an invalid mode", method: "POST",
			path: "nodes/{ready}/interfaces/{ready_eth1}/?op=link_subnet", params: []string{"mode", "bogus", "subnet", "{subnet}"},
			status: 400, ctype: "json", body: "Select a valid choice."},
		{sec: "§5.2", name: "link_subnet DHCP without subnet", method: "POST",
			path: "nodes/{ready}/interfaces/{ready_eth1}/?op=link_subnet", params: []string{"mode", "dhcp"},
			status: 400, values: map[string]string{"subnet.[0]": "This field is required."}},
		{sec: "§5.2", name: "unlink_subnet then disconnect", method: "POST", path: "nodes/{ready}/interfaces/{ready_eth0}/?op=disconnect",
			status: 200, fields: map[string]string{"vlan": "null", "links": "array"},
			check: func(t *testing.T, f *fixture, r resp) {
				if n := len(r.obj(t)["links"].([]any)); n != 0 {
					t.Errorf("%d links after disconnect", n)
				}
			}},
		{sec: "§5.2", name: "update an interface's VLAN and MTU", method: "PUT", path: "nodes/{ready}/interfaces/{ready_eth1}/",
			params: []string{"vlan", "5001", "mtu", "9000", "name", "eth1"}, status: 200,
			values: map[string]string{"vlan.id": "5001", "effective_mtu": "9000", "params.mtu": "9000",
				"links.[0].mode": "link_up"}},
		{sec: "§5.2", name: "a Deployed interface takes the restricted form", method: "PUT",
			path: "nodes/{deployed}/interfaces/{deployed_eth1}/", params: []string{"name", "data0", "mtu", "9000"},
			status: 200, values: map[string]string{"name": "data0", "effective_mtu": "1500"}},
		{sec: "§6.2", name: "fabric-0 and its untagged VLAN", method: "GET", path: "fabrics/", status: 200,
			fields: map[string]string{"[0].class_type": "null", "[0].vlans": "array"},
			values: map[string]string{"[0].id": "0", "[0].name": "fabric-0", "[0].vlans.[0].vid": "0",
				"[0].vlans.[0].name": "untagged", "[0].vlans.[0].id": "5001", "[0].vlans.[0].mtu": "1500",
				"[0].resource_uri": "/MAAS/api/2.0/fabrics/0/"}},
		{sec: "§5.5", name: "a new fabric gets an untagged VLAN", method: "POST", path: "fabrics/",
			params: []string{"name", "oob", "description", "OOB"}, status: 200,
			values: map[string]string{"name": "oob", "vlans.[0].vid": "0", "vlans.[0].fabric": "oob"}},
		{sec: "§5.5", name: "VLANs are addressed by vid", method: "GET", path: "fabrics/0/vlans/100/", status: 200,
			fields: map[string]string{"primary_rack": "null", "secondary_rack": "null", "relay_vlan": "null",
				"dhcp_on": "bool", "external_dhcp": "null"},
			values: map[string]string{"id": "{vlan100}", "name": "storage", "vid": "100", "fabric": "fabric-0",
				"fabric_id": "0", "space": "undefined", "resource_uri": "/MAAS/api/2.0/vlans/{vlan100}/"}},
		{sec: "§5.5", name: "dhcp_on needs a dynamic range", method: "PUT", path: "fabrics/0/vlans/100/",
			params: []string{"dhcp_on", "True", "primary_rack", "{rack}"}, status: 400, ctype: "json",
			values: map[string]string{"dhcp_on.[0]": "dhcp can only be turned on when a dynamic IP range is defined."}},
		{sec: "§5.5", name: "dhcp_on with a primary rack and a dynamic range", method: "PUT", path: "vlans/5001/",
			params: []string{"dhcp_on", "True", "primary_rack", "{rack}", "mtu", "9000"}, status: 200,
			values: map[string]string{"dhcp_on": "true", "primary_rack": "{rack}", "mtu": "9000"}},
		{sec: "§5.5", name: "create a subnet", method: "POST", path: "subnets/",
			params: []string{"cidr", "192.168.10.7/24", "vlan", "{vlan100}", "gateway_ip", "192.168.10.1",
				"dns_servers", "8.8.8.8,8.8.4.4", "name", "storage"}, status: 200,
			fields: map[string]string{"dns_servers": "array", "vlan": "object", "allow_proxy": "bool"},
			values: map[string]string{"cidr": "192.168.10.0/24", "name": "storage", "vlan.vid": "100",
				"dns_servers.[1]": "8.8.4.4", "rdns_mode": "2", "gateway_ip": "192.168.10.1", "vlan.fabric_id": "0"}},
		{sec: "§5.5", name: "a duplicate CIDR is refused", method: "POST", path: "subnets/", params: []string{"cidr", "10.0.0.0/24"},
			status: 400, values: map[string]string{"cidr.[0]": "Subnet with this Cidr already exists."}},
		{sec: "§5.5", name: "a gateway outside the subnet is refused", method: "PUT", path: "subnets/{subnet}/",
			params: []string{"gateway_ip", "10.9.9.1"}, status: 400, values: map[string]string{"gateway_ip.[0]": "Gateway IP must be within CIDR range."}},
		{sec: "§5.5", name: "reserved ranges of a subnet", method: "GET", path: "subnets/{subnet}/?op=reserved_ip_ranges",
			status: 200, values: map[string]string{"[0].start": "10.0.0.100", "[0].purpose.[0]": "dynamic"}},
		{sec: "§5.5", name: "create a reserved IP range", method: "POST", path: "ipranges/",
			params: []string{"type", "reserved", "start_ip", "10.0.0.10", "end_ip", "10.0.0.19", "subnet", "{subnet}",
				"comment", "Configured by Drydock"}, status: 200,
			fields: map[string]string{"subnet": "object", "user": "object"},
			values: map[string]string{"type": "reserved", "subnet.id": "{subnet}", "start_ip": "10.0.0.10",
				"comment": "Configured by Drydock"}},
		{sec: "§5.5", name: "an overlapping IP range is refused", method: "POST", path: "ipranges/",
			params: []string{"type", "reserved", "start_ip", "10.0.0.140", "end_ip", "10.0.0.160", "subnet", "{subnet}"},
			status: 400, ctype: "json", values: map[string]string{"__all__.[0]": "Requested reserved range conflicts with an existing range."}},
		{sec: "§5.5", name: "an IP range outside its subnet is refused", method: "POST", path: "ipranges/",
			params: []string{"type", "dynamic", "start_ip", "10.9.0.1", "end_ip", "10.9.0.9", "subnet", "{subnet}"},
			status: 400, values: map[string]string{"start_ip.[0]": "Start IP address must be within subnet: 10.0.0.0/24."}},
		{sec: "§5.5", name: "static routes embed subnets", method: "POST", path: "static-routes/",
			params: []string{"source", "{subnet}", "destination", "{subnet2}", "gateway_ip", "10.0.0.254", "metric", "100"},
			pre: func(t *testing.T, f *fixture) {
				f.ids["subnet2"] = fmt.Sprint(must(t, f.c.post("subnets/", vals("cidr", "10.1.0.0/24")), 200).obj(t)["id"])
			}, status: 200, fields: map[string]string{"source": "object", "destination": "object"},
			values: map[string]string{"source.id": "{subnet}", "destination.cidr": "10.1.0.0/24", "gateway_ip": "10.0.0.254",
				"metric": "100"}},
		{sec: "§5.6", name: "update_nodes and op=nodes", method: "POST", path: "tags/t1/?op=update_nodes",
			params: []string{"add", "{ready}", "add", "nosuch"}, status: 200, body: `={"added":1,"removed":0}`,
			check: func(t *testing.T, f *fixture, r resp) {
				nodes := must(t, f.c.get("tags/t1/?op=nodes", nil), 200).list(t)
				if v, _ := dig(nodes, "[0].system_id"); len(nodes) != 1 || v != f.ids["ready"] {
					t.Errorf("tagged nodes %v", nodes)
				}
				if ms, _ := f.srv.Snapshot(f.ids["ready"]); ms.KernelOptions != "console=ttyS0" || ms.Tags[0] != "t1" {
					t.Errorf("tags %v kernel options %q", ms.Tags, ms.KernelOptions)
				}
			}},
		{sec: "§5.6", name: "update_nodes with another definition is 409", method: "POST", path: "tags/t1/?op=update_nodes",
			params: []string{"add", "{ready}", "definition", "//node[@class='system']"}, status: 409, ctype: "text",
			body: "Definition supplied '//node[@class='system']' doesn't match current definition ''"},
		{sec: "§5.6", name: "tag names are unique", method: "POST", path: "tags/", params: []string{"name", "t1"}, status: 400,
			values: map[string]string{"name.[0]": "Tag with this Name already exists."}},
		{sec: "§5.8", name: "add an SSH key answers 201", method: "POST", path: "account/prefs/sshkeys/",
			params: []string{"key", testSSHKey}, status: 201, fields: map[string]string{"id": "number", "keysource": "null"},
			values: map[string]string{"key": testSSHKey},
			check: func(t *testing.T, f *fixture, r resp) {
				keys := must(t, f.c.get("account/prefs/sshkeys/", nil), 200).list(t)
				if len(keys) != 1 {
					t.Errorf("%d keys", len(keys))
				}
			}},
		{sec: "§5.8", name: "an invalid SSH key is a 400 field error", method: "POST", path: "account/prefs/sshkeys/",
			params: []string{"key", "ssh-rsa not-base64!"}, status: 400, ctype: "json", fields: map[string]string{"key": "array"}},
		{sec: "§5.7", name: "boot resources", method: "GET", path: "boot-resources/", status: 200,
			fields: map[string]string{"[0].id": "number", "[0].subarches": "string"},
			values: map[string]string{"[0].name": "ubuntu/jammy", "[0].architecture": "amd64/ga-22.04", "[0].type": "Synced"}},
		{sec: "§5.7", name: "is_importing is a bare boolean", method: "GET", path: "boot-resources/?op=is_importing", status: 200,
			ctype: "json", body: "=false"},
		{sec: "§5.7", name: "an unknown boot resource type filter is 400", method: "GET", path: "boot-resources/",
			params: []string{"type", "bogus"}, status: 400},
		{sec: "§5.7", name: "boot source selections", method: "GET", path: "boot-sources/1/selections/", status: 200,
			fields: map[string]string{"[0].arches": "array"},
			values: map[string]string{"[0].os": "ubuntu", "[0].release": "jammy", "[0].boot_source_id": "1"}},
		{sec: "§5.8", name: "get_config answers JSON", method: "GET", path: "maas/?op=get_config",
			params: []string{"name", "default_distro_series"}, status: 200, ctype: "json", body: `="jammy"`},
		{sec: "§5.8", name: "set_config then get_config", method: "POST", path: "maas/?op=set_config",
			params: []string{"name", "node_timeout", "value", "45"}, status: 200, body: "=OK",
			check: func(t *testing.T, f *fixture, r resp) {
				if g := must(t, f.c.get("maas/?op=get_config", vals("name", "node_timeout")), 200); string(g.body) != "45" {
					t.Errorf("node_timeout %s", g.body)
				}
			}},
		{sec: "§5.8", name: "get_config of an unknown name", method: "GET", path: "maas/?op=get_config",
			params: []string{"name", "frobnication"}, status: 400, ctype: "json", fields: map[string]string{"name": "array"}},
		{sec: "§6.4", name: "rack controllers carry service_set", method: "GET", path: "rackcontrollers/", status: 200,
			fields: map[string]string{"[0].service_set": "array", "[0].interface_set": "array", "[0].version": "string"},
			values: map[string]string{"[0].node_type": "2", "[0].service_set.[0].name": "rackd",
				"[0].service_set.[0].status": "running", "[0].resource_uri": "/MAAS/api/2.0/rackcontrollers/{rack}/"}},
		{sec: "§5.7", name: "rack controller list_boot_images", method: "GET", path: "rackcontrollers/{rack}/?op=list_boot_images",
			status: 200, values: map[string]string{"connected": "true", "status": "synced", "images.[0].name": "ubuntu/jammy"}},
		{sec: "§5.1", name: "power_parameters of all machines", method: "GET", path: "machines/?op=power_parameters",
			status: 200, values: map[string]string{"{ready}.power_address": "10.1.0.7", "{ready}.power_driver": "LAN_2_0"}},
		{sec: "§6.5", name: "set redfish power parameters", method: "PUT", path: "machines/{new}/",
			params: []string{"power_type", "redfish", "power_parameters_power_address", "10.2.0.5",
				"power_parameters_power_user", "root", "power_parameters_power_pass", "calvin"}, status: 200,
			values: map[string]string{"power_type": "redfish"},
			check: func(t *testing.T, f *fixture, r resp) {
				p := must(t, f.c.get("machines/"+f.ids["new"]+"/?op=power_parameters", nil), 200).obj(t)
				if p["power_address"] != "10.2.0.5" || p["power_user"] != "root" || p["power_driver"] != nil {
					t.Errorf("power parameters %v", p)
				}
			}},
		{sec: "§6.5", name: "missing required power parameters", method: "PUT", path: "machines/{new}/",
			params: []string{"power_type", "redfish", "power_parameters_power_address", "10.2.0.5"}, status: 400,
			ctype: "json", body: "power_pass: This field is required."},
		{sec: "§6.5", name: "an unknown power type", method: "PUT", path: "machines/{new}/", params: []string{"power_type", "telepathy"},
			status: 400, values: map[string]string{"power_type.[0]": "Select a valid choice. telepathy is not one of the available choices."}},
		{sec: "§5.1", name: "op=details is BSON with lshw and lldp", method: "GET", path: "machines/{ready}/?op=details",
			status: 200, ctype: "bson", check: func(t *testing.T, f *fixture, r resp) {
				doc := decodeBSON(t, r.body)
				lshw := string(doc["lshw"])
				for _, want := range []string{"<businfo>pci@0000:00:03.0</businfo>", "<logicalname>eth0</logicalname>",
					"<businfo>scsi@2:0.0.0</businfo>", "<logicalname>/dev/sda</logicalname>"} {
					if !strings.Contains(lshw, want) {
						t.Errorf("lshw lacks %s", want)
					}
				}
				if !strings.Contains(string(doc["lldp"]), `name="eth0"`) {
					t.Errorf("lldp %s", doc["lldp"])
				}
			}},
		{sec: "§5.1", name: "details before commissioning are null", method: "GET", path: "machines/{new}/?op=details",
			status: 200, ctype: "bson", check: func(t *testing.T, f *fixture, r resp) {
				doc := decodeBSON(t, r.body)
				if v, ok := doc["lshw"]; !ok || v != nil {
					t.Errorf("lshw %q", v)
				}
			}},
		{sec: "§5.1", name: "commissioning-results filtered by the query", method: "GET", path: "commissioning-results/",
			params: []string{"system_id", "{ready}", "result_type", "0", "name", "maas-lshw"}, status: 200,
			fields: map[string]string{"[0].data": "string", "[0].id": "number"},
			values: map[string]string{"[0].result_type": "0", "[0].node.system_id": "{ready}", "[0].script_result": "0",
				"[0].name": "maas-lshw"},
			check: func(t *testing.T, f *fixture, r resp) {
				d, _ := dig(r.json(t), "[0].data")
				b, err := base64.StdEncoding.DecodeString(d.(string))
				if err != nil || !strings.Contains(string(b), "<list>") {
					t.Errorf("data %v", err)
				}
			}},
		{sec: "§5.8", name: "whoami", method: "GET", path: "users/?op=whoami", status: 200,
			values: map[string]string{"username": "admin", "is_superuser": "true", "resource_uri": "/MAAS/api/2.0/users/admin/"}},
		{sec: "§5.5", name: "create a domain", method: "POST", path: "domains/", params: []string{"name", "site.example", "authoritative", "False"},
			status: 200, values: map[string]string{"name": "site.example", "authoritative": "false", "is_default": "false"}},
		{sec: "§5.1", name: "the API probe mac_address=00:… is an empty list", method: "GET", path: "machines/",
			params: []string{"mac_address", "00:00:00:00:00:00"}, status: 200, body: "=[]"},
		{sec: "§5.1", name: "an invalid mac_address filter", method: "GET", path: "machines/",
			params: []string{"mac_address", "zz:zz"}, status: 400, ctype: "json"},
		{sec: "§5.1", name: "hostname filter finds the machine", method: "GET", path: "machines/",
			params: []string{"hostname", "m-deployed"}, status: 200,
			values: map[string]string{"[0].system_id": "{deployed}", "[0].status_name": "Deployed",
				"[0].boot_interface.links.[0].ip_address": "10.0.0.2"}},
		{sec: "§2.3", name: "package repositories are pre-seeded", method: "GET", path: "package-repositories/", status: 200,
			values: map[string]string{"[0].name": "main_archive", "[1].name": "ports_archive"}},
	}
}
