package api

// Real responses of a running server validated against the schemas the OpenAPI document
// declares for their path, method and status code.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oklog/ulid/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/bootaction"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

// oaConformance sends requests to real servers and checks each answer against the document.
type oaConformance struct {
	t       *testing.T
	doc     map[string]any
	c       *jsonschema.Compiler
	schemas map[string]*jsonschema.Schema
	// covered records the oaOperations exercised ("GET /api/v1.0/tasks/{id}").
	covered map[string]bool
}

// oaRequest is one call.
type oaRequest struct {
	method, path string
	body         any // a string or []byte is sent as is; anything else as JSON
	contentType  string
	header       map[string]string
	want         int
}

// template finds the documented path a request path matches: literal segments first.
func (c *oaConformance) template(path string) (string, bool) {
	segs := strings.Split(path, "/")
	best, bestLit := "", -1
	for tpl := range c.doc["paths"].(map[string]any) {
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		lit, ok := 0, true
		for i, s := range ts {
			switch {
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
				ok = ok && segs[i] != ""
			case s == segs[i]:
				lit++
			default:
				ok = false
			}
		}
		if ok && lit > bestLit {
			best, bestLit = tpl, lit
		}
	}
	return best, bestLit >= 0
}

// responseFor returns the documented response object for a request, resolved, and where it is.
func (c *oaConformance) responseFor(method, path string, code int) (resp map[string]any, where []string, err error) {
	tpl, ok := c.template(path)
	if !ok {
		if code != http.StatusNotFound {
			return nil, nil, fmt.Errorf("%s is not a documented path, but it answered %d (want the 404 of unknown paths)", path, code)
		}
		where = []string{"components", "responses", "NotFound"}
	} else {
		item := c.doc["paths"].(map[string]any)[tpl].(map[string]any)
		m := strings.ToLower(method)
		if m == "head" {
			m = "get"
		}
		o, ok := item[m].(map[string]any)
		switch {
		case !ok && code == http.StatusMethodNotAllowed:
			where = []string{"components", "responses", "MethodNotAllowed"}
		case !ok:
			return nil, nil, fmt.Errorf("%s %s is not documented, but it answered %d (want 405)", method, tpl, code)
		default:
			c.covered[strings.ToUpper(m)+" "+tpl] = true
			if _, ok := o["responses"].(map[string]any)[strconv.Itoa(code)]; !ok {
				return nil, nil, fmt.Errorf("%s %s does not document status %d", method, tpl, code)
			}
			where = []string{"paths", tpl, m, "responses", strconv.Itoa(code)}
		}
	}
	v, err := oaLookupPointer(c.doc, oaPointerFragment(where...))
	if err != nil {
		return nil, nil, err
	}
	// Follow a reference to components/responses.
	if r, ok := v.(map[string]any)["$ref"].(string); ok {
		if v, err = oaLookupPointer(c.doc, r); err != nil {
			return nil, nil, err
		}
		where = oaPointerTokens(r)
	}
	return v.(map[string]any), where, nil
}

func (c *oaConformance) schema(where []string) (*jsonschema.Schema, error) {
	loc := oaSchemaBase + oaPointerFragment(where...)
	if s, ok := c.schemas[loc]; ok {
		return s, nil
	}
	s, err := c.c.Compile(loc)
	if err != nil {
		return nil, err
	}
	c.schemas[loc] = s
	return s, nil
}

// do sends a request to the server at base, checks its status and that the answer is what the
// document declares, and returns the decoded body (nil when there is none).
func (c *oaConformance) do(base string, r oaRequest) (http.Header, any) {
	t := c.t
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	name := fmt.Sprintf("%s %s → %d", r.method, r.path, resp.StatusCode)
	if resp.StatusCode != r.want {
		t.Errorf("%s: want status %d; body: %.600s", name, r.want, data)
	}
	if _, err := uuid.Parse(resp.Header.Get("X-Drydock-Req")); err != nil {
		t.Errorf("%s: X-Drydock-Req %q is not a oaRequest id", name, resp.Header.Get("X-Drydock-Req"))
	}
	doc, where, err := c.responseFor(r.method, req.URL.Path, resp.StatusCode)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return resp.Header, nil
	}
	// Headers: the required ones are present, and every declared one conforms to its schema.
	hdrs, _ := doc["headers"].(map[string]any)
	for h, spec := range hdrs {
		hwhere := append(slices.Clone(where), "headers", h)
		if r, ok := spec.(map[string]any)["$ref"].(string); ok {
			hwhere = oaPointerTokens(r)
		}
		spec := oaResolveRef(t, c.doc, spec)
		v := resp.Header.Get(h)
		if v == "" {
			if spec["required"] == true {
				t.Errorf("%s: the document requires header %s, which is missing", name, h)
			}
			continue
		}
		sch, err := c.schema(append(hwhere, "schema"))
		if err != nil {
			t.Errorf("%s: compiling the schema of header %s: %v", name, h, err)
		} else if err := sch.Validate(v); err != nil {
			t.Errorf("%s: header %s: %q does not conform: %v", name, h, v, err)
		}
	}
	content, _ := doc["content"].(map[string]any)
	if len(content) == 0 {
		if len(data) != 0 && r.method != http.MethodHead {
			t.Errorf("%s: the document declares no body, the server sent %.200s", name, data)
		}
		return resp.Header, nil
	}
	if _, ok := content["application/json"]; !ok {
		// A binary body (an archive, a program): the documented media type and nothing else.
		ct := resp.Header.Get("Content-Type")
		if _, ok := content[ct]; !ok || len(content) != 1 {
			t.Errorf("%s: Content-Type %q is not the documented one (%v)", name, ct, content)
		}
		return resp.Header, nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", name, ct)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: the body is not JSON: %v: %.300s", name, err, data)
		return resp.Header, nil
	}
	where = append(where, "content", "application/json", "schema")
	sch, err := c.schema(where)
	if err != nil {
		t.Errorf("%s: compiling %s: %v", name, oaPointerFragment(where...), err)
		return resp.Header, nil
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s: the body does not conform to %s:\n%v\nbody: %.2000s", name, oaPointerFragment(where...), err, data)
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return resp.Header, out
}

// oaList is a decoded JSON array (nil for anything else).
func oaList(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestResponsesConformToOpenAPI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := oaOpenStore(t, dir)
	site, err := sim.Open(filepath.Join(dir, "sim.db"), sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close() })
	drivers := driver.Set{Node: site.NodeDriver(), OOB: map[string]driver.OOBDriver{}}
	for _, typ := range []string{"ipmi", "redfish", "libvirt", "manual"} {
		drivers.OOB[typ] = site.OOBDriver()
	}
	orch := orchestrator.New(st, drivers, orchestrator.Config{}) // not running: tasks stay queued
	const adminToken, readerToken = "admin-token-0123456789", "reader-token-0123456789"
	toks := &auth.Tokens{}
	if err := toks.Add(adminToken, auth.Identity{User: "admin", UserID: "admin", Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	if err := toks.Add(readerToken, auth.Identity{User: "reader", UserID: "reader", Roles: []string{"reader"}}); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	const maxBody = 64 << 10 // small enough that the server reads the rest of a too-large body
	srv := &Server{Store: st, Orch: orch, Drivers: drivers, Auth: toks, Policy: pol, Log: log, Config: Config{Version: "test", MaxBody: maxBody}}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	// A second server whose store is closed and whose node driver fails: 503 and 502 answers.
	brokenStore, err := sqlite.Open(ctx, filepath.Join(dir, "broken.db"))
	if err != nil {
		t.Fatal(err)
	}
	brokenStore.Close()
	broken := httptest.NewServer((&Server{Store: brokenStore, Orch: orch, Drivers: driver.Set{Node: brokenLister{}},
		Auth: toks, Policy: pol, Log: log}).Handler())
	t.Cleanup(broken.Close)
	// A fourth that serves drydock-baclient.
	bin := filepath.Join(dir, "drydock-baclient")
	if err := os.WriteFile(bin, []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	withClient := httptest.NewServer((&Server{Store: st, Orch: orch, Drivers: drivers, Auth: toks, Policy: pol, Log: log,
		Config: Config{BaclientPath: bin}}).Handler())
	t.Cleanup(withClient.Close)
	// A third whose node driver cannot list machines at all.
	nolist := httptest.NewServer((&Server{Store: st, Orch: orch, Drivers: driver.Set{Node: struct{ driver.NodeDriver }{}},
		Auth: toks, Policy: pol, Log: log}).Handler())
	t.Cleanup(nolist.Close)

	// The example site's machines exist in the simulated provisioner.
	siteDir := testutil.ExampleSite(t)
	srcs, err := (&ref.Resolver{}).Fetch(ctx, siteDir)
	if err != nil {
		t.Fatal(err)
	}
	var dsrcs []design.Source
	for _, s := range srcs {
		dsrcs = append(dsrcs, design.Source{Name: s.Name, Data: s.Data})
	}
	rep := validate.Sources(ctx, validate.Options{}, dsrcs...)
	if !rep.Valid() || len(rep.Site.Nodes) < 2 {
		t.Fatalf("examples/site should be a valid design with nodes: %v", rep.Messages)
	}
	if err := site.Ensure(rep.Site.Nodes...); err != nil {
		t.Fatal(err)
	}
	node := rep.Site.Nodes[0].Name
	filter := fmt.Sprintf(`{"filter_set_type":"union","filter_set":[{"filter_type":"union","node_names":[%q],"node_labels":null}]}`, node)

	// A finished task with a subtask tree, messages, links, step runs and build data, written
	// through the store as an orchestrator would.
	now := time.Now()
	top := &task.Task{Action: task.ActionDeployNodes, DesignRef: siteDir, Status: task.StatusQueued, CreatedBy: "admin", NodeFilter: []byte(filter)}
	if err := st.CreateTask(ctx, top); err != nil {
		t.Fatal(err)
	}
	claimed, lease, err := st.ClaimTask(ctx, "conformance", nil, time.Minute, now)
	if err != nil || claimed.ID != top.ID {
		t.Fatalf("claim: %v", err)
	}
	child := &task.Task{ParentID: &top.ID, Action: "identify_node", Step: "identify_node", DesignRef: siteDir, Status: task.StatusComplete,
		CreatedBy: "admin", Result: task.Result{Status: task.ResultFailure, Message: "identification failed", Reason: "NodeNotFound",
			Failures: []string{node}, Links: []task.Link{{Rel: "detail_logs", Href: "https://logs.example/1"}},
			Messages: []task.Message{task.NodeError(node, "machine not found"), task.NodeInfo(node, "looked by MAC")}}}
	if err := st.CreateTask(ctx, child); err != nil {
		t.Fatal(err)
	}
	grandchild := &task.Task{ParentID: &child.ID, Action: "power_on_node", Step: "power_on_node", DesignRef: siteDir, Status: task.StatusComplete,
		CreatedBy: "admin", Result: task.Result{Status: task.ResultFailure, Failures: []string{node},
			Messages: []task.Message{task.NodeError(node, "BMC unreachable")}}}
	if err := st.CreateTask(ctx, grandchild); err != nil {
		t.Fatal(err)
	}
	runs := []task.StepRun{{TaskID: top.ID, Step: "identify_node", Node: node, Ordinal: 0, State: task.StepPending},
		{TaskID: top.ID, Step: "identify_node", Node: rep.Site.Nodes[1].Name, Ordinal: 0, State: task.StepPending},
		{TaskID: top.ID, Step: "deploy_node", Node: node, Ordinal: 1, State: task.StepPending}}
	if err := st.CreateStepRuns(ctx, lease, runs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.StartStep(ctx, lease, top.ID, "identify_node", node, now); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishStep(ctx, lease, top.ID, "identify_node", node, task.StepFailed, "machine not found", nil, now); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBuildData(ctx, store.BuildData{NodeName: node, TaskID: child.ID, Generator: "lshw", Format: "text/xml", Data: []byte("<list/>")}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMessages(ctx, top.ID, task.NewMessage("deploying", false, task.ContextTask, top.ID.String())); err != nil {
		t.Fatal(err)
	}
	// The node's boot action context, as deploy_node records it.
	snap := make([]store.DesignSource, len(srcs))
	for i, s := range srcs {
		snap[i] = store.DesignSource{Name: s.Name, Data: s.Data}
	}
	if err := st.SaveDesign(ctx, top.ID, snap); err != nil {
		t.Fatal(err)
	}
	baKey := hex.EncodeToString(bytes.Repeat([]byte{7}, 32))
	var baActs []store.BootAction
	for _, ba := range bootaction.Targeting(rep.Site, node) {
		baActs = append(baActs, store.BootAction{ID: ulid.Make().String(), Name: ba.Name, Signaling: true, Status: store.BootActionIncomplete})
	}
	if _, _, err := st.EnsureBootActions(ctx, lease, store.BootActionContext{NodeName: node, Deployment: top.ID.String() + "/r0",
		DeployTaskID: top.ID, TaskID: child.ID, Key: bytes.Repeat([]byte{7}, 32), DesignRef: siteDir}, baActs); err != nil || len(baActs) == 0 {
		t.Fatalf("boot actions: %v (%d)", err, len(baActs))
	}
	if err := st.FinishTask(ctx, lease, task.StatusComplete, task.Result{Status: task.ResultFailure, Failures: []string{node}}, now); err != nil {
		t.Fatal(err)
	}

	c := &oaConformance{t: t, doc: oaDoc(t), c: oaCompiler(t, true), schemas: map[string]*jsonschema.Schema{}, covered: map[string]bool{}}
	admin := map[string]string{"Authorization": "Bearer " + adminToken}
	p := Prefix
	get := func(path string, want int) (http.Header, any) {
		t.Helper()
		return c.do(hs.URL, oaRequest{method: "GET", path: path, header: admin, want: want})
	}
	post := func(path string, body any, want int) (http.Header, any) {
		t.Helper()
		return c.do(hs.URL, oaRequest{method: "POST", path: path, body: body, header: admin, want: want})
	}

	// Public endpoints.
	get("/versions", 200)
	c.do(hs.URL, oaRequest{method: "GET", path: "/api/versions", want: 200})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/versions", want: 200})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/health", want: 204})
	c.do(hs.URL, oaRequest{method: "HEAD", path: p + "/health", want: 204})
	c.do(broken.URL, oaRequest{method: "GET", path: p + "/health", want: 503})
	if _, body := c.do(hs.URL, oaRequest{method: "GET", path: p + "/openapi.json", want: 200}); body == nil {
		t.Error("GET /openapi.json: no document")
	}
	for _, r := range []oaRequest{{method: "GET", path: p + "/designs"}, {method: "POST", path: p + "/designs"},
		{method: "GET", path: p + "/designs/x"}, {method: "POST", path: p + "/designs/x"},
		{method: "GET", path: p + "/designs/x/parts"}, {method: "POST", path: p + "/designs/x/parts"},
		{method: "GET", path: p + "/designs/x/parts/BaremetalNode"}, {method: "GET", path: p + "/designs/x/parts/BaremetalNode/n1"}} {
		r.want = 410
		c.do(hs.URL, r)
	}

	// Health.
	get(p+"/health/extended", 200)
	c.do(broken.URL, oaRequest{method: "GET", path: p + "/health/extended", header: admin, want: 503})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/health/extended", want: 401})

	// Authentication and authorization.
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/tasks", header: map[string]string{"Authorization": "Bearer not-a-valid-token-at-all"}, want: 401})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/tasks", header: map[string]string{"X-Auth-Token": readerToken}, want: 403})
	c.do(hs.URL, oaRequest{method: "POST", path: p + "/tasks", body: map[string]any{"action": "deploy_nodes", "design_ref": siteDir},
		header: map[string]string{"X-Auth-Token": readerToken}, want: 403})

	// Task creation.
	h, created := post(p+"/tasks", map[string]any{"action": "deploy_nodes", "design_ref": siteDir, "node_filter": json.RawMessage(filter)}, 201)
	newID, _ := jget(created, "task_id").(string)
	if loc := h.Get("Location"); loc != p+"/tasks/"+newID {
		t.Errorf("POST /tasks: Location %q, task %q", loc, newID)
	}
	c.do(hs.URL, oaRequest{method: "POST", path: p + "/tasks", body: map[string]any{"action": "validate_design", "design_ref": siteDir},
		header: map[string]string{"X-Auth-Token": adminToken}, want: 201})
	post(p+"/tasks", `{"action":"deploy_nodes","design_ref":"`+siteDir+`","colour":"red"}`, 400)
	post(p+"/tasks", map[string]any{"action": "noop", "design_ref": siteDir}, 400)
	post(p+"/tasks", map[string]any{"action": "deploy_nodes", "design_ref": "relative/site"}, 400)
	post(p+"/tasks", map[string]any{"action": "deploy_nodes", "design_ref": siteDir, "node_filter": map[string]any{"filter_set_type": "all"}}, 400)
	c.do(hs.URL, oaRequest{method: "POST", path: p + "/tasks", body: "action=deploy_nodes", contentType: "text/plain", header: admin, want: 415})
	post(p+"/tasks", `{"action":"`+strings.Repeat("x", maxBody)+`"}`, 413)

	// Task lists: pagination headers, filters, bad parameters.
	get(p+"/tasks", 200)
	h, _ = get(p+"/tasks?limit=1", 200)
	marker := h.Get("X-Drydock-Next-Marker")
	if marker == "" || !strings.Contains(h.Get("Link"), `rel="next"`) {
		t.Errorf("GET /tasks?limit=1: no next page headers (Link %q, marker %q)", h.Get("Link"), marker)
	}
	get(p+"/tasks?limit=1&marker="+marker, 200)
	get(p+"/tasks?toplevel=true&messages=true&status=complete,queued&status=running&action=deploy_nodes", 200)
	get(p+"/tasks?messages=yes&action=identify_node", 200)
	get(p+"/tasks?limit=0", 400)
	get(p+"/tasks?colour=red", 400)
	get(p+"/tasks?marker="+uuid.NewString(), 400)

	// One task, in every shape.
	topPath := p + "/tasks/" + top.ID.String()
	get(topPath, 200)
	_, layered := get(topPath+"?subtaskerrors=true&layers=2", 200)
	if m, _ := layered.(map[string]any); m["init_task_id"] != top.ID.String() || m[child.ID.String()] == nil || m[grandchild.ID.String()] != nil {
		t.Errorf("GET %s?layers=2: want the task and its children only, got %v", topPath, layered)
	}
	get(topPath+"?layers=-1&builddata=true", 200)
	_, withErrs := get(topPath+"?subtaskerrors=true&builddata=1", 200)
	if m, _ := jget(withErrs, "subtask_errors").(map[string]any); len(m) != 2 {
		t.Errorf("GET %s?subtaskerrors=true: want the errors of 2 descendants, got %v", topPath, m)
	}
	get(p+"/tasks/"+child.ID.String()+"?builddata=true", 200)
	get(p+"/tasks/not-a-uuid", 400)
	get(topPath+"?layers=two", 400)
	get(p+"/tasks/"+uuid.NewString(), 404)

	// Steps and build data.
	if _, steps := get(topPath+"/steps", 200); len(oaList(steps)) != len(runs) {
		t.Errorf("GET %s/steps: %v", topPath, steps)
	}
	get(p+"/tasks/"+uuid.NewString()+"/steps", 404)
	get(topPath+"/steps?x=1", 400)
	if _, bds := get(p+"/tasks/"+child.ID.String()+"/builddata", 200); len(oaList(bds)) != 1 {
		t.Errorf("GET task builddata: %v", bds)
	}
	get(topPath+"/builddata", 200)
	get(p+"/tasks/"+uuid.NewString()+"/builddata", 404)
	get(p+"/nodes/"+node+"/builddata?latest=true", 200)
	get(p+"/nodes/"+node+"/builddata?latest=maybe", 400)
	get(p+"/nodes/nosuchnode/builddata", 404)

	// Retry and terminate.
	post(topPath+"/retry", nil, 200)
	post(topPath+"/retry", nil, 409)
	post(p+"/tasks/"+child.ID.String()+"/retry", nil, 400)
	post(p+"/tasks/"+uuid.NewString()+"/retry", nil, 404)
	post(p+"/tasks/"+newID+"/terminate", nil, 200)
	post(p+"/tasks/"+newID+"/terminate", nil, 409)
	post(p+"/tasks/"+newID+"/terminate", `{}`, 400)
	post(p+"/tasks/"+uuid.NewString()+"/terminate", nil, 404)

	// Nodes.
	if _, ms := get(p+"/nodes", 200); len(oaList(ms)) != len(rep.Site.Nodes) {
		t.Errorf("GET /nodes: want %d machines, got %v", len(rep.Site.Nodes), ms)
	}
	get(p+"/nodes?all=1", 400)
	c.do(broken.URL, oaRequest{method: "GET", path: p + "/nodes", header: admin, want: 502})
	c.do(nolist.URL, oaRequest{method: "GET", path: p + "/nodes", header: admin, want: 503})

	// Node filters and design validation.
	if _, names := post(p+"/nodefilter", map[string]any{"design_ref": siteDir, "node_filter": json.RawMessage(filter)}, 200); !slices.Equal(oaList(names), []any{node}) {
		t.Errorf("POST /nodefilter: want [%s], got %v", node, names)
	}
	post(p+"/nodefilter", map[string]any{"design_ref": siteDir}, 200)
	post(p+"/nodefilter", map[string]any{}, 400)
	post(p+"/nodefilter", map[string]any{"design_ref": testutil.InvalidSample(t)}, 400)
	post(p+"/nodefilter", map[string]any{"design_ref": filepath.Join(dir, "missing.yaml")}, 400)
	post(p+"/validatedesign", map[string]any{"href": siteDir, "rel": "design", "type": "application/x-yaml"}, 200)
	c.do(hs.URL, oaRequest{method: "POST", path: p + "/validatedesign", body: map[string]any{"href": siteDir},
		contentType: "application/json; charset=utf-8", header: admin, want: 200})
	_, failed := post(p+"/validatedesign", map[string]any{"href": testutil.InvalidSample(t)}, 400)
	if jget(failed, "status") != "Failure" || jget(failed, "details", "errorCount") == float64(0) {
		t.Errorf("POST /validatedesign with an invalid design: %v", failed)
	}
	post(p+"/validatedesign", map[string]any{"href": ""}, 400)
	c.do(hs.URL, oaRequest{method: "POST", path: p + "/validatedesign", body: map[string]any{"href": siteDir}, contentType: "application/yaml", header: admin, want: 415})

	// Boot actions (node-facing: the node's key, no token).
	key := map[string]string{"X-Bootaction-Key": baKey}
	files := p + "/bootactions/nodes/" + node + "/files"
	c.do(hs.URL, oaRequest{method: "GET", path: files, header: key, want: 200})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/bootactions/nodes/" + node + "/units", header: key, want: 200})
	c.do(hs.URL, oaRequest{method: "GET", path: files, want: 401})
	c.do(hs.URL, oaRequest{method: "GET", path: files, header: map[string]string{"X-Bootaction-Key": strings.Repeat("0", 64)}, want: 403})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/bootactions/nodes/" + rep.Site.Nodes[1].Name + "/files", header: key, want: 404})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/bootactions/nodes/a$b/units", header: key, want: 400})
	act := p + "/bootactions/" + baActs[0].ID
	c.do(hs.URL, oaRequest{method: "POST", path: act, header: key, body: map[string]any{"details": []any{map[string]any{"message": "started", "error": false}}}, want: 200})
	c.do(hs.URL, oaRequest{method: "POST", path: act, header: key, body: map[string]any{"status": "success"}, want: 200})
	c.do(hs.URL, oaRequest{method: "POST", path: act, header: key, body: map[string]any{"status": "success"}, want: 409})
	c.do(hs.URL, oaRequest{method: "POST", path: act, header: key, body: map[string]any{"status": "maybe"}, want: 400})
	c.do(hs.URL, oaRequest{method: "POST", path: act, body: map[string]any{"status": "success"}, want: 401})
	c.do(hs.URL, oaRequest{method: "POST", path: act, header: map[string]string{"X-Bootaction-Key": "00"}, body: map[string]any{"status": "success"}, want: 403})
	c.do(hs.URL, oaRequest{method: "POST", path: p + "/bootactions/" + ulid.Make().String(), header: key, body: map[string]any{"status": "success"}, want: 404})
	c.do(hs.URL, oaRequest{method: "POST", path: act, header: key, body: "status=success", contentType: "text/plain", want: 415})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/bootactions/baclient", want: 404})
	c.do(withClient.URL, oaRequest{method: "GET", path: p + "/bootactions/baclient", want: 200})

	// Retention.
	c.do(hs.URL, oaRequest{method: "DELETE", path: p + "/tasks?days=0", header: admin, want: 400})
	c.do(hs.URL, oaRequest{method: "DELETE", path: p + "/tasks?days=30", header: admin, want: 200})
	c.do(hs.URL, oaRequest{method: "DELETE", path: p + "/tasks?days=30", header: map[string]string{"X-Auth-Token": readerToken}, want: 403})

	// Unknown methods and paths.
	c.do(hs.URL, oaRequest{method: "PUT", path: p + "/tasks", header: admin, want: 405})
	c.do(hs.URL, oaRequest{method: "PUT", path: "/versions", want: 405})
	c.do(hs.URL, oaRequest{method: "GET", path: p + "/tasks/" + top.ID.String() + "/retry", header: admin, want: 405})
	get(p+"/no/such/thing", 404)
	get("/", 404)

	// Every documented operation was exercised.
	for k := range oaOperations(c.doc) {
		if !c.covered[k] {
			t.Errorf("%s was not exercised by this test", k)
		}
	}
}
