package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/postgres"
	"github.com/drydock-go/drydock/internal/store/postgres/pgtest"
	"github.com/drydock-go/drydock/internal/store/sqlstore"
	"github.com/drydock-go/drydock/internal/task"
)

func open(t *testing.T, u string) *sqlstore.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// bootActions makes a running deploy task with n incomplete boot actions of one node, and
// returns their ids.
func bootActions(t *testing.T, s store.Store, n int) []string {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	root := task.New(task.ActionDeployNodes, "ref", nil, "tester", now)
	root.Status = task.StatusQueued
	if err := s.CreateTask(ctx, root); err != nil {
		t.Fatal(err)
	}
	_, l, err := s.ClaimTask(ctx, "owner", []string{task.ActionDeployNodes}, time.Minute, now)
	if err != nil || l.TaskID != root.ID {
		t.Fatalf("claim: %v (lease %+v)", err, l)
	}
	sub := task.New("deploy_node", "ref", nil, "tester", now)
	sub.ParentID, sub.Status = &root.ID, task.StatusRunning
	if err := s.CreateTask(ctx, sub); err != nil {
		t.Fatal(err)
	}
	var actions []store.BootAction
	for i := range n {
		actions = append(actions, store.BootAction{ID: fmt.Sprintf("01J%023d", i+1), Name: fmt.Sprintf("a%d", i),
			Signaling: true, Status: store.BootActionIncomplete})
	}
	c := store.BootActionContext{NodeName: "n1", Deployment: "d1", DeployTaskID: root.ID, TaskID: sub.ID,
		Key: bytes.Repeat([]byte{1}, 32)}
	if _, _, err := s.EnsureBootActions(ctx, l, c, actions); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, a := range actions {
		ids[i] = a.ID
	}
	return ids
}

func reportMessage(t *testing.T, s store.Store, id string) {
	t.Helper()
	msg := task.NewMessage("hello", false, "bootaction", id)
	if _, err := s.ReportBootAction(t.Context(), id, "", []task.Message{msg}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// TestBootActionsChangedAcrossStores: a report through one store wakes the waiters of another
// store on the same database (its LISTEN connection), not those of a store on another schema,
// and a store's own notices do not wake it a second time.
func TestBootActionsChangedAcrossStores(t *testing.T) {
	admin, base := pgtest.Server(t)
	u := pgtest.SchemaURL(t, admin, base, "")
	s1, s2 := open(t, u), open(t, u)
	other := open(t, pgtest.SchemaURL(t, admin, base, ""))
	ids := bootActions(t, s1, 2)
	bootActions(t, other, 1)

	ch1, ch2, chOther := s1.BootActionsChanged(), s2.BootActionsChanged(), other.BootActionsChanged()
	reportMessage(t, s1, ids[0])
	if !closedWithin(ch1, 0) {
		t.Fatal("the reporting store was not woken")
	}
	ch1 = s1.BootActionsChanged() // before its own notice can arrive
	if !closedWithin(ch2, 10*time.Second) {
		t.Fatal("the other store on the database was not woken")
	}
	if closedWithin(ch1, 300*time.Millisecond) {
		t.Fatal("the reporting store was woken again by its own notice")
	}
	if closedWithin(chOther, 0) {
		t.Fatal("a store on another schema was woken")
	}

	// A notice that says it comes from s1 wakes s2, not s1.
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	ch1, ch2 = s1.BootActionsChanged(), s2.BootActionsChanged()
	if _, err := admin.ExecContext(t.Context(), `SELECT pg_notify($1, $2)`, sqlstore.BootActionsChannel,
		s1.Instance()+" "+pu.Query().Get("search_path")+" "+ids[0]); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(ch2, 10*time.Second) {
		t.Fatal("a notice from s1 did not wake s2")
	}
	if closedWithin(ch1, 300*time.Millisecond) {
		t.Fatal("a notice from s1 woke s1")
	}

	// And the other way round, with a final status.
	if _, err := s2.ReportBootAction(t.Context(), ids[1], store.BootActionSuccess, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(ch1, 10*time.Second) {
		t.Fatal("the first store was not woken by the second's report")
	}
}

// TestListenerReconnects: when the listening connection is lost, the listener reconnects,
// wakes its waiters (notices may have been missed), and hears the next reports. Close ends it.
func TestListenerReconnects(t *testing.T) {
	admin, base := pgtest.Server(t)
	u := pgtest.SchemaURL(t, admin, base, "")
	s1, s2 := open(t, u), open(t, u)
	ids := bootActions(t, s1, 1)
	app := postgres.ListenerApplicationName + s2.Instance()
	backends := func() int {
		var n int
		if err := admin.QueryRowContext(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := backends(); n != 1 {
		t.Fatalf("%d listening connections of the store, want 1", n)
	}

	ch := s2.BootActionsChanged()
	if _, err := admin.ExecContext(t.Context(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(ch, 10*time.Second) {
		t.Fatal("not woken after the listener reconnected")
	}
	ch = s2.BootActionsChanged()
	reportMessage(t, s1, ids[0])
	if !closedWithin(ch, 10*time.Second) {
		t.Fatal("not woken by a report after the listener reconnected")
	}

	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for backends() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the listening connection outlived Close")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
