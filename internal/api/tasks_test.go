package api

// The task endpoints: create, list (filters, paging), get (options, layers), steps, build
// data, terminate and retry.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

func TestCreateTask(t *testing.T) {
	ts := newTestServer(t)
	site := testutil.ExampleSite(t)
	r := ts.post(t, Prefix+"/tasks", adminToken, map[string]any{"action": "deploy_nodes", "design_ref": site})
	if r.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Code, r.Raw)
	}
	body := r.obj(t)
	id := jstr(body, "task_id")
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("task_id %q: %v", id, err)
	}
	if loc := r.Header.Get("Location"); loc != Prefix+"/tasks/"+id {
		t.Errorf("Location %q, want %s", loc, Prefix+"/tasks/"+id)
	}
	for k, want := range map[string]any{"kind": "Task", "apiVersion": "v1", "status": "queued", "created_by": "admin",
		"action": "deploy_nodes", "design_ref": site, "parent_task_id": nil, "node_filter": nil, "terminate": false, "retry": float64(0)} {
		if got := body[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if l, ok := body["subtask_id_list"].([]any); !ok || len(l) != 0 {
		t.Errorf("subtask_id_list %v, want []", body["subtask_id_list"])
	}
	if jstr(body, "result", "kind") != "Status" || jstr(body, "result", "status") != "incomplete" {
		t.Errorf("result %v", body["result"])
	}
	if created, err := time.Parse(time.RFC3339Nano, jstr(body, "created")); err != nil || time.Since(created) > time.Minute {
		t.Errorf("created %q: %v", jstr(body, "created"), err)
	}

	st := ts.storeTask(t, id)
	if st.Status != task.StatusQueued || st.Action != "deploy_nodes" || st.DesignRef != site || st.CreatedBy != "admin" || st.NodeFilter != nil {
		t.Errorf("stored task %+v", st)
	}
	if w := ts.rec.Writes(); !slices.Equal(w, []string{"CreateTask"}) {
		t.Errorf("writes %v, want one CreateTask", w)
	}
	// The Location can be read back.
	if r := ts.get(t, r.Header.Get("Location"), adminToken); r.Code != http.StatusOK || jstr(r.Body, "task_id") != id {
		t.Errorf("GET Location: %d %s", r.Code, r.Raw)
	}

	t.Run("node filter", func(t *testing.T) {
		filter := map[string]any{"filter_set_type": "union", "filter_set": []any{
			map[string]any{"filter_type": "union", "node_names": []any{"cmp01", "cmp02"}}}}
		body := ts.createTask(t, "prepare_nodes", filter)
		want, _ := json.Marshal(filter)
		got, _ := json.Marshal(body["node_filter"])
		if string(got) != string(want) {
			t.Errorf("node_filter in the response %s, want %s", got, want)
		}
		st := ts.storeTask(t, jstr(body, "task_id"))
		var stored any
		if err := json.Unmarshal(st.NodeFilter, &stored); err != nil {
			t.Fatalf("stored filter %q: %v", st.NodeFilter, err)
		}
		if s, _ := json.Marshal(stored); string(s) != string(want) {
			t.Errorf("stored node filter %s, want %s", s, want)
		}
		// A null filter is no filter.
		r := ts.post(t, Prefix+"/tasks", adminToken, `{"action":"verify_nodes","design_ref":"`+site+`","node_filter":null}`)
		if r.Code != http.StatusCreated || ts.storeTask(t, jstr(r.Body, "task_id")).NodeFilter != nil {
			t.Errorf("null filter: %d %s", r.Code, r.Raw)
		}
	})
	t.Run("every creatable action", func(t *testing.T) {
		for _, a := range CreatableActions {
			body := ts.createTask(t, a, nil)
			if jstr(body, "action") != a || ts.storeTask(t, jstr(body, "task_id")).Action != a {
				t.Errorf("action %s: %v", a, body["action"])
			}
		}
	})
	t.Run("design references", func(t *testing.T) {
		for _, ref := range []string{"file://" + site, "https://deckhand.example/api/v1.0/revisions/3/rendered-documents", "deckhand+http://deckhand:9000/api/v1.0/revisions/1/rendered-documents"} {
			r := ts.post(t, Prefix+"/tasks", adminToken, map[string]any{"action": "verify_site", "design_ref": ref})
			if r.Code != http.StatusCreated || jstr(r.Body, "design_ref") != ref {
				t.Errorf("design_ref %s: %d %s", ref, r.Code, r.Raw)
			}
		}
	})
}

// makeTasks creates n tasks through the API, alternating two actions, and returns their ids
// in creation order.
func makeTasks(t *testing.T, ts *testServer, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		action := task.ActionVerifySite
		if i%2 == 1 {
			action = task.ActionDeployNodes
		}
		ids = append(ids, jstr(ts.createTask(t, action, nil), "task_id"))
	}
	return ids
}

func taskIDs(t testing.TB, r *apiResp) []string {
	t.Helper()
	var out []string
	for _, v := range r.list(t) {
		out = append(out, jstr(v, "task_id"))
	}
	return out
}

func TestListTasksPaging(t *testing.T) {
	ts := newTestServer(t)
	created := makeTasks(t, ts, 12)

	all := ts.get(t, Prefix+"/tasks", adminToken)
	if all.Code != http.StatusOK {
		t.Fatalf("list: %d %s", all.Code, all.Raw)
	}
	if all.Header.Get("X-Drydock-Next-Marker") != "" || all.Header.Get("Link") != "" {
		t.Errorf("a complete listing has a next page: %v", all.Header)
	}
	full := taskIDs(t, all)
	if len(full) != 12 {
		t.Fatalf("%d tasks listed, want 12", len(full))
	}
	// Newest first.
	var last time.Time
	for i, v := range all.list(t) {
		c, err := time.Parse(time.RFC3339Nano, jstr(v, "created"))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && c.After(last) {
			t.Errorf("listing not newest first at %d", i)
		}
		last = c
	}

	for _, via := range []string{"marker", "link"} {
		t.Run(via, func(t *testing.T) {
			var got []string
			path := Prefix + "/tasks?limit=5"
			var sizes []int
			for page := 0; path != ""; page++ {
				if page > 5 {
					t.Fatal("paging does not end")
				}
				r := ts.get(t, path, adminToken)
				if r.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, r.Code, r.Raw)
				}
				page := taskIDs(t, r)
				sizes = append(sizes, len(page))
				got = append(got, page...)
				marker := r.Header.Get("X-Drydock-Next-Marker")
				link := r.Header.Get("Link")
				if (marker == "") != (link == "") {
					t.Fatalf("marker %q but Link %q", marker, link)
				}
				if marker == "" {
					break
				}
				if marker != page[len(page)-1] {
					t.Errorf("next marker %s is not the page's last task %s", marker, page[len(page)-1])
				}
				target, ok := strings.CutPrefix(link, "<")
				target, rel, ok2 := strings.Cut(target, ">")
				if !ok || !ok2 || strings.TrimSpace(rel) != `; rel="next"` {
					t.Fatalf("Link %q", link)
				}
				u, err := url.Parse(target)
				if err != nil || u.Path != Prefix+"/tasks" || u.Query().Get("marker") != marker || u.Query().Get("limit") != "5" {
					t.Fatalf("Link target %q", target)
				}
				if via == "marker" {
					path = Prefix + "/tasks?limit=5&marker=" + marker
				} else {
					path = target
				}
			}
			if !slices.Equal(sizes, []int{5, 5, 2}) {
				t.Errorf("page sizes %v, want [5 5 2]", sizes)
			}
			if !slices.Equal(got, full) {
				t.Errorf("paged listing %v differs from the full one %v", got, full)
			}
			seen := map[string]int{}
			for _, id := range got {
				seen[id]++
			}
			for _, id := range created {
				if seen[id] != 1 {
					t.Errorf("task %s listed %d times", id, seen[id])
				}
			}
		})
	}
	t.Run("filters keep paging", func(t *testing.T) {
		r := ts.get(t, Prefix+"/tasks?action=deploy_nodes&limit=4", adminToken)
		next := r.Header.Get("Link")
		if len(taskIDs(t, r)) != 4 || !strings.Contains(next, "action=deploy_nodes") {
			t.Fatalf("first filtered page: %d tasks, Link %q", len(taskIDs(t, r)), next)
		}
		r2 := ts.get(t, Prefix+"/tasks?action=deploy_nodes&limit=4&marker="+r.Header.Get("X-Drydock-Next-Marker"), adminToken)
		if len(taskIDs(t, r2)) != 2 || r2.Header.Get("Link") != "" {
			t.Errorf("second filtered page: %s", r2.Raw)
		}
	})
}

// makeTree stores a top-level task with subtasks directly: child1 (with an error message),
// child2 (no errors) and grandchild under child2 (with an error message).
func makeTree(t *testing.T, ts *testServer) (parent, child1, child2, grandchild *task.Task) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	parent = task.New(task.ActionDeployNodes, testutil.ExampleSite(t), nil, "admin", now)
	parent.Status = task.StatusQueued
	if err := ts.raw.CreateTask(ctx, parent); err != nil {
		t.Fatal(err)
	}
	sub := func(p *task.Task, step string, msgs ...task.Message) *task.Task {
		c := task.New(step, p.DesignRef, nil, "admin", now)
		c.ParentID, c.Step = &p.ID, step
		c.Result.Messages = msgs
		if err := ts.raw.CreateTask(ctx, c); err != nil {
			t.Fatalf("create subtask: %v", err)
		}
		return c
	}
	child1 = sub(parent, "identify_node", task.NodeError("cmp01", "cmp01 is not known to the provisioner"), task.NodeInfo("cmp02", "cmp02 found"))
	child2 = sub(parent, "configure_hardware", task.NodeInfo("cmp02", "commissioned"))
	grandchild = sub(child2, "apply_node_networking", task.NodeError("cmp02", "bond0 has no slaves"))
	return
}

func TestListTasksFilters(t *testing.T) {
	ts := newTestServer(t)
	created := makeTasks(t, ts, 4) // verify_site, deploy_nodes, verify_site, deploy_nodes
	parent, child1, child2, grandchild := makeTree(t, ts)
	if r := ts.post(t, Prefix+"/tasks/"+created[0]+"/terminate", adminToken, nil); r.Code != http.StatusOK {
		t.Fatalf("terminate: %d %s", r.Code, r.Raw)
	}
	set := func(path string) []string {
		t.Helper()
		r := ts.get(t, path, adminToken)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Code, r.Raw)
		}
		got := taskIDs(t, r)
		slices.Sort(got)
		return got
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"status=terminated", sortedCopy(created[0])},
		{"status=queued", sortedCopy(created[1], created[2], created[3], parent.ID.String())},
		{"status=requested", sortedCopy(child1.ID.String(), child2.ID.String(), grandchild.ID.String())},
		{"status=terminated,requested", sortedCopy(created[0], child1.ID.String(), child2.ID.String(), grandchild.ID.String())},
		{"status=terminated&status=requested", sortedCopy(created[0], child1.ID.String(), child2.ID.String(), grandchild.ID.String())},
		{"status=complete", nil},
		{"action=deploy_nodes", sortedCopy(created[1], created[3], parent.ID.String())},
		{"action=identify_node", sortedCopy(child1.ID.String())},
		{"toplevel=true", sortedCopy(created[0], created[1], created[2], created[3], parent.ID.String())},
		{"toplevel=true&action=deploy_nodes&status=queued", sortedCopy(created[1], created[3], parent.ID.String())},
		{"toplevel=false", sortedCopy(created[0], created[1], created[2], created[3], parent.ID.String(), child1.ID.String(), child2.ID.String(), grandchild.ID.String())},
	} {
		if got := set(Prefix + "/tasks?" + c.query); !slices.Equal(got, c.want) {
			t.Errorf("?%s: %v, want %v", c.query, got, c.want)
		}
	}
	// An empty result is an empty array, not null.
	if r := ts.get(t, Prefix+"/tasks?status=complete", adminToken); strings.TrimSpace(string(r.Raw)) != "[]" {
		t.Errorf("empty listing: %s", r.Raw)
	}

	t.Run("messages", func(t *testing.T) {
		find := func(r *apiResp, id uuid.UUID) any {
			for _, v := range r.list(t) {
				if jstr(v, "task_id") == id.String() {
					return v
				}
			}
			t.Fatalf("task %s not listed", id)
			return nil
		}
		for _, q := range []string{"", "?messages=false", "?messages=0"} {
			v := find(ts.get(t, Prefix+"/tasks"+q, adminToken), child1.ID)
			if l, ok := jget(v, "result", "details", "messageList").([]any); !ok || len(l) != 0 {
				t.Errorf("%q: messages listed without messages=true: %v", q, jget(v, "result", "details", "messageList"))
			}
			if n := jget(v, "result", "details", "errorCount"); n != float64(1) {
				t.Errorf("%q: errorCount %v without messages, want 1", q, n)
			}
		}
		v := find(ts.get(t, Prefix+"/tasks?messages=true", adminToken), child1.ID)
		l, _ := jget(v, "result", "details", "messageList").([]any)
		if len(l) != 2 || jstr(l[0], "message") != "cmp01 is not known to the provisioner" || jget(l[0], "error") != true ||
			jstr(l[0], "context_type") != "node" || jstr(l[0], "context") != "cmp01" {
			t.Errorf("messages=true: %v", l)
		}
		if n := jget(v, "result", "details", "errorCount"); n != float64(1) {
			t.Errorf("errorCount %v with messages, want 1", n)
		}
	})
}

func TestGetTask(t *testing.T) {
	ts := newTestServer(t)
	parent, child1, child2, grandchild := makeTree(t, ts)
	pid := parent.ID.String()

	r := ts.get(t, Prefix+"/tasks/"+pid, adminToken)
	if r.Code != http.StatusOK {
		t.Fatalf("get: %d %s", r.Code, r.Raw)
	}
	body := r.obj(t)
	if jstr(body, "task_id") != pid || jstr(body, "kind") != "Task" {
		t.Errorf("body %s", r.Raw)
	}
	if got, _ := json.Marshal(body["subtask_id_list"]); string(got) != fmt.Sprintf("[%q,%q]", child1.ID, child2.ID) {
		t.Errorf("subtask_id_list %s, want the two children in order", got)
	}
	for _, k := range []string{"subtask_errors", "build_data", "init_task_id"} {
		if _, ok := body[k]; ok {
			t.Errorf("plain GET has %s", k)
		}
	}
	// A subtask shows its parent and step.
	r = ts.get(t, Prefix+"/tasks/"+grandchild.ID.String(), adminToken)
	if jstr(r.Body, "parent_task_id") != child2.ID.String() || jstr(r.Body, "step") != "apply_node_networking" {
		t.Errorf("grandchild: %s", r.Raw)
	}
	// A single task shows its messages.
	r = ts.get(t, Prefix+"/tasks/"+child1.ID.String(), adminToken)
	if l, _ := jget(r.Body, "result", "details", "messageList").([]any); len(l) != 2 {
		t.Errorf("child1 messages: %v", l)
	}

	assertStatusDoc(t, ts.get(t, Prefix+"/tasks/"+uuid.NewString(), adminToken), http.StatusNotFound, "does not exist")
	assertStatusDoc(t, ts.get(t, Prefix+"/tasks/12345", adminToken), http.StatusBadRequest, `"12345" is not a task id`)

	t.Run("subtaskerrors", func(t *testing.T) {
		r := ts.get(t, Prefix+"/tasks/"+pid+"?subtaskerrors=true", adminToken)
		if r.Code != http.StatusOK {
			t.Fatalf("%d %s", r.Code, r.Raw)
		}
		errs, ok := jget(r.Body, "subtask_errors").(map[string]any)
		if !ok {
			t.Fatalf("no subtask_errors: %s", r.Raw)
		}
		if got, want := sortedKeys(errs), []string{child1.ID.String(), grandchild.ID.String()}; !slices.Equal(got, sortedCopy(want...)) {
			t.Errorf("subtask_errors for %v, want %v", got, want)
		}
		e := errs[child1.ID.String()]
		if jstr(e, "task_id") != child1.ID.String() || jstr(e, "kind") != "Status" || jget(e, "details", "errorCount") != float64(1) {
			t.Errorf("child1's entry: %v", e)
		}
		l, _ := jget(e, "details", "messageList").([]any)
		if len(l) == 0 || !strings.Contains(jstr(l[0], "message"), "not known to the provisioner") {
			t.Errorf("child1's messages: %v", l)
		}
		// A task whose descendants have no errors.
		r = ts.get(t, Prefix+"/tasks/"+child1.ID.String()+"?subtaskerrors=true", adminToken)
		if r.Code != http.StatusOK {
			t.Fatalf("%d %s", r.Code, r.Raw)
		}
		// subtask_errors is there when asked for, even when empty (as documented and as the
		// original answered).
		if errs, ok := jget(r.Body, "subtask_errors").(map[string]any); !ok || len(errs) != 0 {
			t.Errorf("a task without subtasks: subtask_errors %v, want {}", jget(r.Body, "subtask_errors"))
		}
	})

	t.Run("layers", func(t *testing.T) {
		for _, c := range []struct {
			layers string
			want   []string
		}{
			{"1", []string{pid}},
			{"2", []string{pid, child1.ID.String(), child2.ID.String()}},
			{"3", []string{pid, child1.ID.String(), child2.ID.String(), grandchild.ID.String()}},
			{"-1", []string{pid, child1.ID.String(), child2.ID.String(), grandchild.ID.String()}},
		} {
			r := ts.get(t, Prefix+"/tasks/"+pid+"?layers="+c.layers, adminToken)
			if r.Code != http.StatusOK {
				t.Fatalf("layers=%s: %d %s", c.layers, r.Code, r.Raw)
			}
			m := r.obj(t)
			if m["init_task_id"] != pid {
				t.Errorf("layers=%s: init_task_id %v", c.layers, m["init_task_id"])
			}
			var got []string
			for k, v := range m {
				if k == "init_task_id" {
					continue
				}
				if jstr(v, "task_id") != k || jstr(v, "kind") != "Task" {
					t.Errorf("layers=%s: entry %s is %v", c.layers, k, v)
				}
				got = append(got, k)
			}
			if slices.Sort(got); !slices.Equal(got, sortedCopy(c.want...)) {
				t.Errorf("layers=%s: tasks %v, want %v", c.layers, got, sortedCopy(c.want...))
			}
		}
		// Layers start at the task asked for.
		r := ts.get(t, Prefix+"/tasks/"+child2.ID.String()+"?layers=2", adminToken)
		if m := r.obj(t); len(m) != 3 || m[grandchild.ID.String()] == nil || m["init_task_id"] != child2.ID.String() {
			t.Errorf("layers=2 from child2: %s", r.Raw)
		}
		// With subtaskerrors the map carries them too.
		r = ts.get(t, Prefix+"/tasks/"+pid+"?layers=1&subtaskerrors=true", adminToken)
		if errs, _ := jget(r.Body, "subtask_errors").(map[string]any); len(errs) != 2 {
			t.Errorf("layers + subtaskerrors: %s", r.Raw)
		}
	})

	t.Run("builddata", func(t *testing.T) {
		ctx := context.Background()
		for _, bd := range []store.BuildData{
			{NodeName: "cmp01", TaskID: parent.ID, Generator: "lshw", Format: "text/xml", Data: []byte("<node/>")},
			{NodeName: "cmp02", TaskID: child1.ID, Generator: "lldp", Format: "application/json", Data: []byte(`{"x":1}`)},
		} {
			if err := ts.raw.PutBuildData(ctx, bd); err != nil {
				t.Fatal(err)
			}
		}
		r := ts.get(t, Prefix+"/tasks/"+pid+"?builddata=true", adminToken)
		bds, _ := jget(r.Body, "build_data").([]any)
		if len(bds) != 1 || jstr(bds[0], "node_name") != "cmp01" || jstr(bds[0], "data_element") != "<node/>" ||
			jstr(bds[0], "generator") != "lshw" || jstr(bds[0], "data_format") != "text/xml" || jstr(bds[0], "task_id") != pid {
			t.Errorf("build_data %v", jget(r.Body, "build_data"))
		}
		if r := ts.get(t, Prefix+"/tasks/"+pid+"?builddata=false", adminToken); jget(r.Body, "build_data") != nil {
			t.Errorf("builddata=false shows build data")
		}
		// build_data is there when asked for, even when empty.
		r = ts.get(t, Prefix+"/tasks/"+child2.ID.String()+"?builddata=true", adminToken)
		if l, ok := jget(r.Body, "build_data").([]any); !ok || len(l) != 0 {
			t.Errorf("a task without build data: build_data %v, want []", jget(r.Body, "build_data"))
		}
		// With layers, each task carries its own.
		r = ts.get(t, Prefix+"/tasks/"+pid+"?builddata=true&layers=2", adminToken)
		m := r.obj(t)
		if l, _ := jget(m, child1.ID.String(), "build_data").([]any); len(l) != 1 || jstr(l[0], "node_name") != "cmp02" {
			t.Errorf("child1's build data in layers: %v", jget(m, child1.ID.String()))
		}
		if l, _ := jget(m, pid, "build_data").([]any); len(l) != 1 || jstr(l[0], "node_name") != "cmp01" {
			t.Errorf("parent's build data in layers: %v", jget(m, pid))
		}
		if l, ok := jget(m, child2.ID.String(), "build_data").([]any); !ok || len(l) != 0 {
			t.Errorf("child2's build data in layers: %v, want []", jget(m, child2.ID.String(), "build_data"))
		}
	})
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("reading tasks wrote %v", w)
	}
}

func sortedCopy(l ...string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}

func TestTaskSteps(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	tk, err := ts.orch.Submit(ctx, task.ActionNoop, testutil.ExampleSite(t), nil, "admin")
	if err != nil {
		t.Fatal(err)
	}
	id := tk.ID.String()
	r := ts.get(t, Prefix+"/tasks/"+id+"/steps", adminToken)
	if r.Code != http.StatusOK || strings.TrimSpace(string(r.Raw)) != "[]" {
		t.Errorf("steps of a queued task: %d %s", r.Code, r.Raw)
	}
	_, lease, err := ts.raw.ClaimTask(ctx, "test", []string{task.ActionNoop}, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.raw.CreateStepRuns(ctx, lease, []task.StepRun{
		{TaskID: tk.ID, Step: "noop", Node: "cmp01", Ordinal: 1, State: task.StepPending},
		{TaskID: tk.ID, Step: "noop", Node: "cmp02", Ordinal: 1, State: task.StepPending},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.raw.StartStep(ctx, lease, tk.ID, "noop", "cmp02", time.Now()); err != nil {
		t.Fatal(err)
	}
	r = ts.get(t, Prefix+"/tasks/"+id+"/steps", adminToken)
	l := r.list(t)
	if r.Code != http.StatusOK || len(l) != 2 {
		t.Fatalf("steps: %d %s", r.Code, r.Raw)
	}
	if jstr(l[0], "node") != "cmp01" || jstr(l[0], "state") != "pending" || jget(l[0], "started") != nil ||
		jstr(l[1], "node") != "cmp02" || jstr(l[1], "state") != "running" || jget(l[1], "attempts") != float64(1) || jget(l[1], "started") == nil {
		t.Errorf("steps %s", r.Raw)
	}
	if jstr(l[0], "step") != "noop" || jget(l[0], "ordinal") != float64(1) {
		t.Errorf("step fields %v", l[0])
	}
	assertStatusDoc(t, ts.get(t, Prefix+"/tasks/"+uuid.NewString()+"/steps", adminToken), http.StatusNotFound, "does not exist")
}

func TestTaskBuildData(t *testing.T) {
	ts := newTestServer(t)
	tk := ts.createTask(t, task.ActionVerifyNodes, nil)
	id := uuid.MustParse(jstr(tk, "task_id"))
	r := ts.get(t, Prefix+"/tasks/"+id.String()+"/builddata", adminToken)
	if r.Code != http.StatusOK || strings.TrimSpace(string(r.Raw)) != "[]" {
		t.Errorf("no build data: %d %s", r.Code, r.Raw)
	}
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, bd := range []store.BuildData{
		{NodeName: "cmp01", TaskID: id, Collected: t1, Generator: "lshw", Format: "text/xml", Data: []byte("<a/>")},
		{NodeName: "cmp02", TaskID: id, Collected: t1.Add(time.Second), Generator: "lldp", Format: "application/json", Data: []byte("{}")},
	} {
		if err := ts.raw.PutBuildData(context.Background(), bd); err != nil {
			t.Fatalf("build data %d: %v", i, err)
		}
	}
	r = ts.get(t, Prefix+"/tasks/"+id.String()+"/builddata", adminToken)
	l := r.list(t)
	if r.Code != http.StatusOK || len(l) != 2 {
		t.Fatalf("build data: %d %s", r.Code, r.Raw)
	}
	if jstr(l[0], "node_name") != "cmp01" || jstr(l[0], "collected_date") != "2026-01-02T03:04:05Z" || jstr(l[0], "data_element") != "<a/>" ||
		jstr(l[1], "node_name") != "cmp02" || jstr(l[1], "task_id") != id.String() {
		t.Errorf("build data %s", r.Raw)
	}
	assertStatusDoc(t, ts.get(t, Prefix+"/tasks/"+uuid.NewString()+"/builddata", adminToken), http.StatusNotFound, "does not exist")
}

func TestTerminateTask(t *testing.T) {
	ts := newTestServer(t)
	tk := ts.createTask(t, task.ActionDeployNodes, nil)
	id := jstr(tk, "task_id")
	ts.rec.Reset()
	r := ts.post(t, Prefix+"/tasks/"+id+"/terminate", adminToken, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("terminate: %d %s", r.Code, r.Raw)
	}
	if jstr(r.Body, "status") != "terminated" || jget(r.Body, "terminate") != true || jstr(r.Body, "terminated_by") != "admin" || jget(r.Body, "terminated") == nil {
		t.Errorf("terminated task %s", r.Raw)
	}
	if st := ts.storeTask(t, id); st.Status != task.StatusTerminated || !st.Terminate || st.TerminatedBy != "admin" {
		t.Errorf("stored task %+v", st)
	}
	if w := ts.rec.Writes(); !slices.Equal(w, []string{"RequestTermination"}) {
		t.Errorf("writes %v", w)
	}
	assertStatusDoc(t, ts.post(t, Prefix+"/tasks/"+id+"/terminate", adminToken, nil), http.StatusConflict, id, "terminated")
	assertStatusDoc(t, ts.post(t, Prefix+"/tasks/"+uuid.NewString()+"/terminate", adminToken, nil), http.StatusNotFound, "does not exist")
	// An empty JSON body with Content-Length 0 is no body.
	r = ts.do(t, apiReq{method: http.MethodPost, path: Prefix + "/tasks/" + jstr(ts.createTask(t, "verify_site", nil), "task_id") + "/terminate", token: adminToken, hasBody: true})
	if r.Code != http.StatusOK {
		t.Errorf("terminate with an empty body: %d %s", r.Code, r.Raw)
	}
}

// TestTerminateChunkedBody: a body of unknown length (chunked) is still a body.
func TestTerminateChunkedBody(t *testing.T) {
	ts := newTestServer(t)
	id := jstr(ts.createTask(t, task.ActionDeployNodes, nil), "task_id")
	ts.rec.Reset()
	// io.MultiReader hides the length: the client sends the body chunked.
	req, err := http.NewRequest(http.MethodPost, ts.http.URL+Prefix+"/tasks/"+id+"/terminate", io.MultiReader(strings.NewReader(`{"force":true}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "takes no request body") {
		t.Errorf("chunked body: %d %s", resp.StatusCode, raw)
	}
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
	if st := ts.storeTask(t, id); st.Status != task.StatusQueued {
		t.Errorf("the task is %s", st.Status)
	}
}

func TestRetryTask(t *testing.T) {
	ts := newTestServer(t)
	tk := ts.createTask(t, task.ActionDeployNodes, nil)
	id := jstr(tk, "task_id")
	assertStatusDoc(t, ts.post(t, Prefix+"/tasks/"+id+"/retry", adminToken, nil), http.StatusConflict, id, "queued")
	if st := ts.storeTask(t, id); st.Status != task.StatusQueued || st.Retry != 0 {
		t.Errorf("after a refused retry: %+v", st)
	}
	if r := ts.post(t, Prefix+"/tasks/"+id+"/terminate", adminToken, nil); r.Code != http.StatusOK {
		t.Fatalf("terminate: %d", r.Code)
	}
	ts.rec.Reset()
	r := ts.post(t, Prefix+"/tasks/"+id+"/retry", adminToken, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("retry: %d %s", r.Code, r.Raw)
	}
	if jstr(r.Body, "status") != "queued" || jget(r.Body, "retry") != float64(1) || jstr(r.Body, "task_id") != id {
		t.Errorf("retried task %s", r.Raw)
	}
	if st := ts.storeTask(t, id); st.Status != task.StatusQueued || st.Retry != 1 {
		t.Errorf("stored retried task %+v", st)
	}
	if w := ts.rec.Writes(); !slices.Equal(w, []string{"Requeue"}) {
		t.Errorf("writes %v", w)
	}
	assertStatusDoc(t, ts.post(t, Prefix+"/tasks/"+uuid.NewString()+"/retry", adminToken, nil), http.StatusNotFound, "does not exist")

	// A subtask cannot be retried on its own.
	_, child, _, _ := makeTree(t, ts)
	ts.rec.Reset()
	assertStatusDoc(t, ts.post(t, Prefix+"/tasks/"+child.ID.String()+"/retry", adminToken, nil), http.StatusBadRequest, "subtask")
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("retrying a subtask wrote %v", w)
	}
}
