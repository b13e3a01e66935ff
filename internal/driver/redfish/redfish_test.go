package redfish_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/oob"
	"github.com/drydock-go/drydock/internal/driver/redfish"
	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
)

const (
	user     = "root"
	password = "Sup3r-s3cret-PW"
)

var testCfg = oob.Config{PollInterval: 50 * time.Millisecond, PowerTimeout: 5 * time.Second,
	Backoff: 20 * time.Millisecond, RequestTimeout: 2 * time.Second}

// bmc is a running simulator.
type bmc struct {
	srv    *redfishsim.Server
	url    string
	port   string
	caFile string
	tls    bool
	// requests counts requests by "METHOD path".
	mu       sync.Mutex
	requests []string
}

func startBMC(t *testing.T, cfg redfishsim.Config, useTLS bool) *bmc {
	t.Helper()
	b := &bmc{tls: useTLS}
	if cfg.User == "" {
		cfg.User, cfg.Password = user, password
	}
	cfg.Logf = func(format string, args ...any) {
		// "remote METHOD uri -> status (duration)"
		if len(args) >= 4 {
			b.mu.Lock()
			b.requests = append(b.requests, args[1].(string)+" "+args[2].(string)+" "+itoa(args[3]))
			b.mu.Unlock()
		}
	}
	b.srv = redfishsim.New(cfg)
	u, closeFn, err := b.srv.Start("127.0.0.1:0", useTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	b.url = u
	pu, _ := url.Parse(u)
	b.port = pu.Port()
	if useTLS {
		b.caFile = filepath.Join(t.TempDir(), "bmc-ca.pem")
		if err := os.WriteFile(b.caFile, b.srv.CertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func itoa(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// count returns how many requests started with prefix ("PATCH /redfish/v1/Systems/1").
func (b *bmc) count(prefix string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, r := range b.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (b *bmc) reqs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// node is a design node whose BMC is b; extra are more oob_parameters (key, value, ...).
func (b *bmc) node(bootMAC string, extra ...string) *design.Node {
	kv := design.KV{{Key: "account", Value: user}, {Key: "credential", Value: password},
		{Key: "network", Value: "oob"}, {Key: "port", Value: b.port}}
	for i := 0; i+1 < len(extra); i += 2 {
		kv = append(kv, design.KVPair{Key: extra[i], Value: extra[i+1]})
	}
	return &design.Node{Name: "node01", OOBType: "redfish", BootMAC: bootMAC, OOBParams: kv,
		Addressing: []design.Address{{Network: "oob", Type: "static", Address: "127.0.0.1"}}}
}

// proto is the protocol for b: TLS verified against its certificate, session auth.
func (b *bmc) proto() *redfish.Protocol {
	p := redfish.New()
	p.UseTLS = b.tls
	p.CAFile = b.caFile
	return p
}

func call(n *design.Node) driver.Call { return driver.Call{Node: n, Attempt: 1} }

// check fails the test when a result's message (or data) shows the password.
func check(t *testing.T, r driver.Result) driver.Result {
	t.Helper()
	data, _ := json.Marshal(r)
	if strings.Contains(r.Message, password) || strings.Contains(string(data), password) {
		t.Fatalf("result shows the password: %s", data)
	}
	return r
}

func want(t *testing.T, r driver.Result, o driver.Outcome, substr ...string) {
	t.Helper()
	check(t, r)
	t.Logf("%v: %s", r.Outcome, r.Message)
	if r.Outcome != o {
		t.Fatalf("outcome %v (%q), want %v", r.Outcome, r.Message, o)
	}
	for _, s := range substr {
		if !strings.Contains(r.Message, s) {
			t.Fatalf("message %q does not mention %q", r.Message, s)
		}
	}
}

func TestLifecycle(t *testing.T) {
	b := startBMC(t, redfishsim.Config{PowerDelay: 300 * time.Millisecond}, true)
	sys := b.srv.System("1")
	d := oob.New(b.proto(), testCfg)
	n := b.node(sys.MAC())
	ctx := context.Background()

	if got := redfish.New().Type(); got != "redfish" {
		t.Fatalf("Type() = %q", got)
	}

	r := d.Interrogate(ctx, call(n))
	want(t, r, driver.Done, "power off")
	inv, _ := r.Data["inventory"].(map[string]any)
	if inv == nil {
		t.Fatalf("no inventory: %+v", r)
	}
	invJSON, _ := json.Marshal(inv)
	t.Logf("inventory: %s", invJSON)
	procs := inv["processors"].(map[string]any)
	if procs["count"] != 1 || !strings.Contains(procs["model"].(string), "Xeon") {
		t.Errorf("processors %v (want 1 present CPU, a Xeon)", procs)
	}
	if mem := inv["memory"].(map[string]any); mem["total_gib"] != 96.0 || mem["modules"] != 3 {
		t.Errorf("memory %v (want 96 GiB in 3 present modules)", mem)
	}
	macs, _ := inv["macs"].([]string)
	if !slices.Contains(macs, strings.ToLower(sys.MAC())) {
		t.Errorf("macs %v do not include the boot MAC %s", macs, sys.MAC())
	}
	st := inv["storage"].(map[string]any)
	if drives, _ := st["drives"].([]map[string]any); len(drives) == 0 || st["total_bytes"].(int64) <= 0 {
		t.Errorf("storage %v", st)
	}
	for k, v := range map[string]string{"manufacturer": "Contoso", "model": "3500", "serial_number": sys.SerialNumber(),
		"bios_version": "P79 v1.45 (12/06/2017)", "system_id": "1"} {
		if inv[k] != v {
			t.Errorf("inventory %s = %v, want %q", k, inv[k], v)
		}
	}

	start := time.Now()
	r = d.Power(ctx, call(n), driver.PowerOn)
	want(t, r, driver.Done, "verified")
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("power on verified after %s, before the BMC's power delay", el)
	}
	if sys.PowerState() != "On" || r.State == nil || r.State.Power != "on" {
		t.Fatalf("after power on: BMC %s, state %+v", sys.PowerState(), r.State)
	}
	r = d.Power(ctx, call(n), driver.PowerOn)
	want(t, r, driver.Done, "already")
	if !r.Skipped {
		t.Errorf("power on while on not skipped: %+v", r)
	}

	want(t, d.SetNextBoot(ctx, call(n), driver.BootDisk), driver.Done)
	if en, tg := sys.BootOverride(); en != "Once" || tg != "Hdd" {
		t.Fatalf("boot override %s/%s, want Once/Hdd", en, tg)
	}
	want(t, d.SetNextBoot(ctx, call(n), driver.BootPXE), driver.Done, "pxe")
	if en, tg := sys.BootOverride(); en != "Once" || tg != "Pxe" {
		t.Fatalf("boot override %s/%s, want Once/Pxe", en, tg)
	}
	patches := b.count("PATCH /redfish/v1/Systems/1 ")
	want(t, d.SetNextBoot(ctx, call(n), driver.BootPXE), driver.Done)
	if got := b.count("PATCH /redfish/v1/Systems/1 "); got != patches {
		t.Errorf("setting the override it already has PATCHed again (%d PATCHes, then %d)", patches, got)
	}

	resets := len(sys.Resets())
	r = d.Power(ctx, call(n), driver.PowerCycle)
	want(t, r, driver.Done, "cycled")
	if got := sys.Resets()[resets:]; !slices.Equal(got, []string{"ForceOff", "On"}) {
		t.Fatalf("cycle sent resets %v, want ForceOff then On", got)
	}
	if boots := sys.Boots(); len(boots) == 0 || boots[len(boots)-1] != "Pxe" {
		t.Errorf("boots %v: the cycle did not boot from PXE", boots)
	}
	if en, _ := sys.BootOverride(); en != "Disabled" {
		t.Errorf("Once override not consumed by the boot: %s", en)
	}

	want(t, d.Power(ctx, call(n), driver.PowerOff), driver.Done, "verified")
	if sys.PowerState() != "Off" {
		t.Fatalf("BMC reports %s after power off", sys.PowerState())
	}
	if got := sys.Resets(); got[len(got)-1] != "ForceOff" {
		t.Errorf("power off sent %v", got)
	}
	if s := b.srv.Sessions(); s != 0 {
		t.Errorf("%d sessions left open (no logout)", s)
	}
	if b.count("POST /redfish/v1/SessionService/Sessions") == 0 || b.count("DELETE /redfish/v1/SessionService/Sessions/") == 0 {
		t.Errorf("no session login/logout: %v", b.reqs())
	}
}

func TestSeveralSystems(t *testing.T) {
	macs := map[string]string{"a": "52:54:00:01:00:0a", "b": "52:54:00:01:00:0b", "c": "52:54:00:01:00:0c"}
	b := startBMC(t, redfishsim.Config{IDs: []string{"a", "b", "c"}, MACs: macs}, true)
	d := oob.New(b.proto(), testCfg)
	ctx := context.Background()

	// By system_id (the boot MAC, of another system, does not matter then).
	want(t, d.Power(ctx, call(b.node(macs["c"], "system_id", "b")), driver.PowerOn), driver.Done)
	if b.srv.System("b").PowerState() != "On" || b.srv.System("a").PowerState() != "Off" || b.srv.System("c").PowerState() != "Off" {
		t.Fatalf("system_id b: a=%s b=%s c=%s", b.srv.System("a").PowerState(), b.srv.System("b").PowerState(), b.srv.System("c").PowerState())
	}
	// By boot MAC, in another notation.
	want(t, d.Power(ctx, call(b.node("52-54-00-01-00-0C")), driver.PowerOn), driver.Done)
	if b.srv.System("c").PowerState() != "On" || b.srv.System("a").PowerState() != "Off" {
		t.Fatalf("boot MAC of c: a=%s c=%s", b.srv.System("a").PowerState(), b.srv.System("c").PowerState())
	}
	r := d.Interrogate(ctx, call(b.node(macs["a"])))
	want(t, r, driver.Done)
	if inv := r.Data["inventory"].(map[string]any); inv["system_id"] != "a" {
		t.Errorf("inventory of system %v, want a", inv["system_id"])
	}

	want(t, d.Power(ctx, call(b.node("52:54:00:ff:ff:ff")), driver.PowerOn), driver.Failed, "a, b, c", "52:54:00:ff:ff:ff")
	want(t, d.Power(ctx, call(b.node("")), driver.PowerOn), driver.Failed, "3 systems", "a, b, c", "system_id")
	want(t, d.Power(ctx, call(b.node(macs["a"], "system_id", "zz")), driver.PowerOn), driver.Failed, `"zz"`, "a, b, c")
	for _, id := range []string{"a", "b", "c"} {
		if s := b.srv.System(id); len(s.Resets()) > 1 {
			t.Errorf("system %s got resets %v", id, s.Resets())
		}
	}
}

func TestTLS(t *testing.T) {
	b := startBMC(t, redfishsim.Config{}, true)
	ctx := context.Background()
	n := b.node("")

	// The simulator's certificate as the CA: works (TestLifecycle); as a per-node ca_file too.
	p := redfish.New()
	want(t, oob.New(p, testCfg).Interrogate(ctx, call(b.node("", "ca_file", b.caFile))), driver.Done)

	// Without the CA: a refusal that says why, at once (not retried).
	start := time.Now()
	want(t, oob.New(redfish.New(), testCfg).Interrogate(ctx, call(n)), driver.Failed, "certificate", "ca_file")
	if el := time.Since(start); el > time.Second {
		t.Errorf("certificate error took %s (retried?)", el)
	}
	// Insecure: works; per node too.
	p = redfish.New()
	p.Insecure = true
	want(t, oob.New(p, testCfg).Interrogate(ctx, call(n)), driver.Done)
	want(t, oob.New(redfish.New(), testCfg).Interrogate(ctx, call(b.node("", "insecure", "true"))), driver.Done)

	// A CA bundle that is not one.
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	want(t, oob.New(redfish.New(), testCfg).Interrogate(ctx, call(b.node("", "ca_file", bad))), driver.Failed, "PEM")

	// Plain HTTP to a plain-HTTP BMC, chosen per node.
	h := startBMC(t, redfishsim.Config{}, false)
	want(t, oob.New(redfish.New(), testCfg).Interrogate(ctx, call(h.node("", "use_ssl", "false"))), driver.Done)
	// HTTPS to a plain-HTTP BMC.
	want(t, oob.New(redfish.New(), testCfg).Interrogate(ctx, call(h.node(""))), driver.Failed, "TLS")
	// A bad use_ssl value.
	want(t, oob.New(redfish.New(), testCfg).Interrogate(ctx, call(h.node("", "use_ssl", "perhaps"))), driver.Failed, "use_ssl")
}

func TestBasicAuth(t *testing.T) {
	b := startBMC(t, redfishsim.Config{PowerDelay: 100 * time.Millisecond}, true)
	p := b.proto()
	p.Session = false
	d := oob.New(p, testCfg)
	ctx := context.Background()
	n := b.node("")
	want(t, d.Interrogate(ctx, call(n)), driver.Done)
	want(t, d.Power(ctx, call(n), driver.PowerOn), driver.Done, "verified")
	want(t, d.SetNextBoot(ctx, call(n), driver.BootPXE), driver.Done)
	if n := b.count("POST /redfish/v1/SessionService/Sessions"); n != 0 {
		t.Errorf("basic auth logged in %d times", n)
	}
	// Per node: auth session on a basic-auth protocol.
	want(t, d.Interrogate(ctx, call(b.node("", "auth", "session"))), driver.Done)
	if n := b.count("POST /redfish/v1/SessionService/Sessions"); n != 1 {
		t.Errorf("auth: session logged in %d times", n)
	}

	// A BMC that allows sessions only (iDRAC10): basic auth is refused, clearly.
	s := startBMC(t, redfishsim.Config{RequireSession: true}, true)
	sp := s.proto()
	sp.Session = false
	want(t, oob.New(sp, testCfg).Interrogate(ctx, call(s.node(""))), driver.Failed, "rejected the credentials", user, "Basic authentication is disabled")
	want(t, oob.New(s.proto(), testCfg).Interrogate(ctx, call(s.node(""))), driver.Done)
}

func TestWrongPassword(t *testing.T) {
	b := startBMC(t, redfishsim.Config{}, true)
	ctx := context.Background()
	n := b.node("")
	for i := range n.OOBParams {
		if n.OOBParams[i].Key == "credential" {
			n.OOBParams[i].Value = password + "-wrong"
		}
	}
	for _, session := range []bool{true, false} {
		p := b.proto()
		p.Session = session
		start := time.Now()
		r := oob.New(p, testCfg).Interrogate(ctx, call(n))
		want(t, r, driver.Failed, "rejected the credentials", user, "401")
		if strings.Contains(r.Message, password) {
			t.Fatalf("message shows the password: %s", r.Message)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("refused login took %s (retried?)", el)
		}
	}
	// The FailAuth fault: the BMC refuses the right password too.
	b.srv.SetFaults(redfishsim.Faults{FailAuth: true})
	want(t, oob.New(b.proto(), testCfg).Power(ctx, call(b.node("")), driver.PowerOn), driver.Failed, "rejected the credentials")
	if got := b.srv.System("1").Resets(); len(got) != 0 {
		t.Errorf("resets %v despite the refused login", got)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()

	t.Run("503", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.SetFaults(redfishsim.Faults{Fail5xx: 503})
		r := oob.New(b.proto(), testCfg).Interrogate(ctx, call(b.node("")))
		want(t, r, driver.Unreachable, "503")
		if n := b.count("GET /redfish/v1/ "); n != 3 {
			t.Errorf("%d tries, want 3 (Attempts): %v", n, b.reqs())
		}
	})
	t.Run("503 then recovers", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.SetFaults(redfishsim.Faults{Fail5xx: 503, Count: 2})
		want(t, oob.New(b.proto(), testCfg).Interrogate(ctx, call(b.node(""))), driver.Done)
	})
	t.Run("503 on the system only", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		d := oob.New(b.proto(), testCfg)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOn), driver.Done)
		b.srv.System("1").SetFaults(redfishsim.Faults{Fail5xx: 500})
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOff), driver.Unreachable, "500")
	})
	t.Run("hang", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.SetFaults(redfishsim.Faults{Hang: true})
		cfg := testCfg
		cfg.RequestTimeout = 300 * time.Millisecond
		start := time.Now()
		r := oob.New(b.proto(), cfg).Interrogate(ctx, call(b.node("")))
		el := time.Since(start)
		want(t, r, driver.Unreachable)
		// 3 attempts × RequestTimeout, plus backoff (≤ 20 + 40 ms) and slack.
		if limit := 3*cfg.RequestTimeout + 500*time.Millisecond; el > limit {
			t.Errorf("hang gave up after %s, want ≤ %s", el, limit)
		}
		if el < 3*cfg.RequestTimeout {
			t.Errorf("hang gave up after %s, before 3 tries of %s", el, cfg.RequestTimeout)
		}
	})
	t.Run("hang after login", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.System("1").SetFaults(redfishsim.Faults{Hang: true})
		cfg := testCfg
		cfg.RequestTimeout = 300 * time.Millisecond
		start := time.Now()
		want(t, oob.New(b.proto(), cfg).Interrogate(ctx, call(b.node(""))), driver.Unreachable)
		// Each failed Open logs its session out (the BMC answers that), so the bound holds.
		if el, limit := time.Since(start), 3*cfg.RequestTimeout+time.Second; el > limit {
			t.Errorf("gave up after %s, want ≤ %s", el, limit)
		}
		if s := b.srv.Sessions(); s != 0 {
			t.Errorf("%d sessions left open", s)
		}
	})
	t.Run("drop", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.SetFaults(redfishsim.Faults{Drop: true})
		want(t, oob.New(b.proto(), testCfg).Interrogate(ctx, call(b.node(""))), driver.Unreachable)
	})
	t.Run("malformed", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.SetFaults(redfishsim.Faults{Malformed: true})
		r := oob.New(b.proto(), testCfg).Interrogate(ctx, call(b.node("")))
		check(t, r)
		t.Logf("%v: %s", r.Outcome, r.Message)
		if r.Outcome != driver.Failed && r.Outcome != driver.Unreachable {
			t.Fatalf("malformed: %v %q", r.Outcome, r.Message)
		}
		if !strings.Contains(r.Message, "malformed") {
			t.Errorf("message %q does not say the reply was malformed", r.Message)
		}
	})
	t.Run("malformed system", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.System("1").SetFaults(redfishsim.Faults{Malformed: true})
		r := oob.New(b.proto(), testCfg).Interrogate(ctx, call(b.node("")))
		want(t, r, driver.Failed, "malformed", "not valid JSON")
	})
	t.Run("stuck power", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		b.srv.SetFaults(redfishsim.Faults{StuckPower: true})
		cfg := testCfg
		cfg.PowerTimeout = 500 * time.Millisecond
		r := oob.New(b.proto(), cfg).Power(ctx, call(b.node("")), driver.PowerOn)
		want(t, r, driver.Failed, "still reports power off after")
		if got := b.srv.System("1").Resets(); !slices.Equal(got, []string{"On"}) {
			t.Errorf("resets %v, want one On", got)
		}
	})
	t.Run("transitional power state", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		d := oob.New(b.proto(), testCfg)
		sys := b.srv.System("1")
		sys.SetPowerState("PoweringOn")
		r := d.Interrogate(ctx, call(b.node("")))
		want(t, r, driver.Done)
		if r.State.Power != "off" {
			t.Errorf("PoweringOn reported as %s, want off (not reached yet)", r.State.Power)
		}
		sys.SetPowerState("PoweringOff")
		if r := d.Interrogate(ctx, call(b.node(""))); r.State == nil || r.State.Power != "on" {
			t.Errorf("PoweringOff reported as %+v, want on (not off yet)", r.State)
		}
		sys.SetPowerState("Unknown")
		want(t, d.Interrogate(ctx, call(b.node(""))), driver.Unreachable, `"Unknown"`)
		sys.SetPowerState("")
		want(t, d.Interrogate(ctx, call(b.node(""))), driver.Unreachable)
	})
}

// etagRace is a transport that, before the first PATCH, changes the system behind the
// driver's back, so the ETag it read is stale.
type etagRace struct {
	next    http.RoundTripper
	sys     *redfishsim.System
	patches atomic.Int32
	status  []int
	mu      sync.Mutex
}

func (e *etagRace) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch && e.patches.Add(1) == 1 {
		e.sys.SetPowerState("On") // changes the resource, and its ETag
	}
	resp, err := e.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodPatch {
		e.mu.Lock()
		e.status = append(e.status, resp.StatusCode)
		e.mu.Unlock()
	}
	return resp, err
}

func TestETagMismatch(t *testing.T) {
	b := startBMC(t, redfishsim.Config{RequireIfMatch: true}, true)
	sys := b.srv.System("1")
	// Make the system's ETag change on the first PATCH: the render includes LastResetTime.
	race := &etagRace{next: b.srv.Client().Transport, sys: sys}
	p := redfish.New()
	p.HTTPClient = &http.Client{Transport: race}
	r := oob.New(p, testCfg).SetNextBoot(context.Background(), call(b.node("")), driver.BootPXE)
	want(t, r, driver.Done)
	if en, tg := sys.BootOverride(); en != "Once" || tg != "Pxe" {
		t.Fatalf("boot override %s/%s", en, tg)
	}
	race.mu.Lock()
	defer race.mu.Unlock()
	if !slices.Equal(race.status, []int{412, 200}) {
		t.Errorf("PATCH statuses %v, want 412 then 200", race.status)
	}
}

func TestBMCVariants(t *testing.T) {
	ctx := context.Background()
	t.Run("204 answers", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{PatchStatus: 204, ResetStatus: 200}, true)
		d := oob.New(b.proto(), testCfg)
		want(t, d.SetNextBoot(ctx, call(b.node("")), driver.BootPXE), driver.Done)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOn), driver.Done)
		if en, tg := b.srv.System("1").BootOverride(); en != "Disabled" || tg != "Pxe" {
			t.Errorf("override %s/%s after the boot", en, tg)
		}
	})
	t.Run("no ForceOff", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{ResetTypes: []string{"On", "GracefulShutdown", "PushPowerButton"}}, true)
		d := oob.New(b.proto(), testCfg)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOn), driver.Done)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOff), driver.Failed, "ForceOff", "GracefulShutdown")
		if got := b.srv.System("1").Resets(); !slices.Equal(got, []string{"On"}) {
			t.Errorf("resets %v", got)
		}
	})
	t.Run("only PushPowerButton to power on", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{ResetTypes: []string{"ForceOff", "PushPowerButton"}, PowerDelay: 100 * time.Millisecond}, true)
		d := oob.New(b.proto(), testCfg)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOn), driver.Done)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerCycle), driver.Done)
		if got := b.srv.System("1").Resets(); !slices.Equal(got, []string{"PushPowerButton", "ForceOff", "PushPowerButton"}) {
			t.Errorf("resets %v", got)
		}
	})
	t.Run("no Pxe", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{BootTargets: []string{"None", "Hdd", "Cd"}}, true)
		d := oob.New(b.proto(), testCfg)
		want(t, d.SetNextBoot(ctx, call(b.node("")), driver.BootPXE), driver.Failed, "Pxe", "None, Hdd, Cd")
		want(t, d.SetNextBoot(ctx, call(b.node("")), driver.BootDisk), driver.Done)
	})
	t.Run("already in state answers 409", func(t *testing.T) {
		// iDRAC answers On while on with 409: the driver never sends it.
		b := startBMC(t, redfishsim.Config{AlreadyInStateConflict: true}, true)
		d := oob.New(b.proto(), testCfg)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOn), driver.Done)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOn), driver.Done, "already")
		want(t, d.Power(ctx, call(b.node("")), driver.PowerCycle), driver.Done)
		want(t, d.Power(ctx, call(b.node("")), driver.PowerOff), driver.Done)
		if got := b.srv.System("1").Resets(); !slices.Equal(got, []string{"On", "ForceOff", "On", "ForceOff"}) {
			t.Errorf("resets %v", got)
		}
	})
	t.Run("boot mode", func(t *testing.T) {
		b := startBMC(t, redfishsim.Config{}, true)
		d := oob.New(b.proto(), testCfg)
		want(t, d.SetNextBoot(ctx, call(b.node("", "boot_mode", "legacy")), driver.BootPXE), driver.Done)
		if m := b.srv.System("1").BootMode(); m != "Legacy" {
			t.Errorf("boot mode %s", m)
		}
		want(t, d.SetNextBoot(ctx, call(b.node("", "boot_mode", "bogus")), driver.BootPXE), driver.Failed, "boot_mode")
	})
}

// TestNoPasswordInMessages runs every failure mode and checks that no message carries the
// password (check does it on every result).
func TestNoPasswordInMessages(t *testing.T) {
	ctx := context.Background()
	b := startBMC(t, redfishsim.Config{IDs: []string{"x", "y"}}, true)
	d := oob.New(b.proto(), testCfg)
	cfg := testCfg
	cfg.RequestTimeout = 200 * time.Millisecond
	quick := oob.New(b.proto(), cfg)
	var results []driver.Result
	run := func(r driver.Result) { results = append(results, check(t, r)) }
	run(d.Interrogate(ctx, call(b.node(""))))
	run(d.Interrogate(ctx, call(b.node("", "system_id", password))))
	for _, f := range []redfishsim.Faults{{FailAuth: true}, {Fail5xx: 500}, {Malformed: true}, {Drop: true}, {Hang: true}} {
		b.srv.SetFaults(f)
		run(quick.Power(ctx, call(b.node("", "system_id", "x")), driver.PowerOn))
		run(quick.SetNextBoot(ctx, call(b.node("", "system_id", "y")), driver.BootPXE))
	}
	b.srv.SetFaults(redfishsim.Faults{})
	run(oob.New(redfish.New(), testCfg).Interrogate(ctx, call(b.node("", "system_id", "x"))))
	for _, r := range results {
		if strings.Contains(r.Message, password) {
			t.Errorf("password in %q", r.Message)
		}
		if r.Outcome == driver.Done && r.Message == "" {
			t.Errorf("empty message: %+v", r)
		}
	}
	if len(results) != 13 {
		t.Errorf("%d results", len(results))
	}
}

// middleware serves the simulator's handler over plain HTTP through fn, which may answer
// itself (true) or let the simulator answer.
func middleware(t *testing.T, b *bmc, fn func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) *bmc {
	t.Helper()
	h := b.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fn(w, r, h) {
			h.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)
	return &bmc{srv: b.srv, url: ts.URL, port: u.Port()}
}

// TestSettingsObject: a BMC whose system refuses a Boot PATCH and advertises a
// @Redfish.Settings object (iDRAC10) gets the override there.
func TestSettingsObject(t *testing.T) {
	b := startBMC(t, redfishsim.Config{}, false)
	const sysURI, settingsURI = "/redfish/v1/Systems/1", "/redfish/v1/Systems/1/Settings"
	var settingsPatches atomic.Int32
	m := middleware(t, b, func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		switch {
		case r.URL.Path == sysURI && r.Method == http.MethodPatch:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"code":"Base.1.22.PropertyNotWritable","message":"The property Boot is a read-only property and cannot be assigned a value."}}`))
			return true
		case r.URL.Path == sysURI && r.Method == http.MethodGet:
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("system body: %v", err)
			}
			body["@Redfish.Settings"] = map[string]any{"SettingsObject": map[string]any{"@odata.id": settingsURI}}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_ = json.NewEncoder(w).Encode(body)
			return true
		case r.URL.Path == settingsURI:
			if r.Method == http.MethodPatch {
				settingsPatches.Add(1)
			}
			r.URL.Path = sysURI
			next.ServeHTTP(w, r)
			return true
		}
		return false
	})
	p := redfish.New()
	p.UseTLS = false
	want(t, oob.New(p, testCfg).SetNextBoot(context.Background(), call(m.node("")), driver.BootPXE), driver.Done)
	if en, tg := b.srv.System("1").BootOverride(); en != "Once" || tg != "Pxe" || settingsPatches.Load() != 1 {
		t.Fatalf("override %s/%s after %d settings PATCHes", en, tg, settingsPatches.Load())
	}
}

// TestInventoryPartial: a part of the inventory the BMC does not have (404) is noted, the rest
// is reported; a part that fails transiently fails the read.
func TestInventoryPartial(t *testing.T) {
	b := startBMC(t, redfishsim.Config{}, false)
	var fail atomic.Int32 // the status Memory answers with
	fail.Store(http.StatusNotFound)
	m := middleware(t, b, func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.URL.Path == "/redfish/v1/Systems/1/Memory" {
			w.WriteHeader(int(fail.Load()))
			return true
		}
		return false
	})
	p := redfish.New()
	p.UseTLS = false
	d := oob.New(p, testCfg)
	r := d.Interrogate(context.Background(), call(m.node("")))
	want(t, r, driver.Done)
	inv := r.Data["inventory"].(map[string]any)
	probs, _ := inv["problems"].([]string)
	if len(probs) != 1 || !strings.Contains(probs[0], "memory") || !strings.Contains(probs[0], "404") {
		t.Errorf("problems %v", probs)
	}
	if mem := inv["memory"].(map[string]any); mem["total_gib"] != 96.0 {
		t.Errorf("memory %v (want the summary's 96 GiB)", mem)
	}
	if procs := inv["processors"].(map[string]any); procs["count"] != 1 {
		t.Errorf("processors %v", procs)
	}
	fail.Store(http.StatusServiceUnavailable)
	want(t, d.Interrogate(context.Background(), call(m.node(""))), driver.Unreachable, "inventory", "503")
}
