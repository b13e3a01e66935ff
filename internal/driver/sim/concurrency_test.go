package sim

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// TestConcurrentMachines drives 500 machines at once, each by two goroutines (as if two
// orchestrators raced on it), while others read the machines and the log. Every machine ends
// Deployed with exactly one enlistment, one commissioning and one deployment, and the file
// holds exactly what memory holds.
func TestConcurrentMachines(t *testing.T) {
	const machines = 500
	e := newEnv(t, "file", Config{Seed: 1, Jitter: 0.2})
	nodes := make([]*design.Node, machines)
	for i := range nodes {
		nodes[i] = testNode(fmt.Sprintf("n%03d", i))
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()

	var readers sync.WaitGroup
	var reads atomic.Int64
	for i := 0; i < 4; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for ctx.Err() == nil {
				if _, err := e.site.Machines(ctx); err != nil && ctx.Err() == nil {
					t.Error(err)
				}
				if _, err := e.site.Log(ctx, "n001"); err != nil && ctx.Err() == nil {
					t.Error(err)
				}
				e.oob.Interrogate(ctx, callFor(nodes[int(reads.Add(1))%machines], "watch"))
				time.Sleep(time.Millisecond)
			}
		}()
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2*machines)
	for _, n := range nodes {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := deployPath(ctx, t, e.site, e.clk, n); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	cancel()
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	counts := map[string]map[string]int{}
	log, err := e.site.Log(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range log {
		if counts[o.Node] == nil {
			counts[o.Node] = map[string]int{}
		}
		counts[o.Node][o.Operation]++
	}
	for _, n := range nodes {
		c := counts[n.Name]
		for _, op := range []string{LogCreate, LogEnlisted, LogCommission, LogCommissioned, LogDeploy,
			LogApplyNetworking, LogApplyStorage, LogApplyPlatform} {
			if c[op] != 1 {
				t.Fatalf("%s: %d × %s (%v)", n.Name, c[op], op, c)
			}
		}
		if c[LogPowerCycle] < 1 || c[LogPowerCycle] > 2 {
			t.Fatalf("%s: %d power cycles", n.Name, c[LogPowerCycle])
		}
		if m := e.machine(n.Name); m.Status != StatusDeployed && m.Status != StatusDeploying {
			t.Fatalf("%s: %s", n.Name, m.Status)
		}
	}
	ids := map[string]string{}
	mem := must(e.site.Machines(e.ctx))
	for _, m := range mem {
		if other, dup := ids[m.SystemID]; dup {
			t.Fatalf("system id %s of %s and %s", m.SystemID, m.Name, other)
		}
		ids[m.SystemID] = m.Name
	}

	// What is on disk is what was returned.
	e.reopen()
	disk := must(e.site.Machines(e.ctx))
	if fmt.Sprint(stable(mem)) != fmt.Sprint(stable(disk)) {
		t.Fatal("machines on disk differ from machines in memory")
	}
}

// stable drops what legitimately differs between a cached and a reloaded machine (time zones).
func stable(ms []Machine) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s %s %s %s %s %d %s %s %s %v %d %d", m.Name, m.Status, m.SystemID, m.Power, m.NextBoot,
			m.LastCycle.UnixNano(), m.Op, m.Networking, m.Platform, m.OpDone, m.Deploys, m.Seq)
	}
	return out
}

// TestOneOperationPerMachine: a slow operation on one machine holds that machine only.
func TestOneOperationPerMachine(t *testing.T) {
	clk := NewFakeClock(t0)
	release := make(chan struct{})
	var blocked atomic.Int32
	s, err := Open("", Config{Now: clk.Now, Sleep: func(ctx context.Context, d time.Duration) error {
		if d == 0 {
			return nil
		}
		blocked.Add(1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, Latency: map[Kind]time.Duration{Interrogate: 0}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	oob := s.OOBDriver()
	ctx := context.Background()
	a, b := testNode("a"), testNode("b")
	s.Ensure(a, b)

	done := make(chan driver.Result)
	go func() { done <- oob.Power(ctx, callFor(a, "1"), driver.PowerOn) }()
	for blocked.Load() == 0 {
		time.Sleep(100 * time.Microsecond)
	}
	// Machine b is free.
	want(t, "other machine", oob.Interrogate(ctx, callFor(b, "2")), driver.Done, false)
	// Machine a is busy: a call with a short deadline gives up without effect.
	short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	want(t, "busy machine", oob.Power(short, callFor(a, "3"), driver.PowerOff), driver.Unreachable, false)
	close(release)
	want(t, "slow power on", <-done, driver.Done, false)
	m, _ := s.Machine("a")
	eq(t, "power", m.Power, driver.PowerStateOn)
}
