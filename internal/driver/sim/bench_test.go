package sim

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
)

// BenchmarkDeployPath measures the simulator's own cost: Ensure N machines in a file-backed
// site, then drive every machine at once (one goroutine each) through power cycle → identify
// → commission → apply ×3 → deploy on a fake clock that the goroutines push forward. ops/s
// counts driver calls, writes/s the operations recorded.
func BenchmarkDeployPath(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("machines=%d", n), func(b *testing.B) { benchDeployPath(b, n) })
	}
}

func benchDeployPath(b *testing.B, machines int) {
	nodes := make([]*design.Node, machines)
	for i := range nodes {
		nodes[i] = testNode(fmt.Sprintf("node%05d", i))
	}
	var calls, logged int64
	var ensure, drive time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clk := NewFakeClock(t0)
		s, err := Open(filepath.Join(b.TempDir(), "sim.db"), Config{Now: clk.Now, Sleep: clk.Sleep})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := s.Ensure(nodes...); err != nil {
			b.Fatal(err)
		}
		ensure += time.Since(start)

		start = time.Now()
		var wg sync.WaitGroup
		var n atomic.Int64
		for _, node := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := deployPath(context.Background(), b, s, clk, node)
				n.Add(int64(c))
				if err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		drive += time.Since(start)
		calls += n.Load()
		b.StopTimer()
		log, err := s.Log(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		logged += int64(len(log) - machines) // without the creates
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/drive.Seconds(), "ops/s")
	b.ReportMetric(float64(logged)/drive.Seconds(), "writes/s")
	b.ReportMetric(float64(machines*b.N)/ensure.Seconds(), "ensured/s")
	b.ReportMetric(float64(calls)/float64(b.N*machines), "calls/machine")
}
