package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

// --- versions, health, openapi -------------------------------------------------------------

func TestVersions(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/versions", "/api/versions", Prefix + "/versions", "/versions/"} {
		r := ts.get(t, path, "") // public: no token
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Code, r.Raw)
		}
		v := r.obj(t)
		if got := jstr(v, "v1.0", "path"); got != Prefix {
			t.Errorf("GET %s: v1.0.path %q, want %q", path, got, Prefix)
		}
		if got := jstr(v, "v1.0", "status"); got != "stable" {
			t.Errorf("GET %s: v1.0.status %q, want stable", path, got)
		}
	}
	// HEAD answers like GET, without a body.
	r := ts.do(t, apiReq{method: http.MethodHead, path: "/versions"})
	if r.Code != http.StatusOK || len(r.Raw) != 0 {
		t.Errorf("HEAD /versions: %d, %d body bytes", r.Code, len(r.Raw))
	}
}

func TestHealth(t *testing.T) {
	ts := newTestServer(t)
	r := ts.get(t, Prefix+"/health", "")
	if r.Code != http.StatusNoContent || len(r.Raw) != 0 {
		t.Fatalf("health: %d %q, want 204 and no body", r.Code, r.Raw)
	}
	ts.rec.FailPing(errors.New("disk on fire"))
	r = ts.get(t, Prefix+"/health", "")
	doc := assertStatusDoc(t, r, http.StatusServiceUnavailable, "store")
	if doc["retry"] != true {
		t.Errorf("retry %v, want true", doc["retry"])
	}
	if strings.Contains(string(r.Raw), "disk on fire") {
		t.Errorf("the unauthenticated health check shows the store's error: %s", r.Raw)
	}
	ts.rec.FailPing(nil)
	if r := ts.get(t, Prefix+"/health", ""); r.Code != http.StatusNoContent {
		t.Errorf("health after recovery: %d", r.Code)
	}
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("health wrote %v", w)
	}
}

// messages returns the messages of a Status body's messageList.
func statusMessages(t testing.TB, doc map[string]any) (texts []string, errs []bool) {
	t.Helper()
	list, _ := jget(doc, "details", "messageList").([]any)
	for _, m := range list {
		texts = append(texts, jstr(m, "message"))
		e, _ := jget(m, "error").(bool)
		errs = append(errs, e)
	}
	return texts, errs
}

func TestHealthExtended(t *testing.T) {
	ts := newTestServer(t)
	assertStatusDoc(t, ts.get(t, Prefix+"/health/extended", ""), http.StatusUnauthorized)
	assertStatusDoc(t, ts.get(t, Prefix+"/health/extended", readerToken), http.StatusForbidden, "health_data")

	r := ts.get(t, Prefix+"/health/extended", adminToken)
	if r.Code != http.StatusOK {
		t.Fatalf("extended health: %d %s", r.Code, r.Raw)
	}
	doc := r.obj(t)
	if doc["kind"] != "Status" || doc["status"] != "Success" || doc["code"] != float64(200) {
		t.Errorf("healthy body: %s", r.Raw)
	}
	texts, errs := statusMessages(t, doc)
	for _, want := range []string{"state store: ok", "node driver: ok"} {
		if !slices.Contains(texts, want) {
			t.Errorf("messages %q lack %q", texts, want)
		}
	}
	if slices.Contains(errs, true) || jget(doc, "details", "errorCount") != float64(0) {
		t.Errorf("healthy check reports errors: %s", r.Raw)
	}

	ts.rec.FailPing(errors.New("connection refused"))
	r = ts.get(t, Prefix+"/health/extended", adminToken)
	doc = assertStatusDoc(t, r, http.StatusServiceUnavailable)
	texts, errs = statusMessages(t, doc)
	found := false
	for i, m := range texts {
		if strings.HasPrefix(m, "state store: unhealthy") && strings.Contains(m, "connection refused") {
			found = errs[i]
		}
	}
	if !found {
		t.Errorf("no error message for the store: %q", texts)
	}
	if !slices.Contains(texts, "node driver: ok") {
		t.Errorf("the healthy node driver is not reported ok: %q", texts)
	}
	ts.rec.FailPing(nil)

	// A failing driver check fails the whole report too.
	ts.site.Close()
	r = ts.get(t, Prefix+"/health/extended", adminToken)
	doc = assertStatusDoc(t, r, http.StatusServiceUnavailable)
	texts, _ = statusMessages(t, doc)
	if !slices.Contains(texts, "state store: ok") || !slices.ContainsFunc(texts, func(s string) bool { return strings.HasPrefix(s, "node driver: unhealthy") }) {
		t.Errorf("messages with a closed simulator: %q", texts)
	}
}

func TestOpenAPIPublic(t *testing.T) {
	ts := newTestServer(t)
	r := ts.get(t, Prefix+"/openapi.json", "")
	if r.Code != http.StatusOK {
		t.Fatalf("openapi: %d", r.Code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	doc := r.obj(t)
	if _, ok := doc["openapi"].(string); !ok {
		t.Errorf("no openapi version field in the published document")
	}
	if _, ok := doc["paths"].(map[string]any); !ok {
		t.Errorf("no paths in the published document")
	}
}

// --- routing -------------------------------------------------------------------------------

func TestRouting(t *testing.T) {
	ts := newTestServer(t)
	t.Run("options", func(t *testing.T) {
		for path, allow := range map[string]string{
			Prefix + "/tasks":                     "GET, HEAD, POST, DELETE, OPTIONS",
			Prefix + "/tasks/" + uuid.NewString(): "GET, HEAD, OPTIONS",
			Prefix + "/validatedesign":            "POST, OPTIONS",
		} {
			r := ts.do(t, apiReq{method: http.MethodOptions, path: path}) // no token needed
			if r.Code != http.StatusOK {
				t.Errorf("OPTIONS %s: %d", path, r.Code)
			}
			if got := r.Header.Get("Allow"); got != allow {
				t.Errorf("OPTIONS %s: Allow %q, want %q", path, got, allow)
			}
		}
	})
	t.Run("method not allowed", func(t *testing.T) {
		for _, c := range []struct{ method, path, allow string }{
			{http.MethodPut, Prefix + "/tasks", "GET, HEAD, POST, DELETE, OPTIONS"},
			{http.MethodPut, Prefix + "/tasks/" + uuid.NewString(), "GET, HEAD, OPTIONS"},
			{http.MethodGet, Prefix + "/tasks/" + uuid.NewString() + "/terminate", "POST, OPTIONS"},
			{http.MethodGet, Prefix + "/nodefilter", "POST, OPTIONS"},
			{http.MethodPost, Prefix + "/health", "GET, HEAD, OPTIONS"},
		} {
			r := ts.do(t, apiReq{method: c.method, path: c.path, token: adminToken})
			assertStatusDoc(t, r, http.StatusMethodNotAllowed, c.method)
			if got := r.Header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		for _, path := range []string{"/nope", Prefix + "/nope", Prefix + "/tasks/" + uuid.NewString() + "/nope", "/api/v2.0/tasks"} {
			assertStatusDoc(t, ts.get(t, path, adminToken), http.StatusNotFound, path)
		}
	})
	t.Run("trailing slash", func(t *testing.T) {
		tk := ts.createTask(t, task.ActionVerifySite, nil)
		r := ts.get(t, Prefix+"/tasks/", adminToken)
		if r.Code != http.StatusOK || len(r.list(t)) != 1 {
			t.Errorf("GET tasks/: %d %s", r.Code, r.Raw)
		}
		r = ts.get(t, Prefix+"/tasks/"+jstr(tk, "task_id")+"/", adminToken)
		if r.Code != http.StatusOK || jstr(r.Body, "task_id") != jstr(tk, "task_id") {
			t.Errorf("GET tasks/{id}/: %d %s", r.Code, r.Raw)
		}
	})
	t.Run("request ids", func(t *testing.T) {
		// ts.do checks the header on every response; here: it is fresh on each one.
		seen := map[string]bool{}
		for _, rq := range []apiReq{
			{method: http.MethodGet, path: "/versions"},
			{method: http.MethodGet, path: "/nope"},
			{method: http.MethodGet, path: Prefix + "/tasks"},
			{method: http.MethodOptions, path: Prefix + "/tasks"},
			{method: http.MethodDelete, path: Prefix + "/tasks", token: adminToken},
			{method: http.MethodGet, path: Prefix + "/tasks", token: adminToken},
		} {
			id := ts.do(t, rq).Header.Get("X-Drydock-Req")
			if seen[id] {
				t.Errorf("request id %s repeated", id)
			}
			seen[id] = true
		}
	})
}

// --- authentication and policy -------------------------------------------------------------

func TestAuthentication(t *testing.T) {
	ts := newTestServer(t)
	assertStatusDoc(t, ts.get(t, Prefix+"/tasks", ""), http.StatusUnauthorized, "authentication required")
	assertStatusDoc(t, ts.get(t, Prefix+"/tasks", unknownToken), http.StatusUnauthorized, "invalid")
	// The OpenStack-style header works as well as a bearer token.
	r := ts.do(t, apiReq{method: http.MethodGet, path: Prefix + "/tasks", header: map[string]string{"X-Auth-Token": adminToken}})
	if r.Code != http.StatusOK {
		t.Errorf("X-Auth-Token: %d %s", r.Code, r.Raw)
	}
	// Public endpoints ignore a bad token.
	if r := ts.get(t, "/versions", unknownToken); r.Code != http.StatusOK {
		t.Errorf("versions with a bad token: %d", r.Code)
	}
}

func TestReaderPolicy(t *testing.T) {
	ts := newTestServer(t)
	tk := ts.createTask(t, task.ActionVerifySite, nil)
	n := ts.taskCount(t)
	ts.rec.Reset()

	r := ts.post(t, Prefix+"/tasks", readerToken, map[string]any{"action": "verify_site", "design_ref": testutil.ExampleSite(t)})
	assertStatusDoc(t, r, http.StatusForbidden, "reader", "create_task")
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("a denied request wrote %v", w)
	}
	if got := ts.taskCount(t); got != n {
		t.Errorf("%d tasks after a denied create, want %d", got, n)
	}

	r = ts.get(t, Prefix+"/tasks", readerToken)
	if r.Code != http.StatusOK || len(r.list(t)) != 1 {
		t.Errorf("reader lists tasks: %d %s", r.Code, r.Raw)
	}
	if r := ts.get(t, Prefix+"/tasks/"+jstr(tk, "task_id"), readerToken); r.Code != http.StatusOK {
		t.Errorf("reader reads a task: %d", r.Code)
	}
	// Everything else keeps its admin-only default.
	for _, rq := range []apiReq{
		{method: http.MethodPost, path: Prefix + "/tasks/" + jstr(tk, "task_id") + "/terminate"},
		{method: http.MethodPost, path: Prefix + "/tasks/" + jstr(tk, "task_id") + "/retry"},
		{method: http.MethodGet, path: Prefix + "/tasks/" + jstr(tk, "task_id") + "/builddata"},
		{method: http.MethodGet, path: Prefix + "/nodes"},
		{method: http.MethodGet, path: Prefix + "/health/extended"},
	} {
		rq.token = readerToken
		assertStatusDoc(t, ts.do(t, rq), http.StatusForbidden, "reader")
	}
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("denied requests wrote %v", w)
	}
	if st := ts.storeTask(t, jstr(tk, "task_id")).Status; st != task.StatusQueued {
		t.Errorf("the task is %s after a denied terminate", st)
	}
}

func TestActionPolicy(t *testing.T) {
	ts := newTestServer(t)
	r := ts.post(t, Prefix+"/tasks", deployerToken, map[string]any{"action": "deploy_nodes", "design_ref": testutil.ExampleSite(t)})
	if r.Code != http.StatusCreated {
		t.Fatalf("deployer deploys: %d %s", r.Code, r.Raw)
	}
	if got := jstr(r.Body, "created_by"); got != "deployer" {
		t.Errorf("created_by %q, want deployer", got)
	}
	n := ts.taskCount(t)
	ts.rec.Reset()
	for _, action := range []string{"destroy_nodes", "prepare_site", "relabel_nodes"} {
		r = ts.post(t, Prefix+"/tasks", deployerToken, map[string]any{"action": action, "design_ref": testutil.ExampleSite(t)})
		assertStatusDoc(t, r, http.StatusForbidden, "deployer", action, "physical_provisioner:"+action)
	}
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("denied creates wrote %v", w)
	}
	if got := ts.taskCount(t); got != n {
		t.Errorf("%d tasks, want %d", got, n)
	}
	// The deployer may create but not read.
	assertStatusDoc(t, ts.get(t, Prefix+"/tasks", deployerToken), http.StatusForbidden, "read_task")
}

// --- designs -------------------------------------------------------------------------------

func TestDesignsGone(t *testing.T) {
	ts := newTestServer(t)
	id := uuid.NewString()
	for _, rq := range []apiReq{
		{method: http.MethodGet, path: Prefix + "/designs"},
		{method: http.MethodPost, path: Prefix + "/designs", body: "{}"},
		{method: http.MethodGet, path: Prefix + "/designs/" + id},
		{method: http.MethodPost, path: Prefix + "/designs/" + id},
		{method: http.MethodGet, path: Prefix + "/designs/" + id + "/parts"},
		{method: http.MethodPost, path: Prefix + "/designs/" + id + "/parts", body: "{}"},
		{method: http.MethodGet, path: Prefix + "/designs/" + id + "/parts/BaremetalNode"},
		{method: http.MethodGet, path: Prefix + "/designs/" + id + "/parts/BaremetalNode/cmp01", token: adminToken},
	} {
		assertStatusDoc(t, ts.do(t, rq), http.StatusGone, "design_ref")
	}
	r := ts.do(t, apiReq{method: http.MethodPost, path: Prefix + "/designs/" + id + "/parts/BaremetalNode"})
	assertStatusDoc(t, r, http.StatusMethodNotAllowed)
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("designs wrote %v", w)
	}
}

// --- secrets -------------------------------------------------------------------------------

func TestTokensNeverShown(t *testing.T) {
	ts := newTestServer(t)
	site := testutil.ExampleSite(t)
	tk := ts.createTask(t, task.ActionDeployNodes, nil)
	id := jstr(tk, "task_id")
	for _, tok := range []string{adminToken, readerToken, deployerToken, unknownToken, ""} {
		for _, rq := range []apiReq{
			{method: http.MethodGet, path: "/versions"},
			{method: http.MethodGet, path: Prefix + "/health"},
			{method: http.MethodGet, path: Prefix + "/health/extended"},
			{method: http.MethodGet, path: Prefix + "/tasks?limit=1"},
			{method: http.MethodGet, path: Prefix + "/tasks/" + id + "?subtaskerrors=true&layers=-1&builddata=true"},
			{method: http.MethodGet, path: Prefix + "/tasks/" + id + "/steps"},
			{method: http.MethodGet, path: Prefix + "/tasks/" + id + "/builddata"},
			{method: http.MethodGet, path: Prefix + "/tasks/nope"},
			{method: http.MethodPost, path: Prefix + "/tasks", body: `{"action":"verify_site","design_ref":"` + site + `"}`},
			{method: http.MethodPost, path: Prefix + "/tasks", body: `{"action":"destroy_nodes","design_ref":"` + site + `"}`},
			{method: http.MethodPost, path: Prefix + "/tasks", body: `{"action":`},
			{method: http.MethodPost, path: Prefix + "/tasks/" + id + "/retry"},
			{method: http.MethodGet, path: Prefix + "/nodes"},
			{method: http.MethodGet, path: Prefix + "/nodes/cmp01/builddata"},
			{method: http.MethodPost, path: Prefix + "/nodefilter", body: `{"design_ref":"` + site + `"}`},
			{method: http.MethodPost, path: Prefix + "/validatedesign", body: `{"href":"` + site + `"}`},
			{method: http.MethodDelete, path: Prefix + "/tasks"},
			{method: http.MethodGet, path: "/nope"},
		} {
			rq.token = tok
			ts.do(t, rq)
		}
	}
	// An X-Auth-Token header too, and a malformed Authorization header.
	ts.do(t, apiReq{method: http.MethodGet, path: Prefix + "/tasks", header: map[string]string{"X-Auth-Token": adminToken}})
	ts.do(t, apiReq{method: http.MethodGet, path: Prefix + "/tasks", header: map[string]string{"Authorization": "Basic " + adminToken}})

	ts.mu.Lock()
	bodies := ts.bodies
	ts.mu.Unlock()
	if len(bodies) < 90 {
		t.Fatalf("only %d responses recorded", len(bodies))
	}
	for _, secret := range []string{adminToken, readerToken, deployerToken, unknownToken} {
		for _, b := range bodies {
			if strings.Contains(string(b), secret) {
				t.Errorf("a response body shows token %s: %s", secret[:6], b)
			}
		}
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the log shows token %s", secret[:6])
		}
	}
	// The log is captured (so the check above means something): one line per request,
	// naming the user and the rule.
	logs := ts.logs.String()
	if !strings.Contains(logs, "user=admin") || !strings.Contains(logs, "rule=physical_provisioner:create_task") ||
		!strings.Contains(logs, "user=reader") || strings.Count(logs, "msg=request") < len(bodies) {
		t.Errorf("request log lines missing (%d lines for %d requests):\n%s", strings.Count(logs, "msg=request"), len(bodies), logs)
	}
}
