package app

// The real OOB drivers through the orchestrator, against real peers: an OpenIPMI ipmi_sim BMC,
// the Redfish simulator, a libvirt TCG domain that really PXE-boots, and a manual node.
//
// The node driver is the simulated provisioner. It only learns of a PXE boot the way MAAS does,
// by seeing the machine boot: the tests bridge every real peer's PXE boot into the simulated
// machine through its simulated BMC (next boot pxe, then power on), which starts its
// enlistment. For Redfish the simulator's system is backed by the simulated machine; for
// ipmi_sim the chassis events log is watched; for libvirt the VM's iPXE script calls an HTTP
// recorder; for the manual node the test acts as the operator once the orchestrator has told
// it to power-cycle the node.
//
// Each test is gated on its peers like the driver tests: it skips loudly when a peer is
// missing, and fails instead when DRYDOCK_REQUIRE_IPMI=1 / DRYDOCK_REQUIRE_LIBVIRT=1.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/driver/ipmi/ipmitest"
	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/driver/sim/simbmc"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/task"
)

// TestOOBTypesThroughOrchestrator runs verify_nodes then prepare_nodes on a design with one
// node of each OOB type: ctl01 over IPMI (ipmi_sim), cmp01 over Redfish (the simulator),
// cmp02 a libvirt domain that really PXE-boots, cmp03 manual. Every node ends commissioned,
// every peer saw what it should have, and no text shows a BMC password.
func TestOOBTypesThroughOrchestrator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ipmi_sim and libvirtd and boots a VM")
	}
	requireIPMISim(t)
	const (
		ipmiUser, ipmiPass       = "admin", "IpmiPw-7f3c9a"
		redfishUser, redfishPass = "root", "RfPw-2b8e41d6"
		manualPass               = "ManualPw-5d0c"
	)
	macs := map[string]string{"ctl01": "52:54:00:d8:00:01", "cmp01": "52:54:00:d8:00:02",
		"cmp02": "52:54:00:d8:00:03", "cmp03": "52:54:00:d8:00:04"}
	start := time.Now()
	dir := t.TempDir()

	// The peers.
	lv := startLibvirtEnv(t)
	t.Logf("libvirtd ready after %.1fs", time.Since(start).Seconds())
	ipmiBMC := ipmitest.Start(t, ipmiUser, ipmiPass)

	h := openOOBApp(t, dir,
		config.OOB{PollInterval: config.Duration(100 * time.Millisecond), PowerTimeout: config.Duration(60 * time.Second),
			Attempts: 3, Backoff: config.Duration(50 * time.Millisecond), RequestTimeout: config.Duration(5 * time.Second)},
		orchestrator.Config{PollInterval: 50 * time.Millisecond, RetryBackoff: 50 * time.Millisecond,
			Timeouts: map[string]time.Duration{"identify_node": 2 * time.Minute, "configure_hardware": time.Minute}})

	// The design: the example site with boot MACs; its nodes' simulated machines.
	files := exampleSite(t)
	md := map[string]map[string]string{}
	for n, mac := range macs {
		md[n] = map[string]string{"boot_mac": mac}
	}
	var err error
	if files["40-nodes.yaml"], err = simbmc.RewriteNodes(files["40-nodes.yaml"], "metadata", md); err != nil {
		t.Fatal(err)
	}
	nodes := compileNodes(t, files)
	bmcs := map[string]*sim.BMC{}
	for name := range macs {
		if nodes[name] == nil {
			t.Fatalf("the example site has no node %s", name)
		}
		if nodes[name].BootMAC != macs[name] {
			t.Fatalf("%s: boot MAC %q, want %q", name, nodes[name].BootMAC, macs[name])
		}
		if bmcs[name], err = h.a.Sim.BMC(nodes[name]); err != nil {
			t.Fatal(err)
		}
	}
	rf, rfHost, rfPort := startRedfish(t, map[string]*sim.BMC{"cmp01": bmcs["cmp01"]}, macs, redfishUser, redfishPass)
	lv.vm(t, "cmp02", macs["cmp02"])
	lv.rec.onBoot(func(mac string) {
		if mac != macs["cmp02"] {
			t.Errorf("unexpected PXE boot from %s", mac)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pxeBoot(ctx, bmcs["cmp02"]); err != nil {
			t.Errorf("mirroring the VM's PXE boot: %v", err)
		}
	})
	params := map[string]map[string]string{
		"ctl01": {"type": "ipmi", "address": "127.0.0.1", "port": strconv.Itoa(ipmiBMC.Port), "account": ipmiUser, "credential": ipmiPass},
		"cmp01": {"type": "redfish", "address": rfHost, "port": rfPort, "account": redfishUser, "credential": redfishPass,
			"system_id": "cmp01", "use_ssl": "false"},
		"cmp02": {"type": "libvirt", "libvirt_uri": "qemu:///system?socket=" + lv.sock},
		"cmp03": {"type": "manual", "credential": manualPass},
	}
	if files["40-nodes.yaml"], err = simbmc.RewriteOOB(files["40-nodes.yaml"], params); err != nil {
		t.Fatal(err)
	}
	siteDir := writeSite(t, dir, files)
	t.Logf("peers and design ready after %.1fs", time.Since(start).Seconds())

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	all := []string{"cmp01", "cmp02", "cmp03", "ctl01"}
	sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }

	// verify_nodes: every BMC answers; the manual node says it cannot be checked.
	verify := h.run(t, ctx, task.ActionVerifyNodes, siteDir, nil)
	if verify.Result.Status != task.ResultSuccess || !slices.Equal(sorted(verify.Result.Successes), all) {
		for _, m := range verify.Result.Messages {
			t.Log(m.Message)
		}
		t.Fatalf("verify_nodes: %s, successes %v; want success for %v", verify.Result.Status, verify.Result.Successes, all)
	}
	vs := h.steps(t, verify)["interrogate_oob"]
	for _, n := range all {
		sr := vs[n]
		if sr.State != task.StepSucceeded {
			t.Errorf("interrogate_oob %s: %s: %s", n, sr.State, sr.Message)
			continue
		}
		if !strings.Contains(sr.Message, n) {
			t.Errorf("interrogate_oob %s: message %q does not name the node", n, sr.Message)
		}
		data := stepData(t, sr)
		inv, _ := data["inventory"].(map[string]any)
		switch n {
		case "ctl01":
			if inv["bmc"] == nil || inv["chassis"] == nil {
				t.Errorf("ctl01 (IPMI) inventory %v, want bmc and chassis", inv)
			}
		case "cmp01":
			if inv["system_id"] != "cmp01" {
				t.Errorf("cmp01 (Redfish) inventory %v, want system_id cmp01", inv)
			}
		case "cmp02":
			if inv["domain"] != "cmp02" || !strings.Contains(fmt.Sprint(inv["nics"]), macs["cmp02"]) {
				t.Errorf("cmp02 (libvirt) inventory %v, want domain cmp02 with NIC %s", inv, macs["cmp02"])
			}
		case "cmp03":
			if inv != nil || data["manual"] != true || data["verified"] != false {
				t.Errorf("cmp03 (manual) data %v, want manual, verified false and no inventory", data)
			}
		}
		t.Logf("interrogate_oob %s: %s", n, sr.Message)
	}
	if ev := ipmiBMC.Events(); len(ev) != 0 {
		t.Errorf("verify_nodes changed the ipmi_sim chassis: %q", ev)
	}

	// prepare_nodes: each peer PXE-boots its machine, which then enlists and is commissioned.
	mirrors, stopMirrors := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopMirrors(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); mirrorIPMIPXEBoots(ipmiBMC, mirrors, t, bmcs["ctl01"]) }()
	var operatorMessage string
	prepare := h.run(t, ctx, task.ActionPrepareNodes, siteDir, func(id uuid.UUID) {
		wg.Add(1)
		go func() { // the operator of cmp03: power-cycles it once told to
			defer wg.Done()
			for mirrors.Err() == nil {
				runs, err := h.a.Store.ListStepRuns(mirrors, id)
				if err == nil {
					for _, r := range runs {
						if r.Step == "power_cycle_node" && r.Node == "cmp03" && r.State == task.StepSucceeded {
							operatorMessage = r.Message
							if err := pxeBoot(mirrors, bmcs["cmp03"]); err != nil {
								t.Errorf("the operator's power cycle of cmp03: %v", err)
							}
							return
						}
					}
				}
				select {
				case <-mirrors.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	})
	stopMirrors()
	wg.Wait()
	ps := h.steps(t, prepare)
	if prepare.Result.Status != task.ResultSuccess || !slices.Equal(sorted(prepare.Result.Successes), all) {
		for _, m := range prepare.Result.Messages {
			t.Log(m.Message)
		}
		for step, byNode := range ps {
			for n, sr := range byNode {
				t.Logf("%s %s: %s: %s", step, n, sr.State, sr.Message)
			}
		}
		t.Fatalf("prepare_nodes: %s, successes %v; want success for %v", prepare.Result.Status, prepare.Result.Successes, all)
	}
	for _, step := range []string{"set_node_boot", "power_cycle_node", "identify_node", "configure_hardware"} {
		for _, n := range all {
			if sr := ps[step][n]; sr.State != task.StepSucceeded {
				t.Errorf("%s %s: %s (%s), want succeeded", step, n, sr.State, sr.Message)
			}
		}
	}
	for _, n := range all {
		t.Logf("prepare %s: set_node_boot: %s; power_cycle_node: %s", n, ps["set_node_boot"][n].Message, ps["power_cycle_node"][n].Message)
	}

	// What each peer saw.
	if ev := ipmiBMC.Events(); !slices.Contains(ev, "set boot pxe") || !slices.Contains(ev, "set power 1") ||
		slices.Index(ev, "set boot pxe") > slices.Index(ev, "set power 1") {
		t.Errorf("ipmi_sim chassis events %q, want set boot pxe then set power 1", ev)
	}
	if boots := rf.System("cmp01").Boots(); !slices.Equal(boots, []string{"Pxe"}) {
		t.Errorf("Redfish system cmp01 boots %q, want one Pxe boot", boots)
	}
	if got := lv.rec.booted(); !slices.Contains(got, macs["cmp02"]) {
		t.Errorf("the cmp02 VM did not PXE-boot (recorder saw %q)", got)
	}
	for _, step := range []string{"set_node_boot", "power_cycle_node"} {
		sr := ps[step]["cmp03"]
		if !strings.Contains(sr.Message, "MANUAL ACTION for node cmp03") {
			t.Errorf("%s cmp03: message %q, want MANUAL ACTION for node cmp03", step, sr.Message)
		}
		if d := stepData(t, sr); d["verified"] != false || d["operator_action"] == "" {
			t.Errorf("%s cmp03: data %v, want verified false and the operator's action", step, d)
		}
	}
	if !strings.Contains(operatorMessage, "power-cycle node cmp03") {
		t.Errorf("the operator was told %q, want to power-cycle node cmp03", operatorMessage)
	}
	ms, err := h.a.Sim.Machines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Status != sim.StatusReady {
			t.Errorf("simulated machine %s: %q, want Ready (commissioned)", m.Name, m.Status)
		}
		ops, _ := h.a.Sim.Log(ctx, m.Name)
		pxe := 0
		for _, op := range ops {
			if op.Operation == sim.LogPowerOn && strings.Contains(op.Detail, "via BMC; PXE boot") {
				pxe++
			}
		}
		if pxe != 1 {
			t.Errorf("simulated machine %s: %d PXE boots, want 1", m.Name, pxe)
		}
	}
	noSecrets(t, h.texts(t, verify, prepare), ipmiPass, redfishPass, manualPass)
	t.Logf("total %.1fs", time.Since(start).Seconds())
}

// oobFault is one node of TestOOBFaultsFailOnlyTheirNode: how its BMC misbehaves and what the
// orchestrator must say about it.
type oobFault struct {
	node string
	// peer: "redfish" (a simulator system, with faults), "ipmi-badcreds" (ipmi_sim, with a
	// wrong credential in the design), "ipmi-closed" (nothing listens).
	peer   string
	faults redfishsim.Faults
	// verify is what interrogate_oob must say when it fails the node ("" when it succeeds);
	// prepareStep the step of prepare_nodes that fails it ("" when none), saying prepare.
	verify              []string
	prepareStep         string
	prepare             []string
	verifyOK, prepareOK bool
}

// TestOOBFaultsFailOnlyTheirNode runs verify_nodes and prepare_nodes over nodes whose BMCs
// misbehave each in its own way: every faulty node fails, alone, with a message that names it
// and the cause, and the healthy node goes through.
func TestOOBFaultsFailOnlyTheirNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ipmi_sim")
	}
	requireIPMISim(t)
	const (
		user, pass = "admin", "GoodPw-31a9c"
		wrongPass  = "WrongPw-8d2e"
	)
	faults := []oobFault{
		{node: "ok", peer: "redfish", verifyOK: true, prepareOK: true},
		{node: "badcreds", peer: "ipmi-badcreds", verify: []string{"the BMC refused", "authentication failed"},
			prepareStep: "set_node_boot", prepare: []string{"the BMC refused", "authentication failed"}},
		{node: "unreachable", peer: "ipmi-closed", verify: []string{"could not reach its target", "connection refused"},
			prepareStep: "set_node_boot", prepare: []string{"could not reach its target", "connection refused"}},
		{node: "stuck", peer: "redfish", faults: redfishsim.Faults{StuckPower: true}, verifyOK: true,
			prepareStep: "power_cycle_node", prepare: []string{"power on was accepted but the BMC still reports power off after 2s"}},
		{node: "fivexx", peer: "redfish", faults: redfishsim.Faults{Fail5xx: 500},
			verify: []string{"could not reach its target", "HTTP 500"}, prepareStep: "set_node_boot", prepare: []string{"could not reach its target", "HTTP 500"}},
		{node: "malformed", peer: "redfish", faults: redfishsim.Faults{Malformed: true},
			verify: []string{"malformed reply", "not valid JSON"}, prepareStep: "set_node_boot", prepare: []string{"malformed reply", "not valid JSON"}},
		{node: "hang", peer: "redfish", faults: redfishsim.Faults{Hang: true},
			verify: []string{"did not answer in time", "deadline exceeded"}, prepareStep: "set_node_boot", prepare: []string{"did not answer in time", "deadline exceeded"}},
	}
	start := time.Now()
	dir := t.TempDir()
	h := openOOBApp(t, dir,
		config.OOB{PollInterval: config.Duration(50 * time.Millisecond), PowerTimeout: config.Duration(2 * time.Second),
			Attempts: 2, Backoff: config.Duration(50 * time.Millisecond), RequestTimeout: config.Duration(500 * time.Millisecond)},
		orchestrator.Config{PollInterval: 50 * time.Millisecond, RetryBackoff: 50 * time.Millisecond,
			Retries:  map[string]int{"interrogate_oob": 1, "set_node_boot": 1, "power_cycle_node": 1},
			Timeouts: map[string]time.Duration{"identify_node": 30 * time.Second, "configure_hardware": 30 * time.Second}})

	// The design: the example site's networks and profiles, with one node per fault.
	files := exampleSite(t)
	var nodesYAML strings.Builder
	macs := map[string]string{}
	for i, f := range faults {
		macs[f.node] = fmt.Sprintf("52:54:00:d9:00:%02x", i+1)
		fmt.Fprintf(&nodesYAML, `---
schema: drydock/BaremetalNode/v1
metadata: {schema: metadata/Document/v1, name: %s}
data:
  host_profile: compute
  addressing:
    - {network: oob, address: 10.23.0.%d}
    - {network: pxe, address: dhcp}
    - {network: mgmt, address: 10.23.2.%d}
    - {network: storage, address: 10.23.3.%d}
  metadata:
    rack: rack01
    boot_mac: "%s"
`, f.node, 30+i, 30+i, 30+i, macs[f.node])
	}
	files["40-nodes.yaml"] = []byte(nodesYAML.String())
	nodes := compileNodes(t, files)

	// The peers.
	params := map[string]map[string]string{}
	bmcs := map[string]*sim.BMC{}
	for _, f := range faults {
		if f.peer == "redfish" {
			b, err := h.a.Sim.BMC(nodes[f.node])
			if err != nil {
				t.Fatal(err)
			}
			bmcs[f.node] = b
		}
	}
	rf, rfHost, rfPort := startRedfish(t, bmcs, macs, user, pass)
	for _, f := range faults {
		switch f.peer {
		case "redfish":
			rf.System(f.node).SetFaults(f.faults)
			params[f.node] = map[string]string{"type": "redfish", "address": rfHost, "port": rfPort, "account": user,
				"credential": pass, "system_id": f.node, "use_ssl": "false"}
		case "ipmi-badcreds":
			b := ipmitest.Start(t, user, pass)
			params[f.node] = map[string]string{"type": "ipmi", "address": "127.0.0.1", "port": strconv.Itoa(b.Port),
				"account": user, "credential": wrongPass}
			t.Cleanup(func() {
				if ev := b.Events(); len(ev) != 0 {
					t.Errorf("%s: the chassis was changed with a wrong password: %q", f.node, ev)
				}
			})
		case "ipmi-closed":
			params[f.node] = map[string]string{"type": "ipmi", "address": "127.0.0.1", "port": strconv.Itoa(ipmitest.FreeUDPPort(t)),
				"account": user, "credential": pass}
		}
	}
	var err error
	if files["40-nodes.yaml"], err = simbmc.RewriteOOB(files["40-nodes.yaml"], params); err != nil {
		t.Fatal(err)
	}
	siteDir := writeSite(t, dir, files)
	t.Logf("peers and design ready after %.1fs", time.Since(start).Seconds())

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	verify := h.run(t, ctx, task.ActionVerifyNodes, siteDir, nil)
	prepare := h.run(t, ctx, task.ActionPrepareNodes, siteDir, nil)
	vs, ps := h.steps(t, verify), h.steps(t, prepare)

	var wantVerifyOK, wantVerifyFail, wantPrepareOK, wantPrepareFail []string
	for _, f := range faults {
		if f.verifyOK {
			wantVerifyOK = append(wantVerifyOK, f.node)
		} else {
			wantVerifyFail = append(wantVerifyFail, f.node)
		}
		if f.prepareOK {
			wantPrepareOK = append(wantPrepareOK, f.node)
		} else {
			wantPrepareFail = append(wantPrepareFail, f.node)
		}
	}
	sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }
	for _, c := range []struct {
		tk         *task.Task
		ok, failed []string
	}{{verify, wantVerifyOK, wantVerifyFail}, {prepare, wantPrepareOK, wantPrepareFail}} {
		if c.tk.Result.Status != task.ResultPartialSuccess || !slices.Equal(sorted(c.tk.Result.Successes), sorted(c.ok)) ||
			!slices.Equal(sorted(c.tk.Result.Failures), sorted(c.failed)) {
			t.Errorf("%s: %s, successes %v, failures %v; want partial_success, successes %v, failures %v", c.tk.Action,
				c.tk.Result.Status, c.tk.Result.Successes, c.tk.Result.Failures, c.ok, c.failed)
		}
	}

	// checkFailure checks that a step failed the node with a message (in the step run and in the
	// task's messages about the node) naming the node and the cause, and that no message about
	// another node mentions this node.
	checkFailure := func(f oobFault, tk *task.Task, sr task.StepRun, want []string) {
		t.Helper()
		if sr.State != task.StepFailed {
			t.Errorf("%s %s: %s (%s), want failed", sr.Step, f.node, sr.State, sr.Message)
			return
		}
		t.Logf("%s %s: %s", sr.Step, f.node, sr.Message)
		msgs := nodeMessages(tk, f.node)
		for _, w := range append([]string{"node " + f.node}, want...) {
			if !strings.Contains(sr.Message, w) {
				t.Errorf("%s %s: step message %q does not say %q", sr.Step, f.node, sr.Message, w)
			}
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, w) }) {
				t.Errorf("%s %s: no task message about the node says %q: %q", sr.Step, f.node, w, msgs)
			}
		}
	}
	for _, f := range faults {
		sr := vs["interrogate_oob"][f.node]
		if f.verifyOK {
			if sr.State != task.StepSucceeded {
				t.Errorf("interrogate_oob %s: %s (%s), want succeeded", f.node, sr.State, sr.Message)
			}
		} else {
			checkFailure(f, verify, sr, f.verify)
		}
		if f.prepareOK {
			for _, step := range []string{"set_node_boot", "power_cycle_node", "identify_node", "configure_hardware"} {
				if sr := ps[step][f.node]; sr.State != task.StepSucceeded {
					t.Errorf("%s %s: %s (%s), want succeeded", step, f.node, sr.State, sr.Message)
				}
			}
			continue
		}
		checkFailure(f, prepare, ps[f.prepareStep][f.node], f.prepare)
		// The steps before the failing one passed; the ones after never ran.
		after := false
		for _, step := range orchestrator.StepKeys(task.ActionPrepareNodes) {
			sr := ps[step][f.node]
			switch {
			case step == f.prepareStep:
				after = true
			case after && sr.State.Done():
				t.Errorf("%s %s ran after %s failed: %s (%s)", step, f.node, f.prepareStep, sr.State, sr.Message)
			case !after && !sr.State.Passed():
				t.Errorf("%s %s: %s (%s), want passed before %s", step, f.node, sr.State, sr.Message, f.prepareStep)
			}
		}
	}
	// Only its own node: every message about a node names that node, and no other fault's node.
	for _, tk := range []*task.Task{verify, prepare} {
		for _, m := range tk.Result.Messages {
			if m.ContextType != task.ContextNode {
				continue
			}
			for _, f := range faults {
				if f.node != m.Context && strings.Contains(m.Message, "node "+f.node+":") {
					t.Errorf("%s: a message about %s names %s: %s", tk.Action, m.Context, f.node, m.Message)
				}
			}
		}
	}
	if boots := rf.System("ok").Boots(); !slices.Equal(boots, []string{"Pxe"}) {
		t.Errorf("the healthy node's boots %q, want one Pxe boot", boots)
	}
	if resets := rf.System("stuck").Resets(); len(resets) == 0 {
		t.Errorf("the stuck node's BMC got no Reset")
	}
	if m, _ := h.a.Sim.Machine("ok"); m.Status != sim.StatusReady {
		t.Errorf("the healthy node's machine is %q, want Ready", m.Status)
	}
	noSecrets(t, h.texts(t, verify, prepare), pass, wrongPass)
	took := time.Since(start)
	t.Logf("total %.1fs", took.Seconds())
	if took > time.Minute {
		t.Errorf("the fault table took %s; the timeouts should bound it well under a minute", took)
	}
}
