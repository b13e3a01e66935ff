package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas"
	"github.com/drydock-go/drydock/internal/driver/oob"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// drySpec is what the parent hands the Drydock child.
type drySpec struct {
	Nodes         int           `json:"nodes"`
	Backend       string        `json:"backend"`
	PostgresURL   string        `json:"postgres_url,omitempty"`
	Dir           string        `json:"dir"`
	Design        string        `json:"design"`
	URL           string        `json:"url"`
	Key           string        `json:"key"`
	Poll          time.Duration `json:"poll"`
	MaxConcurrent int           `json:"max_concurrent"`
	DriverCalls   int           `json:"driver_calls"`
	Timeout       time.Duration `json:"timeout"`
	CPUProfile    string        `json:"cpuprofile,omitempty"`
}

// phases, in the order they run.
var phases = []string{task.ActionPrepareSite, task.ActionPrepareNodes, task.ActionDeployNodes}

// dryResult is what the Drydock child reports.
type dryResult struct {
	Phases        []phaseResult `json:"phases"`
	Steps         []stepStat    `json:"steps"`
	Requests      int64         `json:"requests"` // the driver's own count
	Reports       int           `json:"reports"`  // boot action reports sent
	MaxGoroutines int           `json:"max_goroutines"`
	GCCycles      uint64        `json:"gc_cycles"`
}

type phaseResult struct {
	Action   string         `json:"action"`
	WallS    float64        `json:"wall_s"`
	Requests map[string]int `json:"requests"` // by method
	// Round-trip time of the driver's requests (client side), ms.
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	MeanMS     float64 `json:"mean_ms"`
	Unlabelled int     `json:"unlabelled"` // requests made outside any driver call
}

// stepStat is one driver method in one phase.
type stepStat struct {
	Phase    string         `json:"phase"`
	Method   string         `json:"method"`
	Calls    int            `json:"calls"`
	Waits    int            `json:"waits"` // InProgress answers
	Other    int            `json:"other"` // Failed or Unreachable answers
	CallS    float64        `json:"call_s"`
	Requests map[string]int `json:"requests"` // by HTTP method
}

// meter counts the driver's HTTP requests by phase, driver method (from the call's context)
// and HTTP method, and times them.
type meter struct {
	phase atomic.Int32
	mu    sync.Mutex
	reqs  map[[3]string]int
	rtt   [][]float64 // per phase, ms
	calls map[[2]string]*stepStat
}

type methodKey struct{}

func newMeter() *meter {
	return &meter{reqs: map[[3]string]int{}, rtt: make([][]float64, len(phases)), calls: map[[2]string]*stepStat{}}
}

func (m *meter) RoundTrip(base http.RoundTripper) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		t0 := time.Now()
		resp, err := base.RoundTrip(r)
		d := time.Since(t0)
		method, _ := r.Context().Value(methodKey{}).(string)
		p := m.phase.Load()
		m.mu.Lock()
		m.reqs[[3]string{phases[p], method, r.Method}]++
		m.rtt[p] = append(m.rtt[p], float64(d)/float64(time.Millisecond))
		m.mu.Unlock()
		return resp, err
	})
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// call runs one driver method with its name on the context, and counts its outcome.
func (m *meter) call(ctx context.Context, method string, f func(context.Context) driver.Result) driver.Result {
	t0 := time.Now()
	r := f(context.WithValue(ctx, methodKey{}, method))
	d := time.Since(t0)
	k := [2]string{phases[m.phase.Load()], method}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.calls[k]
	if s == nil {
		s = &stepStat{Phase: k[0], Method: method}
		m.calls[k] = s
	}
	s.Calls++
	s.CallS += d.Seconds()
	switch r.Outcome {
	case driver.InProgress:
		s.Waits++
	case driver.Done:
	default:
		s.Other++
	}
	return r
}

// metered is the MAAS driver with every call counted; Deploy plays the node's boot actions
// when the deployment is done: each signalling action reports success through the store, as
// the node's agent would through the boot action API once the OS came up.
type metered struct {
	d       *maas.Driver
	m       *meter
	st      store.Store
	reports atomic.Int64
}

func (t *metered) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	return t.m.call(ctx, "ValidateServices", func(ctx context.Context) driver.Result { return t.d.ValidateServices(ctx, site) })
}

func (t *metered) PrepareSite(ctx context.Context, op string, site *design.Site) driver.Result {
	return t.m.call(ctx, "PrepareSite "+op, func(ctx context.Context) driver.Result { return t.d.PrepareSite(ctx, op, site) })
}

func (t *metered) IdentifyNode(ctx context.Context, c driver.Call) driver.Result {
	return t.m.call(ctx, "IdentifyNode", func(ctx context.Context) driver.Result { return t.d.IdentifyNode(ctx, c) })
}

func (t *metered) ConfigureHardware(ctx context.Context, c driver.Call) driver.Result {
	return t.m.call(ctx, "ConfigureHardware", func(ctx context.Context) driver.Result { return t.d.ConfigureHardware(ctx, c) })
}

func (t *metered) ApplyNetworking(ctx context.Context, c driver.Call) driver.Result {
	return t.m.call(ctx, "ApplyNetworking", func(ctx context.Context) driver.Result { return t.d.ApplyNetworking(ctx, c) })
}

func (t *metered) ApplyStorage(ctx context.Context, c driver.Call) driver.Result {
	return t.m.call(ctx, "ApplyStorage", func(ctx context.Context) driver.Result { return t.d.ApplyStorage(ctx, c) })
}

func (t *metered) ApplyPlatform(ctx context.Context, c driver.Call) driver.Result {
	return t.m.call(ctx, "ApplyPlatform", func(ctx context.Context) driver.Result { return t.d.ApplyPlatform(ctx, c) })
}

func (t *metered) Deploy(ctx context.Context, c driver.Call) driver.Result {
	r := t.m.call(ctx, "Deploy", func(ctx context.Context) driver.Result { return t.d.Deploy(ctx, c) })
	if r.Outcome != driver.Done || c.BootActions == nil {
		return r
	}
	for _, a := range c.BootActions.Actions {
		if !a.Signaling {
			continue
		}
		msg := task.Message{Message: "maasbench: " + a.Name + " ran", ContextType: task.ContextBootAction, Context: a.ID}
		if _, err := t.st.ReportBootAction(context.WithoutCancel(ctx), a.ID, store.BootActionSuccess, []task.Message{msg}, time.Now()); err != nil {
			return driver.Unreach("maasbench: report of boot action %s: %v", a.Name, err)
		}
		t.reports.Add(1)
	}
	return r
}

func (t *metered) Destroy(ctx context.Context, c driver.Call) driver.Result {
	return t.m.call(ctx, "Destroy", func(ctx context.Context) driver.Result { return t.d.Destroy(ctx, c) })
}

// noOOB answers every BMC call Failed: the machines are enlisted in MAAS before the run, so
// prepare_nodes skips set_node_boot and power_cycle_node (find_node finds them), and a call
// here means something went wrong. MAAS itself drives the BMCs, in the emulator's process.
type noOOB struct{}

func (noOOB) ValidateServices(context.Context, *design.Site) driver.Result { return driver.OK("") }
func (noOOB) SetNextBoot(context.Context, driver.Call, driver.BootDevice) driver.Result {
	return driver.Fail("maasbench: unexpected BMC call (set next boot)")
}
func (noOOB) Power(context.Context, driver.Call, driver.PowerAction) driver.Result {
	return driver.Fail("maasbench: unexpected BMC call (power)")
}
func (noOOB) Interrogate(context.Context, driver.Call) driver.Result {
	return driver.Fail("maasbench: unexpected BMC call (interrogate)")
}

// runDrydock is the Drydock child: store, orchestrator and the real MAAS driver pointed at the
// emulator, as `drydock serve` with drivers.node: maas. It runs prepare_site, prepare_nodes and
// deploy_nodes and checks that every node succeeded.
func runDrydock(s drySpec) (dryResult, error) {
	var res dryResult
	ctx := context.Background()
	st, err := benchrun.OpenStore(ctx, s.Backend, s.Dir, s.PostgresURL)
	if err != nil {
		return res, err
	}
	defer st.Close()

	m := newMeter()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = s.MaxConcurrent // as the driver's own transport
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	md, err := maas.New(maas.Config{URL: s.URL, APIKey: oob.NewSecret(s.Key), PollInterval: s.Poll,
		MaxConcurrent: s.MaxConcurrent, HTTPClient: &http.Client{Transport: m.RoundTrip(tr)}, Logger: log})
	if err != nil {
		return res, err
	}
	nd := &metered{d: md, m: m, st: st}
	drivers := driver.Set{Node: nd, OOB: map[string]driver.OOBDriver{}}
	for _, t := range []string{"ipmi", "redfish", "libvirt", "manual"} {
		drivers.OOB[t] = noOOB{}
	}
	orch := orchestrator.New(st, drivers, orchestrator.Config{ID: "maasbench", PollInterval: time.Second,
		DriverCalls: s.DriverCalls, BootActionRecheck: 5 * time.Second}, orchestrator.WithLogger(log))
	stopOrch := benchrun.Background(ctx, orch.Run)
	defer stopOrch()

	peakGoroutines := benchrun.PeakGoroutines()
	defer peakGoroutines()

	stopProfile := func() {}
	deadline := time.Now().Add(s.Timeout)
	for i, action := range phases {
		if i == 1 && s.CPUProfile != "" {
			// The profile covers prepare_nodes and deploy_nodes.
			stop, err := benchrun.StartCPUProfile(s.CPUProfile)
			if err != nil {
				return res, err
			}
			stopProfile = stop
			defer stop()
		}
		m.phase.Store(int32(i))
		t0 := time.Now()
		tk, err := orch.Submit(ctx, action, s.Design, nil, "maasbench")
		if err != nil {
			return res, err
		}
		wctx, cancel := context.WithDeadline(ctx, deadline)
		tk, err = orch.WaitTask(wctx, tk.ID, 20*time.Millisecond)
		cancel()
		wall := time.Since(t0)
		if err != nil {
			return res, fmt.Errorf("%s: %v (status %s)", action, err, tk.Status)
		}
		if tk.Status != task.StatusComplete || tk.Result.Status != task.ResultSuccess || len(tk.Result.Failures) > 0 ||
			(action != task.ActionPrepareSite && len(tk.Result.Successes) != s.Nodes) {
			return res, fmt.Errorf("%s: status %s, result %s (%s), %d successes, %d failures (want %d successes); first error: %s",
				action, tk.Status, tk.Result.Status, tk.Result.Message, len(tk.Result.Successes), len(tk.Result.Failures),
				s.Nodes, firstError(ctx, st, tk))
		}
		res.Phases = append(res.Phases, phaseResult{Action: action, WallS: wall.Seconds()})
	}
	stopProfile()
	res.Requests = md.Requests()
	res.Reports = int(nd.reports.Load())
	res.MaxGoroutines = peakGoroutines()
	ms := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(ms)
	res.GCCycles = ms[0].Value.Uint64()

	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range res.Phases {
		p := &res.Phases[i]
		p.Requests = map[string]int{}
		for k, v := range m.reqs {
			if k[0] == p.Action {
				p.Requests[k[2]] += v
				if k[1] == "" {
					p.Unlabelled += v
				}
			}
		}
		rtt := m.rtt[i]
		slices.Sort(rtt)
		if n := len(rtt); n > 0 {
			p.P50, p.P99, p.Max = rtt[n/2], rtt[min(n-1, n*99/100)], rtt[n-1]
			sum := 0.0
			for _, v := range rtt {
				sum += v
			}
			p.MeanMS = sum / float64(n)
		}
	}
	for _, c := range m.calls {
		c.Requests = map[string]int{}
		for k, v := range m.reqs {
			if k[0] == c.Phase && k[1] == c.Method {
				c.Requests[k[2]] += v
			}
		}
		res.Steps = append(res.Steps, *c)
	}
	slices.SortFunc(res.Steps, func(a, b stepStat) int {
		if c := slices.Index(phases, a.Phase) - slices.Index(phases, b.Phase); c != 0 {
			return c
		}
		return methodOrder(a.Method) - methodOrder(b.Method)
	})
	return res, nil
}

func methodOrder(m string) int {
	for i, p := range []string{"PrepareSite", "IdentifyNode", "ConfigureHardware", "ApplyNetworking", "ApplyStorage",
		"ApplyPlatform", "Deploy"} {
		if strings.HasPrefix(m, p) {
			return i
		}
	}
	return 100
}

// firstError finds an error message in the task or its subtasks.
func firstError(ctx context.Context, st store.Store, t *task.Task) string {
	for _, m := range t.Result.Messages {
		if m.Error {
			return m.Message
		}
	}
	for _, id := range t.SubtaskIDs {
		sub, err := st.GetTask(ctx, id)
		if err != nil {
			continue
		}
		if msg := firstError(ctx, st, sub); msg != "" {
			return msg
		}
	}
	return ""
}
