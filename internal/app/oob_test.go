package app

// The real OOB drivers through the orchestrator, against real peers: an OpenIPMI ipmi_sim BMC,
// the Redfish simulator, a libvirt TCG domain that really PXE-boots, and a manual node.
//
// The node driver is the simulated provisioner. It only learns of a PXE boot the way MAAS does,
// by seeing the machine boot: the tests bridge every real peer's PXE boot into the simulated
// machine through its simulated BMC (next boot pxe, then power on), which starts its
// enlistment. For Redfish the simulator's system is backed by the simulated machine; for
// ipmi_sim the chassis events log is watched; for libvirt the VM's iPXE script calls an HTTP
// recorder; for the manual node the test acts as the operator once the orchestrator has told
// it to power-cycle the node.
//
// Each test is gated on its peers like the driver tests: it skips loudly when a peer is
// missing, and fails instead when DRYDOCK_REQUIRE_IPMI=1 / DRYDOCK_REQUIRE_LIBVIRT=1.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	yaml "go.yaml.in/yaml/v4"

	"github.com/drydock-go/drydock/examples"
	"github.com/drydock-go/drydock/internal/api"
	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver/ipmi/ipmitest"
	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/driver/sim/simbmc"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

// ---------------------------------------------------------------------------------------------
// Gates.

const (
	envRequireIPMI    = "DRYDOCK_REQUIRE_IPMI"
	envRequireLibvirt = "DRYDOCK_REQUIRE_LIBVIRT"
)

// skipOrFailOOB skips the test loudly, or fails it when the peer is required.
func skipOrFailOOB(t *testing.T, requireEnv, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s, and %s=1", msg, requireEnv)
	}
	t.Skipf("SKIPPED: %s; set %s=1 to make this a failure", msg, requireEnv)
}

// requireIPMISim checks for OpenIPMI's ipmi_sim and ipmitool.
func requireIPMISim(t *testing.T) {
	t.Helper()
	for _, name := range []string{"ipmi_sim", "ipmitool"} {
		if _, err := exec.LookPath(name); err != nil {
			skipOrFailOOB(t, envRequireIPMI, "%s is not installed (apt-get install -y --no-install-recommends openipmi ipmitool)", name)
		}
	}
}

// libvirtdLock is held (flock) while this package's private libvirtd runs, so that two test
// processes that both use it wait for each other instead of failing.
const libvirtdLock = "/tmp/drydock-libvirt-test.lock"

// libvirtWait bounds the wait for another test's libvirtd to go away.
const libvirtWait = 5 * time.Minute

// requireLibvirt checks for a privileged libvirtd with QEMU and iPXE, and takes libvirtdLock
// (waiting for it, bounded) until the test ends.
func requireLibvirt(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		skipOrFailOOB(t, envRequireLibvirt, "libvirtd tests need Linux")
	}
	if os.Geteuid() != 0 {
		skipOrFailOOB(t, envRequireLibvirt, "libvirtd tests need root (a privileged libvirtd runs the QEMU driver)")
	}
	for _, bin := range []string{"libvirtd", "virsh", "qemu-system-x86_64"} {
		if _, err := exec.LookPath(bin); err != nil {
			skipOrFailOOB(t, envRequireLibvirt, "%s is not installed (apt-get install --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 ipxe-qemu)", bin)
		}
	}
	if _, err := os.Stat("/usr/lib/ipxe/qemu/efi-virtio.rom"); err != nil {
		skipOrFailOOB(t, envRequireLibvirt, "the iPXE ROMs for QEMU are not installed (apt-get install ipxe-qemu)")
	}
	f, err := os.OpenFile(libvirtdLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(libvirtWait)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			skipOrFailOOB(t, envRequireLibvirt, "another test holds %s for more than %s", libvirtdLock, libvirtWait)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() }) // releases the lock, after the libvirtd's own clean-up
}

// foreignLibvirt names a libvirtd that keeps this test from starting its own now ("" when none
// runs). The libvirt driver's tests take libvirtdLock too, so holding it suffices against them;
// this catches a libvirtd started some other way.
func foreignLibvirt() string {
	if out, _ := exec.Command("pgrep", "-x", "libvirtd").Output(); len(bytes.TrimSpace(out)) > 0 {
		return "libvirtd (pid " + strings.Fields(string(out))[0] + ")"
	}
	return ""
}

// ---------------------------------------------------------------------------------------------
// ipmi_sim (scripts/ipmi-sim).

// mirrorPXEBoots watches the chassis events until ctx ends and mirrors every power-on that
// follows a "set boot pxe" into the simulated machine.
func mirrorIPMIPXEBoots(b *ipmitest.Sim, ctx context.Context, t *testing.T, bmc *sim.BMC) {
	seen, pxe := 0, false
	for {
		ev := b.Events()
		for _, e := range ev[seen:] {
			switch e {
			case "set boot pxe":
				pxe = true
			case "set power 1":
				if pxe {
					pxe = false
					if err := pxeBoot(ctx, bmc); err != nil && ctx.Err() == nil {
						t.Errorf("mirroring the ipmi_sim PXE boot: %v", err)
					}
				}
			}
		}
		seen = len(ev)
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pxeBoot is a PXE boot of the simulated machine, as the provisioner would see it.
func pxeBoot(ctx context.Context, b *sim.BMC) error {
	if err := b.SetNextBoot(ctx, "pxe"); err != nil {
		return err
	}
	if err := b.SetPower(ctx, false); err != nil {
		return err
	}
	return b.SetPower(ctx, true)
}

// ---------------------------------------------------------------------------------------------
// Redfish simulator, backed by simulated machines.

// simMachine backs a redfishsim system with a simulated machine (as simbmc does).
type simMachine struct{ b *sim.BMC }

func simOpCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (m simMachine) PowerOn() bool { return m.b.PowerOn() }

func (m simMachine) SetPower(on bool) {
	ctx, cancel := simOpCtx()
	defer cancel()
	_ = m.b.SetPower(ctx, on)
}

func (m simMachine) NextBoot() string {
	if m.b.NextBoot() == "pxe" {
		return "Pxe"
	}
	return ""
}

func (m simMachine) SetNextBoot(target string, once bool) {
	dev := "disk"
	if target == "Pxe" {
		dev = "pxe"
	}
	ctx, cancel := simOpCtx()
	defer cancel()
	_ = m.b.SetNextBoot(ctx, dev)
}

// startRedfish serves one system per node (system id = node name), each backed by the node's
// simulated machine, over plain HTTP on loopback.
func startRedfish(t *testing.T, bmcs map[string]*sim.BMC, macs map[string]string, user, pass string) (*redfishsim.Server, string, string) {
	t.Helper()
	cfg := redfishsim.Config{User: user, Password: pass, Machines: map[string]redfishsim.Machine{}, MACs: map[string]string{}}
	for _, name := range slices.Sorted(mapsKeys(bmcs)) {
		cfg.IDs = append(cfg.IDs, name)
		cfg.Machines[name] = simMachine{bmcs[name]}
		if mac := macs[name]; mac != "" {
			cfg.MACs[name] = mac
		}
	}
	srv := redfishsim.New(cfg)
	url, closeFn, err := srv.Start("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	host, port, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return srv, host, port
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// libvirt (scripts/libvirt-test-env).

type libvirtEnv struct {
	dir, script, sock string
	rec               *pxeRecorder
}

// startLibvirtEnv starts a private libvirtd and the HTTP recorder the test VMs' iPXE scripts
// call; the VMs and libvirtd are removed when the test ends. Only one privileged libvirtd can
// run at a time: it first waits (bounded) until no other runs, and starts again when it lost a
// race with another one starting at the same time.
func startLibvirtEnv(t *testing.T) *libvirtEnv {
	t.Helper()
	requireLibvirt(t)
	e := &libvirtEnv{dir: t.TempDir(), script: filepath.Join(testutil.ModuleDir(t), "scripts", "libvirt-test-env")}
	e.sock = filepath.Join(e.dir, "run", "libvirt-sock")
	stop := func() (string, error) {
		out, err := exec.Command(e.script, "stop", e.dir).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	t.Cleanup(func() {
		out, err := stop()
		t.Logf("libvirt-test-env stop: %s", out)
		if err != nil {
			t.Errorf("stopping libvirtd: %v", err)
		}
	})
	t0 := time.Now()
	deadline := t0.Add(libvirtWait)
	for {
		for other := foreignLibvirt(); other != ""; other = foreignLibvirt() {
			if time.Now().After(deadline) {
				skipOrFailOOB(t, envRequireLibvirt, "%s has been running for more than %s, and only one privileged libvirtd can run at a time", other, libvirtWait)
			}
			time.Sleep(time.Second)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		out, err := exec.CommandContext(ctx, e.script, "start", e.dir).CombinedOutput()
		cancel()
		if err == nil {
			break
		}
		_, _ = stop()
		if other := foreignLibvirt(); other == "" || time.Now().After(deadline) {
			t.Fatalf("libvirt-test-env start: %v\n%s", err, out)
		} else {
			t.Logf("libvirt-test-env start lost a race with %s; waiting for it to end:\n%s", other, out)
		}
	}
	t.Logf("libvirtd answers after %.1fs", time.Since(t0).Seconds())
	e.rec = startPXERecorder(t)
	return e
}

func (e *libvirtEnv) run(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, e.script, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("libvirt-test-env %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// vm defines a TCG domain whose NIC with mac PXE-boots and calls the recorder.
func (e *libvirtEnv) vm(t *testing.T, name, mac string) {
	t.Helper()
	e.run(t, time.Minute, "vm", e.dir, name, mac, "--port", strconv.Itoa(e.rec.port))
}

// pxeRecorder is the HTTP server the test VMs' iPXE scripts fetch /booted?mac=… from.
type pxeRecorder struct {
	port int
	mu   sync.Mutex
	macs []string
	on   func(mac string)
}

func startPXERecorder(t *testing.T) *pxeRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &pxeRecorder{port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/booted" {
			http.NotFound(w, req)
			return
		}
		mac := strings.ToLower(req.URL.Query().Get("mac"))
		r.mu.Lock()
		r.macs = append(r.macs, mac)
		on := r.on
		r.mu.Unlock()
		if on != nil {
			on(mac)
		}
		fmt.Fprint(w, "#!ipxe\necho drydock test: boot recorded\nsleep 3600\n") // idle until powered off
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *pxeRecorder) onBoot(f func(mac string)) {
	r.mu.Lock()
	r.on = f
	r.mu.Unlock()
}

func (r *pxeRecorder) booted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.macs)
}

// ---------------------------------------------------------------------------------------------
// Designs.

// exampleSite returns the example site's files by base name.
func exampleSite(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(examples.Site, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := examples.Site.ReadFile(p)
		out[filepath.Base(p)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// setNodeMetadata sets data.metadata keys of the named BaremetalNodes (e.g. boot_mac).
func setNodeMetadata(src []byte, kv map[string]map[string]string) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	get := func(m *yaml.Node, key string) *yaml.Node {
		if m == nil || m.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		return nil
	}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 1 {
			root := doc.Content[0]
			name := ""
			if n := get(get(root, "metadata"), "name"); n != nil {
				name = n.Value
			}
			if s := get(root, "schema"); s != nil && s.Value == "drydock/BaremetalNode/v1" && kv[name] != nil {
				data := get(root, "data")
				md := get(data, "metadata")
				if md == nil {
					md = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
					data.Content = append(data.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "metadata"}, md)
				}
				for _, k := range slices.Sorted(mapsKeys(kv[name])) {
					v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: kv[name][k], Style: yaml.DoubleQuotedStyle}
					if old := get(md, k); old != nil {
						*old = *v
					} else {
						md.Content = append(md.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
					}
				}
			}
		}
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// compileNodes compiles a design's files and returns its nodes by name.
func compileNodes(t *testing.T, files map[string][]byte) map[string]*design.Node {
	t.Helper()
	var srcs []design.Source
	for _, name := range slices.Sorted(mapsKeys(files)) {
		srcs = append(srcs, design.Source{Name: name, Data: files[name]})
	}
	in := design.Parse(srcs...)
	if !in.OK() {
		t.Fatalf("the design cannot be read: %s", in.Messages[0].Message)
	}
	out := map[string]*design.Node{}
	for _, n := range design.Compile(in.Design).Nodes {
		out[n.Name] = n
	}
	return out
}

// writeSite writes the design files into dir/site and returns that directory.
func writeSite(t *testing.T, dir string, files map[string][]byte) string {
	t.Helper()
	site := filepath.Join(dir, "site")
	if err := os.MkdirAll(site, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(site, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return site
}

// ---------------------------------------------------------------------------------------------
// The process under test.

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type oobHarness struct {
	a   *App
	log *syncBuffer
	api *httptest.Server
}

// openOOBApp opens a process with the real OOB drivers and the simulated provisioner, runs its
// orchestrator and serves its API (no authentication) until the test ends.
func openOOBApp(t *testing.T, dir string, o config.OOB, oc orchestrator.Config) *oobHarness {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Drivers.OOB = "real"
	cfg.OOB = o
	cfg.Sim.Latency = map[string]config.Duration{"enlist": config.Duration(200 * time.Millisecond),
		"commission": config.Duration(300 * time.Millisecond), "identify": config.Duration(10 * time.Millisecond)}
	h := &oobHarness{log: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := Open(t.Context(), cfg, Options{Logger: logger, Orchestrator: oc})
	if err != nil {
		t.Fatal(err)
	}
	h.a = a
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Orch.Run(runCtx) }()
	srv := &api.Server{Store: a.Store, Orch: a.Orch, Drivers: a.Drivers, Auth: auth.None{}, Log: logger}
	h.api = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		h.api.Close()
		stop()
		<-done
		if err := a.Close(); err != nil {
			t.Errorf("closing the app: %v", err)
		}
	})
	return h
}

// run submits a task and waits for it to finish.
func (h *oobHarness) run(t *testing.T, ctx context.Context, action, siteDir string, during func(id uuid.UUID)) *task.Task {
	t.Helper()
	tk, err := h.a.Orch.Submit(ctx, action, siteDir, nil, "oob-test")
	if err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(tk.ID)
	}
	start := time.Now()
	tk, err = h.a.Orch.WaitTask(ctx, tk.ID, 20*time.Millisecond)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	t.Logf("%s: %s in %.1fs: %s (successes %v, failures %v)", action, tk.Result.Status, time.Since(start).Seconds(),
		tk.Result.Message, tk.Result.Successes, tk.Result.Failures)
	return tk
}

// steps returns a task's step runs by step and node.
func (h *oobHarness) steps(t *testing.T, tk *task.Task) map[string]map[string]task.StepRun {
	t.Helper()
	runs, err := h.a.Store.ListStepRuns(t.Context(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]task.StepRun{}
	for _, r := range runs {
		if out[r.Step] == nil {
			out[r.Step] = map[string]task.StepRun{}
		}
		out[r.Step][r.Node] = r
	}
	return out
}

// stepData decodes a step run's detail data.
func stepData(t *testing.T, sr task.StepRun) map[string]any {
	t.Helper()
	var d struct {
		Data map[string]any `json:"data"`
	}
	if len(sr.Detail) > 0 {
		if err := json.Unmarshal(sr.Detail, &d); err != nil {
			t.Fatalf("step %s of %s: detail %s: %v", sr.Step, sr.Node, sr.Detail, err)
		}
	}
	return d.Data
}

// nodeMessages returns a task's messages about a node.
func nodeMessages(tk *task.Task, node string) []string {
	var out []string
	for _, m := range tk.Result.Messages {
		if m.ContextType == task.ContextNode && m.Context == node {
			out = append(out, m.Message)
		}
	}
	return out
}

// texts gathers every text a task leaves behind, as the store and the API give it: the task,
// its subtasks, their messages and results, the step runs with their details, the node states,
// and the API's answers about them.
func (h *oobHarness) texts(t *testing.T, tasks ...*task.Task) map[string]string {
	t.Helper()
	ctx := t.Context()
	out := map[string]string{}
	add := func(where string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		out[where] = string(b)
	}
	get := func(path string) {
		resp, err := http.Get(h.api.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s: %s", path, resp.Status, b)
		}
		out["API "+path] = string(b)
	}
	for _, tk := range tasks {
		full, err := h.a.Store.GetTask(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		add("task "+tk.Action, full)
		for _, id := range full.SubtaskIDs {
			sub, err := h.a.Store.GetTask(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			add("subtask "+sub.Action, sub)
		}
		runs, err := h.a.Store.ListStepRuns(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			out[fmt.Sprintf("step %s/%s message", r.Step, r.Node)] = r.Message
			out[fmt.Sprintf("step %s/%s detail", r.Step, r.Node)] = string(r.Detail)
		}
		id := tk.ID.String()
		get("/api/v1.0/tasks/" + id + "?subtaskerrors=true&layers=-1&builddata=true")
		get("/api/v1.0/tasks/" + id + "/steps")
		get("/api/v1.0/tasks/" + id + "/builddata")
	}
	states, err := h.a.Store.GetNodeStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for n, s := range states {
		out["node state "+n] = string(s)
	}
	get("/api/v1.0/tasks")
	get("/api/v1.0/nodes")
	out["log"] = h.log.String()
	return out
}

// noSecrets fails when any text shows one of the passwords.
func noSecrets(t *testing.T, texts map[string]string, secrets ...string) {
	t.Helper()
	for where, s := range texts {
		for _, pw := range secrets {
			if strings.Contains(s, pw) {
				i := strings.Index(s, pw)
				t.Errorf("%s shows the password %q: …%s…", where, pw, s[max(0, i-120):min(len(s), i+len(pw)+40)])
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The tests.

// TestOOBTypesThroughOrchestrator runs verify_nodes then prepare_nodes on a design with one
// node of each OOB type: ctl01 over IPMI (ipmi_sim), cmp01 over Redfish (the simulator),
// cmp02 a libvirt domain that really PXE-boots, cmp03 manual. Every node ends commissioned,
// every peer saw what it should have, and no text shows a BMC password.
func TestOOBTypesThroughOrchestrator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ipmi_sim and libvirtd and boots a VM")
	}
	requireIPMISim(t)
	const (
		ipmiUser, ipmiPass       = "admin", "IpmiPw-7f3c9a"
		redfishUser, redfishPass = "root", "RfPw-2b8e41d6"
		manualPass               = "ManualPw-5d0c"
	)
	macs := map[string]string{"ctl01": "52:54:00:d8:00:01", "cmp01": "52:54:00:d8:00:02",
		"cmp02": "52:54:00:d8:00:03", "cmp03": "52:54:00:d8:00:04"}
	start := time.Now()
	dir := t.TempDir()

	// The peers.
	lv := startLibvirtEnv(t)
	t.Logf("libvirtd ready after %.1fs", time.Since(start).Seconds())
	ipmiBMC := ipmitest.Start(t, ipmiUser, ipmiPass)

	h := openOOBApp(t, dir,
		config.OOB{PollInterval: config.Duration(100 * time.Millisecond), PowerTimeout: config.Duration(60 * time.Second),
			Attempts: 3, Backoff: config.Duration(50 * time.Millisecond), RequestTimeout: config.Duration(5 * time.Second)},
		orchestrator.Config{PollInterval: 50 * time.Millisecond, RetryBackoff: 50 * time.Millisecond,
			Timeouts: map[string]time.Duration{"identify_node": 2 * time.Minute, "configure_hardware": time.Minute}})

	// The design: the example site with boot MACs; its nodes' simulated machines.
	files := exampleSite(t)
	md := map[string]map[string]string{}
	for n, mac := range macs {
		md[n] = map[string]string{"boot_mac": mac}
	}
	var err error
	if files["40-nodes.yaml"], err = setNodeMetadata(files["40-nodes.yaml"], md); err != nil {
		t.Fatal(err)
	}
	nodes := compileNodes(t, files)
	bmcs := map[string]*sim.BMC{}
	for name := range macs {
		if nodes[name] == nil {
			t.Fatalf("the example site has no node %s", name)
		}
		if nodes[name].BootMAC != macs[name] {
			t.Fatalf("%s: boot MAC %q, want %q", name, nodes[name].BootMAC, macs[name])
		}
		if bmcs[name], err = h.a.Sim.BMC(nodes[name]); err != nil {
			t.Fatal(err)
		}
	}
	rf, rfHost, rfPort := startRedfish(t, map[string]*sim.BMC{"cmp01": bmcs["cmp01"]}, macs, redfishUser, redfishPass)
	lv.vm(t, "cmp02", macs["cmp02"])
	lv.rec.onBoot(func(mac string) {
		if mac != macs["cmp02"] {
			t.Errorf("unexpected PXE boot from %s", mac)
			return
		}
		ctx, cancel := simOpCtx()
		defer cancel()
		if err := pxeBoot(ctx, bmcs["cmp02"]); err != nil {
			t.Errorf("mirroring the VM's PXE boot: %v", err)
		}
	})
	params := map[string]map[string]string{
		"ctl01": {"type": "ipmi", "address": "127.0.0.1", "port": strconv.Itoa(ipmiBMC.Port), "account": ipmiUser, "credential": ipmiPass},
		"cmp01": {"type": "redfish", "address": rfHost, "port": rfPort, "account": redfishUser, "credential": redfishPass,
			"system_id": "cmp01", "use_ssl": "false"},
		"cmp02": {"type": "libvirt", "libvirt_uri": "qemu:///system?socket=" + lv.sock},
		"cmp03": {"type": "manual", "credential": manualPass},
	}
	if files["40-nodes.yaml"], err = simbmc.RewriteOOB(files["40-nodes.yaml"], params); err != nil {
		t.Fatal(err)
	}
	siteDir := writeSite(t, dir, files)
	t.Logf("peers and design ready after %.1fs", time.Since(start).Seconds())

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	all := []string{"cmp01", "cmp02", "cmp03", "ctl01"}
	sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }

	// verify_nodes: every BMC answers; the manual node says it cannot be checked.
	verify := h.run(t, ctx, task.ActionVerifyNodes, siteDir, nil)
	if verify.Result.Status != task.ResultSuccess || !slices.Equal(sorted(verify.Result.Successes), all) {
		for _, m := range verify.Result.Messages {
			t.Log(m.Message)
		}
		t.Fatalf("verify_nodes: %s, successes %v; want success for %v", verify.Result.Status, verify.Result.Successes, all)
	}
	vs := h.steps(t, verify)["interrogate_oob"]
	for _, n := range all {
		sr := vs[n]
		if sr.State != task.StepSucceeded {
			t.Errorf("interrogate_oob %s: %s: %s", n, sr.State, sr.Message)
			continue
		}
		if !strings.Contains(sr.Message, n) {
			t.Errorf("interrogate_oob %s: message %q does not name the node", n, sr.Message)
		}
		data := stepData(t, sr)
		inv, _ := data["inventory"].(map[string]any)
		switch n {
		case "ctl01":
			if inv["bmc"] == nil || inv["chassis"] == nil {
				t.Errorf("ctl01 (IPMI) inventory %v, want bmc and chassis", inv)
			}
		case "cmp01":
			if inv["system_id"] != "cmp01" {
				t.Errorf("cmp01 (Redfish) inventory %v, want system_id cmp01", inv)
			}
		case "cmp02":
			if inv["domain"] != "cmp02" || !strings.Contains(fmt.Sprint(inv["nics"]), macs["cmp02"]) {
				t.Errorf("cmp02 (libvirt) inventory %v, want domain cmp02 with NIC %s", inv, macs["cmp02"])
			}
		case "cmp03":
			if inv != nil || data["manual"] != true || data["verified"] != false {
				t.Errorf("cmp03 (manual) data %v, want manual, verified false and no inventory", data)
			}
		}
		t.Logf("interrogate_oob %s: %s", n, sr.Message)
	}
	if ev := ipmiBMC.Events(); len(ev) != 0 {
		t.Errorf("verify_nodes changed the ipmi_sim chassis: %q", ev)
	}

	// prepare_nodes: each peer PXE-boots its machine, which then enlists and is commissioned.
	mirrors, stopMirrors := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopMirrors(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); mirrorIPMIPXEBoots(ipmiBMC, mirrors, t, bmcs["ctl01"]) }()
	var operatorMessage string
	prepare := h.run(t, ctx, task.ActionPrepareNodes, siteDir, func(id uuid.UUID) {
		wg.Add(1)
		go func() { // the operator of cmp03: power-cycles it once told to
			defer wg.Done()
			for mirrors.Err() == nil {
				runs, err := h.a.Store.ListStepRuns(mirrors, id)
				if err == nil {
					for _, r := range runs {
						if r.Step == "power_cycle_node" && r.Node == "cmp03" && r.State == task.StepSucceeded {
							operatorMessage = r.Message
							if err := pxeBoot(mirrors, bmcs["cmp03"]); err != nil {
								t.Errorf("the operator's power cycle of cmp03: %v", err)
							}
							return
						}
					}
				}
				select {
				case <-mirrors.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	})
	stopMirrors()
	wg.Wait()
	ps := h.steps(t, prepare)
	if prepare.Result.Status != task.ResultSuccess || !slices.Equal(sorted(prepare.Result.Successes), all) {
		for _, m := range prepare.Result.Messages {
			t.Log(m.Message)
		}
		for step, byNode := range ps {
			for n, sr := range byNode {
				t.Logf("%s %s: %s: %s", step, n, sr.State, sr.Message)
			}
		}
		t.Fatalf("prepare_nodes: %s, successes %v; want success for %v", prepare.Result.Status, prepare.Result.Successes, all)
	}
	for _, step := range []string{"set_node_boot", "power_cycle_node", "identify_node", "configure_hardware"} {
		for _, n := range all {
			if sr := ps[step][n]; sr.State != task.StepSucceeded {
				t.Errorf("%s %s: %s (%s), want succeeded", step, n, sr.State, sr.Message)
			}
		}
	}
	for _, n := range all {
		t.Logf("prepare %s: set_node_boot: %s; power_cycle_node: %s", n, ps["set_node_boot"][n].Message, ps["power_cycle_node"][n].Message)
	}

	// What each peer saw.
	if ev := ipmiBMC.Events(); !slices.Contains(ev, "set boot pxe") || !slices.Contains(ev, "set power 1") ||
		slices.Index(ev, "set boot pxe") > slices.Index(ev, "set power 1") {
		t.Errorf("ipmi_sim chassis events %q, want set boot pxe then set power 1", ev)
	}
	if boots := rf.System("cmp01").Boots(); !slices.Equal(boots, []string{"Pxe"}) {
		t.Errorf("Redfish system cmp01 boots %q, want one Pxe boot", boots)
	}
	if got := lv.rec.booted(); !slices.Contains(got, macs["cmp02"]) {
		t.Errorf("the cmp02 VM did not PXE-boot (recorder saw %q)", got)
	}
	for _, step := range []string{"set_node_boot", "power_cycle_node"} {
		sr := ps[step]["cmp03"]
		if !strings.Contains(sr.Message, "MANUAL ACTION for node cmp03") {
			t.Errorf("%s cmp03: message %q, want MANUAL ACTION for node cmp03", step, sr.Message)
		}
		if d := stepData(t, sr); d["verified"] != false || d["operator_action"] == "" {
			t.Errorf("%s cmp03: data %v, want verified false and the operator's action", step, d)
		}
	}
	if !strings.Contains(operatorMessage, "power-cycle node cmp03") {
		t.Errorf("the operator was told %q, want to power-cycle node cmp03", operatorMessage)
	}
	ms, err := h.a.Sim.Machines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Status != sim.StatusReady {
			t.Errorf("simulated machine %s: %q, want Ready (commissioned)", m.Name, m.Status)
		}
		ops, _ := h.a.Sim.Log(ctx, m.Name)
		pxe := 0
		for _, op := range ops {
			if op.Operation == sim.LogPowerOn && strings.Contains(op.Detail, "via BMC; PXE boot") {
				pxe++
			}
		}
		if pxe != 1 {
			t.Errorf("simulated machine %s: %d PXE boots, want 1", m.Name, pxe)
		}
	}
	noSecrets(t, h.texts(t, verify, prepare), ipmiPass, redfishPass, manualPass)
	t.Logf("total %.1fs", time.Since(start).Seconds())
}

// oobFault is one node of TestOOBFaultsFailOnlyTheirNode: how its BMC misbehaves and what the
// orchestrator must say about it.
type oobFault struct {
	node string
	// peer: "redfish" (a simulator system, with faults), "ipmi-badcreds" (ipmi_sim, with a
	// wrong credential in the design), "ipmi-closed" (nothing listens).
	peer   string
	faults redfishsim.Faults
	// verify is what interrogate_oob must say when it fails the node ("" when it succeeds);
	// prepareStep the step of prepare_nodes that fails it ("" when none), saying prepare.
	verify              []string
	prepareStep         string
	prepare             []string
	verifyOK, prepareOK bool
}

// TestOOBFaultsFailOnlyTheirNode runs verify_nodes and prepare_nodes over nodes whose BMCs
// misbehave each in its own way: every faulty node fails, alone, with a message that names it
// and the cause, and the healthy node goes through.
func TestOOBFaultsFailOnlyTheirNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ipmi_sim")
	}
	requireIPMISim(t)
	const (
		user, pass = "admin", "GoodPw-31a9c"
		wrongPass  = "WrongPw-8d2e"
	)
	faults := []oobFault{
		{node: "ok", peer: "redfish", verifyOK: true, prepareOK: true},
		{node: "badcreds", peer: "ipmi-badcreds", verify: []string{"the BMC refused", "authentication failed"},
			prepareStep: "set_node_boot", prepare: []string{"the BMC refused", "authentication failed"}},
		{node: "unreachable", peer: "ipmi-closed", verify: []string{"could not reach its target", "connection refused"},
			prepareStep: "set_node_boot", prepare: []string{"could not reach its target", "connection refused"}},
		{node: "stuck", peer: "redfish", faults: redfishsim.Faults{StuckPower: true}, verifyOK: true,
			prepareStep: "power_cycle_node", prepare: []string{"power on was accepted but the BMC still reports power off after 2s"}},
		{node: "fivexx", peer: "redfish", faults: redfishsim.Faults{Fail5xx: 500},
			verify: []string{"could not reach its target", "HTTP 500"}, prepareStep: "set_node_boot", prepare: []string{"could not reach its target", "HTTP 500"}},
		{node: "malformed", peer: "redfish", faults: redfishsim.Faults{Malformed: true},
			verify: []string{"malformed reply", "not valid JSON"}, prepareStep: "set_node_boot", prepare: []string{"malformed reply", "not valid JSON"}},
		{node: "hang", peer: "redfish", faults: redfishsim.Faults{Hang: true},
			verify: []string{"did not answer in time", "deadline exceeded"}, prepareStep: "set_node_boot", prepare: []string{"did not answer in time", "deadline exceeded"}},
	}
	start := time.Now()
	dir := t.TempDir()
	h := openOOBApp(t, dir,
		config.OOB{PollInterval: config.Duration(50 * time.Millisecond), PowerTimeout: config.Duration(2 * time.Second),
			Attempts: 2, Backoff: config.Duration(50 * time.Millisecond), RequestTimeout: config.Duration(500 * time.Millisecond)},
		orchestrator.Config{PollInterval: 50 * time.Millisecond, RetryBackoff: 50 * time.Millisecond,
			Retries:  map[string]int{"interrogate_oob": 1, "set_node_boot": 1, "power_cycle_node": 1},
			Timeouts: map[string]time.Duration{"identify_node": 30 * time.Second, "configure_hardware": 30 * time.Second}})

	// The design: the example site's networks and profiles, with one node per fault.
	files := exampleSite(t)
	var nodesYAML strings.Builder
	macs := map[string]string{}
	for i, f := range faults {
		macs[f.node] = fmt.Sprintf("52:54:00:d9:00:%02x", i+1)
		fmt.Fprintf(&nodesYAML, `---
schema: drydock/BaremetalNode/v1
metadata: {schema: metadata/Document/v1, name: %s}
data:
  host_profile: compute
  addressing:
    - {network: oob, address: 10.23.0.%d}
    - {network: pxe, address: dhcp}
    - {network: mgmt, address: 10.23.2.%d}
    - {network: storage, address: 10.23.3.%d}
  metadata:
    rack: rack01
    boot_mac: "%s"
`, f.node, 30+i, 30+i, 30+i, macs[f.node])
	}
	files["40-nodes.yaml"] = []byte(nodesYAML.String())
	nodes := compileNodes(t, files)

	// The peers.
	params := map[string]map[string]string{}
	bmcs := map[string]*sim.BMC{}
	for _, f := range faults {
		if f.peer == "redfish" {
			b, err := h.a.Sim.BMC(nodes[f.node])
			if err != nil {
				t.Fatal(err)
			}
			bmcs[f.node] = b
		}
	}
	rf, rfHost, rfPort := startRedfish(t, bmcs, macs, user, pass)
	for _, f := range faults {
		switch f.peer {
		case "redfish":
			rf.System(f.node).SetFaults(f.faults)
			params[f.node] = map[string]string{"type": "redfish", "address": rfHost, "port": rfPort, "account": user,
				"credential": pass, "system_id": f.node, "use_ssl": "false"}
		case "ipmi-badcreds":
			b := ipmitest.Start(t, user, pass)
			params[f.node] = map[string]string{"type": "ipmi", "address": "127.0.0.1", "port": strconv.Itoa(b.Port),
				"account": user, "credential": wrongPass}
			t.Cleanup(func() {
				if ev := b.Events(); len(ev) != 0 {
					t.Errorf("%s: the chassis was changed with a wrong password: %q", f.node, ev)
				}
			})
		case "ipmi-closed":
			params[f.node] = map[string]string{"type": "ipmi", "address": "127.0.0.1", "port": strconv.Itoa(ipmitest.FreeUDPPort(t)),
				"account": user, "credential": pass}
		}
	}
	var err error
	if files["40-nodes.yaml"], err = simbmc.RewriteOOB(files["40-nodes.yaml"], params); err != nil {
		t.Fatal(err)
	}
	siteDir := writeSite(t, dir, files)
	t.Logf("peers and design ready after %.1fs", time.Since(start).Seconds())

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	verify := h.run(t, ctx, task.ActionVerifyNodes, siteDir, nil)
	prepare := h.run(t, ctx, task.ActionPrepareNodes, siteDir, nil)
	vs, ps := h.steps(t, verify), h.steps(t, prepare)

	var wantVerifyOK, wantVerifyFail, wantPrepareOK, wantPrepareFail []string
	for _, f := range faults {
		if f.verifyOK {
			wantVerifyOK = append(wantVerifyOK, f.node)
		} else {
			wantVerifyFail = append(wantVerifyFail, f.node)
		}
		if f.prepareOK {
			wantPrepareOK = append(wantPrepareOK, f.node)
		} else {
			wantPrepareFail = append(wantPrepareFail, f.node)
		}
	}
	sorted := func(s []string) []string { return slices.Sorted(slices.Values(s)) }
	for _, c := range []struct {
		tk         *task.Task
		ok, failed []string
	}{{verify, wantVerifyOK, wantVerifyFail}, {prepare, wantPrepareOK, wantPrepareFail}} {
		if c.tk.Result.Status != task.ResultPartialSuccess || !slices.Equal(sorted(c.tk.Result.Successes), sorted(c.ok)) ||
			!slices.Equal(sorted(c.tk.Result.Failures), sorted(c.failed)) {
			t.Errorf("%s: %s, successes %v, failures %v; want partial_success, successes %v, failures %v", c.tk.Action,
				c.tk.Result.Status, c.tk.Result.Successes, c.tk.Result.Failures, c.ok, c.failed)
		}
	}

	// checkFailure checks that a step failed the node with a message (in the step run and in the
	// task's messages about the node) naming the node and the cause, and that no message about
	// another node mentions this node.
	checkFailure := func(f oobFault, tk *task.Task, sr task.StepRun, want []string) {
		t.Helper()
		if sr.State != task.StepFailed {
			t.Errorf("%s %s: %s (%s), want failed", sr.Step, f.node, sr.State, sr.Message)
			return
		}
		t.Logf("%s %s: %s", sr.Step, f.node, sr.Message)
		msgs := nodeMessages(tk, f.node)
		for _, w := range append([]string{"node " + f.node}, want...) {
			if !strings.Contains(sr.Message, w) {
				t.Errorf("%s %s: step message %q does not say %q", sr.Step, f.node, sr.Message, w)
			}
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, w) }) {
				t.Errorf("%s %s: no task message about the node says %q: %q", sr.Step, f.node, w, msgs)
			}
		}
	}
	for _, f := range faults {
		sr := vs["interrogate_oob"][f.node]
		if f.verifyOK {
			if sr.State != task.StepSucceeded {
				t.Errorf("interrogate_oob %s: %s (%s), want succeeded", f.node, sr.State, sr.Message)
			}
		} else {
			checkFailure(f, verify, sr, f.verify)
		}
		if f.prepareOK {
			for _, step := range []string{"set_node_boot", "power_cycle_node", "identify_node", "configure_hardware"} {
				if sr := ps[step][f.node]; sr.State != task.StepSucceeded {
					t.Errorf("%s %s: %s (%s), want succeeded", step, f.node, sr.State, sr.Message)
				}
			}
			continue
		}
		checkFailure(f, prepare, ps[f.prepareStep][f.node], f.prepare)
		// The steps before the failing one passed; the ones after never ran.
		after := false
		for _, step := range orchestrator.StepKeys(task.ActionPrepareNodes) {
			sr := ps[step][f.node]
			switch {
			case step == f.prepareStep:
				after = true
			case after && sr.State.Done():
				t.Errorf("%s %s ran after %s failed: %s (%s)", step, f.node, f.prepareStep, sr.State, sr.Message)
			case !after && !sr.State.Passed():
				t.Errorf("%s %s: %s (%s), want passed before %s", step, f.node, sr.State, sr.Message, f.prepareStep)
			}
		}
	}
	// Only its own node: every message about a node names that node, and no other fault's node.
	for _, tk := range []*task.Task{verify, prepare} {
		for _, m := range tk.Result.Messages {
			if m.ContextType != task.ContextNode {
				continue
			}
			for _, f := range faults {
				if f.node != m.Context && strings.Contains(m.Message, "node "+f.node+":") {
					t.Errorf("%s: a message about %s names %s: %s", tk.Action, m.Context, f.node, m.Message)
				}
			}
		}
	}
	if boots := rf.System("ok").Boots(); !slices.Equal(boots, []string{"Pxe"}) {
		t.Errorf("the healthy node's boots %q, want one Pxe boot", boots)
	}
	if resets := rf.System("stuck").Resets(); len(resets) == 0 {
		t.Errorf("the stuck node's BMC got no Reset")
	}
	if m, _ := h.a.Sim.Machine("ok"); m.Status != sim.StatusReady {
		t.Errorf("the healthy node's machine is %q, want Ready", m.Status)
	}
	noSecrets(t, h.texts(t, verify, prepare), pass, wrongPass)
	took := time.Since(start)
	t.Logf("total %.1fs", took.Seconds())
	if took > time.Minute {
		t.Errorf("the fault table took %s; the timeouts should bound it well under a minute", took)
	}
}
