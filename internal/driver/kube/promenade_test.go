package kube

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/drydock-go/drydock/internal/api/auth/keystonetest"
	"github.com/drydock-go/drydock/internal/driver"
)

// fakeKeystone serves POST /v3/auth/tokens for one user, issuing tok-1, tok-2, ... with a
// catalog that has a kubernetesprovisioner endpoint (internal: endpoint; public: a wrong one).
type fakeKeystone struct {
	srv      *httptest.Server
	endpoint string
	mu       sync.Mutex
	issued   int
}

func newFakeKeystone(t *testing.T, endpoint string) *fakeKeystone {
	k := &fakeKeystone{endpoint: endpoint}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v3/auth/tokens" {
			http.NotFound(w, r)
			return
		}
		var body struct {
			Auth struct {
				Identity struct {
					Password struct {
						User struct {
							Name     string `json:"name"`
							Password string `json:"password"`
							Domain   struct {
								Name string `json:"name"`
							} `json:"domain"`
						} `json:"user"`
					} `json:"password"`
				} `json:"identity"`
			} `json:"auth"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		u := body.Auth.Identity.Password.User
		if u.Name != "drydock" || u.Password != "pw" || u.Domain.Name != "Default" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)
			return
		}
		k.mu.Lock()
		k.issued++
		tok := fmt.Sprintf("tok-%d", k.issued)
		k.mu.Unlock()
		w.Header().Set("X-Subject-Token", tok)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token": {"methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
 "user": {"id": "u1", "name": "drydock", "domain": {"id": "default", "name": "Default"}},
 "catalog": [{"type": "kubernetesprovisioner", "name": "promenade", "id": "s1", "endpoints": [
   {"id": "e1", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://public.invalid/api/v1.0"},
   {"id": "e2", "interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": %q}]}]}}`, k.endpoint)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *fakeKeystone) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.issued
}

// promReq is a request Promenade received.
type promReq struct {
	method, path, token, contentType string
	body                             []byte
}

// fakePromenade records requests and answers with handle (200 by default).
type fakePromenade struct {
	mu     sync.Mutex
	reqs   []promReq
	handle func(w http.ResponseWriter, r promReq, n int) // n: 1 for the first request
}

func (p *fakePromenade) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	pr := promReq{method: r.Method, path: r.URL.EscapedPath(), token: r.Header.Get("X-Auth-Token"), contentType: r.Header.Get("Content-Type"), body: body}
	p.mu.Lock()
	p.reqs = append(p.reqs, pr)
	n := len(p.reqs)
	h := p.handle
	p.mu.Unlock()
	if h == nil {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status": "Success"}`)
		return
	}
	h(w, pr, n)
}

func (p *fakePromenade) requests() []promReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]promReq(nil), p.reqs...)
}

var promTestConfig = PromenadeConfig{Username: "drydock", Password: "pw", Attempts: 3, Backoff: 20 * time.Millisecond, RequestTimeout: 5 * time.Second}

// promenadeSetup starts a Promenade at /prom/api/v1.0 (a path the original would have dropped)
// and a Keystone whose catalog points at it.
func promenadeSetup(t *testing.T, handle func(w http.ResponseWriter, r promReq, n int)) (*Promenade, *fakePromenade, *fakeKeystone, string) {
	t.Helper()
	fp := &fakePromenade{handle: handle}
	ps := httptest.NewServer(fp)
	t.Cleanup(ps.Close)
	ks := newFakeKeystone(t, ps.URL+"/prom/api/v1.0")
	cfg := promTestConfig
	cfg.AuthURL = ks.srv.URL + "/v3"
	p, err := NewPromenade(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, fp, ks, ps.URL
}

func TestPromenadeRelabel(t *testing.T) {
	p, fp, ks, _ := promenadeSetup(t, nil)
	ctx := t.Context()
	owner := map[string][]string{
		"n1": {"role", "compute", "example.com/rack", "r1"},
		"n2": {"role", "storage"},
		"n3": nil,
		"n4": {"a", "1"},
		"n5": {"b", ""},
	}
	var wg sync.WaitGroup
	results := map[string]driver.Result{}
	var mu sync.Mutex
	for name, kv := range owner {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := p.Relabel(ctx, call(node(name, kv...)))
			mu.Lock()
			results[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	for name, r := range results {
		wantOutcome(t, r, driver.Done, "node "+name+": ", "labels sent to Promenade at http://127.0.0.1:")
	}
	if n := ks.count(); n != 1 {
		t.Errorf("%d Keystone authentications for %d nodes, want 1", n, len(owner))
	}
	reqs := fp.requests()
	if len(reqs) != len(owner) {
		t.Fatalf("%d requests, want %d", len(reqs), len(owner))
	}
	for _, r := range reqs {
		name, ok := strings.CutPrefix(r.path, "/prom/api/v1.0/node-labels/")
		if !ok || owner[name] == nil && name != "n3" {
			t.Errorf("request path %q", r.path)
			continue
		}
		if r.method != http.MethodPut || r.token != "tok-1" || r.contentType != "application/json" {
			t.Errorf("%s: %s, token %q, content type %q", name, r.method, r.token, r.contentType)
		}
		var got map[string]string
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Errorf("%s: body %q: %v", name, r.body, err)
		}
		if want := node(name, owner[name]...).OwnerData.Map(); !maps.Equal(got, want) || got == nil {
			t.Errorf("%s: body %s, want %v", name, r.body, want)
		}
	}
	for _, r := range reqs {
		if r.path == "/prom/api/v1.0/node-labels/n3" && string(r.body) != "{}" {
			t.Errorf("no owner_data: body %q, want {}", r.body)
		}
		if r.path == "/prom/api/v1.0/node-labels/n1" && string(r.body) != `{"example.com/rack":"r1","role":"compute"}` {
			t.Errorf("n1: body %q", r.body)
		}
	}
}

func TestPromenadeUnauthorizedReauthenticatesOnce(t *testing.T) {
	// Promenade takes only the second token.
	p, fp, ks, _ := promenadeSetup(t, func(w http.ResponseWriter, r promReq, n int) {
		if r.token != "tok-2" {
			http.Error(w, `{"message": "token expired"}`, http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), driver.Done)
	if ks.count() != 2 || len(fp.requests()) != 2 {
		t.Errorf("%d authentications, %d requests; want 2 and 2", ks.count(), len(fp.requests()))
	}
	// The new token is kept for later nodes.
	wantOutcome(t, p.Relabel(t.Context(), call(node("n2", "a", "b"))), driver.Done)
	if ks.count() != 2 {
		t.Errorf("%d authentications after a second node", ks.count())
	}

	// Always 401: one re-authentication, then the node fails.
	p, fp, ks, _ = promenadeSetup(t, func(w http.ResponseWriter, r promReq, n int) {
		http.Error(w, "no", http.StatusUnauthorized)
	})
	wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), driver.Failed, "node n1: Promenade at http://", "rejected a fresh Keystone token (401 twice)")
	if ks.count() != 2 || len(fp.requests()) != 2 {
		t.Errorf("%d authentications, %d requests; want 2 and 2", ks.count(), len(fp.requests()))
	}
}

func TestPromenadeErrors(t *testing.T) {
	status := func(codes ...int) func(w http.ResponseWriter, r promReq, n int) {
		return func(w http.ResponseWriter, r promReq, n int) {
			c := codes[min(n, len(codes))-1]
			w.WriteHeader(c)
			fmt.Fprintf(w, `{"message": "answer %d"}`, c)
		}
	}
	for _, tc := range []struct {
		name     string
		codes    []int
		outcome  driver.Outcome
		requests int
		contains string
	}{
		{"forbidden", []int{403}, driver.Failed, 1, `forbidden: Promenade at http://`},
		{"not found", []int{404}, driver.Failed, 1, `refused: HTTP 404: {"message": "answer 404"}`},
		{"bad request", []int{400}, driver.Failed, 1, "refused: HTTP 400"},
		{"transient then ok", []int{500, 503, 200}, driver.Done, 3, "labels sent"},
		{"always failing", []int{502}, driver.Unreachable, 3, "is failing (3 attempts): HTTP 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, fp, _, _ := promenadeSetup(t, status(tc.codes...))
			wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), tc.outcome, tc.contains)
			if n := len(fp.requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}

	t.Run("promenade down", func(t *testing.T) {
		ps := httptest.NewServer(http.NotFoundHandler())
		url := ps.URL
		ps.Close()
		ks := newFakeKeystone(t, url+"/api/v1.0")
		cfg := promTestConfig
		cfg.AuthURL = ks.srv.URL + "/v3"
		p, err := NewPromenade(cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), driver.Unreachable, "node n1: Promenade at "+url+"/api/v1.0/node-labels/n1 is unreachable (3 attempts)")
		wantOutcome(t, p.ValidateServices(t.Context(), nil), driver.Unreachable)
	})

	t.Run("keystone refuses the password", func(t *testing.T) {
		ks := newFakeKeystone(t, "http://127.0.0.1:1/api/v1.0")
		cfg := promTestConfig
		cfg.AuthURL, cfg.Password = ks.srv.URL+"/v3", "wrong-password"
		p, err := NewPromenade(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := p.Relabel(t.Context(), call(node("n1", "a", "b")))
		wantOutcome(t, r, driver.Failed, "node n1: keystone at "+cfg.AuthURL+": authenticating as drydock", "401")
		if strings.Contains(r.Message, "wrong-password") {
			t.Errorf("the password is in the message: %s", r.Message)
		}
	})

	t.Run("keystone down", func(t *testing.T) {
		ks := httptest.NewServer(http.NotFoundHandler())
		ks.Close()
		cfg := promTestConfig
		cfg.AuthURL = ks.URL + "/v3"
		p, err := NewPromenade(cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), driver.Unreachable, "keystone at "+cfg.AuthURL)
	})

	t.Run("no endpoint in the catalog", func(t *testing.T) {
		ks := newFakeKeystone(t, "http://127.0.0.1:1/api/v1.0")
		cfg := promTestConfig
		cfg.AuthURL, cfg.Region = ks.srv.URL+"/v3", "elsewhere"
		p, err := NewPromenade(cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), driver.Failed,
			"keystone catalog has no internal endpoint of service type kubernetesprovisioner in region elsewhere")
	})

	t.Run("invalid labels are not sent", func(t *testing.T) {
		p, fp, ks, _ := promenadeSetup(t, nil)
		wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "bad key", "v"))), driver.Failed, `node n1: label key "bad key"`, "nothing was sent to Promenade")
		if len(fp.requests()) != 0 || ks.count() != 0 {
			t.Errorf("%d requests, %d authentications", len(fp.requests()), ks.count())
		}
	})
}

// A configured https URL is used as it is (scheme and path), without a catalog lookup, with the
// CA from ca_file.
func TestPromenadeConfiguredHTTPSURL(t *testing.T) {
	fp := &fakePromenade{}
	ps := httptest.NewTLSServer(fp)
	t.Cleanup(ps.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ps.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ks := newFakeKeystone(t, "http://catalog.invalid/api/v1.0")
	cfg := promTestConfig
	cfg.AuthURL, cfg.URL, cfg.CAFile = ks.srv.URL+"/v3", ps.URL+"/airship/promenade/api/v1.0/", caFile
	p, err := NewPromenade(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), driver.Done, "at "+ps.URL+"/airship/promenade/api/v1.0/node-labels/n1")
	if r := fp.requests(); len(r) != 1 || r[0].path != "/airship/promenade/api/v1.0/node-labels/n1" {
		t.Errorf("requests: %+v", r)
	}
	// Without the CA the certificate is not trusted.
	cfg.CAFile = ""
	p, err = NewPromenade(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, p.Relabel(t.Context(), call(node("n1", "a", "b"))), driver.Failed, "TLS (set ca_file", "certificate")
	if len(fp.requests()) != 1 {
		t.Errorf("an untrusted certificate was retried: %d requests reached the server", len(fp.requests()))
	}
}

func TestPromenadeValidateServices(t *testing.T) {
	p, fp, _, url := promenadeSetup(t, func(w http.ResponseWriter, r promReq, n int) {
		if r.method == http.MethodGet && r.path == "/prom/api/v1.0/health" && r.token == "tok-1" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.NotFound(w, nil)
	})
	wantOutcome(t, p.ValidateServices(t.Context(), nil), driver.Done, "Promenade at "+url+"/prom/api/v1.0 is healthy")
	if err := p.CheckHealth(t.Context()); err != nil {
		t.Error(err)
	}
	if len(fp.requests()) != 2 {
		t.Errorf("%d requests", len(fp.requests()))
	}
}

func TestPromenadeBase(t *testing.T) {
	for in, want := range map[string]string{
		"http://promenade-api.ucp.svc.cluster.local/api/v1.0": "http://promenade-api.ucp.svc.cluster.local/api/v1.0",
		"https://promenade:8443/api/v1.0/":                    "https://promenade:8443/api/v1.0",
		"http://promenade:80":                                 "http://promenade:80/api/v1.0",
		"http://promenade:80/":                                "http://promenade:80/api/v1.0",
		"https://gw.example.com/promenade":                    "https://gw.example.com/promenade/api/v1.0",
		"https://gw.example.com/promenade/v1.0?x=1":           "https://gw.example.com/promenade/v1.0",
	} {
		got, err := PromenadeBase(in)
		if err != nil || got != want {
			t.Errorf("PromenadeBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"promenade:80", "ftp://x/api/v1.0", "http:///api/v1.0", ""} {
		if _, err := PromenadeBase(bad); err == nil {
			t.Errorf("PromenadeBase(%q) accepted", bad)
		}
	}
	if _, err := NewPromenade(PromenadeConfig{AuthURL: "http://k/v3", Username: "u"}); err == nil {
		t.Error("a configuration without a password was accepted")
	}
	if _, err := NewPromenade(PromenadeConfig{AuthURL: "http://k/v3", Username: "u", Password: "p", Interface: "private"}); err == nil {
		t.Error("interface private was accepted")
	}
}

// Against a real Keystone: the token Promenade receives is a valid Keystone token of the
// configured user, the endpoint comes from the real catalog (a service and endpoint this test
// registers in a region of its own), and a rejected token is replaced by a fresh one.
func TestPromenadeWithKeystone(t *testing.T) {
	f := keystonetest.New(t)
	ctx := t.Context()

	var mu sync.Mutex
	var seen []string
	reject := ""
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tok := r.Header.Get("X-Auth-Token")
		mu.Lock()
		seen = append(seen, tok)
		rej := reject
		mu.Unlock()
		if r.Method != http.MethodPut || r.URL.Path != "/api/v1.0/node-labels/ks-n1" || string(body) != `{"role":"compute","zone":"z1"}` ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, fmt.Sprintf("unexpected %s %s %s", r.Method, r.URL.Path, body), http.StatusBadRequest)
			return
		}
		if tok == "" || tok == rej {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(ps.Close)

	// A region, service and endpoint of this test's own, removed at the end.
	region := "drydock-test-" + strings.ToLower(rand.Text()[:8])
	if _, err := regions.Create(ctx, f.Admin, regions.CreateOpts{ID: region}).Extract(); err != nil {
		t.Fatalf("creating region: %v", err)
	}
	t.Cleanup(func() { _ = regions.Delete(context.Background(), f.Admin, region).ExtractErr() })
	svc, err := services.Create(ctx, f.Admin, services.CreateOpts{Type: PromenadeServiceType, Name: "promenade-" + region}).Extract()
	if err != nil {
		t.Fatalf("creating service: %v", err)
	}
	t.Cleanup(func() { _ = services.Delete(context.Background(), f.Admin, svc.ID).ExtractErr() })
	ep, err := endpoints.Create(ctx, f.Admin, endpoints.CreateOpts{
		Availability: "internal", Region: region, URL: ps.URL + "/api/v1.0", ServiceID: svc.ID,
	}).Extract()
	if err != nil {
		t.Fatalf("creating endpoint: %v", err)
	}
	t.Cleanup(func() { _ = endpoints.Delete(context.Background(), f.Admin, ep.ID).ExtractErr() })

	p, err := NewPromenade(PromenadeConfig{AuthURL: f.URL, Username: f.Operator.Name, Password: f.Operator.Password,
		ProjectID: f.ProjectID, Region: region, Attempts: 2, Backoff: 50 * time.Millisecond, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n := node("ks-n1", "role", "compute", "zone", "z1")
	wantOutcome(t, p.Relabel(ctx, call(n)), driver.Done, "at "+ps.URL+"/api/v1.0/node-labels/ks-n1")
	mu.Lock()
	first := seen[0]
	mu.Unlock()
	res := tokens.Get(ctx, f.Admin, first)
	user, err := res.ExtractUser()
	if err != nil {
		t.Fatalf("the token Promenade received is not valid in Keystone: %v", err)
	}
	if user.Name != f.Operator.Name {
		t.Errorf("token of user %q, want %q", user.Name, f.Operator.Name)
	}
	if proj, err := res.ExtractProject(); err != nil || proj == nil || proj.ID != f.ProjectID {
		t.Errorf("token scoped to %+v (%v), want project %s", proj, err, f.ProjectID)
	}

	// Promenade rejects the current token (as after a revocation): one fresh token, accepted.
	mu.Lock()
	reject = first
	mu.Unlock()
	f.Revoke(t, first)
	wantOutcome(t, p.Relabel(ctx, call(n)), driver.Done)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[1] != first || seen[2] == first || seen[2] == "" {
		t.Fatalf("tokens seen: %d, want the old one then a new one", len(seen))
	}
	if _, err := tokens.Get(ctx, f.Admin, seen[2]).ExtractUser(); err != nil {
		t.Errorf("the fresh token is not valid: %v", err)
	}
}
