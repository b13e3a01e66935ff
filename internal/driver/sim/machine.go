package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// Provisioner statuses, named exactly as MAAS names them (status_name). A machine unknown to
// the provisioner has the empty status.
const (
	StatusUnknown             = ""
	StatusNew                 = "New"
	StatusCommissioning       = "Commissioning"
	StatusFailedCommissioning = "Failed commissioning"
	StatusReady               = "Ready"
	StatusAllocated           = "Allocated"
	StatusDeploying           = "Deploying"
	StatusDeployed            = "Deployed"
	StatusFailedDeployment    = "Failed deployment"
	StatusReleasing           = "Releasing"
	StatusReleasingFailed     = "Releasing failed"
)

// Outcomes of an asynchronous operation, decided when it starts (so that a crash and a restart
// do not change how a started operation ends).
const (
	OutcomeOK   = "ok"
	OutcomeFail = "fail"
	OutcomeHang = "hang"
)

// NIC is a network interface of a simulated machine.
type NIC struct {
	Name string `json:"name"`
	MAC  string `json:"mac"`
}

// Disk is a physical disk of a simulated machine.
type Disk struct {
	Name      string `json:"name"`
	SizeBytes int64  `json:"size_bytes"`
}

// Machine is the persisted state of one simulated machine: its BMC and its record in the
// simulated provisioner.
type Machine struct {
	Name    string
	BootMAC string
	NICs    []NIC
	Disks   []Disk

	// BMC.
	Power     string            // driver.PowerStateOn or PowerStateOff
	NextBoot  driver.BootDevice // one-time: a power on or cycle consumes it (back to disk)
	LastCycle time.Time         // last power cycle; zero when never cycled

	// Provisioner.
	Status string // StatusUnknown until enlisted
	// SystemID is chosen when enlistment starts; the provisioner reports it once Status is set.
	SystemID string
	// The last asynchronous operation (Enlist, Commission, Deploy or Release), stored as
	// (operation, start, duration, outcome) and evaluated lazily against the clock.
	Op         Kind
	OpStarted  time.Time
	OpDuration time.Duration
	OpOutcome  string // OutcomeOK, OutcomeFail or OutcomeHang
	OpKey      string // Call.Key of the step that started it
	OpDone     bool   // the completion (or failure) has been recorded
	// Digests of the applied configuration steps; empty when not applied since the last release.
	Networking, Storage, Platform string
	Deploys                       int   // deployments started
	Seq                           int64 // state changes recorded (feeds fault and jitter decisions)

	Created, Updated time.Time
}

// Running reports whether the machine's asynchronous operation is still under way at now
// (a hung operation is always running).
func (m *Machine) Running(now time.Time) bool {
	if m.Op == "" || m.OpDone {
		return false
	}
	return m.OpOutcome == OutcomeHang || now.Before(m.OpStarted.Add(m.OpDuration))
}

// Remaining is the time until the running operation ends (0 when none runs or it hangs).
func (m *Machine) Remaining(now time.Time) time.Duration {
	if !m.Running(now) || m.OpOutcome == OutcomeHang {
		return 0
	}
	return m.OpStarted.Add(m.OpDuration).Sub(now)
}

// Known reports whether the provisioner knows the machine.
func (m *Machine) Known() bool { return m.Status != StatusUnknown }

// State renders the machine as the orchestrator sees it.
func (m *Machine) State(now time.Time) *driver.NodeState {
	st := &driver.NodeState{Provisioner: m.Status, Power: m.Power, BootDevice: string(m.NextBoot), Observed: now}
	if m.Known() {
		st.SystemID = m.SystemID
	}
	return st
}

// settle applies the completion of the running operation when its time has come, and
// returns the log entries of that change (none when nothing changed). The entry is dated at
// the moment the operation ended, which may be earlier than now (it ended while nobody looked).
func (m *Machine) settle(now time.Time) []Op {
	if m.Op == "" || m.OpDone || m.OpOutcome == OutcomeHang {
		return nil
	}
	end := m.OpStarted.Add(m.OpDuration)
	if now.Before(end) {
		return nil
	}
	m.OpDone = true
	fail := m.OpOutcome == OutcomeFail
	var name, detail string
	switch m.Op {
	case Enlist:
		if fail {
			name, detail = LogEnlistFailed, "PXE boot did not reach the provisioner; machine still unknown"
			m.SystemID = ""
		} else {
			m.Status = StatusNew
			name, detail = LogEnlisted, "system_id "+m.SystemID+"; status New"
		}
	case Commission:
		if fail {
			m.Status = StatusFailedCommissioning
			name, detail = LogCommissionFailed, "status Failed commissioning"
		} else {
			m.Status = StatusReady
			m.Power = driver.PowerStateOff
			name, detail = LogCommissioned, "status Ready; power off"
		}
	case Deploy:
		if fail {
			m.Status = StatusFailedDeployment
			name, detail = LogDeployFailed, "status Failed deployment"
		} else {
			m.Status = StatusDeployed
			name, detail = LogDeployed, "status Deployed"
		}
	case Release:
		if fail {
			m.Status = StatusReleasingFailed
			name, detail = LogReleaseFailed, "status Releasing failed"
		} else {
			m.Status = StatusReady
			m.Power = driver.PowerStateOff
			m.Networking, m.Storage, m.Platform = "", "", ""
			name, detail = LogReleased, "status Ready; power off; applied configuration cleared"
		}
	default:
		return nil
	}
	m.Seq++
	m.Updated = end
	return []Op{{Time: end, Node: m.Name, Operation: name, Detail: detail}}
}

// newMachine materialises the machine of a design node: a boot MAC, NICs and disks derived
// from the design, BMC power off, next boot disk, unknown to the provisioner.
func newMachine(n *design.Node, now time.Time) Machine {
	m := Machine{
		Name:     n.Name,
		Power:    driver.PowerStateOff,
		NextBoot: driver.BootDisk,
		Created:  now,
		Updated:  now,
	}
	names := nicNames(n)
	boot := bootNIC(n, names)
	m.BootMAC = normalizeMAC(n.BootMAC)
	if m.BootMAC == "" {
		m.BootMAC = derivedMAC(n.Name, "")
	}
	for _, name := range names {
		mac := derivedMAC(n.Name, name)
		if name == boot {
			mac = m.BootMAC
		}
		m.NICs = append(m.NICs, NIC{Name: name, MAC: mac})
	}
	seen := map[string]bool{}
	for _, d := range n.Devices {
		if d.Name == "" || seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		m.Disks = append(m.Disks, Disk{Name: d.Name, SizeBytes: diskSize(n.Name, d.Name)})
	}
	if len(m.Disks) == 0 {
		m.Disks = []Disk{{Name: "sda", SizeBytes: diskSize(n.Name, "sda")}}
	}
	return m
}

// nicNames lists the machine's physical NICs: the hardware slaves of every interface (the
// interface's own name when it has none), in design order, without duplicates; "eth0" when
// the design declares no interface.
func nicNames(n *design.Node) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, ifc := range n.Interfaces {
		if len(ifc.Slaves) == 0 {
			add(ifc.Name)
		}
		for _, s := range ifc.Slaves {
			add(s)
		}
	}
	if len(out) == 0 {
		out = []string{"eth0"}
	}
	return out
}

// bootNIC picks the NIC that carries the boot MAC: the first NIC of the first interface on a
// network whose name contains "pxe", else the first NIC.
func bootNIC(n *design.Node, names []string) string {
	for _, ifc := range n.Interfaces {
		for _, net := range ifc.Networks {
			if strings.Contains(strings.ToLower(net), "pxe") {
				if len(ifc.Slaves) > 0 {
					return ifc.Slaves[0]
				}
				return ifc.Name
			}
		}
	}
	return names[0]
}

// derivedMAC derives a stable, locally administered unicast MAC from the node (and NIC) name:
// 52:54 followed by four bytes of a hash, so that ten thousand machines rarely collide.
func derivedMAC(node, nic string) string {
	h := hash64("mac", node, nic)
	return fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", byte(h>>24), byte(h>>16), byte(h>>8), byte(h))
}

func normalizeMAC(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// diskSize gives a disk one of a few common sizes, stable per node and disk.
func diskSize(node, disk string) int64 {
	sizes := []int64{240e9, 480e9, 960e9, 1920e9}
	return sizes[hash64("disk", node, disk)%uint64(len(sizes))]
}

// systemID derives a MAAS-style system id (six lower-case alphanumerics) from the node name;
// try > 0 gives the alternatives used when an earlier one is taken.
func systemID(node string, try int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	h := hash64("system_id", node, fmt.Sprint(try))
	var b [6]byte
	for i := range b {
		b[i] = alphabet[h%uint64(len(alphabet))]
		h /= uint64(len(alphabet))
	}
	return string(b[:])
}
