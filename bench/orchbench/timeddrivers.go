package main

import (
	"context"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// driverMethods are the driver calls the two workflows make, timed by the wrappers below.
var driverMethods = []string{"node.IdentifyNode", "oob.SetNextBoot", "oob.Power", "node.ConfigureHardware",
	"node.ApplyNetworking", "node.ApplyStorage", "node.ApplyPlatform", "node.Deploy", "other"}

type driverStats map[string]*stat

func newDriverStats() driverStats {
	s := driverStats{}
	for _, m := range driverMethods {
		s[m] = &stat{}
	}
	return s
}

func (s driverStats) rec(m string, t0 time.Time) { s[m].add(time.Since(t0)) }

// timedNode times every NodeDriver call.
type timedNode struct {
	d driver.NodeDriver
	s driverStats
	// report plays a deployed node: it reports its signaling boot actions (through the
	// store, as the API would), so that bootaction_report ends at once.
	report func(ctx context.Context, ba *driver.BootActions)
}

func (t timedNode) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	defer t.s.rec("other", time.Now())
	return t.d.ValidateServices(ctx, site)
}

func (t timedNode) PrepareSite(ctx context.Context, op string, site *design.Site) driver.Result {
	defer t.s.rec("other", time.Now())
	return t.d.PrepareSite(ctx, op, site)
}

func (t timedNode) IdentifyNode(ctx context.Context, c driver.Call) driver.Result {
	defer t.s.rec("node.IdentifyNode", time.Now())
	return t.d.IdentifyNode(ctx, c)
}

func (t timedNode) ConfigureHardware(ctx context.Context, c driver.Call) driver.Result {
	defer t.s.rec("node.ConfigureHardware", time.Now())
	return t.d.ConfigureHardware(ctx, c)
}

func (t timedNode) ApplyNetworking(ctx context.Context, c driver.Call) driver.Result {
	defer t.s.rec("node.ApplyNetworking", time.Now())
	return t.d.ApplyNetworking(ctx, c)
}

func (t timedNode) ApplyStorage(ctx context.Context, c driver.Call) driver.Result {
	defer t.s.rec("node.ApplyStorage", time.Now())
	return t.d.ApplyStorage(ctx, c)
}

func (t timedNode) ApplyPlatform(ctx context.Context, c driver.Call) driver.Result {
	defer t.s.rec("node.ApplyPlatform", time.Now())
	return t.d.ApplyPlatform(ctx, c)
}

func (t timedNode) Deploy(ctx context.Context, c driver.Call) driver.Result {
	t0 := time.Now()
	res := t.d.Deploy(ctx, c)
	t.s.rec("node.Deploy", t0)
	if res.Outcome == driver.Done && c.BootActions != nil && t.report != nil {
		t.report(ctx, c.BootActions)
	}
	return res
}

func (t timedNode) Destroy(ctx context.Context, c driver.Call) driver.Result {
	defer t.s.rec("other", time.Now())
	return t.d.Destroy(ctx, c)
}

// timedOOB times every OOBDriver call.
type timedOOB struct {
	d driver.OOBDriver
	s driverStats
}

func (t timedOOB) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	defer t.s.rec("other", time.Now())
	return t.d.ValidateServices(ctx, site)
}

func (t timedOOB) SetNextBoot(ctx context.Context, c driver.Call, dev driver.BootDevice) driver.Result {
	defer t.s.rec("oob.SetNextBoot", time.Now())
	return t.d.SetNextBoot(ctx, c, dev)
}

func (t timedOOB) Power(ctx context.Context, c driver.Call, a driver.PowerAction) driver.Result {
	defer t.s.rec("oob.Power", time.Now())
	return t.d.Power(ctx, c, a)
}

func (t timedOOB) Interrogate(ctx context.Context, c driver.Call) driver.Result {
	defer t.s.rec("other", time.Now())
	return t.d.Interrogate(ctx, c)
}
