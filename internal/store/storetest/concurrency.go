package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// claimAll has workers goroutines per store claim until nothing is left, and returns every
// claimed task id (with repetitions, if a task was claimed twice).
func claimAll(t *testing.T, stores []store.Store, workers int, now time.Time) []uuid.UUID {
	t.Helper()
	var (
		mu      sync.Mutex
		claimed []uuid.UUID
		errs    []error
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for si, s := range stores {
		for w := range workers {
			wg.Go(func() {
				<-start
				owner := fmt.Sprintf("proc%d-worker%d", si, w)
				for {
					tk, l, err := s.ClaimTask(context.Background(), owner, nil, leaseFor, now)
					if errors.Is(err, store.ErrNoTask) {
						return
					}
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					if tk.ID != l.TaskID || tk.Status != task.StatusRunning {
						errs = append(errs, fmt.Errorf("claimed %s (%s) with lease on %s", tk.ID, tk.Status, l.TaskID))
					}
					claimed = append(claimed, tk.ID)
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	return claimed
}

func testConcurrentClaims(t *testing.T, open Open) {
	s := open(t)
	var want []uuid.UUID
	for i := range 50 {
		want = append(want, create(t, s, task.ActionNoop, task.StatusQueued, at(time.Duration(i)*time.Millisecond)).ID)
	}
	got := claimAll(t, []store.Store{s}, 20, at(time.Second))
	eq(t, sortedIDs(got), sortedIDs(want), "claimed tasks (each exactly once)")
}

func testTwoProcessesClaim(t *testing.T, open Open) {
	s1 := open(t)
	s2 := open(t) // the same database, other connections: another process
	var want []uuid.UUID
	for i := range 60 {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		want = append(want, create(t, s, task.ActionNoop, task.StatusQueued, at(time.Duration(i)*time.Millisecond)).ID)
	}
	got := claimAll(t, []store.Store{s1, s2}, 6, at(time.Second))
	eq(t, sortedIDs(got), sortedIDs(want), "claimed tasks (each exactly once)")

	// Head to head, many times: one task, both processes claim at the same moment, one wins.
	// Half of the rounds race for an expired lease instead of a queued task.
	for round := range 20 {
		now := at(time.Hour + time.Duration(round)*time.Hour)
		action := fmt.Sprintf("race%d", round)
		tk := create(t, s1, action, task.StatusQueued, now)
		if round%2 == 1 {
			claim(t, s2, "dead", now.Add(-2*leaseFor), action) // expired by now
		}
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			wins  atomic.Int32
			gens  [2]int64
		)
		for i, s := range []store.Store{s1, s2} {
			wg.Go(func() {
				<-start
				got, l, err := s.ClaimTask(context.Background(), fmt.Sprintf("proc%d", i), []string{action}, leaseFor, now)
				switch {
				case errors.Is(err, store.ErrNoTask):
				case err != nil:
					t.Errorf("round %d: process %d: %v", round, i, err)
				case got.ID != tk.ID:
					t.Errorf("round %d: process %d claimed %s, want %s", round, i, got.ID, tk.ID)
				default:
					wins.Add(1)
					gens[i] = l.Generation
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d processes claimed the task, want 1", round, n)
		}
		if want := int64(1 + round%2); gens[0]+gens[1] != want {
			t.Fatalf("round %d: generation %d, want %d", round, gens[0]+gens[1], want)
		}
		// Each process sees what the other wrote.
		eq(t, get(t, s1, tk.ID).Status, task.StatusRunning, "status seen by process 1")
		eq(t, get(t, s2, tk.ID).Status, task.StatusRunning, "status seen by process 2")
	}
}

func testConcurrentStepFinishes(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk, l := running(t, s, "a", t0)
	const n = 200
	var runs []task.StepRun
	for i := range n {
		runs = append(runs, task.StepRun{TaskID: tk.ID, Step: "deploy", Node: name("n", i), Ordinal: 1})
	}
	must(t, s.CreateStepRuns(ctx, l, runs), "create")
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, 2*n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			node := name("n", i)
			if _, err := s.StartStep(ctx, l, tk.ID, "deploy", node, at(time.Second)); err != nil {
				errs <- fmt.Errorf("start %s: %w", node, err)
				return
			}
			if err := s.FinishStep(ctx, l, tk.ID, "deploy", node, task.StepSucceeded, "ok", []byte(`{}`), at(2*time.Second)); err != nil {
				errs <- fmt.Errorf("finish %s: %w", node, err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := s.ListStepRuns(ctx, tk.ID)
	must(t, err, "list")
	eq(t, len(list), n, "runs")
	for i, r := range list {
		if r.Node != name("n", i) || r.State != task.StepSucceeded || r.Attempts != 1 {
			t.Fatalf("run %d: %s %s attempts %d", i, r.Node, r.State, r.Attempts)
		}
	}
}

func testConcurrentSubtasks(t *testing.T, open Open) {
	s := open(t)
	parent := create(t, s, task.ActionPrepareNodes, task.StatusRunning, t0)
	const n = 30
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		want []uuid.UUID
	)
	for i := range n {
		wg.Go(func() {
			c := newTask("step", task.StatusRequested, t0)
			c.ParentID, c.Step = &parent.ID, name("step", i)
			if err := s.CreateTask(context.Background(), c); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			want = append(want, c.ID)
			mu.Unlock()
		})
	}
	wg.Wait()
	got := get(t, s, parent.ID).SubtaskIDs
	eq(t, sortedIDs(got), sortedIDs(want), "subtasks registered concurrently")
}

func testConcurrentReservations(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	const n = 8
	leases := make([]task.Lease, n)
	for i := range n {
		_, leases[i] = running(t, s, name("owner", i), t0)
	}
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		winners []int
		busies  []map[string]uuid.UUID
	)
	for i := range n {
		wg.Go(func() {
			<-start
			// Each asks in its own order; the store must not deadlock.
			mine := append(append([]string{}, nodes[i%len(nodes):]...), nodes[:i%len(nodes)]...)
			busy, err := s.ReserveNodes(context.Background(), leases[i], mine)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("reserve by %d: %v", i, err)
			case len(busy) == 0:
				winners = append(winners, i)
			default:
				busies = append(busies, busy)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d tasks reserved the same nodes, want 1", len(winners))
	}
	// Queue order: the oldest task (created first; ties broken by id) gets the nodes, and every
	// loser waits for a task older than itself.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return leases[order[a]].TaskID.String() < leases[order[b]].TaskID.String() })
	if winners[0] != order[0] {
		t.Fatalf("task %d got the nodes; the oldest is %d", winners[0], order[0])
	}
	w := leases[winners[0]]
	rank := map[uuid.UUID]int{}
	for r, i := range order {
		rank[leases[i].TaskID] = r
	}
	for i, busy := range busies {
		_ = i
		for node, holder := range busy {
			if _, ok := rank[holder]; !ok {
				t.Fatalf("node %s reported held by unknown task %s", node, holder)
			}
		}
	}
	// The losers reserved nothing: once the winner finishes, the next oldest gets all the nodes.
	must(t, s.FinishTask(ctx, w, task.StatusComplete, task.Result{Status: task.ResultSuccess}, at(time.Second)), "finish")
	reserve(t, s, leases[order[1]], nodes...)
}
