package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/task"
)

// TestCrashRecovery runs prepare_nodes and deploy_nodes on a 50-node simulated site with a
// drydock serve process that is killed with SIGKILL at random moments and restarted, then lets
// the last one finish. The tasks must complete, every node must end Deployed, and the
// simulator's operation log must show each node deployed and commissioned exactly once and
// power-cycled at most once: work committed before a crash is not repeated, and work in flight
// at a crash is resumed through the drivers' check-the-current-state-first path.
//
// The servers are killed until the kills have hit at least 22 distinct points of the run (by
// the number of step runs in each state), or 40 kills; at least 20 distinct points are required.
// DRYDOCK_CRASH_KILLS caps the number of kills instead (the point count is then not asserted).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short mode")
	}
	kills, fixed := 40, false
	if v := os.Getenv("DRYDOCK_CRASH_KILLS"); v != "" {
		kills, _ = strconv.Atoi(v)
		fixed = true
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (kill delays are random)", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	s := newSite(t, 50, "")
	// The first server takes the tasks through its API (and starts on them at once).
	first := s.serve("serve")
	prep := s.createTask(task.ActionPrepareNodes)
	dep := s.createTask(task.ActionDeployNodes)
	st := s.openStore()
	defer st.Close()

	points := map[string]bool{}
	done := 0
	for i := 0; i < kills && (fixed || len(points) < 22); i++ {
		srv := first
		if i > 0 {
			srv = s.serve("serve")
		}
		// Lease 400ms: a restarted server waits up to that long for the dead one's lease, then
		// works; kill it somewhere in the next 700ms. The first one has been working since the
		// tasks were created: kill it soon.
		if i == 0 {
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(500+rng.IntN(700)) * time.Millisecond)
		}
		srv.kill()
		point := progressPoint(t, s, prep, dep)
		points[point] = true
		done++
		t.Logf("kill %2d at %s", i+1, point)
	}
	srv := s.serve("serve")
	defer srv.kill()
	tasks := waitFinal(t, st, 2*time.Minute, prep, dep)
	for _, tk := range tasks {
		if tk.Status != task.StatusComplete || tk.Result.Status != task.ResultSuccess || len(tk.Result.Successes) != 50 {
			t.Errorf("%s: %s %s (%d ok, %d failed): %s", tk.Action, tk.Status, tk.Result.Status,
				len(tk.Result.Successes), len(tk.Result.Failures), tk.Result.Message)
			for _, m := range tk.Result.Messages {
				if m.Error {
					t.Logf("  %s", m.Message)
				}
			}
		}
	}
	ms, counts := s.simState()
	s.checkDeployedOnce(ms, counts)
	if len(points) < 20 && !fixed {
		t.Errorf("only %d distinct kill points; want at least 20", len(points))
	}
	resumed := 0
	for _, tk := range tasks {
		for _, m := range tk.Result.Messages {
			if strings.HasPrefix(m.Message, "Resuming step") {
				resumed++
			}
		}
	}
	t.Logf("%d kills at %d distinct points; %d step resumptions", done, len(points), resumed)
}

// progressPoint describes how far the run got: per task, how many step runs are in each state.
func progressPoint(t *testing.T, s *site, ids ...uuid.UUID) string {
	st := s.openStore()
	defer st.Close()
	var parts []string
	for _, id := range ids {
		runs, err := st.ListStepRuns(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		c := map[string]int{}
		for _, r := range runs {
			c[string(r.State)]++
		}
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%d ", k, c[k])
		}
		parts = append(parts, strings.TrimSpace(b.String()))
	}
	return "[" + strings.Join(parts, "] [") + "]"
}
