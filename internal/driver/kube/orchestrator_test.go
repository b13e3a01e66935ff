package kube

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/task"
)

// copySite copies the example design to a directory of its own, rewriting 30-profiles.yaml.
func copySite(t *testing.T, edit func(profiles string) string) string {
	t.Helper()
	src, _ := filepath.Abs("../../../examples/site")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "30-profiles.yaml" && edit != nil {
			b = []byte(edit(string(b)))
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// relabel_nodes through the orchestrator (SQLite store, the real pipeline) against the real API
// server: the example site's owner_data, then a second design version; a node that joins the
// cluster while the step waits for it (InProgress under the orchestrator).
func TestOrchestratorRelabelNodes(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "drydock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := testConfig
	cfg.NodeWait = 30 * time.Second
	cfg.PollInterval = 200 * time.Millisecond
	d := newDriver(t, c.drydock, cfg)
	orch := orchestrator.New(st, driver.Set{Kube: d}, orchestrator.Config{ID: "kube-test",
		LeaseFor: 5 * time.Second, PollInterval: 20 * time.Millisecond, RetryBackoff: 10 * time.Millisecond, MaxTasks: 2})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = orch.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	kubelet := func(n string) map[string]string {
		return map[string]string{"kubernetes.io/hostname": n, "kubernetes.io/os": "linux"}
	}
	with := func(n string, kv map[string]string) map[string]string {
		m := kubelet(n)
		maps.Copy(m, kv)
		return m
	}
	// cmp03 has not joined the cluster yet.
	for _, n := range []string{"ctl01", "cmp01", "cmp02"} {
		c.createNode(t, n, nil)
	}
	run := func(design string) *task.Task {
		t.Helper()
		tk, err := orch.Submit(ctx, task.ActionRelabelNodes, design, nil, "tester")
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		tk, err = orch.WaitTask(wctx, tk.ID, 20*time.Millisecond)
		if err != nil {
			t.Fatalf("relabel_nodes did not finish: %v", err)
		}
		return tk
	}
	messages := func(tk *task.Task) string {
		var b strings.Builder
		for _, m := range tk.Result.Messages {
			b.WriteString(m.Message + "\n")
		}
		return b.String()
	}

	v1 := copySite(t, nil)
	go func() {
		time.Sleep(time.Second)
		c.createNode(t, "cmp03", nil)
	}()
	tk := run(v1)
	if tk.Result.Status != task.ResultSuccess || len(tk.Result.Successes) != 4 {
		t.Fatalf("v1: %s %+v\n%s", tk.Result.Status, tk.Result, messages(tk))
	}
	wantLabels(t, c.labels(t, "ctl01"), with("ctl01", map[string]string{"site": "example", "role": "control"}))
	for _, n := range []string{"cmp01", "cmp02", "cmp03"} {
		wantLabels(t, c.labels(t, n), with(n, map[string]string{"site": "example", "role": "compute"}))
	}

	// v2: site removed, tier added (base profile), compute's role changed.
	v2 := copySite(t, func(s string) string {
		s = strings.Replace(s, "site: example", "tier: gold", 1)
		return strings.Replace(s, "role: compute", "role: worker", 1)
	})
	tk = run(v2)
	if tk.Result.Status != task.ResultSuccess {
		t.Fatalf("v2: %s\n%s", tk.Result.Status, messages(tk))
	}
	wantLabels(t, c.labels(t, "ctl01"), with("ctl01", map[string]string{"tier": "gold", "role": "control"}))
	for _, n := range []string{"cmp01", "cmp02", "cmp03"} {
		wantLabels(t, c.labels(t, n), with(n, map[string]string{"tier": "gold", "role": "worker"}))
	}
}
