package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/client"
	"github.com/drydock-go/drydock/internal/task"
)

// Request kinds.
const (
	kindGet    = 0 // GET /api/v1.0/tasks/{id} of a random seeded task
	kindCreate = 1 // POST /api/v1.0/tasks {action: deploy_nodes}
	nKinds     = 2
)

var kindNames = [nKinds]string{"GET /tasks/{id}", "POST /tasks"}

// phase is one measured load: the share of creations among its requests.
type phase struct {
	name   string
	create float64 // 0: only reads, 1: only creations
}

var phases = map[string]phase{
	"get":    {"GET /tasks/{id}", 0},
	"create": {"POST /tasks", 1},
	"mixed":  {"mixed 50/50", 0.5},
}

// latencies are one run's request latencies by kind.
type latencies [nKinds][]time.Duration

// load is a phase's outcome, before the CPU figures are added.
type load struct {
	wall     time.Duration
	lat      latencies
	errors   int64
	firstErr string
	created  int64
}

// drive runs clients concurrent loops of requests against the API until the duration has
// passed or, with requests > 0, until that many requests were sent. Every request's latency
// is the time from the call to the decoded answer, as the Go client sees it.
func drive(ctx context.Context, c *client.Client, ids []uuid.UUID, p phase, design string, clients int, dur time.Duration, requests int64, seed uint64) load {
	var out load
	var mu sync.Mutex
	var sent atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	deadline := start.Add(dur)
	for w := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			var lat latencies
			var errs, created int64
			var firstErr string
			for ctx.Err() == nil {
				if requests > 0 {
					if sent.Add(1) > requests {
						break
					}
				} else if time.Now().After(deadline) {
					break
				}
				k := kindGet
				if p.create >= 1 || (p.create > 0 && rng.Float64() < p.create) {
					k = kindCreate
				}
				t0 := time.Now()
				var err error
				switch k {
				case kindGet:
					id := ids[rng.IntN(len(ids))]
					var t *wire.Task
					t, err = c.GetTask(ctx, id, client.TaskOptions{})
					if err == nil && t.TaskID != id.String() {
						err = fmt.Errorf("GET /tasks/%s answered task %s", id, t.TaskID)
					}
				case kindCreate:
					var t *wire.Task
					t, err = c.CreateTask(ctx, task.ActionDeployNodes, design, nil)
					if err == nil && (t.Status != string(task.StatusQueued) || t.Action != task.ActionDeployNodes) {
						err = fmt.Errorf("POST /tasks answered a %s task in status %s", t.Action, t.Status)
					}
					if err == nil {
						created++
					}
				}
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					errs++
					if firstErr == "" {
						firstErr = kindNames[k] + ": " + err.Error()
					}
					continue
				}
				lat[k] = append(lat[k], d)
			}
			mu.Lock()
			defer mu.Unlock()
			for k := range lat {
				out.lat[k] = append(out.lat[k], lat[k]...)
			}
			out.errors += errs
			out.created += created
			if out.firstErr == "" {
				out.firstErr = firstErr
			}
		})
	}
	wg.Wait()
	out.wall = time.Since(start)
	for k := range out.lat {
		slices.Sort(out.lat[k])
	}
	return out
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func merged(l latencies) []time.Duration {
	all := slices.Concat(l[:]...)
	slices.Sort(all)
	return all
}
