package maassim

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// machine is a node: a machine, or a rack controller (nodeType).
type machine struct {
	id          int
	systemID    string
	hostname    string
	nodeType    int
	domain      *domain
	description string
	arch        string
	cpuCount    int
	memory      int64
	spec        MachineSpec

	status     int
	prevStatus int // status before Broken, or before a standalone test
	owner      string
	ownerData  map[string]string
	osystem    string
	distro     string
	hweKernel  string
	minHWE     string
	userData   []byte
	hasUD      bool
	eraseMode  string // how the last release erased: "", "erase", "secure", "quick"

	powerType   string
	powerParams map[string]string
	power       string // the power state MAAS last set (what power_state shows while a BMC call is pending)
	bmc         BMC
	pending     int // BMC calls decided but not yet made
	bootMethod  string

	errorDescription string
	statusMessage    string
	locked           bool
	netboot          bool
	ephemeral        bool
	swapSize         *int64
	hardwareUUID     string
	zone, pool       string

	interfaces []*iface
	tags       map[*tag]bool  // tags applied (update_nodes); see state.machineTags
	bdevs      []*blockDevice // physical disks then logical volumes
	vgs        []*volumeGroup
	specialFS  []*filesystem
	bootDisk   *blockDevice
	gw4, gw6   int    // link ids of the default gateways (0: none)
	layout     string // last storage layout applied

	op                  *operation
	commissioned        bool
	lshw, lldp          []byte
	commissioningStatus int
	testingStatus       int
	installStatus       int
	curResults          map[int]int // result_type → id of the current script set

	services []service // rack controllers
	version  string

	created, updated time.Time
}

type service struct{ name, status, info string }

// operation is a timed transition in progress: it ends at start+dur with its outcome
// (decided when it starts), unless it hangs.
type operation struct {
	kind           string // "commission", "test", "deploy", "release", "erase"
	start          time.Time
	dur            time.Duration
	outcome        string // "ok", "fail", "hang"
	tests          bool   // commissioning is followed by testing
	testOutcome    string
	skipNetworking bool
	skipStorage    bool
	from           int // status before the operation
}

func (m *machine) fqdn() string { return m.hostname + "." + m.domain.name }

// setStatus changes the status, enforcing MAAS's transitions.
func (st *state) setStatus(m *machine, to int) *apiError {
	if !transitionAllowed(m.status, to) {
		return errTransition(m.status, to)
	}
	m.status = to
	m.updated = st.now()
	return nil
}

// canPower reports whether MAAS drives the machine's power (a power type it can use).
func (m *machine) canPower() bool { return m.powerType != "" && m.powerType != "manual" }

// powerState is power_state: on, off or unknown.
func (m *machine) powerState() string {
	if m.nodeType != nodeMachine {
		return "on"
	}
	if !m.canPower() {
		return "unknown"
	}
	if m.bmc != nil && m.pending == 0 {
		if m.bmc.PowerOn() {
			return "on"
		}
		return "off"
	}
	if m.power == "" {
		return "unknown"
	}
	return m.power
}

// setPower powers the machine on (with a one-time PXE boot when pxe) or off, through its BMC
// after the lock is released.
func (st *state) setPower(m *machine, on, pxe bool, fx *effects) {
	if !m.canPower() {
		return
	}
	if on {
		m.power = "on"
	} else {
		m.power = "off"
	}
	if m.bmc != nil {
		m.pending++
		do := powerEffect(m.bmc, on, pxe)
		fx.add(func() {
			do()
			st.s.mu.Lock()
			m.pending--
			st.s.mu.Unlock()
		})
	}
}

// newSystemID derives a MAAS-style system id (six lower-case alphanumerics) from a name,
// trying alternatives until one is free.
func (st *state) newSystemID(name string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for try := 0; ; try++ {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%d", name, try)
		v := h.Sum64()
		var b [6]byte
		for i := range b {
			b[i] = alphabet[v%uint64(len(alphabet))]
			v /= uint64(len(alphabet))
		}
		if id := string(b[:]); st.bySID[id] == nil {
			return id
		}
	}
}

// enlist creates a machine in status New from its hardware, as a PXE enlistment does.
func (st *state) enlist(spec MachineSpec) *machine {
	now := st.now()
	m := &machine{
		id:          st.next("node"),
		nodeType:    nodeMachine,
		domain:      st.domains[0],
		status:      statusNew,
		prevStatus:  statusNew,
		ownerData:   map[string]string{},
		powerType:   spec.PowerType,
		powerParams: map[string]string{},
		bmc:         spec.BMC,
		bootMethod:  spec.BootMethod,
		netboot:     true,
		zone:        "default",
		pool:        "default",
		arch:        spec.Architecture,
		cpuCount:    spec.CPUCount,
		memory:      spec.MemoryMiB,
		created:     now,
		updated:     now,

		commissioningStatus: scriptUnknown,
		testingStatus:       scriptUnknown,
		installStatus:       scriptUnknown,
		curResults:          map[int]int{},
	}
	m.systemID = st.newSystemID(spec.Hostname + fmt.Sprint(m.id))
	m.hostname = spec.Hostname
	if m.hostname == "" {
		m.hostname = "node-" + m.systemID
	} else if st.hostnameTaken(m.hostname, nil) {
		m.hostname += "-" + m.systemID
	}
	if m.arch == "" {
		m.arch = "amd64/generic"
	} else if !strings.Contains(m.arch, "/") {
		m.arch += "/generic"
	}
	if m.cpuCount == 0 {
		m.cpuCount = 4
	}
	if m.memory == 0 {
		m.memory = 8192
	}
	if m.bootMethod == "" {
		m.bootMethod = "pxe"
	}
	for k, v := range spec.PowerParams {
		m.powerParams[k] = v
	}
	for k, v := range powerSchemas[m.powerType].defaults {
		if m.powerParams[k] == "" {
			m.powerParams[k] = v
		}
	}
	m.power = "off"
	m.hardwareUUID = uuidFrom("hw", m.systemID)
	// The spec is kept normalised: the hardware MAAS discovers again at each commissioning.
	spec.Interfaces = append([]NICSpec(nil), spec.Interfaces...)
	for i := range spec.Interfaces {
		n := &spec.Interfaces[i]
		n.MAC = strings.ToLower(strings.TrimSpace(n.MAC))
		if n.Name == "" {
			n.Name = fmt.Sprintf("eth%d", i)
		}
		if n.MAC == "" {
			n.MAC = derivedMAC(m.systemID, n.Name)
		}
		if n.PCIAddress == "" {
			n.PCIAddress = fmt.Sprintf("0000:00:%02x.0", 3+i)
		}
		if n.SpeedMbps == 0 {
			n.SpeedMbps = 10000
		}
	}
	if len(spec.Interfaces) == 0 {
		spec.Interfaces = []NICSpec{{Name: "eth0", MAC: derivedMAC(m.systemID, "eth0"), PCIAddress: "0000:00:03.0", SpeedMbps: 10000}}
	}
	spec.BootMAC = strings.ToLower(strings.TrimSpace(spec.BootMAC))
	if spec.BootMAC == "" {
		spec.BootMAC = spec.Interfaces[0].MAC
	}
	spec.Disks = append([]DiskSpec(nil), spec.Disks...)
	for i := range spec.Disks {
		d := &spec.Disks[i]
		if d.Name == "" {
			d.Name = "sd" + string(rune('a'+i%26))
		}
		if d.Size == 0 {
			d.Size = 500 * 1000 * 1000 * 1000
		}
		if d.Model == "" {
			d.Model = "QEMU HARDDISK"
		}
		if d.Serial == "" {
			d.Serial = strings.ToUpper(m.systemID) + fmt.Sprintf("%04d", i)
		}
		if d.IDPath == "" {
			d.IDPath = "/dev/disk/by-id/wwn-0x" + fmt.Sprintf("%016x", hash64(m.systemID, d.Name))
		}
		if d.BusInfo == "" {
			d.BusInfo = fmt.Sprintf("scsi@2:0.%d.0", i)
		}
	}
	m.spec = spec
	st.resetNetwork(m)
	st.discoverDisks(m)
	st.nodes = append(st.nodes, m)
	st.bySID[m.systemID] = m
	return m
}

func (st *state) hostnameTaken(h string, except *machine) bool {
	for _, o := range st.nodes {
		if o != except && o.hostname == h {
			return true
		}
	}
	return false
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// derivedMAC is a stable, locally administered MAC.
func derivedMAC(sid, nic string) string {
	v := hash64("mac", sid, nic)
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", byte(v>>16), byte(v>>8), byte(v))
}

// uuidFrom derives a stable UUID-shaped string.
func uuidFrom(parts ...string) string {
	a, b := hash64(parts...), hash64(append(parts, "2")...)
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff,
		uint16(b>>48)&0xfff, b&0xffffffffffff)
}

// settle completes the machine's due timed transitions (lazily, against the clock) and
// returns the BMC calls they imply.
func (st *state) settle(m *machine) effects {
	var fx effects
	now := st.now()
	for m.op != nil {
		op := m.op
		if op.outcome == "hang" {
			to := st.nodeTimeout()
			if op.kind == "release" {
				to = 5 * time.Minute
			}
			if to < 0 || now.Before(op.start.Add(to)) {
				break
			}
			st.timeout(m, op, to)
			continue
		}
		end := op.start.Add(op.dur)
		if now.Before(end) {
			break
		}
		st.complete(m, op, end, &fx)
	}
	return fx
}

// failedStatus maps an in-progress status to its failed status (maas_api.md §4.2).
var failedStatus = map[string]int{
	"commission": statusFailedCommissioning,
	"test":       statusFailedTesting,
	"deploy":     statusFailedDeployment,
	"release":    statusFailedReleasing,
	"erase":      statusFailedDiskErasing,
}

func (st *state) timeout(m *machine, op *operation, after time.Duration) {
	label := statusLabel(m.status)
	m.op = nil
	m.status = failedStatus[op.kind]
	m.errorDescription = fmt.Sprintf("Node operation '%s' timed out after %d minutes.", label, int(after/time.Minute))
	switch op.kind {
	case "commission":
		m.commissioningStatus = scriptTimeout
	case "test":
		m.testingStatus = scriptTimeout
	case "deploy":
		m.installStatus = scriptTimeout
	}
	m.updated = op.start.Add(after)
}

// complete ends a timed operation at its end time.
func (st *state) complete(m *machine, op *operation, end time.Time, fx *effects) {
	m.op = nil
	m.updated = end
	fail := op.outcome == "fail"
	if op.kind == "commission" || op.kind == "test" && op.from != statusDeployed {
		m.owner = ""
	}
	switch op.kind {
	case "commission":
		if fail {
			m.status = statusFailedCommissioning
			m.commissioningStatus = scriptFailed
			m.testingStatus = scriptAborted
			st.recordResults(m, 0, false, end)
			st.setPower(m, false, false, fx)
			return
		}
		st.finishCommissioning(m, op, end)
		if op.tests {
			m.status = statusTesting
			m.testingStatus = scriptRunning
			m.op = &operation{kind: "test", start: end, dur: st.s.delays.Testing, outcome: op.testOutcome, from: statusReady}
			return
		}
		m.status = statusReady
		st.setPower(m, false, false, fx)
	case "test":
		st.recordResults(m, 2, !fail, end)
		if fail {
			m.status = statusFailedTesting
			m.testingStatus = scriptFailed
		} else {
			m.status = op.from
			m.testingStatus = scriptPassed
		}
		if op.from != statusDeployed {
			st.setPower(m, false, false, fx)
		}
	case "deploy":
		st.recordResults(m, 1, !fail, end)
		if fail {
			m.status = statusFailedDeployment
			m.installStatus = scriptFailed
			return
		}
		m.status = statusDeployed
		m.installStatus = scriptPassed
		m.netboot = false
	case "release":
		if fail {
			m.status = statusFailedReleasing
			return
		}
		m.status = statusReady
	case "erase":
		st.setPower(m, false, false, fx)
		if fail {
			m.status = statusFailedDiskErasing
			return
		}
		m.status = statusReady
	}
}

// finishCommissioning applies what commissioning reports: the discovered network
// configuration, the discovered disks with the default storage layout (unless skipped), the
// lshw and lldp details, and the script results.
func (st *state) finishCommissioning(m *machine, op *operation, end time.Time) {
	if !op.skipNetworking {
		st.resetNetwork(m)
	}
	if !op.skipStorage {
		st.discoverDisks(m)
		layout, _ := st.config["default_storage_layout"].(string)
		_ = st.applyLayout(m, layoutParams{layout: layout})
	}
	m.lshw = lshwXML(m)
	m.lldp = lldpXML(m)
	m.commissioned = true
	m.commissioningStatus = scriptPassed
	st.recordResults(m, 0, true, end)
}

// startCommissioning is op=commission once its preconditions hold.
func (st *state) startCommissioning(m *machine, op *operation, fx *effects) *apiError {
	if e := st.setStatus(m, statusCommissioning); e != nil {
		return e
	}
	now := st.now()
	op.kind, op.start, op.dur, op.outcome, op.from = "commission", now, st.s.delays.Commissioning, "ok", m.status
	switch st.takeFault(m, CommissionFails, CommissionHangs) {
	case CommissionFails:
		op.outcome = "fail"
	case CommissionHangs:
		op.outcome = "hang"
	}
	op.testOutcome = "ok"
	if op.tests && st.takeFault(m, TestingFails) != "" {
		op.testOutcome = "fail"
	}
	if !op.skipNetworking {
		st.clearNetwork(m)
	}
	if !op.skipStorage {
		st.clearStorage(m)
	}
	m.owner = "admin"
	m.errorDescription = ""
	m.commissioningStatus = scriptRunning
	if op.tests {
		m.testingStatus = scriptPending
	} else {
		m.testingStatus = scriptUnknown
	}
	m.op = op
	st.setPower(m, true, true, fx)
	return nil
}

// startDeployment is op=deploy on an Allocated machine.
func (st *state) startDeployment(m *machine, fx *effects) *apiError {
	if e := st.claimAutoIPs(m); e != nil {
		return e
	}
	if e := st.setStatus(m, statusDeploying); e != nil {
		return e
	}
	op := &operation{kind: "deploy", start: st.now(), dur: st.s.delays.Deploying, outcome: "ok", from: statusAllocated}
	switch st.takeFault(m, DeployFails, DeployHangs) {
	case DeployFails:
		op.outcome = "fail"
	case DeployHangs:
		op.outcome = "hang"
	}
	m.op = op
	m.errorDescription = ""
	m.installStatus = scriptRunning
	st.setPower(m, true, true, fx)
	return nil
}

// release starts a release (erase → Disk erasing) of a releasable machine.
func (st *state) release(m *machine, erase bool, mode string, fx *effects) *apiError {
	switch m.status {
	case statusReady, statusReleasing:
		return nil
	case statusAllocated, statusReserved, statusBroken, statusDeploying, statusDeployed, statusFailedDeployment,
		statusFailedDiskErasing, statusFailedReleasing:
	default:
		return conflict("Machine cannot be released in its current state ('%s').", statusLabel(m.status))
	}
	now := st.now()
	if erase {
		if e := st.setStatus(m, statusDiskErasing); e != nil {
			return e
		}
		op := &operation{kind: "erase", start: now, dur: st.s.delays.DiskErasing, outcome: "ok", from: m.status}
		if st.takeFault(m, EraseFails) != "" {
			op.outcome = "fail"
		}
		m.op = op
		m.eraseMode = mode
		st.setPower(m, true, true, fx)
	} else {
		m.eraseMode = ""
		fails := st.takeFault(m, ReleaseFails) != ""
		if !fails && (!m.canPower() || m.powerState() == "off") {
			// Nothing to power off: Ready at once.
			m.op = nil
			if e := st.setStatus(m, statusReady); e != nil {
				return e
			}
		} else {
			if e := st.setStatus(m, statusReleasing); e != nil {
				return e
			}
			op := &operation{kind: "release", start: now, dur: st.s.delays.Releasing, outcome: "ok", from: m.status}
			if fails {
				op.outcome = "fail"
			}
			m.op = op
			st.setPower(m, false, false, fx)
		}
	}
	st.clearOwnership(m)
	return nil
}

// clearOwnership is what releasing clears: owner, OS choice, user data, annotations, and
// the addresses AUTO links took at deployment.
func (st *state) clearOwnership(m *machine) {
	m.owner = ""
	m.osystem, m.distro, m.hweKernel = "", "", ""
	m.userData, m.hasUD = nil, false
	m.ownerData = map[string]string{}
	m.ephemeral = false
	m.netboot = true
	m.locked = false
	st.releaseAutoIPs(m)
}

// abort stops the operation in progress (maas_api.md §4.3).
func (st *state) abort(m *machine, fx *effects) *apiError {
	var to int
	switch m.status {
	case statusCommissioning:
		to = statusNew
		m.commissioningStatus = scriptAborted
	case statusDeploying:
		to = statusAllocated
		m.installStatus = scriptAborted
	case statusTesting:
		to = statusReady
		if m.op != nil {
			to = m.op.from
		}
		m.testingStatus = scriptAborted
	case statusDiskErasing:
		to = statusFailedDiskErasing
	default:
		return conflict("Cannot abort in current state: node %s is in state %s.", m.systemID, statusLabel(m.status))
	}
	if e := st.setStatus(m, to); e != nil {
		return e
	}
	m.op = nil
	st.setPower(m, false, false, fx)
	return nil
}

// decodeUserData decodes the base64 user_data of deploy and power_on.
func decodeUserData(v string) ([]byte, *apiError) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, fieldError("user_data", "Invalid base64 data.")
	}
	return b, nil
}
