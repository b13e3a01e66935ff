// Package e2e holds end-to-end tests that run the real drydock binary as separate processes:
// crash recovery under SIGKILL, and several orchestrators sharing one store.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/design/sitegen"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/task"
)

// binary is the drydock command built once for the package's tests.
// The binaries under test, built once by TestMain.
var binary, baclient string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drydock-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "drydock")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/drydock")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building drydock:", err)
		os.Exit(1)
	}
	baclient = filepath.Join(dir, "drydock-baclient") // next to drydock: serve offers it to nodes
	build = exec.Command("go", "build", "-o", baclient, "./cmd/drydock-baclient")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building drydock-baclient:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// site is a data directory with a design and a configuration for drydock serve.
type site struct {
	t      *testing.T
	dir    string
	design string
	config string
	nodes  int
}

// newSite writes a synthetic design of n nodes and a configuration with short leases and small
// simulated latencies.
func newSite(t *testing.T, n int, extraConfig string) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{t: t, dir: dir, design: filepath.Join(dir, "site.yaml"), config: filepath.Join(dir, "drydock.yaml"), nodes: n}
	if err := os.WriteFile(s.design, sitegen.Bytes(sitegen.Options{Nodes: n}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `data_dir: ` + dir + `
listen: 127.0.0.1:0
orchestrator:
  lease: 400ms
  poll_interval: 50ms
  retry_backoff: 50ms
sim:
  jitter: 0.6
  latency:
    power: 100ms
    set_boot: 30ms
    interrogate: 5ms
    identify: 20ms
    enlist: 6s
    commission: 9s
    apply_networking: 300ms
    apply_storage: 300ms
    apply_platform: 300ms
    deploy: 13s
    release: 1s
    prepare_site: 10ms
` + extraConfig
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// drydock runs a drydock command to completion.
func (s *site) drydock(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "DRYDOCK_CONFIG="+s.config)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("drydock %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitAPI waits until a drydock serve answers on the URL it recorded in the data directory.
func (s *site) waitAPI() string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(filepath.Join(s.dir, "api.url")); err == nil {
			u := strings.TrimSpace(string(data))
			if resp, err := http.Get(u + "/api/v1.0/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusNoContent {
					return u
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatal("drydock serve did not start its API within 30s")
	return ""
}

// createTask queues a task with the CLI (through a running drydock serve) and returns its id.
func (s *site) createTask(action string) uuid.UUID {
	s.t.Helper()
	s.waitAPI()
	out := s.drydock("task", "create", "-a", action, "-d", s.design, "-o", "json")
	i := strings.Index(out, `"task_id": "`)
	if i < 0 {
		s.t.Fatalf("no task id in %s", out)
	}
	id, err := uuid.Parse(out[i+12 : i+48])
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// serve starts drydock serve with extra arguments; its log goes to <name>.log in the data
// directory.
func (s *site) serve(name string, args ...string) *proc {
	s.t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "DRYDOCK_CONFIG="+s.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	p := &proc{Cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p
}

// proc is a running drydock process.
type proc struct {
	*exec.Cmd
	done chan struct{} // closed when it has exited
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (s *site) openStore() store.Store {
	s.t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(s.dir, "drydock.db"))
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// waitFinal waits until the tasks are final, or fails after timeout.
func waitFinal(t *testing.T, st store.Store, timeout time.Duration, ids ...uuid.UUID) []*task.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var out []*task.Task
		final := true
		for _, id := range ids {
			tk, err := st.GetTask(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tk)
			final = final && tk.Status.Final()
		}
		if final {
			return out
		}
		if time.Now().After(deadline) {
			for _, tk := range out {
				t.Logf("task %s %s: %s %s", tk.ID, tk.Action, tk.Status, tk.Result.Status)
			}
			t.Fatalf("tasks not finished after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// simState reads the simulated site (read-only, while a server may be using it).
func (s *site) simState() ([]sim.Machine, map[string]map[string]int) {
	s.t.Helper()
	ss, err := sim.Open(filepath.Join(s.dir, "sim.db"), sim.Config{ReadOnly: true})
	if err != nil {
		s.t.Fatal(err)
	}
	defer ss.Close()
	ms, err := ss.Machines(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	ops, err := ss.Log(context.Background(), "")
	if err != nil {
		s.t.Fatal(err)
	}
	counts := map[string]map[string]int{}
	for _, op := range ops {
		if counts[op.Node] == nil {
			counts[op.Node] = map[string]int{}
		}
		counts[op.Node][op.Operation]++
	}
	return ms, counts
}

// checkDeployedOnce asserts that every node is Deployed, deployed and commissioned exactly
// once and power-cycled at most once.
func (s *site) checkDeployedOnce(ms []sim.Machine, counts map[string]map[string]int) {
	s.t.Helper()
	if len(ms) != s.nodes {
		s.t.Fatalf("%d machines, want %d", len(ms), s.nodes)
	}
	for _, m := range ms {
		c := counts[m.Name]
		if m.Status != sim.StatusDeployed {
			s.t.Errorf("%s: %q, want Deployed", m.Name, m.Status)
		}
		if c[sim.LogDeploy] != 1 {
			s.t.Errorf("%s: deployed %d times", m.Name, c[sim.LogDeploy])
		}
		if c[sim.LogPowerCycle] > 1 {
			s.t.Errorf("%s: power-cycled %d times", m.Name, c[sim.LogPowerCycle])
		}
		if c[sim.LogCommission] != 1 {
			s.t.Errorf("%s: commissioned %d times", m.Name, c[sim.LogCommission])
		}
	}
}
