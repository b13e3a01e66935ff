package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

func testClaim(t *testing.T, open Open) {
	t.Run("Order", func(t *testing.T) {
		s := open(t)
		noClaim(t, s, "a", t0)

		// A task claimed long ago whose lease expired, older than every queued task.
		expired := create(t, s, task.ActionDeployNodes, task.StatusQueued, at(-3*time.Hour))
		_, l0 := claim(t, s, "dead", at(-3*time.Hour))
		eq(t, l0.Generation, int64(1), "first generation")
		eq(t, l0.Expires, at(-3*time.Hour+leaseFor), "lease expiry")

		newer := create(t, s, task.ActionDeployNodes, task.StatusQueued, at(time.Second))
		older := create(t, s, task.ActionPrepareNodes, task.StatusQueued, t0)
		create(t, s, task.ActionNoop, task.StatusRequested, at(-time.Hour))                 // not queued yet
		create(t, s, "step", task.StatusQueued, at(-2*time.Hour), childOf(older))           // a subtask
		create(t, s, task.ActionNoop, task.StatusComplete, at(-4*time.Hour))                // finished
		create(t, s, task.ActionNoop, task.StatusTerminated, at(-4*time.Hour))              // finished
		create(t, s, task.ActionNoop, task.StatusRunning, at(-4*time.Hour), childOf(older)) // a running subtask

		now := at(time.Minute)
		got, l := claim(t, s, "a", now)
		eq(t, got.ID, older.ID, "first claim: the oldest queued task")
		eq(t, got.Status, task.StatusRunning, "claimed task's status")
		sameTime(t, &got.Updated, &now, "claimed task's Updated")
		eq(t, l.Generation, int64(1), "generation")
		eq(t, l.Expires, now.Add(leaseFor), "expiry")
		eq(t, get(t, s, older.ID).Status, task.StatusRunning, "stored status")

		got, _ = claim(t, s, "b", now)
		eq(t, got.ID, newer.ID, "second claim: the next queued task")
		got, l = claim(t, s, "c", now)
		eq(t, got.ID, expired.ID, "third claim: the task whose lease expired")
		eq(t, l.Generation, int64(2), "generation after takeover")
		eq(t, got.Status, task.StatusRunning, "status after takeover")
		noClaim(t, s, "d", now)
	})

	t.Run("Actions", func(t *testing.T) {
		s := open(t)
		deploy := create(t, s, task.ActionDeployNodes, task.StatusQueued, t0)
		verify := create(t, s, task.ActionVerifySite, task.StatusQueued, at(-time.Hour))
		prepare := create(t, s, task.ActionPrepareSite, task.StatusQueued, at(-2*time.Hour))
		noClaim(t, s, "a", t0, task.ActionDestroyNodes)
		got, _ := claim(t, s, "a", t0, task.ActionDeployNodes, task.ActionRelabelNodes)
		eq(t, got.ID, deploy.ID, "claim deploy only")
		got, _ = claim(t, s, "a", t0, task.ActionVerifySite)
		eq(t, got.ID, verify.ID, "claim verify only")
		got, _ = claim(t, s, "a", t0) // any action
		eq(t, got.ID, prepare.ID, "claim any")
	})

	t.Run("ExpiredLease", func(t *testing.T) {
		s := open(t)
		tk, l1 := running(t, s, "a", t0)
		noClaim(t, s, "b", at(30*time.Second)) // a live lease is not stolen
		noClaim(t, s, "b", at(leaseFor-time.Microsecond))
		got, l2 := claim(t, s, "b", at(leaseFor))
		eq(t, got.ID, tk.ID, "reclaimed task")
		eq(t, l2.Generation, l1.Generation+1, "generation")
		eq(t, l2.Owner, "b", "owner")
		eq(t, got.Status, task.StatusRunning, "status")
		noClaim(t, s, "a", at(leaseFor+time.Second))
		_, err := s.RenewLease(t.Context(), l1, leaseFor, at(leaseFor+time.Second))
		wantErr(t, err, store.ErrLeaseLost, "renew the lost lease")
	})

	t.Run("Terminating", func(t *testing.T) {
		s := open(t)
		tk, l1 := running(t, s, "a", t0)
		_, err := s.RequestTermination(t.Context(), tk.ID, "op", at(time.Second))
		must(t, err, "terminate")
		noClaim(t, s, "b", at(time.Second))
		got, l2 := claim(t, s, "b", at(2*leaseFor))
		eq(t, got.ID, tk.ID, "claimed terminating task")
		eq(t, got.Status, task.StatusTerminating, "still terminating")
		eq(t, got.Terminate, true, "Terminate")
		eq(t, l2.Generation, l1.Generation+1, "generation")
		eq(t, get(t, s, tk.ID).Status, task.StatusTerminating, "stored status")
	})

	t.Run("Released", func(t *testing.T) {
		s := open(t)
		tk, l1 := running(t, s, "a", t0)
		must(t, s.ReleaseLease(t.Context(), l1, at(time.Second)), "release")
		got := get(t, s, tk.ID)
		eq(t, got.Status, task.StatusQueued, "released running task")
		sameTime(t, &got.Updated, ptr(at(time.Second)), "Updated")
		got, l2 := claim(t, s, "b", at(time.Second))
		eq(t, got.ID, tk.ID, "claimed released task")
		eq(t, l2.Generation, l1.Generation+1, "generation")

		// A released terminating task stays terminating and is claimable at once.
		_, err := s.RequestTermination(t.Context(), tk.ID, "op", at(2*time.Second))
		must(t, err, "terminate")
		must(t, s.ReleaseLease(t.Context(), l2, at(3*time.Second)), "release terminating")
		eq(t, get(t, s, tk.ID).Status, task.StatusTerminating, "released terminating task")
		got, l3 := claim(t, s, "c", at(3*time.Second))
		eq(t, got.Status, task.StatusTerminating, "claimed terminating task")
		eq(t, l3.Generation, l2.Generation+1, "generation")
	})

	t.Run("BadArguments", func(t *testing.T) {
		s := open(t)
		create(t, s, task.ActionNoop, task.StatusQueued, t0)
		if _, _, err := s.ClaimTask(t.Context(), "", nil, leaseFor, t0); err == nil {
			t.Fatal("claim without an owner accepted")
		}
		if _, _, err := s.ClaimTask(t.Context(), "a", nil, 0, t0); err == nil {
			t.Fatal("claim with a zero lease accepted")
		}
	})
}

func testLeaseGuards(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	tk, l1 := running(t, s, "a", t0)

	// Renewal extends the lease.
	l1b, err := s.RenewLease(ctx, l1, 5*time.Minute, at(30*time.Second))
	must(t, err, "renew")
	eq(t, l1b.Expires, at(30*time.Second+5*time.Minute), "renewed expiry")
	eq(t, l1b.Generation, l1.Generation, "generation kept")
	noClaim(t, s, "b", at(2*time.Minute))

	// b takes over once it expired.
	_, l2 := claim(t, s, "b", at(10*time.Minute))
	r := task.Result{Status: task.ResultSuccess}
	for _, stale := range []task.Lease{l1, l1b} {
		_, err := s.RenewLease(ctx, stale, time.Hour, at(10*time.Minute))
		wantErr(t, err, store.ErrLeaseLost, "renew stale lease")
		wantErr(t, s.ReleaseLease(ctx, stale, at(10*time.Minute)), store.ErrLeaseLost, "release stale lease")
		wantErr(t, s.FinishTask(ctx, stale, task.StatusComplete, r, at(10*time.Minute)), store.ErrLeaseLost,
			"finish with stale lease")
		wantErr(t, s.SaveResult(ctx, stale, tk.ID, r, at(10*time.Minute)), store.ErrLeaseLost, "save with stale lease")
	}
	// Nothing changed: still running under b's live lease.
	got := get(t, s, tk.ID)
	eq(t, got.Status, task.StatusRunning, "status after stale writes")
	sameResult(t, got.Result, task.Result{Status: task.ResultIncomplete})
	noClaim(t, s, "c", at(10*time.Minute+time.Second))
	l2, err = s.RenewLease(ctx, l2, leaseFor, at(10*time.Minute+time.Second))
	must(t, err, "renew the live lease")

	// Same generation, other owner; and a lease on an unknown task.
	_, err = s.RenewLease(ctx, task.Lease{TaskID: tk.ID, Owner: "x", Generation: l2.Generation}, leaseFor, at(11*time.Minute))
	wantErr(t, err, store.ErrLeaseLost, "renew with the wrong owner")
	_, err = s.RenewLease(ctx, task.Lease{TaskID: uuid.New(), Owner: "b", Generation: 1}, leaseFor, at(11*time.Minute))
	wantErr(t, err, store.ErrNotFound, "renew a lease on an unknown task")

	// Finishing needs a final status.
	wantErr(t, s.FinishTask(ctx, l2, task.StatusRunning, r, at(11*time.Minute)), store.ErrConflict, "finish as running")
	wantErr(t, s.FinishTask(ctx, l2, task.StatusQueued, r, at(11*time.Minute)), store.ErrConflict, "finish as queued")
	wantErr(t, s.FinishTask(ctx, l2, task.StatusTerminated, r, at(11*time.Minute)), store.ErrConflict,
		"finish a running task as terminated")

	r = task.Result{Status: task.ResultSuccess, Message: "done", Successes: []string{"n1"}}
	must(t, s.FinishTask(ctx, l2, task.StatusComplete, r, at(12*time.Minute)), "finish")
	got = get(t, s, tk.ID)
	eq(t, got.Status, task.StatusComplete, "finished status")
	sameResult(t, got.Result, r)
	sameTime(t, &got.Updated, ptr(at(12*time.Minute)), "Updated")
	sameTime(t, got.Terminated, nil, "Terminated")

	// The lease is released by the finish.
	must(t, s.ReleaseLease(ctx, l2, at(13*time.Minute)), "release after finish")
	_, err = s.RenewLease(ctx, l2, leaseFor, at(13*time.Minute))
	wantErr(t, err, store.ErrLeaseLost, "renew after finish")
	wantErr(t, s.FinishTask(ctx, l2, task.StatusComplete, r, at(13*time.Minute)), store.ErrLeaseLost, "finish twice")
	wantErr(t, s.SaveResult(ctx, l2, tk.ID, r, at(13*time.Minute)), store.ErrLeaseLost, "save after finish")
	noClaim(t, s, "c", at(time.Hour))
	eq(t, get(t, s, tk.ID).Status, task.StatusComplete, "status after release")

	// A released lease cannot be renewed either.
	tk2, l3 := running(t, s, "d", at(time.Hour))
	must(t, s.ReleaseLease(ctx, l3, at(time.Hour)), "release")
	_, err = s.RenewLease(ctx, l3, leaseFor, at(time.Hour))
	wantErr(t, err, store.ErrLeaseLost, "renew a released lease")
	wantErr(t, s.FinishTask(ctx, l3, task.StatusComplete, r, at(time.Hour)), store.ErrLeaseLost, "finish after release")
	eq(t, get(t, s, tk2.ID).Status, task.StatusQueued, "status after release")
}

func testReservations(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	longNode := "node-" + long
	a, la := running(t, s, "a", t0)
	b, lb := running(t, s, "b", t0.Add(time.Second))

	reserve(t, s, la, "n1", "n2", longNode)
	reserve(t, s, la, "n2", "n1", longNode) // again: a no-op
	reserve(t, s, la)                       // none: a no-op

	// All or nothing: n2 and the long one are a's, so b gets neither n3 nor n4.
	busy, err := s.ReserveNodes(ctx, lb, []string{"n3", "n2", longNode, "n4", "n3"})
	must(t, err, "reserve busy nodes")
	eq(t, busy, map[string]uuid.UUID{"n2": a.ID, longNode: a.ID}, "busy nodes")

	// Queue order: c is younger than b, which now waits for n3 and n4, so c cannot have them
	// either; a younger task wanting other nodes is not held up.
	c, lc := running(t, s, "c", t0.Add(2*time.Second))
	busy, err = s.ReserveNodes(ctx, lc, []string{"n4", "n9"})
	must(t, err, "reserve nodes an older task waits for")
	eq(t, busy, map[string]uuid.UUID{"n4": b.ID}, "an older waiting task keeps its turn")
	reserve(t, s, lc, "n5")

	// A stale lease reserves nothing.
	stale := lb
	stale.Generation++
	_, err = s.ReserveNodes(ctx, stale, []string{"n6"})
	wantErr(t, err, store.ErrLeaseLost, "reserve with a stale lease")

	// FinishTask releases a's nodes; b gets them.
	must(t, s.FinishTask(ctx, la, task.StatusComplete, task.Result{Status: task.ResultSuccess}, at(time.Minute)), "finish a")
	reserve(t, s, lb, "n3", "n2", longNode, "n4")
	busy, err = s.ReserveNodes(ctx, la, []string{"n1"})
	wantErr(t, err, store.ErrLeaseLost, "reserve after finish")
	eq(t, len(busy), 0, "busy")

	// A holder that finished without FinishTask does not block: its nodes are taken over.
	_, err = s.RequestTermination(ctx, b.ID, "op", at(time.Minute))
	must(t, err, "terminate b")
	must(t, s.SetStatus(ctx, b.ID, []task.Status{task.StatusTerminating}, task.StatusTerminated, at(time.Minute)), "b terminated")
	reserve(t, s, lc, "n4", "n5")
	_, ld := running(t, s, "d", at(time.Minute))
	busy, err = s.ReserveNodes(ctx, ld, []string{"n4", "n3"})
	must(t, err, "reserve c's node")
	eq(t, busy, map[string]uuid.UUID{"n4": c.ID}, "busy after takeover")
}

// An older task that has not yet said which nodes it wants holds younger tasks back (whatever
// they want); once it has, only overlapping tasks wait.
func testReservationsQueueOrder(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	older, lo := running(t, s, "older", t0)
	_, ly := running(t, s, "younger", t0.Add(time.Second))
	busy, err := s.ReserveNodes(ctx, ly, []string{"x", "y"})
	must(t, err, "reserve before the older task decided")
	eq(t, busy, map[string]uuid.UUID{"x": older.ID, "y": older.ID}, "an undecided older task holds younger ones back")
	reserve(t, s, lo) // the older one wants no nodes (site-wide work)
	reserve(t, s, ly, "x", "y")
}
