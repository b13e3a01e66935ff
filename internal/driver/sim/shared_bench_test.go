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

// BenchmarkSharedDeployPath measures shared mode against the default mode: the deploy path of
// benchDeployPath (every machine at once, fake clock) over 1000 machines in one file,
//
//   - mode=default: one process, the default (cached, group-commit) mode;
//   - mode=shared/processes=1: one process in shared mode;
//   - mode=shared/processes=2: two processes in shared mode, each driving half the machines
//     (this test binary re-executed as the second process); ops/s counts the calls of both
//     over the wall time from the start signal until both are done;
//   - mode=shared/sites=2,same-machines: two shared sites in this process (two connections,
//     contending for SQLite's write lock exactly as two processes do) on one fake clock, both
//     driving every machine, so that they also contend for the machines' claims.
//
// ops/s counts driver calls.
func BenchmarkSharedDeployPath(b *testing.B) {
	const machines = 1000
	b.Run("mode=default", func(b *testing.B) {
		benchShared(b, func(path string) (int64, time.Duration, error) {
			clk := NewFakeClock(t0)
			s, err := Open(path, Config{Now: clk.Now, Sleep: clk.Sleep})
			if err != nil {
				return 0, 0, err
			}
			defer s.Close()
			nodes := benchNodes(0, machines)
			if err := s.Ensure(nodes...); err != nil {
				return 0, 0, err
			}
			start := time.Now()
			calls, err := driveAll(s, clk, nodes)
			return calls, time.Since(start), err
		})
	})
	b.Run("mode=shared/processes=1", func(b *testing.B) {
		benchShared(b, func(path string) (int64, time.Duration, error) {
			s, clk, nodes, err := benchSite(path, 0, machines)
			if err != nil {
				return 0, 0, err
			}
			defer s.Close()
			start := time.Now()
			calls, err := driveAll(s, clk, nodes)
			return calls, time.Since(start), err
		})
	})
	b.Run("mode=shared/processes=2", func(b *testing.B) {
		benchShared(b, func(path string) (int64, time.Duration, error) {
			s, clk, nodes, err := benchSite(path, 0, machines/2)
			if err != nil {
				return 0, 0, err
			}
			defer s.Close()
			h := startHelper(b, "bench", path, fmt.Sprintf("SIM_SHARED_FROM=%d", machines/2),
				fmt.Sprintf("SIM_SHARED_COUNT=%d", machines-machines/2))
			h.expect("READY")
			start := time.Now()
			h.send("GO")
			calls, err := driveAll(s, clk, nodes)
			if err != nil {
				return 0, 0, err
			}
			mine := time.Since(start)
			var other int64
			var theirs time.Duration
			_, err = fmt.Sscan(h.expect("CALLS"), &other, &theirs)
			elapsed := time.Since(start)
			h.wait()
			b.Logf("this process: %d calls in %v; the other: %d calls in %v", calls, mine.Round(time.Millisecond),
				other, theirs.Round(time.Millisecond))
			return calls + other, elapsed, err
		})
	})
	b.Run("mode=shared/sites=2,same-machines", func(b *testing.B) {
		benchShared(b, func(path string) (int64, time.Duration, error) {
			a, clk, nodes, err := benchSite(path, 0, machines)
			if err != nil {
				return 0, 0, err
			}
			defer a.Close()
			c, err := Open(path, Config{Shared: true, Now: clk.Now, Sleep: clk.Sleep})
			if err != nil {
				return 0, 0, err
			}
			defer c.Close()
			start := time.Now()
			var wg sync.WaitGroup
			var calls atomic.Int64
			errs := make(chan error, 2)
			for _, s := range []*Site{a, c} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := driveAll(s, clk, nodes)
					calls.Add(n)
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			return calls.Load(), time.Since(start), <-errs
		})
	})
}

func benchShared(b *testing.B, run func(path string) (int64, time.Duration, error)) {
	var calls int64
	var wall time.Duration
	for i := 0; i < b.N; i++ {
		n, d, err := run(filepath.Join(b.TempDir(), "sim.db"))
		if err != nil {
			b.Fatal(err)
		}
		calls += n
		wall += d
	}
	b.ReportMetric(float64(calls)/wall.Seconds(), "ops/s")
}

func benchNodes(from, count int) []*design.Node {
	nodes := make([]*design.Node, count)
	for i := range nodes {
		nodes[i] = testNode(fmt.Sprintf("node%05d", from+i))
	}
	return nodes
}

// benchSite opens a shared site on a fake clock and Ensures count nodes from the given index.
func benchSite(path string, from, count int) (*Site, *FakeClock, []*design.Node, error) {
	clk := NewFakeClock(t0)
	s, err := Open(path, Config{Shared: true, Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		return nil, nil, nil, err
	}
	nodes := benchNodes(from, count)
	if err := s.Ensure(nodes...); err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	return s, clk, nodes, nil
}

// driveAll runs deployPath on every node at once and returns the number of driver calls.
func driveAll(s *Site, clk *FakeClock, nodes []*design.Node) (int64, error) {
	var wg sync.WaitGroup
	var calls atomic.Int64
	errs := make(chan error, len(nodes))
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := deployPath(context.Background(), nil, s, clk, n)
			calls.Add(int64(c))
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return calls.Load(), <-errs
}
