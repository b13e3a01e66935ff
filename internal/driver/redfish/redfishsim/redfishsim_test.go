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
