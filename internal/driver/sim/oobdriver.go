package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// OOBDriver returns the simulated BMCs; the same driver serves every oob.type.
func (s *Site) OOBDriver() driver.OOBDriver { return oobDriver{s} }

type oobDriver struct{ s *Site }

var _ driver.OOBDriver = oobDriver{}

// CheckHealth reports whether the simulated BMCs' state can be read.
func (d oobDriver) CheckHealth(ctx context.Context) error { return d.s.checkHealth(ctx) }

func (d oobDriver) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	n, r, stop := d.s.siteFlap(ValidateServices)
	if stop {
		return r
	}
	if r, stop := d.s.siteFault(ctx, ValidateServices, n); stop {
		return r
	}
	return driver.OK("simulated BMCs are reachable")
}

func (d oobDriver) SetNextBoot(ctx context.Context, c driver.Call, dev driver.BootDevice) driver.Result {
	return d.s.with(ctx, c, SetBoot, func(t *call) driver.Result {
		m := t.m
		if dev != driver.BootPXE && dev != driver.BootDisk {
			return driver.Fail("unsupported boot device %q", dev)
		}
		if m.NextBoot == dev {
			return skipped("next boot is already %s", dev)
		}
		if r, stop := t.syncFault(ctx, SetBoot); stop {
			return r
		}
		if err := t.wait(ctx, SetBoot, 1); err != nil {
			return interrupted(SetBoot, err)
		}
		from := m.NextBoot
		m.NextBoot = dev
		t.log(LogSetBoot, fmt.Sprintf("%s (was %s), one time", dev, from))
		return driver.OK("next boot set to %s", dev)
	})
}

func (d oobDriver) Power(ctx context.Context, c driver.Call, a driver.PowerAction) driver.Result {
	return d.s.with(ctx, c, Power, func(t *call) driver.Result {
		m := t.m
		switch a {
		default:
			return driver.Fail("unsupported power action %q", a)
		case driver.PowerOn:
			if m.Power == driver.PowerStateOn {
				return skipped("already powered on")
			}
		case driver.PowerOff:
			if m.Power == driver.PowerStateOff {
				return skipped("already powered off")
			}
		case driver.PowerCycle:
			// Not idempotent: after an interruption, a cycle that happened since the step
			// started is the one the step asked for.
			if c.Resumed && !m.LastCycle.IsZero() && !m.LastCycle.Before(c.Since) {
				return skipped("already power-cycled at %s, after the step started at %s",
					m.LastCycle.UTC().Format(time.RFC3339Nano), c.Since.UTC().Format(time.RFC3339Nano))
			}
		}
		if r, stop := t.syncFault(ctx, Power); stop {
			return r
		}
		steps := 1
		if a == driver.PowerCycle {
			steps = 2 // off, verified, then on
		}
		if err := t.wait(ctx, Power, steps); err != nil {
			return interrupted(Power, err)
		}
		switch a {
		case driver.PowerOff:
			m.Power = driver.PowerStateOff
			t.log(LogPowerOff, "power off")
			return driver.OK("powered off")
		case driver.PowerOn:
			m.Power = driver.PowerStateOn
			t.log(LogPowerOn, t.boot())
			return driver.OK("powered on")
		}
		from := m.Power
		m.Power = driver.PowerStateOn
		m.LastCycle = t.now
		t.log(LogPowerCycle, fmt.Sprintf("was %s; %s", from, t.boot()))
		return driver.OK("power-cycled")
	})
}

// boot is what happens when the machine powers on: the one-time boot device is consumed, and
// a PXE boot of a machine unknown to the provisioner starts its enlistment. It returns the
// detail for the log.
func (t *call) boot() string {
	m := t.m
	dev := m.NextBoot
	m.NextBoot = driver.BootDisk
	if dev != driver.BootPXE {
		return "booted from disk"
	}
	switch {
	case m.Known():
		return "PXE boot; known to the provisioner (" + m.Status + ")"
	case m.Op == Enlist && m.Running(t.now):
		return "PXE boot; enlistment already under way"
	}
	m.SystemID = t.allocSystemID()
	t.start(Enlist)
	return fmt.Sprintf("PXE boot; enlisting as %s, %s", m.SystemID, plan(m))
}

func (d oobDriver) Interrogate(ctx context.Context, c driver.Call) driver.Result {
	return d.s.with(ctx, c, Interrogate, func(t *call) driver.Result {
		if r, stop := t.syncFault(ctx, Interrogate); stop {
			return r
		}
		if err := t.wait(ctx, Interrogate, 1); err != nil {
			return interrupted(Interrogate, err)
		}
		m := t.m
		nics := make([]map[string]any, len(m.NICs))
		for i, n := range m.NICs {
			nics[i] = map[string]any{"name": n.Name, "mac": n.MAC}
		}
		disks := make([]map[string]any, len(m.Disks))
		for i, dk := range m.Disks {
			disks[i] = map[string]any{"name": dk.Name, "size_bytes": dk.SizeBytes}
		}
		r := driver.OK("power %s, next boot %s", m.Power, m.NextBoot)
		r.Data = map[string]any{
			"power":       m.Power,
			"boot_device": string(m.NextBoot),
			"boot_mac":    m.BootMAC,
			"nics":        nics,
			"disks":       disks,
		}
		return r
	})
}
