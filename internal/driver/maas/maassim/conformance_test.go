package maassim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// confCase is one request/response fact from maas_api.md, checked against a fresh fixture.
type confCase struct {
	sec    string // the maas_api.md (or drivers_spec.md) section the fact comes from
	name   string
	method string
	path   string   // relative to /MAAS/api/2.0/, with {placeholders}
	params []string // key, value pairs ({placeholders} expanded)
	enc    string   // body encoding for POST/PUT (default: Drydock's base64 multipart)
	auth   string   // "" valid; none, badkey, badtoken, badsig, oldts, badts
	pre    func(t *testing.T, f *fixture)
	status int
	ctype  string            // json, text, bson ("" → not checked)
	body   string            // text body: "=exact" or a substring
	fields map[string]string // JSON path → type (string, number, bool, array, object, null)
	values map[string]string // JSON path → fmt.Sprint of the value
	check  func(t *testing.T, f *fixture, r resp)
}

// dig follows a path like "links.[0].subnet.id" into decoded JSON.
func dig(v any, path string) (any, bool) {
	if path == "" || path == "." {
		return v, true
	}
	for _, p := range strings.Split(path, ".") {
		if strings.HasPrefix(p, "[") {
			i, _ := strconv.Atoi(strings.Trim(p, "[]"))
			l, ok := v.([]any)
			if !ok || i >= len(l) {
				return nil, false
			}
			v = l[i]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[p]; !ok {
			return nil, false
		}
	}
	return v, true
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func runCase(t *testing.T, tc confCase) {
	f := newFixture(t)
	if tc.pre != nil {
		tc.pre(t, f)
	}
	params := url.Values{}
	for i := 0; i+1 < len(tc.params); i += 2 {
		params.Add(tc.params[i], f.expand(tc.params[i+1]))
	}
	enc := tc.enc
	if enc == "" {
		enc = encDrydock
	}
	if len(params) == 0 && (tc.method == "POST" || tc.method == "PUT") {
		params = nil
	}
	r := f.c.call(tc.method, f.expand(tc.path), params, enc, tc.auth)
	if r.status != tc.status {
		t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
	}
	ct := r.hdr.Get("Content-Type")
	switch tc.ctype {
	case "json":
		if ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q, want JSON", ct)
		}
	case "text":
		if !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type %q, want text/plain", ct)
		}
	case "bson":
		if ct != "application/bson" {
			t.Errorf("Content-Type %q, want application/bson", ct)
		}
	}
	if tc.body != "" {
		want := f.expand(tc.body)
		if exact, ok := strings.CutPrefix(want, "="); ok {
			if string(r.body) != exact {
				t.Errorf("body %q, want %q", r.body, exact)
			}
		} else if !strings.Contains(string(r.body), want) {
			t.Errorf("body %q does not contain %q", r.body, want)
		}
	}
	if len(tc.fields)+len(tc.values) > 0 {
		v := r.json(t)
		for p, typ := range tc.fields {
			got, ok := dig(v, f.expand(p))
			if !ok {
				t.Errorf("field %s missing in %.300s", p, r.body)
			} else if jsonType(got) != typ {
				t.Errorf("field %s is %s (%v), want %s", p, jsonType(got), got, typ)
			}
		}
		for p, want := range tc.values {
			got, ok := dig(v, f.expand(p))
			if n, isNum := got.(float64); isNum {
				got = strconv.FormatFloat(n, 'f', -1, 64)
			}
			if !ok {
				t.Errorf("field %s missing in %.300s", p, r.body)
			} else if fmt.Sprint(got) != f.expand(want) {
				t.Errorf("field %s = %v, want %s", p, got, f.expand(want))
			}
		}
	}
	if tc.check != nil {
		tc.check(t, f, r)
	}
}

func TestConformance(t *testing.T) {
	cases := append(append(transportCases(), lifecycleCases()...), resourceCases()...)
	if len(cases) < 60 {
		t.Fatalf("only %d conformance cases", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		name := tc.sec + " " + tc.name
		if seen[name] {
			t.Fatalf("duplicate case %q", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) { runCase(t, tc) })
	}
	t.Logf("%d conformance cases", len(cases))
}

// transportCases: maas_api.md §1 (transport), §2 (authentication), §3 (errors).
func transportCases() []confCase {
	return []confCase{
		{sec: "§1", name: "unknown path is 404 text", method: "GET", path: "nosuchthing/", status: 404, ctype: "text",
			body: "=Unknown API endpoint: /MAAS/api/2.0/nosuchthing/."},
		{sec: "§1", name: "unknown op is 400 Unrecognised signature", method: "POST", path: "machines/{ready}/?op=frobnicate",
			status: 400, ctype: "text", body: "=Unrecognised signature: method=POST op=frobnicate"},
		{sec: "§1", name: "unexported CRUD method prints op=None", method: "DELETE", path: "machines/", status: 400,
			ctype: "text", body: "=Unrecognised signature: method=DELETE op=None"},
		{sec: "§1", name: "op as path suffix /op-<name>", method: "GET", path: "account/op-list_authorisation_tokens",
			status: 200, ctype: "json", fields: map[string]string{"[0].name": "string", "[0].token": "string"}},
		{sec: "§1", name: "op in the form body", method: "POST", path: "machines/{ready}/",
			params: []string{"op", "mark_broken", "comment", "disk died"}, status: 200,
			values: map[string]string{"status_name": "Broken", "error_description": "disk died"}},
		{sec: "§1", name: "urlencoded PUT body", method: "PUT", path: "machines/{new}/", enc: encForm,
			params: []string{"hostname", "renamed"}, status: 200, values: map[string]string{"hostname": "renamed"}},
		{sec: "§1", name: "base64 multipart PUT body (Drydock)", method: "PUT", path: "machines/{new}/", enc: encDrydock,
			params: []string{"hostname", "node01", "domain", "maas"}, status: 200,
			values: map[string]string{"hostname": "node01", "fqdn": "node01.maas"}},
		{sec: "§1", name: "plain multipart POST body", method: "POST", path: "tags/", enc: encMultipart,
			params: []string{"name", "gpu", "comment", "GPU nodes"}, status: 200,
			values: map[string]string{"name": "gpu", "comment": "GPU nodes", "resource_uri": "/MAAS/api/2.0/tags/gpu/"}},
		{sec: "§1", name: "collections are plain JSON arrays", method: "GET", path: "machines/", status: 200, ctype: "json",
			fields: map[string]string{".": "array", "[0].system_id": "string", "[0].resource_uri": "string"}},
		{sec: "§1", name: "repeated parameters are lists", method: "GET", path: "machines/",
			params: []string{"hostname", "m-ready", "hostname", "m-new"}, status: 200,
			check: func(t *testing.T, f *fixture, r resp) {
				if n := len(r.list(t)); n != 2 {
					t.Errorf("%d machines, want 2", n)
				}
			}},
		{sec: "§1", name: "DELETE answers 204 with an empty body", method: "DELETE", path: "tags/t1/", status: 204, body: "="},
		{sec: "§1", name: "handler responses carry X-MAAS-API-Hash", method: "GET", path: "machines/{ready}/", status: 200,
			check: func(t *testing.T, f *fixture, r resp) {
				if r.hdr.Get("X-MAAS-API-Hash") == "" {
					t.Error("no X-MAAS-API-Hash header")
				}
			}},
		{sec: "§2", name: "no credentials is 401 Forbidden", method: "GET", path: "machines/", auth: "none", status: 401,
			ctype: "text", body: "=Forbidden"},
		{sec: "§2", name: "unknown consumer key", method: "GET", path: "machines/", auth: "badkey", status: 401, ctype: "text",
			body: "=Authorization Error: Invalid API key.",
			check: func(t *testing.T, f *fixture, r resp) {
				if !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "OAuth realm=") {
					t.Errorf("WWW-Authenticate %q", r.hdr.Get("WWW-Authenticate"))
				}
			}},
		{sec: "§2", name: "unknown token", method: "GET", path: "machines/", auth: "badtoken", status: 401,
			body: "=Authorization Error: 'Invalid access token: nosuchtoken'"},
		{sec: "§2", name: "bad signature", method: "GET", path: "machines/", auth: "badsig", status: 401,
			body: "Authorization Error: 'Invalid signature"},
		{sec: "§2", name: "timestamp more than 300 s off", method: "GET", path: "machines/", auth: "oldts", status: 401,
			body: "Authorization Error: 'Expired timestamp"},
		{sec: "§2", name: "non-integer timestamp is 400", method: "GET", path: "machines/", auth: "badts", status: 400},
		{sec: "§2", name: "replayed nonce is refused", method: "GET", path: "version/", status: 200,
			check: func(t *testing.T, f *fixture, r resp) {
				req, _ := http.NewRequest("GET", f.http.URL+Prefix+"users/?op=whoami", nil)
				h := authHeader(f.c.key, "")
				req.Header.Set("Authorization", h)
				for i, want := range []int{200, 401} {
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if res.StatusCode != want {
						t.Errorf("attempt %d: status %d, want %d", i+1, res.StatusCode, want)
					}
				}
			}},
		{sec: "§2", name: "credentials in the query string", method: "GET", path: "users/", auth: "none", status: 401,
			check: func(t *testing.T, f *fixture, r resp) {
				p := strings.Split(f.c.key, ":")
				q := url.Values{"oauth_consumer_key": {p[0]}, "oauth_token": {p[1]}, "oauth_signature": {"&" + p[2]},
					"oauth_signature_method": {"PLAINTEXT"}, "oauth_nonce": {nonce()},
					"oauth_timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}}
				must(t, f.c.call("GET", "users/?"+q.Encode(), nil, "", "none"), 200)
			}},
		{sec: "§2", name: "version/ is anonymous", method: "GET", path: "version/", auth: "none", status: 200, ctype: "json",
			fields: map[string]string{"capabilities": "array", "version": "string", "subversion": "string"},
			values: map[string]string{"capabilities.[0]": "networks-management"}},
		{sec: "§2", name: "version/ ignores bad credentials", method: "GET", path: "version/", auth: "badsig", status: 200},
		{sec: "§2", name: "anonymous POST machines/ enlists a New machine", method: "POST", path: "machines/", auth: "none",
			params: []string{"architecture", "amd64/generic", "mac_addresses", "52:54:00:aa:bb:cc"}, status: 200,
			values: map[string]string{"status": "0", "status_name": "New", "interface_set.[0].mac_address": "52:54:00:aa:bb:cc"}},
		{sec: "§2", name: "credential probe list_authorisation_tokens", method: "GET", path: "account/?op=list_authorisation_tokens",
			status: 200, ctype: "json", check: func(t *testing.T, f *fixture, r resp) {
				if tok, _ := dig(r.json(t), "[0].token"); tok != f.c.key {
					t.Errorf("token %v, want the API key", tok)
				}
			}},
		{sec: "§3", name: "unknown system id is 404", method: "GET", path: "machines/zzzzzz/", status: 404, ctype: "text",
			body: "=No Machine matches the given query."},
		{sec: "§3", name: "unknown block device is 404", method: "GET", path: "nodes/{ready}/blockdevices/9999/", status: 404,
			body: "=No BlockDevice matches the given query."},
		{sec: "§3", name: "unknown fabric is 404", method: "GET", path: "fabrics/77/", status: 404,
			body: "=No Fabric matches the given query."},
		{sec: "§3", name: "unknown tag is 404", method: "GET", path: "tags/nope/", status: 404, body: "=No Tag matches the given query."},
		{sec: "§3", name: "state conflict 409 has no Retry-After", method: "POST", path: "machines/{new}/?op=deploy",
			status: 409, ctype: "text", check: func(t *testing.T, f *fixture, r resp) {
				if r.hdr.Get("Retry-After") != "" {
					t.Errorf("Retry-After %q on a 409", r.hdr.Get("Retry-After"))
				}
			}},
		{sec: "§3", name: "form validation errors are JSON field lists", method: "POST", path: "subnets/",
			params: []string{"name", "no-cidr"}, status: 400, ctype: "json",
			values: map[string]string{"cidr.[0]": "This field is required."}},
		{sec: "§3", name: "missing mandatory param is text", method: "GET", path: "maas/?op=get_config", status: 400,
			ctype: "text", body: "=No provided name!"},
		{sec: "§3", name: "injected 503 carries Retry-After", method: "GET", path: "machines/", status: 503, ctype: "text",
			pre: func(t *testing.T, f *fixture) { f.srv.Inject(Fault{Kind: Unavailable, Count: 1}) },
			check: func(t *testing.T, f *fixture, r resp) {
				if r.hdr.Get("Retry-After") != "10" {
					t.Errorf("Retry-After %q", r.hdr.Get("Retry-After"))
				}
				must(t, f.c.get("machines/", nil), 200)
			}},
		{sec: "§3", name: "StringBool flag rejects other values", method: "POST", path: "machines/{deployed}/?op=release",
			params: []string{"force", "maybe"}, status: 400},
	}
}
