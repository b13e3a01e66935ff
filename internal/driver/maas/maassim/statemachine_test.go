package maassim

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStatusTable(t *testing.T) {
	labels := map[string]bool{}
	for i, s := range statuses {
		if s.label == "" || labels[s.label] {
			t.Errorf("status %d: empty or duplicate label %q", i, s.label)
		}
		labels[s.label] = true
		if _, ok := transitions[i]; !ok {
			t.Errorf("status %s has no transitions", s.label)
		}
	}
	for _, tc := range []struct {
		from, to int
		ok       bool
	}{
		{statusNew, statusCommissioning, true}, {statusCommissioning, statusTesting, true},
		{statusTesting, statusReady, true}, {statusReady, statusAllocated, true},
		{statusAllocated, statusDeploying, true}, {statusDeploying, statusDeployed, true},
		{statusDeployed, statusReleasing, true}, {statusReleasing, statusReady, true},
		{statusDiskErasing, statusReady, true}, {statusReady, statusReady, true},
		{statusReady, statusDeploying, false}, {statusNew, statusAllocated, false},
		{statusDeployed, statusCommissioning, false}, {statusDiskErasing, statusDeployed, false},
		{statusFailedReleasing, statusDeployed, false}, {statusBroken, statusDeployed, true},
	} {
		if got := transitionAllowed(tc.from, tc.to); got != tc.ok {
			t.Errorf("%s -> %s: allowed %v, want %v", statusLabel(tc.from), statusLabel(tc.to), got, tc.ok)
		}
	}
	if e := errTransition(statusReady, statusDeploying); e.status != 409 || e.body != "Invalid transition: Ready -> Deploying." {
		t.Errorf("refusal %d %q", e.status, e.body)
	}
	if s, ok := statusByName("failed_commissioning"); !ok || s != statusFailedCommissioning {
		t.Errorf("status filter failed_commissioning → %d %v", s, ok)
	}
}

// TestTimedTransitions follows a machine through its life on the fake clock, checking the
// statuses at the boundaries and the BMC calls.
func TestTimedTransitions(t *testing.T) {
	clk := newClock()
	d := Delays{Commissioning: 10 * time.Second, Testing: 5 * time.Second, Deploying: 30 * time.Second,
		Releasing: 3 * time.Second, DiskErasing: 20 * time.Second}
	s, _, c := newServer(t, Config{Now: clk.Now, Delays: d})
	bmc := &fakeBMC{}
	sid := s.AddMachine(machineSpec("node1", bmc))
	at := func(want string) {
		t.Helper()
		ms, _ := s.Snapshot(sid)
		if ms.StatusName != want {
			t.Fatalf("status %s, want %s", ms.StatusName, want)
		}
	}
	calls := func(want ...string) {
		t.Helper()
		if got := bmc.Calls(); !slices.Equal(got, want) {
			t.Fatalf("BMC calls %v, want %v", got, want)
		}
		bmc.Reset()
	}
	at("New")
	must(t, c.post("machines/"+sid+"/?op=commission", vals("enable_ssh", "0", "skip_bmc_config", "1")), 200)
	calls("boot pxe", "on")
	clk.Advance(10*time.Second - time.Nanosecond)
	at("Commissioning")
	clk.Advance(time.Nanosecond)
	at("Testing")
	clk.Advance(5 * time.Second)
	at("Ready")
	calls("off")
	// Several periods at once: settle runs every due step.
	must(t, c.post("machines/?op=allocate", vals("system_id", sid)), 200)
	at("Allocated")
	must(t, c.post("machines/"+sid+"/?op=deploy", vals("distro_series", "ubuntu/jammy")), 200)
	calls("boot pxe", "on")
	clk.Advance(29 * time.Second)
	at("Deploying")
	clk.Advance(time.Second)
	at("Deployed")
	calls()
	must(t, c.post("machines/"+sid+"/?op=release", vals("erase", "True", "quick_erase", "True")), 200)
	at("Disk erasing")
	calls("boot pxe", "off", "on") // erasing power-cycles into the ephemeral environment
	clk.Advance(20 * time.Second)
	at("Ready")
	calls("off")
	// A machine commissioned and tested in one jump of the clock.
	must(t, c.post("machines/"+sid+"/?op=commission", nil), 200)
	clk.Advance(time.Hour)
	at("Ready")
	ms, _ := s.Snapshot(sid)
	if ms.Owner != "" || ms.PowerState != "off" || !ms.Commissioned {
		t.Errorf("after recommissioning: %+v", ms)
	}
	// Release without erasing powers off and waits for the power to be confirmed.
	must(t, c.post("machines/"+sid+"/?op=deploy", nil), 200)
	clk.Advance(30 * time.Second)
	at("Deployed")
	bmc.Reset()
	must(t, c.post("machines/"+sid+"/?op=release", nil), 200)
	at("Releasing")
	calls("off")
	clk.Advance(3 * time.Second)
	at("Ready")
}

// TestReleaseManualIsImmediate: a machine whose power cannot be queried is Ready at once.
func TestReleaseManualIsImmediate(t *testing.T) {
	clk := newClock()
	s, _, c := newServer(t, Config{Now: clk.Now, Delays: testDelays})
	bmc := &fakeBMC{}
	spec := machineSpec("manual1", bmc)
	sid := s.AddMachine(spec)
	must(t, c.post("machines/"+sid+"/?op=commission", nil), 200)
	clk.Advance(time.Minute)
	must(t, c.post("machines/"+sid+"/?op=deploy", nil), 200)
	clk.Advance(time.Minute)
	must(t, c.put("machines/"+sid+"/", vals("power_type", "manual")), 200)
	bmc.Reset()
	m := must(t, c.post("machines/"+sid+"/?op=release", nil), 200).obj(t)
	if m["status_name"] != "Ready" || m["power_state"] != "unknown" || len(bmc.Calls()) != 0 {
		t.Errorf("released manual machine: %v %v, BMC %v", m["status_name"], m["power_state"], bmc.Calls())
	}
	if r := c.post("machines/"+sid+"/?op=power_off", nil); r.status != 200 || string(r.body) != "null" {
		t.Errorf("power_off of a manual machine: %s", r)
	}
}

func TestMachineFaults(t *testing.T) {
	for _, tc := range []struct {
		fault      FaultKind
		setup      string // "commission", "deploy", "release", "erase"
		advance    time.Duration
		want       string
		errContain string
	}{
		{CommissionFails, "commission", time.Minute, "Failed commissioning", ""},
		{TestingFails, "commission", time.Minute, "Failed testing", ""},
		{CommissionHangs, "commission", 29 * time.Minute, "Commissioning", ""},
		{CommissionHangs, "commission", 30 * time.Minute, "Failed commissioning",
			"Node operation 'Commissioning' timed out after 30 minutes."},
		{DeployFails, "deploy", time.Minute, "Failed deployment", ""},
		{DeployHangs, "deploy", 29 * time.Minute, "Deploying", ""},
		{DeployHangs, "deploy", 31 * time.Minute, "Failed deployment", "Node operation 'Deploying' timed out after 30 minutes."},
		{ReleaseFails, "release", time.Minute, "Releasing failed", ""},
		{EraseFails, "erase", time.Minute, "Failed disk erasing", ""},
	} {
		t.Run(string(tc.fault)+"/"+tc.want, func(t *testing.T) {
			f := newFixture(t)
			f.srv.Inject(Fault{Kind: tc.fault, Hostname: "m-ready"})
			sid := f.ids["ready"]
			switch tc.setup {
			case "commission":
				must(t, f.c.post("machines/"+sid+"/?op=commission", nil), 200)
			case "deploy":
				must(t, f.c.post("machines/"+sid+"/?op=deploy", nil), 200)
			case "release", "erase":
				must(t, f.c.post("machines/"+sid+"/?op=deploy", nil), 200)
				f.clock.Advance(time.Minute)
				must(t, f.c.post("machines/"+sid+"/?op=release", vals("erase", map[bool]string{true: "True"}[tc.setup == "erase"])), 200)
			}
			f.clock.Advance(tc.advance)
			ms, _ := f.srv.Snapshot(sid)
			if ms.StatusName != tc.want || !strings.Contains(ms.ErrorDescription, tc.errContain) {
				t.Fatalf("status %s (%q), want %s (%q)", ms.StatusName, ms.ErrorDescription, tc.want, tc.errContain)
			}
			// The fault was for one operation of this machine: the other machines are unaffected.
			if other, _ := f.srv.Snapshot(f.ids["deployed"]); other.StatusName != "Deployed" {
				t.Errorf("other machine %s", other.StatusName)
			}
		})
	}
}

// TestFaultCountAndHangForever: Count operations fail, then they succeed; a negative
// NodeTimeout makes a hang last forever.
func TestFaultCountAndHangForever(t *testing.T) {
	clk := newClock()
	s, _, c := newServer(t, Config{Now: clk.Now, Delays: testDelays, NodeTimeout: -1})
	sid := s.AddMachine(machineSpec("n1", &fakeBMC{}))
	s.Inject(Fault{Kind: CommissionFails, Hostname: sid, Count: 2})
	for i, want := range []string{"Failed commissioning", "Failed commissioning", "Ready"} {
		must(t, c.post("machines/"+sid+"/?op=commission", nil), 200)
		clk.Advance(time.Minute)
		if ms, _ := s.Snapshot(sid); ms.StatusName != want {
			t.Fatalf("commissioning %d: %s, want %s", i+1, ms.StatusName, want)
		}
	}
	s.Inject(Fault{Kind: DeployHangs})
	must(t, c.post("machines/"+sid+"/?op=deploy", nil), 200)
	clk.Advance(1000 * time.Hour)
	if ms, _ := s.Snapshot(sid); ms.StatusName != "Deploying" {
		t.Fatalf("hung deployment: %s", ms.StatusName)
	}
	m := must(t, c.post("machines/"+sid+"/?op=abort", nil), 200).obj(t)
	if m["status_name"] != "Allocated" {
		t.Errorf("abort: %v", m["status_name"])
	}
	// Failed results are recorded.
	res := must(t, c.get("commissioning-results/", vals("system_id", sid, "result_type", "0")), 200).list(t)
	failed := 0
	for _, r := range res {
		if r.(map[string]any)["script_result"] != float64(0) {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d failed commissioning results, want 2", failed)
	}
}

func TestRequestFaults(t *testing.T) {
	s, _, c := newServer(t, Config{})
	s.Inject(Fault{Kind: Unavailable, Count: 3})
	for i := 0; i < 3; i++ {
		r := c.get("version/", nil)
		if r.status != 503 || r.hdr.Get("Retry-After") != "10" {
			t.Fatalf("request %d: %s", i, r)
		}
	}
	must(t, c.get("version/", nil), 200)
	s.Inject(Fault{Kind: InternalError})
	must(t, c.get("machines/", nil), 500)
	s.Inject(Fault{Kind: TooManyRequests, Count: 1})
	must(t, c.post("fabrics/", vals("name", "x")), 429)
	if r := must(t, c.get("fabrics/", nil), 200); len(r.list(t)) != 1 {
		t.Errorf("the refused POST created a fabric: %s", r.body)
	}
	s.Inject(Fault{Kind: FabricsVanish})
	if r := must(t, c.get("fabrics/", nil), 200); string(r.body) != "[]" {
		t.Errorf("vanished fabrics: %s", r.body)
	}
	if r := must(t, c.get("fabrics/", nil), 200); len(r.list(t)) != 1 {
		t.Errorf("fabrics after the fault: %s", r.body)
	}
	if got := s.Requests(); got != 9 {
		t.Errorf("Requests() = %d, want 9", got)
	}
}

// TestCommissioningResetsConfiguration: commissioning reports the hardware again: the
// network configuration returns to the discovered one, storage to the default layout.
func TestCommissioningResetsConfiguration(t *testing.T) {
	f := newFixture(t)
	sid, c := f.ids["ready"], f.c
	must(t, c.post("nodes/"+sid+"/interfaces/?op=create_bond",
		vals("name", "bond0", "parents", f.ids["ready_eth0"], "parents", f.ids["ready_eth1"])), 200)
	must(t, c.post("nodes/"+sid+"/blockdevices/"+f.ids["ready_sdb"]+"/partitions/", vals("size", "1G")), 200)
	must(t, c.post("nodes/"+sid+"/volume-groups/", vals("name", "vg0", "block_devices", f.ids["ready_sda"])), 400)
	must(t, c.post("machines/"+sid+"/?op=commission", vals("skip_storage", "1")), 200)
	f.clock.Advance(time.Minute)
	ms, _ := f.srv.Snapshot(sid)
	if len(ms.Interfaces) != 2 || ms.Interfaces[0].Type != "physical" || ms.Interfaces[0].Links[0].Mode != "auto" {
		t.Fatalf("interfaces after commissioning: %+v", ms.Interfaces)
	}
	if len(ms.BlockDevices[1].Partitions) != 1 {
		t.Fatalf("skip_storage lost the partition on sdb: %+v", ms.BlockDevices[1])
	}
	must(t, c.post("machines/"+sid+"/?op=commission", nil), 200)
	f.clock.Advance(time.Minute)
	ms, _ = f.srv.Snapshot(sid)
	if len(ms.BlockDevices[1].Partitions) != 0 || ms.StorageLayout != "flat" ||
		ms.BlockDevices[0].Partitions[0].Filesystem.MountPoint != "/" {
		t.Fatalf("storage after commissioning: %+v", ms.BlockDevices)
	}
	if ms.Interfaces[0].ID != mustAtoi(t, f.ids["ready_eth0"]) {
		t.Errorf("interface ids changed: %d", ms.Interfaces[0].ID)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// TestJournal: the journal holds the decoded fields of a base64 multipart request.
func TestJournal(t *testing.T) {
	s, _, c := newServer(t, Config{})
	s.ResetJournal()
	must(t, c.post("tags/", vals("name", "kp", "kernel_opts", "hugepagesz=1G hugepages=8")), 200)
	j := s.Journal()
	if len(j) != 1 || j[0].Method != "POST" || j[0].Path != Prefix+"tags/" || j[0].Status != 200 ||
		j[0].Fields.Get("kernel_opts") != "hugepagesz=1G hugepages=8" {
		t.Fatalf("journal %+v", j)
	}
	if _, ok := s.Snapshot("nosuch"); ok {
		t.Error("Snapshot of an unknown machine")
	}
}

func TestAddMachineDefaults(t *testing.T) {
	s := New(Config{})
	a := s.AddMachine(MachineSpec{Hostname: "dup"})
	b := s.AddMachine(MachineSpec{Hostname: "dup"})
	ma, _ := s.Snapshot(a)
	mb, _ := s.Snapshot(b)
	if a == b || len(a) != 6 || ma.Hostname != "dup" || mb.Hostname == "dup" {
		t.Fatalf("ids %s %s hostnames %s %s", a, b, ma.Hostname, mb.Hostname)
	}
	if len(ma.Interfaces) != 1 || ma.Interfaces[0].MAC == "" || ma.StatusName != "New" || ma.PowerState != "unknown" {
		t.Errorf("defaults: %+v", ma)
	}
	if len(strings.Split(s.APIKey(), ":")) != 3 {
		t.Errorf("API key %q", s.APIKey())
	}
	if got := New(Config{APIKey: "a:b:c"}).APIKey(); got != "a:b:c" {
		t.Errorf("API key %q", got)
	}
	if ids := s.Machines(); len(ids) != 2 {
		t.Errorf("Machines() = %v", ids)
	}
}

func TestListenAndServe(t *testing.T) {
	s := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	c := &client{t: t, base: "http://" + l.Addr().String(), key: s.APIKey()}
	must(t, c.get("version/", nil), 200)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
