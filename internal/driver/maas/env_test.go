package maas

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

// sampleDir holds the original project's sample designs.
const sampleDir = "../../../testdata/drydock-samples"

// loadSite parses and compiles a sample design, failing on any ingest error.
func loadSite(t testing.TB, name string) *design.Site {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sampleDir, name))
	if err != nil {
		t.Fatal(err)
	}
	in := design.Parse(design.Source{Name: name, Data: data})
	if !in.OK() {
		for _, m := range in.Messages {
			t.Logf("%s %s: %s", m.Code, m.Level, m.Message)
		}
		t.Fatalf("%s does not ingest", name)
	}
	return design.Compile(in.Design)
}

// counter counts the requests an emulator serves, by method.
type counter struct {
	mu sync.Mutex
	by map[string]int
}

func (c *counter) add(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string]int{}
	}
	c.by[method]++
}

// snapshot returns the counts and resets them.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.by
	c.by = map[string]int{}
	if out == nil {
		out = map[string]int{}
	}
	return out
}

func writes(by map[string]int) int { return by["POST"] + by["PUT"] + by["DELETE"] }

// env is an emulated MAAS with a driver pointed at it.
type env struct {
	t     testing.TB
	sim   *maassim.Server
	srv   *httptest.Server
	d     *Driver
	count *counter
	key   string
	site  *design.Site
	sids  map[string]string // node name → system id
	names map[string]map[string]string
	msgs  []string
	mu    sync.Mutex
}

type envOpts struct {
	sim    maassim.Config
	driver Config
	// wrap, when set, wraps the emulator's handler (to break connections).
	wrap func(http.Handler) http.Handler
}

// xenial is the boot resource the sample designs use (image xenial, kernel ga-16.04).
func xenial() []maassim.BootResource {
	return append(maassim.DefaultBootResources(),
		maassim.BootResource{Name: "ubuntu/xenial", Architecture: "amd64/ga-16.04", Subarches: "generic,hwe-p,hwe-q,hwe-r,hwe-s,hwe-t,hwe-u,hwe-v,hwe-w,ga-16.04", Title: "16.04 LTS"},
		maassim.BootResource{Name: "ubuntu/xenial", Architecture: "amd64/hwe-16.04", Subarches: "generic,hwe-16.04", Title: "16.04 LTS"})
}

// maxWait bounds every driven step in tests.
const maxWait = 20 * time.Second

// fastDelays make the emulator's asynchronous operations take milliseconds.
var fastDelays = maassim.Delays{Commissioning: 5 * time.Millisecond, Testing: 2 * time.Millisecond,
	Deploying: 5 * time.Millisecond, Releasing: 2 * time.Millisecond, DiskErasing: 2 * time.Millisecond}

func newEnv(t testing.TB, site *design.Site, o envOpts) *env {
	t.Helper()
	cfg := o.sim
	if cfg.Delays == (maassim.Delays{}) {
		cfg.Delays = fastDelays
	}
	if cfg.BootResources == nil {
		cfg.BootResources = xenial()
	}
	if cfg.RackControllers == nil {
		// A rack controller cabled to the PXE network of the sample designs.
		cfg.RackControllers = []maassim.RackSpec{{Hostname: "rack1", Interfaces: []maassim.RackNIC{
			{Name: "eth0", MAC: "52:54:00:00:00:01", CIDR: "172.16.0.0/24", IP: "172.16.0.2"}}}}
	}
	s := maassim.New(cfg)
	e := &env{t: t, sim: s, count: &counter{}, key: s.APIKey(), site: site, sids: map[string]string{}, names: map[string]map[string]string{}}
	var h http.Handler = s
	if o.wrap != nil {
		h = o.wrap(h)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.count.add(r.Method)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	dc := o.driver
	dc.URL = e.srv.URL + "/MAAS"
	dc.APIKey = oob.NewSecret(e.key)
	if dc.PollInterval == 0 {
		dc.PollInterval = 3 * time.Millisecond
	}
	if dc.Backoff == 0 {
		dc.Backoff = time.Millisecond
	}
	d, err := New(dc)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	return e
}

// specFor is the machine of a design node as PXE enlistment shows it: one NIC per hardware
// slave (kernel names eno1, eno2, ... at the PCI addresses of the hardware profile's aliases),
// one disk per storage device, and the BMC the node's OOB settings describe.
func specFor(site *design.Site, n *design.Node, hostname string) maassim.MachineSpec {
	hw := site.Design.HardwareProfile(n.HardwareProfile)
	spec := maassim.MachineSpec{Hostname: hostname, CPUCount: 8, MemoryMiB: 32768, PowerParams: map[string]string{}}
	seen := map[string]bool{}
	for _, it := range n.Interfaces {
		for _, s := range it.Slaves {
			if seen[s] {
				continue
			}
			seen[s] = true
			i := len(spec.Interfaces)
			nic := maassim.NICSpec{Name: fmt.Sprintf("eno%d", i+1),
				MAC: fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", hashByte(n.Name, 0), hashByte(n.Name, 1), hashByte(n.Name, 2), i+1)}
			if hw != nil {
				if a := hw.Alias(s); a != nil && a.BusType == "pci" {
					nic.PCIAddress = a.Address
				}
			}
			spec.Interfaces = append(spec.Interfaces, nic)
		}
	}
	for _, dv := range n.Devices {
		spec.Disks = append(spec.Disks, maassim.DiskSpec{Name: dv.Name, Size: 480e9, Model: "SIM DISK", Serial: n.Name + "-" + dv.Name})
	}
	if addr := bmcAddress(n); addr != "" {
		spec.PowerType = n.OOBType
		spec.PowerParams["power_address"] = addr
		spec.PowerParams["power_user"], _ = n.OOBParams.Get("account")
		spec.PowerParams["power_pass"], _ = n.OOBParams.Get("credential")
		if n.OOBType == "ipmi" {
			spec.PowerParams["power_driver"] = "LAN_2_0"
		}
	} else {
		spec.PowerType = "manual"
	}
	return spec
}

func hashByte(s string, k int) int {
	h := 17 + k*31
	for _, c := range s {
		h = h*131 + int(c)
	}
	return (h >> (k * 3)) & 0xff
}

// enlist adds the site's nodes (all when none given) to the emulator with random hostnames,
// as a PXE enlistment names them.
func (e *env) enlist(nodes ...*design.Node) {
	if len(nodes) == 0 {
		nodes = e.site.Nodes
	}
	for _, n := range nodes {
		e.sids[n.Name] = e.sim.AddMachine(specFor(e.site, n, ""))
	}
}

func (e *env) call(n *design.Node, step string) driver.Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return driver.Call{Site: e.site, Node: n, Key: "task1/r0/" + step + "/" + n.Name, Attempt: 1,
		DeviceNames: e.names[n.Name]}
}

func (e *env) note(r driver.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.msgs = append(e.msgs, r.Message)
}

// drive calls a step until it is not InProgress, retrying Unreachable outcomes as the
// orchestrator does (at most 8 times), for at most the time limit (checked between calls:
// a call is never interrupted, so the last result is a complete observation).
func (e *env) drive(f func(context.Context, driver.Call) driver.Result, c driver.Call, limit time.Duration) driver.Result {
	deadline := time.Now().Add(limit)
	unreachable := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), maxWait)
		r := f(ctx, c)
		cancel()
		e.note(r)
		switch r.Outcome {
		case driver.InProgress:
			if r.RetryAfter <= 0 {
				e.t.Errorf("InProgress without RetryAfter: %s", r.Message)
			}
		case driver.Unreachable:
			unreachable++
			if unreachable > 8 {
				return r
			}
			c.Attempt++
		default:
			return r
		}
		if time.Now().After(deadline) {
			return r
		}
		time.Sleep(max(r.RetryAfter, time.Millisecond))
	}
}

// must drives a step and fails the test unless it ends Done.
func (e *env) must(name string, f func(context.Context, driver.Call) driver.Result, n *design.Node) driver.Result {
	e.t.Helper()
	r := e.drive(f, e.call(n, name), maxWait)
	if r.Outcome != driver.Done {
		e.t.Fatalf("%s %s: %s: %s", name, n.Name, r.Outcome, r.Message)
	}
	return r
}

// prepareSite runs the three prepare_site steps.
func (e *env) prepareSite() {
	e.t.Helper()
	for _, op := range []string{"create_network_template", "configure_user_credentials", "configure_node_provisioner"} {
		r := e.d.PrepareSite(context.Background(), op, e.site)
		e.note(r)
		if r.Outcome != driver.Done {
			e.t.Fatalf("%s: %s: %s", op, r.Outcome, r.Message)
		}
	}
}

// commission identifies and commissions a node, and resolves its device aliases from the
// lshw build data as the orchestrator does.
func (e *env) commission(n *design.Node) {
	e.t.Helper()
	e.must("identify_node", e.d.IdentifyNode, n)
	r := e.must("configure_hardware", e.d.ConfigureHardware, n)
	e.commissionNames(n, r)
}

// commissioned enlists a node, prepares the site and commissions the node: what the
// deploy_nodes steps start from.
func (e *env) commissioned(n *design.Node) {
	e.t.Helper()
	e.enlist(n)
	e.prepareSite()
	e.commission(n)
}

// commissionedNode is an env of the full sample site in which a copy of the named node (the
// test may change its design) is commissioned.
func commissionedNode(t *testing.T, name string) (*env, *design.Node) {
	t.Helper()
	site := loadSite(t, "deckhand_fullsite.yaml")
	e := newEnv(t, site, envOpts{})
	n := *site.Node(name)
	e.commissioned(&n)
	return e, &n
}

// deploy runs the deploy_nodes steps for a node.
func (e *env) deploy(n *design.Node) {
	e.t.Helper()
	e.must("apply_node_networking", e.d.ApplyNetworking, n)
	e.must("apply_node_storage", e.d.ApplyStorage, n)
	e.must("apply_node_platform", e.d.ApplyPlatform, n)
	e.must("deploy_node", e.d.Deploy, n)
}

// checkNoKey fails when any message the driver produced carries the API key or a part of it.
func (e *env) checkNoKey() {
	e.t.Helper()
	parts := strings.Split(e.key, ":")
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.msgs {
		for _, p := range append(parts, e.key) {
			if len(p) >= 4 && strings.Contains(m, p) {
				e.t.Errorf("a message carries the API key: %s", m)
			}
		}
	}
}
