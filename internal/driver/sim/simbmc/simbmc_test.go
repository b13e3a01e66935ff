package simbmc

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/examples"
	"github.com/drydock-go/drydock/internal/app"
	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/task"
)

func exampleFiles(t *testing.T) []File {
	t.Helper()
	var out []File
	err := fs.WalkDir(examples.Site, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := examples.Site.ReadFile(p)
		out = append(out, File{Name: filepath.Base(p), Data: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The real IPMI and Redfish drivers drive the simulated site through its BMCs: verify_nodes
// and prepare_nodes succeed, every machine is PXE-booted once through its BMC and is then
// known to the provisioner, and the password appears in no task message.
func TestOrchestratorOverSimulatedBMCs(t *testing.T) {
	for _, proto := range []string{"ipmi", "redfish"} {
		t.Run(proto, func(t *testing.T) {
			dir := t.TempDir()
			cfg := config.Default()
			cfg.DataDir = dir
			cfg.Drivers.OOB = "real"
			cfg.OOB = config.OOB{PollInterval: config.Duration(20 * time.Millisecond), PowerTimeout: config.Duration(10 * time.Second),
				Backoff: config.Duration(20 * time.Millisecond), RequestTimeout: config.Duration(2 * time.Second)}
			cfg.Sim.Latency = map[string]config.Duration{"enlist": config.Duration(200 * time.Millisecond),
				"commission": config.Duration(300 * time.Millisecond), "identify": config.Duration(10 * time.Millisecond)}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			a, err := app.Open(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler), Orchestrator: orchestrator.Config{PollInterval: 50 * time.Millisecond, RetryBackoff: 50 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			const password = "Bmc-pa55word-42"
			files, e, err := ServeDesign(ctx, a.Sim, exampleFiles(t), proto, "admin", password)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if len(e.Params) != 4 {
				t.Fatalf("%d BMCs, want 4", len(e.Params))
			}
			siteDir := filepath.Join(dir, "site")
			if err := os.MkdirAll(siteDir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(siteDir, f.Name), f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = a.Orch.Run(runCtx) }()
			defer func() { stop(); <-done }()
			for _, action := range []string{task.ActionVerifyNodes, task.ActionPrepareNodes} {
				tk, err := a.Orch.Submit(ctx, action, siteDir, nil, "test")
				if err != nil {
					t.Fatal(err)
				}
				tk, err = a.Orch.WaitTask(ctx, tk.ID, 20*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				if tk.Result.Status != task.ResultSuccess || len(tk.Result.Successes) != 4 {
					for _, m := range tk.Result.Messages {
						t.Log(m.Message)
					}
					t.Fatalf("%s: %s %s", action, tk.Result.Status, tk.Result.Message)
				}
				for _, m := range tk.Result.Messages {
					if strings.Contains(m.Message, password) {
						t.Errorf("%s: a message shows the BMC password: %s", action, m.Message)
					}
				}
			}
			ms, err := a.Sim.Machines(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.Status != sim.StatusReady {
					t.Errorf("%s: status %q; want Ready (commissioned)", m.Name, m.Status)
				}
				ops, _ := a.Sim.Log(ctx, m.Name)
				viaBMC := 0
				for _, op := range ops {
					if op.Operation == sim.LogPowerOn && strings.Contains(op.Detail, "via BMC; PXE boot") {
						viaBMC++
					}
				}
				if viaBMC != 1 {
					t.Errorf("%s: %d PXE boots through the BMC, want 1", m.Name, viaBMC)
				}
			}
		})
	}
}

func TestRewriteOOB(t *testing.T) {
	src := []byte("schema: drydock/BaremetalNode/v1\nmetadata: {schema: metadata/Document/v1, name: n1}\ndata:\n  oob:\n    account: root\n---\nschema: drydock/BaremetalNode/v1\nmetadata: {schema: metadata/Document/v1, name: n2}\ndata:\n  host_profile: x\n---\nschema: drydock/Network/v1\nmetadata: {schema: metadata/Document/v1, name: n1}\ndata: {cidr: 10.0.0.0/24}\n")
	out, err := RewriteOOB(src, map[string]map[string]string{"n1": {"port": "1623", "account": "admin"}, "n2": {"type": "ipmi"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`account: "admin"`, `port: "1623"`, `type: "ipmi"`, "cidr: 10.0.0.0/24"} {
		if !strings.Contains(s, want) {
			t.Errorf("rewritten design lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "root") || strings.Count(s, "port:") != 1 {
		t.Errorf("wrong rewrite:\n%s", s)
	}
}
