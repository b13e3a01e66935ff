package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

// Tokens of the test identities. They look like secrets so that a leak is easy to grep.
const (
	adminToken    = "adm1n-T0KEN-s3cr3t-0123456789abcdef"
	readerToken   = "r3ader-T0KEN-s3cr3t-0123456789abcdef"
	deployerToken = "dep1oyer-T0KEN-s3cr3t-0123456789abcdef"
	unknownToken  = "unkn0wn-T0KEN-s3cr3t-0123456789abcdef"
)

// testPolicy lets the reader read tasks (but not create them) and the deployer create only
// deploy_nodes tasks.
var testPolicy = map[string]string{
	policy.RuleReadTask:    "role:admin or role:reader",
	policy.RuleCreateTask:  "role:admin or role:deployer",
	policy.RuleDeployNodes: "role:admin or role:deployer",
}

// recordingStore records every call of a write method, so that a test can assert that a
// rejected request wrote nothing. Ping fails while pingErr is set.
type recordingStore struct {
	store.Store
	mu      sync.Mutex
	writes  []string
	pingErr error
}

func (s *recordingStore) rec(name string) {
	s.mu.Lock()
	s.writes = append(s.writes, name)
	s.mu.Unlock()
}

// Writes returns the write methods called since the last reset.
func (s *recordingStore) Writes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// Reset forgets the recorded writes.
func (s *recordingStore) Reset() {
	s.mu.Lock()
	s.writes = nil
	s.mu.Unlock()
}

// FailPing makes Ping fail with err (nil: Ping works again).
func (s *recordingStore) FailPing(err error) {
	s.mu.Lock()
	s.pingErr = err
	s.mu.Unlock()
}

func (s *recordingStore) Ping(ctx context.Context) error {
	s.mu.Lock()
	err := s.pingErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

func (s *recordingStore) CreateTask(ctx context.Context, t *task.Task) error {
	s.rec("CreateTask")
	return s.Store.CreateTask(ctx, t)
}

func (s *recordingStore) SetStatus(ctx context.Context, id uuid.UUID, from []task.Status, to task.Status, now time.Time) error {
	s.rec("SetStatus")
	return s.Store.SetStatus(ctx, id, from, to, now)
}

func (s *recordingStore) SaveResult(ctx context.Context, l task.Lease, id uuid.UUID, r task.Result, now time.Time) error {
	s.rec("SaveResult")
	return s.Store.SaveResult(ctx, l, id, r, now)
}

func (s *recordingStore) AddMessages(ctx context.Context, id uuid.UUID, msgs ...task.Message) error {
	s.rec("AddMessages")
	return s.Store.AddMessages(ctx, id, msgs...)
}

func (s *recordingStore) RequestTermination(ctx context.Context, id uuid.UUID, by string, now time.Time) (*task.Task, error) {
	s.rec("RequestTermination")
	return s.Store.RequestTermination(ctx, id, by, now)
}

func (s *recordingStore) Requeue(ctx context.Context, id uuid.UUID, now time.Time) (*task.Task, error) {
	s.rec("Requeue")
	return s.Store.Requeue(ctx, id, now)
}

func (s *recordingStore) ClaimTask(ctx context.Context, owner string, actions []string, leaseFor time.Duration, now time.Time) (*task.Task, task.Lease, error) {
	s.rec("ClaimTask")
	return s.Store.ClaimTask(ctx, owner, actions, leaseFor, now)
}

func (s *recordingStore) RenewLease(ctx context.Context, l task.Lease, leaseFor time.Duration, now time.Time) (task.Lease, error) {
	s.rec("RenewLease")
	return s.Store.RenewLease(ctx, l, leaseFor, now)
}

func (s *recordingStore) ReleaseLease(ctx context.Context, l task.Lease, now time.Time) error {
	s.rec("ReleaseLease")
	return s.Store.ReleaseLease(ctx, l, now)
}

func (s *recordingStore) FinishTask(ctx context.Context, l task.Lease, st task.Status, r task.Result, now time.Time) error {
	s.rec("FinishTask")
	return s.Store.FinishTask(ctx, l, st, r, now)
}

func (s *recordingStore) ReserveNodes(ctx context.Context, l task.Lease, nodes []string) (map[string]uuid.UUID, error) {
	s.rec("ReserveNodes")
	return s.Store.ReserveNodes(ctx, l, nodes)
}

func (s *recordingStore) CreateStepRuns(ctx context.Context, l task.Lease, runs []task.StepRun) error {
	s.rec("CreateStepRuns")
	return s.Store.CreateStepRuns(ctx, l, runs)
}

func (s *recordingStore) StartStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, now time.Time) (task.StepRun, error) {
	s.rec("StartStep")
	return s.Store.StartStep(ctx, l, taskID, step, node, now)
}

func (s *recordingStore) SaveStepDetail(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, detail []byte) error {
	s.rec("SaveStepDetail")
	return s.Store.SaveStepDetail(ctx, l, taskID, step, node, detail)
}

func (s *recordingStore) FinishStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, state task.StepState, message string, detail []byte, now time.Time) error {
	s.rec("FinishStep")
	return s.Store.FinishStep(ctx, l, taskID, step, node, state, message, detail, now)
}

func (s *recordingStore) SaveDesign(ctx context.Context, taskID uuid.UUID, sources []store.DesignSource) error {
	s.rec("SaveDesign")
	return s.Store.SaveDesign(ctx, taskID, sources)
}

func (s *recordingStore) PutNodeState(ctx context.Context, node string, state []byte, now time.Time) error {
	s.rec("PutNodeState")
	return s.Store.PutNodeState(ctx, node, state, now)
}

func (s *recordingStore) PutBuildData(ctx context.Context, bd store.BuildData) error {
	s.rec("PutBuildData")
	return s.Store.PutBuildData(ctx, bd)
}

func (s *recordingStore) EnsureBootActions(ctx context.Context, l task.Lease, c store.BootActionContext, a []store.BootAction) (store.BootActionContext, []store.BootAction, error) {
	s.rec("EnsureBootActions")
	return s.Store.EnsureBootActions(ctx, l, c, a)
}

func (s *recordingStore) ReportBootAction(ctx context.Context, id, status string, msgs []task.Message, now time.Time) (store.BootAction, error) {
	s.rec("ReportBootAction")
	return s.Store.ReportBootAction(ctx, id, status, msgs, now)
}

func (s *recordingStore) Purge(ctx context.Context, before time.Time) (store.PurgeResult, error) {
	s.rec("Purge")
	return s.Store.Purge(ctx, before)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverOpts adjust a test server before it starts.
type serverOpts struct {
	config Config
	// nodeDriver replaces the sim node driver when set.
	nodeDriver driver.NodeDriver
	// policy replaces testPolicy when not nil.
	policy map[string]string
	// noMachines skips creating the example site's machines in the simulator.
	noMachines bool
}

// testServer is an API server on a real SQLite store, a real (not running) orchestrator and
// the simulated site, behind an httptest server.
type testServer struct {
	srv   *Server
	http  *httptest.Server
	rec   *recordingStore
	raw   store.Store // the store without recording
	orch  *orchestrator.Orchestrator
	site  *sim.Site
	logs  *syncBuffer
	nodes []*design.Node

	mu     sync.Mutex
	bodies [][]byte // every response body, for the secrets test
}

func newTestServer(t *testing.T, adjust ...func(*serverOpts)) *testServer {
	t.Helper()
	var o serverOpts
	for _, f := range adjust {
		f(&o)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "drydock.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &recordingStore{Store: st}

	site, err := sim.Open("", sim.Config{})
	if err != nil {
		t.Fatalf("open sim: %v", err)
	}
	t.Cleanup(func() { site.Close() })
	nodes, err := testutil.ExampleNodes()
	if err != nil {
		t.Fatalf("compile example site: %v", err)
	}
	if !o.noMachines {
		if err := site.Ensure(nodes...); err != nil {
			t.Fatalf("sim ensure: %v", err)
		}
	}
	drivers := driver.Set{Node: site.NodeDriver(), OOB: map[string]driver.OOBDriver{"ipmi": site.OOBDriver()}}
	if o.nodeDriver != nil {
		drivers.Node = o.nodeDriver
	}

	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	orch := orchestrator.New(rec, drivers, orchestrator.Config{}, orchestrator.WithLogger(log))

	toks := &auth.Tokens{}
	for _, e := range []struct {
		tok string
		id  auth.Identity
	}{
		{adminToken, auth.Identity{User: "admin", UserID: "admin", Roles: []string{"admin"}}},
		{readerToken, auth.Identity{User: "reader", UserID: "reader", Roles: []string{"reader"}}},
		{deployerToken, auth.Identity{User: "deployer", UserID: "deployer", Roles: []string{"deployer"}}},
	} {
		if err := toks.Add(e.tok, e.id); err != nil {
			t.Fatal(err)
		}
	}
	overrides := testPolicy
	if o.policy != nil {
		overrides = o.policy
	}
	pol, err := policy.New(overrides)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	s := &Server{Store: rec, Orch: orch, Drivers: drivers, Auth: toks, Policy: pol, Log: log, Config: o.config}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testServer{srv: s, http: hs, rec: rec, raw: st, orch: orch, site: site, logs: logs, nodes: nodes}
}

// response is an HTTP response with its body read and, when it is JSON, decoded.
type apiResp struct {
	Code   int
	Header http.Header
	Raw    []byte
	Body   any
}

// obj returns the body as a JSON object (failing the test when it is not one).
func (r *apiResp) obj(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.Body.(map[string]any)
	if !ok {
		t.Fatalf("body is not a JSON object: %s", r.Raw)
	}
	return m
}

// list returns the body as a JSON array.
func (r *apiResp) list(t testing.TB) []any {
	t.Helper()
	l, ok := r.Body.([]any)
	if !ok {
		t.Fatalf("body is not a JSON array: %s", r.Raw)
	}
	return l
}

// request describes a request: a raw body (sent with Content-Type application/json unless
// header sets another; a header value "" removes the header).
type apiReq struct {
	method, path, token string
	body                string
	hasBody             bool
	header              map[string]string
}

// do sends a request and checks what every response must carry (an X-Drydock-Req id).
func (ts *testServer) do(t testing.TB, rq apiReq) *apiResp {
	t.Helper()
	var body io.Reader
	if rq.hasBody || rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req, err := http.NewRequest(rq.method, ts.http.URL+rq.path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", rq.method, rq.path, err)
	}
	ts.mu.Lock()
	ts.bodies = append(ts.bodies, raw)
	ts.mu.Unlock()
	if id := resp.Header.Get("X-Drydock-Req"); id == "" {
		t.Errorf("%s %s: no X-Drydock-Req header", rq.method, rq.path)
	} else if _, err := uuid.Parse(id); err != nil {
		t.Errorf("%s %s: X-Drydock-Req %q is not a UUID", rq.method, rq.path, id)
	}
	out := &apiResp{Code: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: response is not JSON: %v\n%s", rq.method, rq.path, err, raw)
		}
	}
	return out
}

// get sends a GET.
func (ts *testServer) get(t testing.TB, path, token string) *apiResp {
	t.Helper()
	return ts.do(t, apiReq{method: http.MethodGet, path: path, token: token})
}

// post sends a POST with v encoded as JSON (a string is sent as it is).
func (ts *testServer) post(t testing.TB, path, token string, v any) *apiResp {
	t.Helper()
	var body string
	switch b := v.(type) {
	case string:
		body = b
	case nil:
		return ts.do(t, apiReq{method: http.MethodPost, path: path, token: token})
	default:
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body = string(data)
	}
	return ts.do(t, apiReq{method: http.MethodPost, path: path, token: token, body: body, hasBody: true})
}

// createTask creates a task through the API as admin and returns its wire form.
func (ts *testServer) createTask(t testing.TB, action string, filter any) map[string]any {
	t.Helper()
	body := map[string]any{"action": action, "design_ref": testutil.ExampleSite(t)}
	if filter != nil {
		body["node_filter"] = filter
	}
	r := ts.post(t, Prefix+"/tasks", adminToken, body)
	if r.Code != http.StatusCreated {
		t.Fatalf("create %s task: %d %s", action, r.Code, r.Raw)
	}
	return r.obj(t)
}

// taskCount counts the tasks in the store.
func (ts *testServer) taskCount(t testing.TB) int {
	t.Helper()
	all, err := ts.raw.ListTasks(context.Background(), store.ListParams{WithoutMessages: true})
	if err != nil {
		t.Fatalf("list tasks: %v", err)
	}
	return len(all)
}

// storeTask reads a task from the store.
func (ts *testServer) storeTask(t testing.TB, id string) *task.Task {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil {
		t.Fatalf("task id %q: %v", id, err)
	}
	tk, err := ts.raw.GetTask(context.Background(), u)
	if err != nil {
		t.Fatalf("get task %s: %v", id, err)
	}
	return tk
}

// assertStatusDoc checks that r is a Failure Status document with HTTP status code whose
// message contains every one of want, and returns it.
func assertStatusDoc(t testing.TB, r *apiResp, code int, want ...string) map[string]any {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	doc, ok := r.Body.(map[string]any)
	if !ok {
		t.Fatalf("body is not a JSON object: %s", r.Raw)
	}
	get := func(k string) string { s, _ := doc[k].(string); return s }
	if get("kind") != "Status" {
		t.Errorf("kind %q, want Status (body %s)", get("kind"), r.Raw)
	}
	if get("apiVersion") != "v1.0" {
		t.Errorf("apiVersion %q, want v1.0", get("apiVersion"))
	}
	if get("status") != "Failure" {
		t.Errorf("status %q, want Failure", get("status"))
	}
	if get("message") == "" {
		t.Errorf("empty message (body %s)", r.Raw)
	}
	if get("reason") == "" {
		t.Errorf("empty reason (body %s)", r.Raw)
	}
	if c, _ := doc["code"].(float64); int(c) != code {
		t.Errorf("code %v in the body, want %d", doc["code"], code)
	}
	details, _ := doc["details"].(map[string]any)
	if details == nil {
		t.Errorf("no details object (body %s)", r.Raw)
	} else {
		if n, _ := details["errorCount"].(float64); n < 1 {
			t.Errorf("details.errorCount %v, want >= 1", details["errorCount"])
		}
		if l, ok := details["messageList"].([]any); !ok || len(l) == 0 {
			t.Errorf("details.messageList %v, want a non-empty list", details["messageList"])
		}
	}
	for _, w := range want {
		if !strings.Contains(get("message"), w) {
			t.Errorf("message %q does not mention %q", get("message"), w)
		}
	}
	return doc
}

// field walks a decoded JSON value: jget(v, "result", "details", "errorCount").
func jget(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// str is field as a string.
func jstr(v any, path ...string) string {
	s, _ := jget(v, path...).(string)
	return s
}

// sortedKeys returns a JSON object's keys, sorted.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
