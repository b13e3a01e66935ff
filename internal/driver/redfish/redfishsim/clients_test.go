package redfishsim_test

// Conformance with clients nobody here wrote: gofish (Go, in go.mod), DMTF's
// redfishtool and OpenStack's sushy (Debian packages redfishtool and
// python3-sushy). The Debian clients are skipped, loudly, when missing,
// unless DRYDOCK_REQUIRE_REDFISH_CLIENTS=1.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
)

// missingClient skips the test (or fails it when the clients are required).
func missingClient(t *testing.T, what, pkg string) {
	t.Helper()
	msg := fmt.Sprintf("redfishsim: %s not available: install with `apt-get install -y --no-install-recommends %s`", what, pkg)
	if os.Getenv("DRYDOCK_REQUIRE_REDFISH_CLIENTS") == "1" {
		t.Fatal(msg + " (DRYDOCK_REQUIRE_REDFISH_CLIENTS=1)")
	}
	fmt.Fprintln(os.Stderr, "SKIP "+t.Name()+": "+msg)
	t.Skip(msg)
}

// clientEnv is the environment for the Python clients: no proxies, and the
// simulator's certificate as the only CA (requests ignores verify=False when
// REQUESTS_CA_BUNDLE is set, so we set it to the right file).
func clientEnv(t *testing.T, sim *redfishsim.Server) []string {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sim.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "REQUESTS_CA_BUNDLE="+ca, "NO_PROXY=127.0.0.1,localhost", "CA_FILE="+ca)
}

func caFile(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "CA_FILE="); ok {
			return v
		}
	}
	return "-"
}

func run(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRedfishtool(t *testing.T) {
	tool, err := exec.LookPath("redfishtool")
	if err != nil {
		missingClient(t, "redfishtool", "redfishtool")
	}
	e := start(t, redfishsim.Config{Systems: 2, User: "admin", Password: "p4ss"})
	u, _ := url.Parse(e.url)
	env := clientEnv(t, e.sim)
	rf := func(args ...string) (string, error) {
		t.Helper()
		base := []string{"-n", "-T", "30", "-r", u.Host, "-u", "admin", "-p", "p4ss", "-S", "Always"}
		out, err := run(t, env, tool, append(base, args...)...)
		t.Logf("redfishtool %s:\n%s", strings.Join(args, " "), out)
		return out, err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := rf(args...)
		if err != nil {
			t.Fatalf("redfishtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	sys := e.sim.System("2")

	var col struct {
		Members []struct {
			ID string `json:"@odata.id"`
		}
		Count int `json:"Members@odata.count"`
	}
	if err := json.Unmarshal([]byte(must("Systems")), &col); err != nil || col.Count != 2 || col.Members[1].ID != "/redfish/v1/Systems/2" {
		t.Fatalf("Systems: %v %+v", err, col)
	}
	var got struct {
		ID         string `json:"Id"`
		PowerState string
		Boot       struct{ BootSourceOverrideEnabled, BootSourceOverrideTarget string }
	}
	if err := json.Unmarshal([]byte(must("Systems", "-I", "2", "get")), &got); err != nil || got.ID != "2" || got.PowerState != "Off" {
		t.Fatalf("Systems -I 2 get: %v %+v", err, got)
	}

	must("Systems", "-I", "2", "reset", "On")
	wantPower(t, sys, "On")
	must("Systems", "-I", "2", "reset", "ForceOff")
	wantPower(t, sys, "Off")
	must("Systems", "-I", "2", "setBootOverride", "Once", "Pxe")
	wantBoot(t, sys, "Once", "Pxe")
	must("Systems", "-I", "2", "reset", "On")
	wantPower(t, sys, "On")
	wantBoot(t, sys, "Disabled", "Pxe")
	if r, b := sys.Resets(), sys.Boots(); !slices.Equal(r, []string{"On", "ForceOff", "On"}) || !slices.Equal(b, []string{"None", "Pxe"}) {
		t.Fatalf("Resets %v Boots %v", r, b)
	}
	if e.sim.System("1").PowerState() != "Off" || len(e.sim.System("1").Resets()) != 0 {
		t.Fatal("system 1 was touched")
	}

	// Session authentication; redfishtool deletes its session on exit.
	out := must("-A", "Session", "Systems", "-I", "2", "get", "-P", "PowerState")
	if !strings.Contains(out, `"PowerState": "On"`) {
		t.Fatalf("session get: %s", out)
	}
	if n := e.sim.Sessions(); n != 0 {
		t.Fatalf("%d sessions left after redfishtool -A Session", n)
	}

	// Server-side rejections, through redfishtool's raw requests.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"raw", "PATCH", "/redfish/v1/Systems/2", "-d", `{"Boot":{"BootSourceOverrideTarget":"Floppy"}}`}, "status_code: 400"},
		{[]string{"raw", "POST", "/redfish/v1/Systems/2/Actions/ComputerSystem.Reset", "-d", `{"ResetType":"Bogus"}`}, "status_code: 400"},
		{[]string{"raw", "GET", "/redfish/v1/NoSuchThing"}, "status_code: 404"},
	} {
		out, err := rf(c.args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Fatalf("redfishtool %v: err %v, output %s", c.args, err, out)
		}
	}
	// Client-side checks against the advertised allowable values.
	if out, err := rf("Systems", "-I", "2", "setBootOverride", "Once", "Floppy"); err == nil || !strings.Contains(out, "AllowableValues") {
		t.Fatalf("Floppy accepted: %v %s", err, out)
	}
	wantBoot(t, sys, "Disabled", "Pxe")

	// Wrong password, Basic and session.
	base := []string{"-n", "-r", u.Host, "-u", "admin", "-p", "wrong", "-S", "Always"}
	for _, auth := range []string{"Basic", "Session"} {
		out, err := run(t, env, tool, append(base, "-A", auth, "Systems")...)
		if err == nil || !strings.Contains(out, "401") {
			t.Fatalf("wrong password (%s): err %v, output %s", auth, err, out)
		}
	}
}

// sushyPython returns a python3 that can import sushy.
func sushyPython(t *testing.T) string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		p, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import sushy").Run() == nil {
			return p
		}
	}
	missingClient(t, "python3 with the sushy library", "python3-sushy")
	return ""
}

func TestSushy(t *testing.T) {
	py := sushyPython(t)
	e := start(t, redfishsim.Config{Systems: 2, MACs: map[string]string{"2": "52:54:00:12:34:56"}, PatchStatus: 204})
	env := clientEnv(t, e.sim)
	script := filepath.Join("..", "..", "..", "..", "testdata", "redfish", "sushy_client.py")
	out, err := run(t, env, py, script, e.url, "admin", "password", "2", caFile(env))
	t.Logf("sushy_client.py:\n%s", out)
	if err != nil {
		t.Fatalf("sushy_client.py: %v\n%s", err, out)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.ContainsAny(k, " :") {
			kv[k] = v
		}
	}
	want := map[string]string{
		"redfish_version":  "1.15.0",
		"session_token":    "yes",
		"systems":          "1,2",
		"power_before":     "off",
		"allowed_resets":   "ForceOff,ForceOn,ForceRestart,GracefulRestart,GracefulShutdown,Nmi,On,PushPowerButton",
		"bad_reset":        "InvalidParameterValueError",
		"bad_patch":        "400 Base.1.22.PropertyValueNotInList",
		"boot_after_patch": "once/pxe",
		"power_after_on":   "on",
		"boot_after_on":    "disabled/pxe",
		"power_after_off":  "off",
		"logged_out":       "yes",
	}
	for k, v := range want {
		if !strings.EqualFold(kv[k], v) {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
	if !strings.Contains(kv["macs"], "52:54:00:12:34:56") {
		t.Errorf("macs = %q", kv["macs"])
	}
	sys := e.sim.System("2")
	wantPower(t, sys, "Off")
	wantBoot(t, sys, "Disabled", "Pxe")
	if r, b := sys.Resets(), sys.Boots(); !slices.Equal(r, []string{"On", "ForceOff"}) || !slices.Equal(b, []string{"Pxe"}) {
		t.Fatalf("Resets %v Boots %v", r, b)
	}
	if n := e.sim.Sessions(); n != 0 {
		t.Fatalf("%d sessions left after sushy logged out", n)
	}
}

func TestGofish(t *testing.T) {
	for _, basicAuth := range []bool{false, true} {
		t.Run(fmt.Sprintf("basic=%v", basicAuth), func(t *testing.T) {
			e := start(t, redfishsim.Config{Systems: 3, PowerDelay: 20 * time.Millisecond})
			c, err := gofish.Connect(gofish.ClientConfig{
				Endpoint:   e.url,
				Username:   "admin",
				Password:   "password",
				HTTPClient: e.sim.Client(),
				BasicAuth:  basicAuth,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !basicAuth && e.sim.Sessions() != 1 {
				t.Fatalf("gofish session login: %d sessions", e.sim.Sessions())
			}
			systems, err := c.GetService().Systems()
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range systems {
				ids = append(ids, s.ID)
			}
			slices.Sort(ids) // gofish fetches members concurrently
			if !slices.Equal(ids, []string{"1", "2", "3"}) {
				t.Fatalf("systems %v", ids)
			}
			sys, err := schemas.GetComputerSystem(c, "/redfish/v1/Systems/3")
			if err != nil {
				t.Fatal(err)
			}
			if sys.PowerState != schemas.OffPowerState || sys.SerialNumber != e.sim.System("3").SerialNumber() {
				t.Fatalf("system 3: %s %s", sys.PowerState, sys.SerialNumber)
			}
			if err := sys.SetBoot(&schemas.Boot{
				BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled,
				BootSourceOverrideTarget:  schemas.PxeBootSource,
			}); err != nil {
				t.Fatal(err)
			}
			wantBoot(t, e.sim.System("3"), "Once", "Pxe")
			if _, err := sys.Reset(schemas.OnResetType); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e.sim.System("3").WaitPowerState(ctx, "On"); err != nil {
				t.Fatal(err)
			}
			if _, err := sys.Reset("Bogus"); err == nil {
				t.Fatal("gofish accepted an unadvertised reset type")
			}
			sys, err = schemas.GetComputerSystem(c, "/redfish/v1/Systems/3")
			if err != nil {
				t.Fatal(err)
			}
			if sys.PowerState != schemas.OnPowerState || sys.Boot.BootSourceOverrideEnabled != schemas.DisabledBootSourceOverrideEnabled {
				t.Fatalf("after power-on: %s, boot %s/%s", sys.PowerState, sys.Boot.BootSourceOverrideEnabled, sys.Boot.BootSourceOverrideTarget)
			}
			if b := e.sim.System("3").Boots(); !slices.Equal(b, []string{"Pxe"}) {
				t.Fatalf("Boots %v", b)
			}
			nics, err := sys.EthernetInterfaces()
			if err != nil {
				t.Fatal(err)
			}
			var macs []string
			for _, n := range nics {
				macs = append(macs, n.PermanentMACAddress)
			}
			if !slices.Contains(macs, e.sim.System("3").MAC()) {
				t.Fatalf("NIC MACs %v, want %s", macs, e.sim.System("3").MAC())
			}
			c.Logout()
			if n := e.sim.Sessions(); n != 0 {
				t.Fatalf("%d sessions after Logout", n)
			}
		})
	}
}
