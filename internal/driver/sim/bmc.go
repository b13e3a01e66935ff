package sim

import (
	"context"
	"fmt"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// BMC is a simulated machine's baseboard management controller as a BMC server sees it: the
// hardware side of IPMI or Redfish. Protocol servers (ipmisim, redfishsim) put it on the
// network, so that the real OOB drivers act on the simulated site: a power-on with a one-time
// PXE boot starts the machine's enlistment exactly as it does through the simulated OOB
// driver. Every change is recorded in the operation log.
type BMC struct {
	s    *Site
	node *design.Node
}

// BMC returns the BMC of a node's machine (creating the machine when needed).
func (s *Site) BMC(n *design.Node) (*BMC, error) {
	if _, err := s.ensure([]*design.Node{n}); err != nil && !s.cfg.Shared {
		return nil, fmt.Errorf("simulated BMC of %s: %w", n.Name, err)
	}
	return &BMC{s: s, node: n}, nil
}

// PowerOn reports whether the machine is powered on.
func (b *BMC) PowerOn() bool {
	m, ok := b.s.Machine(b.node.Name)
	return ok && m.Power == driver.PowerStateOn
}

// NextBoot is the one-time next boot device: "pxe" or "disk".
func (b *BMC) NextBoot() string {
	m, _ := b.s.Machine(b.node.Name)
	return string(m.NextBoot)
}

// SetPower powers the machine on or off (hard). Powering on consumes the one-time boot device.
func (b *BMC) SetPower(ctx context.Context, on bool) error {
	r := b.s.with(ctx, driver.Call{Node: b.node}, Power, func(t *call) driver.Result {
		m := t.m
		switch {
		case on && m.Power != driver.PowerStateOn:
			m.Power = driver.PowerStateOn
			t.log(LogPowerOn, "via BMC; "+t.boot())
		case !on && m.Power != driver.PowerStateOff:
			m.Power = driver.PowerStateOff
			t.log(LogPowerOff, "via BMC")
		}
		return driver.OK("")
	})
	if r.Outcome != driver.Done {
		return fmt.Errorf("%s", r.Message)
	}
	return nil
}

// SetNextBoot sets the one-time next boot device ("pxe" or "disk").
func (b *BMC) SetNextBoot(ctx context.Context, dev string) error {
	bd := driver.BootDevice(dev)
	if bd != driver.BootPXE && bd != driver.BootDisk {
		return fmt.Errorf("unsupported boot device %q", dev)
	}
	r := b.s.with(ctx, driver.Call{Node: b.node}, SetBoot, func(t *call) driver.Result {
		if t.m.NextBoot != bd {
			from := t.m.NextBoot
			t.m.NextBoot = bd
			t.log(LogSetBoot, fmt.Sprintf("via BMC: %s (was %s), one time", bd, from))
		}
		return driver.OK("")
	})
	if r.Outcome != driver.Done {
		return fmt.Errorf("%s", r.Message)
	}
	return nil
}
