package redfishsim_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
)

// ---- helpers ----

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

func TestServiceRootIsPublic(t *testing.T) {
	e := start(t, redfishsim.Config{})
	r := e.req("GET", "/redfish", noAuth, nil).want(t, 200)
	if r.str("v1") != "/redfish/v1/" {
		t.Fatalf("/redfish: %s", r.raw)
	}
	for _, p := range []string{"/redfish/v1/", "/redfish/v1"} {
		r := e.req("GET", p, noAuth, nil).want(t, 200)
		if r.str("Links", "Sessions", "@odata.id") != "/redfish/v1/SessionService/Sessions" || r.str("Systems", "@odata.id") != "/redfish/v1/Systems" {
			t.Fatalf("service root: %s", r.raw)
		}
		if r.header.Get("OData-Version") != "4.0" || r.header.Get("ETag") == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("headers %v", r.header)
		}
	}
	e.req("GET", "/redfish/v1/odata", noAuth, nil).want(t, 200)
	e.req("HEAD", "/redfish/v1/", noAuth, nil).want(t, 200)
	e.req("POST", "/redfish/v1/", basic, "{}").wantError(t, 405, "OperationNotAllowed")
}

func TestAuthentication(t *testing.T) {
	e := start(t, redfishsim.Config{User: "root", Password: "s3cret"})
	for _, p := range []string{"/redfish/v1/Systems", "/redfish/v1/SessionService", "/redfish/v1/Systems/1", "/redfish/v1/NoSuchThing"} {
		r := e.req("GET", p, noAuth, nil)
		r.wantError(t, 401, "NoValidSession")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: no WWW-Authenticate", p)
		}
	}
	e.req("GET", "/redfish/v1/Systems", basic, nil).wantError(t, 401, "ResourceAtUriUnauthorized") // admin/password is wrong here
	e.req("GET", "/redfish/v1/Systems", "bogus-token", nil).wantError(t, 401, "NoValidSession")
	e.req("GET", "/redfish/v1/Systems", noAuth, nil, "Authorization: Basic cm9vdDpzM2NyZXQ=").want(t, 200) // root:s3cret

	// Login: missing properties, wrong type, wrong password, then success.
	e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]any{"UserName": "root"}).wantError(t, 400, "PropertyMissing")
	e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]any{}).wantError(t, 400, "PropertyMissing", "PropertyMissing")
	e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]any{"UserName": "root", "Password": 5}).wantError(t, 400, "PropertyValueTypeError")
	e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, "{not json").wantError(t, 400, "MalformedJSON")
	e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]any{"UserName": "root", "Password": "nope"}).wantError(t, 401, "ResourceAtUriUnauthorized")
	if e.sim.Sessions() != 0 {
		t.Fatal("failed logins created sessions")
	}
	r := e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]any{"UserName": "root", "Password": "s3cret"}).want(t, 201)
	tok, loc := r.header.Get("X-Auth-Token"), r.header.Get("Location")
	if tok == "" || loc == "" || r.str("UserName") != "root" {
		t.Fatalf("login answer %v %s", r.header, r.raw)
	}
	e.req("GET", "/redfish/v1/Systems/1", tok, nil).want(t, 200)
	e.req("GET", loc, tok, nil).want(t, 200)
	list := e.req("GET", "/redfish/v1/SessionService/Sessions", tok, nil).want(t, 200)
	if list.body["Members@odata.count"] != 1.0 {
		t.Fatalf("sessions %s", list.raw)
	}
	if e.sim.Sessions() != 1 {
		t.Fatalf("Sessions() = %d", e.sim.Sessions())
	}
	e.req("PATCH", loc, tok, "{}").wantError(t, 405, "OperationNotAllowed")
	e.req("DELETE", loc, tok, nil).want(t, 204)
	e.req("GET", "/redfish/v1/Systems/1", tok, nil).wantError(t, 401, "NoValidSession")
	e.req("DELETE", loc, noAuth, nil, "Authorization: Basic cm9vdDpzM2NyZXQ=").wantError(t, 404, "ResourceMissingAtURI")
	if e.sim.Sessions() != 0 {
		t.Fatalf("Sessions() after logout = %d", e.sim.Sessions())
	}
}

func TestRequireSessionAndLimits(t *testing.T) {
	e := start(t, redfishsim.Config{RequireSession: true, MaxSessions: 2, SessionTimeout: 300 * time.Millisecond})
	r := e.req("GET", "/redfish/v1/Systems", basic, nil)
	r.wantError(t, 401, "ResourceAtUriUnauthorized")
	if r.header.Get("WWW-Authenticate") != "" {
		t.Error("WWW-Authenticate offered although Basic is refused")
	}
	t1, _ := e.login()
	e.login()
	e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]string{"UserName": "admin", "Password": "password"}).wantError(t, 503, "SessionLimitExceeded")
	e.req("GET", "/redfish/v1/Systems", t1, nil).want(t, 200)
	ss := e.req("GET", "/redfish/v1/SessionService", t1, nil).want(t, 200)
	if ss.body["SessionTimeout"] != 30.0 {
		t.Errorf("SessionTimeout %v", ss.body["SessionTimeout"])
	}
	time.Sleep(400 * time.Millisecond) // idle timeout
	e.req("GET", "/redfish/v1/Systems", t1, nil).wantError(t, 401, "NoValidSession")
	if n := e.sim.Sessions(); n != 0 {
		t.Fatalf("sessions after the idle timeout: %d", n)
	}
	e.login()
}

func TestSystemsTreeAndInventory(t *testing.T) {
	e := start(t, redfishsim.Config{Systems: 3, MACs: map[string]string{"2": "aa-bb-cc-00-00-02"}})
	col := e.req("GET", "/redfish/v1/Systems", basic, nil).want(t, 200)
	if col.body["Members@odata.count"] != 3.0 {
		t.Fatalf("collection %s", col.raw)
	}
	if ids := e.sim.SystemIDs(); !slices.Equal(ids, []string{"1", "2", "3"}) {
		t.Fatalf("ids %v", ids)
	}
	macs, serials := map[string]bool{}, map[string]bool{}
	for i, m := range col.body["Members"].([]any) {
		uri := m.(map[string]any)["@odata.id"].(string)
		id := e.sim.SystemIDs()[i]
		if uri != "/redfish/v1/Systems/"+id {
			t.Fatalf("member %d: %s", i, uri)
		}
		s := e.req("GET", uri, basic, nil).want(t, 200)
		if s.str("Id") != id || s.str("@odata.id") != uri || s.str("@odata.type") != "#ComputerSystem.v1_27_0.ComputerSystem" {
			t.Fatalf("system %s: %s", id, s.raw)
		}
		if s.str("Actions", "#ComputerSystem.Reset", "target") != uri+"/Actions/ComputerSystem.Reset" {
			t.Fatalf("reset target of %s", id)
		}
		if s.str("@odata.etag") != s.header.Get("ETag") {
			t.Fatalf("@odata.etag %s vs ETag %s", s.str("@odata.etag"), s.header.Get("ETag"))
		}
		serial := s.str("SerialNumber")
		if serials[serial] || serial != e.sim.System(id).SerialNumber() {
			t.Fatalf("serial %q", serial)
		}
		serials[serial] = true
		nic := e.req("GET", uri+"/EthernetInterfaces/12446A3B0411", basic, nil).want(t, 200)
		mac := nic.str("MACAddress")
		if macs[mac] || mac != e.sim.System(id).MAC() || nic.str("PermanentMACAddress") != mac {
			t.Fatalf("system %s MAC %q (accessor %s)", id, mac, e.sim.System(id).MAC())
		}
		macs[mac] = true
		if got := e.sim.SystemByMAC(strings.ToLower(mac)); got == nil || got.ID() != id {
			t.Fatalf("SystemByMAC(%s) = %v", mac, got)
		}
		nic2 := e.req("GET", uri+"/EthernetInterfaces/12446A3B8890", basic, nil).want(t, 200)
		if nic2.str("MACAddress") == nic2.str("PermanentMACAddress") {
			t.Errorf("the second NIC should keep the mockup's MACAddress != PermanentMACAddress quirk")
		}
		// Inventory the driver reads.
		for _, sub := range []string{"Processors", "Processors/CPU1", "Processors/CPU2", "Memory", "Memory/DIMM1",
			"EthernetInterfaces", "SimpleStorage/1", "Storage", "Storage/1", "Storage/1/Drives/Bay1", "Bios", "VirtualMedia/CD1"} {
			r := e.req("GET", uri+"/"+sub, basic, nil).want(t, 200)
			if !strings.HasPrefix(r.str("@odata.id"), uri+"/") {
				t.Fatalf("%s/%s: @odata.id %s", uri, sub, r.str("@odata.id"))
			}
		}
	}
	if e.sim.System("2").MAC() != "AA:BB:CC:00:00:02" {
		t.Fatalf("configured MAC: %s", e.sim.System("2").MAC())
	}
	if e.sim.SystemByMAC("52:54:00:00:00:99") != nil || e.sim.System("4") != nil {
		t.Fatal("unknown system found")
	}
	cpu2 := e.req("GET", "/redfish/v1/Systems/1/Processors/CPU2", basic, nil)
	if cpu2.str("Status", "State") != "Absent" {
		t.Fatalf("CPU2 should be Absent: %s", cpu2.raw)
	}
	st := e.req("GET", "/redfish/v1/Systems/1/Storage/1", basic, nil)
	if st.body["Drives@odata.count"] != 2.0 {
		t.Fatalf("Storage/1: %s", st.raw)
	}
	drive := e.req("GET", "/redfish/v1/Systems/1/Storage/1/Drives/Bay1", basic, nil)
	if drive.body["CapacityBytes"] != 8e12 {
		t.Fatalf("drive %s", drive.raw)
	}
	// Shared resources list every system.
	ch := e.req("GET", "/redfish/v1/Chassis/1U", basic, nil).want(t, 200)
	if n := len(ch.body["Links"].(map[string]any)["ComputerSystems"].([]any)); n != 3 {
		t.Fatalf("chassis lists %d systems", n)
	}
	mgr := e.req("GET", "/redfish/v1/Managers/BMC", basic, nil).want(t, 200)
	if n := len(mgr.body["Links"].(map[string]any)["ManagerForServers"].([]any)); n != 3 {
		t.Fatalf("manager lists %d systems", n)
	}
	for _, p := range []string{"/redfish/v1/Chassis", "/redfish/v1/Managers", "/redfish/v1/AccountService", "/redfish/v1/SessionService", "/redfish/v1/Systems/"} {
		e.req("GET", p, basic, nil).want(t, 200)
	}
	if strings.Contains(string(e.req("GET", "/redfish/v1/Managers/BMC", basic, nil).raw), "437XR1138R2") {
		t.Error("the mockup's system id leaks")
	}
}

func TestConfiguredIDs(t *testing.T) {
	e := start(t, redfishsim.Config{IDs: []string{"System.Embedded.1"}})
	r := e.req("GET", "/redfish/v1/Systems", basic, nil).want(t, 200)
	if r.body["Members@odata.count"] != 1.0 || !strings.Contains(string(r.raw), "/redfish/v1/Systems/System.Embedded.1") {
		t.Fatalf("%s", r.raw)
	}
	e.req("GET", "/redfish/v1/Systems/System.Embedded.1/Processors/CPU1", basic, nil).want(t, 200)
	e.req("GET", "/redfish/v1/Systems/1", basic, nil).wantError(t, 404, "ResourceMissingAtURI")

	for _, bad := range []redfishsim.Config{
		{IDs: []string{"a", "a"}},
		{IDs: []string{"a/b"}},
		{MACs: map[string]string{"1": "not-a-mac"}},
		{Systems: 2, MACs: map[string]string{"1": "52:54:00:00:00:01", "2": "52-54-00-00-00-01"}},
		{PatchStatus: 201},
		{Systems: -1},
	} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}

func TestResetStateMachine(t *testing.T) {
	e := start(t, redfishsim.Config{})
	sys := e.sim.System("1")
	wantPower(t, sys, "Off")
	steps := []struct {
		reset, power string
	}{
		{"On", "On"},
		{"On", "On"}, // no-op
		{"ForceOff", "Off"},
		{"ForceOff", "Off"},
		{"ForceOn", "On"},
		{"GracefulShutdown", "Off"},
		{"PushPowerButton", "On"},
		{"PushPowerButton", "Off"},
		{"ForceRestart", "On"}, // from Off: powers on
		{"ForceRestart", "On"},
		{"GracefulRestart", "On"},
		{"Nmi", "On"},
	}
	var want []string
	for _, s := range steps {
		e.reset("1", s.reset).want(t, 204)
		want = append(want, s.reset)
		wantPower(t, sys, s.power)
		r := e.req("GET", "/redfish/v1/Systems/1", basic, nil)
		if r.str("PowerState") != s.power {
			t.Fatalf("after %s: GET PowerState %s", s.reset, r.str("PowerState"))
		}
	}
	if got := sys.Resets(); !slices.Equal(got, want) {
		t.Fatalf("Resets %v, want %v", got, want)
	}
	// Power-ons: On, ForceOn, PushPowerButton, ForceRestart x2, GracefulRestart.
	if got := sys.Boots(); len(got) != 6 || slices.ContainsFunc(got, func(s string) bool { return s != "None" }) {
		t.Fatalf("Boots %v", got)
	}
	if r := e.req("GET", "/redfish/v1/Systems/1", basic, nil); r.str("LastResetTime") == "" {
		t.Error("no LastResetTime")
	}

	// The test hook.
	sys.SetPowerState("Off")
	wantPower(t, sys, "Off")
	sys.SetPowerState("Unknown")
	wantPower(t, sys, "Unknown")
	sys.SetPowerState("")
	if r := e.req("GET", "/redfish/v1/Systems/1", basic, nil); r.body["PowerState"] != nil {
		t.Fatalf("PowerState should be null: %v", r.body["PowerState"])
	}
	e.reset("1", "On").want(t, 204)
	wantPower(t, sys, "On")
}

func TestResetWithDelay(t *testing.T) {
	const d = 150 * time.Millisecond
	e := start(t, redfishsim.Config{PowerDelay: d})
	sys := e.sim.System("1")
	e.req("PATCH", "/redfish/v1/Systems/1", basic, bootPatch("Once", "Pxe")).want(t, 200)

	t0 := time.Now()
	e.reset("1", "On").want(t, 204)
	wantPower(t, sys, "PoweringOn")
	if r := e.req("GET", "/redfish/v1/Systems/1", basic, nil); r.str("PowerState") != "PoweringOn" {
		t.Fatalf("GET during the transition: %s", r.str("PowerState"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sys.WaitPowerState(ctx, "On"); err != nil {
		t.Fatal(err)
	}
	if time.Since(t0) < d {
		t.Fatalf("powered on after %v, before the delay", time.Since(t0))
	}
	wantBoot(t, sys, "Disabled", "Pxe") // Once consumed, the target kept
	if b := sys.Boots(); !slices.Equal(b, []string{"Pxe"}) {
		t.Fatalf("Boots %v", b)
	}

	// ForceRestart: PoweringOff, then PoweringOn, then On; the Continuous
	// override stays.
	e.req("PATCH", "/redfish/v1/Systems/1", basic, bootPatch("Continuous", "Hdd")).want(t, 200)
	e.reset("1", "ForceRestart").want(t, 204)
	wantPower(t, sys, "PoweringOff")
	if err := sys.WaitPowerState(ctx, "PoweringOn"); err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitPowerState(ctx, "On"); err != nil {
		t.Fatal(err)
	}
	wantBoot(t, sys, "Continuous", "Hdd")

	// A reset during a transition completes the pending one first.
	e.reset("1", "ForceOff").want(t, 204)
	e.reset("1", "On").want(t, 204)
	wantPower(t, sys, "PoweringOn")
	if err := sys.WaitPowerState(ctx, "On"); err != nil {
		t.Fatal(err)
	}
	if b := sys.Boots(); !slices.Equal(b, []string{"Pxe", "Hdd", "Hdd"}) {
		t.Fatalf("Boots %v", b)
	}
}

func TestResetErrors(t *testing.T) {
	e := start(t, redfishsim.Config{ResetTypes: []string{"On", "ForceOff"}})
	act := "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"
	e.req("POST", act, basic, map[string]any{}).wantError(t, 400, "ActionParameterMissing")
	e.req("POST", act, basic, "").wantError(t, 400, "ActionParameterMissing")
	e.req("POST", act, basic, map[string]any{"ResetType": "ForceRestart"}).wantError(t, 400, "ActionParameterValueNotInList")
	e.req("POST", act, basic, map[string]any{"ResetType": "Bogus"}).wantError(t, 400, "ActionParameterValueNotInList")
	e.req("POST", act, basic, map[string]any{"ResetType": 1}).wantError(t, 400, "ActionParameterValueTypeError")
	e.req("POST", act, basic, map[string]any{"ResetType": "On", "Force": true}).wantError(t, 400, "ActionParameterUnknown")
	e.req("POST", act, basic, `{"ResetType": "On"`).wantError(t, 400, "MalformedJSON")
	e.req("POST", act, basic, `["On"]`).wantError(t, 400, "MalformedJSON")
	e.req("POST", act, noAuth, map[string]any{"ResetType": "On"}).wantError(t, 401, "NoValidSession")
	r := e.req("GET", act, basic, nil)
	r.wantError(t, 405, "OperationNotAllowed")
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	e.req("POST", "/redfish/v1/Systems/9/Actions/ComputerSystem.Reset", basic, map[string]any{"ResetType": "On"}).wantError(t, 404, "ResourceMissingAtURI")
	if got := e.sim.System("1").Resets(); len(got) != 0 {
		t.Fatalf("rejected resets recorded: %v", got)
	}
	s := e.req("GET", "/redfish/v1/Systems/1", basic, nil)
	allowed := s.body["Actions"].(map[string]any)["#ComputerSystem.Reset"].(map[string]any)["ResetType@Redfish.AllowableValues"]
	if j, _ := json.Marshal(allowed); string(j) != `["On","ForceOff"]` {
		t.Fatalf("advertised %s", j)
	}

	// iDRAC-style conflicts and 200 answers.
	c := start(t, redfishsim.Config{AlreadyInStateConflict: true, ResetStatus: 200})
	c.reset("1", "ForceOff").wantError(t, 409, "IDRAC.2.8.PSU502")
	r = c.reset("1", "On").want(t, 200)
	if !strings.Contains(string(r.raw), "Base.1.22.Success") {
		t.Fatalf("200 body %s", r.raw)
	}
	c.reset("1", "On").wantError(t, 409, "IDRAC.2.8.PSU501")
	if got := c.sim.System("1").Resets(); !slices.Equal(got, []string{"On"}) {
		t.Fatalf("Resets %v", got)
	}
}

func TestPatchBootAndETags(t *testing.T) {
	e := start(t, redfishsim.Config{})
	sys := e.sim.System("1")
	uri := "/redfish/v1/Systems/1"
	g := e.req("GET", uri, basic, nil).want(t, 200)
	etag := g.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q", etag)
	}
	if again := e.req("GET", uri, basic, nil); again.header.Get("ETag") != etag {
		t.Fatal("ETag not stable")
	}
	wantBoot(t, sys, "Disabled", "None")

	// Stale If-Match → 412, nothing changes.
	r := e.req("PATCH", uri, basic, bootPatch("Once", "Pxe"), `If-Match: "0000"`)
	r.wantError(t, 412, "PreconditionFailed")
	wantBoot(t, sys, "Disabled", "None")

	// Matching If-Match (also in weak form) → 200 with the resource.
	r = e.req("PATCH", uri, basic, bootPatch("Once", "Pxe"), "If-Match: W/"+etag).want(t, 200)
	if r.str("Boot", "BootSourceOverrideTarget") != "Pxe" || r.str("Boot", "BootSourceOverrideEnabled") != "Once" {
		t.Fatalf("PATCH answer %s", r.raw)
	}
	newTag := r.header.Get("ETag")
	if newTag == etag || newTag == "" || r.str("@odata.etag") != newTag {
		t.Fatalf("ETag after PATCH %q (was %q), @odata.etag %q", newTag, etag, r.str("@odata.etag"))
	}
	wantBoot(t, sys, "Once", "Pxe")
	e.req("PATCH", uri, basic, bootPatch("", "Hdd"), "If-Match: "+etag).wantError(t, 412, "PreconditionFailed")
	e.req("PATCH", uri, basic, map[string]any{"Boot": map[string]any{"BootSourceOverrideMode": "Legacy"}}, "If-Match: *").want(t, 200)
	if sys.BootMode() != "Legacy" {
		t.Fatal("mode not set")
	}

	// Validation: every error reported, nothing applied.
	bad := map[string]any{
		"Boot": map[string]any{
			"BootSourceOverrideTarget":                         "Floppy", // not in this system's list
			"BootSourceOverrideEnabled":                        "Twice",
			"BootSourceOverrideMode":                           3,
			"BootNextThing":                                    "x",
			"BootSourceOverrideTarget@Redfish.AllowableValues": []string{"Pxe"},
		},
		"PowerState": "On",
		"Frobnicate": true,
	}
	r = e.req("PATCH", uri, basic, bad)
	r.wantError(t, 400, "PropertyValueNotInList", "PropertyValueNotInList", "PropertyValueTypeError",
		"PropertyUnknown", "PropertyNotWritable", "PropertyNotWritable", "PropertyUnknown")
	if code, _ := r.errorIDs(t); code != "Base.1.22.GeneralError" {
		t.Errorf("code %s", code)
	}
	if !strings.Contains(string(r.raw), `"#/Boot/BootSourceOverrideTarget"`) || !strings.Contains(string(r.raw), "The value 'Floppy' for the property BootSourceOverrideTarget is not in the list of acceptable values.") {
		t.Fatalf("error body %s", r.raw)
	}
	one := e.req("PATCH", uri, basic, bootPatch("Once", "Floppy"))
	one.wantError(t, 400, "PropertyValueNotInList")
	if one.body["error"].(map[string]any)["@Message.ExtendedInfo"].([]any)[0].(map[string]any)["RelatedProperties"].([]any)[0] != "#/Boot/BootSourceOverrideTarget" {
		t.Fatalf("RelatedProperties in %s", one.raw)
	}
	wantBoot(t, sys, "Once", "Pxe")
	e.req("PATCH", uri, basic, map[string]any{"Boot": "Pxe"}).wantError(t, 400, "PropertyValueTypeError")
	e.req("PATCH", uri, basic, map[string]any{}).wantError(t, 400, "NoOperation")
	e.req("PATCH", uri, basic, "").wantError(t, 400, "NoOperation")
	e.req("PATCH", uri, basic, "{oops").wantError(t, 400, "MalformedJSON")
	e.req("PATCH", uri, basic, map[string]any{"IndicatorLED": "Disco"}).wantError(t, 400, "PropertyValueNotInList")
	r = e.req("PATCH", uri, basic, map[string]any{"AssetTag": "rack7-u12", "IndicatorLED": "Lit"}).want(t, 200)
	if r.str("AssetTag") != "rack7-u12" || r.str("IndicatorLED") != "Lit" {
		t.Fatalf("%s", r.raw)
	}
	e.req("PUT", uri, basic, "{}").wantError(t, 405, "OperationNotAllowed")

	// Once is consumed by the next power-on; the boot used is recorded.
	e.reset("1", "On").want(t, 204)
	wantBoot(t, sys, "Disabled", "Pxe")
	e.reset("1", "ForceRestart").want(t, 204)
	if b := sys.Boots(); !slices.Equal(b, []string{"Pxe", "None"}) {
		t.Fatalf("Boots %v", b)
	}
	// Continuous persists.
	e.req("PATCH", uri, basic, bootPatch("Continuous", "Cd")).want(t, 200)
	e.reset("1", "ForceRestart").want(t, 204)
	e.reset("1", "ForceRestart").want(t, 204)
	wantBoot(t, sys, "Continuous", "Cd")
	if b := sys.Boots(); !slices.Equal(b, []string{"Pxe", "None", "Cd", "Cd"}) {
		t.Fatalf("Boots %v", b)
	}
	// The ETag follows power changes too.
	before := e.req("GET", uri, basic, nil).header.Get("ETag")
	e.reset("1", "ForceOff").want(t, 204)
	if e.req("GET", uri, basic, nil).header.Get("ETag") == before {
		t.Fatal("ETag unchanged by a power change")
	}

	// 204 PATCH answers and required If-Match.
	n := start(t, redfishsim.Config{PatchStatus: 204, RequireIfMatch: true, BootTargets: []string{"None", "Pxe", "Hdd", "UefiHttp"}})
	n.req("PATCH", uri, basic, bootPatch("Once", "Pxe")).wantError(t, 428, "PreconditionRequired")
	tag := n.req("GET", uri, basic, nil).header.Get("ETag")
	r = n.req("PATCH", uri, basic, bootPatch("Once", "UefiHttp"), "If-Match: "+tag).want(t, 204)
	if len(r.raw) != 0 {
		t.Fatalf("204 with a body: %s", r.raw)
	}
	wantBoot(t, n.sim.System("1"), "Once", "UefiHttp")
	n.req("PATCH", uri, basic, bootPatch("Once", "Cd"), "If-Match: *").wantError(t, 400, "PropertyValueNotInList")
}

func TestNotFoundAndMethods(t *testing.T) {
	e := start(t, redfishsim.Config{})
	e.req("GET", "/redfish/v1/NoSuchThing", basic, nil).wantError(t, 404, "ResourceMissingAtURI")
	e.req("GET", "/redfish/v1/Systems/1/Processors/CPU9", basic, nil).wantError(t, 404, "ResourceMissingAtURI")
	e.req("GET", "/nothing", basic, nil).wantError(t, 404, "ResourceMissingAtURI")
	e.req("GET", "/redfish/v1/Systems/1/", basic, nil).want(t, 200)
	e.req("GET", "/redfish/v1/Systems/1?$select=PowerState", basic, nil).want(t, 200)
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/redfish/v1/Systems", "GET, HEAD"},
		{"DELETE", "/redfish/v1/Systems/1", "GET, HEAD, PATCH"},
		{"PATCH", "/redfish/v1/Chassis/1U", "GET, HEAD"},
		{"PUT", "/redfish/v1/SessionService/Sessions", "GET, HEAD, POST"},
		{"GET", "/redfish/v1/Managers/BMC/Actions/Manager.Reset", "POST"},
	} {
		r := e.req(c.method, c.path, basic, "{}")
		r.wantError(t, 405, "OperationNotAllowed")
		if r.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, r.header.Get("Allow"), c.allow)
		}
	}
	// Other action targets of the mockup are accepted and do nothing.
	e.req("POST", "/redfish/v1/Managers/BMC/Actions/Manager.Reset", basic, map[string]string{"ResetType": "ForceRestart"}).want(t, 204)
}

func TestFaults(t *testing.T) {
	e := start(t, redfishsim.Config{Systems: 2})
	sys1, sys2 := e.sim.System("1"), e.sim.System("2")

	// Fail5xx, limited to two requests.
	e.sim.SetFaults(redfishsim.Faults{Fail5xx: 503, Count: 2})
	r := e.req("GET", "/redfish/v1/", noAuth, nil)
	r.wantError(t, 503, "ServiceTemporarilyUnavailable")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e.req("GET", "/redfish/v1/Systems/1", basic, nil).wantError(t, 503, "ServiceTemporarilyUnavailable")
	e.req("GET", "/redfish/v1/Systems/1", basic, nil).want(t, 200)
	if f := e.sim.Faults(); f != (redfishsim.Faults{}) {
		t.Fatalf("faults not cleared: %+v", f)
	}

	// Per-system 500: only that system's subtree.
	sys2.SetFaults(redfishsim.Faults{Fail5xx: 500})
	e.req("GET", "/redfish/v1/Systems/2", basic, nil).wantError(t, 500, "InternalError")
	e.req("GET", "/redfish/v1/Systems/2/Processors", basic, nil).wantError(t, 500, "InternalError")
	e.req("GET", "/redfish/v1/Systems/1", basic, nil).want(t, 200)
	sys2.SetFaults(redfishsim.Faults{})

	// Slow.
	e.sim.SetFaults(redfishsim.Faults{Slow: 200 * time.Millisecond})
	t0 := time.Now()
	e.req("GET", "/redfish/v1/Systems", basic, nil).want(t, 200)
	if time.Since(t0) < 200*time.Millisecond {
		t.Fatalf("Slow: answered after %v", time.Since(t0))
	}
	e.sim.SetFaults(redfishsim.Faults{})

	// Hang: the client's deadline ends it.
	sys1.SetFaults(redfishsim.Faults{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/redfish/v1/Systems/1", nil)
	req.SetBasicAuth("admin", "password")
	_, err := e.c.Do(req)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hang: %v", err)
	}
	e.req("GET", "/redfish/v1/Systems/2", basic, nil).want(t, 200)
	sys1.SetFaults(redfishsim.Faults{})

	// Drop: the connection closes without an answer (not limited by Count
	// here: Go's transport retries a GET once on a dropped reused connection).
	e.sim.SetFaults(redfishsim.Faults{Drop: true})
	req, _ = http.NewRequest("GET", e.url+"/redfish/v1/", nil)
	if res, err := e.c.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("Drop: got %d", res.StatusCode)
	}
	e.sim.SetFaults(redfishsim.Faults{})

	// Malformed.
	sys1.SetFaults(redfishsim.Faults{Malformed: true})
	req, _ = http.NewRequest("GET", e.url+"/redfish/v1/Systems/1", nil)
	req.SetBasicAuth("admin", "password")
	res, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || json.Valid(raw) {
		t.Fatalf("Malformed: %d, valid JSON %v", res.StatusCode, json.Valid(raw))
	}
	sys1.SetFaults(redfishsim.Faults{})

	// FailAuth: good credentials refused, login too.
	e.sim.SetFaults(redfishsim.Faults{FailAuth: true})
	e.req("GET", "/redfish/v1/Systems", basic, nil).wantError(t, 401, "ResourceAtUriUnauthorized")
	e.req("POST", "/redfish/v1/SessionService/Sessions", noAuth, map[string]string{"UserName": "admin", "Password": "password"}).wantError(t, 401, "ResourceAtUriUnauthorized")
	e.req("GET", "/redfish/v1/", noAuth, nil).want(t, 200)
	e.sim.SetFaults(redfishsim.Faults{})
	tok, _ := e.login()
	e.sim.SetFaults(redfishsim.Faults{FailAuth: true})
	e.req("GET", "/redfish/v1/Systems", tok, nil).wantError(t, 401, "NoValidSession")
	e.sim.SetFaults(redfishsim.Faults{})
	e.req("GET", "/redfish/v1/Systems", tok, nil).want(t, 200)

	// StuckPower: Reset accepted and recorded, power unchanged.
	sys2.SetFaults(redfishsim.Faults{StuckPower: true})
	e.reset("2", "On").want(t, 204)
	wantPower(t, sys2, "Off")
	if got := sys2.Resets(); !slices.Equal(got, []string{"On"}) {
		t.Fatalf("Resets %v", got)
	}
	e.reset("1", "On").want(t, 204)
	wantPower(t, sys1, "On")
	sys2.SetFaults(redfishsim.Faults{})
	e.reset("2", "On").want(t, 204)
	wantPower(t, sys2, "On")
}

func TestHangReleasedByClose(t *testing.T) {
	sim := redfishsim.New(redfishsim.Config{})
	url, stop, err := sim.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url %s", url)
	}
	sim.SetFaults(redfishsim.Faults{Hang: true})
	done := make(chan error, 1)
	go func() {
		res, err := http.Get(url + "/redfish/v1/")
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a hanging request survived the server's close")
	}
}

// fakeMachine is a Machine like the simulated site's.
type fakeMachine struct {
	mu    sync.Mutex
	on    bool
	next  string
	once  bool
	boots []string
}

func (m *fakeMachine) PowerOn() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.on }
func (m *fakeMachine) SetPower(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if on && !m.on {
		m.boots = append(m.boots, m.next)
		if m.once {
			m.next, m.once = "", false
		}
	}
	m.on = on
}
func (m *fakeMachine) NextBoot() string { m.mu.Lock(); defer m.mu.Unlock(); return m.next }
func (m *fakeMachine) SetNextBoot(target string, once bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next, m.once = target, once
}

func TestMachineBackedSystem(t *testing.T) {
	m := &fakeMachine{on: true}
	e := start(t, redfishsim.Config{Systems: 2, Machines: map[string]redfishsim.Machine{"1": m}})
	sys := e.sim.System("1")
	wantPower(t, sys, "On")
	e.req("PATCH", "/redfish/v1/Systems/1", basic, bootPatch("Once", "Pxe")).want(t, 200)
	if m.NextBoot() != "Pxe" || !m.once {
		t.Fatalf("machine next boot %q once %v", m.next, m.once)
	}
	wantBoot(t, sys, "Once", "Pxe")
	e.reset("1", "ForceRestart").want(t, 204)
	if !m.PowerOn() || !slices.Equal(m.boots, []string{"Pxe"}) {
		t.Fatalf("machine on %v boots %v", m.on, m.boots)
	}
	wantBoot(t, sys, "Disabled", "Pxe")
	if b := sys.Boots(); !slices.Equal(b, []string{"Pxe"}) {
		t.Fatalf("Boots %v", b)
	}
	// The machine changes by itself (e.g. the site powers it off).
	m.SetPower(false)
	wantPower(t, sys, "Off")
	if r := e.req("GET", "/redfish/v1/Systems/1", basic, nil); r.str("PowerState") != "Off" {
		t.Fatalf("GET: %s", r.str("PowerState"))
	}
	e.req("PATCH", "/redfish/v1/Systems/1", basic, bootPatch("Disabled", "")).want(t, 200)
	if m.NextBoot() != "" {
		t.Fatalf("Disabled left next boot %q", m.next)
	}
	// Attach later, detach.
	m2 := &fakeMachine{}
	e.sim.System("2").SetMachine(m2)
	e.reset("2", "On").want(t, 204)
	if !m2.PowerOn() {
		t.Fatal("machine 2 not powered on")
	}
	e.sim.System("2").SetMachine(nil)
	wantPower(t, e.sim.System("2"), "On")
}

func TestHandlerWithHTTPTest(t *testing.T) {
	sim := redfishsim.New(redfishsim.Config{Systems: 2})
	ts := httptest.NewTLSServer(sim.Handler())
	defer ts.Close()
	defer sim.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/redfish/v1/Systems/2", nil)
	req.SetBasicAuth("admin", "password")
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestCertificate(t *testing.T) {
	e := start(t, redfishsim.Config{})
	block, _ := pem.Decode(e.sim.CertPEM())
	if block == nil {
		t.Fatal("no PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA {
		t.Error("not a CA certificate")
	}
	// A client without the certificate refuses the server.
	if _, err := http.Get(e.url + "/redfish/v1/"); err == nil {
		t.Fatal("an untrusting client connected")
	}
}

func TestConcurrentClients(t *testing.T) {
	e := start(t, redfishsim.Config{Systems: 4, PowerDelay: time.Millisecond})
	var wg sync.WaitGroup
	for i := range 4 {
		id := e.sim.SystemIDs()[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				e.req("PATCH", "/redfish/v1/Systems/"+id, basic, bootPatch("Once", "Pxe")).want(t, 200)
				rt := "On"
				if j%2 == 1 {
					rt = "ForceOff"
				}
				e.reset(id, rt).want(t, 204)
				e.req("GET", "/redfish/v1/Systems/"+id, basic, nil).want(t, 200)
				e.req("GET", "/redfish/v1/Systems", basic, nil).want(t, 200)
			}
		}()
	}
	wg.Wait()
	for _, id := range e.sim.SystemIDs() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := e.sim.System(id).WaitPowerState(ctx, "Off"); err != nil {
			t.Fatal(err)
		}
		cancel()
		if n := len(e.sim.System(id).Resets()); n != 10 {
			t.Fatalf("system %s: %d resets", id, n)
		}
	}
}

// TestMockupCopiesIdentical keeps testdata/redfish (the documented, licensed
// copy) and the embedded copy in step.
func TestMockupCopiesIdentical(t *testing.T) {
	docRoot := filepath.Join("..", "..", "..", "..", "testdata", "redfish")
	embedded := map[string][]byte{}
	err := fs.WalkDir(redfishsim.MockupFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(redfishsim.MockupFS(), p)
		embedded[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) != 271 {
		t.Errorf("embedded mockup has %d files, the DMTF one 271", len(embedded))
	}
	onDisk := map[string][]byte{}
	err = filepath.WalkDir(filepath.Join(docRoot, "public-rackmount1"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(docRoot, "public-rackmount1"), p)
		b, err := os.ReadFile(p)
		onDisk[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range embedded {
		if d, ok := onDisk[p]; !ok || !bytes.Equal(d, b) {
			t.Errorf("%s differs between mockup/ and testdata/redfish/", p)
		}
	}
	for p := range onDisk {
		if _, ok := embedded[p]; !ok {
			t.Errorf("%s only in testdata/redfish/", p)
		}
	}
	l1, err1 := os.ReadFile(filepath.Join(docRoot, "LICENSE-DMTF"))
	l2, err2 := os.ReadFile(filepath.Join("mockup", "LICENSE-DMTF"))
	if err1 != nil || err2 != nil || !bytes.Equal(l1, l2) || !bytes.Contains(l1, []byte("BSD 3-Clause")) {
		t.Errorf("licence copies: %v %v", err1, err2)
	}
}
