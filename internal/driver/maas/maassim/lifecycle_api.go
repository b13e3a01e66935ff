package maassim

import (
	"net/http"
	"strings"
)

// Machine operations (maas_api.md §4.3, §5.1).

// commissionMachine: New, Failed commissioning, Ready or Broken, with an interface (or ipmi
// power) and a power type.
func commissionMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	switch m.status {
	case statusNew, statusFailedCommissioning, statusReady, statusBroken:
	default:
		return nil, fieldError("__all__", "Commission is not available because of the current state of the node.")
	}
	if m.locked || len(m.interfaces) == 0 && m.powerType != "ipmi" {
		return nil, fieldError("__all__", "Commission is not available because of the current state of the node.")
	}
	if m.powerType == "" {
		return nil, textError(http.StatusInternalServerError, "Unconfigured power type. Please configure the power type and try again.")
	}
	op := &operation{
		tests:          !strings.EqualFold(strings.TrimSpace(c.get("testing_scripts")), "none"),
		skipNetworking: c.formBool("skip_networking", false),
		skipStorage:    c.formBool("skip_storage", false),
	}
	if e := c.s.st.startCommissioning(m, op, &c.fx); e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

// releaseVersion maps an Ubuntu series to its version (for the default GA kernel).
var releaseVersion = map[string]string{"xenial": "16.04", "bionic": "18.04", "focal": "20.04", "jammy": "22.04",
	"noble": "24.04"}

// deployForm validates distro_series and hwe_kernel against the boot resources and
// user_data as base64; it applies them to the machine.
func (c *req) deployForm(m *machine) *apiError {
	st := c.s.st
	for _, k := range []string{"install_kvm", "install_rackd", "register_vmhost"} {
		if c.formBool(k, false) {
			return badRequest("The %s option has been removed.", k)
		}
	}
	osys := c.get("osystem")
	series := c.get("distro_series")
	if series == "" {
		series, _ = st.config["default_distro_series"].(string)
	}
	if o, s, ok := strings.Cut(series, "/"); ok {
		osys, series = o, s
	}
	if osys == "" {
		osys, _ = st.config["default_osystem"].(string)
	}
	for rel, ver := range releaseVersion {
		if series == ver {
			series = rel
		}
	}
	arch, _, _ := strings.Cut(m.arch, "/")
	var names []string
	known := false
	var kernels []string
	for _, r := range st.boot {
		if !containsFold(names, r.Name) {
			names = append(names, r.Name)
		}
		if r.Name == osys+"/"+series {
			known = true
			a, sub, _ := strings.Cut(r.Architecture, "/")
			if a == arch {
				kernels = append(kernels, sub)
				kernels = append(kernels, strings.Split(r.Subarches, ",")...)
			}
		}
	}
	if !known {
		return fieldError("distro_series", "'%s' is not a valid distro_series.  It should be one of: '', '%s'.",
			c.get("distro_series"), strings.Join(names, "', '"))
	}
	kernel := c.get("hwe_kernel")
	if kernel != "" && !containsFold(kernels, kernel) {
		return fieldError("hwe_kernel", "%s is not available for %s/%s on %s.", kernel, osys, series, m.arch)
	}
	if kernel == "" {
		if containsFold(kernels, "ga-"+releaseVersion[series]) {
			kernel = "ga-" + releaseVersion[series]
		} else if len(kernels) > 0 {
			kernel = kernels[0]
		}
	}
	if c.has("user_data") {
		ud, e := decodeUserData(c.get("user_data"))
		if e != nil {
			return e
		}
		m.userData, m.hasUD = ud, true
	}
	m.osystem, m.distro, m.hweKernel = osys, series, kernel
	m.ephemeral = c.formBool("ephemeral_deploy", false)
	return nil
}

// deployMachine: Ready (allocated to the caller first) or Allocated → Deploying.
func deployMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	if m.status != statusReady && m.status != statusAllocated {
		return nil, conflict("Can't deploy a machine that is in the '%s' state", statusLabel(m.status))
	}
	saved := *m
	if e := c.deployForm(m); e != nil {
		*m = saved
		return nil, e
	}
	if m.status == statusReady {
		if e := st.setStatus(m, statusAllocated); e != nil {
			*m = saved
			return nil, e
		}
		m.owner = "admin"
	}
	if e := st.startDeployment(m, &c.fx); e != nil {
		*m = saved
		return nil, e
	}
	return c.renderMachine(m), nil
}

func releaseMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	if _, e := c.stringBool("force", false); e != nil {
		return nil, e
	}
	erase := c.formBool("erase", st.configBool("enable_disk_erasing_on_release"))
	mode := ""
	if erase {
		mode = "erase"
		switch {
		case c.formBool("secure_erase", st.configBool("disk_erase_with_secure_erase")):
			mode = "secure"
		case c.formBool("quick_erase", st.configBool("disk_erase_with_quick_erase")):
			mode = "quick"
		}
	}
	if e := st.release(m, erase, mode, &c.fx); e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func abortMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if e := c.s.st.abort(m, &c.fx); e != nil {
		return nil, e
	}
	return c.renderMachine(m), nil
}

func markBroken(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	from := m.status
	if !transitionAllowed(from, statusBroken) {
		return nil, errTransition(from, statusBroken)
	}
	switch from {
	case statusAllocated, statusDeploying, statusReserved:
		st.clearOwnership(m)
	}
	if m.op != nil {
		m.op = nil
	}
	m.prevStatus = from
	m.status = statusBroken
	m.errorDescription = c.get("comment")
	if m.errorDescription == "" {
		m.errorDescription = c.get("error_description")
	}
	return c.renderMachine(m), nil
}

func markFixed(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if m.status != statusBroken {
		return nil, conflict("Can't mark a non-broken node as 'Ready'.")
	}
	to := statusReady
	if m.prevStatus == statusDeployed {
		to = statusDeployed
	} else {
		m.osystem, m.distro = "", ""
		m.owner = ""
	}
	if e := c.s.st.setStatus(m, to); e != nil {
		return nil, e
	}
	m.errorDescription = ""
	return c.renderMachine(m), nil
}

// powerOn: the machine must be owned; an Allocated machine starts deploying.
func powerOn(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	if m.owner == "" {
		return nil, conflict("Can't start node: it hasn't been allocated.")
	}
	if c.has("user_data") {
		ud, e := decodeUserData(c.get("user_data"))
		if e != nil {
			return nil, e
		}
		m.userData, m.hasUD = ud, true
	}
	if m.status == statusAllocated {
		if m.distro == "" {
			saved := *m
			form := c.form
			c.form = cloneValues(form, "user_data")
			e := c.deployForm(m)
			c.form = form
			if e != nil {
				*m = saved
				return nil, e
			}
		}
		if e := st.startDeployment(m, &c.fx); e != nil {
			return nil, e
		}
		return c.renderMachine(m), nil
	}
	if !m.canPower() {
		return nil, textError(http.StatusServiceUnavailable, "Unconfigured power type. Please configure the power type and try again.")
	}
	st.setPower(m, true, false, &c.fx)
	return c.renderMachine(m), nil
}

// powerOff answers the machine, or null when no power action was sent (manual power).
func powerOff(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if !m.canPower() {
		return nil, nil
	}
	c.s.st.setPower(m, false, false, &c.fx)
	return c.renderMachine(m), nil
}

// testMachine runs the testing scripts; the machine returns to its status afterwards.
func testMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	st := c.s.st
	from := m.status
	switch from {
	case statusNew, statusReady, statusBroken, statusDeployed, statusAllocated, statusFailedTesting,
		statusFailedCommissioning, statusFailedDeployment, statusFailedReleasing, statusFailedDiskErasing:
	default:
		return nil, fieldError("__all__", "Test is not available because of the current state of the node.")
	}
	if m.powerType == "" {
		return nil, textError(http.StatusInternalServerError, "Unconfigured power type. Please configure the power type and try again.")
	}
	if e := st.setStatus(m, statusTesting); e != nil {
		return nil, e
	}
	if from == statusFailedTesting {
		from = statusReady
	}
	op := &operation{kind: "test", start: st.now(), dur: st.s.delays.Testing, outcome: "ok", from: from}
	if st.takeFault(m, TestingFails) != "" {
		op.outcome = "fail"
	}
	m.op = op
	m.testingStatus = scriptRunning
	if from != statusDeployed {
		st.setPower(m, true, true, &c.fx)
	}
	return c.renderMachine(m), nil
}

func overrideFailedTesting(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if m.status != statusFailedTesting {
		return nil, conflict("Unable to override failed testing: machine is not in a failed testing state.")
	}
	if e := c.s.st.setStatus(m, statusReady); e != nil {
		return nil, e
	}
	m.testingStatus = scriptPassed
	return c.renderMachine(m), nil
}

func lockMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if m.status != statusDeployed && m.status != statusDeploying {
		return nil, conflict("Can't lock, machine is not deployed.")
	}
	if m.locked {
		return nil, conflict("Machine is already locked.")
	}
	m.locked = true
	return c.renderMachine(m), nil
}

func unlockMachine(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if !m.locked {
		return nil, conflict("Machine is not locked.")
	}
	m.locked = false
	return c.renderMachine(m), nil
}

func clearDefaultGateways(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	m.gw4, m.gw6 = 0, 0
	return c.renderMachine(m), nil
}

// setWorkloadAnnotations sets key=value annotations (an empty value deletes the key); the
// machine must be owned.
func setWorkloadAnnotations(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if m.owner == "" {
		return nil, conflict("Cannot set workload annotation: it hasn't been acquired.")
	}
	for k := range c.form {
		if k == "op" {
			continue
		}
		if v := c.get(k); v == "" {
			delete(m.ownerData, k)
		} else {
			m.ownerData[k] = v
		}
	}
	return c.renderMachine(m), nil
}

func mountSpecial(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "mount special filesystem", true); e != nil {
		return nil, e
	}
	fstype, mp := c.get("fstype"), c.get("mount_point")
	fe := fieldErrors{}
	if fstype != "tmpfs" && fstype != "ramfs" {
		fe.add("fstype", "Select a valid choice. %s is not one of the available choices.", fstype)
	}
	if !strings.HasPrefix(mp, "/") {
		fe.add("mount_point", "This field is required.")
	}
	if e := fe.err(); e != nil {
		return nil, e
	}
	fs := c.s.st.newFS(fstype, "", mp, c.get("mount_option"))
	m.specialFS = append(m.specialFS, fs)
	return c.renderMachine(m), nil
}

func unmountSpecial(c *req) (any, *apiError) {
	m, e := c.machine()
	if e != nil {
		return nil, e
	}
	if e := storageGate(m, "unmount special filesystem", true); e != nil {
		return nil, e
	}
	mp := c.get("mount_point")
	for i, f := range m.specialFS {
		if f.mountPoint == mp {
			m.specialFS = append(m.specialFS[:i], m.specialFS[i+1:]...)
			return c.renderMachine(m), nil
		}
	}
	return nil, fieldError("mount_point", "No special filesystem is mounted at this path.")
}
