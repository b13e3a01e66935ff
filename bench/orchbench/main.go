// Command orchbench measures the orchestrator end to end on the simulated data centre: it
// drives N synthetic nodes through prepare_nodes and then deploy_nodes, and reports
//
//   - the wall time of each task and of both;
//   - the critical path, the sum of the simulated latencies that one node goes through, and
//     the ratio wall / critical path (the goal: at most 1.10 at 10,000 nodes);
//   - store writes per node (every write method of store.Store, counted and timed by a
//     decorator), by method, and the latency of the writes;
//   - the simulator's own writes (operation-log entries) per node;
//   - the peak resident set size and CPU time of the process that ran it;
//   - where the time goes: each task's set-up before its first step (claim, design fetch and
//     check, reservations, records), the spread of the nodes' finish times, the latency of the
//     step writes and how busy the store's write pool was, the driver calls against their
//     nominal latency, Go scheduling latency; with -timeline, writes and pool use per second.
//
// Every simulated operation kind gets the same fixed latency (-latency, quick ones too; no
// jitter, no faults), so the critical path is exact. Each (size, store) runs in its own child
// process, so its peak RSS (getrusage ru_maxrss) and CPU time belong to it alone; the child
// holds the store, the simulator and the orchestrator, as `drydock serve` does.
//
// A run counts only when both tasks succeeded for every node and every simulated machine ends
// Deployed; otherwise the run's figures are not printed and the command exits 1.
//
//	go run ./bench/orchbench                                  # 1,000 and 10,000 nodes on SQLite
//	go run ./bench/orchbench -sizes 1000 -latency 500ms
//	go run ./bench/orchbench -postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./bench/orchbench -backends sqlite,postgres -postgres URL -sizes 1000
//	go run ./bench/orchbench -sizes 10000 -cpuprofile /tmp/orch.pprof -timeline
//
// With -postgres every run gets a fresh schema (CREATE SCHEMA, then ?search_path=), dropped
// after the run. SQLite and the simulator use files in a temporary directory (-dir).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	ddesign "github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/sitegen"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// spec is one run, as the parent hands it to a child.
type spec struct {
	Nodes        int           `json:"nodes"`
	Backend      string        `json:"backend"` // sqlite or postgres
	PostgresURL  string        `json:"postgres_url,omitempty"`
	Dir          string        `json:"dir"`
	Design       string        `json:"design"`
	Latency      time.Duration `json:"latency"`
	PollInterval time.Duration `json:"poll_interval"`
	LeaseFor     time.Duration `json:"lease_for"`
	DriverCalls  int           `json:"driver_calls"`
	MaxTasks     int           `json:"max_tasks"`
	Timeout      time.Duration `json:"timeout"`
	CPUProfile   string        `json:"cpuprofile,omitempty"`
	MutexProfile string        `json:"mutexprofile,omitempty"`
}

// result is what a child reports.
type result struct {
	Nodes         int                `json:"nodes"`
	Backend       string             `json:"backend"`
	PrepareWall   float64            `json:"prepare_wall_s"`
	DeployWall    float64            `json:"deploy_wall_s"`
	BothWall      float64            `json:"both_wall_s"`
	Phases        []phaseOut         `json:"phases"`
	Writes        map[string]statOut `json:"writes"`
	Reads         map[string]statOut `json:"reads"`
	Drivers       map[string]statOut `json:"drivers"`
	SimOps        map[string]int     `json:"sim_ops"`
	SimOpsTotal   int                `json:"sim_ops_total"`
	Deployed      int                `json:"deployed"`
	MaxGoroutines int                `json:"max_goroutines"`
	PGPool        int                `json:"pg_pool,omitempty"`
	// The store's write pool (database/sql), sampled every 5 ms from the first submission to
	// the end of the second task: mean connections in use over the pool's size, and the
	// pool's own count of waits for a connection.
	WritePool    int     `json:"write_pool"`
	WriteBusy    float64 `json:"write_busy"`
	PoolWaits    int64   `json:"pool_waits"`
	PoolWaitSecs float64 `json:"pool_wait_s"`
	// Per second from the first submission: writes completed, write connections in use (mean),
	// nodes that committed their task's last step.
	Timeline []second `json:"timeline"`
	// Go runtime (runtime/metrics) over the child's life: how long runnable goroutines waited
	// to run, and time spent waiting on sync.Mutex and the runtime's locks.
	SchedP50   float64 `json:"sched_p50_ms"`
	SchedP99   float64 `json:"sched_p99_ms"`
	SchedP999  float64 `json:"sched_p999_ms"`
	MutexWaitS float64 `json:"mutex_wait_s"`
	GCCycles   uint64  `json:"gc_cycles"`
}

type second struct {
	Writes    int64   `json:"writes"`
	InUse     float64 `json:"in_use"`
	NodesDone int     `json:"nodes_done"`
}

// run is a finished child, seen from the parent.
type run struct {
	spec       spec
	res        result
	err        error
	maxRSSKB   int64
	cpu        time.Duration
	loadBefore string
	loadAfter  string
}

func main() {
	sizes := flag.String("sizes", "1000,10000", "comma-separated node counts")
	latency := flag.Duration("latency", 2*time.Second, "simulated latency of every operation kind")
	pgURL := flag.String("postgres", "", "PostgreSQL URL: run on PostgreSQL (a fresh schema per run) instead of SQLite")
	backends := flag.String("backends", "", "comma-separated stores to run: sqlite, postgres (default: postgres when -postgres is given, else sqlite)")
	poll := flag.Duration("poll", time.Second, "orchestrator PollInterval (the claim loop's tick; the simulator always says when to poll again)")
	lease := flag.Duration("lease", 30*time.Second, "orchestrator LeaseFor")
	driverCalls := flag.Int("driver-calls", 0, "orchestrator DriverCalls (default: 2 × nodes, at least 256)")
	maxTasks := flag.Int("max-tasks", 16, "orchestrator MaxTasks")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up on a run after this long")
	dirFlag := flag.String("dir", "", "directory for the designs and the SQLite files (default: a new temporary directory)")
	keep := flag.Bool("keep", false, "keep the directory (designs, SQLite store and simulator files) after the runs")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of each child (the size and store are added to the name when there are several runs)")
	mutexprofile := flag.String("mutexprofile", "", "write a mutex contention profile of each child (named like -cpuprofile)")
	lazy := flag.Bool("lazy-machines", false, "let the simulator create each machine at the first driver call for it (default: all machines exist before the run, as in a real data centre)")
	timeline := flag.Bool("timeline", false, "also print, per run, writes, write-pool use and nodes done per second")
	child := flag.String("child", "", "internal: run this spec (JSON) and print its result")
	flag.Parse()

	check(checkCoverage())
	if *child != "" {
		var s spec
		check(json.Unmarshal([]byte(*child), &s))
		res, err := measure(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "orchbench child:", err)
			os.Exit(2)
		}
		check(json.NewEncoder(os.Stdout).Encode(res))
		return
	}

	ns, err := benchrun.ParseCounts(*sizes, "size")
	check(err)
	bs := *backends
	if bs == "" {
		bs = "sqlite"
		if *pgURL != "" {
			bs = "postgres"
		}
	}
	var bl []string
	for _, b := range strings.Split(bs, ",") {
		b = strings.TrimSpace(b)
		switch b {
		case "sqlite":
		case "postgres":
			if *pgURL == "" {
				fail("-backends postgres needs -postgres URL")
			}
		default:
			fail("unknown backend %q (sqlite, postgres)", b)
		}
		bl = append(bl, b)
	}
	if *latency <= 0 {
		fail("-latency must be positive")
	}

	dir, removeDir, err := benchrun.WorkDir(*dirFlag, "orchbench", *keep)
	check(err)
	defer removeDir()

	pgPool := 0
	if *pgURL != "" {
		pgPool = benchrun.PoolSize(*pgURL)
	}
	header(*latency, *poll, *lease, *driverCalls, *maxTasks, dir, *pgURL, pgPool, *lazy)

	var runs []*run
	failed := false
	for _, n := range ns {
		design := filepath.Join(dir, fmt.Sprintf("site-%d.yaml", n))
		data := sitegen.Bytes(sitegen.Options{Nodes: n})
		check(os.WriteFile(design, data, 0o644))
		var nodes []*ddesign.Node
		if !*lazy {
			in := ddesign.Parse(ddesign.Source{Name: design, Data: data})
			if !in.OK() {
				fail("the synthetic site of %d nodes does not parse: %s", n, in.Messages[0].Message)
			}
			nodes = ddesign.Compile(in.Design).Nodes
		}
		for _, b := range bl {
			dc := *driverCalls
			if dc <= 0 {
				dc = max(256, 2*n)
			}
			s := spec{Nodes: n, Backend: b, Dir: filepath.Join(dir, fmt.Sprintf("%s-%d", b, n)), Design: design,
				Latency: *latency, PollInterval: *poll, LeaseFor: *lease, DriverCalls: dc, MaxTasks: *maxTasks,
				Timeout: *timeout}
			name := func(path string) string {
				if path == "" || len(ns)*len(bl) == 1 {
					return path
				}
				ext := filepath.Ext(path)
				return strings.TrimSuffix(path, ext) + fmt.Sprintf("-%s-%d", b, n) + ext
			}
			s.CPUProfile, s.MutexProfile = name(*cpuprofile), name(*mutexprofile)
			check(os.MkdirAll(s.Dir, 0o755))
			if nodes != nil {
				// The data centre exists before the orchestrator starts: every machine is
				// materialised (in one transaction) and the child finds them in the file.
				site, err := sim.Open(filepath.Join(s.Dir, "sim.db"), sim.Config{Latency: simLatency(s.Latency)})
				check(err)
				check(site.Ensure(nodes...))
				check(site.Close())
			}
			r := runOne(s, *pgURL)
			if !*keep {
				os.RemoveAll(s.Dir)
			}
			if r.err != nil {
				failed = true
				fmt.Fprintf(os.Stderr, "orchbench: %d nodes on %s: %v\n", n, b, r.err)
			} else {
				fmt.Fprintf(os.Stderr, "orchbench: %d nodes on %s: prepare %.1fs, deploy %.1fs, both %.1fs (critical path %s), %.1f store writes/node, peak RSS %d MB\n",
					n, b, r.res.PrepareWall, r.res.DeployWall, r.res.BothWall, critical(simLatency(*latency)).total(),
					float64(totalWrites(r.res))/float64(n), r.maxRSSKB/1024)
			}
			runs = append(runs, r)
		}
	}
	report(runs, *latency, *timeline)
	if *keep {
		fmt.Printf("\nFiles kept in %s\n", dir)
	}
	if failed {
		fmt.Println("\nSome runs failed verification; their figures are not shown (see the errors above).")
		os.Exit(1)
	}
}

// runOne runs one spec in a child process (with a fresh PostgreSQL schema when needed).
func runOne(s spec, pgURL string) *run {
	r := &run{spec: s}
	ctx := context.Background()
	if s.Backend == "postgres" {
		schemaURL, drop, err := benchrun.FreshSchema(ctx, pgURL, fmt.Sprintf("orchbench_%d_%d", time.Now().UnixNano(), s.Nodes))
		if err != nil {
			r.err = err
			return r
		}
		defer func() {
			if err := drop(); err != nil {
				fmt.Fprintln(os.Stderr, "orchbench:", err)
			}
		}()
		s.PostgresURL = schemaURL
	}
	r.loadBefore = benchrun.Load1()
	u, err := benchrun.RunChild("child", "child", s, &r.res)
	r.loadAfter = benchrun.Load1()
	if err != nil {
		r.err = err
		return r
	}
	r.maxRSSKB, r.cpu = u.MaxRSSKB, u.CPU
	return r
}

// measure is the child: it runs both tasks and verifies the outcome.
func measure(s spec) (result, error) {
	res := result{Nodes: s.Nodes, Backend: s.Backend}
	ctx := context.Background()

	st, err := benchrun.OpenStore(ctx, s.Backend, s.Dir, s.PostgresURL)
	if err != nil {
		return res, err
	}
	if s.Backend == "postgres" {
		res.PGPool = st.DB().Stats().MaxOpenConnections
	}
	var raw store.Store = st
	defer raw.Close()
	cs := newCountingStore(raw)

	site, err := sim.Open(filepath.Join(s.Dir, "sim.db"), sim.Config{Latency: simLatency(s.Latency)})
	if err != nil {
		return res, err
	}
	defer site.Close()
	ds := newDriverStats()
	oob := timedOOB{d: site.OOBDriver(), s: ds}
	report := func(ctx context.Context, ba *driver.BootActions) {
		for _, a := range ba.Actions {
			if a.Signaling {
				_, _ = cs.ReportBootAction(context.WithoutCancel(ctx), a.ID, store.BootActionSuccess, nil, time.Now())
			}
		}
	}
	drivers := driver.Set{Node: timedNode{d: site.NodeDriver(), s: ds, report: report}, OOB: map[string]driver.OOBDriver{}}
	for _, t := range []string{"ipmi", "redfish", "libvirt", "manual"} {
		drivers.OOB[t] = oob
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	orch := orchestrator.New(cs, drivers, orchestrator.Config{ID: "orchbench", LeaseFor: s.LeaseFor,
		PollInterval: s.PollInterval, MaxTasks: s.MaxTasks, DriverCalls: s.DriverCalls}, orchestrator.WithLogger(log))

	stopOrch := benchrun.Background(ctx, orch.Run)
	defer stopOrch()

	peakGoroutines := benchrun.PeakGoroutines()
	defer peakGoroutines()

	// Sample the write pool.
	type pooled interface{ DB() *sql.DB }
	var inUse [maxSeconds]struct{ sum, n int64 }
	var busySum, busyN int64
	poolDone := make(chan struct{})
	var poolWG sync.WaitGroup
	var poolStart sql.DBStats
	begin := time.Now()
	if p, ok := raw.(pooled); ok {
		db := p.DB()
		poolStart = db.Stats()
		res.WritePool = poolStart.MaxOpenConnections
		poolWG.Add(1)
		go func() {
			defer poolWG.Done()
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-poolDone:
					end := db.Stats()
					res.PoolWaits = end.WaitCount - poolStart.WaitCount
					res.PoolWaitSecs = (end.WaitDuration - poolStart.WaitDuration).Seconds()
					return
				case now := <-t.C:
					u := int64(db.Stats().InUse)
					busySum += u
					busyN++
					if sec := int(now.Sub(begin) / time.Second); sec < maxSeconds {
						inUse[sec].sum += u
						inUse[sec].n++
					}
				}
			}
		}()
	}

	if s.MutexProfile != "" {
		runtime.SetMutexProfileFraction(1)
		defer func() {
			if f, err := os.Create(s.MutexProfile); err == nil {
				_ = pprof.Lookup("mutex").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	stopProfile := func() {}
	if s.CPUProfile != "" {
		stop, err := benchrun.StartCPUProfile(s.CPUProfile)
		if err != nil {
			return res, err
		}
		stopProfile = stop
		defer stop()
	}

	deadline := time.Now().Add(s.Timeout)
	do := func(action string) (*task.Task, time.Time, time.Time, error) {
		t0 := time.Now()
		t, err := orch.Submit(ctx, action, s.Design, nil, "orchbench")
		if err != nil {
			return nil, t0, t0, err
		}
		for {
			got, err := raw.GetTask(ctx, t.ID) // not through the counter: the bench's own polling
			if err != nil {
				return nil, t0, t0, err
			}
			if got.Status.Final() {
				// The end is when FinishTask returned to the orchestrator (the decorator saw it),
				// not when this poll noticed.
				end := time.Now()
				cs.finishedSeen(t.ID)
				if f := cs.finishedAt(t.ID); !f.IsZero() && f.Before(end) {
					end = f
				}
				return got, t0, end, nil
			}
			if time.Now().After(deadline) {
				return got, t0, time.Now(), fmt.Errorf("%s still %s after %s", action, got.Status, s.Timeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var problems []string
	verify := func(t *task.Task) {
		if t.Status != task.StatusComplete || t.Result.Status != task.ResultSuccess ||
			len(t.Result.Successes) != s.Nodes || len(t.Result.Failures) != 0 {
			problems = append(problems, fmt.Sprintf("%s: status %s, result %s (%s), %d successes, %d failures (want %d successes)",
				t.Action, t.Status, t.Result.Status, t.Result.Message, len(t.Result.Successes), len(t.Result.Failures), s.Nodes))
		}
	}

	prep, p0, p1, err := do(task.ActionPrepareNodes)
	if err != nil {
		return res, err
	}
	verify(prep)
	res.PrepareWall = p1.Sub(p0).Seconds()
	res.Phases = append(res.Phases, cs.phaseOut(prep.ID, p0))
	if len(problems) > 0 {
		return res, errors.New(strings.Join(problems, "; "))
	}
	dep, d0, d1, err := do(task.ActionDeployNodes)
	if err != nil {
		return res, err
	}
	verify(dep)
	res.DeployWall = d1.Sub(d0).Seconds()
	res.BothWall = res.PrepareWall + res.DeployWall // without the bench's polling gap between them
	stopProfile()                                   // the profile covers the two tasks, not the verification
	res.Phases = append(res.Phases, cs.phaseOut(dep.ID, d0))
	res.MaxGoroutines = peakGoroutines()
	close(poolDone)
	poolWG.Wait()
	if busyN > 0 && res.WritePool > 0 {
		res.WriteBusy = float64(busySum) / float64(busyN) / float64(res.WritePool)
	}
	// The timeline, from the first submission (begin) on.
	secs := int(d1.Sub(begin)/time.Second) + 1
	off := begin.Sub(cs.start)
	res.Timeline = make([]second, min(secs, maxSeconds))
	for i := range res.Timeline {
		if j := i + int(off/time.Second); j < maxSeconds {
			res.Timeline[i].Writes = cs.perSec[j].Load()
		}
		if inUse[i].n > 0 {
			res.Timeline[i].InUse = float64(inUse[i].sum) / float64(inUse[i].n)
		}
	}
	for _, t := range cs.nodeDoneTimes() {
		if sec := int(t.Sub(begin) / time.Second); sec >= 0 && sec < len(res.Timeline) {
			res.Timeline[sec].NodesDone++
		}
	}

	res.SchedP50, res.SchedP99, res.SchedP999, res.MutexWaitS, res.GCCycles = runtimeMetrics()

	ms, err := site.Machines(ctx)
	if err != nil {
		return res, err
	}
	notDeployed := 0
	example := ""
	for _, m := range ms {
		if m.Status == sim.StatusDeployed {
			res.Deployed++
		} else {
			notDeployed++
			if example == "" {
				example = fmt.Sprintf("%s is %q", m.Name, m.Status)
			}
		}
	}
	if len(ms) != s.Nodes || notDeployed > 0 {
		problems = append(problems, fmt.Sprintf("simulator: %d machines, %d Deployed, %d not (%s); want %d Deployed",
			len(ms), res.Deployed, notDeployed, example, s.Nodes))
	}
	if len(problems) > 0 {
		return res, errors.New(strings.Join(problems, "; "))
	}

	ops, err := site.Log(ctx, "")
	if err != nil {
		return res, err
	}
	res.SimOps = map[string]int{}
	for _, op := range ops {
		res.SimOps[op.Operation]++
	}
	res.SimOpsTotal = len(ops)
	res.Writes, res.Reads, res.Drivers = map[string]statOut{}, map[string]statOut{}, map[string]statOut{}
	for _, m := range writeMethods {
		res.Writes[m] = cs.stats[m].out()
	}
	for _, m := range readMethods {
		res.Reads[m] = cs.stats[m].out()
	}
	for _, m := range driverMethods {
		res.Drivers[m] = ds[m].out()
	}
	return res, nil
}

// runtimeMetrics reads the scheduling latency quantiles (ms), the total mutex wait (s) and the
// number of GC cycles.
func runtimeMetrics() (p50, p99, p999, mutexWait float64, gcs uint64) {
	ss := []metrics.Sample{{Name: "/sched/latencies:seconds"}, {Name: "/sync/mutex/wait/total:seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(ss)
	if ss[0].Value.Kind() == metrics.KindFloat64Histogram {
		h := ss[0].Value.Float64Histogram()
		var total uint64
		for _, c := range h.Counts {
			total += c
		}
		q := func(p float64) float64 {
			want := uint64(p * float64(total))
			var seen uint64
			for i, c := range h.Counts {
				seen += c
				if seen > want {
					return h.Buckets[i+1] * 1000 // upper bound of the bucket
				}
			}
			return 0
		}
		if total > 0 {
			p50, p99, p999 = q(0.5), q(0.99), q(0.999)
		}
	}
	if ss[1].Value.Kind() == metrics.KindFloat64 {
		mutexWait = ss[1].Value.Float64()
	}
	if ss[2].Value.Kind() == metrics.KindUint64 {
		gcs = ss[2].Value.Uint64()
	}
	return
}

// simLatency gives every operation kind the same latency.
func simLatency(d time.Duration) map[sim.Kind]time.Duration {
	m := map[sim.Kind]time.Duration{}
	for _, k := range sim.Kinds {
		m[k] = d
	}
	return m
}

// cpath is the critical path of one node: the simulated latencies it goes through, in order,
// with the latencies of the simulator configuration the children get.
type cpath struct {
	lat             map[sim.Kind]time.Duration
	prepare, deploy []term
}

// term is n times the latency of kind, spent in step (empty: between steps).
type term struct {
	step string
	kind sim.Kind
	n    int
}

// critical computes the critical path from a simulator latency configuration (kinds it does
// not name take sim.DefaultLatency, as in the simulator).
func critical(lat map[sim.Kind]time.Duration) cpath {
	return cpath{lat: lat,
		prepare: []term{{"find_node", sim.Identify, 1}, {"set_node_boot", sim.SetBoot, 1},
			{"power_cycle_node", sim.Power, 2}, {"", sim.Enlist, 1}, {"identify_node", sim.Identify, 1},
			{"configure_hardware", sim.Commission, 1}},
		deploy: []term{{"apply_node_networking", sim.ApplyNetworking, 1}, {"apply_node_storage", sim.ApplyStorage, 1},
			{"apply_node_platform", sim.ApplyPlatform, 1}, {"deploy_node", sim.Deploy, 1}},
	}
}

func (c cpath) latency(k sim.Kind) time.Duration {
	if d, ok := c.lat[k]; ok {
		return d
	}
	return sim.DefaultLatency[k]
}

func (c cpath) sum(ts []term) time.Duration {
	var d time.Duration
	for _, t := range ts {
		d += time.Duration(t.n) * c.latency(t.kind)
	}
	return d
}

func (c cpath) prepareD() time.Duration { return c.sum(c.prepare) }
func (c cpath) deployD() time.Duration  { return c.sum(c.deploy) }
func (c cpath) total() time.Duration    { return c.prepareD() + c.deployD() }

// formula writes terms as "a + 2×b + ..." with each latency.
func (c cpath) formula(ts []term) string {
	var parts []string
	for _, t := range ts {
		p := fmt.Sprintf("%s %s", t.kind, c.latency(t.kind))
		if t.n > 1 {
			p = fmt.Sprintf("%d×%s", t.n, p)
		}
		if t.step != "" {
			p += " [" + t.step + "]"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " + ")
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "orchbench:", err)
		os.Exit(1)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "orchbench: "+format+"\n", args...)
	os.Exit(1)
}
