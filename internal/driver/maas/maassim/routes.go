package maassim

import "strings"

type handler func(c *req) (any, *apiError)

// route is one URL pattern: its exported (method, op) signatures and which of them may be
// called anonymously.
type route struct {
	public  bool // credentials are not looked at (version/, describe/)
	anon    map[string]bool
	methods map[string]handler
}

type routeEntry struct {
	pattern []string
	rt      *route
}

var routeTable []routeEntry

func addRoute(pattern string, rt *route) {
	routeTable = append(routeTable, routeEntry{strings.Split(pattern, "/"), rt})
}

// findRoute finds the route of a path's segments ("*" matches one segment).
func findRoute(seg []string) *route {
next:
	for _, e := range routeTable {
		if len(e.pattern) != len(seg) {
			continue
		}
		for i, p := range e.pattern {
			if p != "*" && p != seg[i] {
				continue next
			}
		}
		return e.rt
	}
	return nil
}

func m(pairs ...any) map[string]handler {
	out := map[string]handler{}
	for i := 0; i < len(pairs); i += 2 {
		out[pairs[i].(string)] = pairs[i+1].(func(*req) (any, *apiError))
	}
	return out
}

func init() {
	addRoute("version", &route{public: true, methods: m("GET ", getVersion)})
	addRoute("describe", &route{public: true, methods: m("GET ", getDescribe)})

	addRoute("account", &route{methods: m(
		"GET list_authorisation_tokens", listTokens,
		"POST create_authorisation_token", createToken,
		"POST delete_authorisation_token", deleteToken,
		"POST update_token_name", updateTokenName)})
	addRoute("account/prefs/sshkeys", &route{methods: m("GET ", listSSHKeys, "POST ", createSSHKey,
		"POST import", importSSHKeys)})
	addRoute("account/prefs/sshkeys/*", &route{methods: m("GET ", getSSHKey, "DELETE ", deleteSSHKey)})
	addRoute("users", &route{methods: m("GET ", listUsers, "GET whoami", whoami, "POST ", createUser)})
	addRoute("users/*", &route{methods: m("GET ", getUser, "DELETE ", deleteUser)})
	addRoute("maas", &route{methods: m("GET get_config", getConfig, "POST set_config", setConfig)})

	machines := &route{anon: map[string]bool{"POST ": true}, methods: m(
		"GET ", listMachines,
		"GET power_parameters", collectionPowerParameters,
		"GET list_allocated", listAllocated,
		"POST ", createMachine,
		"POST allocate", allocateMachine,
		"POST release", releaseMachines)}
	addRoute("machines", machines)
	machine := &route{methods: m(
		"GET ", getMachine,
		"PUT ", updateMachine,
		"DELETE ", deleteMachine,
		"GET query_power_state", queryPowerState,
		"GET power_parameters", machinePowerParameters,
		"GET details", machineDetails,
		"GET get_curtin_config", curtinConfig,
		"GET get_token", machineToken,
		"POST commission", commissionMachine,
		"POST deploy", deployMachine,
		"POST release", releaseMachine,
		"POST abort", abortMachine,
		"POST mark_broken", markBroken,
		"POST mark_fixed", markFixed,
		"POST power_on", powerOn,
		"POST power_off", powerOff,
		"POST test", testMachine,
		"POST override_failed_testing", overrideFailedTesting,
		"POST lock", lockMachine,
		"POST unlock", unlockMachine,
		"POST set_storage_layout", setStorageLayout,
		"POST restore_networking_configuration", restoreNetworking,
		"POST restore_storage_configuration", restoreStorage,
		"POST restore_default_configuration", restoreDefault,
		"POST clear_default_gateways", clearDefaultGateways,
		"POST set_workload_annotations", setWorkloadAnnotations,
		"POST set_owner_data", setWorkloadAnnotations,
		"POST mount_special", mountSpecial,
		"POST unmount_special", unmountSpecial)}
	addRoute("machines/*", machine)
	addRoute("nodes", &route{anon: map[string]bool{"GET is_registered": true}, methods: m(
		"GET ", listNodes, "GET is_registered", isRegistered)})
	addRoute("nodes/*", &route{methods: m(
		"GET ", getNode, "DELETE ", deleteMachine,
		"GET details", machineDetails, "GET query_power_state", queryPowerState,
		"GET power_parameters", machinePowerParameters)})
	addRoute("nodes/*/results", &route{methods: m("GET ", listScriptSets)})
	addRoute("nodes/*/results/*", &route{methods: m("GET ", getScriptSet)})
	addRoute("commissioning-results", &route{methods: m("GET ", listResults)})
	addRoute("installation-results", &route{methods: m("GET ", listResults)})

	addRoute("nodes/*/interfaces", &route{methods: m(
		"GET ", listInterfaces,
		"POST create_physical", createPhysical,
		"POST create_bond", createBond,
		"POST create_vlan", createVLANInterface,
		"POST create_bridge", createBridge)})
	addRoute("nodes/*/interfaces/*", &route{methods: m(
		"GET ", getInterface,
		"PUT ", updateInterface,
		"DELETE ", deleteInterface,
		"POST link_subnet", linkSubnet,
		"POST unlink_subnet", unlinkSubnet,
		"POST disconnect", disconnectInterface,
		"POST set_default_gateway", setDefaultGateway,
		"POST add_tag", interfaceAddTag,
		"POST remove_tag", interfaceRemoveTag)})

	addRoute("nodes/*/blockdevices", &route{methods: m("GET ", listBlockDevices, "POST ", createBlockDevice)})
	addRoute("nodes/*/blockdevices/*", &route{methods: m(
		"GET ", getBlockDevice,
		"PUT ", updateBlockDevice,
		"DELETE ", deleteBlockDevice,
		"POST format", formatBlockDevice,
		"POST unformat", unformatBlockDevice,
		"POST mount", mountBlockDevice,
		"POST unmount", unmountBlockDevice,
		"POST set_boot_disk", setBootDisk,
		"POST add_tag", blockDeviceAddTag,
		"POST remove_tag", blockDeviceRemoveTag)})
	addRoute("nodes/*/blockdevices/*/partitions", &route{methods: m("GET ", listPartitions, "POST ", createPartition)})
	partition := &route{methods: m(
		"GET ", getPartition,
		"DELETE ", deletePartition,
		"POST format", formatPartition,
		"POST unformat", unformatPartition,
		"POST mount", mountPartition,
		"POST unmount", unmountPartition,
		"POST add_tag", partitionAddTag,
		"POST remove_tag", partitionRemoveTag)}
	addRoute("nodes/*/blockdevices/*/partition/*", partition)
	addRoute("nodes/*/blockdevices/*/partitions/*", partition)
	addRoute("nodes/*/volume-groups", &route{methods: m("GET ", listVolumeGroups, "POST ", createVolumeGroup)})
	vg := &route{methods: m(
		"GET ", getVolumeGroup,
		"PUT ", updateVolumeGroup,
		"DELETE ", deleteVolumeGroup,
		"POST create_logical_volume", createLogicalVolume,
		"POST delete_logical_volume", deleteLogicalVolume)}
	addRoute("nodes/*/volume-group/*", vg)
	addRoute("nodes/*/volume-groups/*", vg)

	addRoute("rackcontrollers", &route{methods: m(
		"GET ", listRacks,
		"GET power_parameters", rackPowerParameters,
		"GET describe_power_types", describePowerTypes,
		"POST import_boot_images", importBootImages)})
	addRoute("rackcontrollers/*", &route{methods: m(
		"GET ", getRack,
		"PUT ", updateRack,
		"DELETE ", deleteRack,
		"GET list_boot_images", listBootImages,
		"GET query_power_state", queryPowerState,
		"GET power_parameters", machinePowerParameters)})

	addRoute("fabrics", &route{methods: m("GET ", listFabrics, "POST ", createFabric)})
	addRoute("fabrics/*", &route{methods: m("GET ", getFabric, "PUT ", updateFabric, "DELETE ", deleteFabric)})
	addRoute("fabrics/*/vlans", &route{methods: m("GET ", listVLANs, "POST ", createVLAN)})
	addRoute("fabrics/*/vlans/*", &route{methods: m("GET ", getVLAN, "PUT ", updateVLAN, "DELETE ", deleteVLAN)})
	addRoute("vlans/*", &route{methods: m("GET ", getVLAN, "PUT ", updateVLAN, "DELETE ", deleteVLAN)})
	addRoute("subnets", &route{methods: m("GET ", listSubnets, "POST ", createSubnet)})
	addRoute("subnets/*", &route{methods: m(
		"GET ", getSubnet, "PUT ", updateSubnet, "DELETE ", deleteSubnet,
		"GET reserved_ip_ranges", reservedRanges,
		"GET unreserved_ip_ranges", unreservedRanges,
		"GET statistics", subnetStatistics,
		"GET ip_addresses", subnetIPAddresses)})
	addRoute("ipranges", &route{methods: m("GET ", listRanges, "POST ", createRange)})
	addRoute("ipranges/*", &route{methods: m("GET ", getRange, "PUT ", updateRange, "DELETE ", deleteRange)})
	addRoute("static-routes", &route{methods: m("GET ", listRoutes, "POST ", createRoute)})
	addRoute("static-routes/*", &route{methods: m("GET ", getRoute, "PUT ", updateRoute, "DELETE ", deleteRoute)})
	addRoute("domains", &route{methods: m("GET ", listDomains, "POST ", createDomain)})
	addRoute("domains/*", &route{methods: m("GET ", getDomain, "PUT ", updateDomain, "DELETE ", deleteDomain)})
	addRoute("zones", &route{methods: m("GET ", listZones)})
	addRoute("zones/*", &route{methods: m("GET ", getZone)})
	addRoute("resourcepools", &route{methods: m("GET ", listPools)})
	addRoute("resourcepools/*", &route{methods: m("GET ", getPool)})
	addRoute("spaces", &route{methods: m("GET ", listSpaces)})

	addRoute("tags", &route{methods: m("GET ", listTags, "POST ", createTag)})
	addRoute("tags/*", &route{methods: m(
		"GET ", getTag, "PUT ", updateTag, "DELETE ", deleteTag,
		"GET nodes", tagNodes, "GET machines", tagMachines, "GET devices", tagNone,
		"GET rack_controllers", tagRacks, "GET region_controllers", tagNone,
		"POST update_nodes", tagUpdateNodes, "POST rebuild", tagRebuild)})

	addRoute("boot-resources", &route{methods: m(
		"GET ", listBootResources, "POST ", createBootResource,
		"GET is_importing", isImporting, "POST import", importBootResources, "POST stop_import", stopImport)})
	addRoute("boot-resources/*", &route{methods: m("GET ", getBootResource, "DELETE ", deleteBootResource)})
	addRoute("boot-sources", &route{methods: m("GET ", listBootSources, "POST ", createBootSource)})
	addRoute("boot-sources/*", &route{methods: m("GET ", getBootSource, "PUT ", updateBootSource,
		"DELETE ", deleteBootSource)})
	addRoute("boot-sources/*/selections", &route{methods: m("GET ", listSelections, "POST ", createSelection)})
	addRoute("boot-sources/*/selections/*", &route{methods: m("GET ", getSelection, "PUT ", updateSelection,
		"DELETE ", deleteSelection)})
	addRoute("package-repositories", &route{methods: m("GET ", listRepos, "POST ", createRepo)})
	addRoute("package-repositories/*", &route{methods: m("GET ", getRepo, "PUT ", updateRepo, "DELETE ", deleteRepo)})
}
