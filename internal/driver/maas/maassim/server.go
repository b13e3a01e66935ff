package maassim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server.
type Config struct {
	// APIKey is the one valid API key, "consumer:token:secret"; "" → a generated one.
	APIKey string
	// Delays are the durations of the timed transitions; zero fields → defaults.
	Delays Delays
	// Now is the clock timed transitions are evaluated against; nil → time.Now. (OAuth
	// timestamps are always checked against the wall clock: clients sign with it.)
	Now func() time.Time
	// NodeTimeout is MAAS's node_timeout: a hung commissioning, testing or deployment fails
	// after it (status Failed …, "Node operation '<label>' timed out after <N> minutes.").
	// 0 → 30 minutes, as MAAS; negative → never (the operation hangs forever).
	NodeTimeout time.Duration
	// BootResources are the synced images boot-resources/ lists; nil → DefaultBootResources().
	BootResources []BootResource
	// RackControllers are the rack controllers registered at start; nil → one healthy rack
	// controller (DefaultRackController()); an empty non-nil slice → none.
	RackControllers []RackSpec
	// SkipNonceCheck turns off the replayed-nonce check (MAAS always checks it; a client that
	// retries a request without re-signing it would be refused).
	SkipNonceCheck bool
}

// Delays are the durations of MAAS's asynchronous operations.
type Delays struct {
	Commissioning, Testing, Deploying, Releasing, DiskErasing time.Duration
}

// DefaultDelays are the delays used for zero Delays fields.
var DefaultDelays = Delays{
	Commissioning: 300 * time.Millisecond,
	Testing:       100 * time.Millisecond,
	Deploying:     500 * time.Millisecond,
	Releasing:     200 * time.Millisecond,
	DiskErasing:   200 * time.Millisecond,
}

// BMC is the hardware side of a machine's baseboard management controller: what MAAS's power
// drivers act on. *sim.BMC (internal/driver/sim) satisfies it.
type BMC interface {
	PowerOn() bool
	SetPower(ctx context.Context, on bool) error
	SetNextBoot(ctx context.Context, dev string) error
}

// MachineSpec describes the hardware of a machine enlisted with AddMachine.
type MachineSpec struct {
	Hostname     string // "" → a generated name
	Architecture string // "amd64/generic" when empty
	CPUCount     int    // 4 when 0
	MemoryMiB    int64  // 8192 when 0
	Interfaces   []NICSpec
	Disks        []DiskSpec
	PowerType    string // "" → unset (commissioning refuses, as MAAS)
	PowerParams  map[string]string
	BMC          BMC    // nil → the power state is only recorded
	BootMethod   string // bios_boot_method: "pxe" (default) or "uefi"
	// BootMAC is the MAC the machine PXE-booted from; "" → the first interface's.
	BootMAC string
	// Vendor data shown in hardware_info and lshw ("Unknown" when empty).
	Vendor, Product, Serial string
}

// NICSpec is a network interface of a machine.
type NICSpec struct {
	Name, MAC string
	// PCIAddress is the NIC's PCI address ("0000:00:03.0"), lshw businfo pci@<address>;
	// "" → one derived from its position.
	PCIAddress string
	// Subnet is the CIDR of the subnet the NIC is cabled to, when MAAS would discover it
	// (its VLAN is then the interface's VLAN); "" → the boot NIC is on the first subnet of the
	// default fabric (if any), the others on no VLAN.
	Subnet string
	// SpeedMbps is the link speed (10000 when 0).
	SpeedMbps int
}

// DiskSpec is a physical disk of a machine.
type DiskSpec struct {
	Name, Model, Serial, IDPath string
	Size                        int64 // bytes
	// BusInfo is the lshw businfo ("scsi@2:0.0.0"); "" → one derived from its position.
	BusInfo string
	// SSD tags the disk "ssd" instead of "rotary".
	SSD bool
}

// FaultKind names an injected failure.
type FaultKind string

// Fault kinds.
const (
	// CommissionFails: the commissioning ends in Failed commissioning.
	CommissionFails FaultKind = "CommissionFails"
	// CommissionHangs: the commissioning never ends by itself (node_timeout applies).
	CommissionHangs FaultKind = "CommissionHangs"
	// TestingFails: the tests after commissioning end in Failed testing.
	TestingFails FaultKind = "TestingFails"
	// DeployFails: the deployment ends in Failed deployment.
	DeployFails FaultKind = "DeployFails"
	// DeployHangs: the deployment stays Deploying (until node_timeout; see Config.NodeTimeout).
	DeployHangs FaultKind = "DeployHangs"
	// ReleaseFails: the release ends in Releasing failed.
	ReleaseFails FaultKind = "ReleaseFails"
	// EraseFails: the disk erasure ends in Failed disk erasing.
	EraseFails FaultKind = "EraseFails"
	// Unavailable: the next Count requests (any endpoint) answer 503 with Retry-After: 10.
	Unavailable FaultKind = "Unavailable"
	// InternalError: the next Count requests answer 500.
	InternalError FaultKind = "InternalError"
	// TooManyRequests: the next Count requests answer 429.
	TooManyRequests FaultKind = "TooManyRequests"
	// FabricsVanish: the next Count GET fabrics/ answer an empty list (the MAAS 3.5 symptom
	// Drydock's networking retry works around).
	FabricsVanish FaultKind = "FabricsVanish"
)

// Fault is a failure to inject. Machine faults apply to the machine with that hostname or
// system id ("" → any machine) for its next Count operations of the kind (0 → 1; negative →
// every one). Request faults (Unavailable, InternalError, TooManyRequests, FabricsVanish)
// apply to the next Count requests (0 → 1).
type Fault struct {
	Kind     FaultKind
	Hostname string // or SystemID
	Count    int
}

// Server is an emulated MAAS region controller.
type Server struct {
	cfg    Config
	now    func() time.Time
	delays Delays
	key    apiKey

	requests atomic.Int64

	mu sync.Mutex
	st *state
}

type apiKey struct{ consumer, token, secret string }

func (k apiKey) String() string { return k.consumer + ":" + k.token + ":" + k.secret }

// New returns a Server with a fresh MAAS: one admin user owning the API key, the default
// domain, zone and resource pool, fabric-0 with its untagged VLAN, the configured boot
// resources and rack controllers, and no machines.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, now: cfg.Now, delays: cfg.Delays}
	if s.now == nil {
		s.now = time.Now
	}
	d := &s.delays
	for _, p := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&d.Commissioning, DefaultDelays.Commissioning}, {&d.Testing, DefaultDelays.Testing},
		{&d.Deploying, DefaultDelays.Deploying}, {&d.Releasing, DefaultDelays.Releasing},
		{&d.DiskErasing, DefaultDelays.DiskErasing},
	} {
		if *p.v == 0 {
			*p.v = p.def
		}
	}
	s.key = parseKey(cfg.APIKey)
	s.st = newState(s)
	return s
}

func parseKey(k string) apiKey {
	if parts := strings.Split(k, ":"); len(parts) == 3 {
		return apiKey{parts[0], parts[1], parts[2]}
	}
	return apiKey{randomString(18), randomString(18), randomString(32)}
}

func randomString(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// APIKey returns the valid API key, "consumer:token:secret".
func (s *Server) APIKey() string { return s.key.String() }

// Requests returns the number of HTTP requests served.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// ServeHTTP serves the MAAS API under /MAAS/api/2.0/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.serve(w, r)
}

// ListenAndServe serves the API on addr (MAAS listens on ":5240") until ctx ends, then shuts
// the listener down gracefully. The API is then at http://<addr>/MAAS/api/2.0/ and a client
// is configured with the URL http://<addr>/MAAS and the key APIKey().
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, l)
}

// Serve serves the API on a listener until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Shutdown(sctx)
		case <-done:
		}
	}()
	err := hs.Serve(l)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// AddMachine enlists a machine in status New, as a PXE enlistment does, and returns its
// system id.
func (s *Server) AddMachine(m MachineSpec) (systemID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.enlist(m).systemID
}

// Inject arranges a failure (see Fault).
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.inject(f)
}

// Snapshot returns a machine's state as it is now (due timed transitions completed); false
// when no machine has that system id (or hostname).
func (s *Server) Snapshot(systemID string) (MachineState, bool) {
	s.mu.Lock()
	m := s.st.lookupMachine(systemID)
	if m == nil {
		s.mu.Unlock()
		return MachineState{}, false
	}
	fx := s.st.settle(m)
	ms := s.st.snapshot(m)
	s.mu.Unlock()
	fx.run()
	return ms, true
}
