package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

var actionSeq atomic.Int64

// actionID returns a new ULID-shaped id (26 characters of Crockford base32).
func actionID() string { return fmt.Sprintf("01J%023d", actionSeq.Add(1)) }

func baKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// deploy is a running deploy_nodes task, claimed, with a deploy_node subtask.
type deploy struct {
	root, sub *task.Task
	l         task.Lease
}

// deploying creates a queued deploy_nodes task created at created and claims it (it must be the
// oldest queued deploy_nodes task), then adds its subtask.
func deploying(t testing.TB, s store.Store, owner string, created time.Time) deploy {
	t.Helper()
	root := create(t, s, task.ActionDeployNodes, task.StatusQueued, created)
	got, l := claim(t, s, owner, created, task.ActionDeployNodes)
	if got.ID != root.ID {
		t.Fatalf("claimed %s, want %s", got.ID, root.ID)
	}
	sub := create(t, s, "deploy_node", task.StatusRunning, created, childOf(root))
	return deploy{root: got, sub: sub, l: l}
}

// baContext is a context of node for one deployment by d.
func (d deploy) baContext(node, deployment string, key byte, created time.Time) store.BootActionContext {
	return store.BootActionContext{NodeName: node, Deployment: deployment, DeployTaskID: d.root.ID, TaskID: d.sub.ID,
		Key: baKey(key), DesignRef: "deckhand+http://deckhand/api/v1.0/revisions/7/rendered-documents", Created: created}
}

// newActions returns incomplete, signaling actions with new ids.
func newActions(names ...string) []store.BootAction {
	out := make([]store.BootAction, len(names))
	for i, n := range names {
		out[i] = store.BootAction{ID: actionID(), Name: n, Signaling: true, Status: store.BootActionIncomplete}
	}
	return out
}

// stored is what EnsureBootActions stores of new actions for c.
func stored(c store.BootActionContext, actions []store.BootAction) []store.BootAction {
	out := make([]store.BootAction, len(actions))
	for i, a := range actions {
		a.NodeName, a.Deployment, a.TaskID, a.Updated = c.NodeName, c.Deployment, c.TaskID, c.Created
		out[i] = a
	}
	return out
}

func ensure(t testing.TB, s store.Store, l task.Lease, c store.BootActionContext, actions []store.BootAction) (store.BootActionContext, []store.BootAction) {
	t.Helper()
	gc, ga, err := s.EnsureBootActions(t.Context(), l, c, actions)
	must(t, err, "ensure boot actions of "+c.NodeName+"/"+c.Deployment)
	return gc, ga
}

func listActions(t testing.TB, s store.Store, node, deployment string) []store.BootAction {
	t.Helper()
	got, err := s.ListBootActions(t.Context(), node, deployment)
	must(t, err, "list boot actions of "+node+"/"+deployment)
	return got
}

func getAction(t testing.TB, s store.Store, id string) (store.BootAction, []byte) {
	t.Helper()
	a, key, err := s.GetBootAction(t.Context(), id)
	must(t, err, "get boot action "+id)
	return a, key
}

func currentContext(t testing.TB, s store.Store, node string) store.BootActionContext {
	t.Helper()
	c, err := s.GetBootActionContext(t.Context(), node)
	must(t, err, "boot action context of "+node)
	return c
}

func report(t testing.TB, s store.Store, id, status string, now time.Time, msgs ...task.Message) store.BootAction {
	t.Helper()
	a, err := s.ReportBootAction(t.Context(), id, status, msgs, now)
	must(t, err, "report "+status+" on boot action "+id)
	return a
}

func baMessage(id, text string, isError bool) task.Message {
	return task.NewMessage(text, isError, "bootaction", id)
}

// countedErrors is the number of error messages of a task, as listings count them.
func countedErrors(t testing.TB, s store.Store, parent, id uuid.UUID) int {
	t.Helper()
	ts, err := s.ListTasks(t.Context(), store.ListParams{ParentID: &parent, WithoutMessages: true})
	must(t, err, "list subtasks")
	for _, tk := range ts {
		if tk.ID == id {
			return tk.Result.CountedErrors
		}
	}
	t.Fatalf("task %s not listed under %s", id, parent)
	return 0
}

func testBootActions(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	d1 := deploying(t, s, "a", t0)
	_, err := s.GetBootActionContext(ctx, "n1")
	wantErr(t, err, store.ErrNotFound, "context of a node never deployed")
	eq(t, len(listActions(t, s, "n1", "dep1")), 0, "actions of an unknown deployment")

	// A first deployment: Created defaults to now; the actions get the context's fields.
	c1 := d1.baContext("n1", "dep1", 1, time.Time{})
	in1 := newActions("hw", "quiet", "net")
	in1[1].Signaling, in1[1].Status = false, store.BootActionUnreported
	before := time.Now().Add(-time.Second)
	gc, ga := ensure(t, s, d1.l, c1, in1)
	if gc.Created.Before(before) || gc.Created.After(time.Now().Add(time.Second)) || gc.Created.Location() != time.UTC ||
		gc.Created.Nanosecond()%1000 != 0 {
		t.Fatalf("Created %v, want now in UTC microseconds", gc.Created)
	}
	c1.Created = gc.Created
	eq(t, gc, c1, "ensured context")
	want1 := stored(c1, in1)
	eq(t, ga, want1, "ensured actions")
	eq(t, currentContext(t, s, "n1"), c1, "current context")
	eq(t, listActions(t, s, "n1", "dep1"), want1, "listed actions, in insertion order")
	a, key := getAction(t, s, in1[2].ID)
	eq(t, a, want1[2], "action")
	eq(t, key, c1.Key, "action's key")

	// The same deployment again (a resumed deploy step): what was stored, unchanged.
	again := d1.baContext("n1", "dep1", 9, at(time.Hour))
	in1b := newActions("other")
	gc, ga = ensure(t, s, d1.l, again, in1b)
	eq(t, gc, c1, "context ensured again")
	eq(t, ga, want1, "actions ensured again")
	_, _, err = s.GetBootAction(ctx, in1b[0].ID)
	wantErr(t, err, store.ErrNotFound, "an action given again is not stored")
	eq(t, listActions(t, s, "n1", "dep1"), want1, "actions after ensuring again")

	// Another node.
	cn2 := d1.baContext("n2", "dep1", 2, t0)
	inn2 := newActions("hw")
	ensure(t, s, d1.l, cn2, inn2)

	// n1 reports on one action, then is redeployed by another task: its incomplete actions of
	// dep1 are superseded, the final and unreported ones stay.
	report(t, s, in1[2].ID, store.BootActionSuccess, at(time.Minute))
	d2 := deploying(t, s, "b", at(time.Hour))
	c2 := d2.baContext("n1", "dep2", 3, at(2*time.Hour))
	in2 := newActions("hw", "net")
	gc, ga = ensure(t, s, d2.l, c2, in2)
	eq(t, gc, c2, "context of the redeployment")
	want2 := stored(c2, in2)
	eq(t, ga, want2, "actions of the redeployment")
	eq(t, currentContext(t, s, "n1"), c2, "current context after the redeployment")
	old := []store.BootAction{want1[0], want1[1], want1[2]}
	old[0].Status, old[0].Updated = store.BootActionSuperseded, c2.Created
	old[2].Status, old[2].Updated = store.BootActionSuccess, at(time.Minute)
	eq(t, listActions(t, s, "n1", "dep1"), old, "actions of the first deployment")
	eq(t, listActions(t, s, "n1", "dep2"), want2, "actions of the second deployment")
	eq(t, listActions(t, s, "n2", "dep1"), stored(cn2, inn2), "another node's actions")
	eq(t, currentContext(t, s, "n2"), cn2, "another node's context")

	// An action keeps the key of its own deployment.
	_, key = getAction(t, s, in1[0].ID)
	eq(t, key, baKey(1), "key of a superseded action")
	_, key = getAction(t, s, in2[0].ID)
	eq(t, key, baKey(3), "key of a current action")

	// A replaced deployment cannot become current again.
	_, _, err = s.EnsureBootActions(ctx, d1.l, d1.baContext("n1", "dep1", 1, t0), newActions("hw"))
	wantErr(t, err, store.ErrConflict, "ensure a replaced deployment")
	eq(t, currentContext(t, s, "n1"), c2, "current context after the refused ensure")

	// No actions is fine.
	c3 := d2.baContext("n3", "dep2", 4, at(2*time.Hour))
	gc, ga = ensure(t, s, d2.l, c3, nil)
	eq(t, gc, c3, "context without actions")
	eq(t, len(ga), 0, "no actions")
}

func testBootActionValidation(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	d := deploying(t, s, "a", t0)
	type (
		bac = store.BootActionContext
		bas = []store.BootAction
	)
	for _, tc := range []struct {
		name string
		mod  func(c *bac, as bas)
	}{
		{"no node", func(c *bac, as bas) { c.NodeName = "" }},
		{"no deployment", func(c *bac, as bas) { c.Deployment = "" }},
		{"short key", func(c *bac, as bas) { c.Key = c.Key[:31] }},
		{"long key", func(c *bac, as bas) { c.Key = append(baKey(1), 0) }},
		{"no key", func(c *bac, as bas) { c.Key = nil }},
		{"no deploy task", func(c *bac, as bas) { c.DeployTaskID = uuid.Nil }},
		{"no task", func(c *bac, as bas) { c.TaskID = uuid.Nil }},
		{"unknown task", func(c *bac, as bas) { c.TaskID = uuid.New() }},
		{"no action id", func(c *bac, as bas) { as[1].ID = "" }},
		{"duplicate id", func(c *bac, as bas) { as[1].ID = as[0].ID }},
		{"no name", func(c *bac, as bas) { as[1].Name = "" }},
		{"no status", func(c *bac, as bas) { as[1].Status = "" }},
		{"final status", func(c *bac, as bas) { as[1].Status = store.BootActionSuccess }},
		{"superseded", func(c *bac, as bas) { as[1].Status = store.BootActionSuperseded }},
	} {
		c := d.baContext("n1", "dep1", 1, t0)
		as := newActions("a", "b")
		tc.mod(&c, as)
		if _, _, err := s.EnsureBootActions(ctx, d.l, c, as); err == nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		_, err := s.GetBootActionContext(ctx, "n1")
		wantErr(t, err, store.ErrNotFound, tc.name+": context after a refused ensure")
		for _, a := range as {
			if _, _, err := s.GetBootAction(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s: action %q after a refused ensure: %v", tc.name, a.ID, err)
			}
		}
	}
	// An id already taken (by another node's action) is a conflict, and nothing is written.
	first := newActions("a")
	ensure(t, s, d.l, d.baContext("n1", "dep1", 1, t0), first)
	second := newActions("a", "b")
	second[1].ID = first[0].ID
	_, _, err := s.EnsureBootActions(ctx, d.l, d.baContext("n2", "dep1", 2, t0), second)
	wantErr(t, err, store.ErrConflict, "ensure with an id taken")
	_, err = s.GetBootActionContext(ctx, "n2")
	wantErr(t, err, store.ErrNotFound, "context after a conflicting ensure")
	_, _, err = s.GetBootAction(ctx, second[0].ID)
	wantErr(t, err, store.ErrNotFound, "action after a conflicting ensure")
}

func testBootActionLease(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	d := deploying(t, s, "a", t0)
	other := deploying(t, s, "o", t0)
	c := d.baContext("n1", "dep1", 1, t0)
	as := newActions("a")
	nothing := func(what string) {
		t.Helper()
		_, err := s.GetBootActionContext(ctx, "n1")
		wantErr(t, err, store.ErrNotFound, what+": context")
		_, _, err = s.GetBootAction(ctx, as[0].ID)
		wantErr(t, err, store.ErrNotFound, what+": action")
	}
	stale := d.l
	stale.Generation++
	_, _, err := s.EnsureBootActions(ctx, stale, c, as)
	wantErr(t, err, store.ErrLeaseLost, "another generation")
	nothing("another generation")
	_, _, err = s.EnsureBootActions(ctx, other.l, c, as)
	wantErr(t, err, store.ErrLeaseLost, "another task's lease")
	nothing("another task's lease")
	mixed := c
	mixed.TaskID = other.sub.ID
	_, _, err = s.EnsureBootActions(ctx, d.l, mixed, as)
	wantErr(t, err, store.ErrLeaseLost, "a subtask of another task")
	nothing("a subtask of another task")

	// Released, then taken over by b: a's lease is lost, b's works.
	must(t, s.ReleaseLease(ctx, d.l, at(time.Second)), "release")
	_, _, err = s.EnsureBootActions(ctx, d.l, c, as)
	wantErr(t, err, store.ErrLeaseLost, "released lease")
	nothing("released lease")
	_, lb := claim(t, s, "b", at(2*time.Second), task.ActionDeployNodes)
	eq(t, lb.TaskID, d.root.ID, "taken over")
	_, _, err = s.EnsureBootActions(ctx, d.l, c, as)
	wantErr(t, err, store.ErrLeaseLost, "lease taken over")
	nothing("lease taken over")
	gc, _ := ensure(t, s, lb, c, as)
	eq(t, gc, c, "ensured by the new owner")
}

func testBootActionReports(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	d := deploying(t, s, "a", t0)
	c := d.baContext("n1", "dep1", 1, t0)
	in := newActions("a0", "a1", "a2", "a3")
	in[1].Signaling, in[1].Status = false, store.BootActionUnreported
	_, want := ensure(t, s, d.l, c, in)
	messages := func() []task.Message { t.Helper(); return get(t, s, d.sub.ID).Result.Messages }

	// Messages only: they land on the action's task; the action is unchanged.
	m1 := baMessage(in[0].ID, "started", false)
	m1.TS = at(30 * time.Second)
	m2 := baMessage(in[0].ID, "disk slow", true) // no time: the report's
	got := report(t, s, in[0].ID, "", at(time.Minute), m1, m2)
	eq(t, got, want[0], "action after a report of messages")
	msgs := messages()
	eq(t, len(msgs), 2, "messages on the task")
	eq(t, []string{msgs[0].Message, msgs[1].Message}, []string{"started", "disk slow"}, "message texts")
	eq(t, []bool{msgs[0].Error, msgs[1].Error}, []bool{false, true}, "error flags")
	eq(t, msgs[0].ContextType, "bootaction", "context type")
	eq(t, msgs[0].Context, in[0].ID, "context")
	sameTime(t, &msgs[0].TS, &m1.TS, "message time")
	sameTime(t, &msgs[1].TS, ptr(at(time.Minute)), "message time defaulted to the report's")
	eq(t, countedErrors(t, s, d.root.ID, d.sub.ID), 1, "error messages of the task")

	// A final status.
	got = report(t, s, in[0].ID, store.BootActionSuccess, at(2*time.Minute), baMessage(in[0].ID, "failed unit", true))
	w := want[0]
	w.Status, w.Updated = store.BootActionSuccess, at(2*time.Minute)
	eq(t, got, w, "action after the final report")
	a, _ := getAction(t, s, in[0].ID)
	eq(t, a, w, "stored action after the final report")
	eq(t, len(messages()), 3, "messages after the final report")
	eq(t, countedErrors(t, s, d.root.ID, d.sub.ID), 2, "error messages after the final report")

	// Once final, nothing more: a conflict naming the status, and nothing written.
	refused := func(id, status, what string, target error) {
		t.Helper()
		before, _ := getAction(t, s, id)
		n := len(messages())
		_, err := s.ReportBootAction(ctx, id, status, []task.Message{baMessage(id, "late", true)}, at(time.Hour))
		if target != nil {
			wantErr(t, err, target, what)
		} else if err == nil {
			t.Fatalf("%s: accepted", what)
		}
		after, _ := getAction(t, s, id)
		eq(t, after, before, what+": action")
		eq(t, len(messages()), n, what+": messages")
	}
	refused(in[0].ID, "", "messages after success", store.ErrConflict)
	refused(in[0].ID, store.BootActionFailure, "failure after success", store.ErrConflict)
	_, err := s.ReportBootAction(ctx, in[0].ID, "", nil, at(time.Hour))
	if err == nil || !strings.Contains(err.Error(), store.BootActionSuccess) {
		t.Fatalf("report on a final action: error %v does not name its status", err)
	}
	got = report(t, s, in[2].ID, store.BootActionFailure, at(3*time.Minute))
	eq(t, got.Status, store.BootActionFailure, "failure")
	refused(in[2].ID, store.BootActionSuccess, "success after failure", store.ErrConflict)
	refused(in[1].ID, "", "messages on an unreported action", store.ErrConflict)
	refused(in[1].ID, store.BootActionSuccess, "success on an unreported action", store.ErrConflict)

	// Invalid statuses: an error, nothing written.
	for _, st := range []string{"Success", "done", store.BootActionIncomplete, store.BootActionUnreported,
		store.BootActionSuperseded} {
		refused(in[3].ID, st, "status "+st, nil)
	}

	// Unknown ids.
	for _, id := range []string{actionID(), "", "not a ULID", strings.ToLower(in[3].ID) + "x"} {
		_, err := s.ReportBootAction(ctx, id, store.BootActionSuccess, []task.Message{baMessage(id, "x", false)}, t0)
		wantErr(t, err, store.ErrNotFound, "report on unknown action "+id)
		_, _, err = s.GetBootAction(ctx, id)
		wantErr(t, err, store.ErrNotFound, "get unknown action "+id)
	}

	// Superseded by a redeployment.
	d2 := deploying(t, s, "b", at(time.Hour))
	ensure(t, s, d2.l, d2.baContext("n1", "dep2", 2, at(time.Hour)), newActions("a0"))
	a, _ = getAction(t, s, in[3].ID)
	eq(t, a.Status, store.BootActionSuperseded, "superseded")
	refused(in[3].ID, "", "messages on a superseded action", store.ErrConflict)
	refused(in[3].ID, store.BootActionSuccess, "success on a superseded action", store.ErrConflict)
}

// closed reports whether ch is closed, waiting up to wait.
func closed(ch <-chan struct{}, wait time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-time.After(wait):
		return false
	}
}

func testBootActionsChanged(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	d := deploying(t, s, "a", t0)
	_, as := ensure(t, s, d.l, d.baContext("n1", "dep1", 1, t0), newActions("a0", "a1"))
	ch1, ch2 := s.BootActionsChanged(), s.BootActionsChanged()
	if closed(ch1, 50*time.Millisecond) {
		t.Fatal("closed before any report")
	}
	// Refused reports and other writes change no boot action: no wake-up.
	_, err := s.ReportBootAction(ctx, actionID(), "", nil, t0)
	wantErr(t, err, store.ErrNotFound, "report on an unknown action")
	if _, err := s.ReportBootAction(ctx, as[0].ID, "bogus", nil, t0); err == nil {
		t.Fatal("bogus status accepted")
	}
	ensure(t, s, d.l, d.baContext("n2", "dep1", 2, t0), newActions("a0"))
	if closed(ch1, 50*time.Millisecond) {
		t.Fatal("closed after refused reports")
	}

	// A waiter elsewhere, and every holder of the channel, are woken.
	woken := make(chan struct{})
	go func() { <-ch1; close(woken) }()
	report(t, s, as[0].ID, "", at(time.Second), baMessage(as[0].ID, "hello", false))
	if !closed(ch1, 10*time.Second) || !closed(ch2, 0) || !closed(woken, 10*time.Second) {
		t.Fatal("not woken by a report of messages")
	}
	// A new channel waits for the next report (this store's own report wakes it once).
	ch3 := s.BootActionsChanged()
	if closed(ch3, 200*time.Millisecond) {
		t.Fatal("new channel closed without a new report")
	}
	report(t, s, as[1].ID, store.BootActionFailure, at(2*time.Second))
	if !closed(ch3, 10*time.Second) {
		t.Fatal("not woken by a final report")
	}
}

func testConcurrentBootActionReports(t *testing.T, open Open) {
	s1 := open(t)
	s2 := open(t) // another process on the same database
	d := deploying(t, s1, "a", t0)
	_, as := ensure(t, s1, d.l, d.baContext("n1", "dep1", 1, t0), newActions("race", "chatty"))
	const n = 16
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		finals   = make([]error, n)
		messages = make([]error, n)
		statuses = make([]string, n)
	)
	for i := range n {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		statuses[i] = []string{store.BootActionSuccess, store.BootActionFailure}[i%2]
		wg.Go(func() {
			<-start
			_, finals[i] = s.ReportBootAction(t.Context(), as[0].ID, statuses[i],
				[]task.Message{baMessage(as[0].ID, fmt.Sprintf("final %d", i), false)}, at(time.Second))
		})
		wg.Go(func() {
			<-start
			_, messages[i] = s.ReportBootAction(t.Context(), as[1].ID, "",
				[]task.Message{baMessage(as[1].ID, fmt.Sprintf("chat %d", i), false)}, at(time.Second))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range finals {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("reports %d and %d both finalized the action", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("report %d: %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no report finalized the action")
	}
	for i, err := range messages {
		must(t, err, fmt.Sprintf("report of messages %d", i))
	}
	a, _ := getAction(t, s2, as[0].ID)
	eq(t, a.Status, statuses[winner], "final status: the winner's")
	var finalMsgs, chat int
	for _, m := range get(t, s1, d.sub.ID).Result.Messages {
		switch {
		case m.Message == fmt.Sprintf("final %d", winner):
			finalMsgs++
		case strings.HasPrefix(m.Message, "final"):
			t.Fatalf("a losing report's message was stored: %q", m.Message)
		case strings.HasPrefix(m.Message, "chat"):
			chat++
		}
	}
	eq(t, finalMsgs, 1, "the winner's message")
	eq(t, chat, n, "messages of concurrent reports")
}
