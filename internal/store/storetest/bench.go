package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// BenchmarkFinishStep measures lease-guarded writes: each operation starts and then finishes
// one step run of a task (two write transactions), from 8×GOMAXPROCS goroutines at once. It
// reports steps/s and writes/s (transactions per second). s must be empty.
func BenchmarkFinishStep(b *testing.B, s store.Store) {
	ctx := context.Background()
	tk := newTask(task.ActionNoop, task.StatusQueued, t0)
	if err := s.CreateTask(ctx, tk); err != nil {
		b.Fatal(err)
	}
	_, l, err := s.ClaimTask(ctx, "bench", nil, 24*time.Hour, t0)
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 1000
	for from := 0; from < b.N; from += chunk {
		var runs []task.StepRun
		for i := from; i < min(from+chunk, b.N); i++ {
			runs = append(runs, task.StepRun{TaskID: tk.ID, Step: "deploy", Node: benchNode(i), Ordinal: 1})
		}
		if err := s.CreateStepRuns(ctx, l, runs); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			node := benchNode(int(next.Add(1) - 1))
			if _, err := s.StartStep(ctx, l, tk.ID, "deploy", node, t0); err != nil {
				b.Error(err)
				return
			}
			if err := s.FinishStep(ctx, l, tk.ID, "deploy", node, task.StepSucceeded, "ok", []byte(`{"ok":true}`), t0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if secs := b.Elapsed().Seconds(); secs > 0 {
		b.ReportMetric(float64(b.N)/secs, "steps/s")
		b.ReportMetric(float64(2*b.N)/secs, "writes/s")
	}
}

func benchNode(i int) string { return fmt.Sprintf("node-%08d", i) }
