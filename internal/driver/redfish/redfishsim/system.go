package redfishsim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Machine backs a system with the caller's own machine (e.g. one of the
// simulated site's). Boot targets are Redfish BootSourceOverrideTarget values
// ("Pxe", "Hdd", ...); "" means no override (normal boot order).
//
// The simulator calls these methods with the system's lock held: they must
// not call back into the System.
type Machine interface {
	// PowerOn reports whether the machine is powered on.
	PowerOn() bool
	// SetPower powers the machine on or off. Powering on is a boot: it is the
	// machine's job to consume a once-only next-boot override.
	SetPower(on bool)
	// NextBoot returns the pending boot override target, "" if none.
	NextBoot() string
	// SetNextBoot sets the boot override: target "" clears it; once = only
	// for the next boot, else until changed.
	SetNextBoot(target string, once bool)
}

// System is one simulated ComputerSystem.
type System struct {
	srv      *Server
	id, uri  string
	macs     []string // physical NICs: primary first
	template []byte   // the mockup system with its URIs rewritten

	resetTypes, bootTargets []string
	serial, uuid            string

	mu          sync.Mutex
	machine     Machine
	power       string // "On" or "Off" (in-memory systems)
	reported    string // SetPowerState override of the reported PowerState
	bootEnabled string // Disabled, Once, Continuous
	bootTarget  string
	bootMode    string
	uefiTarget  string
	assetTag    string
	led         string
	lastReset   time.Time
	resets      []string
	boots       []string
	faults      Faults

	plan  []bool // pending power steps (true = on)
	gen   int    // bumps on every new plan; stale timers do nothing
	timer *time.Timer
	wake  chan struct{} // closed and replaced on every state change
}

// ID returns the system id (its URI segment).
func (sys *System) ID() string { return sys.id }

// URI returns the system's @odata.id.
func (sys *System) URI() string { return sys.uri }

// MAC returns the MAC address of the system's first physical NIC (upper case,
// colon separated).
func (sys *System) MAC() string { return sys.macs[0] }

// MACs returns the permanent MAC addresses of the system's physical NICs.
func (sys *System) MACs() []string { return append([]string(nil), sys.macs...) }

// SerialNumber returns the system's (generated, unique) serial number.
func (sys *System) SerialNumber() string { return sys.serial }

// SetMachine backs the system with m (nil: back to the in-memory state).
func (sys *System) SetMachine(m Machine) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	sys.cancelLocked()
	if m == nil && sys.machine != nil {
		sys.power = onOff(sys.machine.PowerOn())
	}
	sys.machine = m
	sys.changedLocked()
}

// PowerState returns the PowerState a GET would report: On, Off, PoweringOn,
// PoweringOff (or what SetPowerState set).
func (sys *System) PowerState() string {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return sys.powerStateLocked()
}

// SetPowerState sets the power state at once, cancelling a pending
// transition; it is not a reset and does not boot (a Once override stays).
// "On" and "Off" set the state itself; any other value (PoweringOn, Paused,
// Unknown, Reset, "" for null) only changes what PowerState reports, until the
// next Reset or SetPowerState("On"/"Off").
func (sys *System) SetPowerState(state string) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	sys.cancelLocked()
	switch state {
	case "On", "Off":
		sys.reported = ""
		sys.setPhysLocked(state == "On")
	default:
		if state == "" {
			state = "null"
		}
		sys.reported = state
	}
	sys.changedLocked()
}

// BootOverride returns BootSourceOverrideEnabled and BootSourceOverrideTarget.
func (sys *System) BootOverride() (enabled, target string) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return sys.bootLocked()
}

// BootMode returns BootSourceOverrideMode (UEFI or Legacy).
func (sys *System) BootMode() string {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return sys.bootMode
}

// Resets returns the ResetType of every accepted Reset, oldest first.
func (sys *System) Resets() []string {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return append([]string(nil), sys.resets...)
}

// Boots returns, for every power-on caused by a Reset, the boot source used:
// the override target when an override was in effect, else "None" (the
// normal boot order).
func (sys *System) Boots() []string {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return append([]string(nil), sys.boots...)
}

// SetFaults replaces the system's faults (they apply to requests under its URI
// and, for StuckPower, to its Resets).
func (sys *System) SetFaults(f Faults) {
	sys.mu.Lock()
	sys.faults = f
	sys.mu.Unlock()
}

// Faults returns the system's faults.
func (sys *System) Faults() Faults {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return sys.faults
}

// WaitPowerState waits until PowerState reports state or ctx ends.
func (sys *System) WaitPowerState(ctx context.Context, state string) error {
	for {
		sys.mu.Lock()
		cur := sys.powerStateLocked()
		wake := sys.wakeLocked()
		sys.mu.Unlock()
		if cur == state {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("system %s: PowerState %s, want %s: %w", sys.id, cur, state, ctx.Err())
		case <-wake:
		case <-time.After(50 * time.Millisecond): // a Machine may change by itself
		}
	}
}

func (sys *System) wakeLocked() chan struct{} {
	if sys.wake == nil {
		sys.wake = make(chan struct{})
	}
	return sys.wake
}

func (sys *System) changedLocked() {
	if sys.wake != nil {
		close(sys.wake)
		sys.wake = nil
	}
}

func onOff(on bool) string {
	if on {
		return "On"
	}
	return "Off"
}

func (sys *System) physOnLocked() bool {
	if sys.machine != nil {
		return sys.machine.PowerOn()
	}
	return sys.power == "On"
}

func (sys *System) setPhysLocked(on bool) {
	if sys.machine != nil {
		sys.machine.SetPower(on)
		return
	}
	sys.power = onOff(on)
}

func (sys *System) powerStateLocked() string {
	if len(sys.plan) > 0 {
		if sys.plan[0] {
			return "PoweringOn"
		}
		return "PoweringOff"
	}
	if sys.reported != "" {
		return sys.reported
	}
	return onOff(sys.physOnLocked())
}

func (sys *System) bootLocked() (enabled, target string) {
	if sys.machine != nil {
		t := sys.machine.NextBoot()
		if t == "" || t == "None" {
			return "Disabled", sys.bootTarget
		}
		en := sys.bootEnabled
		if en == "Disabled" {
			en = "Once"
		}
		return en, t
	}
	return sys.bootEnabled, sys.bootTarget
}

// cancelLocked stops a pending transition without applying it.
func (sys *System) cancelLocked() {
	sys.gen++
	sys.plan = nil
	if sys.timer != nil {
		sys.timer.Stop()
		sys.timer = nil
	}
}

// flushLocked applies a pending transition at once.
func (sys *System) flushLocked() {
	plan := sys.plan
	sys.cancelLocked()
	for _, on := range plan {
		sys.stepLocked(on)
	}
}

// stepLocked performs one power step; powering on is a boot.
func (sys *System) stepLocked(on bool) {
	if !on {
		sys.setPhysLocked(false)
		return
	}
	if sys.machine != nil {
		t := sys.machine.NextBoot()
		if t == "" {
			t = "None"
		}
		sys.boots = append(sys.boots, t)
		sys.machine.SetPower(true)
		if sys.machine.NextBoot() == "" {
			sys.bootEnabled = "Disabled"
		}
		return
	}
	used := "None"
	if sys.bootEnabled != "Disabled" {
		used = sys.bootTarget
	}
	sys.boots = append(sys.boots, used)
	if sys.bootEnabled == "Once" {
		sys.bootEnabled = "Disabled"
	}
	sys.power = "On"
}

// startLocked runs plan: at once without a delay, else one step per
// PowerDelay.
func (sys *System) startLocked(plan []bool) {
	sys.cancelLocked()
	delay := sys.srv.cfg.PowerDelay
	if delay <= 0 {
		for _, on := range plan {
			sys.stepLocked(on)
		}
		return
	}
	sys.plan = plan
	sys.scheduleLocked(delay)
}

func (sys *System) scheduleLocked(delay time.Duration) {
	gen := sys.gen
	sys.timer = time.AfterFunc(delay, func() {
		sys.mu.Lock()
		defer sys.mu.Unlock()
		if gen != sys.gen || len(sys.plan) == 0 {
			return
		}
		on := sys.plan[0]
		sys.plan = sys.plan[1:]
		sys.stepLocked(on)
		if len(sys.plan) > 0 {
			sys.scheduleLocked(delay)
		} else {
			sys.timer = nil
		}
		sys.changedLocked()
	})
}

// resetOutcome is what a Reset request leads to.
type resetOutcome int

const (
	resetDone resetOutcome = iota
	resetAlreadyOn
	resetAlreadyOff
)

// reset applies an accepted ResetType.
func (sys *System) reset(rt string, stuck bool) resetOutcome {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	defer sys.changedLocked()
	sys.flushLocked()
	sys.reported = ""
	on := sys.physOnLocked()
	if sys.srv.cfg.AlreadyInStateConflict {
		switch {
		case on && (rt == "On" || rt == "ForceOn"):
			return resetAlreadyOn
		case !on && (rt == "ForceOff" || rt == "GracefulShutdown"):
			return resetAlreadyOff
		}
	}
	sys.resets = append(sys.resets, rt)
	sys.lastReset = time.Now()
	if stuck {
		return resetDone
	}
	var plan []bool
	switch rt {
	case "On", "ForceOn":
		if !on {
			plan = []bool{true}
		}
	case "ForceOff", "GracefulShutdown":
		if on {
			plan = []bool{false}
		}
	case "GracefulRestart", "ForceRestart", "PowerCycle", "FullPowerCycle":
		if on {
			plan = []bool{false, true}
		} else {
			plan = []bool{true}
		}
	case "PushPowerButton":
		plan = []bool{!on}
	case "Nmi", "Suspend", "Pause", "Resume":
	}
	if len(plan) > 0 {
		sys.startLocked(plan)
	}
	return resetDone
}

// render returns the system resource and its ETag.
func (sys *System) render() ([]byte, string) {
	sys.mu.Lock()
	defer sys.mu.Unlock()
	return sys.renderLocked()
}

func (sys *System) renderLocked() ([]byte, string) {
	var m map[string]any
	if err := json.Unmarshal(sys.template, &m); err != nil {
		panic(err)
	}
	m["Id"] = sys.id
	m["SerialNumber"] = sys.serial
	m["UUID"] = sys.uuid
	m["AssetTag"] = sys.assetTag
	m["IndicatorLED"] = sys.led
	if ps := sys.powerStateLocked(); ps == "null" {
		m["PowerState"] = nil
	} else {
		m["PowerState"] = ps
	}
	if !sys.lastReset.IsZero() {
		m["LastResetTime"] = sys.lastReset.UTC().Format(time.RFC3339)
	}
	boot, _ := m["Boot"].(map[string]any)
	if boot == nil {
		boot = map[string]any{}
		m["Boot"] = boot
	}
	en, target := sys.bootLocked()
	boot["BootSourceOverrideEnabled"] = en
	boot["BootSourceOverrideTarget"] = target
	boot["BootSourceOverrideTarget@Redfish.AllowableValues"] = sys.bootTargets
	boot["BootSourceOverrideMode"] = sys.bootMode
	boot["UefiTargetBootSourceOverride"] = sys.uefiTarget
	if acts, ok := m["Actions"].(map[string]any); ok {
		if r, ok := acts["#ComputerSystem.Reset"].(map[string]any); ok {
			r["ResetType@Redfish.AllowableValues"] = sys.resetTypes
		}
	}
	m["Storage"] = odataID(sys.uri + "/Storage")
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	etag := etagOf(b)
	m["@odata.etag"] = etag
	b, err = json.MarshalIndent(m, "", "    ")
	if err != nil {
		panic(err)
	}
	return b, etag
}

// boot/patch validation data.
var (
	enabledValues = []string{"Disabled", "Once", "Continuous"}
	modeValues    = []string{"UEFI", "Legacy"}
	ledValues     = []string{"Lit", "Blinking", "Off"}
)

func (sys *System) allowsReset(rt string) bool { return slices.Contains(sys.resetTypes, rt) }
