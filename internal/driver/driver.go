// Package driver defines the contracts between the orchestrator and the systems it drives: a
// node driver (the OS provisioner: MAAS, Ironic, the simulator), out-of-band drivers chosen by
// a node's oob.type (IPMI, Redfish, libvirt, manual, the simulator), and a Kubernetes driver.
// Implementations live in sub-packages and register themselves (see Registry); only the
// binaries import them.
//
// Every call is idempotent and converges: it first reads the current state of the target and
// does only what is still needed, so the orchestrator may repeat a call after a timeout, a
// retry or a crash. Long operations (commissioning, deployment) are started by one call and
// observed by the following ones: a call returns InProgress with the time to ask again.
//
// A call returns a Result whose Outcome separates "done", "still going", "the target refused"
// (Failed: retrying will not help) and "we could not reach it" (Unreachable: transient,
// retried with backoff). A Go error is never used for a node's outcome.
package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/drydock-go/drydock/internal/design"
)

// Outcome is the closed vocabulary of driver results.
type Outcome int

// Outcomes.
const (
	// Done: the desired state is reached.
	Done Outcome = iota
	// InProgress: the operation is under way; call again after RetryAfter.
	InProgress
	// Failed: the target refused or reached a failed state; retrying the same call will not help.
	Failed
	// Unreachable: the target could not be reached or answered with a transient error; the
	// call may be retried with backoff.
	Unreachable
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case InProgress:
		return "in progress"
	case Failed:
		return "failed"
	case Unreachable:
		return "unreachable"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Result is the outcome of one call for one node (or for the site).
type Result struct {
	Outcome    Outcome
	Message    string        // what happened, for the task's messages; never contains secrets
	RetryAfter time.Duration // for InProgress: when to call again (0: the orchestrator's poll interval)
	// State is the node's state as observed by this call, when the driver read it; the
	// orchestrator keeps it as the node's last known state.
	State *NodeState
	// Skipped reports that nothing needed doing (e.g. the node was already deployed).
	Skipped bool
	// Data carries call-specific facts (inventory, identified system id), stored as step detail.
	Data map[string]any
	// BuildData are facts about the node collected by this call (hardware inventory, LLDP
	// neighbours, script output); the orchestrator stores them with the step's task.
	BuildData []BuildData
}

// BuildData is one fact about a node a driver collected.
type BuildData struct {
	Generator string // what produced it: lshw, lldp, commission:<script>, deploy:<script>
	Format    string // MIME type: text/xml, application/json, text/plain
	Data      []byte
	Collected time.Time // when the provisioner collected it; zero: now
}

// BootActions is a node's boot action context for one deployment, handed to Deploy so that
// the driver places it on the node (MAAS: a tag carrying the key, the package list as
// cloud-init user data). The node fetches its assets from ReportURL's server with the key and
// reports each action's status there.
type BootActions struct {
	Key       []byte // the node's identity key; never log it
	ReportURL string // base URL of the boot action API, ending in /bootactions/
	Actions   []BootActionRef
	// UserData is the cloud-init user data with the node's pkg_list packages ("" when none).
	UserData string
}

// KeyHex is the key as the node presents it in X-Bootaction-Key.
func (b *BootActions) KeyHex() string { return fmt.Sprintf("%x", b.Key) }

// BootActionRef is one boot action targeting the node.
type BootActionRef struct {
	ID        string // ULID the node reports on
	Name      string
	Signaling bool // whether the deployment waits for the node's report
}

// OK is a Done result with a message.
func OK(format string, args ...any) Result {
	return Result{Outcome: Done, Message: fmt.Sprintf(format, args...)}
}

// Pending is an InProgress result.
func Pending(after time.Duration, format string, args ...any) Result {
	return Result{Outcome: InProgress, RetryAfter: after, Message: fmt.Sprintf(format, args...)}
}

// Fail is a Failed result.
func Fail(format string, args ...any) Result {
	return Result{Outcome: Failed, Message: fmt.Sprintf(format, args...)}
}

// Unreach is an Unreachable result.
func Unreach(format string, args ...any) Result {
	return Result{Outcome: Unreachable, Message: fmt.Sprintf(format, args...)}
}

// NodeState is the last known state of a node (the "build model"), as drivers observe it.
type NodeState struct {
	// Provisioner is the node's status in the provisioner (e.g. New, Commissioning, Ready,
	// Deploying, Deployed, Failed deployment, Releasing); empty when unknown to it.
	Provisioner string `json:"provisioner,omitempty"`
	// SystemID is the provisioner's identifier of the machine.
	SystemID string `json:"system_id,omitempty"`
	// Power is on, off or unknown.
	Power string `json:"power,omitempty"`
	// BootDevice is the next boot device the BMC reports, when known.
	BootDevice string `json:"boot_device,omitempty"`
	// Observed is when this state was read.
	Observed time.Time `json:"observed"`
}

// Call is what every per-node driver call receives.
type Call struct {
	Site *design.Site
	Node *design.Node // the applied model: the desired state
	Last *NodeState   // the last known state, or nil
	// Key identifies this step of this task for this node; it is the same on every attempt, so a
	// driver that can record it with its target may use it as an idempotency key.
	Key string
	// Attempt counts calls of this step for this node (1 on the first).
	Attempt int
	// Resumed is set when a previous attempt may have been interrupted before its outcome was
	// recorded (a crash, a lost lease); Since is when the step first started. A driver whose
	// operation is not naturally idempotent (a power cycle) must check whether its effect already
	// happened after Since before acting again.
	Resumed bool
	Since   time.Time
	// BootActions is set on deploy calls for a node that boot actions target (nil otherwise).
	BootActions *BootActions
	// DeviceNames maps the node's hardware-profile device aliases to kernel device names, as
	// resolved from the node's latest lshw build data (set on the deploy_nodes steps; aliases
	// without a match are absent). Use DeviceName.
	DeviceNames map[string]string
}

// DeviceName returns the kernel name of a device alias (or name) when the node's hardware
// inventory resolved it, else the name itself.
func (c Call) DeviceName(name string) string {
	if n, ok := c.DeviceNames[name]; ok && n != "" {
		return n
	}
	return name
}

// BootDevice is a next-boot device.
type BootDevice string

// Boot devices.
const (
	BootPXE  BootDevice = "pxe"
	BootDisk BootDevice = "disk"
)

// PowerAction is a power change.
type PowerAction string

// Power actions. A cycle is off then on, verified in between.
const (
	PowerOn    PowerAction = "on"
	PowerOff   PowerAction = "off"
	PowerCycle PowerAction = "cycle"
)

// Power states.
const (
	PowerStateOn      = "on"
	PowerStateOff     = "off"
	PowerStateUnknown = "unknown"
)

// NodeDriver provisions operating systems on nodes.
type NodeDriver interface {
	// ValidateServices checks that the provisioner is reachable and usable (verify_site).
	ValidateServices(ctx context.Context, site *design.Site) Result
	// PrepareSite writes site-wide configuration: op is one of the prepare_site steps
	// (create_network_template, configure_user_credentials, configure_node_provisioner).
	PrepareSite(ctx context.Context, op string, site *design.Site) Result
	// IdentifyNode finds the node's machine in the provisioner (by hostname, BMC address or
	// boot MAC). Done with State.Provisioner set when found; Failed when it is not (yet) known.
	IdentifyNode(ctx context.Context, c Call) Result
	// ConfigureHardware commissions the machine (Ready when done).
	ConfigureHardware(ctx context.Context, c Call) Result
	// ApplyNetworking, ApplyStorage and ApplyPlatform configure the machine from the applied model.
	ApplyNetworking(ctx context.Context, c Call) Result
	ApplyStorage(ctx context.Context, c Call) Result
	ApplyPlatform(ctx context.Context, c Call) Result
	// Deploy installs the operating system (Deployed when done).
	Deploy(ctx context.Context, c Call) Result
	// Destroy releases the machine so it can be deployed again.
	Destroy(ctx context.Context, c Call) Result
}

// OOBDriver manages a node through its BMC.
type OOBDriver interface {
	// ValidateServices checks what the driver needs site-wide (verify_site).
	ValidateServices(ctx context.Context, site *design.Site) Result
	// SetNextBoot sets a one-time next boot device.
	SetNextBoot(ctx context.Context, c Call, dev BootDevice) Result
	// Power changes the power state; asking for the current state does nothing and says so.
	Power(ctx context.Context, c Call, a PowerAction) Result
	// Interrogate reads the power state (and, where the BMC offers it, inventory into Data).
	Interrogate(ctx context.Context, c Call) Result
}

// KubeDriver manages nodes as members of a Kubernetes cluster.
type KubeDriver interface {
	ValidateServices(ctx context.Context, site *design.Site) Result
	// Relabel makes the node's labels in the cluster match the design.
	Relabel(ctx context.Context, c Call) Result
}

// Set is the drivers an orchestrator uses.
type Set struct {
	Node NodeDriver
	OOB  map[string]OOBDriver // by oob.type
	Kube KubeDriver           // nil when not enabled
}

// OOBFor returns the OOB driver for a node, or an error naming the node and its type.
func (s Set) OOBFor(n *design.Node) (OOBDriver, error) {
	if n.OOBType == "" {
		return nil, fmt.Errorf("node %s has no oob.type", n.Name)
	}
	d, ok := s.OOB[n.OOBType]
	if !ok || d == nil {
		return nil, fmt.Errorf("node %s: OOB type %s is not supported by any enabled driver", n.Name, n.OOBType)
	}
	return d, nil
}

// Machine is a machine as the node driver's provisioner sees it (the API's GET /nodes).
type Machine struct {
	Hostname     string `json:"hostname"`
	SystemID     string `json:"system_id"`
	Status       string `json:"status_name"` // the provisioner's status, e.g. Ready, Deployed
	PowerState   string `json:"power_state"`
	BootMAC      string `json:"boot_mac"`
	BootIP       string `json:"boot_ip"`
	PowerAddress string `json:"power_address"`
	CPUCount     int    `json:"cpu_count"`
	MemoryMiB    int64  `json:"memory"`
}

// MachineLister is implemented by node drivers that can list the provisioner's machines.
type MachineLister interface {
	Machines(ctx context.Context) ([]Machine, error)
}

// HealthChecker is implemented by drivers that can check cheaply that their backend is
// reachable (for the API's extended health check); it must not change anything.
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}
