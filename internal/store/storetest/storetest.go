// Package storetest is the contract suite of store.Store: one set of tests that every backend
// runs from its own tests (store/sqlite, store/postgres), so that all of them keep exactly the
// semantics documented on the interface, including under concurrency. It also holds the
// backend-independent benchmarks.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// Open opens a Store for a test. The first call for a given t returns a Store on a fresh, empty
// database; a later call with the same t returns another Store — with its own connections, as
// another process would have — on that same database. Open closes what it opened (and drops
// the database) in t's cleanup.
type Open func(t *testing.T) store.Store

// PerTest builds an Open from fresh, which makes a new empty database for a test and returns
// where it is (a file path, a URL), and open, which opens a Store there. The location is made
// once per test, so a second call with the same t opens another Store on the same database.
func PerTest(fresh func(t *testing.T) string, open func(ctx context.Context, where string) (store.Store, error)) Open {
	var (
		mu     sync.Mutex
		places = map[*testing.T]string{}
	)
	return func(t *testing.T) store.Store {
		t.Helper()
		mu.Lock()
		where, ok := places[t]
		if !ok {
			where = fresh(t)
			places[t] = where
			t.Cleanup(func() {
				mu.Lock()
				delete(places, t)
				mu.Unlock()
			})
		}
		mu.Unlock()
		s, err := open(t.Context(), where)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	}
}

// Run runs the whole contract suite against the backend that open opens. Every test gets its
// own database and runs in parallel with the others.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"CreateGet", testCreateGet},
		{"Subtasks", testSubtasks},
		{"ListTasks", testListTasks},
		{"ListRoot", testListRoot},
		{"ListAfter", testListAfter},
		{"ListWithoutMessages", testListWithoutMessages},
		{"SetStatus", testSetStatus},
		{"Messages", testMessages},
		{"SaveResult", testSaveResult},
		{"RequestTermination", testRequestTermination},
		{"Requeue", testRequeue},
		{"Claim", testClaim},
		{"LeaseGuards", testLeaseGuards},
		{"Reservations", testReservations},
		{"ReservationsQueueOrder", testReservationsQueueOrder},
		{"StepRuns", testStepRuns},
		{"StepRunGuards", testStepRunGuards},
		{"Design", testDesign},
		{"NodeState", testNodeState},
		{"BuildData", testBuildData},
		{"BootActions", testBootActions},
		{"BootActionValidation", testBootActionValidation},
		{"BootActionLease", testBootActionLease},
		{"BootActionReports", testBootActionReports},
		{"BootActionsChanged", testBootActionsChanged},
		{"Purge", testPurge},
		{"Ping", testPing},
		{"ConcurrentClaims", testConcurrentClaims},
		{"TwoProcessesClaim", testTwoProcessesClaim},
		{"ConcurrentStepFinishes", testConcurrentStepFinishes},
		{"ConcurrentSubtasks", testConcurrentSubtasks},
		{"ConcurrentReservations", testConcurrentReservations},
		{"ConcurrentBootActionReports", testConcurrentBootActionReports},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// t0 is the suite's reference time (microsecond precision, as stored).
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

const leaseFor = time.Minute

// must fails the test on an error.
func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails the test unless err is target.
func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// eq fails the test unless got and want are deeply equal.
func eq[T any](t testing.TB, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// sameTime fails the test unless got and want are the same instant (or both nil).
func sameTime(t testing.TB, got, want *time.Time, what string) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Fatalf("%s: got %v, want %v", what, got, want)
	case !got.Equal(*want):
		t.Fatalf("%s: got %v, want %v", what, *got, *want)
	}
}

func ptr[T any](v T) *T { return &v }

// newTask returns a task in the given status, created at created.
func newTask(action string, status task.Status, created time.Time) *task.Task {
	tk := task.New(action, "deckhand+http://deckhand/api/v1.0/revisions/1/rendered-documents", nil, "tester", created)
	tk.Status = status
	return tk
}

// create inserts a task and returns it.
func create(t testing.TB, s store.Store, action string, status task.Status, created time.Time, mods ...func(*task.Task)) *task.Task {
	t.Helper()
	tk := newTask(action, status, created)
	for _, m := range mods {
		m(tk)
	}
	must(t, s.CreateTask(context.Background(), tk), "create task")
	return tk
}

// childOf makes a task a subtask of parent.
func childOf(parent *task.Task) func(*task.Task) {
	return func(tk *task.Task) { tk.ParentID = &parent.ID }
}

func get(t testing.TB, s store.Store, id uuid.UUID) *task.Task {
	t.Helper()
	tk, err := s.GetTask(context.Background(), id)
	must(t, err, "get task")
	return tk
}

// claim claims a task that must be there.
func claim(t testing.TB, s store.Store, owner string, now time.Time, actions ...string) (*task.Task, task.Lease) {
	t.Helper()
	tk, l, err := s.ClaimTask(context.Background(), owner, actions, leaseFor, now)
	must(t, err, "claim task by "+owner)
	if l.TaskID != tk.ID || l.Owner != owner {
		t.Fatalf("claim: lease %+v does not match task %s and owner %s", l, tk.ID, owner)
	}
	return tk, l
}

// noClaim checks that nothing can be claimed.
func noClaim(t testing.TB, s store.Store, owner string, now time.Time, actions ...string) {
	t.Helper()
	tk, _, err := s.ClaimTask(context.Background(), owner, actions, leaseFor, now)
	if !errors.Is(err, store.ErrNoTask) {
		id := "none"
		if tk != nil {
			id = tk.ID.String()
		}
		t.Fatalf("claim by %s at %v: error %v (task %s), want ErrNoTask", owner, now, err, id)
	}
}

// running creates a queued task and claims it (it must be the only claimable one).
func running(t testing.TB, s store.Store, owner string, now time.Time) (*task.Task, task.Lease) {
	t.Helper()
	tk := create(t, s, task.ActionNoop, task.StatusQueued, now)
	got, l := claim(t, s, owner, now, task.ActionNoop)
	if got.ID != tk.ID {
		t.Fatalf("claimed %s, want %s", got.ID, tk.ID)
	}
	return got, l
}

// sameTask compares the stored fields of two tasks (not subtasks or messages).
func sameTask(t testing.TB, got, want *task.Task) {
	t.Helper()
	eq(t, got.ID, want.ID, "ID")
	eq(t, got.ParentID, want.ParentID, "ParentID")
	eq(t, got.Action, want.Action, "Action")
	eq(t, got.Step, want.Step, "Step")
	eq(t, got.DesignRef, want.DesignRef, "DesignRef")
	eq(t, string(got.NodeFilter), string(want.NodeFilter), "NodeFilter")
	eq(t, got.Status, want.Status, "Status")
	eq(t, got.Retry, want.Retry, "Retry")
	sameTime(t, &got.Created, &want.Created, "Created")
	eq(t, got.CreatedBy, want.CreatedBy, "CreatedBy")
	sameTime(t, &got.Updated, &want.Updated, "Updated")
	sameTime(t, got.Terminated, want.Terminated, "Terminated")
	eq(t, got.TerminatedBy, want.TerminatedBy, "TerminatedBy")
	eq(t, got.Terminate, want.Terminate, "Terminate")
	sameResult(t, got.Result, want.Result)
}

// sameResult compares results without their messages.
func sameResult(t testing.TB, got, want task.Result) {
	t.Helper()
	eq(t, got.Status, want.Status, "Result.Status")
	eq(t, got.Message, want.Message, "Result.Message")
	eq(t, got.Reason, want.Reason, "Result.Reason")
	eq(t, got.Successes, want.Successes, "Result.Successes")
	eq(t, got.Failures, want.Failures, "Result.Failures")
	eq(t, got.Links, want.Links, "Result.Links")
}

// ids lists the ids of tasks.
func ids(ts []*task.Task) []uuid.UUID {
	out := make([]uuid.UUID, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// idsOf lists the ids of the given tasks, for expectations.
func idsOf(ts ...*task.Task) []uuid.UUID { return ids(ts) }

// sortedIDs returns ids sorted, to compare sets.
func sortedIDs(in []uuid.UUID) []uuid.UUID {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}

func name(prefix string, i int) string { return fmt.Sprintf("%s%03d", prefix, i) }

// reserve reserves nodes that must all be free.
func reserve(t testing.TB, s store.Store, l task.Lease, nodes ...string) {
	t.Helper()
	busy, err := s.ReserveNodes(context.Background(), l, nodes)
	must(t, err, "reserve nodes")
	if len(busy) > 0 {
		t.Fatalf("reserve %v: busy %v", nodes, busy)
	}
}
