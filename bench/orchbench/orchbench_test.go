package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design/sitegen"
	"github.com/drydock-go/drydock/internal/driver/sim"
)

// TestCoverage fails when store.Store gains a method that the counting decorator does not
// count (it would otherwise pass through uncounted and the writes per node would be wrong).
func TestCoverage(t *testing.T) {
	if err := checkCoverage(); err != nil {
		t.Fatal(err)
	}
}

func TestHistogram(t *testing.T) {
	for _, ns := range []int64{0, 1, 15, 16, 17, 100, 1000, 123456789, 2e9, 2e9 + 1, 1 << 62} {
		b := bucket(ns)
		if b < 0 || b >= numBuckets {
			t.Fatalf("bucket(%d) = %d, out of range", ns, b)
		}
		if m := bucketMid(b); m < float64(ns)*0.96 || m > float64(ns)*1.04+1 {
			t.Errorf("bucket(%d) = %d, whose middle %v is more than 4%% off", ns, b, m)
		}
	}
	var s stat
	for i := 1; i <= 100; i++ {
		s.add(time.Duration(i) * time.Millisecond)
	}
	o := s.out()
	if o.N != 100 || o.MaxMS != 100 || o.MeanMS < 50 || o.MeanMS > 51 || o.P50MS < 48 || o.P50MS > 53 || o.P99MS < 95 || o.P99MS > 103 {
		t.Errorf("stat of 1..100 ms: %+v", o)
	}
}

func TestCriticalPath(t *testing.T) {
	c := critical(simLatency(2 * time.Second))
	if c.prepareD() != 14*time.Second || c.deployD() != 8*time.Second || c.total() != 22*time.Second {
		t.Fatalf("critical path at 2s: prepare %s, deploy %s, total %s; want 14s, 8s, 22s", c.prepareD(), c.deployD(), c.total())
	}
	// Kinds the configuration does not name take the simulator's defaults.
	d := critical(nil)
	want := 2*sim.DefaultLatency[sim.Identify] + sim.DefaultLatency[sim.SetBoot] + 2*sim.DefaultLatency[sim.Power] +
		sim.DefaultLatency[sim.Enlist] + sim.DefaultLatency[sim.Commission]
	if d.prepareD() != want {
		t.Fatalf("critical path with default latencies: %s, want %s", d.prepareD(), want)
	}
}

// TestSmallRun drives a few nodes through both tasks on SQLite in-process (what a child does)
// and checks the counts the report is made of.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the orchestrator")
	}
	dir := t.TempDir()
	const n = 5
	design := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(design, sitegen.Bytes(sitegen.Options{Nodes: n}), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := measure(spec{Nodes: n, Backend: "sqlite", Dir: dir, Design: design, Latency: 20 * time.Millisecond,
		PollInterval: time.Second, LeaseFor: 30 * time.Second, DriverCalls: 256, MaxTasks: 16, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deployed != n {
		t.Errorf("%d machines Deployed, want %d", res.Deployed, n)
	}
	// Ten steps (five of prepare_nodes, five of deploy_nodes with bootaction_report), each
	// started and finished once per node.
	for _, m := range []string{"StartStep", "FinishStep"} {
		if got := res.Writes[m].N; got != 10*n {
			t.Errorf("%s: %d calls, want %d", m, got, 10*n)
		}
	}
	if res.SimOpsTotal != 11*n {
		t.Errorf("%d simulator log entries, want %d (11 per node)", res.SimOpsTotal, 11*n)
	}
	if len(res.Phases) != 2 || res.Phases[0].NodesDone != n || res.Phases[1].NodesDone != n {
		t.Errorf("phases: %+v", res.Phases)
	}
	cp := critical(simLatency(20 * time.Millisecond)).total().Seconds()
	if res.BothWall < cp*0.8 {
		t.Errorf("both tasks took %.3fs, less than the critical path %.3fs allows", res.BothWall, cp)
	}
}
