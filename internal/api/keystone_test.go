package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/auth/keystonetest"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
)

// ksClient sends requests to the API servers of the Keystone test and keeps every response
// body, for the check that no token leaks.
type ksClient struct {
	mu     sync.Mutex
	bodies [][]byte
}

// ksResp is a response with its body decoded (a JSON object or array).
type ksResp struct {
	code   int
	header http.Header
	raw    []byte
	body   any
}

// do sends a request. header is "Authorization" (Bearer tok), "X-Auth-Token" or "" (no token).
func (c *ksClient) do(t *testing.T, base, method, path, header, tok string, body any) *ksResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch header {
	case "Authorization":
		req.Header.Set("Authorization", "Bearer "+tok)
	case "X-Auth-Token":
		req.Header.Set("X-Auth-Token", tok)
	case "":
	default:
		t.Fatalf("unknown header %q", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, raw)
	c.mu.Unlock()
	r := &ksResp{code: resp.StatusCode, header: resp.Header, raw: raw}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s: %d, the body is not JSON: %v\n%s", method, path, resp.StatusCode, err, raw)
	}
	return r
}

// ksWantStatus checks that r is a Failure Status with code and reason whose message contains
// every string of want, and returns the Status document.
func ksWantStatus(t *testing.T, what string, r *ksResp, code int, reason string, want ...string) map[string]any {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: %d %s, want %d", what, r.code, r.raw, code)
	}
	st, ok := r.body.(map[string]any)
	if !ok {
		t.Fatalf("%s: the body is not a JSON object: %s", what, r.raw)
	}
	if st["kind"] != "Status" || st["status"] != "Failure" || st["reason"] != reason || st["code"] != float64(code) {
		t.Errorf("%s: Status = %s, want kind Status, status Failure, reason %s, code %d", what, r.raw, reason, code)
	}
	if retry := st["retry"] == true; retry != (code == http.StatusServiceUnavailable) {
		t.Errorf("%s: retry = %v in a %d Status", what, st["retry"], code)
	}
	msg, _ := st["message"].(string)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: message %q does not name %q", what, msg, w)
		}
	}
	return st
}

// ksExampleSite is the absolute path of the example design (the tests run in internal/api).
func ksExampleSite(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "examples", "site"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("example site: %v", err)
	}
	return p
}

// ksKeystoneConfig is the authenticator's configuration with the fixture's admin as Drydock's
// service user, validating every request with Keystone (no cache), so that a revocation is
// seen at once.
func ksKeystoneConfig(f *keystonetest.Fixture) auth.KeystoneConfig {
	return auth.KeystoneConfig{AuthURL: f.URL, Username: "admin", Password: f.AdminPassword, ProjectName: "admin",
		CacheFor: -1, Timeout: 10 * time.Second}
}

// ksServe serves an API server with authn and the default policy plus overrides over HTTP.
func ksServe(t *testing.T, srv *Server, authn auth.Authenticator, overrides map[string]string) *httptest.Server {
	t.Helper()
	pol, err := policy.New(overrides)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	s := *srv
	s.Auth, s.Policy = authn, pol
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs
}

// TestKsKeystoneAPI is an end-to-end test of the REST API with Keystone authentication over
// real HTTP: the users' Keystone roles and the policy decide, revocation is seen at once, and
// an unreachable Keystone is a 503 the client may retry.
func TestKsKeystoneAPI(t *testing.T) {
	f := keystonetest.New(t)
	site := ksExampleSite(t)

	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "drydock.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &syncBuffer{}
	lg := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	orch := orchestrator.New(st, driver.Set{}, orchestrator.Config{}, orchestrator.WithLogger(lg)) // not running
	base := &Server{Store: st, Orch: orch, Log: lg}

	ks, err := auth.NewKeystone(t.Context(), ksKeystoneConfig(f))
	if err != nil {
		t.Fatalf("NewKeystone: %v", err)
	}
	// Both servers share the store: what the deployer creates on one, the operator may read on
	// the other.
	def := ksServe(t, base, ks, nil)
	readOverride := map[string]string{policy.RuleReadTask: "role:admin or role:member"}
	over := ksServe(t, base, ks, readOverride)

	c := &ksClient{}
	tasks := Prefix + "/tasks"
	deployTok := f.Token(t, f.Deployer, f.ProjectID)
	operTok := f.Token(t, f.Operator, f.ProjectID)
	secrets := []string{deployTok, operTok, f.AdminPassword, f.Deployer.Password, f.Operator.Password}
	createBody := map[string]any{"action": "deploy_nodes", "design_ref": site}

	var taskID string
	t.Run("DeployerCreatesTask", func(t *testing.T) {
		r := c.do(t, def.URL, http.MethodPost, tasks, "Authorization", deployTok, createBody)
		if r.code != http.StatusCreated {
			t.Fatalf("POST %s as the deployer: %d %s, want 201", tasks, r.code, r.raw)
		}
		obj, _ := r.body.(map[string]any)
		if obj["created_by"] != f.Deployer.Name {
			t.Errorf("created_by = %v, want the deployer's Keystone user name %s", obj["created_by"], f.Deployer.Name)
		}
		if obj["action"] != "deploy_nodes" || obj["design_ref"] != site {
			t.Errorf("task = %s", r.raw)
		}
		taskID, _ = obj["task_id"].(string)
		id, err := uuid.Parse(taskID)
		if err != nil {
			t.Fatalf("task_id %q: %v", taskID, err)
		}
		if loc := r.header.Get("Location"); loc != tasks+"/"+taskID {
			t.Errorf("Location = %q", loc)
		}
		stored, err := st.GetTask(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if stored.CreatedBy != f.Deployer.Name {
			t.Errorf("stored created_by = %q, want %q", stored.CreatedBy, f.Deployer.Name)
		}
	})

	t.Run("OperatorReads", func(t *testing.T) {
		// Default policy: read_task is role:admin, and the operator is only a member.
		r := c.do(t, def.URL, http.MethodGet, tasks, "X-Auth-Token", operTok, nil)
		ksWantStatus(t, "GET /tasks as the operator, default policy", r, http.StatusForbidden, "Forbidden",
			policy.RuleReadTask, f.Operator.Name)
		// The override lets members read tasks.
		r = c.do(t, over.URL, http.MethodGet, tasks, "X-Auth-Token", operTok, nil)
		if r.code != http.StatusOK {
			t.Fatalf("GET /tasks as the operator with %v: %d %s, want 200", readOverride, r.code, r.raw)
		}
		list, ok := r.body.([]any)
		if !ok || len(list) != 1 {
			t.Fatalf("GET /tasks: %s, want the deployer's task", r.raw)
		}
		if tk, _ := list[0].(map[string]any); tk["task_id"] != taskID || tk["created_by"] != f.Deployer.Name {
			t.Errorf("GET /tasks: %v, want task %s created by %s", list[0], taskID, f.Deployer.Name)
		}
		if taskID != "" {
			r = c.do(t, over.URL, http.MethodGet, tasks+"/"+taskID, "Authorization", operTok, nil)
			if r.code != http.StatusOK {
				t.Errorf("GET /tasks/%s as the operator with the override: %d %s", taskID, r.code, r.raw)
			}
		}
	})

	t.Run("OperatorCannotCreate", func(t *testing.T) {
		for _, hs := range []*httptest.Server{def, over} {
			r := c.do(t, hs.URL, http.MethodPost, tasks, "Authorization", operTok, createBody)
			ksWantStatus(t, "POST /tasks as the operator", r, http.StatusForbidden, "Forbidden",
				policy.RuleCreateTask, f.Operator.Name)
		}
		n, err := st.ListTasks(t.Context(), store.ListParams{WithoutMessages: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(n) != 1 {
			t.Errorf("%d tasks in the store, want only the deployer's", len(n))
		}
	})

	t.Run("Headers", func(t *testing.T) {
		for _, h := range []string{"Authorization", "X-Auth-Token"} {
			r := c.do(t, def.URL, http.MethodGet, tasks, h, deployTok, nil)
			if r.code != http.StatusOK {
				t.Errorf("GET /tasks as the deployer with %s: %d %s, want 200", h, r.code, r.raw)
			}
			r = c.do(t, over.URL, http.MethodGet, tasks, h, operTok, nil)
			if r.code != http.StatusOK {
				t.Errorf("GET /tasks as the operator with %s (override): %d %s, want 200", h, r.code, r.raw)
			}
		}
	})

	garbage := "gAAAAABgarbage-" + strings.Repeat("Zq9", 60)
	secrets = append(secrets, garbage)
	t.Run("Unauthenticated", func(t *testing.T) {
		for _, h := range []string{"Authorization", "X-Auth-Token"} {
			r := c.do(t, def.URL, http.MethodGet, tasks, h, garbage, nil)
			ksWantStatus(t, "garbage token in "+h, r, http.StatusUnauthorized, "Unauthenticated", "invalid")
			r = c.do(t, def.URL, http.MethodPost, tasks, h, garbage, createBody)
			ksWantStatus(t, "POST with a garbage token in "+h, r, http.StatusUnauthorized, "Unauthenticated")
		}
		r := c.do(t, def.URL, http.MethodGet, tasks, "", "", nil)
		ksWantStatus(t, "no token", r, http.StatusUnauthorized, "Unauthenticated", "authentication required")
		r = c.do(t, over.URL, http.MethodPost, tasks, "", "", createBody)
		ksWantStatus(t, "POST without a token", r, http.StatusUnauthorized, "Unauthenticated")
	})

	t.Run("Revoked", func(t *testing.T) {
		tok := f.Token(t, f.Deployer, f.ProjectID)
		secrets = append(secrets, tok)
		if r := c.do(t, def.URL, http.MethodGet, tasks, "X-Auth-Token", tok, nil); r.code != http.StatusOK {
			t.Fatalf("before the revocation: %d %s", r.code, r.raw)
		}
		f.Revoke(t, tok)
		for _, h := range []string{"X-Auth-Token", "Authorization"} {
			r := c.do(t, def.URL, http.MethodGet, tasks, h, tok, nil)
			ksWantStatus(t, "revoked deployer token in "+h, r, http.StatusUnauthorized, "Unauthenticated")
			r = c.do(t, def.URL, http.MethodPost, tasks, h, tok, createBody)
			ksWantStatus(t, "POST with a revoked deployer token in "+h, r, http.StatusUnauthorized, "Unauthenticated")
		}
		// The other deployer token is still good.
		if r := c.do(t, def.URL, http.MethodGet, tasks, "X-Auth-Token", deployTok, nil); r.code != http.StatusOK {
			t.Errorf("the deployer's other token after the revocation: %d %s", r.code, r.raw)
		}
	})

	t.Run("KeystoneUnreachable", func(t *testing.T) {
		target, err := url.Parse(f.URL)
		if err != nil {
			t.Fatal(err)
		}
		target.Path = ""
		rp := httputil.NewSingleHostReverseProxy(target)
		rp.ErrorLog = log.New(io.Discard, "", 0)
		proxy := httptest.NewServer(rp)
		defer proxy.Close()
		cfg := ksKeystoneConfig(f)
		cfg.AuthURL = proxy.URL + "/v3"
		cfg.Timeout = 5 * time.Second
		pk, err := auth.NewKeystone(t.Context(), cfg)
		if err != nil {
			t.Fatalf("NewKeystone through the proxy: %v", err)
		}
		hs := ksServe(t, base, pk, nil)
		if r := c.do(t, hs.URL, http.MethodGet, tasks, "X-Auth-Token", deployTok, nil); r.code != http.StatusOK {
			t.Fatalf("through the proxy: %d %s, want 200", r.code, r.raw)
		}
		proxy.Close() // Keystone is now unreachable
		for _, h := range []string{"X-Auth-Token", "Authorization"} {
			r := c.do(t, hs.URL, http.MethodGet, tasks, h, deployTok, nil)
			st := ksWantStatus(t, "Keystone unreachable, "+h, r, http.StatusServiceUnavailable, "ServiceUnavailable")
			if st["retry"] != true {
				t.Errorf("Keystone unreachable: retry = %v, want true: %s", st["retry"], r.raw)
			}
		}
		r := c.do(t, hs.URL, http.MethodPost, tasks, "Authorization", deployTok, createBody)
		st := ksWantStatus(t, "POST, Keystone unreachable", r, http.StatusServiceUnavailable, "ServiceUnavailable")
		if st["retry"] != true {
			t.Errorf("POST, Keystone unreachable: retry = %v, want true", st["retry"])
		}
		// Without a token, the request never needs Keystone: still 401.
		r = c.do(t, hs.URL, http.MethodGet, tasks, "", "", nil)
		ksWantStatus(t, "no token, Keystone unreachable", r, http.StatusUnauthorized, "Unauthenticated")
		hs.Close() // wait for its log lines
	})

	// Every request has been answered and logged once the servers are closed.
	def.Close()
	over.Close()
	out := logs.String()
	for _, want := range []string{"user=" + f.Deployer.Name, "user=" + f.Operator.Name, "outcome=Forbidden",
		"rule=" + policy.RuleReadTask, "authentication unavailable"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies) < 20 {
		t.Errorf("only %d responses were checked", len(c.bodies))
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(out, s) {
			t.Errorf("the log reveals a secret (%.8s...)", s)
		}
		for _, b := range c.bodies {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("a response body reveals a secret (%.8s...): %s", s, b)
			}
		}
	}
}
