package maassim

import (
	"encoding/base64"
	"slices"
	"testing"
	"time"
)

// status checks a machine's status in the emulator.
func (f *fixture) status(t *testing.T, key, want string) {
	t.Helper()
	ms, ok := f.srv.Snapshot(f.ids[key])
	if !ok {
		t.Fatalf("no machine %s", key)
	}
	if ms.StatusName != want {
		t.Fatalf("machine %s is %s, want %s", key, ms.StatusName, want)
	}
}

var cloudConfig = "#cloud-config\npackages:\n- [docker.io, 20.10]\n"

// lifecycleCases: maas_api.md §4 (status enum, transitions, failures) and §4.3 (operations).
func lifecycleCases() []confCase {
	return []confCase{
		{sec: "§4.3", name: "commission New → Commissioning → Testing → Ready", method: "POST",
			path: "machines/{new}/?op=commission", params: []string{"enable_ssh", "0", "skip_bmc_config", "0"}, status: 200,
			ctype: "json", values: map[string]string{"status": "1", "status_name": "Commissioning", "commissioning_status": "1"},
			check: func(t *testing.T, f *fixture, r resp) {
				f.clock.Advance(time.Second)
				f.status(t, "new", "Testing")
				f.clock.Advance(time.Second)
				f.status(t, "new", "Ready")
				if got := f.bmcs["new"].Calls(); !slices.Equal(got, []string{"boot pxe", "on", "off"}) {
					t.Errorf("BMC calls %v", got)
				}
				m := must(t, f.c.get("machines/"+f.ids["new"]+"/", nil), 200).obj(t)
				if m["testing_status_name"] != "Passed" || m["owner"] != nil || m["power_state"] != "off" {
					t.Errorf("after commissioning: testing %v owner %v power %v", m["testing_status_name"], m["owner"], m["power_state"])
				}
			}},
		{sec: "§4.3", name: "commission with testing_scripts=none skips Testing", method: "POST",
			path: "machines/{new}/?op=commission", params: []string{"testing_scripts", "none"}, status: 200,
			check: func(t *testing.T, f *fixture, r resp) {
				f.clock.Advance(time.Second)
				f.status(t, "new", "Ready")
			}},
		{sec: "§4.3", name: "commission refused in Deployed (400 __all__)", method: "POST",
			path: "machines/{deployed}/?op=commission", status: 400, ctype: "json",
			values: map[string]string{"__all__.[0]": "Commission is not available because of the current state of the node."}},
		{sec: "§4.3", name: "commission without power type is 500", method: "POST", path: "machines/{nopower}/?op=commission",
			status: 500, ctype: "text", body: "=Unconfigured power type. Please configure the power type and try again."},
		{sec: "§4.3", name: "allocate a Ready machine", method: "POST", path: "machines/?op=allocate",
			params: []string{"system_id", "{ready}"}, status: 200,
			fields: map[string]string{"constraints_by_type": "object"},
			values: map[string]string{"status": "10", "status_name": "Allocated", "owner": "admin", "system_id": "{ready}"}},
		{sec: "§4.3", name: "allocate an unknown system id is 409", method: "POST", path: "machines/?op=allocate",
			params: []string{"system_id", "nosuch"}, status: 409, ctype: "text", body: "=No machine with system ID nosuch available."},
		{sec: "§4.3", name: "allocate with nothing Ready is 409", method: "POST", path: "machines/?op=allocate", status: 409,
			pre: func(t *testing.T, f *fixture) {
				must(t, f.c.post("machines/?op=allocate", vals("system_id", f.ids["ready"])), 200)
			}, body: "=No machine available."},
		{sec: "§4.3", name: "deploy Allocated → Deploying → Deployed", method: "POST", path: "machines/{alloc}/?op=deploy",
			params: []string{"distro_series", "jammy", "hwe_kernel", "hwe-22.04",
				"user_data", base64.StdEncoding.EncodeToString([]byte(cloudConfig))},
			status: 200, values: map[string]string{"status": "9", "status_name": "Deploying", "osystem": "ubuntu",
				"distro_series": "jammy", "hwe_kernel": "hwe-22.04"},
			check: func(t *testing.T, f *fixture, r resp) {
				f.clock.Advance(time.Second)
				f.status(t, "alloc", "Deployed")
				ms, _ := f.srv.Snapshot(f.ids["alloc"])
				if string(ms.UserData) != cloudConfig || ms.PowerState != "on" {
					t.Errorf("user data %q power %s", ms.UserData, ms.PowerState)
				}
			}},
		{sec: "§4.3", name: "deploy a Ready machine allocates it first", method: "POST", path: "machines/{ready}/?op=deploy",
			status: 200, values: map[string]string{"status_name": "Deploying", "owner": "admin", "hwe_kernel": "ga-22.04"}},
		{sec: "§4.3", name: "deploy of a New machine is 409", method: "POST", path: "machines/{new}/?op=deploy", status: 409,
			ctype: "text", body: "=Can't deploy a machine that is in the 'New' state"},
		{sec: "§4.3", name: "deploy of a Deployed machine is 409", method: "POST", path: "machines/{deployed}/?op=deploy",
			status: 409, body: "=Can't deploy a machine that is in the 'Deployed' state"},
		{sec: "§4.3", name: "deploy unknown distro_series is a 400 field error", method: "POST",
			path: "machines/{alloc}/?op=deploy", params: []string{"distro_series", "xenial"}, status: 400, ctype: "json",
			body: "'xenial' is not a valid distro_series", fields: map[string]string{"distro_series": "array"}},
		{sec: "§4.3", name: "deploy unavailable hwe_kernel is a 400 field error", method: "POST",
			path: "machines/{alloc}/?op=deploy", params: []string{"hwe_kernel", "hwe-99.04"}, status: 400, ctype: "json",
			fields: map[string]string{"hwe_kernel": "array"}},
		{sec: "§5.1", name: "deploy install_kvm=True is refused", method: "POST", path: "machines/{alloc}/?op=deploy",
			params: []string{"install_kvm", "True"}, status: 400},
		{sec: "§4.3", name: "release Deployed → Releasing → Ready", method: "POST", path: "machines/{deployed}/?op=release",
			status: 200, values: map[string]string{"status": "12", "status_name": "Releasing"},
			fields: map[string]string{"owner": "null"},
			check: func(t *testing.T, f *fixture, r resp) {
				f.clock.Advance(time.Second)
				f.status(t, "deployed", "Ready")
				ms, _ := f.srv.Snapshot(f.ids["deployed"])
				if ms.OSystem != "" || ms.DistroSeries != "" || ms.PowerState != "off" {
					t.Errorf("after release: os %q/%q power %s", ms.OSystem, ms.DistroSeries, ms.PowerState)
				}
			}},
		{sec: "§4.3", name: "release with erase → Disk erasing → Ready", method: "POST", path: "machines/{deployed}/?op=release",
			params: []string{"erase", "True", "secure_erase", "False", "quick_erase", "True"}, status: 200,
			values: map[string]string{"status": "14", "status_name": "Disk erasing"},
			check: func(t *testing.T, f *fixture, r resp) {
				f.clock.Advance(time.Second)
				f.status(t, "deployed", "Ready")
				if ms, _ := f.srv.Snapshot(f.ids["deployed"]); ms.EraseMode != "quick" {
					t.Errorf("erase mode %q", ms.EraseMode)
				}
			}},
		{sec: "§4.3", name: "release of a New machine is 409", method: "POST", path: "machines/{new}/?op=release", status: 409,
			body: "=Machine cannot be released in its current state ('New')."},
		{sec: "§4.3", name: "release of a Ready machine is a no-op", method: "POST", path: "machines/{ready}/?op=release",
			status: 200, values: map[string]string{"status_name": "Ready"}},
		{sec: "§4.3", name: "abort Deploying → Allocated", method: "POST", path: "machines/{alloc}/?op=abort", status: 200,
			pre:    func(t *testing.T, f *fixture) { must(t, f.c.post("machines/"+f.ids["alloc"]+"/?op=deploy", nil), 200) },
			values: map[string]string{"status_name": "Allocated"}},
		{sec: "§4.3", name: "abort Commissioning → New", method: "POST", path: "machines/{new}/?op=abort", status: 200,
			pre: func(t *testing.T, f *fixture) {
				must(t, f.c.post("machines/"+f.ids["new"]+"/?op=commission", nil), 200)
			}, values: map[string]string{"status_name": "New"}},
		{sec: "§3", name: "abort in Ready is 409", method: "POST", path: "machines/{ready}/?op=abort", status: 409,
			body: "=Cannot abort in current state: node {ready} is in state Ready."},
		{sec: "§4.3", name: "mark_broken Deployed then mark_fixed → Deployed", method: "POST",
			path: "machines/{deployed}/?op=mark_broken", params: []string{"comment", "bad fan"}, status: 200,
			values: map[string]string{"status_name": "Broken", "error_description": "bad fan"},
			check: func(t *testing.T, f *fixture, r resp) {
				m := must(t, f.c.post("machines/"+f.ids["deployed"]+"/?op=mark_fixed", nil), 200).obj(t)
				if m["status_name"] != "Deployed" || m["error_description"] != "" {
					t.Errorf("mark_fixed: %v %q", m["status_name"], m["error_description"])
				}
			}},
		{sec: "§3", name: "mark_fixed of a non-broken machine is 409", method: "POST", path: "machines/{ready}/?op=mark_fixed",
			status: 409, body: "=Can't mark a non-broken node as 'Ready'."},
		{sec: "§3", name: "power_on of an unallocated machine is 409", method: "POST", path: "machines/{ready}/?op=power_on",
			status: 409, body: "=Can't start node: it hasn't been allocated."},
		{sec: "§4.3", name: "power_on of an Allocated machine starts deployment", method: "POST",
			path: "machines/{alloc}/?op=power_on", status: 200, values: map[string]string{"status_name": "Deploying"}},
		{sec: "§4.3", name: "power_off powers the machine off", method: "POST", path: "machines/{deployed}/?op=power_off",
			params: []string{"stop_mode", "hard"}, status: 200,
			check: func(t *testing.T, f *fixture, r resp) {
				if f.bmcs["deployed"].PowerOn() {
					t.Error("BMC still on")
				}
			}},
		{sec: "§5.1", name: "query_power_state asks the BMC", method: "GET", path: "machines/{deployed}/?op=query_power_state",
			status: 200, ctype: "json", body: `={"state":"on"}`},
		{sec: "§4", name: "status filter takes the lower-case constant", method: "GET", path: "machines/",
			params: []string{"status", "ready"}, status: 200,
			values: map[string]string{"[0].hostname": "m-ready", "[0].status": "4"},
			check: func(t *testing.T, f *fixture, r resp) {
				if n := len(r.list(t)); n != 1 {
					t.Errorf("%d machines", n)
				}
			}},
		{sec: "§4.3", name: "workload annotations need an owner", method: "POST",
			path: "machines/{ready}/?op=set_workload_annotations", params: []string{"team", "a"}, status: 409,
			body: "=Cannot set workload annotation: it hasn't been acquired."},
		{sec: "§4.3", name: "workload annotations on an owned machine", method: "POST",
			path: "machines/{alloc}/?op=set_workload_annotations", params: []string{"team", "storage"}, status: 200,
			values: map[string]string{"owner_data.team": "storage", "workload_annotations.team": "storage"}},
		{sec: "§3", name: "set_storage_layout on a Deployed machine is 409", method: "POST",
			path: "machines/{deployed}/?op=set_storage_layout", params: []string{"storage_layout", "flat"}, status: 409,
			body: "=Cannot change the storage layout on a machine that is not Ready."},
		{sec: "§5.1", name: "set_storage_layout lvm puts / in vgroot-lvroot", method: "POST",
			path:   "machines/{ready}/?op=set_storage_layout",
			params: []string{"storage_layout", "lvm", "root_device", "{ready_sdb}", "lv_size", "20G"}, status: 200,
			check: func(t *testing.T, f *fixture, r resp) {
				vgs := must(t, f.c.get("nodes/"+f.ids["ready"]+"/volume-groups/", nil), 200).list(t)
				if name, _ := dig(vgs, "[0].name"); name != "vgroot" {
					t.Fatalf("volume groups %v", vgs)
				}
				lv, _ := dig(vgs, "[0].logical_volumes.[0]")
				if lvm := lv.(map[string]any); lvm["name"] != "vgroot-lvroot" || lvm["size"] != float64(20<<30) ||
					lvm["type"] != "virtual" {
					t.Errorf("logical volume %v", lvm)
				}
				ms, _ := f.srv.Snapshot(f.ids["ready"])
				if ms.BootDisk != "sda" || ms.StorageLayout != "lvm" || len(ms.VolumeGroups) != 1 ||
					len(ms.VolumeGroups[0].Devices) != 1 || ms.VolumeGroups[0].Devices[0] != "sdb-part1" {
					t.Errorf("boot disk %s layout %s volume groups %+v", ms.BootDisk, ms.StorageLayout, ms.VolumeGroups)
				}
			}},
		{sec: "§5.1", name: "set_storage_layout with an unknown root_device", method: "POST",
			path: "machines/{ready}/?op=set_storage_layout", params: []string{"storage_layout", "flat", "root_device", "999"},
			status: 400, ctype: "json", fields: map[string]string{"root_device": "array"}},
		{sec: "§4.3", name: "restore_networking_configuration refused when Deployed", method: "POST",
			path: "machines/{deployed}/?op=restore_networking_configuration", status: 409},
		{sec: "§4.3", name: "restore_networking_configuration removes bonds", method: "POST",
			path: "machines/{ready}/?op=restore_networking_configuration", status: 200,
			pre: func(t *testing.T, f *fixture) {
				must(t, f.c.post("nodes/"+f.ids["ready"]+"/interfaces/?op=create_bond",
					vals("name", "bond0", "parents", f.ids["ready_eth0"], "parents", f.ids["ready_eth1"])), 200)
			},
			check: func(t *testing.T, f *fixture, r resp) {
				ifs := must(t, f.c.get("nodes/"+f.ids["ready"]+"/interfaces/", nil), 200).list(t)
				if len(ifs) != 2 {
					t.Errorf("%d interfaces after restore", len(ifs))
				}
			}},
		{sec: "§5.1", name: "DELETE a machine, then it is gone", method: "DELETE", path: "machines/{new}/", status: 204,
			check: func(t *testing.T, f *fixture, r resp) {
				must(t, f.c.get("machines/"+f.ids["new"]+"/", nil), 404)
			}},
	}
}
