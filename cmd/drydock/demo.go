package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/examples"
	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/app"
	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/driver/sim/simbmc"
	"github.com/drydock-go/drydock/internal/driver/simnode"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// demoActions is the whole sequence, from design to deployed nodes.
var demoActions = []string{task.ActionValidateDesign, task.ActionVerifySite, task.ActionPrepareSite,
	task.ActionVerifyNodes, task.ActionPrepareNodes, task.ActionDeployNodes}

func newDemoCmd() *cobra.Command {
	var dataDir, designRef, bmc, provisioner string
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole sequence on the example site against a simulated data centre",
		Long: `Demo is the newcomer's tour. It starts an orchestrator on a temporary data directory with the
embedded store and a simulated data centre, loads the example site design, and runs every
action in order — validate_design, verify_site, prepare_site, verify_nodes, prepare_nodes,
deploy_nodes — showing each node's progress live, then prints a summary with what the
simulated machines went through. Nothing is installed and nothing outside the temporary
directory is touched (use --data-dir to keep the state and inspect it afterwards with
drydock task list, drydock sim log ...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if bmc != "" && bmc != "ipmi" && bmc != "redfish" {
				return &exitError{exitUsage, fmt.Errorf("--bmc must be ipmi or redfish, not %q", bmc)}
			}
			if provisioner != "sim" && provisioner != "maas" {
				return &exitError{exitUsage, fmt.Errorf("--provisioner must be sim or maas, not %q", provisioner)}
			}
			return runDemo(cmd, dataDir, designRef, bmc, provisioner, keep)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "keep the demo's state in this directory (default: a temporary one, removed afterwards)")
	cmd.Flags().StringVarP(&designRef, "design-ref", "d", "", "a site design to use instead of the built-in example")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary data directory")
	cmd.Flags().StringVar(&bmc, "bmc", "", "put each simulated machine's BMC on loopback over ipmi or redfish and drive it with the real OOB driver")
	cmd.Flags().StringVar(&provisioner, "provisioner", "sim", "sim (the simulated provisioner) or maas (the real MAAS driver against a MAAS API emulator on loopback)")
	return cmd
}

func runDemo(cmd *cobra.Command, dataDir, designRef, bmc, provisioner string, keep bool) error {
	out := cmd.OutOrStdout()
	tty := isTerminal(out)
	color := tty && os.Getenv("NO_COLOR") == ""
	ctx := cmd.Context()
	if dataDir == "" {
		d, err := os.MkdirTemp("", "drydock-demo-")
		if err != nil {
			return err
		}
		dataDir = d
		if !keep {
			defer os.RemoveAll(d)
		}
	}
	if designRef == "" {
		dir := filepath.Join(dataDir, "site")
		if err := writeExample(dir); err != nil {
			return err
		}
		designRef = dir
	}
	designRef = absRef(designRef)
	cfg := config.Default()
	cfg.DataDir = dataDir
	if bmc != "" {
		cfg.Drivers.OOB = "real"
		cfg.OOB.PollInterval = config.Duration(100 * time.Millisecond)
	}
	logFile, err := os.Create(filepath.Join(dataDir, "drydock.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, nil))
	opts := app.Options{Logger: log,
		Orchestrator: orchestrator.Config{PollInterval: 100 * time.Millisecond, RetryBackoff: 200 * time.Millisecond}}
	var mx *demoMAAS
	if provisioner == "maas" {
		mctx, mstop := context.WithCancel(ctx)
		defer mstop()
		if mx, err = startDemoMAAS(mctx, designRef); err != nil {
			return err
		}
		cfg.Drivers.Node = "maas"
		cfg.MAAS = config.MAAS{URL: mx.url, APIKey: mx.emu.APIKey(), PollInterval: config.Duration(200 * time.Millisecond)}
		cfg.Sim.BootActions = simnode.ModeReport // the emulator's machines are simulated: they report
	}
	a, err := app.Open(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	bmcNote := ""
	if bmc != "" {
		var err error
		var e *simbmc.Endpoints
		designRef, e, err = serveBMCs(ctx, a, designRef, dataDir, bmc)
		if err != nil {
			return err
		}
		defer e.Close()
		bmcNote = fmt.Sprintf("  BMCs:     %d simulated %s BMCs on 127.0.0.1, driven by the real %s driver\n", len(e.Params), bmcName(bmc), bmcName(bmc))
	}
	maasNote := ""
	if mx != nil {
		n, err := mx.enlist(ctx, a, designRef)
		if err != nil {
			return err
		}
		maasNote = fmt.Sprintf("  MAAS:     %s, an emulator of the MAAS API 2.0 with %d enlisted machines, driven by the real MAAS driver\n", mx.url, n)
	}
	runCtx, stop := context.WithCancel(ctx)
	// The simulated nodes fetch their boot action assets from the API and report, as real
	// nodes do: the API listens on a loopback port for the demo's duration.
	apiURL, closeAPI, err := demoAPI(runCtx, a)
	if err != nil {
		stop()
		return err
	}
	defer closeAPI()
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		_ = a.Orch.Run(runCtx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		a.Nodes.Run(runCtx)
	}()
	defer func() { stop(); <-done; <-done }()

	bold := func(s string) string {
		if color {
			return ansiBold + s + ansiReset
		}
		return s
	}
	fmt.Fprintf(out, "%s\n  design:   %s\n  state:    %s (embedded store, simulated data centre)\n  log:      %s\n  API:      %s (simulated nodes report their boot actions here)\n%s\n",
		bold("Drydock-Go demo"), designRef, dataDir, logFile.Name(), apiURL, bmcNote+maasNote)
	type row struct {
		action string
		t      *task.Task
		took   time.Duration
	}
	var rows []row
	allOK := true
	for _, action := range demoActions {
		start := time.Now()
		t, err := a.Orch.Submit(ctx, action, designRef, nil, "demo")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s  %s\n", bold(action), dim(color, "task "+t.ID.String()))
		if _, err := watchTask(ctx, storeSource{a.Store}, t.ID, action, out, tty, color, 150*time.Millisecond); err != nil {
			return err
		}
		if t, err = a.Store.GetTask(ctx, t.ID); err != nil {
			return err
		}
		took := time.Since(start)
		rows = append(rows, row{action, t, took})
		fmt.Fprintf(out, "  → %s: %s (%s)\n\n", t.Result.Status, t.Result.Message, took.Round(10*time.Millisecond))
		if t.Result.Status != task.ResultSuccess {
			allOK = false
			printTaskErrors(out, t)
			break
		}
	}
	fmt.Fprintln(out, bold("Summary"))
	for _, r := range rows {
		fmt.Fprintf(out, "  %-16s %-16s %8s  %s\n", r.action, r.t.Result.Status, r.took.Round(10*time.Millisecond), r.t.Result.Message)
	}
	if mx != nil {
		mx.summary(out)
		if err := printBootActions(ctx, out, a); err != nil {
			return err
		}
	} else if a.Sim != nil {
		if err := printSimSummary(ctx, out, a.Sim); err != nil {
			return err
		}
		if err := printBootActions(ctx, out, a); err != nil {
			return err
		}
	}
	if keep || cmd.Flags().Changed("data-dir") {
		fmt.Fprintf(out, "\nState kept in %s. Try:\n  drydock task list --data-dir %s\n  drydock sim log --data-dir %s\n", dataDir, dataDir, dataDir)
	}
	if !allOK {
		return &exitError{exitInvalid, fmt.Errorf("the demo did not complete")}
	}
	return nil
}

func dim(color bool, s string) string {
	if color {
		return ansiDim + s + ansiReset
	}
	return s
}

func writeExample(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(examples.Site, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := examples.Site.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(p)), data, 0o644)
	})
}

func printTaskErrors(w io.Writer, t *task.Task) {
	n := 0
	for _, m := range t.Result.Messages {
		if m.Error {
			fmt.Fprintf(w, "  ! %s\n", m.Message)
			if n++; n == 20 {
				break
			}
		}
	}
}

// printSimSummary shows each simulated machine's final state and what it went through.
func printSimSummary(ctx context.Context, w io.Writer, s *sim.Site) error {
	ms, err := s.Machines(ctx)
	if err != nil {
		return err
	}
	ops, err := s.Log(ctx, "")
	if err != nil {
		return err
	}
	// A PXE boot is a power cycle or power-on (through the simulated OOB driver, or a BMC)
	// that booted from the network.
	const pxe = "pxe_boot"
	counts := map[string]map[string]int{}
	for _, op := range ops {
		if counts[op.Node] == nil {
			counts[op.Node] = map[string]int{}
		}
		counts[op.Node][op.Operation]++
		if (op.Operation == sim.LogPowerCycle || op.Operation == sim.LogPowerOn) && strings.Contains(op.Detail, "PXE boot") {
			counts[op.Node][pxe]++
		}
	}
	fmt.Fprintln(w, "\nSimulated machines")
	for _, m := range ms {
		c := counts[m.Name]
		status := m.Status
		if status == "" {
			status = "(not enlisted)"
		}
		fmt.Fprintf(w, "  %-8s %-10s power %-3s  %d PXE boot, %d commissioning, %d deploy\n", m.Name, status, m.Power,
			c[pxe], c[sim.LogCommission], c[sim.LogDeploy])
	}
	var parts []string
	for _, k := range []string{pxe, sim.LogCommission, sim.LogDeploy} {
		total := 0
		for _, c := range counts {
			total += c[k]
		}
		parts = append(parts, fmt.Sprintf("%d %s", total, strings.ReplaceAll(strings.ReplaceAll(k, "pxe", "PXE"), "_", " ")))
	}
	fmt.Fprintf(w, "  operation log: %d entries (%s)\n", len(ops), strings.Join(parts, ", "))
	return nil
}

func bmcName(p string) string {
	if p == "ipmi" {
		return "IPMI"
	}
	return "Redfish"
}

// serveBMCs puts the simulated machines' BMCs on loopback and writes a copy of the design whose
// nodes point at them; it returns the copy's reference.
func serveBMCs(ctx context.Context, a *app.App, designRef, dataDir, protocol string) (string, *simbmc.Endpoints, error) {
	srcs, err := (&ref.Resolver{}).Fetch(ctx, designRef)
	if err != nil {
		return "", nil, err
	}
	files := make([]simbmc.File, len(srcs))
	for i, s := range srcs {
		files[i] = simbmc.File{Name: filepath.Base(s.Name), Data: s.Data}
	}
	pw, err := auth.NewToken()
	if err != nil {
		return "", nil, err
	}
	out, e, err := simbmc.ServeDesign(ctx, a.Sim, files, protocol, "admin", pw[:16])
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(dataDir, "site-"+protocol)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		e.Close()
		return "", nil, err
	}
	for i, f := range out {
		name := fmt.Sprintf("%02d-%s", i, f.Name)
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o600); err != nil {
			e.Close()
			return "", nil, err
		}
	}
	return dir, e, nil
}

// demoAPI serves the API on a loopback port and points the nodes' boot action reports at it.
func demoAPI(ctx context.Context, a *app.App) (string, func(), error) {
	srv, _, err := a.API(ctx, version)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo API: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	a.Orch.SetBootActionURL(base + "/api/v1.0/bootactions/")
	return base + "/api/v1.0", func() { _ = hs.Close() }, nil
}

// printBootActions counts the boot actions of the deployed nodes by status.
func printBootActions(ctx context.Context, w io.Writer, a *app.App) error {
	ms, err := a.Sim.Machines(ctx)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, m := range ms {
		bc, err := a.Store.GetBootActionContext(ctx, m.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		acts, err := a.Store.ListBootActions(ctx, m.Name, bc.Deployment)
		if err != nil {
			return err
		}
		for _, act := range acts {
			counts[act.Status]++
		}
	}
	if len(counts) == 0 {
		return nil
	}
	var parts []string
	for _, st := range []string{store.BootActionSuccess, store.BootActionFailure, store.BootActionIncomplete, store.BootActionUnreported} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	fmt.Fprintf(w, "  boot actions: %s (unreported: signaling off)\n", strings.Join(parts, ", "))
	return nil
}
