package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// purgeTree is a top-level task with a subtask and a grandchild, and something of it in every
// table: messages, step runs, a reservation, a design snapshot, build data, boot actions.
type purgeTree struct {
	root, sub, leaf *task.Task
	l               task.Lease
	node            string
	deployment      string
	actions         []string
}

func (p purgeTree) tasks() []*task.Task { return []*task.Task{p.root, p.sub, p.leaf} }

// buildTree makes a purgeTree of a deploy_nodes task created at created, claimed and running
// (it must be the oldest queued deploy_nodes task). Its build data is collected at
// created+1m.
func buildTree(t *testing.T, s store.Store, owner, node string, created time.Time) purgeTree {
	t.Helper()
	ctx := t.Context()
	d := deploying(t, s, owner, created)
	p := purgeTree{root: d.root, sub: d.sub, l: d.l, node: node, deployment: owner + "/" + node}
	// A finished subtask (even under an unfinished top-level task).
	p.leaf = create(t, s, "power_cycle", task.StatusComplete, created, childOf(p.sub))
	for _, tk := range p.tasks() {
		must(t, s.AddMessages(ctx, tk.ID, task.NewMessage("about "+tk.Action, false, "", ""),
			task.NodeError(node, "failed once")), "add messages")
		must(t, s.CreateStepRuns(ctx, p.l, []task.StepRun{{TaskID: tk.ID, Step: "step", Node: node}}), "create step runs")
		must(t, s.PutBuildData(ctx, store.BuildData{NodeName: node, TaskID: tk.ID, Collected: created.Add(time.Minute),
			Generator: "lshw", Format: "text/xml", Data: []byte("<" + tk.Action + "/>")}), "put build data")
	}
	reserve(t, s, p.l, node)
	must(t, s.SaveDesign(ctx, p.root.ID, []store.DesignSource{{Name: "site.yaml", Data: []byte(owner)}}), "save design")
	_, as := ensure(t, s, p.l, d.baContext(node, p.deployment, 7, created), newActions("hw", "net"))
	for _, a := range as {
		p.actions = append(p.actions, a.ID)
	}
	report(t, s, p.actions[1], store.BootActionSuccess, created.Add(time.Minute), baMessage(p.actions[1], "done", false))
	return p
}

// treeState is everything the store tells about a tree.
type treeState struct {
	Tasks     []*task.Task
	Runs      [][]task.StepRun
	Design    []store.DesignSource
	BuildData [][]store.BuildData
	Actions   []store.BootAction
}

func stateOf(t *testing.T, s store.Store, p purgeTree) treeState {
	t.Helper()
	var st treeState
	for _, tk := range p.tasks() {
		st.Tasks = append(st.Tasks, get(t, s, tk.ID))
		runs, err := s.ListStepRuns(t.Context(), tk.ID)
		must(t, err, "list step runs")
		st.Runs = append(st.Runs, runs)
		st.BuildData = append(st.BuildData, listBuildData(t, s, store.BuildDataQuery{TaskID: &tk.ID}))
	}
	design, err := s.LoadDesign(t.Context(), p.root.ID)
	must(t, err, "load design")
	st.Design = design
	st.Actions = listActions(t, s, p.node, p.deployment)
	return st
}

// gone checks that nothing of a purged tree is left.
func gone(t *testing.T, s store.Store, p purgeTree, what string) {
	t.Helper()
	ctx := t.Context()
	for _, tk := range p.tasks() {
		_, err := s.GetTask(ctx, tk.ID)
		wantErr(t, err, store.ErrNotFound, what+": task")
		_, err = s.ListStepRuns(ctx, tk.ID)
		wantErr(t, err, store.ErrNotFound, what+": step runs")
		eq(t, len(listBuildData(t, s, store.BuildDataQuery{TaskID: &tk.ID})), 0, what+": build data")
	}
	_, err := s.LoadDesign(ctx, p.root.ID)
	wantErr(t, err, store.ErrNotFound, what+": design")
	eq(t, len(listActions(t, s, p.node, p.deployment)), 0, what+": boot actions")
	for _, id := range p.actions {
		_, _, err := s.GetBootAction(ctx, id)
		wantErr(t, err, store.ErrNotFound, what+": boot action")
	}
}

func purge(t *testing.T, s store.Store, before time.Time) store.PurgeResult {
	t.Helper()
	res, err := s.Purge(t.Context(), before)
	must(t, err, "purge")
	return res
}

func allTaskIDs(t *testing.T, s store.Store) []uuid.UUID {
	t.Helper()
	ts, err := s.ListTasks(t.Context(), store.ListParams{WithoutMessages: true})
	must(t, err, "list tasks")
	return sortedIDs(ids(ts))
}

func testPurge(t *testing.T, open Open) {
	s := open(t)
	ctx := t.Context()
	cutoff := at(-24 * time.Hour)
	old, recent := at(-100*time.Hour), at(-time.Hour)
	oldBD := at(-50 * time.Hour) // build data collected before the cutoff

	// Old finished trees: purged whole.
	complete := buildTree(t, s, "p1", "n1", old)
	must(t, s.FinishTask(ctx, complete.l, task.StatusComplete, task.Result{Status: task.ResultSuccess}, old.Add(time.Hour)),
		"finish")
	terminated := buildTree(t, s, "p2", "n2", old.Add(time.Second))
	_, err := s.RequestTermination(ctx, terminated.root.ID, "op", old.Add(time.Hour))
	must(t, err, "terminate")
	must(t, s.FinishTask(ctx, terminated.l, task.StatusTerminated, task.Result{Status: task.ResultFailure},
		old.Add(time.Hour)), "finish terminated")
	// Completed without FinishTask: its reservation is still there.
	lingering := buildTree(t, s, "p3", "n3", old.Add(2*time.Second))
	must(t, s.SetStatus(ctx, lingering.root.ID, []task.Status{task.StatusRunning}, task.StatusComplete, old.Add(time.Hour)),
		"complete")

	// Old unfinished trees: untouched, whatever the age of their data and the status of their
	// subtasks.
	runningOld := buildTree(t, s, "p4", "n4", old.Add(3*time.Second))
	terminatingOld := buildTree(t, s, "p5", "n5", old.Add(4*time.Second))
	_, err = s.RequestTermination(ctx, terminatingOld.root.ID, "op", old.Add(time.Hour))
	must(t, err, "terminate")
	// A recent finished tree, which redeployed n1: kept, except its build data collected before
	// the cutoff.
	recentDone := buildTree(t, s, "p6", "n1", recent)
	for _, tk := range []*task.Task{recentDone.root, recentDone.leaf} {
		must(t, s.PutBuildData(ctx, store.BuildData{NodeName: "n1", TaskID: tk.ID, Collected: oldBD, Generator: "lldp",
			Format: "application/json", Data: []byte("{}")}), "put old build data of a recent tree")
	}
	must(t, s.FinishTask(ctx, recentDone.l, task.StatusComplete, task.Result{Status: task.ResultSuccess}, recent),
		"finish recent")
	// Unfinished trees that never ran (made last: they are older than the trees above, and have
	// not said which nodes they want, so no younger task could reserve nodes).
	queuedOld := create(t, s, task.ActionPrepareNodes, task.StatusQueued, old)
	requestedOld := create(t, s, task.ActionPrepareNodes, task.StatusRequested, old)
	var unfinishedSubs []*task.Task
	for _, tk := range []*task.Task{queuedOld, requestedOld} {
		sub := create(t, s, "step", task.StatusComplete, old, childOf(tk))
		unfinishedSubs = append(unfinishedSubs, sub)
		must(t, s.AddMessages(ctx, sub.ID, task.NewMessage("m", true, "", "")), "add message")
		must(t, s.PutBuildData(ctx, store.BuildData{NodeName: "n9", TaskID: sub.ID, Collected: oldBD, Generator: "lldp",
			Format: "application/json", Data: []byte("{}")}), "put build data")
	}
	must(t, s.PutBuildData(ctx, store.BuildData{NodeName: "n4", TaskID: runningOld.leaf.ID, Collected: oldBD,
		Generator: "lldp", Format: "application/json", Data: []byte("{}")}), "put old build data of a running tree")

	// Finished exactly at the cutoff: kept, but not its old build data.
	atCutoff := create(t, s, task.ActionNoop, task.StatusComplete, cutoff)
	must(t, s.PutBuildData(ctx, store.BuildData{NodeName: "n8", TaskID: atCutoff.ID, Collected: oldBD, Generator: "lldp",
		Format: "application/json", Data: []byte("{}")}), "put build data")
	must(t, s.PutBuildData(ctx, store.BuildData{NodeName: "n8", TaskID: atCutoff.ID, Collected: cutoff, Generator: "lldp",
		Format: "application/json", Data: []byte("{}")}), "put build data")

	kept := []purgeTree{runningOld, terminatingOld}
	keptStates := make([]treeState, len(kept))
	for i, p := range kept {
		keptStates[i] = stateOf(t, s, p)
	}
	recentState := stateOf(t, s, recentDone)
	var recentBD []store.BuildData
	for i, bds := range recentState.BuildData {
		var newer []store.BuildData
		for _, bd := range bds {
			if !bd.Collected.Before(cutoff) {
				newer = append(newer, bd)
			}
		}
		recentState.BuildData[i] = newer
		recentBD = append(recentBD, newer...)
	}
	unfinishedTasks := []*task.Task{queuedOld, requestedOld, unfinishedSubs[0], unfinishedSubs[1]}
	var unfinishedState []*task.Task
	var unfinishedBD [][]store.BuildData
	for _, tk := range unfinishedTasks {
		unfinishedState = append(unfinishedState, get(t, s, tk.ID))
		unfinishedBD = append(unfinishedBD, listBuildData(t, s, store.BuildDataQuery{TaskID: &tk.ID}))
	}
	var wantIDs []uuid.UUID
	for _, p := range append(kept, recentDone) {
		wantIDs = append(wantIDs, ids(p.tasks())...)
	}
	wantIDs = sortedIDs(append(wantIDs, ids(append(unfinishedTasks, atCutoff))...))

	// 3 trees of 3 tasks, 2 boot actions each; build data: 3 per purged tree, 2 old ones of the
	// recent tree, 1 of the task at the cutoff.
	eq(t, purge(t, s, cutoff), store.PurgeResult{Tasks: 9, BuildData: 12, BootActions: 6}, "purged")
	for _, p := range []purgeTree{complete, terminated, lingering} {
		gone(t, s, p, "purged tree of "+p.deployment)
	}
	eq(t, allTaskIDs(t, s), wantIDs, "tasks left")
	check := func(what string) {
		t.Helper()
		for i, p := range kept {
			eq(t, stateOf(t, s, p), keptStates[i], what+": unfinished tree of "+p.deployment)
		}
		eq(t, stateOf(t, s, recentDone), recentState, what+": recent tree")
		for i, tk := range unfinishedTasks {
			eq(t, get(t, s, tk.ID), unfinishedState[i], what+": unfinished task")
			eq(t, listBuildData(t, s, store.BuildDataQuery{TaskID: &tk.ID}), unfinishedBD[i], what+": its build data")
		}
		sameBuildData(t, listBuildData(t, s, store.BuildDataQuery{NodeName: "n8"}),
			[]store.BuildData{{NodeName: "n8", TaskID: atCutoff.ID, Collected: cutoff, Generator: "lldp",
				Format: "application/json", Data: []byte("{}")}}, what+": build data at the cutoff")
		// n1's current context is the recent deployment's; n2's and n3's were purged.
		eq(t, currentContext(t, s, "n1").Deployment, recentDone.deployment, what+": n1's context")
		for _, node := range []string{"n2", "n3"} {
			_, err := s.GetBootActionContext(ctx, node)
			wantErr(t, err, store.ErrNotFound, what+": context of "+node)
		}
	}
	check("after the purge")
	if len(recentBD) != 3 {
		t.Fatalf("recent tree: %d recent build data records, want 3", len(recentBD))
	}

	// Again: nothing more.
	eq(t, purge(t, s, cutoff), store.PurgeResult{}, "purged again")
	eq(t, allTaskIDs(t, s), wantIDs, "tasks left after purging again")
	check("after purging again")

	// A later cutoff takes the recent finished trees too, never the unfinished ones.
	res := purge(t, s, at(2*time.Hour))
	eq(t, res, store.PurgeResult{Tasks: 4, BuildData: 4, BootActions: 2}, "purged with a later cutoff")
	gone(t, s, recentDone, "recent tree")
	_, err = s.GetBootActionContext(ctx, "n1")
	wantErr(t, err, store.ErrNotFound, "n1's context")
	for i, p := range kept {
		eq(t, stateOf(t, s, p), keptStates[i], "after a later cutoff: unfinished tree of "+p.deployment)
	}
	for i, tk := range unfinishedTasks {
		eq(t, get(t, s, tk.ID), unfinishedState[i], "after a later cutoff: unfinished task")
	}
	eq(t, purge(t, s, time.Time{}), store.PurgeResult{}, "purge with a zero cutoff")
}
