package redfishsim_test

// The simulated state: Reset and its power delay, boot overrides with ETags, and systems
// backed by the caller's machines.

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
)

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
