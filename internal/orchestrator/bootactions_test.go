package orchestrator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// hasMessage reports whether the task has a message with this text about this node.
func hasMessage(tk *task.Task, node, text string) bool {
	for _, m := range tk.Result.Messages {
		if m.Context == node && m.Message == text {
			return true
		}
	}
	return false
}

func TestDeployHandsNodesTheirBootActions(t *testing.T) {
	cfg := testConfig()
	cfg.BootActionURL = "http://drydock.example:9000/api/v1.0/bootactions/"
	h := newHarness(t, cfg)
	h.start()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultSuccess || len(dep.Result.Successes) != 4 {
		t.Fatalf("deploy: %+v\n%s", dep.Result, messagesOf(dep))
	}
	keys := map[string]bool{}
	for _, n := range allNodes {
		placed := h.fake.placedOn(n)
		if len(placed) != 1 || placed[0] == nil {
			t.Fatalf("%s was handed %v", n, placed)
		}
		ba := placed[0]
		if len(ba.Key) != 32 || keys[ba.KeyHex()] {
			t.Errorf("%s: key of %d bytes, or shared with another node", n, len(ba.Key))
		}
		keys[ba.KeyHex()] = true
		if ba.ReportURL != cfg.BootActionURL {
			t.Errorf("%s: report URL %q", n, ba.ReportURL)
		}
		// motd targets every node and signals; compute-tuning targets the compute nodes, silently.
		names := map[string]bool{}
		for _, a := range ba.Actions {
			names[a.Name] = a.Signaling
			if len(a.ID) != 26 {
				t.Errorf("%s: action id %q", n, a.ID)
			}
		}
		wantTuning := strings.HasPrefix(n, "cmp")
		if sig, ok := names["motd"]; !ok || !sig {
			t.Errorf("%s: motd %v (actions %+v)", n, ok, ba.Actions)
		}
		if sig, ok := names["compute-tuning"]; ok != wantTuning || sig {
			t.Errorf("%s: compute-tuning present %v signaling %v", n, ok, sig)
		}
		if !strings.HasPrefix(ba.UserData, "#cloud-config\n") || !strings.Contains(ba.UserData, "chrony") ||
			!strings.Contains(ba.UserData, "1.8.18-11ubuntu2") {
			t.Errorf("%s: user data %q", n, ba.UserData)
		}
		if !hasMessage(dep, n, "Boot action motd completed with status success.") {
			t.Errorf("%s: no success message\n%s", n, messagesOf(dep))
		}
		// The records: the context is current, the silent action unreported.
		bc, err := h.st.GetBootActionContext(context.Background(), n)
		if err != nil || bc.DeployTaskID != dep.ID || !strings.HasPrefix(bc.Deployment, dep.ID.String()) {
			t.Fatalf("%s context: %+v %v", n, bc, err)
		}
		acts, _ := h.st.ListBootActions(context.Background(), n, bc.Deployment)
		for _, a := range acts {
			want := store.BootActionSuccess
			if a.Name == "compute-tuning" {
				want = store.BootActionUnreported
			}
			if a.Status != want {
				t.Errorf("%s %s: %s, want %s", n, a.Name, a.Status, want)
			}
		}
	}
	for key, r := range h.runs(dep.ID) {
		if strings.HasPrefix(key, "bootaction_report/") && r.State != task.StepSucceeded {
			t.Errorf("%s: %s %s", key, r.State, r.Message)
		}
	}
}

func TestBootActionOutcomesDecideTheNodes(t *testing.T) {
	cfg := testConfig()
	cfg.Timeouts = map[string]time.Duration{"bootaction_report": 1500 * time.Millisecond}
	cfg.BootActionRecheck = time.Hour // only the store's wake-ups end the waits early
	h := newHarness(t, cfg)
	h.fake.outcome = map[string]string{"cmp01": store.BootActionFailure, "cmp02": "none"}
	h.start()
	start := time.Now()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultPartialSuccess {
		t.Fatalf("deploy: %+v\n%s", dep.Result, messagesOf(dep))
	}
	if strings.Join(dep.Result.Successes, ",") != "ctl01,cmp03" || strings.Join(dep.Result.Failures, ",") != "cmp01,cmp02" {
		t.Errorf("successes %v failures %v", dep.Result.Successes, dep.Result.Failures)
	}
	if !hasMessage(dep, "cmp01", "Boot action motd completed with status failure.") || !hasMessage(dep, "cmp02", "Boot action motd timed out.") {
		t.Errorf("messages:\n%s", messagesOf(dep))
	}
	runs := h.runs(dep.ID)
	if r := runs["bootaction_report/cmp02"]; r.State != task.StepFailed || !strings.Contains(r.Message, "timed out") {
		t.Errorf("cmp02: %s %s", r.State, r.Message)
	}
	if r := runs["bootaction_report/cmp01"]; r.State != task.StepFailed || !strings.Contains(r.Message, "motd") {
		t.Errorf("cmp01: %s %s", r.State, r.Message)
	}
	// The timeout is what the task waited for, not the hour-long re-check.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("deploy took %s", took)
	}
}

func TestBootActionReportIsWokenByReports(t *testing.T) {
	cfg := testConfig()
	cfg.BootActionRecheck = time.Hour
	h := newHarness(t, cfg)
	h.fake.outcome = map[string]string{"ctl01": "none", "cmp01": "none", "cmp02": "none", "cmp03": "none"}
	h.start()
	tk := h.submit(task.ActionDeployNodes, nil)
	// Wait until every node waits for its report, then report as the nodes would.
	waitFor(t, func() bool {
		rs := h.runs(tk.ID)
		for _, n := range allNodes {
			if rs["bootaction_report/"+n].State != task.StepRunning {
				return false
			}
		}
		return true
	})
	reported := time.Now()
	for _, n := range allNodes {
		ba := h.fake.placedOn(n)[0]
		for _, a := range ba.Actions {
			if a.Signaling {
				if _, err := h.st.ReportBootAction(context.Background(), a.ID, store.BootActionSuccess, nil, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	dep := h.wait(tk.ID)
	if dep.Result.Status != task.ResultSuccess {
		t.Fatalf("deploy: %+v\n%s", dep.Result, messagesOf(dep))
	}
	if took := time.Since(reported); took > 5*time.Second {
		t.Errorf("the reports were seen %s later", took)
	}
}

func TestRetriedDeployKeepsTheKey(t *testing.T) {
	h := newHarness(t, testConfig())
	h.fake.on("deploy_node", "cmp02", func(ctx context.Context, c driver.Call, n int) driver.Result {
		if n == 1 {
			return driver.Unreach("provisioner busy")
		}
		return driver.OK("deployed")
	})
	h.start()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultSuccess {
		t.Fatalf("deploy: %+v\n%s", dep.Result, messagesOf(dep))
	}
	placed := h.fake.placedOn("cmp02")
	if len(placed) != 2 || placed[0].KeyHex() != placed[1].KeyHex() || placed[0].Actions[0].ID != placed[1].Actions[0].ID {
		t.Fatalf("the retried deploy was handed another context: %+v", placed)
	}
	// Deploying again is another deployment: a new key, the old incomplete actions superseded.
	again := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if again.Result.Status != task.ResultSuccess {
		t.Fatalf("second deploy: %+v", again.Result)
	}
	placed = h.fake.placedOn("cmp02")
	if placed[len(placed)-1].KeyHex() == placed[0].KeyHex() {
		t.Error("a new deployment reused the old key")
	}
}

func TestBuildDataIsStoredAndResolvesDeviceAliases(t *testing.T) {
	h := newHarness(t, testConfig())
	const lshw = `<?xml version="1.0"?><list><node id="m" class="system">
<node id="network:0" class="network"><businfo>pci@0000:18:00.0</businfo><logicalname>enp24s0</logicalname></node>
<node id="disk:0" class="disk"><businfo>scsi@0:0.0.0</businfo><logicalname>/dev/sdq</logicalname></node>
</node></list>`
	h.fake.on("configure_hardware", "*", func(ctx context.Context, c driver.Call, n int) driver.Result {
		r := driver.OK("commissioned")
		r.BuildData = []driver.BuildData{{Generator: "lshw", Format: "text/xml", Data: []byte(lshw)},
			{Generator: "lldp", Format: "text/xml", Data: []byte("<lldp/>")}}
		return r
	})
	h.start()
	prep := h.wait(h.submit(task.ActionPrepareNodes, nil).ID)
	if prep.Result.Status != task.ResultSuccess {
		t.Fatalf("prepare: %+v", prep.Result)
	}
	bds, err := h.st.ListBuildData(context.Background(), store.BuildDataQuery{NodeName: "ctl01"})
	if err != nil || len(bds) != 2 || bds[0].Generator != "lshw" || bds[1].Generator != "lldp" {
		t.Fatalf("build data: %+v %v", bds, err)
	}
	sub, err := h.st.GetTask(context.Background(), bds[0].TaskID)
	if err != nil || sub.Step != "configure_hardware" || sub.ParentID == nil || *sub.ParentID != prep.ID {
		t.Errorf("build data task: %+v %v", sub, err)
	}
	if !hasMessage(prep, "ctl01", "Saved build data of ctl01: lshw, lldp.") {
		t.Errorf("messages:\n%s", messagesOf(prep))
	}
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if dep.Result.Status != task.ResultSuccess {
		t.Fatalf("deploy: %+v", dep.Result)
	}
	// The example's hardware profile has aliases at these addresses (see examples/site).
	for _, op := range []string{"apply_node_networking", "apply_node_storage", "deploy_node"} {
		calls := h.fake.callsOf(op, "ctl01")
		if len(calls) != 1 {
			t.Fatalf("%s: %d calls", op, len(calls))
		}
		if got := calls[0].DeviceName("nic-pxe"); got != "enp24s0" {
			t.Errorf("%s: nic-pxe resolved to %q (names %v)", op, got, calls[0].DeviceNames)
		}
		if got := calls[0].DeviceName("no-such-alias"); got != "no-such-alias" {
			t.Errorf("unknown alias resolved to %q", got)
		}
	}
}

func TestFoundButRefusedNodeIsNotRebooted(t *testing.T) {
	h := newHarness(t, testConfig())
	h.fake.on("identify_node", "cmp01", func(ctx context.Context, c driver.Call, n int) driver.Result {
		r := driver.Fail("machine abc123 found, but MAAS refused the new hostname: 403")
		r.Data = map[string]any{"system_id": "abc123"}
		return r
	})
	h.start()
	prep := h.wait(h.submit(task.ActionPrepareNodes, nil).ID)
	if strings.Join(prep.Result.Failures, ",") != "cmp01" {
		t.Fatalf("prepare: %+v", prep.Result)
	}
	if n := h.fake.count("power_cycle", "cmp01"); n != 0 {
		t.Errorf("a machine the provisioner knows was power-cycled %d times", n)
	}
}

func TestDeployingADeployedNodeKeepsItsContext(t *testing.T) {
	cfg := testConfig()
	cfg.BootActionRecheck = time.Hour
	h := newHarness(t, cfg)
	h.start()
	first := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if first.Result.Status != task.ResultSuccess {
		t.Fatalf("first deploy: %+v", first.Result)
	}
	before, err := h.st.GetBootActionContext(context.Background(), "cmp01")
	if err != nil {
		t.Fatal(err)
	}
	// Now the provisioner reports every node deployed: deploying again hands out no new key
	// and does not wait for reports that will never come.
	h.fake.on("identify_node", "*", func(ctx context.Context, c driver.Call, n int) driver.Result {
		return driver.Result{Outcome: driver.Done, State: &driver.NodeState{Provisioner: "Deployed"}}
	})
	h.fake.on("deploy_node", "*", func(ctx context.Context, c driver.Call, n int) driver.Result {
		return driver.Result{Outcome: driver.Done, Skipped: true, Message: "already deployed"}
	})
	start := time.Now()
	again := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if again.Result.Status != task.ResultSuccess || time.Since(start) > 5*time.Second {
		t.Fatalf("second deploy: %+v after %s\n%s", again.Result, time.Since(start), messagesOf(again))
	}
	after, err := h.st.GetBootActionContext(context.Background(), "cmp01")
	if err != nil || after.Deployment != before.Deployment || after.DeployTaskID != first.ID {
		t.Errorf("the node's context changed: %+v -> %+v (%v)", before, after, err)
	}
	for key, r := range h.runs(again.ID) {
		if strings.HasPrefix(key, "bootaction_report/") && (r.State != task.StepSkipped || !strings.Contains(r.Message, "deployed earlier")) {
			t.Errorf("%s: %s %s", key, r.State, r.Message)
		}
	}
	if placed := h.fake.placedOn("cmp01"); placed[len(placed)-1] != nil {
		t.Error("a deployed node was handed a new context")
	}
}

func TestRetryAfterABootActionTimeoutSeesLateReports(t *testing.T) {
	cfg := testConfig()
	cfg.Timeouts = map[string]time.Duration{"bootaction_report": 500 * time.Millisecond}
	h := newHarness(t, cfg)
	h.fake.outcome = map[string]string{"cmp02": "none"}
	h.start()
	dep := h.wait(h.submit(task.ActionDeployNodes, nil).ID)
	if strings.Join(dep.Result.Failures, ",") != "cmp02" {
		t.Fatalf("deploy: %+v", dep.Result)
	}
	// The node reports late; retrying the task runs bootaction_report again, on the same
	// deployment (deploy_node passed and is not repeated).
	for _, a := range h.fake.placedOn("cmp02")[0].Actions {
		if a.Signaling {
			if _, err := h.st.ReportBootAction(context.Background(), a.ID, store.BootActionSuccess, nil, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := h.orch.Retry(context.Background(), dep.ID); err != nil {
		t.Fatal(err)
	}
	again := h.wait(dep.ID)
	for again.Retry != 1 || !again.Status.Final() {
		time.Sleep(20 * time.Millisecond)
		again = h.wait(dep.ID)
	}
	if again.Result.Status != task.ResultSuccess {
		t.Fatalf("retried deploy: %+v\n%s", again.Result, messagesOf(again))
	}
	if n := h.fake.count("deploy_node", "cmp02"); n != 1 {
		t.Errorf("cmp02 deployed %d times", n)
	}
}
