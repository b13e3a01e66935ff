// Package manual is the OOB driver for nodes without a BMC Drydock can reach (oob.type
// manual): an operator powers and boots them by hand. Every call succeeds at once with a
// message that says exactly what the operator must do for that node, and records (in the
// result's data) that no automated check was possible. The steps that follow — finding the
// node in the provisioner, commissioning it — wait for the operator's action with their own
// timeouts, so nothing here sleeps.
package manual

import (
	"context"
	"fmt"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// Driver is the manual OOB driver.
type Driver struct{}

var _ driver.OOBDriver = Driver{}

// unverified is the data every result carries.
func unverified(r driver.Result, instruction string) driver.Result {
	r.Data = map[string]any{"manual": true, "verified": false, "operator_action": instruction}
	return r
}

// ValidateServices needs nothing.
func (Driver) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	n := 0
	for _, node := range site.Nodes {
		if node.OOBType == "manual" {
			n++
		}
	}
	return driver.OK("manual: %d nodes are powered and booted by an operator; nothing to check", n)
}

// SetNextBoot tells the operator to set the next boot device.
func (Driver) SetNextBoot(ctx context.Context, c driver.Call, dev driver.BootDevice) driver.Result {
	what := "from the network (PXE)"
	if dev == driver.BootDisk {
		what = "from its disk"
	}
	mac := ""
	if c.Node.BootMAC != "" {
		mac = fmt.Sprintf(" using the NIC with MAC %s", c.Node.BootMAC)
	}
	instr := fmt.Sprintf("make node %s boot %s%s on its next boot", c.Node.Name, what, mac)
	return unverified(driver.OK("MANUAL ACTION for node %s: %s. Drydock cannot check this (oob type manual).", c.Node.Name, instr), instr)
}

// Power tells the operator to change the power state.
func (Driver) Power(ctx context.Context, c driver.Call, a driver.PowerAction) driver.Result {
	var instr string
	switch a {
	case driver.PowerOn:
		instr = fmt.Sprintf("power node %s on", c.Node.Name)
	case driver.PowerOff:
		instr = fmt.Sprintf("power node %s off", c.Node.Name)
	case driver.PowerCycle:
		instr = fmt.Sprintf("power-cycle node %s now (off, then on) so that it boots as set", c.Node.Name)
	default:
		return driver.Fail("node %s: unknown power action %q", c.Node.Name, a)
	}
	r := driver.OK("MANUAL ACTION for node %s: %s. Drydock cannot check this (oob type manual).", c.Node.Name, instr)
	r.State = &driver.NodeState{Power: driver.PowerStateUnknown, Observed: time.Now()}
	return unverified(r, instr)
}

// Interrogate reports that nothing can be read.
func (Driver) Interrogate(ctx context.Context, c driver.Call) driver.Result {
	r := driver.OK("node %s is managed by hand (oob type manual): its power state cannot be read", c.Node.Name)
	r.State = &driver.NodeState{Power: driver.PowerStateUnknown, Observed: time.Now()}
	return unverified(r, "")
}
