package oob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// The framework is tested with an in-memory protocol: what is under test here is the shared
// behaviour (verification, retries, locking, classification), not a wire protocol; the
// protocol packages test against real BMCs.

const secret = "s3cr3t-Pa55"

type fakeBMC struct {
	mu        sync.Mutex
	on        bool
	boot      driver.BootDevice
	sets      []string
	stuck     bool  // accepts power changes, never applies them
	lag       int   // power reads that still show the old state after a change
	failOpen  int   // transient failures before Open succeeds
	refuse    error // Open refuses with this
	active    atomic.Int32
	maxActive atomic.Int32
	leak      bool // error messages carry the password (a careless library)
	pending   int
}

type fakeProto struct {
	mu    sync.Mutex
	bmcs  map[string]*fakeBMC
	opens atomic.Int32
}

func (p *fakeProto) Type() string { return "ipmi" }

func (p *fakeProto) Open(ctx context.Context, t Target) (Session, error) {
	p.opens.Add(1)
	p.mu.Lock()
	b := p.bmcs[t.Host]
	p.mu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("dial udp %s: connection refused", t.Addr(623))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse != nil {
		msg := b.refuse.Error()
		if b.leak {
			msg += " (password " + t.Pass.Reveal() + ")"
		}
		return nil, Refused(errors.New(msg))
	}
	if b.failOpen > 0 {
		b.failOpen--
		return nil, errors.New("i/o timeout")
	}
	if n := b.active.Add(1); n > b.maxActive.Load() {
		b.maxActive.Store(n)
	}
	return &fakeSess{b: b}, nil
}

type fakeSess struct{ b *fakeBMC }

func (s *fakeSess) PowerState(ctx context.Context) (string, error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	on := s.b.on
	if s.b.pending > 0 {
		s.b.pending--
		on = !on
	}
	if on {
		return On, nil
	}
	return Off, nil
}

func (s *fakeSess) SetPower(ctx context.Context, on bool) error {
	time.Sleep(2 * time.Millisecond)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.sets = append(s.b.sets, fmt.Sprintf("power %v", on))
	if !s.b.stuck && s.b.on != on {
		s.b.on = on
		s.b.pending = s.b.lag
	}
	return nil
}

func (s *fakeSess) SetNextBoot(ctx context.Context, dev driver.BootDevice) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.boot = dev
	s.b.sets = append(s.b.sets, "boot "+string(dev))
	return nil
}

func (s *fakeSess) Inventory(ctx context.Context) (map[string]any, error) {
	return map[string]any{"cpus": 2}, nil
}

func (s *fakeSess) Close() error { s.b.active.Add(-1); return nil }

func node(name, host string) *design.Node {
	return &design.Node{Name: name, OOBType: "ipmi",
		OOBParams:  design.KV{{Key: "account", Value: "admin"}, {Key: "credential", Value: secret}, {Key: "network", Value: "oob"}},
		Addressing: []design.Address{{Network: "oob", Address: host}}}
}

func fast() Config {
	return Config{PowerTimeout: 300 * time.Millisecond, PollInterval: 5 * time.Millisecond, Attempts: 3,
		Backoff: 5 * time.Millisecond, RequestTimeout: time.Second}
}

func newFake(hosts ...string) (*fakeProto, map[string]*fakeBMC) {
	p := &fakeProto{bmcs: map[string]*fakeBMC{}}
	for _, h := range hosts {
		p.bmcs[h] = &fakeBMC{}
	}
	return p, p.bmcs
}

func TestPowerVerifiedAndIdempotent(t *testing.T) {
	p, b := newFake("10.0.0.1")
	b["10.0.0.1"].lag = 3 // the BMC takes three reads to show a change
	d := New(p, fast())
	c := driver.Call{Node: node("n1", "10.0.0.1")}
	ctx := context.Background()
	r := d.Power(ctx, c, driver.PowerOn)
	if r.Outcome != driver.Done || r.State.Power != On || !strings.Contains(r.Message, "verified") {
		t.Fatalf("power on: %+v", r)
	}
	r = d.Power(ctx, c, driver.PowerOn)
	if r.Outcome != driver.Done || !r.Skipped || !strings.Contains(r.Message, "already powered on") {
		t.Fatalf("power on again: %+v", r)
	}
	r = d.Power(ctx, c, driver.PowerCycle)
	if r.Outcome != driver.Done || !strings.Contains(r.Message, "power cycled") {
		t.Fatalf("cycle: %+v", r)
	}
	want := []string{"power true", "power false", "power true"}
	if got := b["10.0.0.1"].sets; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests %v, want %v", got, want)
	}
	r = d.Power(ctx, c, driver.PowerOff)
	if r.Outcome != driver.Done || r.State.Power != Off {
		t.Fatalf("off: %+v", r)
	}
	// A cycle of a node that is off only powers it on.
	r = d.Power(ctx, c, driver.PowerCycle)
	if r.Outcome != driver.Done || !strings.Contains(r.Message, "was off") {
		t.Fatalf("cycle from off: %+v", r)
	}
}

func TestStuckPowerFailsAfterTimeout(t *testing.T) {
	p, b := newFake("10.0.0.1")
	b["10.0.0.1"].stuck = true
	d := New(p, fast())
	start := time.Now()
	r := d.Power(context.Background(), driver.Call{Node: node("n1", "10.0.0.1")}, driver.PowerOn)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "still reports power off after 300ms") || !strings.Contains(r.Message, "n1") {
		t.Fatalf("%+v", r)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 2*time.Second {
		t.Errorf("gave up after %s", el)
	}
}

func TestTransientRetriedRefusedNot(t *testing.T) {
	p, b := newFake("10.0.0.1", "10.0.0.2", "10.0.0.3")
	b["10.0.0.1"].failOpen = 2 // recovers on the third try
	b["10.0.0.2"].failOpen = 10
	b["10.0.0.3"].refuse = errors.New("authentication failed (completion code 0x86)")
	b["10.0.0.3"].leak = true
	d := New(p, fast())
	ctx := context.Background()
	if r := d.Interrogate(ctx, driver.Call{Node: node("n1", "10.0.0.1")}); r.Outcome != driver.Done || r.Data["inventory"] == nil {
		t.Fatalf("recovering BMC: %+v", r)
	}
	p.opens.Store(0)
	r := d.Interrogate(ctx, driver.Call{Node: node("n2", "10.0.0.2")})
	if r.Outcome != driver.Unreachable || !strings.Contains(r.Message, "node n2") || !strings.Contains(r.Message, "timeout") {
		t.Fatalf("unreachable BMC: %+v", r)
	}
	if n := p.opens.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	p.opens.Store(0)
	r = d.Power(ctx, driver.Call{Node: node("n3", "10.0.0.3")}, driver.PowerOn)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "refused") || !strings.Contains(r.Message, "node n3") {
		t.Fatalf("refusing BMC: %+v", r)
	}
	if n := p.opens.Load(); n != 1 {
		t.Errorf("a refusal was retried: %d attempts", n)
	}
	if strings.Contains(r.Message, secret) {
		t.Errorf("the password leaked into the message: %s", r.Message)
	}
	r = d.Power(ctx, driver.Call{Node: node("n4", "10.0.0.99")}, driver.PowerOn)
	if r.Outcome != driver.Unreachable || !strings.Contains(r.Message, "10.0.0.99:623") {
		t.Fatalf("no BMC there: %+v", r)
	}
}

func TestOneOperationPerBMCAndGlobalBound(t *testing.T) {
	hosts := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}
	p, b := newFake(hosts...)
	cfg := fast()
	cfg.MaxConcurrent = 4
	d := New(p, cfg)
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hosts[i%len(hosts)]
			a := driver.PowerOn
			if i%2 == 1 {
				a = driver.PowerOff
			}
			if r := d.Power(context.Background(), driver.Call{Node: node("n"+h, h)}, a); r.Outcome != driver.Done {
				t.Errorf("%s: %+v", h, r)
			}
		}()
	}
	wg.Wait()
	for _, h := range hosts {
		if m := b[h].maxActive.Load(); m != 1 {
			t.Errorf("BMC %s had %d sessions at once, want 1", h, m)
		}
	}
	if pk := d.PeakConcurrency(); pk > 4 || pk < 2 {
		t.Errorf("peak concurrency %d, want 2..4", pk)
	}
	d.mu.Lock()
	left := len(d.locks)
	d.mu.Unlock()
	if left != 0 {
		t.Errorf("%d BMC locks left behind", left)
	}
}

func TestContextBoundsEverything(t *testing.T) {
	p, b := newFake("10.0.0.1")
	b["10.0.0.1"].stuck = true
	cfg := fast()
	cfg.PowerTimeout = time.Hour
	d := New(p, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := d.Power(ctx, driver.Call{Node: node("n1", "10.0.0.1")}, driver.PowerOn)
	if r.Outcome != driver.Unreachable || time.Since(start) > time.Second {
		t.Fatalf("%+v after %s", r, time.Since(start))
	}
}

func TestTargetResolution(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DRYDOCK_TEST_BMC_PW", secret)
	base := func(extra ...design.KVPair) *design.Node {
		n := node("n1", "10.0.0.1")
		n.OOBParams = append(design.KV{{Key: "account", Value: "admin"}, {Key: "network", Value: "oob"}}, extra...)
		return n
	}
	for _, kv := range []design.KVPair{{Key: "credential_file", Value: pwFile}, {Key: "credential_env", Value: "DRYDOCK_TEST_BMC_PW"}, {Key: "credential", Value: secret}} {
		tg, err := ResolveTarget(base(kv, design.KVPair{Key: "port", Value: "16001"}, design.KVPair{Key: "cipher_suite", Value: "17"}))
		if err != nil || tg.Pass.Reveal() != secret || tg.Addr(623) != "10.0.0.1:16001" || tg.Params["cipher_suite"] != "17" {
			t.Errorf("%s: %+v %v", kv.Key, tg, err)
		}
		if _, ok := tg.Params[kv.Key]; ok {
			t.Errorf("%s is left in Params", kv.Key)
		}
		// The password never prints.
		js, _ := json.Marshal(tg)
		for _, s := range []string{fmt.Sprint(tg), fmt.Sprintf("%+v", tg), fmt.Sprintf("%#v", tg), string(js)} {
			if strings.Contains(s, secret) {
				t.Errorf("the target prints its password: %s", s)
			}
		}
	}
	bad := []struct {
		n    *design.Node
		want string
	}{
		{base(design.KVPair{Key: "credential_file", Value: filepath.Join(dir, "missing")}), "credential_file"},
		{base(design.KVPair{Key: "credential_env", Value: "DRYDOCK_NOT_SET_ANYWHERE"}), "DRYDOCK_NOT_SET_ANYWHERE is not set"},
		{base(design.KVPair{Key: "credential", Value: secret}, design.KVPair{Key: "port", Value: "99999"}), "not a port number"},
		{&design.Node{Name: "n9", OOBType: "redfish", OOBParams: design.KV{{Key: "account", Value: "a"}, {Key: "network", Value: "oob"}}}, `no static address on oob network "oob"`},
		{&design.Node{Name: "n9", OOBType: "ipmi", Addressing: []design.Address{{Network: "oob", Address: "10.0.0.9"}}, OOBParams: design.KV{{Key: "network", Value: "oob"}}}, "oob account is missing"},
	}
	for _, b := range bad {
		_, err := ResolveTarget(b.n)
		if err == nil || !strings.Contains(err.Error(), b.want) || !strings.Contains(err.Error(), "node n") {
			t.Errorf("%v, want an error naming the node and containing %q", err, b.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error reveals the password: %v", err)
		}
	}
	// An explicit address (a host name) wins over the network's address.
	tg, err := ResolveTarget(base(design.KVPair{Key: "credential", Value: "x"}, design.KVPair{Key: "address", Value: "bmc-n1.example"}))
	if err != nil || tg.Host != "bmc-n1.example" {
		t.Errorf("address: %+v %v", tg, err)
	}
	// Failures of the driver name the node when its target cannot be resolved.
	p, _ := newFake()
	r := New(p, fast()).Power(context.Background(), driver.Call{Node: bad[1].n}, driver.PowerOn)
	if r.Outcome != driver.Failed || !strings.Contains(r.Message, "node n1") {
		t.Errorf("%+v", r)
	}
}

func TestSetNextBoot(t *testing.T) {
	p, b := newFake("10.0.0.1")
	d := New(p, fast())
	r := d.SetNextBoot(context.Background(), driver.Call{Node: node("n1", "10.0.0.1")}, driver.BootPXE)
	if r.Outcome != driver.Done || b["10.0.0.1"].boot != driver.BootPXE || r.State.BootDevice != "pxe" {
		t.Fatalf("%+v", r)
	}
	site := &design.Site{Nodes: []*design.Node{node("n1", "10.0.0.1"), {Name: "bad", OOBType: "ipmi"}, {Name: "vm", OOBType: "libvirt"}}}
	if r := d.ValidateServices(context.Background(), site); r.Outcome != driver.Failed || !strings.Contains(r.Message, "node bad") {
		t.Errorf("validate: %+v", r)
	}
}
