package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/postgres"
	"github.com/drydock-go/drydock/internal/store/postgres/pgtest"
	"github.com/drydock-go/drydock/internal/task"
)

// TestTwoOrchestratorsShareTheStore runs two drydock serve processes on one PostgreSQL store
// and one simulated site. The process holding the deployment's lease is killed with SIGKILL in
// the middle of it; the other must take the task over and finish it, deploying every node
// exactly once.
func TestTwoOrchestratorsShareTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	dbURL := pgtest.Database(t)
	s := newSite(t, 20, "database:\n  url: "+dbURL+"\n")
	// Both processes drive the same simulated machines.
	shared := strings.Replace(string(mustRead(t, s.config)), "sim:\n", "sim:\n  shared: true\n", 1)
	if err := os.WriteFile(s.config, []byte(shared), 0o644); err != nil {
		t.Fatal(err)
	}
	procs := map[string]*proc{"a": s.serve("a", "--id", "a"), "b": s.serve("b", "--id", "b")}
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()

	st, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	prep := s.createTask(task.ActionPrepareNodes)
	dep := s.createTask(task.ActionDeployNodes)
	// Wait until the deployment is under way, then kill the orchestrator that holds it.
	holder := waitForRunningStep(t, st, dep, "deploy_node")
	t.Logf("deploy_node is running under %s; killing it", holder)
	survivor := map[string]string{"a": "b", "b": "a"}[holder]
	if survivor == "" {
		t.Fatalf("unexpected lease owner %q", holder)
	}
	procs[holder].kill()
	tasks := waitFinal(t, st, 2*time.Minute, prep, dep)
	for _, tk := range tasks {
		if tk.Result.Status != task.ResultSuccess || len(tk.Result.Successes) != 20 {
			t.Errorf("%s: %s %s: %s", tk.Action, tk.Status, tk.Result.Status, tk.Result.Message)
		}
	}
	runs, err := st.ListStepRuns(context.Background(), dep)
	if err != nil {
		t.Fatal(err)
	}
	took := 0
	for _, r := range runs {
		if r.Step == "deploy_node" && r.Owner == survivor {
			took++
		}
	}
	if took == 0 {
		t.Errorf("the surviving orchestrator finished no deploy step")
	}
	ms, counts := s.simState()
	s.checkDeployedOnce(ms, counts)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitForRunningStep waits until a step of the task is running and returns its owner.
func waitForRunningStep(t *testing.T, st store.Store, id uuid.UUID, step string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		runs, err := st.ListStepRuns(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Step == step && r.State == task.StepRunning {
				return r.Owner
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("step %s of task %s never ran", step, id)
	return ""
}
