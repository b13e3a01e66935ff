package ipmisim

import (
	"slices"
	"sync"
	"time"
)

// Event is one change a MemoryChassis went through.
type Event struct {
	Time time.Time
	// What happened: "power on", "power off", "power cycle", "bootdev pxe once",
	// "bootdev disk persistent", "bootdev none", or "boot pxe" when a power on consumed a
	// boot device override.
	What string
}

// MemoryChassis is a Chassis in memory that records every change. It starts powered off with
// no boot override. A power on boots from the override, if any, and clears a one-time one.
type MemoryChassis struct {
	mu         sync.Mutex
	on         bool
	dev        string
	persistent bool
	lastBoot   string
	events     []Event
}

var _ Chassis = (*MemoryChassis)(nil)
var _ PowerCycler = (*MemoryChassis)(nil)

// NewMemoryChassis returns a machine that is off, with no boot override.
func NewMemoryChassis() *MemoryChassis { return &MemoryChassis{dev: BootNone} }

func (c *MemoryChassis) record(what string) {
	c.events = append(c.events, Event{Time: time.Now(), What: what})
}

// PowerOn reports the power state.
func (c *MemoryChassis) PowerOn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

// SetPower powers on or off; it records the request even when the state does not change.
func (c *MemoryChassis) SetPower(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !on {
		c.on = false
		c.record("power off")
		return nil
	}
	c.record("power on")
	if !c.on {
		c.boot()
	}
	c.on = true
	return nil
}

// PowerCycle powers off and on again (or just on when off), recorded as one "power cycle".
func (c *MemoryChassis) PowerCycle() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("power cycle")
	c.on = true
	c.boot()
	return nil
}

// boot starts the machine: it boots from the override and clears a one-time one.
func (c *MemoryChassis) boot() {
	c.lastBoot = c.dev
	if c.dev != BootNone {
		c.record("boot " + c.dev)
	}
	if !c.persistent {
		c.dev = BootNone
	}
}

// BootDevice is the next boot device, "none" when no override is set.
func (c *MemoryChassis) BootDevice() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dev
}

// SetBootDevice sets the next boot device.
func (c *MemoryChassis) SetBootDevice(dev string, persistent bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dev == "" {
		dev = BootNone
	}
	c.dev, c.persistent = dev, persistent && dev != BootNone
	switch {
	case dev == BootNone:
		c.record("bootdev none")
	case c.persistent:
		c.record("bootdev " + dev + " persistent")
	default:
		c.record("bootdev " + dev + " once")
	}
	return nil
}

// LastBoot is the boot device the last power on used ("none": the machine's own order; "" if
// it never booted).
func (c *MemoryChassis) LastBoot() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastBoot
}

// Events returns the recorded events, oldest first.
func (c *MemoryChassis) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// History returns what the recorded events were, oldest first.
func (c *MemoryChassis) History() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.events))
	for i, e := range c.events {
		out[i] = e.What
	}
	return out
}

// Count is how many recorded events were what.
func (c *MemoryChassis) Count(what string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.events {
		if e.What == what {
			n++
		}
	}
	return n
}
