package maas

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
	"github.com/drydock-go/drydock/internal/nodefilter"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/task"
)

// TestOrchestratedFaults runs prepare_nodes and deploy_nodes through the orchestrator while
// MAAS misbehaves: one machine's commissioning fails, one machine's deployment hangs (the
// orchestrator's deploy_node timeout ends it), one node is missing from MAAS, and MAAS answers
// 503 to a burst of requests in the middle. Each fault fails only its node.
func TestOrchestratedFaults(t *testing.T) {
	site := loadFullSite(t)
	e := newEnv(t, site, envOpts{
		sim: maassim.Config{NodeTimeout: -1, Delays: maassim.Delays{Commissioning: 20 * time.Millisecond,
			Testing: 10 * time.Millisecond, Deploying: 30 * time.Millisecond}},
		driver: Config{PollInterval: 10 * time.Millisecond, Backoff: 20 * time.Millisecond},
	})
	dc, specs := simMachines(t, site)
	const (
		badCommission = "compute01"
		hangs         = "compute02"
		missing       = "storage01"
	)
	for i, spec := range specs {
		if n := site.Nodes[i]; n.Name != missing {
			e.sids[n.Name] = e.sim.AddMachine(spec)
		}
	}
	e.sim.Inject(maassim.Fault{Kind: maassim.CommissionFails, Hostname: e.sids[badCommission], Count: 100})
	e.sim.Inject(maassim.Fault{Kind: maassim.DeployHangs, Hostname: e.sids[hangs], Count: 100})

	o := startOrchestrator(t, e, dc.OOBDriver(), 10*time.Millisecond, orchestrator.Config{ID: "maas-faults",
		PollInterval: 20 * time.Millisecond, RetryBackoff: 10 * time.Millisecond, BootActionRecheck: 200 * time.Millisecond,
		Timeouts: map[string]time.Duration{"identify_node": time.Second, "deploy_node": 2 * time.Second,
			"bootaction_report": 10 * time.Second}})
	run := func(action string, filter []byte) *task.Task {
		t.Helper()
		tk, err := o.run(t, action, filter)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return tk
	}
	if tk := run(task.ActionPrepareSite, nil); tk.Result.Status != task.ResultSuccess {
		t.Fatalf("prepare_site: %+v\n%s", tk.Result, taskMessages(tk))
	}
	prep := run(task.ActionPrepareNodes, nil)
	wantSets(t, "prepare_nodes", prep, []string{"controller01", hangs}, []string{badCommission, missing})
	expectMessage(t, prep, badCommission, "Failed commissioning")
	checkNoRepeats(t, prep)
	expectMessage(t, prep, missing, "identify_node")

	// Deploy the two prepared nodes while MAAS answers 503 to the next requests.
	e.sim.Inject(maassim.Fault{Kind: maassim.Unavailable, Count: 6})
	filter, _ := json.Marshal(nodefilter.FilterSet{FilterSetType: "union", FilterSet: []nodefilter.Filter{{FilterType: "union",
		NodeNames: []string{"controller01", hangs}}}})
	dep := run(task.ActionDeployNodes, filter)
	wantSets(t, "deploy_nodes", dep, []string{"controller01"}, []string{hangs})
	expectMessage(t, dep, hangs, "timed out")
	if ms, ok := e.sim.Snapshot(e.sids["controller01"]); !ok || ms.StatusName != "Deployed" {
		t.Errorf("controller01: %+v", ms.StatusName)
	}
}

func wantSets(t *testing.T, action string, tk *task.Task, successes, failures []string) {
	t.Helper()
	s, f := slices.Clone(tk.Result.Successes), slices.Clone(tk.Result.Failures)
	slices.Sort(s)
	slices.Sort(f)
	slices.Sort(successes)
	slices.Sort(failures)
	if !slices.Equal(s, successes) || !slices.Equal(f, failures) {
		t.Fatalf("%s: successes %v failures %v, want %v and %v\n%s", action, s, f, successes, failures, taskMessages(tk))
	}
}

func expectMessage(t *testing.T, tk *task.Task, node, text string) {
	t.Helper()
	for _, m := range tk.Result.Messages {
		if m.Error && m.Context == node && strings.Contains(m.Message, text) {
			return
		}
	}
	t.Errorf("no error message about %s containing %q:\n%s", node, text, taskMessages(tk))
}

// Build data of a machine commissioned several times holds each script's output once per run,
// not the whole history again.
func checkNoRepeats(t *testing.T, tk *task.Task) {
	t.Helper()
	for _, m := range tk.Result.Messages {
		if strings.Count(m.Message, "commission:maas-lshw") > 1 || strings.Count(m.Message, "50-maas-01-commissioning (exit 1)") > 1 {
			t.Errorf("repeated script results in %q", m.Message)
		}
	}
}
