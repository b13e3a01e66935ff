package maas

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
)

// all runs a step for every node at once, as the orchestrator does, and returns each node's
// final result.
func (e *env) all(s step, nodes []*design.Node, limit time.Duration) map[string]driver.Result {
	var mu sync.Mutex
	out := map[string]driver.Result{}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.call(n, s.name)
			if s.name == "deploy_node" {
				c.BootActions = bootActions(n)
			}
			r := e.drive(s.f, c, limit)
			if s.name == "configure_hardware" && r.Outcome == driver.Done {
				e.commissionNames(n, r)
			}
			mu.Lock()
			out[n.Name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// TestFaultsFailOnlyTheirNode injects one fault per case and checks that it ends only its
// node's step (with a message naming the machine and the cause) while the other nodes go on.
func TestFaultsFailOnlyTheirNode(t *testing.T) {
	site := loadFullSite(t)
	victim := "compute01"
	for _, tc := range []struct {
		name  string
		fault maassim.FaultKind
		step  string // the step the fault hits
		want  driver.Outcome
		text  []string
		retry bool // a new attempt of the step then succeeds
	}{
		{"commissioning fails", maassim.CommissionFails, "configure_hardware", driver.Failed, []string{"Failed commissioning", "failed scripts: commission:"}, true},
		{"testing fails", maassim.TestingFails, "configure_hardware", driver.Failed, []string{"Failed testing"}, true},
		{"deployment fails", maassim.DeployFails, "deploy_node", driver.Failed, []string{"Failed deployment"}, true},
		{"deployment hangs", maassim.DeployHangs, "deploy_node", driver.InProgress, []string{"Deploying"}, false},
		{"release fails", maassim.ReleaseFails, "destroy_node", driver.Failed, []string{"Releasing failed"}, true},
		{"node missing", "", "identify_node", driver.Failed, []string{"not found in MAAS", "172.16.100.21"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, site, envOpts{})
			nodes := site.Nodes
			if tc.fault == "" {
				var others []*design.Node
				for _, n := range nodes {
					if n.Name != victim {
						others = append(others, n)
					}
				}
				e.enlist(others...)
			} else {
				e.enlist()
			}
			e.prepareSite()
			for _, s := range e.steps() {
				if s.name == tc.step && tc.fault != "" {
					e.sim.Inject(maassim.Fault{Kind: tc.fault, Hostname: e.sids[victim], Count: 1})
				}
				limit := maxWait
				if tc.want == driver.InProgress && s.name == tc.step {
					limit = 500 * time.Millisecond
				}
				res := e.all(s, nodes, limit)
				for name, r := range res {
					if name != victim {
						if r.Outcome != driver.Done {
							t.Fatalf("%s %s: %s: %s", s.name, name, r.Outcome, r.Message)
						}
						continue
					}
					if s.name != tc.step {
						if r.Outcome != driver.Done {
							t.Fatalf("%s %s: %s: %s", s.name, name, r.Outcome, r.Message)
						}
						continue
					}
					if r.Outcome != tc.want {
						t.Fatalf("%s %s: %s, want %s: %s", s.name, name, r.Outcome, tc.want, r.Message)
					}
					for _, want := range append(tc.text, victim) {
						if !strings.Contains(r.Message, want) {
							t.Errorf("message %q lacks %q", r.Message, want)
						}
					}
					if tc.fault != "" && !strings.Contains(r.Message, e.sids[victim]) {
						t.Errorf("message %q does not name the machine", r.Message)
					}
				}
				if s.name != tc.step {
					continue
				}
				if !tc.retry {
					break
				}
				// The orchestrator's next attempt starts the operation over, and it succeeds.
				c := e.call(site.Node(victim), s.name)
				c.Attempt = 2
				c.BootActions = bootActions(site.Node(victim))
				if r := e.drive(s.f, c, maxWait); r.Outcome != driver.Done {
					t.Fatalf("%s %s, next attempt: %s: %s", s.name, victim, r.Outcome, r.Message)
				}
				if s.name == "configure_hardware" {
					e.commission(site.Node(victim))
				}
			}
			e.checkNoKey()
		})
	}
}

// TestUnavailableThenRecovers makes MAAS answer 503 to a burst of requests in the middle of
// the deployment steps: reads are retried, writes are not repeated blindly (the step reports
// Unreachable and its next call reads the state again), and every node ends deployed.
func TestUnavailableThenRecovers(t *testing.T) {
	site := loadFullSite(t)
	e := newEnv(t, site, envOpts{driver: Config{Attempts: 2}})
	e.enlist()
	e.prepareSite()
	for _, s := range e.steps()[:2] {
		e.all(s, site.Nodes, maxWait)
	}
	unreachable := 0
	for _, s := range e.steps()[2:6] {
		e.sim.Inject(maassim.Fault{Kind: maassim.Unavailable, Count: 7})
		for name, r := range e.all(s, site.Nodes, maxWait) {
			if r.Outcome != driver.Done {
				t.Fatalf("%s %s: %s: %s", s.name, name, r.Outcome, r.Message)
			}
		}
	}
	for _, m := range e.msgs {
		if strings.Contains(m, "503") {
			unreachable++
		}
	}
	if unreachable == 0 {
		t.Error("no step saw the 503s")
	}
	for _, n := range site.Nodes {
		st, _ := e.sim.Snapshot(e.sids[n.Name])
		checkMachine(t, e, n, st)
	}
	e.checkNoKey()
}

// TestPostNotRepeated checks that a POST whose answer is lost is not sent again: the step is
// Unreachable and the next call finds the operation under way.
func TestPostNotRepeated(t *testing.T) {
	site := loadSite(t, "deckhand_fullsite.yaml")
	// The connection is dropped after MAAS served the first op=commission, before the answer.
	var dropped atomic.Bool
	e := newEnv(t, site, envOpts{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("op") != "commission" || dropped.Swap(true) {
				h.ServeHTTP(w, r)
				return
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler)
		})
	}})
	n := site.Node("compute01")
	e.enlist(n)
	e.prepareSite()
	e.must("identify_node", e.d.IdentifyNode, n)
	r := e.d.ConfigureHardware(context.Background(), e.call(n, "configure_hardware"))
	if r.Outcome != driver.Unreachable || !strings.Contains(r.Message, "may or may not") {
		t.Fatalf("%s: %s", r.Outcome, r.Message)
	}
	commissions := 0
	for _, j := range e.sim.Journal() {
		if j.Op == "commission" {
			commissions++
		}
	}
	if commissions != 1 {
		t.Errorf("op=commission sent %d times", commissions)
	}
	r = e.d.ConfigureHardware(context.Background(), e.call(n, "configure_hardware"))
	if r.Outcome != driver.InProgress && r.Outcome != driver.Done {
		t.Fatalf("next call: %s: %s", r.Outcome, r.Message)
	}
}
