package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"time"
)

// Kind names an operation of the simulated data centre, for latencies and faults.
type Kind string

// Operation kinds. A driver call maps to one kind (Power for SetNextBoot is SetBoot, Destroy
// is Release, ConfigureHardware is Commission); Enlist is what a PXE boot of a machine unknown
// to the provisioner starts.
const (
	Power            Kind = "power"             // BMC power on/off/cycle (synchronous; a cycle takes it twice)
	SetBoot          Kind = "set_boot"          // BMC next-boot device (synchronous)
	Interrogate      Kind = "interrogate"       // BMC power state and inventory (synchronous)
	Enlist           Kind = "enlist"            // PXE boot of an unknown machine until it is New (asynchronous)
	Identify         Kind = "identify"          // provisioner lookup (synchronous)
	Commission       Kind = "commission"        // Commissioning until Ready (asynchronous)
	ApplyNetworking  Kind = "apply_networking"  // (synchronous)
	ApplyStorage     Kind = "apply_storage"     // (synchronous)
	ApplyPlatform    Kind = "apply_platform"    // (synchronous)
	Deploy           Kind = "deploy"            // Deploying until Deployed (asynchronous)
	Release          Kind = "release"           // Releasing until Ready (asynchronous)
	PrepareSite      Kind = "prepare_site"      // site-wide provisioner configuration (synchronous)
	ValidateServices Kind = "validate_services" // provisioner health check (synchronous)
	// AnyKind in a Fault applies to every kind the Fault does not name.
	AnyKind Kind = "*"
)

// Kinds lists every operation kind (without AnyKind).
var Kinds = []Kind{Power, SetBoot, Interrogate, Enlist, Identify, Commission, ApplyNetworking,
	ApplyStorage, ApplyPlatform, Deploy, Release, PrepareSite, ValidateServices}

// DefaultLatency is the latency of each kind when Config.Latency does not name it: small
// values that make a demo visible without making it slow.
var DefaultLatency = map[Kind]time.Duration{
	Power:            200 * time.Millisecond,
	SetBoot:          50 * time.Millisecond,
	Interrogate:      20 * time.Millisecond,
	Enlist:           1 * time.Second,
	Identify:         50 * time.Millisecond,
	Commission:       2 * time.Second,
	ApplyNetworking:  100 * time.Millisecond,
	ApplyStorage:     100 * time.Millisecond,
	ApplyPlatform:    100 * time.Millisecond,
	Deploy:           3 * time.Second,
	Release:          1 * time.Second,
	PrepareSite:      100 * time.Millisecond,
	ValidateServices: 0,
}

// Odds are the fault probabilities (each 0..1) of one operation kind.
type Odds struct {
	// Fail: the operation ends in the provisioner's failed state (Failed commissioning, Failed
	// deployment, Releasing failed) or, for a synchronous operation, the call answers Failed.
	// A failed enlistment leaves the machine unknown to the provisioner.
	Fail float64
	// Hang: the operation never completes; a synchronous call blocks until its context ends and
	// then answers Unreachable, having changed nothing.
	Hang float64
	// Flap: the call answers Unreachable without reaching the machine.
	Flap float64
	// Lost: the call takes effect and is recorded, but its answer is lost: the caller sees
	// Unreachable (what a timed-out HTTP request that the server did process looks like).
	Lost float64
}

// Fault gives fault odds per operation kind; AnyKind covers the kinds not named.
// Example: Fault{Deploy: {Fail: 1}} makes every deployment fail.
type Fault map[Kind]Odds

// Config configures a simulated site. The zero Config is a usable demo site: real clock,
// DefaultLatency, no faults.
type Config struct {
	// Now is the clock (default time.Now). Time-based transitions are evaluated against it.
	Now func() time.Time
	// Sleep waits out the latency of a synchronous operation. It defaults to a real,
	// context-aware sleep when Now is nil, and to no wait at all when Now is set (an injected
	// clock does not move by itself, so waiting on real time would only slow tests down).
	Sleep func(ctx context.Context, d time.Duration) error
	// Latency overrides DefaultLatency per kind; a present zero means instant.
	Latency map[Kind]time.Duration
	// Jitter spreads every latency uniformly over ±Jitter of its value (0 ≤ Jitter < 1),
	// deterministically from Seed, the node and the machine's operation count.
	Jitter float64
	// Seed makes fault and jitter decisions reproducible: the same seed and the same sequence
	// of calls per machine give the same outcomes, whatever the interleaving between machines.
	Seed uint64
	// Fault applies to every node (and, for PrepareSite and ValidateServices, to the site).
	Fault Fault
	// Faults overrides Fault per node name, kind by kind: Faults["cmp03"][Deploy] replaces
	// Fault[Deploy] for cmp03.
	Faults map[string]Fault
	// ReadOnly opens an existing site file for inspection (Log, Machines) only: the schema is
	// not created and every call that would change state answers Unreachable.
	ReadOnly bool
	// Shared lets several processes (several orchestrator instances) drive the same site file
	// at once: nothing is cached between calls, every operation reads and writes its machine in
	// one BEGIN IMMEDIATE transaction, and an operation that waits out a latency claims the
	// machine in the database for the duration of the wait (see the package documentation,
	// "Shared mode"). Every process opening the file at the same time must set it. It needs a
	// file; it is slower than the default mode, which assumes one process owns the file.
	Shared bool
	// ClaimTTL is, in shared mode, how long a claim on a machine outlives the last sign of life
	// of the process holding it (default DefaultClaimTTL): a live holder renews its claim every
	// ClaimTTL/3, so only a process that died (or stalled that long) loses it. It is measured
	// on the real clock (time.Now), not Now: it detects dead processes, it is not simulated.
	ClaimTTL time.Duration
}

// DefaultClaimTTL is the shared-mode claim expiry when Config.ClaimTTL is zero.
const DefaultClaimTTL = 5 * time.Second

// validate checks the configuration and names the offending field.
func (c *Config) validate() error {
	known := map[Kind]bool{AnyKind: true}
	for _, k := range Kinds {
		known[k] = true
	}
	for k, d := range c.Latency {
		if !known[k] || k == AnyKind {
			return fmt.Errorf("sim config: Latency: unknown operation kind %q", k)
		}
		if d < 0 {
			return fmt.Errorf("sim config: Latency[%s]: negative duration %s", k, d)
		}
	}
	if c.ClaimTTL != 0 && c.ClaimTTL < 10*time.Millisecond {
		return fmt.Errorf("sim config: ClaimTTL %s: must be 0 (default) or at least 10ms", c.ClaimTTL)
	}
	if c.Jitter < 0 || c.Jitter >= 1 || math.IsNaN(c.Jitter) {
		return fmt.Errorf("sim config: Jitter %v: must be in [0, 1)", c.Jitter)
	}
	check := func(where string, f Fault) error {
		for k, o := range f {
			if !known[k] {
				return fmt.Errorf("sim config: %s: unknown operation kind %q", where, k)
			}
			for _, p := range []struct {
				name string
				v    float64
			}{{"Fail", o.Fail}, {"Hang", o.Hang}, {"Flap", o.Flap}, {"Lost", o.Lost}} {
				if !(p.v >= 0 && p.v <= 1) {
					return fmt.Errorf("sim config: %s[%s].%s = %v: must be a probability in [0, 1]", where, k, p.name, p.v)
				}
			}
		}
		return nil
	}
	if err := check("Fault", c.Fault); err != nil {
		return err
	}
	nodes := make([]string, 0, len(c.Faults))
	for n := range c.Faults {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		if err := check(fmt.Sprintf("Faults[%q]", n), c.Faults[n]); err != nil {
			return err
		}
	}
	return nil
}

// latency returns the base latency of a kind.
func (c *Config) latency(k Kind) time.Duration {
	if d, ok := c.Latency[k]; ok {
		return d
	}
	return DefaultLatency[k]
}

// odds returns the fault odds of a kind for a node ("" for site-wide calls).
func (c *Config) odds(node string, k Kind) Odds {
	if f, ok := c.Faults[node]; ok && node != "" {
		if o, ok := f[k]; ok {
			return o
		}
		if o, ok := f[AnyKind]; ok {
			return o
		}
	}
	if o, ok := c.Fault[k]; ok {
		return o
	}
	return c.Fault[AnyKind]
}

// roll returns a deterministic uniform number in [0, 1) for one decision: the seed, the node,
// the kind, what is being decided and two counters identify it.
func roll(seed uint64, node string, k Kind, what string, a, b int64) float64 {
	h := fnv.New64a()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], seed)
	h.Write(buf[:])
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(k))
	h.Write([]byte{0})
	h.Write([]byte(what))
	binary.LittleEndian.PutUint64(buf[:], uint64(a))
	h.Write(buf[:])
	binary.LittleEndian.PutUint64(buf[:], uint64(b))
	h.Write(buf[:])
	return float64(mix64(h.Sum64())>>11) / (1 << 53)
}

// mix64 is the splitmix64 finaliser: FNV alone is not uniform enough in its high bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hash64 hashes strings for identifiers derived from names (MACs, system ids).
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return mix64(h.Sum64())
}

func realSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
