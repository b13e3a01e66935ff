package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/client"
	"github.com/drydock-go/drydock/internal/design/sitegen"
)

// cli runs the drydock binary with the site's configuration and returns stdout, stderr and
// the exit status.
func (s *site) cli(env []string, args ...string) (string, string, int) {
	s.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), "DRYDOCK_CONFIG="+s.config, "DRYDOCK_URL=", "DRYDOCK_TOKEN=",
		"HOME="+s.dir, "XDG_CONFIG_HOME="+filepath.Join(s.dir, "xdg")), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("drydock %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// TestCLIThroughAPI drives a whole site from validate_design to deploy_nodes with the CLI
// binary against drydock serve, as an operator would, and checks the outcome through the API.
func TestCLIThroughAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	dir := t.TempDir()
	s := &site{t: t, dir: dir, design: filepath.Join(dir, "site.yaml"), config: filepath.Join(dir, "drydock.yaml"), nodes: 6}
	if err := os.WriteFile(s.design, sitegen.Bytes(sitegen.Options{Nodes: s.nodes}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "data_dir: " + dir + "\nlisten: 127.0.0.1:0\norchestrator:\n  poll_interval: 50ms\n  retry_backoff: 50ms\n" +
		"sim:\n  latency:\n    enlist: 300ms\n    commission: 500ms\n    deploy: 700ms\n    power: 20ms\n"
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := s.serve("serve")
	defer srv.kill()
	url := s.waitAPI()

	// The admin token was created with mode 0600.
	tokPath := filepath.Join(dir, "admin.token")
	fi, err := os.Stat(tokPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin token: %v %v", fi, err)
	}
	token := strings.TrimSpace(string(mustRead(t, tokPath)))

	// Every action in order, each with --block: exit 0 and a successful task in JSON.
	ids := map[string]uuid.UUID{}
	for _, action := range []string{"validate_design", "verify_site", "prepare_site", "verify_nodes", "prepare_nodes", "deploy_nodes"} {
		out, errOut, code := s.cli(nil, "task", "create", "-a", action, "-d", s.design, "--block", "--poll-interval", "200ms", "-o", "json")
		if code != 0 {
			t.Fatalf("task create %s: exit %d\nstdout:\n%s\nstderr:\n%s", action, code, out, errOut)
		}
		var tk wire.Task
		if err := json.Unmarshal([]byte(out), &tk); err != nil {
			t.Fatalf("task create %s: stdout is not a task: %v\n%s", action, err, out)
		}
		if tk.Action != action || tk.Status != "complete" || tk.Result.Status != "success" {
			t.Fatalf("task %s: %s %s %s", action, tk.Status, tk.Result.Status, tk.Result.Message)
		}
		ids[action] = uuid.MustParse(tk.TaskID)
	}

	// The results, through the API.
	c, err := client.New(url, token)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dep, err := c.GetTask(ctx, ids["deploy_nodes"], client.TaskOptions{SubtaskErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dep.Result.Successes) != s.nodes || len(dep.Result.Failures) != 0 || len(dep.SubtaskErrors) != 0 {
		t.Errorf("deploy_nodes: %d successes, %d failures, %d subtask errors", len(dep.Result.Successes), len(dep.Result.Failures), len(dep.SubtaskErrors))
	}
	if dep.CreatedBy != "admin" {
		t.Errorf("created_by %q, want admin (the admin token's user)", dep.CreatedBy)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != s.nodes {
		t.Fatalf("%d machines, want %d", len(nodes), s.nodes)
	}
	for _, m := range nodes {
		if m.Status != "Deployed" || m.PowerState != "on" {
			t.Errorf("%s: %s, power %s; want Deployed, on", m.Hostname, m.Status, m.PowerState)
		}
	}
	steps, err := c.TaskSteps(ctx, ids["deploy_nodes"])
	if err != nil || len(steps) == 0 {
		t.Fatalf("steps: %v (%d)", err, len(steps))
	}
	for _, r := range steps {
		if r.State != "succeeded" && r.State != "skipped" {
			t.Errorf("step %s of %s: %s", r.Step, r.Node, r.State)
		}
	}
	if st, err := c.HealthExtended(ctx); err != nil || st.Status != "Success" {
		t.Errorf("health/extended: %v %+v", err, st)
	}

	// The read commands, as a user runs them.
	out, _, code := s.cli(nil, "task", "list", "-o", "json")
	var list []wire.Task
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 6 {
		t.Errorf("task list: exit %d, %d tasks\n%s", code, len(list), out)
	}
	out, _, code = s.cli(nil, "task", "show", ids["deploy_nodes"].String())
	if code != 0 || !strings.Contains(out, "result:  success") || !strings.Contains(out, "deploy_node") {
		t.Errorf("task show: exit %d\n%s", code, out)
	}
	out, _, code = s.cli(nil, "task", "show", "-t", ids["prepare_nodes"].String(), "-o", "yaml")
	if code != 0 || !strings.Contains(out, "action: prepare_nodes") {
		t.Errorf("task show -o yaml: exit %d\n%s", code, out)
	}
	out, _, code = s.cli(nil, "node", "list")
	if code != 0 || strings.Count(out, "Deployed") != s.nodes || !strings.Contains(out, "NODE NAME") {
		t.Errorf("node list: exit %d\n%s", code, out)
	}
	out, _, code = s.cli(nil, "design", "validate", s.design)
	if code != 0 || !strings.HasPrefix(out, "Success") {
		t.Errorf("design validate: exit %d\n%s", code, out)
	}
	first := nodes[0].Hostname
	out, _, code = s.cli(nil, "design", "nodes", s.design, "-n", first)
	if code != 0 || strings.TrimSpace(out) != first {
		t.Errorf("design nodes -n %s: exit %d\n%s", first, code, out)
	}
	out, _, code = s.cli(nil, "task", "watch", ids["verify_site"].String())
	if code != 0 || !strings.Contains(out, "complete: success") {
		t.Errorf("task watch of a finished task: exit %d\n%s", code, out)
	}

	// A finished task cannot be terminated (409, exit 2); it can be retried, and the retry
	// repeats nothing (every step passed) and succeeds again.
	_, errOut, code := s.cli(nil, "task", "terminate", ids["verify_site"].String())
	if code != 2 || !strings.Contains(errOut, "409") {
		t.Errorf("terminate a finished task: exit %d\n%s", code, errOut)
	}
	out, errOut, code = s.cli(nil, "task", "retry", ids["deploy_nodes"].String())
	if code != 0 || !strings.Contains(out, "retry 1") {
		t.Fatalf("retry: exit %d\n%s%s", code, out, errOut)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		tk, err := c.GetTask(ctx, ids["deploy_nodes"], client.TaskOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if tk.Status == "complete" {
			if tk.Result.Status != "success" || tk.Retry != 1 {
				t.Errorf("retried deploy: %s retry %d", tk.Result.Status, tk.Retry)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retried deploy still %s", tk.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, counts := s.simState()
	for node, c := range counts {
		if node != "" && c["deploy"] > 1 {
			t.Errorf("%s deployed %d times after a retry of a successful task", node, c["deploy"])
		}
	}

	// Retention: nothing is 90 days old; a too-short age is refused before any request.
	out, errOut, code = s.cli(nil, "purge", "--older-than", "90d")
	if code != 0 || !strings.Contains(out, "Deleted 0 tasks") {
		t.Errorf("purge: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code = s.cli(nil, "purge", "--older-than", "5m"); code != 2 || !strings.Contains(errOut, "at least 1h") {
		t.Errorf("purge 5m: exit %d\n%s", code, errOut)
	}
	if _, _, code = s.cli(nil, "purge"); code != 2 {
		t.Errorf("purge without an age: exit %d", code)
	}

	// Authentication: a wrong token is refused with a hint; the environment overrides the
	// data directory's token.
	_, errOut, code = s.cli([]string{"DRYDOCK_TOKEN=not-the-right-token-at-all"}, "task", "list")
	if code == 0 || !strings.Contains(errOut, "401") || strings.Contains(errOut, token) {
		t.Errorf("wrong token: exit %d\n%s", code, errOut)
	}
	out, _, code = s.cli([]string{"DRYDOCK_URL=" + url, "DRYDOCK_TOKEN=" + token}, "task", "list", "--status", "complete", "-o", "json")
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 6 {
		t.Errorf("task list --status complete with env credentials: exit %d\n%s", code, out)
	}
	// The server log names users and rules but never the token.
	logData := string(mustRead(t, filepath.Join(dir, "serve.log")))
	if strings.Contains(logData, token) {
		t.Error("the admin token appears in the server log")
	}
	if !strings.Contains(logData, "rule=physical_provisioner:create_task") || !strings.Contains(logData, "user=admin") {
		t.Error("the server log does not record user and policy rule per request")
	}
}
