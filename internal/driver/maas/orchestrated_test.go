package maas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/bootaction"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/task"
)

// designSources is a design reference that always reads the same documents.
type designSources []ref.Source

func (d designSources) Fetch(ctx context.Context, designRef string) ([]ref.Source, error) {
	return d, nil
}

// bootingNodes is the MAAS driver with the deployed nodes played: a node whose deployment the
// driver saw complete boots its OS, finds its identity key in its machine's boot action tag
// (as cloud-init would be handed it) and reports every signaling boot action, a little later,
// as drydock-baclient on the node would. A node that finds no key, or whose machine is not
// deployed, reports failure.
type bootingNodes struct {
	driver.NodeDriver
	emu   *maassim.Server
	store store.Store
	delay time.Duration

	wg     sync.WaitGroup
	mu     sync.Mutex
	handed map[string][]*driver.BootActions // per node, every context handed to a Deploy that ended Done
	errs   []error
}

func (b *bootingNodes) Deploy(ctx context.Context, c driver.Call) driver.Result {
	r := b.NodeDriver.Deploy(ctx, c)
	if r.Outcome != driver.Done || c.BootActions == nil {
		return r
	}
	b.mu.Lock()
	b.handed[c.Node.Name] = append(b.handed[c.Node.Name], c.BootActions)
	b.mu.Unlock()
	status, msg := store.BootActionSuccess, "ran on the deployed node"
	switch st, ok := b.machine(r); {
	case !ok:
		status, msg = store.BootActionFailure, "no MAAS machine for the deployed node"
	case st.StatusName != "Deployed":
		status, msg = store.BootActionFailure, "the machine is "+st.StatusName+", not Deployed"
	case !slices.Contains(st.Tags, bootActionTagPrefix(c.Node)+c.BootActions.KeyHex()):
		status, msg = store.BootActionFailure, "the node's identity key is not among its machine's tags"
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		time.Sleep(b.delay) // the OS boots: bootaction_report is waiting by now
		for _, a := range c.BootActions.Actions {
			if !a.Signaling {
				continue
			}
			m := task.Message{Message: a.Name + " " + msg, Error: status != store.BootActionSuccess,
				ContextType: task.ContextBootAction, Context: a.ID}
			if _, err := b.store.ReportBootAction(context.Background(), a.ID, status, []task.Message{m}, time.Now()); err != nil {
				b.mu.Lock()
				b.errs = append(b.errs, fmt.Errorf("%s reports %s: %w", c.Node.Name, a.Name, err))
				b.mu.Unlock()
			}
		}
	}()
	return r
}

func (b *bootingNodes) machine(r driver.Result) (maassim.MachineState, bool) {
	if r.State == nil || r.State.SystemID == "" {
		return maassim.MachineState{}, false
	}
	return b.emu.Snapshot(r.State.SystemID)
}

// pxeBooting is the simulated BMCs' OOB driver, with MAAS enlisting the machines that
// PXE-boot: a machine not yet known to MAAS enlists (with a name of MAAS's choosing) when its
// BMC powers it on or cycles it with the one-time boot device pxe.
type pxeBooting struct {
	driver.OOBDriver
	dc  *sim.Site
	emu *maassim.Server

	mu      sync.Mutex
	pending map[string]maassim.MachineSpec // node → its machine, until it enlists
	sids    map[string]string              // node → system id of the machines it enlisted
}

func (p *pxeBooting) Power(ctx context.Context, c driver.Call, a driver.PowerAction) driver.Result {
	m, _ := p.dc.Machine(c.Node.Name)
	pxe := m.NextBoot == driver.BootPXE
	r := p.OOBDriver.Power(ctx, c, a)
	if r.Outcome == driver.Done && pxe && (a == driver.PowerOn || a == driver.PowerCycle) {
		p.mu.Lock()
		if spec, ok := p.pending[c.Node.Name]; ok {
			delete(p.pending, c.Node.Name)
			p.sids[c.Node.Name] = p.emu.AddMachine(spec)
		}
		p.mu.Unlock()
	}
	return r
}

// kernelNames puts the NICs the design names by a PCI device alias of the node's hardware
// profile at the alias's address, under the name the kernel gives a NIC there (enp0s3 at
// 0000:00:03.0), as MAAS shows real hardware: the driver must then resolve the aliases from
// the lshw build data the orchestrator stored.
func kernelNames(spec *maassim.MachineSpec, hw *design.HardwareProfile) {
	if hw == nil {
		return
	}
	for i := range spec.Interfaces {
		nic := &spec.Interfaces[i]
		a := hw.Alias(nic.Name)
		if a == nil || a.BusType != "pci" || strings.Contains(a.Address, "regexp:") {
			continue
		}
		var dom, bus, slot, fn int
		if _, err := fmt.Sscanf(a.Address, "%x:%x:%x.%x", &dom, &bus, &slot, &fn); err != nil {
			continue
		}
		nic.PCIAddress, nic.Name = a.Address, fmt.Sprintf("enp%ds%d", bus, slot)
		if fn != 0 {
			nic.Name += fmt.Sprintf("f%d", fn)
		}
	}
}

// simMachines opens a simulated site (no latency) holding the site's nodes and returns it with
// the emulator's machine of each node (specs[i] is site.Nodes[i]'s), NICs under kernel names.
func simMachines(t *testing.T, site *design.Site) (*sim.Site, []maassim.MachineSpec) {
	t.Helper()
	lat := map[sim.Kind]time.Duration{}
	for _, k := range sim.Kinds {
		lat[k] = 0
	}
	dc, err := sim.Open("", sim.Config{Latency: lat})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	if err := dc.Ensure(site.Nodes...); err != nil {
		t.Fatal(err)
	}
	specs, err := maassim.FromSite(dc, site.Nodes)
	if err != nil {
		t.Fatal(err)
	}
	for i := range specs {
		kernelNames(&specs[i], site.Design.HardwareProfile(site.Nodes[i].HardwareProfile))
	}
	return dc, specs
}

// orchestrated is an orchestrator of the full site's design over a SQLite store, running until
// the test ends, with e's MAAS driver (its deployed nodes played by nodes) and an ipmi OOB driver.
type orchestrated struct {
	orch  *orchestrator.Orchestrator
	st    store.Store
	nodes *bootingNodes
}

// startOrchestrator starts an orchestrated; the booted nodes report bootDelay after their
// deployment.
func startOrchestrator(t *testing.T, e *env, oob driver.OOBDriver, bootDelay time.Duration, cfg orchestrator.Config) *orchestrated {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "drydock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	nodes := &bootingNodes{NodeDriver: e.d, emu: e.sim, store: st, delay: bootDelay,
		handed: map[string][]*driver.BootActions{}}
	t.Cleanup(nodes.wg.Wait)
	var srcs designSources
	for _, src := range fullSiteSources(t) {
		srcs = append(srcs, ref.Source{Name: src.Name, Data: src.Data})
	}
	orch := orchestrator.New(st, driver.Set{Node: nodes, OOB: map[string]driver.OOBDriver{"ipmi": oob}}, cfg,
		orchestrator.WithFetcher(srcs), orchestrator.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = orch.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return &orchestrated{orch: orch, st: st, nodes: nodes}
}

// run submits a task of the full site (filter nil: every node) and waits at most a minute for
// it to end.
func (o *orchestrated) run(t *testing.T, action string, filter []byte) (*task.Task, error) {
	t.Helper()
	tk, err := o.orch.Submit(t.Context(), action, "deckhand_fullsite.yaml+lvm.yaml", filter, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	return o.orch.WaitTask(ctx, tk.ID, 10*time.Millisecond)
}

// TestOrchestratedDeployFullSite runs prepare_site, prepare_nodes and deploy_nodes of the full
// site (deckhand_fullsite.yaml with the storage01 node, as TestFullSiteFieldByField) through
// the orchestrator (SQLite store), the MAAS driver and the emulator, whose machines are those
// of a simulated site (their NICs, disks and BMCs, driven by the simulated OOB driver). Three
// machines are enlisted up front; compute02 enlists only when prepare_nodes PXE-boots it. NICs
// carry kernel names, so the device aliases must be resolved from the stored lshw. It then
// compares every machine with its node's applied model field by field (checkMachineWith), and
// checks the build data and boot action records the orchestrator stored.
func TestOrchestratedDeployFullSite(t *testing.T) {
	ctx := t.Context()
	site := loadFullSite(t)
	e := newEnv(t, site, envOpts{
		sim: maassim.Config{Delays: maassim.Delays{Commissioning: 30 * time.Millisecond, Testing: 10 * time.Millisecond,
			Deploying: 40 * time.Millisecond, Releasing: 10 * time.Millisecond, DiskErasing: 10 * time.Millisecond}},
		driver: Config{PollInterval: 10 * time.Millisecond},
	})

	// The machines and their BMCs, enlisted in MAAS with the names a PXE enlistment gives
	// (prepare_nodes finds them by BMC address and renames them).
	dc, specs := simMachines(t, site)
	// compute02 is new hardware: it enlists when prepare_nodes PXE-boots it.
	const late = "compute02"
	oob := &pxeBooting{OOBDriver: dc.OOBDriver(), dc: dc, emu: e.sim, pending: map[string]maassim.MachineSpec{}, sids: map[string]string{}}
	for i, spec := range specs {
		n := site.Nodes[i]
		spec.Hostname = ""
		if n.Name == late {
			oob.pending[n.Name] = spec
			continue
		}
		e.sids[n.Name] = e.sim.AddMachine(spec)
	}

	o := startOrchestrator(t, e, oob, 30*time.Millisecond, orchestrator.Config{ID: "maas-e2e", PollInterval: 20 * time.Millisecond,
		RetryBackoff: 10 * time.Millisecond, BootActionURL: "http://drydock.test/api/v1.0/bootactions/",
		BootActionRecheck: 200 * time.Millisecond,
		// A node that never reports fails the test in seconds, not in 15 minutes.
		Timeouts: map[string]time.Duration{"bootaction_report": 20 * time.Second}})
	st, nodes := o.st, o.nodes

	var names []string
	for _, n := range site.Nodes {
		names = append(names, n.Name)
	}
	tasks := map[string]*task.Task{}
	for _, action := range []string{task.ActionPrepareSite, task.ActionPrepareNodes, task.ActionDeployNodes} {
		tk, err := o.run(t, action, nil)
		if tk == nil {
			t.Fatalf("%s: %v", action, err)
		}
		if err != nil || tk.Status != task.StatusComplete || tk.Result.Status != task.ResultSuccess ||
			action != task.ActionPrepareSite && !sameSet(tk.Result.Successes, names) {
			t.Fatalf("%s: %v: status %s, result %s, successes %v, failures %v\n%s\n%s", action, err, tk.Status,
				tk.Result.Status, tk.Result.Successes, tk.Result.Failures, taskMessages(tk), stepRuns(st, tk.ID))
		}
		tasks[action] = tk
	}
	nodes.mu.Lock()
	for _, err := range nodes.errs {
		t.Error(err)
	}
	nodes.mu.Unlock()
	oob.mu.Lock()
	e.sids[late] = oob.sids[late]
	oob.mu.Unlock()
	if e.sids[late] == "" {
		t.Fatalf("%s did not enlist when it was PXE-booted", late)
	}

	// Aliases as the orchestrator resolves them: from the lshw build data it stored.
	for _, n := range site.Nodes {
		bds, err := st.ListBuildData(ctx, store.BuildDataQuery{NodeName: n.Name, Latest: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, bd := range bds {
			if bd.Generator == "lshw" {
				e.commissionNames(n, driver.Result{BuildData: []driver.BuildData{{Generator: "lshw", Data: bd.Data}}})
			}
		}
	}

	for _, n := range site.Nodes {
		t.Run(n.Name, func(t *testing.T) {
			ms, ok := e.sim.Snapshot(e.sids[n.Name])
			if !ok {
				t.Fatal("no machine")
			}
			ba := handedTo(t, nodes, site, n)
			checkMachineWith(t, e, n, ms, ba)
			checkRecords(t, st, tasks, n, ms, ba)
		})
	}
	checkNoSecrets(t, e, st, tasks)
	checkSteps(t, st, tasks, late)
	// The new machine was PXE-booted once; the others were not power-cycled.
	for _, n := range site.Nodes {
		ops, err := dc.Log(ctx, n.Name)
		if err != nil {
			t.Fatal(err)
		}
		cycles := 0
		for _, op := range ops {
			if op.Operation == sim.LogPowerCycle {
				cycles++
			}
		}
		if want := map[bool]int{true: 1}[n.Name == late]; cycles != want {
			t.Errorf("%s: power-cycled %d times, want %d", n.Name, cycles, want)
		}
	}
}

// handedTo is the boot action context the orchestrator recorded for the node, checked against
// what it handed the driver; nil when no boot action targets the node.
func handedTo(t *testing.T, nodes *bootingNodes, site *design.Site, n *design.Node) *driver.BootActions {
	t.Helper()
	nodes.mu.Lock()
	handed := nodes.handed[n.Name]
	nodes.mu.Unlock()
	bc, err := nodes.store.GetBootActionContext(t.Context(), n.Name)
	if errors.Is(err, store.ErrNotFound) {
		if len(handed) != 0 {
			t.Errorf("deployed with boot actions %+v, but the store has no context", handed)
		}
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	if len(handed) != 1 {
		t.Fatalf("%d deployments with boot actions ended Done, want 1", len(handed))
	}
	ba := handed[0]
	if string(ba.Key) != string(bc.Key) || len(bc.Key) != 32 {
		t.Errorf("the driver was handed another key than the one recorded")
	}
	// The actions targeting the node, and the packages of their (inline) pkg_list assets,
	// rendered at deploy time into the cloud-config user data.
	var want, got []string
	var pkgs []design.Pkg
	for _, a := range bootaction.Targeting(site, n.Name) {
		want = append(want, fmt.Sprintf("%s signaling=%v", a.Name, a.Signaling))
		for _, as := range a.Assets {
			if as.Type == design.AssetPkgList {
				pkgs = append(pkgs, as.PackageList...)
			}
		}
	}
	for _, a := range ba.Actions {
		got = append(got, fmt.Sprintf("%s signaling=%v", a.Name, a.Signaling))
	}
	if !slices.Equal(got, want) {
		t.Errorf("boot actions %v, want %v", got, want)
	}
	slices.SortFunc(pkgs, func(a, b design.Pkg) int { return strings.Compare(a.Name, b.Name) })
	if len(pkgs) == 0 || ba.UserData != bootaction.CloudConfig(pkgs) {
		t.Errorf("user data %q, want the packages %v", ba.UserData, pkgs)
	}
	return ba
}

// checkRecords checks what the orchestrator stored about the node: build data of
// commissioning (lshw, lldp) and deployment, and every boot action reported.
func checkRecords(t *testing.T, st store.Store, tasks map[string]*task.Task, n *design.Node, ms maassim.MachineState, ba *driver.BootActions) {
	t.Helper()
	ctx := t.Context()
	bds, err := st.ListBuildData(ctx, store.BuildDataQuery{NodeName: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	gens := map[string]store.BuildData{}
	var deploys []string
	for _, bd := range bds {
		gens[bd.Generator] = bd
		if strings.HasPrefix(bd.Generator, "deploy:") {
			deploys = append(deploys, bd.Generator)
		}
	}
	for _, g := range []string{"lshw", "lldp"} {
		bd, ok := gens[g]
		if !ok || bd.Format != "text/xml" || !strings.Contains(string(bd.Data), "<") {
			t.Errorf("build data %s: %q %d bytes (stored: %v)", g, bd.Format, len(bd.Data), sortedKeys(gens))
		}
	}
	for _, i := range ms.Interfaces {
		if i.Type == "physical" && !strings.Contains(string(gens["lshw"].Data), i.MAC) {
			t.Errorf("the lshw build data lacks the machine's NIC %s (%s)", i.Name, i.MAC)
		}
	}
	if len(deploys) == 0 {
		t.Errorf("no deploy build data (stored: %v)", sortedKeys(gens))
	}
	// Build data hang on the subtasks of the steps that collected them.
	steps := subtaskSteps(t, st, tasks)
	for g, bd := range gens {
		want := "configure_hardware"
		if strings.HasPrefix(g, "deploy:") {
			want = "deploy_node"
		}
		if got := steps[bd.TaskID]; got != want {
			t.Errorf("build data %s recorded on step %q, want %s", g, got, want)
		}
	}

	if ba == nil {
		return
	}
	bc, err := st.GetBootActionContext(ctx, n.Name)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := st.ListBootActions(ctx, n.Name, bc.Deployment)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != len(ba.Actions) || len(acts) == 0 {
		t.Errorf("%d boot actions recorded, %d handed to the node", len(acts), len(ba.Actions))
	}
	for _, a := range acts {
		want := store.BootActionSuccess
		if !a.Signaling {
			want = store.BootActionUnreported
		}
		if a.Status != want {
			t.Errorf("boot action %s (signaling %v): %s, want %s", a.Name, a.Signaling, a.Status, want)
		}
	}
	if !slices.Contains(ms.Tags, bootActionTagPrefix(n)+fmt.Sprintf("%x", bc.Key)) {
		t.Errorf("tags %v lack %s<key>", ms.Tags, bootActionTagPrefix(n))
	}
}

// checkNoSecrets fails when a message the tasks recorded (the tasks', their subtasks' and
// every step's) carries the MAAS API key, a part of it, or a node's identity key.
func checkNoSecrets(t *testing.T, e *env, st store.Store, tasks map[string]*task.Task) {
	t.Helper()
	ctx := t.Context()
	secrets := append(strings.Split(e.key, ":"), e.key)
	for _, n := range e.site.Nodes {
		if bc, err := st.GetBootActionContext(ctx, n.Name); err == nil {
			secrets = append(secrets, fmt.Sprintf("%x", bc.Key))
		}
	}
	var texts []string
	for _, tk := range tasks {
		ids := append([]uuid.UUID{tk.ID}, tk.SubtaskIDs...)
		for _, id := range ids {
			sub, err := st.GetTask(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range sub.Result.Messages {
				texts = append(texts, m.Message)
			}
			texts = append(texts, sub.Result.Message)
		}
		runs, err := st.ListStepRuns(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			texts = append(texts, r.Message, string(r.Detail))
		}
	}
	for _, text := range texts {
		for _, sec := range secrets {
			if len(sec) >= 4 && strings.Contains(text, sec) {
				t.Errorf("a message carries a secret: %s", text)
			}
		}
	}
}

// subtaskSteps maps the subtasks of the tasks to their step keys.
func subtaskSteps(t *testing.T, st store.Store, tasks map[string]*task.Task) map[uuid.UUID]string {
	t.Helper()
	out := map[uuid.UUID]string{}
	for _, tk := range tasks {
		for _, id := range tk.SubtaskIDs {
			sub, err := st.GetTask(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			out[sub.ID] = sub.Step
		}
	}
	return out
}

// checkSteps checks that every node went through every step of prepare_nodes and
// deploy_nodes, and that the OOB steps were skipped for the nodes MAAS had enlisted, not for
// the late one.
func checkSteps(t *testing.T, st store.Store, tasks map[string]*task.Task, late string) {
	t.Helper()
	for _, action := range []string{task.ActionPrepareNodes, task.ActionDeployNodes} {
		runs, err := st.ListStepRuns(t.Context(), tasks[action].ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			want := task.StepSucceeded
			switch r.Step {
			case "set_node_boot", "power_cycle_node":
				if r.Node != late {
					want = task.StepSkipped // MAAS knows the machine
				}
			case "identify_node":
				if r.State == task.StepSkipped && r.Node != late {
					want = r.State // find_node found and renamed it already
				}
			}
			if r.State != want {
				t.Errorf("%s %s %s: %s, want %s: %s", action, r.Step, r.Node, r.State, want, r.Message)
			}
		}
	}
}

func taskMessages(tk *task.Task) string {
	if tk == nil {
		return ""
	}
	var b strings.Builder
	for _, m := range tk.Result.Messages {
		fmt.Fprintf(&b, "  %s %s error=%v: %s\n", m.ContextType, m.Context, m.Error, m.Message)
	}
	return b.String()
}

func stepRuns(st store.Store, id uuid.UUID) string {
	runs, err := st.ListStepRuns(context.Background(), id)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "  %-24s %-14s %-10s %s\n", r.Step, r.Node, r.State, r.Message)
	}
	return b.String()
}
