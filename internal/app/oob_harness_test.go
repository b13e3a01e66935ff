package app

// The peers and the process the OOB tests (oob_test.go) run against: gates, ipmi_sim, the
// Redfish simulator backed by simulated machines, a private libvirtd with a PXE recorder, the
// design rewritten for them, and an app whose tasks and texts the tests inspect.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
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

// startRedfish serves one system per node (system id = node name), each backed by the node's
// simulated machine, over plain HTTP on loopback.
func startRedfish(t *testing.T, bmcs map[string]*sim.BMC, macs map[string]string, user, pass string) (*redfishsim.Server, string, string) {
	t.Helper()
	cfg := redfishsim.Config{User: user, Password: pass, Machines: map[string]redfishsim.Machine{}, MACs: map[string]string{}}
	for _, name := range slices.Sorted(maps.Keys(bmcs)) {
		cfg.IDs = append(cfg.IDs, name)
		cfg.Machines[name] = simbmc.RedfishMachine(bmcs[name])
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

// compileNodes compiles a design's files and returns its nodes by name.
func compileNodes(t *testing.T, files map[string][]byte) map[string]*design.Node {
	t.Helper()
	var srcs []design.Source
	for _, name := range slices.Sorted(maps.Keys(files)) {
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
