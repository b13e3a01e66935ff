package client

// Requests as the server receives them (paths, queries, headers, bodies) and answers the client
// must cope with, against a scripted server.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/wire"
)

func TestNew(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000"},
		{"https://drydock.example.com/prefix", "https://drydock.example.com/prefix"},
		{"https://drydock.example.com/prefix/", "https://drydock.example.com/prefix"},
		{"http://h:9000/api/v1.0", "http://h:9000"},
		{"http://h:9000/api/v1.0/", "http://h:9000"},
		{"https://h/prefix/api/v1.0", "https://h/prefix"},
	} {
		cl, err := New(c.in, "")
		if err != nil {
			t.Errorf("New(%q): %v", c.in, err)
			continue
		}
		if got := cl.URL(); got != c.want {
			t.Errorf("New(%q).URL() = %q, want %q", c.in, got, c.want)
		}
		if cl.HTTP == nil || cl.HTTP.Timeout <= 0 {
			t.Errorf("New(%q): no default HTTP client with a timeout", c.in)
		}
	}
	for _, in := range []string{"ftp://x", "localhost:9000", "http://", "https://", "", "/api/v1.0", "://x", "http//x"} {
		if cl, err := New(in, "tok"); err == nil {
			t.Errorf("New(%q) accepted: %s", in, cl.URL())
		} else if !strings.Contains(err.Error(), "http(s)://") {
			t.Errorf("New(%q): error %q does not say what is expected", in, err)
		}
	}
}

func TestPaths(t *testing.T) {
	for _, prefix := range []string{"", "/prefix"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			// null decodes into every answer type.
			s := newScript(t, okJSON(`null`))
			ctx := context.Background()
			// A base given with /api/v1.0 and a slash ends up the same.
			c, err := New(s.srv.URL+prefix+"/api/v1.0/", "")
			if err != nil {
				t.Fatal(err)
			}
			id := uuid.MustParse("0b7f0a4e-2c4b-4d7e-9a44-3a1f0f6d2b11")
			p := prefix + "/api/v1.0"
			for _, call := range []struct {
				do     func() error
				method string
				path   string
			}{
				{func() error { _, err := c.CreateTask(ctx, "verify_site", "/d", nil); return err }, "POST", p + "/tasks"},
				{func() error { _, _, err := c.ListTasks(ctx, ListOptions{}); return err }, "GET", p + "/tasks"},
				{func() error { _, err := c.GetTask(ctx, id, TaskOptions{}); return err }, "GET", p + "/tasks/" + id.String()},
				{func() error { _, err := c.GetTaskLayers(ctx, id, 2, TaskOptions{}); return err }, "GET", p + "/tasks/" + id.String()},
				{func() error { _, err := c.TaskSteps(ctx, id); return err }, "GET", p + "/tasks/" + id.String() + "/steps"},
				{func() error { _, err := c.TaskBuildData(ctx, id); return err }, "GET", p + "/tasks/" + id.String() + "/builddata"},
				{func() error { _, err := c.TerminateTask(ctx, id); return err }, "POST", p + "/tasks/" + id.String() + "/terminate"},
				{func() error { _, err := c.RetryTask(ctx, id); return err }, "POST", p + "/tasks/" + id.String() + "/retry"},
				{func() error { _, err := c.Nodes(ctx); return err }, "GET", p + "/nodes"},
				{func() error { _, err := c.NodeBuildData(ctx, "cmp01", true); return err }, "GET", p + "/nodes/cmp01/builddata"},
				{func() error { _, err := c.NodeFilter(ctx, "/d", nil); return err }, "POST", p + "/nodefilter"},
				{func() error { _, err := c.ValidateDesign(ctx, "/d"); return err }, "POST", p + "/validatedesign"},
				{func() error { return c.Health(ctx) }, "GET", p + "/health"},
				{func() error { _, err := c.HealthExtended(ctx); return err }, "GET", p + "/health/extended"},
				{func() error { _, err := c.Versions(ctx); return err }, "GET", prefix + "/versions"},
			} {
				before := s.count()
				if err := call.do(); err != nil {
					t.Errorf("%s %s: %v", call.method, call.path, err)
					continue
				}
				hs := s.hits()[before:]
				if len(hs) != 1 || hs[0].method != call.method || hs[0].path != call.path {
					t.Errorf("want one %s %s, server saw %+v", call.method, call.path, hs)
				}
			}
		})
	}
}

func TestNodeNameEscaped(t *testing.T) {
	s := newScript(t, okJSON(`[]`))
	c := s.client(t, "")
	if _, err := c.NodeBuildData(context.Background(), "odd name/x", false); err != nil {
		t.Fatal(err)
	}
	hs := s.hits()
	if len(hs) != 1 || hs[0].path != "/api/v1.0/nodes/odd%20name%2Fx/builddata" {
		t.Errorf("path %q, want the node name escaped once", hs[0].path)
	}
}

func TestQueries(t *testing.T) {
	s := newScript(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/tasks") {
			io.WriteString(w, `[]`)
		} else if strings.Contains(r.URL.Path, "/nodes/") {
			io.WriteString(w, `[]`)
		} else {
			io.WriteString(w, `{}`)
		}
	})
	c := s.client(t, "")
	ctx := context.Background()
	id := uuid.New()
	for _, call := range []struct {
		do    func() error
		query string // url.Values.Encode order: sorted keys
	}{
		{func() error { _, _, err := c.ListTasks(ctx, ListOptions{}); return err }, ""},
		{func() error {
			_, _, err := c.ListTasks(ctx, ListOptions{Statuses: []string{"queued", "running"}, Action: "deploy_nodes",
				TopLevel: true, Limit: 3, Marker: id.String(), Messages: true})
			return err
		}, "action=deploy_nodes&limit=3&marker=" + id.String() + "&messages=true&status=queued%2Crunning&toplevel=true"},
		{func() error { _, err := c.GetTask(ctx, id, TaskOptions{}); return err }, ""},
		{func() error {
			_, err := c.GetTask(ctx, id, TaskOptions{BuildData: true, SubtaskErrors: true})
			return err
		}, "builddata=true&subtaskerrors=true"},
		{func() error { _, err := c.GetTaskLayers(ctx, id, -1, TaskOptions{SubtaskErrors: true}); return err }, "layers=-1&subtaskerrors=true"},
		{func() error { _, err := c.NodeBuildData(ctx, "cmp01", true); return err }, "latest=true"},
		{func() error { _, err := c.NodeBuildData(ctx, "cmp01", false); return err }, "latest=false"},
	} {
		before := s.count()
		if err := call.do(); err != nil {
			t.Errorf("%v", err)
			continue
		}
		if hs := s.hits()[before:]; len(hs) != 1 || hs[0].query != call.query {
			t.Errorf("query %q, want %q", hs[0].query, call.query)
		}
	}
}

func TestListTasksNextMarker(t *testing.T) {
	s := newScript(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Drydock-Next-Marker", "abc")
		io.WriteString(w, `[{"task_id":"t1","action":"noop"}]`)
	})
	tasks, next, err := s.client(t, "").ListTasks(context.Background(), ListOptions{Limit: 1})
	if err != nil || next != "abc" || len(tasks) != 1 || tasks[0].TaskID != "t1" {
		t.Errorf("ListTasks: %v %q %+v", err, next, tasks)
	}
}

func TestHeaders(t *testing.T) {
	s := newScript(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost && !strings.HasSuffix(r.URL.Path, "/nodefilter") {
			io.WriteString(w, `{}`)
		} else {
			io.WriteString(w, `[]`)
		}
	})
	ctx := context.Background()

	anon := s.client(t, "")
	if _, err := anon.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	h := s.hits()[0].header
	if _, ok := h["X-Auth-Token"]; ok {
		t.Errorf("X-Auth-Token sent without a token: %q", h.Get("X-Auth-Token"))
	}
	for _, k := range []string{"X-End-User", "X-Context-Marker", "Content-Type", "Authorization"} {
		if _, ok := h[k]; ok {
			t.Errorf("%s sent though not set: %q", k, h.Get(k))
		}
	}
	if h.Get("Accept") != "application/json" {
		t.Errorf("Accept %q", h.Get("Accept"))
	}

	c := s.client(t, adminToken)
	c.EndUser, c.ContextMarker = "jane", "ctx-1234"
	before := s.count()
	if _, err := c.Nodes(ctx); err != nil {
		t.Fatal(err)
	}
	tk, err := c.CreateTask(ctx, "deploy_nodes", "/site", twoNodes)
	if err != nil {
		t.Fatal(err)
	}
	_ = tk
	if _, err := c.NodeFilter(ctx, "/site", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TerminateTask(ctx, uuid.New()); err != nil {
		t.Fatal(err)
	}
	hs := s.hits()[before:]
	if len(hs) != 4 {
		t.Fatalf("%d requests", len(hs))
	}
	for _, hh := range hs {
		if hh.header.Get("X-Auth-Token") != adminToken || hh.header.Get("X-End-User") != "jane" || hh.header.Get("X-Context-Marker") != "ctx-1234" {
			t.Errorf("%s %s: headers %v", hh.method, hh.path, hh.header)
		}
	}
	if ct := hs[0].header.Get("Content-Type"); ct != "" || len(hs[0].body) != 0 {
		t.Errorf("GET with Content-Type %q body %q", ct, hs[0].body)
	}
	// POSTs with bodies: JSON.
	for _, hh := range hs[1:3] {
		if ct := hh.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("POST %s: Content-Type %q", hh.path, ct)
		}
	}
	var ct wire.CreateTask
	if err := json.Unmarshal(hs[1].body, &ct); err != nil || ct.Action != "deploy_nodes" || ct.DesignRef != "/site" || !sameJSON(t, ct.NodeFilter, twoNodes) {
		t.Errorf("CreateTask body %s", hs[1].body)
	}
	var raw map[string]any
	if err := json.Unmarshal(hs[2].body, &raw); err != nil || raw["design_ref"] != "/site" {
		t.Errorf("NodeFilter body %s", hs[2].body)
	} else if _, ok := raw["node_filter"]; ok {
		t.Errorf("NodeFilter body sends a nil filter: %s", hs[2].body)
	}
	// Terminate has no body (the server refuses one).
	if hs[3].length != 0 || len(hs[3].body) != 0 || hs[3].header.Get("Content-Type") != "" {
		t.Errorf("terminate: length %d body %q Content-Type %q", hs[3].length, hs[3].body, hs[3].header.Get("Content-Type"))
	}
}

func TestValidateDesignBody(t *testing.T) {
	s := newScript(t, okJSON(`{"kind":"Status","status":"Success","details":{"errorCount":0,"messageList":[]}}`))
	st, err := s.client(t, "").ValidateDesign(context.Background(), "https://example.com/site.yaml")
	if err != nil || st.Status != "Success" {
		t.Fatalf("%v %+v", err, st)
	}
	var body wire.ValidateDesign
	if err := json.Unmarshal(s.hits()[0].body, &body); err != nil || body.Href != "https://example.com/site.yaml" || body.Rel != "design" {
		t.Errorf("body %s", s.hits()[0].body)
	}
}

// --- error bodies --------------------------------------------------------------------------

func TestNonJSONErrorBody(t *testing.T) {
	s := newScript(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream connect error\n")
	})
	c := s.client(t, "")
	c.Attempts = 2
	_, err := c.Nodes(context.Background())
	ae := asError(t, err)
	if ae.Code != http.StatusBadGateway || ae.Status != nil || ae.Body != "upstream connect error" {
		t.Errorf("error %+v", ae)
	}
	if got := err.Error(); got != "HTTP 502: upstream connect error" {
		t.Errorf("Error() = %q", got)
	}
	if s.count() != 2 {
		t.Errorf("%d attempts, want 2 (502 is retried)", s.count())
	}

	// A long body is truncated; JSON that is not a Status is kept raw.
	for _, c := range []struct {
		body  string
		check func(*Error) bool
	}{
		{strings.Repeat("x", 5000), func(e *Error) bool { return e.Status == nil && len(e.Body) == 512 }},
		{`{"error":"nope"}`, func(e *Error) bool { return e.Status == nil && e.Body == `{"error":"nope"}` }},
		{"", func(e *Error) bool {
			return e.Status == nil && e.Body == "" && e.Error() == "HTTP 418 I'm a teapot"
		}},
	} {
		s := newScript(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, c.body)
		})
		_, err := s.client(t, "").Nodes(context.Background())
		if ae := asError(t, err); ae.Code != http.StatusTeapot || !c.check(ae) {
			t.Errorf("body %.20q: error %+v (%q)", c.body, ae, err)
		}
	}
	// A Status without a message still reports the code.
	e := &Error{Code: 409, Status: &wire.Status{Kind: "Status"}}
	if e.Error() != "HTTP 409 Conflict" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestInvalidJSONAnswer(t *testing.T) {
	s := newScript(t, okJSON(`<html>login page</html>`))
	c := s.client(t, "")
	_, err := c.Nodes(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Fatalf("error %v", err)
	}
	if HTTPCode(err) != 0 {
		t.Errorf("HTTPCode %d for a decoding error", HTTPCode(err))
	}
	if !strings.Contains(err.Error(), s.srv.URL+"/api/v1.0/nodes") {
		t.Errorf("error %q does not name the URL", err)
	}
	if n := s.count(); n != 1 {
		t.Errorf("%d attempts, want 1 (a bad answer is not retried)", n)
	}
	// The wrong JSON type is also an error.
	s2 := newScript(t, okJSON(`{"not":"a list"}`))
	if _, err := s2.client(t, "").Nodes(context.Background()); err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Errorf("object for a list: %v", err)
	}
	// An empty 2xx body is fine where nothing is expected.
	s3 := newScript(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if err := s3.client(t, "").Health(context.Background()); err != nil {
		t.Errorf("Health on 204: %v", err)
	}
}
