package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api"
	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

// Tokens of the test identities; they look like secrets so that a leak is easy to spot.
const (
	adminToken = "adm1n-T0KEN-s3cr3t-0123456789abcdef"
	wrongToken = "wr0ng-T0KEN-s3cr3t-0123456789abcdef"
)

// --- a real API server ---------------------------------------------------------------------

// apiEnv is a real API server (SQLite store, orchestrator not running, simulated site with the
// example's machines) behind an httptest server, and a client of it with the admin token.
type apiEnv struct {
	url  string
	raw  store.Store
	orch *orchestrator.Orchestrator
	site string
	c    *Client
}

func newAPI(t *testing.T) *apiEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "drydock.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := sim.Open("", sim.Config{})
	if err != nil {
		t.Fatalf("open sim: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	nodes, err := testutil.ExampleNodes()
	if err != nil {
		t.Fatalf("compile example site: %v", err)
	}
	if err := s.Ensure(nodes...); err != nil {
		t.Fatalf("sim ensure: %v", err)
	}
	drivers := driver.Set{Node: s.NodeDriver(), OOB: map[string]driver.OOBDriver{"ipmi": s.OOBDriver()}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	orch := orchestrator.New(st, drivers, orchestrator.Config{}, orchestrator.WithLogger(log))
	toks := &auth.Tokens{}
	if err := toks.Add(adminToken, auth.Identity{User: "admin", UserID: "admin", Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(nil)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	srv := &api.Server{Store: st, Orch: orch, Drivers: drivers, Auth: toks, Policy: pol, Log: log}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c, err := New(hs.URL, adminToken)
	if err != nil {
		t.Fatalf("New(%q): %v", hs.URL, err)
	}
	c.Backoff, c.MaxBackoff = time.Millisecond, 2*time.Millisecond
	return &apiEnv{url: hs.URL, raw: st, orch: orch, site: testutil.ExampleSite(t), c: c}
}

// asError returns err as *Error, failing the test when it is not one.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}

// sameJSON reports whether two JSON documents are equal in value.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// subtask stores a subtask of parent with messages, directly in the store.
func subtask(t *testing.T, st store.Store, parent uuid.UUID, designRef, step string, msgs ...task.Message) *task.Task {
	t.Helper()
	c := task.New(step, designRef, nil, "admin", time.Now())
	c.ParentID, c.Step = &parent, step
	c.Result.Messages = msgs
	if err := st.CreateTask(context.Background(), c); err != nil {
		t.Fatalf("create subtask: %v", err)
	}
	return c
}

var twoNodes = json.RawMessage(`{"filter_set_type":"union","filter_set":[{"filter_type":"union","node_names":["cmp01","ctl01"]}]}`)

func TestCreateAndGetTask(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	tk, err := e.c.CreateTask(ctx, task.ActionDeployNodes, e.site, twoNodes)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	id, err := uuid.Parse(tk.TaskID)
	if err != nil {
		t.Fatalf("task_id %q: %v", tk.TaskID, err)
	}
	if tk.Kind != "Task" || tk.Action != task.ActionDeployNodes || tk.DesignRef != e.site || tk.Status != "queued" ||
		tk.CreatedBy != "admin" || tk.ParentTaskID != nil || tk.Retry != 0 || tk.Terminate || tk.Created.Before(before) {
		t.Errorf("created task %+v", tk)
	}
	if !sameJSON(t, tk.NodeFilter, twoNodes) {
		t.Errorf("node_filter %s, want %s", tk.NodeFilter, twoNodes)
	}
	// The store has it, filter included.
	stored, err := e.raw.GetTask(ctx, id)
	if err != nil {
		t.Fatalf("stored task: %v", err)
	}
	if !sameJSON(t, stored.NodeFilter, twoNodes) || stored.Action != task.ActionDeployNodes {
		t.Errorf("stored task %+v", stored)
	}

	got, err := e.c.GetTask(ctx, id, TaskOptions{})
	if err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	if got.TaskID != tk.TaskID || got.Action != tk.Action || got.DesignRef != tk.DesignRef || got.Status != "queued" ||
		!got.Created.Equal(tk.Created) || !sameJSON(t, got.NodeFilter, twoNodes) {
		t.Errorf("GetTask %+v, want %+v", got, tk)
	}
	if got.BuildData != nil || got.SubtaskErrors != nil {
		t.Errorf("options not asked for, yet build_data %v subtask_errors %v", got.BuildData, got.SubtaskErrors)
	}

	// Without a filter: all nodes (null).
	all, err := e.c.CreateTask(ctx, task.ActionVerifySite, e.site, nil)
	if err != nil {
		t.Fatalf("CreateTask without filter: %v", err)
	}
	if string(all.NodeFilter) != "null" || all.Action != task.ActionVerifySite {
		t.Errorf("task without filter: node_filter %s, action %s", all.NodeFilter, all.Action)
	}

	// A refused creation is an *Error with the server's Status.
	_, err = e.c.CreateTask(ctx, "no_such_action", e.site, nil)
	if ae := asError(t, err); ae.Code != http.StatusBadRequest || ae.Status == nil || ae.Status.Reason != "BadRequest" ||
		!strings.Contains(ae.Error(), "no_such_action") || !strings.Contains(ae.Error(), "HTTP 400") {
		t.Errorf("bad action: %v (%+v)", err, ae)
	}

	// 404.
	missing := uuid.New()
	_, err = e.c.GetTask(ctx, missing, TaskOptions{})
	if !IsNotFound(err) || HTTPCode(err) != http.StatusNotFound {
		t.Fatalf("unknown task: %v (HTTPCode %d)", err, HTTPCode(err))
	}
	if ae := asError(t, err); ae.Status == nil || ae.Status.Reason != "NotFound" || !strings.Contains(ae.Status.Message, missing.String()) {
		t.Errorf("404 Status %+v", ae.Status)
	}
	if IsNotFound(errors.New("x")) || HTTPCode(errors.New("x")) != 0 || HTTPCode(nil) != 0 || IsNotFound(nil) {
		t.Error("IsNotFound/HTTPCode of a non-HTTP error")
	}
	if HTTPCode(fmt.Errorf("wrapped: %w", err)) != http.StatusNotFound {
		t.Error("HTTPCode does not see through wrapping")
	}
}

func TestListTasks(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	var created []string // oldest first
	actionOf := map[string]string{}
	for i := range 7 {
		action := task.ActionVerifySite
		if i%2 == 1 {
			action = task.ActionDeployNodes
		}
		tk, err := e.c.CreateTask(ctx, action, e.site, nil)
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		created = append(created, tk.TaskID)
		actionOf[tk.TaskID] = action
		time.Sleep(2 * time.Millisecond) // distinct creation times: the order is then certain
	}
	newestFirst := slices.Clone(created)
	slices.Reverse(newestFirst)

	t.Run("paging", func(t *testing.T) {
		var got []string
		var sizes []int
		marker := ""
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatal("paging does not end")
			}
			tasks, next, err := e.c.ListTasks(ctx, ListOptions{Limit: 3, Marker: marker})
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			sizes = append(sizes, len(tasks))
			for _, tk := range tasks {
				got = append(got, tk.TaskID)
			}
			if next != "" && (len(tasks) == 0 || next != tasks[len(tasks)-1].TaskID) {
				t.Errorf("page %d: next marker %q is not the page's last task", page, next)
			}
			if next == "" {
				break
			}
			marker = next
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Errorf("page sizes %v, want [3 3 1]", sizes)
		}
		if !slices.Equal(got, newestFirst) {
			t.Errorf("paged listing %v,\nwant newest first %v", got, newestFirst)
		}
		// Without a limit: one page, no marker.
		all, next, err := e.c.ListTasks(ctx, ListOptions{})
		if err != nil || next != "" || len(all) != 7 {
			t.Errorf("full listing: %d tasks, next %q, err %v", len(all), next, err)
		}
		// A limit of exactly the count: no next page.
		if _, next, err := e.c.ListTasks(ctx, ListOptions{Limit: 7}); err != nil || next != "" {
			t.Errorf("limit 7: next %q, err %v", next, err)
		}
	})

	t.Run("action", func(t *testing.T) {
		tasks, _, err := e.c.ListTasks(ctx, ListOptions{Action: task.ActionDeployNodes})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tk := range tasks {
			if tk.Action != task.ActionDeployNodes {
				t.Errorf("action filter listed a %s task", tk.Action)
			}
			got = append(got, tk.TaskID)
		}
		want := []string{created[5], created[3], created[1]}
		if !slices.Equal(got, want) {
			t.Errorf("deploy_nodes tasks %v, want %v", got, want)
		}
		_, _, err = e.c.ListTasks(ctx, ListOptions{Action: "nonsense"})
		if HTTPCode(err) != http.StatusBadRequest {
			t.Errorf("unknown action filter: %v", err)
		}
	})

	t.Run("statuses", func(t *testing.T) {
		if _, err := e.c.TerminateTask(ctx, uuid.MustParse(created[2])); err != nil {
			t.Fatalf("terminate: %v", err)
		}
		tasks, _, err := e.c.ListTasks(ctx, ListOptions{Statuses: []string{"terminated"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) != 1 || tasks[0].TaskID != created[2] || tasks[0].Status != "terminated" {
			t.Errorf("terminated tasks: %+v", tasks)
		}
		tasks, _, err = e.c.ListTasks(ctx, ListOptions{Statuses: []string{"queued"}})
		if err != nil || len(tasks) != 6 || slices.ContainsFunc(tasks, func(tk wire.Task) bool { return tk.TaskID == created[2] }) {
			t.Errorf("queued tasks: %d, err %v", len(tasks), err)
		}
		tasks, _, err = e.c.ListTasks(ctx, ListOptions{Statuses: []string{"queued", "terminated"}})
		if err != nil || len(tasks) != 7 {
			t.Errorf("queued or terminated: %d, err %v", len(tasks), err)
		}
		// Combined with the action filter.
		tasks, _, err = e.c.ListTasks(ctx, ListOptions{Statuses: []string{"terminated"}, Action: task.ActionDeployNodes})
		if err != nil || len(tasks) != 0 {
			t.Errorf("terminated deploy_nodes: %d, err %v", len(tasks), err)
		}
		_, _, err = e.c.ListTasks(ctx, ListOptions{Statuses: []string{"bogus"}})
		if HTTPCode(err) != http.StatusBadRequest {
			t.Errorf("unknown status filter: %v", err)
		}
	})

	t.Run("toplevel and messages", func(t *testing.T) {
		child := subtask(t, e.raw, uuid.MustParse(created[6]), e.site, "identify_node", task.NodeError("cmp01", "cmp01 is unknown"))
		all, _, err := e.c.ListTasks(ctx, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(all, func(tk wire.Task) bool { return tk.TaskID == child.ID.String() })
		if len(all) != 8 || i < 0 {
			t.Fatalf("listing with the subtask: %d tasks, subtask at %d", len(all), i)
		}
		// Without messages: counted, not listed.
		if d := all[i].Result.Details; d.ErrorCount != 1 || len(d.MessageList) != 0 {
			t.Errorf("subtask without messages: %+v", d)
		}
		top, _, err := e.c.ListTasks(ctx, ListOptions{TopLevel: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(top) != 7 || slices.ContainsFunc(top, func(tk wire.Task) bool { return tk.ParentTaskID != nil }) {
			t.Errorf("top-level listing: %d tasks", len(top))
		}
		withMsgs, _, err := e.c.ListTasks(ctx, ListOptions{Messages: true, Limit: 1})
		if err != nil || len(withMsgs) != 1 {
			t.Fatalf("listing with messages: %d, %v", len(withMsgs), err)
		}
		if withMsgs[0].TaskID != child.ID.String() {
			t.Fatalf("newest task %s, want the subtask %s", withMsgs[0].TaskID, child.ID)
		}
		if l := withMsgs[0].Result.Details.MessageList; len(l) != 1 || l[0].Message != "cmp01 is unknown" || !l[0].Error {
			t.Errorf("subtask messages %+v", l)
		}
	})
}

func TestGetTaskOptionsAndLayers(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	parent, err := e.c.CreateTask(ctx, task.ActionDeployNodes, e.site, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := uuid.MustParse(parent.TaskID)
	child := subtask(t, e.raw, pid, e.site, "identify_node",
		task.NodeError("cmp01", "cmp01 is not known to the provisioner"), task.NodeInfo("cmp02", "cmp02 found"))
	clean := subtask(t, e.raw, pid, e.site, "configure_hardware", task.NodeInfo("cmp02", "commissioned"))
	grandchild := subtask(t, e.raw, clean.ID, e.site, "apply_node_networking", task.NodeError("cmp02", "bond0 has no slaves"))
	collected := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := e.raw.PutBuildData(ctx, store.BuildData{NodeName: "cmp01", TaskID: pid, Collected: collected,
		Generator: "lshw", Format: "text/xml", Data: []byte("<node/>")}); err != nil {
		t.Fatal(err)
	}

	plain, err := e.c.GetTask(ctx, pid, TaskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plain.SubtaskIDList, []string{child.ID.String(), clean.ID.String()}) {
		t.Errorf("subtask_id_list %v", plain.SubtaskIDList)
	}

	withErrs, err := e.c.GetTask(ctx, pid, TaskOptions{SubtaskErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(withErrs.SubtaskErrors) != 2 || withErrs.BuildData != nil {
		t.Fatalf("subtask_errors %+v (build_data %v)", withErrs.SubtaskErrors, withErrs.BuildData)
	}
	se, ok := withErrs.SubtaskErrors[child.ID.String()]
	if !ok || se.TaskID != child.ID.String() || se.Details.ErrorCount != 1 || len(se.Details.MessageList) != 2 ||
		se.Details.MessageList[0].Message != "cmp01 is not known to the provisioner" || !se.Details.MessageList[0].Error {
		t.Errorf("child's subtask error %+v", se)
	}
	if ge, ok := withErrs.SubtaskErrors[grandchild.ID.String()]; !ok || ge.Details.ErrorCount != 1 {
		t.Errorf("grandchild's subtask error %+v", ge)
	}
	if _, ok := withErrs.SubtaskErrors[clean.ID.String()]; ok {
		t.Error("a subtask without errors is listed in subtask_errors")
	}

	withBD, err := e.c.GetTask(ctx, pid, TaskOptions{BuildData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(withBD.BuildData) != 1 || withBD.SubtaskErrors != nil {
		t.Fatalf("build_data %+v (subtask_errors %v)", withBD.BuildData, withBD.SubtaskErrors)
	}
	want := wire.BuildData{NodeName: "cmp01", TaskID: parent.TaskID, CollectedDate: collected, Generator: "lshw",
		DataFormat: "text/xml", DataElement: "<node/>"}
	if bd := withBD.BuildData[0]; bd.NodeName != want.NodeName || bd.TaskID != want.TaskID || !bd.CollectedDate.Equal(want.CollectedDate) ||
		bd.Generator != want.Generator || bd.DataFormat != want.DataFormat || bd.DataElement != want.DataElement {
		t.Errorf("build data %+v, want %+v", bd, want)
	}
	both, err := e.c.GetTask(ctx, pid, TaskOptions{BuildData: true, SubtaskErrors: true})
	if err != nil || len(both.BuildData) != 1 || len(both.SubtaskErrors) != 2 {
		t.Errorf("both options: %v, %+v", err, both)
	}
	// Asked for and empty: present and empty.
	if ct, err := e.c.GetTask(ctx, clean.ID, TaskOptions{BuildData: true}); err != nil || ct.BuildData == nil || len(ct.BuildData) != 0 {
		t.Errorf("a task without build data: %v, %v", err, ct)
	}

	t.Run("layers", func(t *testing.T) {
		all, err := e.c.GetTaskLayers(ctx, pid, -1, TaskOptions{SubtaskErrors: true})
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(all))
		for k := range all {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		wantKeys := []string{parent.TaskID, child.ID.String(), clean.ID.String(), grandchild.ID.String(), "init_task_id", "subtask_errors"}
		slices.Sort(wantKeys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("layers -1 keys %v, want %v", keys, wantKeys)
		}
		var init string
		if err := json.Unmarshal(all["init_task_id"], &init); err != nil || init != parent.TaskID {
			t.Errorf("init_task_id %s", all["init_task_id"])
		}
		var gc wire.Task
		if err := json.Unmarshal(all[grandchild.ID.String()], &gc); err != nil || gc.TaskID != grandchild.ID.String() ||
			gc.ParentTaskID == nil || *gc.ParentTaskID != clean.ID.String() {
			t.Errorf("grandchild in layers: %v %+v", err, gc)
		}
		var errs map[string]wire.SubtaskError
		if err := json.Unmarshal(all["subtask_errors"], &errs); err != nil || len(errs) != 2 {
			t.Errorf("subtask_errors in layers: %v %s", err, all["subtask_errors"])
		}

		one, err := e.c.GetTaskLayers(ctx, pid, 1, TaskOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := one[parent.TaskID]; len(one) != 2 || !ok {
			t.Errorf("layers 1: %d keys %v", len(one), one)
		}
		two, err := e.c.GetTaskLayers(ctx, pid, 2, TaskOptions{BuildData: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := two[grandchild.ID.String()]; len(two) != 4 || ok {
			t.Errorf("layers 2: %d keys", len(two))
		}
		var p wire.Task
		if err := json.Unmarshal(two[parent.TaskID], &p); err != nil || len(p.BuildData) != 1 {
			t.Errorf("parent with build data in layers: %v %+v", err, p)
		}
		if _, err := e.c.GetTaskLayers(ctx, uuid.New(), -1, TaskOptions{}); !IsNotFound(err) {
			t.Errorf("layers of an unknown task: %v", err)
		}
	})
}

func TestTaskStepsAndBuildData(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	tk, err := e.orch.Submit(ctx, task.ActionNoop, e.site, nil, "admin")
	if err != nil {
		t.Fatal(err)
	}
	steps, err := e.c.TaskSteps(ctx, tk.ID)
	if err != nil || len(steps) != 0 {
		t.Fatalf("steps of a queued task: %v %v", steps, err)
	}
	_, lease, err := e.raw.ClaimTask(ctx, "test", []string{task.ActionNoop}, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.raw.CreateStepRuns(ctx, lease, []task.StepRun{
		{TaskID: tk.ID, Step: "noop", Node: "cmp01", Ordinal: 1, State: task.StepPending},
		{TaskID: tk.ID, Step: "noop", Node: "cmp02", Ordinal: 1, State: task.StepPending},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.raw.StartStep(ctx, lease, tk.ID, "noop", "cmp02", time.Now()); err != nil {
		t.Fatal(err)
	}
	steps, err = e.c.TaskSteps(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].Node != "cmp01" || steps[0].State != "pending" || steps[0].Started != nil ||
		steps[1].Node != "cmp02" || steps[1].State != "running" || steps[1].Attempts != 1 || steps[1].Started == nil ||
		steps[0].Step != "noop" || steps[0].Ordinal != 1 {
		t.Errorf("steps %+v", steps)
	}
	if _, err := e.c.TaskSteps(ctx, uuid.New()); !IsNotFound(err) {
		t.Errorf("steps of an unknown task: %v", err)
	}

	// Build data.
	bd, err := e.c.TaskBuildData(ctx, tk.ID)
	if err != nil || len(bd) != 0 {
		t.Fatalf("no build data: %v %v", bd, err)
	}
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, r := range []store.BuildData{
		{NodeName: "cmp01", TaskID: tk.ID, Collected: t1, Generator: "lshw", Format: "text/xml", Data: []byte("<a/>")},
		{NodeName: "cmp02", TaskID: tk.ID, Collected: t1.Add(time.Second), Generator: "lldp", Format: "application/json", Data: []byte("{}")},
	} {
		if err := e.raw.PutBuildData(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	bd, err = e.c.TaskBuildData(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd) != 2 || bd[0].NodeName != "cmp01" || bd[0].DataElement != "<a/>" || bd[0].Generator != "lshw" ||
		bd[0].TaskID != tk.ID.String() || !bd[0].CollectedDate.Equal(t1) || bd[1].NodeName != "cmp02" || bd[1].DataFormat != "application/json" {
		t.Errorf("build data %+v", bd)
	}
	if _, err := e.c.TaskBuildData(ctx, uuid.New()); !IsNotFound(err) {
		t.Errorf("build data of an unknown task: %v", err)
	}
}

func TestTerminateAndRetry(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	tk, err := e.c.CreateTask(ctx, task.ActionDeployNodes, e.site, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse(tk.TaskID)

	// Retrying a queued task is a conflict.
	_, err = e.c.RetryTask(ctx, id)
	if ae := asError(t, err); ae.Code != http.StatusConflict || ae.Status == nil || ae.Status.Reason != "Conflict" {
		t.Errorf("retry of a queued task: %v", err)
	}

	term, err := e.c.TerminateTask(ctx, id)
	if err != nil {
		t.Fatalf("terminate: %v", err)
	}
	if term.TaskID != tk.TaskID || term.Status != "terminated" || !term.Terminate || term.TerminatedBy != "admin" || term.Terminated == nil {
		t.Errorf("terminated task %+v", term)
	}
	_, err = e.c.TerminateTask(ctx, id)
	ae := asError(t, err)
	if ae.Code != http.StatusConflict || HTTPCode(err) != http.StatusConflict || ae.Status == nil || ae.Status.Reason != "Conflict" ||
		!strings.Contains(ae.Status.Message, tk.TaskID) || ae.Status.Status != "Failure" {
		t.Errorf("second terminate: %v (%+v)", err, ae.Status)
	}
	if !strings.Contains(err.Error(), "HTTP 409 Conflict") {
		t.Errorf("error text %q", err)
	}

	rt, err := e.c.RetryTask(ctx, id)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if rt.TaskID != tk.TaskID || rt.Retry != 1 || rt.Status != "queued" {
		t.Errorf("retried task %+v", rt)
	}
	if st, err := e.raw.GetTask(ctx, id); err != nil || st.Retry != 1 || st.Status != task.StatusQueued {
		t.Errorf("stored retried task %+v %v", st, err)
	}
	if _, err := e.c.TerminateTask(ctx, uuid.New()); !IsNotFound(err) {
		t.Errorf("terminate of an unknown task: %v", err)
	}
	if _, err := e.c.RetryTask(ctx, uuid.New()); !IsNotFound(err) {
		t.Errorf("retry of an unknown task: %v", err)
	}
}

func TestNodesAndNodeBuildData(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	ms, err := e.c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Hostname)
	}
	slices.Sort(names)
	if want := []string{"cmp01", "cmp02", "cmp03", "ctl01"}; !slices.Equal(names, want) {
		t.Errorf("machines %v, want %v", names, want)
	}

	tk, err := e.c.CreateTask(ctx, task.ActionVerifyNodes, e.site, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse(tk.TaskID)
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, bd := range []store.BuildData{
		{NodeName: "cmp01", TaskID: id, Collected: base, Generator: "lshw", Format: "text/xml", Data: []byte("old")},
		{NodeName: "cmp01", TaskID: id, Collected: base.Add(time.Minute), Generator: "lldp", Format: "application/json", Data: []byte("lldp")},
		{NodeName: "cmp01", TaskID: id, Collected: base.Add(time.Hour), Generator: "lshw", Format: "text/xml", Data: []byte("new")},
		{NodeName: "cmp02", TaskID: id, Collected: base, Generator: "lshw", Format: "text/xml", Data: []byte("other node")},
	} {
		if err := e.raw.PutBuildData(ctx, bd); err != nil {
			t.Fatal(err)
		}
	}
	elements := func(bds []wire.BuildData) []string {
		var out []string
		for _, b := range bds {
			if b.NodeName != "cmp01" {
				t.Errorf("another node's record %+v", b)
			}
			out = append(out, b.DataElement)
		}
		return out
	}
	all, err := e.c.NodeBuildData(ctx, "cmp01", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := elements(all), []string{"old", "lldp", "new"}; !slices.Equal(got, want) {
		t.Errorf("latest=false: %v, want %v", got, want)
	}
	latest, err := e.c.NodeBuildData(ctx, "cmp01", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := elements(latest), []string{"lldp", "new"}; !slices.Equal(got, want) {
		t.Errorf("latest=true: %v, want %v", got, want)
	}
	if _, err := e.c.NodeBuildData(ctx, "cmp09", true); !IsNotFound(err) {
		t.Errorf("build data of an unknown node: %v", err)
	}
}

func TestNodeFilterAndValidateDesign(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	all, err := e.c.NodeFilter(ctx, e.site, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(all)
	if want := []string{"cmp01", "cmp02", "cmp03", "ctl01"}; !slices.Equal(all, want) {
		t.Errorf("all nodes %v, want %v", all, want)
	}
	some, err := e.c.NodeFilter(ctx, e.site, twoNodes)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(some)
	if want := []string{"cmp01", "ctl01"}; !slices.Equal(some, want) {
		t.Errorf("filtered nodes %v, want %v", some, want)
	}
	// A design that fails validation cannot select nodes: an error.
	_, err = e.c.NodeFilter(ctx, testutil.InvalidSample(t), nil)
	if ae := asError(t, err); ae.Code != http.StatusBadRequest || ae.Status == nil || ae.Status.Reason != "DesignInvalid" {
		t.Errorf("node filter of an invalid design: %v", err)
	}

	st, err := e.c.ValidateDesign(ctx, e.site)
	if err != nil {
		t.Fatalf("valid design: %v", err)
	}
	if st == nil || st.Status != "Success" || st.Details.ErrorCount != 0 || st.Kind != "Status" {
		t.Errorf("valid design: %+v", st)
	}

	st, err = e.c.ValidateDesign(ctx, testutil.InvalidSample(t))
	if err != nil {
		t.Fatalf("invalid design: error %v, want a Failure verdict", err)
	}
	if st == nil || st.Status != "Failure" || st.Details.ErrorCount <= 0 || len(st.Details.MessageList) == 0 {
		t.Errorf("invalid design: %+v", st)
	}

	missing := filepath.Join(t.TempDir(), "no-such-design.yaml")
	st, err = e.c.ValidateDesign(ctx, missing)
	if err == nil {
		t.Fatalf("missing design: no error, status %+v", st)
	}
	if ae := asError(t, err); ae.Code != http.StatusBadRequest || ae.Status == nil || ae.Status.Reason != "DesignUnreadable" {
		t.Errorf("missing design: %v (%+v)", err, ae.Status)
	}
	if st != nil {
		t.Errorf("missing design: status %+v along with the error", st)
	}
	// A relative path is refused before any validation.
	if _, err := e.c.ValidateDesign(ctx, "relative/site"); HTTPCode(err) != http.StatusBadRequest {
		t.Errorf("relative design: %v", err)
	}
}

func TestHealthAndVersions(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	if err := e.c.Health(ctx); err != nil {
		t.Errorf("Health: %v", err)
	}
	st, err := e.c.HealthExtended(ctx)
	if err != nil {
		t.Fatalf("HealthExtended: %v", err)
	}
	if st.Status != "Success" || st.Details.ErrorCount != 0 || len(st.Details.MessageList) == 0 {
		t.Errorf("extended health %+v", st)
	}
	v, err := e.c.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v1, ok := v["v1.0"]; len(v) != 1 || !ok || v1.Path != "/api/v1.0" || v1.Status != "stable" {
		t.Errorf("versions %+v", v)
	}
	// Health and versions need no token.
	anon, err := New(e.url, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.Health(ctx); err != nil {
		t.Errorf("anonymous Health: %v", err)
	}
	if _, err := anon.Versions(ctx); err != nil {
		t.Errorf("anonymous Versions: %v", err)
	}
	if _, err := anon.Nodes(ctx); HTTPCode(err) != http.StatusUnauthorized {
		t.Errorf("anonymous Nodes: %v", err)
	}
}

func TestWrongToken(t *testing.T) {
	e := newAPI(t)
	ctx := context.Background()
	c, err := New(e.url, wrongToken)
	if err != nil {
		t.Fatal(err)
	}
	c.Backoff = time.Millisecond
	calls := map[string]func() error{
		"ListTasks": func() error { _, _, err := c.ListTasks(ctx, ListOptions{}); return err },
		"CreateTask": func() error {
			_, err := c.CreateTask(ctx, task.ActionVerifySite, e.site, nil)
			return err
		},
		"Nodes":          func() error { _, err := c.Nodes(ctx); return err },
		"HealthExtended": func() error { _, err := c.HealthExtended(ctx); return err },
		"ValidateDesign": func() error { _, err := c.ValidateDesign(ctx, e.site); return err },
	}
	for name, call := range calls {
		err := call()
		ae := asError(t, err)
		if ae.Code != http.StatusUnauthorized || ae.Status == nil || ae.Status.Reason != "Unauthenticated" {
			t.Errorf("%s: %v (%+v)", name, err, ae)
		}
		if strings.Contains(err.Error(), wrongToken) || strings.Contains(ae.Body, wrongToken) ||
			strings.Contains(ae.Status.Message, wrongToken) {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
	// Nothing was created.
	if ts, err := e.raw.ListTasks(ctx, store.ListParams{}); err != nil || len(ts) != 0 {
		t.Errorf("tasks after refused calls: %d %v", len(ts), err)
	}
}
