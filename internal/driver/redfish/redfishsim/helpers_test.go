package redfishsim_test

// A simulator on a loopback port, and a raw HTTP client with the assertions the tests share.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
)

type env struct {
	t   *testing.T
	sim *redfishsim.Server
	url string
	c   *http.Client
}

// start serves a simulator over TLS on a free loopback port.
func start(t *testing.T, cfg redfishsim.Config) *env {
	t.Helper()
	sim := redfishsim.New(cfg)
	url, stop, err := sim.Start("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &env{t: t, sim: sim, url: url, c: sim.Client()}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// auth values for req.
const (
	noAuth = "none"
	basic  = "basic"
)

// req sends a request; auth is noAuth, basic (admin/password) or an
// X-Auth-Token. hdr are extra "Name: value" headers.
func (e *env) req(method, path, auth string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	switch auth {
	case noAuth:
	case basic:
		r.SetBasicAuth("admin", "password")
	default:
		r.Header.Set("X-Auth-Token", auth)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		r.Header.Set(k, strings.TrimSpace(v))
	}
	res, err := e.c.Do(r)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && method != http.MethodHead {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			e.t.Fatalf("%s %s: %d, body is not a JSON object: %v\n%s", method, path, res.StatusCode, err, raw)
		}
	}
	return out
}

func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// errorIDs returns the error code and the MessageIds of @Message.ExtendedInfo.
func (r resp) errorIDs(t *testing.T) (code string, ids []string) {
	t.Helper()
	e, ok := r.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.raw)
	}
	code, _ = e["code"].(string)
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("error without message: %s", r.raw)
	}
	infos, _ := e["@Message.ExtendedInfo"].([]any)
	for _, i := range infos {
		m := i.(map[string]any)
		ids = append(ids, m["MessageId"].(string))
		if m["Message"] == "" || m["Resolution"] == nil {
			t.Errorf("incomplete message %v", m)
		}
	}
	return code, ids
}

// wantError checks status and that the MessageIds are exactly ids (with the
// Base.1.22. prefix left out).
func (r resp) wantError(t *testing.T, status int, ids ...string) {
	t.Helper()
	r.want(t, status)
	if r.header.Get("Content-Type") != "application/json; charset=utf-8" || r.header.Get("OData-Version") != "4.0" {
		t.Errorf("error headers %v", r.header)
	}
	code, got := r.errorIDs(t)
	var want []string
	for _, id := range ids {
		if !strings.Contains(id, ".") {
			id = "Base.1.22." + id
		}
		want = append(want, id)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("MessageIds %v, want %v; body %s", got, want, r.raw)
	}
	if len(want) == 1 && code != want[0] {
		t.Errorf("code %s, want %s", code, want[0])
	}
}

func (r resp) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (e *env) login() (token, location string) {
	e.t.Helper()
	r := e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]string{"UserName": "admin", "Password": "password"}).want(e.t, 201)
	token, location = r.header.Get("X-Auth-Token"), r.header.Get("Location")
	if token == "" || !strings.HasPrefix(location, "/redfish/v1/SessionService/Sessions/") {
		e.t.Fatalf("login: token %q location %q", token, location)
	}
	if r.str("UserName") != "admin" || r.body["Password"] != nil || r.str("@odata.id") != location {
		e.t.Fatalf("session body %s", r.raw)
	}
	return token, location
}

func (e *env) reset(sys, rt string) resp {
	e.t.Helper()
	return e.req("POST", "/redfish/v1/Systems/"+sys+"/Actions/ComputerSystem.Reset", basic, map[string]string{"ResetType": rt})
}

func bootPatch(enabled, target string) map[string]any {
	b := map[string]any{}
	if enabled != "" {
		b["BootSourceOverrideEnabled"] = enabled
	}
	if target != "" {
		b["BootSourceOverrideTarget"] = target
	}
	return map[string]any{"Boot": b}
}

func wantBoot(t *testing.T, sys *redfishsim.System, enabled, target string) {
	t.Helper()
	if e, tg := sys.BootOverride(); e != enabled || tg != target {
		t.Fatalf("boot override %s/%s, want %s/%s", e, tg, enabled, target)
	}
}

func wantPower(t *testing.T, sys *redfishsim.System, state string) {
	t.Helper()
	if got := sys.PowerState(); got != state {
		t.Fatalf("PowerState %s, want %s", got, state)
	}
}

// ---- tests ----
