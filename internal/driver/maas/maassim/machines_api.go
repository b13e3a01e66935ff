package maassim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// machine resolves machines/{sid}/ (machines only), settling its due transitions.
func (c *req) machine() (*machine, *apiError) {
	m := c.s.st.bySID[c.seg[1]]
	if m == nil || m.nodeType != nodeMachine {
		return nil, notFound("Machine")
	}
	c.fx = append(c.fx, c.s.st.settle(m)...)
	return m, nil
}

// anyNode resolves machines/, nodes/ and rackcontrollers/ {sid} paths.
func (c *req) anyNode() (*machine, *apiError) {
	switch c.seg[0] {
	case "machines":
		return c.machine()
	case "rackcontrollers":
		return c.rack()
	}
	return c.node()
}

// filterNodes applies the node filters of a listing (maas_api.md §5.1).
func (c *req) filterNodes(nodes []*machine) ([]*machine, *apiError) {
	var macs []string
	for _, v := range c.list("mac_address") {
		mac, ok := validMAC(v)
		if !ok {
			return nil, fieldError("mac_address", "'%s' is not a valid MAC address.", v)
		}
		macs = append(macs, mac)
	}
	var statuses []int
	for _, v := range c.list("status") {
		s, ok := statusByName(v)
		if !ok {
			return nil, fieldError("status", "Select a valid choice. %s is not one of the available choices.", v)
		}
		statuses = append(statuses, s)
	}
	tags := c.listComma("tags")
	hosts := c.list("hostname")
	ids := append(append([]string{}, c.list("id")...), c.list("system_id")...)
	type filter struct {
		key  string
		vals []string
	}
	var attrs []filter
	for _, k := range []string{"domain", "zone", "pool", "owner", "arch", "power_state", "simple_status"} {
		if vs := c.list(k); len(vs) > 0 {
			attrs = append(attrs, filter{k, vs})
		}
	}
	var out []*machine
next:
	for _, m := range nodes {
		if len(hosts) > 0 && !matchHost(hosts, m) {
			continue
		}
		if len(ids) > 0 && !containsFold(ids, m.systemID) {
			continue
		}
		if len(macs) > 0 {
			found := false
			for _, ifc := range m.interfaces {
				found = found || containsFold(macs, ifc.mac)
			}
			if !found {
				continue
			}
		}
		if len(statuses) > 0 && !slices.Contains(statuses, m.status) {
			continue
		}
		if len(tags) > 0 {
			names := c.s.st.machineTags(m)
			for _, t := range tags {
				if !containsFold(names, t) {
					continue next
				}
			}
		}
		for _, f := range attrs {
			var v string
			switch f.key {
			case "domain":
				v = m.domain.name
			case "zone":
				v = m.zone
			case "pool":
				v = m.pool
			case "owner":
				v = m.owner
			case "arch":
				v = m.arch
				if containsFold(f.vals, strings.Split(v, "/")[0]) {
					continue
				}
			case "power_state":
				v = m.powerState()
			case "simple_status":
				v = statuses2simple(m.status)
			}
			if !containsFold(f.vals, v) {
				continue next
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// matchHost reports whether one of the names is the node's hostname or FQDN.
func matchHost(names []string, m *machine) bool {
	h, d := m.hostname, m.domain.name
	for _, n := range names {
		if strings.EqualFold(n, h) ||
			len(n) == len(h)+1+len(d) && strings.EqualFold(n[:len(h)], h) && n[len(h)] == '.' && strings.EqualFold(n[len(h)+1:], d) {
			return true
		}
	}
	return false
}

func statuses2simple(s int) string { return statuses[s].simple }

func (c *req) listNodesOf(types ...int) (any, *apiError) {
	st := c.s.st
	nodes, e := c.filterNodes(st.nodesOfType(types...))
	if e != nil {
		return nil, e
	}
	out := []*machineJSON{}
	for _, m := range nodes {
		c.fx = append(c.fx, st.settle(m)...)
		out = append(out, renderMachine(st, m))
	}
	return out, nil
}

func listMachines(c *req) (any, *apiError) { return c.listNodesOf(nodeMachine) }

func listNodes(c *req) (any, *apiError) {
	return c.listNodesOf(nodeMachine, nodeDevice, nodeRack, nodeRegion, nodeRegionRack)
}

func listAllocated(c *req) (any, *apiError) {
	out := []*machineJSON{}
	for _, m := range c.s.st.nodesOfType(nodeMachine) {
		c.fx = append(c.fx, c.s.st.settle(m)...)
		if m.owner != "" {
			out = append(out, c.renderMachine(m))
		}
	}
	return out, nil
}

func getMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func getNode(c *req) (any, *apiError) {
	m, e := c.node()
	if e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func isRegistered(c *req) (any, *apiError) {
	mac, ok := validMAC(c.get("mac_address"))
	if c.get("mac_address") == "" {
		return nil, missingParam("mac_address")
	}
	if !ok {
		return nil, badRequest("Invalid MAC address: %s", c.get("mac_address"))
	}
	for _, m := range c.s.st.nodes {
		for _, ifc := range m.interfaces {
			if ifc.mac == mac {
				return true, nil
			}
		}
	}
	return false, nil
}

// Power parameters (maas_api.md §6.5).

type powerSchema struct {
	required []string
	optional []string
	defaults map[string]string
	choices  map[string][]string
}

var powerSchemas = map[string]powerSchema{
	"ipmi": {required: []string{"power_address"},
		optional: []string{"power_driver", "power_boot_type", "power_user", "power_pass", "k_g", "cipher_suite_id",
			"privilege_level", "workaround_flags", "mac_address", "power_off_mode"},
		defaults: map[string]string{"power_driver": "LAN_2_0", "power_boot_type": "auto", "cipher_suite_id": "3",
			"privilege_level": "OPERATOR", "workaround_flags": "opensesspriv", "power_off_mode": "hard"},
		choices: map[string][]string{"power_driver": {"LAN", "LAN_2_0"}, "power_boot_type": {"auto", "legacy", "efi"},
			"privilege_level": {"USER", "OPERATOR", "ADMIN"}, "power_off_mode": {"hard", "soft"}}},
	"redfish": {required: []string{"power_address", "power_user", "power_pass"}, optional: []string{"node_id"}},
	"virsh":   {required: []string{"power_address", "power_id"}, optional: []string{"power_pass"}},
	"lxd": {required: []string{"power_address", "instance_name"},
		optional: []string{"project", "password", "certificate", "key"}, defaults: map[string]string{"project": "default"}},
	"manual": {},
}

var otherPowerTypes = []string{"amt", "apc", "dli", "eaton", "hmc", "hmcz", "mscm", "msftocs", "moonshot", "nova",
	"openbmc", "proxmox", "recs_box", "sm15k", "ucsm", "vmware", "webhook", "wedge"}

// applyPower validates power_type and power_parameters_<name> and applies them: a new power
// type replaces the parameters, the same one merges them; defaults are filled in.
func (c *req) applyPower(m *machine) *apiError {
	ptype := m.powerType
	if c.has("power_type") {
		ptype = c.get("power_type")
		if _, ok := powerSchemas[ptype]; !ok && ptype != "" && !containsFold(otherPowerTypes, ptype) {
			return fieldError("power_type", "Select a valid choice. %s is not one of the available choices.", ptype)
		}
	}
	given := map[string]string{}
	for k := range c.form {
		if name, ok := strings.CutPrefix(k, "power_parameters_"); ok && name != "skip_check" {
			given[name] = c.get(k)
		}
	}
	if !c.has("power_type") && len(given) == 0 {
		return nil
	}
	params := map[string]string{}
	if ptype == m.powerType {
		for k, v := range m.powerParams {
			params[k] = v
		}
	}
	for k, v := range given {
		params[k] = v
	}
	skip := c.formBool("power_parameters_skip_check", false)
	if schema, ok := powerSchemas[ptype]; ok && !skip {
		var msgs []string
		for _, k := range sortedKeys(given) {
			if !containsFold(schema.required, k) && !containsFold(schema.optional, k) {
				msgs = append(msgs, fmt.Sprintf("Unknown parameter: %s.", k))
			} else if ch := schema.choices[k]; ch != nil && !containsFold(ch, given[k]) {
				msgs = append(msgs, fmt.Sprintf("%s: Select a valid choice. %s is not one of the available choices.", k, given[k]))
			}
		}
		for _, k := range schema.required {
			if params[k] == "" {
				msgs = append(msgs, fmt.Sprintf("%s: This field is required.", k))
			}
		}
		if len(msgs) > 0 {
			return fieldErrors{"power_parameters": msgs}.err()
		}
		for k, v := range schema.defaults {
			if params[k] == "" {
				params[k] = v
			}
		}
	}
	m.powerType, m.powerParams = ptype, params
	return nil
}

var hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

var architectures = []string{"amd64/generic", "amd64/hwe-22.04", "amd64/ga-22.04", "arm64/generic", "i386/generic",
	"ppc64el/generic", "s390x/generic", "armhf/generic"}

func validArch(a string) (string, bool) {
	if !strings.Contains(a, "/") {
		a += "/generic"
	}
	arch, _, _ := strings.Cut(a, "/")
	for _, x := range architectures {
		if strings.HasPrefix(x, arch+"/") {
			return a, true
		}
	}
	return a, false
}

func (c *req) applyMachineForm(m *machine) *apiError {
	st := c.s.st
	fe := fieldErrors{}
	n := *m
	if c.has("hostname") && c.get("hostname") != "" {
		h := c.get("hostname")
		if !hostnameRE.MatchString(h) {
			fe.add("hostname", "Invalid hostname: Label cannot start or end with hyphen and must be at most 63 characters.")
		} else if st.hostnameTaken(h, m) {
			fe.add("hostname", "Node with this Hostname already exists.")
		}
		n.hostname = h
	}
	if c.has("description") {
		n.description = c.get("description")
	}
	if c.has("domain") && c.get("domain") != "" {
		if d := st.domainByName(c.get("domain")); d == nil {
			fe.add("domain", "Select a valid choice. That choice is not one of the available choices.")
		} else {
			n.domain = d
		}
	}
	if c.has("architecture") && c.get("architecture") != "" {
		a, ok := validArch(c.get("architecture"))
		if !ok {
			fe.add("architecture", "'%s' is not a valid architecture.  It should be one of: %s.", c.get("architecture"),
				"'"+strings.Join(architectures, "', '")+"'")
		}
		n.arch = a
	}
	if c.has("min_hwe_kernel") {
		n.minHWE = c.get("min_hwe_kernel")
	}
	for _, f := range []struct{ k, v string }{{"zone", "default"}, {"pool", "default"}} {
		if c.has(f.k) && c.get(f.k) != "" && c.get(f.k) != f.v {
			fe.add(f.k, "Select a valid choice. That choice is not one of the available choices.")
		}
	}
	if c.has("cpu_count") {
		v, e := c.formInt("cpu_count", n.cpuCount)
		if e != nil {
			return e
		}
		n.cpuCount = v
	}
	if c.has("memory") {
		v, ok := parseSize(c.get("memory"))
		if !ok {
			fe.add("memory", "Enter a whole number.")
		} else {
			if v > 1<<20 { // a size with a suffix is in bytes; a plain number in MiB
				v /= 1 << 20
			}
			n.memory = v
		}
	}
	if c.has("swap_size") {
		if c.get("swap_size") == "" {
			n.swapSize = nil
		} else if v, ok := parseSize(c.get("swap_size")); ok {
			n.swapSize = &v
		} else {
			fe.add("swap_size", "Invalid size for swap: %s", c.get("swap_size"))
		}
	}
	if c.formBool("disable_ipv4", false) {
		fe.add("disable_ipv4", "Cannot be True.")
	}
	if e := fe.err(); e != nil {
		return e
	}
	if e := c.applyPower(&n); e != nil {
		return e
	}
	*m = n
	return nil
}

func updateMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if e := c.applyMachineForm(m); e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func deleteMachine(c *req) (any, *apiError) {
	m, e := c.anyNode()
	if e != nil {
		return nil, e
	}
	if m.nodeType != nodeMachine && c.seg[0] != "rackcontrollers" {
		if force, e := c.stringBool("force", false); e != nil {
			return nil, e
		} else if !force {
			return nil, badRequest("You cannot delete a controller through this endpoint.")
		}
	}
	c.s.st.removeNode(m)
	return noContent{}, nil
}

func (st *state) removeNode(m *machine) {
	delete(st.bySID, m.systemID)
	for i, x := range st.nodes {
		if x == m {
			st.nodes = append(st.nodes[:i], st.nodes[i+1:]...)
			break
		}
	}
	for _, t := range st.tags {
		delete(t.nodes, m.systemID)
	}
	var rs []*scriptResult
	for _, r := range st.results {
		if r.systemID != m.systemID {
			rs = append(rs, r)
		}
	}
	st.results = rs
	k := strings.ToLower(m.systemID)
	var rest []*scriptResult
	for _, r := range st.resultsBySID[k] {
		if r.systemID != m.systemID {
			rest = append(rest, r)
		}
	}
	if len(rest) > 0 {
		st.resultsBySID[k] = rest
	} else {
		delete(st.resultsBySID, k)
	}
	m.interfaces = nil
}

func (c *req) powerParamsOf(nodes []*machine) map[string]map[string]string {
	out := map[string]map[string]string{}
	ids := c.list("id")
	for _, m := range nodes {
		if len(ids) == 0 || containsFold(ids, m.systemID) {
			out[m.systemID] = copyMap(m.powerParams)
		}
	}
	return out
}

func collectionPowerParameters(c *req) (any, *apiError) {
	return c.powerParamsOf(c.s.st.nodesOfType(nodeMachine)), nil
}

func machinePowerParameters(c *req) (any, *apiError) {
	m, e := c.anyNode()
	if e != nil {
		return nil, e
	}
	return copyMap(m.powerParams), nil
}

func queryPowerState(c *req) (any, *apiError) {
	m, e := c.anyNode()
	if e != nil {
		return nil, e
	}
	if m.powerType == "" {
		return nil, textError(http.StatusServiceUnavailable, "Unconfigured power type. Please configure the power type and try again.")
	}
	return map[string]string{"state": m.powerState()}, nil
}

// createMachine is POST machines/: an admin creates a machine (commissioned unless
// commission=false or deployed=true); anonymously it is an enlistment (New).
func createMachine(c *req) (any, *apiError) {
	st := c.s.st
	fe := fieldErrors{}
	if c.get("architecture") == "" {
		fe.add("architecture", "This field is required.")
	}
	macs := c.listComma("mac_addresses")
	if len(macs) == 0 {
		fe.add("mac_addresses", "This field is required.")
	}
	var nics []NICSpec
	for i, v := range macs {
		mac, ok := validMAC(v)
		if !ok {
			fe.add("mac_addresses", "One or more MAC addresses is invalid. ('%s' is not a valid MAC address.)", v)
			break
		}
		for _, o := range st.nodes {
			for _, ifc := range o.interfaces {
				if ifc.mac == mac {
					fe.add("mac_addresses", "MAC address %s already in use on %s.", mac, o.hostname)
				}
			}
		}
		nics = append(nics, NICSpec{Name: fmt.Sprintf("eth%d", i), MAC: mac})
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	deployed, e := c.stringBool("deployed", false)
	if e != nil {
		return nil, e
	}
	commission, e := c.stringBool("commission", true)
	if e != nil {
		return nil, e
	}
	m := st.enlist(MachineSpec{Hostname: "", Architecture: c.get("architecture"), Interfaces: nics,
		Disks: []DiskSpec{{Name: "sda"}}})
	m.hostname = "node-" + m.systemID
	if e := c.applyMachineForm(m); e != nil {
		st.removeNode(m)
		return nil, e
	}
	switch {
	case c.anon:
	case deployed:
		m.status = statusDeployed
		m.owner = "admin"
		m.netboot = false
	case commission:
		if m.powerType != "" {
			tests := !strings.EqualFold(c.get("testing_scripts"), "none")
			op := &operation{tests: tests, skipNetworking: c.formBool("skip_networking", false),
				skipStorage: c.formBool("skip_storage", false)}
			if e := st.startCommissioning(m, op, &c.fx); e != nil {
				return nil, e
			}
		}
	}
	return c.renderMachine(m), nil
}

// allocateMachine is POST machines/?op=allocate: the first Ready machine matching the
// constraints becomes Allocated to the caller.
func allocateMachine(c *req) (any, *apiError) {
	st := c.s.st
	cpu, e := c.formInt("cpu_count", 0)
	if e != nil {
		return nil, e
	}
	mem, e := c.formInt("mem", 0)
	if e != nil {
		return nil, e
	}
	dry, e := c.stringBool("dry_run", false)
	if e != nil {
		return nil, e
	}
	tags, notTags := c.listComma("tags"), c.listComma("not_tags")
	for _, t := range append(append([]string{}, tags...), notTags...) {
		if st.tag(t) == nil {
			return nil, fieldError("tags", "No such tag(s): '%s'.", t)
		}
	}
	var found *machine
	for _, m := range st.nodesOfType(nodeMachine) {
		c.fx = append(c.fx, st.settle(m)...)
		if m.status != statusReady || m.owner != "" {
			continue
		}
		if sid := c.get("system_id"); sid != "" && sid != m.systemID {
			continue
		}
		if name := c.get("name"); name != "" && name != m.hostname && name != m.fqdn() {
			continue
		}
		if a := c.get("arch"); a != "" && !strings.HasPrefix(m.arch, strings.Split(a, "/")[0]+"/") {
			continue
		}
		if m.cpuCount < cpu || m.memory < int64(mem) {
			continue
		}
		names := st.machineTags(m)
		ok := true
		for _, t := range tags {
			ok = ok && containsFold(names, t)
		}
		for _, t := range notTags {
			ok = ok && !containsFold(names, t)
		}
		if z := c.get("zone"); z != "" && z != m.zone {
			ok = false
		}
		if p := c.get("pool"); p != "" && p != m.pool {
			ok = false
		}
		if ok {
			found = m
			break
		}
	}
	if found == nil {
		if sid := c.get("system_id"); sid != "" {
			return nil, conflict("No machine with system ID %s available.", sid)
		}
		return nil, conflict("No machine available.")
	}
	if !dry {
		if e := st.setStatus(found, statusAllocated); e != nil {
			return nil, e
		}
		found.owner = "admin"
	}
	return allocatedJSON{machineJSON: c.renderMachine(found), ConstraintsByType: map[string]any{}}, nil
}

func releaseMachines(c *req) (any, *apiError) {
	st := c.s.st
	ids := c.list("machines")
	if len(ids) == 0 {
		return nil, fieldError("machines", "This field is required.")
	}
	var ms []*machine
	var unknown, refused []string
	for _, id := range ids {
		m := st.bySID[id]
		if m == nil || m.nodeType != nodeMachine {
			unknown = append(unknown, id)
			continue
		}
		c.fx = append(c.fx, st.settle(m)...)
		switch m.status {
		case statusReady, statusReleasing, statusAllocated, statusReserved, statusBroken, statusDeploying, statusDeployed,
			statusFailedDeployment, statusFailedDiskErasing, statusFailedReleasing:
			ms = append(ms, m)
		default:
			refused = append(refused, fmt.Sprintf("%s ('%s')", id, statusLabel(m.status)))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, badRequest("Unknown machine(s): %s.", strings.Join(unknown, ", "))
	}
	if len(refused) > 0 {
		return nil, conflict("Machine(s) cannot be released in their current state: %s.", strings.Join(refused, ", "))
	}
	out := []string{}
	for _, m := range ms {
		if e := st.release(m, c.formBool("erase", st.configBool("enable_disk_erasing_on_release")), "", &c.fx); e != nil {
			return nil, e
		}
		out = append(out, m.systemID)
	}
	return out, nil
}

func curtinConfig(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	switch m.status {
	case statusAllocated, statusDeploying, statusDeployed:
	default:
		return nil, badRequest("Cannot get the curtin configuration of a machine that is not allocated.")
	}
	return plainText{fmt.Sprintf("install:\n  log_file: /tmp/install.log\nkernel:\n  package: linux-generic\n"+
		"power_state:\n  mode: reboot\nverbosity: 3\n# system_id: %s\n", m.systemID)}, nil
}

func machineToken(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if m.owner == "" {
		return nil, nil
	}
	return map[string]string{"token_key": "nt" + m.systemID, "token_secret": uuidFrom("token", m.systemID),
		"consumer_key": "nc" + m.systemID}, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
