package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// listIDs lists tasks and returns their ids.
func listIDs(t testing.TB, s store.Store, p store.ListParams) []uuid.UUID {
	t.Helper()
	ts, err := s.ListTasks(context.Background(), p)
	must(t, err, "list tasks")
	return ids(ts)
}

// byListingOrder sorts tasks as listings do: newest first, ties broken by id descending.
func byListingOrder(ts []*task.Task) []uuid.UUID {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b *task.Task) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return slices.Compare(b.ID[:], a.ID[:])
	})
	return ids(ts)
}

func testListRoot(t *testing.T, open Open) {
	s := open(t)
	root := create(t, s, task.ActionDeployNodes, task.StatusRunning, t0)
	c1 := create(t, s, "step", task.StatusComplete, at(1*time.Second), childOf(root))
	c2 := create(t, s, "step", task.StatusRunning, at(2*time.Second), childOf(root))
	g1 := create(t, s, "sub_step", task.StatusComplete, at(3*time.Second), childOf(c1))
	gg1 := create(t, s, "sub_sub_step", task.StatusRunning, at(4*time.Second), childOf(g1))
	g2 := create(t, s, "sub_step", task.StatusRequested, at(5*time.Second), childOf(c2))
	other := create(t, s, task.ActionPrepareNodes, task.StatusRunning, at(6*time.Second))
	oc := create(t, s, "step", task.StatusRunning, at(7*time.Second), childOf(other))
	lone := create(t, s, task.ActionNoop, task.StatusQueued, at(8*time.Second))

	eq(t, listIDs(t, s, store.ListParams{RootID: &root.ID}), idsOf(g2, gg1, g1, c2, c1),
		"descendants of root, at every depth, newest first")
	eq(t, listIDs(t, s, store.ListParams{RootID: &other.ID}), idsOf(oc), "descendants of other")
	eq(t, listIDs(t, s, store.ListParams{RootID: &lone.ID}), idsOf(), "a task without subtasks")
	eq(t, listIDs(t, s, store.ListParams{RootID: ptr(uuid.New())}), idsOf(), "an unknown root")
	eq(t, listIDs(t, s, store.ListParams{RootID: &root.ID, Statuses: []task.Status{task.StatusRunning}}),
		idsOf(gg1, c2), "descendants of root, running")
	eq(t, listIDs(t, s, store.ListParams{RootID: &root.ID, Action: "sub_step"}), idsOf(g2, g1), "descendants of root, by action")
	eq(t, listIDs(t, s, store.ListParams{RootID: &root.ID, ParentID: &c1.ID}), idsOf(g1), "descendants of root, children of c1")
	eq(t, listIDs(t, s, store.ListParams{RootID: &other.ID, ParentID: &c1.ID}), idsOf(), "descendants of other, children of c1")
	eq(t, listIDs(t, s, store.ListParams{RootID: &root.ID, ParentID: &g1.ID}), idsOf(gg1), "descendants of root, children of g1")
	eq(t, listIDs(t, s, store.ListParams{RootID: &root.ID, Limit: 2}), idsOf(g2, gg1), "descendants of root, limited")
	eq(t, listIDs(t, s, store.ListParams{RootID: &root.ID, TopLevelOnly: true}), idsOf(), "descendants are never top-level")
}

func testListAfter(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	var all []*task.Task
	for i := range 25 {
		// Groups of four tasks share their creation time, so that pages of seven end inside
		// groups, where only the id orders the tasks.
		action := task.ActionDeployNodes
		if i%3 == 0 {
			action = task.ActionPrepareNodes
		}
		all = append(all, create(t, s, action, task.StatusQueued, at(time.Duration(i/4)*time.Second)))
	}
	want := byListingOrder(all)
	eq(t, listIDs(t, s, store.ListParams{}), want, "whole listing: newest first, ties by id descending")

	// Paging through with Limit and After lists every task once, in order.
	var paged []uuid.UUID
	var after *uuid.UUID
	pages := 0
	for {
		page := listIDs(t, s, store.ListParams{Limit: 7, After: after})
		if len(page) == 0 {
			break
		}
		if len(page) > 7 {
			t.Fatalf("page of %d tasks with limit 7", len(page))
		}
		if pages++; pages > 10 {
			t.Fatalf("paging does not end: %d tasks after %d pages", len(paged), pages)
		}
		paged = append(paged, page...)
		after = &page[len(page)-1]
	}
	eq(t, pages, 4, "pages of seven")
	eq(t, paged, want, "tasks paged through")

	// After with no limit: everything after that task.
	for _, i := range []int{0, 5, 12, 24} {
		eq(t, listIDs(t, s, store.ListParams{After: &want[i]}), want[i+1:], "after the task at position "+name("", i))
	}

	// After combines with filters; the task it names need not match them.
	action := map[uuid.UUID]string{}
	for _, tk := range all {
		action[tk.ID] = tk.Action
	}
	prepareIn := func(list []uuid.UUID) []uuid.UUID {
		out := []uuid.UUID{}
		for _, id := range list {
			if action[id] == task.ActionPrepareNodes {
				out = append(out, id)
			}
		}
		return out
	}
	j := 10
	for action[want[j]] == task.ActionPrepareNodes {
		j++
	}
	eq(t, listIDs(t, s, store.ListParams{Action: task.ActionPrepareNodes, After: &want[j]}),
		prepareIn(want[j+1:]), "by action, after a task of another action")
	wantPrepare := prepareIn(want)
	eq(t, listIDs(t, s, store.ListParams{Action: task.ActionPrepareNodes, After: &wantPrepare[2], Limit: 2}),
		wantPrepare[3:5], "by action, after one of them, limited")

	// An unknown task to list after.
	_, err := s.ListTasks(ctx, store.ListParams{After: ptr(uuid.New())})
	wantErr(t, err, store.ErrNotFound, "list after an unknown task")
	_, err = s.ListTasks(ctx, store.ListParams{After: ptr(uuid.New()), Limit: 7, TopLevelOnly: true})
	wantErr(t, err, store.ErrNotFound, "list after an unknown task, with filters")
}

func testListWithoutMessages(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	a := create(t, s, task.ActionDeployNodes, task.StatusRunning, t0, func(tk *task.Task) {
		tk.Result.Messages = []task.Message{task.NewMessage("initial error", true, "", "")}
	})
	b := create(t, s, task.ActionPrepareNodes, task.StatusQueued, at(time.Second))
	c := create(t, s, task.ActionNoop, task.StatusQueued, at(2*time.Second))
	sub1 := create(t, s, "step", task.StatusRunning, at(3*time.Second), childOf(a))
	sub2 := create(t, s, "step", task.StatusRunning, at(4*time.Second), childOf(a))
	must(t, s.AddMessages(ctx, a.ID,
		task.NewMessage("fine", false, "", ""),
		task.NodeError("n1", "broken"),
		task.NodeError("n2", "broken too"),
		task.NewMessage("also fine", false, "", "")), "add messages to a")
	must(t, s.AddMessages(ctx, b.ID, task.NewMessage("all good", false, "", "")), "add message to b")
	must(t, s.AddMessages(ctx, sub1.ID, task.NodeError("n1", "sub error")), "add message to sub1")

	ts, err := s.ListTasks(ctx, store.ListParams{WithoutMessages: true})
	must(t, err, "list without messages")
	eq(t, ids(ts), idsOf(sub2, sub1, c, b, a), "listed tasks")
	wantErrors := map[uuid.UUID]int{a.ID: 3, b.ID: 0, c.ID: 0, sub1.ID: 1, sub2.ID: 0}
	for _, tk := range ts {
		if tk.Result.Messages != nil {
			t.Fatalf("task %s listed with %d messages", tk.ID, len(tk.Result.Messages))
		}
		eq(t, tk.Result.CountedErrors, wantErrors[tk.ID], "CountedErrors of task "+tk.ID.String())
		eq(t, tk.Result.ErrorCount(), wantErrors[tk.ID], "ErrorCount of task "+tk.ID.String())
	}
	eq(t, ts[4].SubtaskIDs, idsOf(sub1, sub2), "subtasks of a listed without messages")
	sameTask(t, ts[4], get(t, s, a.ID))

	// Combined with other parameters.
	ts, err = s.ListTasks(ctx, store.ListParams{WithoutMessages: true, TopLevelOnly: true, Limit: 1, After: &b.ID})
	must(t, err, "list without messages, after b")
	eq(t, ids(ts), idsOf(a), "after b")
	eq(t, ts[0].Result.CountedErrors, 3, "CountedErrors of a after b")
	eq(t, ts[0].SubtaskIDs, idsOf(sub1, sub2), "subtasks of a after b")

	// By default, messages are loaded and not counted.
	ts, err = s.ListTasks(ctx, store.ListParams{TopLevelOnly: true})
	must(t, err, "list with messages")
	eq(t, ids(ts), idsOf(c, b, a), "listed with messages")
	eq(t, len(ts[2].Result.Messages), 5, "messages of a")
	eq(t, len(ts[1].Result.Messages), 1, "messages of b")
	eq(t, ts[2].Result.CountedErrors, 0, "CountedErrors with messages loaded")
	eq(t, ts[2].Result.ErrorCount(), 3, "ErrorCount of a with messages loaded")
}
