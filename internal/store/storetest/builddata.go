package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// sameBuildData fails the test unless got and want hold the same records, in order.
func sameBuildData(t testing.TB, got, want []store.BuildData, what string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d:\n got %s\nwant %s", what, len(got), len(want), bdKeys(got), bdKeys(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.NodeName != w.NodeName || g.TaskID != w.TaskID || !g.Collected.Equal(w.Collected) ||
			g.Generator != w.Generator || g.Format != w.Format || string(g.Data) != string(w.Data) {
			t.Fatalf("%s: record %d:\n got %+v\nwant %+v\n(all: got %s\nwant %s)", what, i, g, w, bdKeys(got), bdKeys(want))
		}
		if g.Data == nil {
			t.Fatalf("%s: record %d has nil data", what, i)
		}
		if g.Collected.Location() != time.UTC {
			t.Fatalf("%s: record %d collected in %v, not UTC", what, i, g.Collected.Location())
		}
	}
}

// bdKeys describes records for failure messages.
func bdKeys(bds []store.BuildData) []string {
	out := make([]string, len(bds))
	for i, bd := range bds {
		out[i] = bd.NodeName + "/" + bd.Generator + "/" + string(bd.Data)
	}
	return out
}

func listBuildData(t testing.TB, s store.Store, q store.BuildDataQuery) []store.BuildData {
	t.Helper()
	got, err := s.ListBuildData(t.Context(), q)
	must(t, err, "list build data")
	return got
}

func testBuildData(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	a := create(t, s, task.ActionPrepareNodes, task.StatusRunning, t0)
	b := create(t, s, task.ActionDeployNodes, task.StatusRunning, t0)
	sub := create(t, s, "step", task.StatusRunning, t0, childOf(a))

	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{}), nil, "nothing stored yet")

	rec := func(node string, tk *task.Task, collected time.Time, gen, format, data string) store.BuildData {
		return store.BuildData{NodeName: node, TaskID: tk.ID, Collected: collected, Generator: gen, Format: format,
			Data: []byte(data)}
	}
	// In insertion order; collected times out of order, and some equal.
	big := long + long + long
	recs := []store.BuildData{
		rec("n1", a, at(2*time.Second), "lshw", "text/xml", "<n1 lshw 1/>"),         // 0
		rec("n1", a, at(1*time.Second), "lldp", "application/json", `{"n1":1}`),     // 1
		rec("n2", a, at(1*time.Second), "lshw", "text/xml", "<n2 lshw 1/>"),         // 2
		rec("n1", b, at(5*time.Second), "lshw", "text/xml", "<n1 lshw 2/>"),         // 3
		rec("n1", b, at(3*time.Second), "lshw", "text/xml", "<n1 lshw 3, older/>"),  // 4: inserted later, collected earlier
		rec("n2", b, at(5*time.Second), "commission:a", "text/plain", "script a"),   // 5
		rec("n2", b, at(5*time.Second), "commission:a", "text/plain", "script a 2"), // 6: same time, inserted later
		rec("n1", sub, at(4*time.Second), "lldp", "application/json", big),          // 7
		rec("n3", b, at(-time.Hour), "lshw", "text/xml", ""),                        // 8: empty data
	}
	for i, r := range recs {
		must(t, s.PutBuildData(ctx, r), "put record "+name("", i))
	}
	pick := func(is ...int) []store.BuildData {
		out := make([]store.BuildData, len(is))
		for i, n := range is {
			out[i] = recs[n]
		}
		return out
	}

	// Oldest first, then in insertion order.
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{}), pick(8, 1, 2, 0, 4, 7, 3, 5, 6), "all")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{NodeName: "n1"}), pick(1, 0, 4, 7, 3), "node n1")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{TaskID: &b.ID}), pick(8, 4, 3, 5, 6), "task b")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{TaskID: &sub.ID}), pick(7), "subtask")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{NodeName: "n1", TaskID: &a.ID}), pick(1, 0), "node n1, task a")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{NodeName: "n2", TaskID: &b.ID}), pick(5, 6), "node n2, task b")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{NodeName: "n9"}), nil, "unknown node")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{TaskID: ptr(uuid.New())}), nil, "unknown task")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{NodeName: "n3", TaskID: &a.ID}), nil, "node n3, task a")

	// Latest: the newest of each (node, generator), by node then generator.
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{Latest: true}), pick(7, 3, 6, 2, 8), "latest")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{Latest: true, NodeName: "n1"}), pick(7, 3), "latest of n1")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{Latest: true, TaskID: &a.ID}), pick(1, 0, 2), "latest of task a")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{Latest: true, NodeName: "n1", TaskID: &b.ID}), pick(3),
		"latest of n1 in task b")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{Latest: true, NodeName: "n9"}), nil, "latest of an unknown node")

	// Times are truncated to the microsecond; a zero time is now.
	ns := rec("n4", a, t0.Add(999*time.Nanosecond), "lshw", "text/xml", "ns")
	must(t, s.PutBuildData(ctx, ns), "put with nanoseconds")
	ns.Collected = t0
	before := time.Now().Add(-time.Second)
	must(t, s.PutBuildData(ctx, rec("n5", a, time.Time{}, "lshw", "text/xml", "now")), "put without time")
	after := time.Now().Add(time.Second)
	n4 := listBuildData(t, s, store.BuildDataQuery{NodeName: "n4"})
	sameBuildData(t, n4, []store.BuildData{ns}, "record with nanoseconds")
	n5 := listBuildData(t, s, store.BuildDataQuery{NodeName: "n5"})
	if len(n5) != 1 || n5[0].Collected.Before(before) || n5[0].Collected.After(after) ||
		n5[0].Collected.Location() != time.UTC || n5[0].Collected.Nanosecond()%1000 != 0 {
		t.Fatalf("record without time: %+v (put between %v and %v)", n5, before, after)
	}
	// Nil data is stored as empty.
	must(t, s.PutBuildData(ctx, store.BuildData{NodeName: "n6", TaskID: a.ID, Collected: t0, Generator: "g",
		Format: "text/plain"}), "put nil data")
	sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{NodeName: "n6"}),
		[]store.BuildData{{NodeName: "n6", TaskID: a.ID, Collected: t0, Generator: "g", Format: "text/plain"}}, "nil data")

	// Refused records write nothing.
	total := len(listBuildData(t, s, store.BuildDataQuery{}))
	err := s.PutBuildData(ctx, rec("n1", &task.Task{ID: uuid.New()}, t0, "lshw", "text/xml", "x"))
	wantErr(t, err, store.ErrNotFound, "put for an unknown task")
	for _, bad := range []store.BuildData{
		rec("", a, t0, "lshw", "text/xml", "no node"),
		rec("n1", a, t0, "", "text/xml", "no generator"),
		rec("n1", a, t0, "lshw", "", "no format"),
		{},
	} {
		if err := s.PutBuildData(ctx, bad); err == nil {
			t.Fatalf("record %+v was accepted", bad)
		}
	}
	eq(t, len(listBuildData(t, s, store.BuildDataQuery{})), total, "records after refused puts")
}
