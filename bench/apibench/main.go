// Command apibench measures the REST API under load: with a store holding 100,000 tasks, it
// drives the real API server (internal/api with the real store, an orchestrator that is never
// run, static-token authentication with one admin token and the default policy) over loopback
// TCP with 50 concurrent clients (internal/client, keep-alive connections), in phases:
//
//   - GET /api/v1.0/tasks/{id} of a random seeded task;
//   - POST /api/v1.0/tasks creating deploy_nodes tasks (they stay queued: nothing runs them);
//   - a 50/50 mix of both.
//
// For each store (embedded SQLite, PostgreSQL) and phase it reports the throughput, the
// latency percentiles (p50, p90, p99, max) as the clients see them, the errors (any answer
// that is not 2xx, or a body that is not the task asked for, is an error; the run fails
// unless there are none), the CPU time of the server process, and how often and how long
// requests waited for a connection of the store's write pool.
//
// The store is seeded directly through store.Store (not over HTTP) with a realistic history:
// top-level tasks of every action in final states (complete: success, partial success or
// failure; or terminated) with a few messages each, one in four with its workflow's step
// subtasks. The server runs in a child process, so its CPU time is its own; the parent is the
// load generator. The API server logs to a discarding logger.
//
//	go run ./bench/apibench                               # both stores, 100,000 tasks, 50 clients, 10s per phase
//	go run ./bench/apibench -store sqlite -duration 5s
//	go run ./bench/apibench -store postgres -pg 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./bench/apibench -requests 20000 -phases get,create
//	go run ./bench/apibench -cpuprofile /tmp/api.pprof    # profile of the server child (store name added)
//	go run ./bench/apibench -write                        # also write bench/apibench/RESULTS.md
//
// On PostgreSQL each run gets a fresh schema (CREATE SCHEMA, then ?search_path=), dropped after
// the run; SQLite uses a file in a temporary directory (-dir), removed after the run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	"github.com/drydock-go/drydock/internal/client"
)

const defaultPG = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// options are the command's flags.
type options struct {
	stores      []string
	tasks       int
	clients     int
	duration    time.Duration
	requests    int64
	warmup      time.Duration
	phases      []string
	pgURL       string
	design      string
	dir         string
	seedWorkers int
	cpuprofile  string
	write       bool
}

func main() {
	var o options
	storeFlag := flag.String("store", "both", "stores to measure: sqlite, postgres or both")
	flag.IntVar(&o.tasks, "tasks", 100000, "tasks seeded in the store before the load (top-level tasks and subtasks)")
	flag.IntVar(&o.clients, "clients", 50, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each phase (ignored with -requests)")
	flag.Int64Var(&o.requests, "requests", 0, "requests per phase instead of a duration")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each phase (connections, caches)")
	phaseFlag := flag.String("phases", "get,create,mixed", "phases to run, in order: get, create, mixed")
	flag.StringVar(&o.pgURL, "pg", defaultPG, "PostgreSQL URL (a schema is created in it for the run and dropped after)")
	flag.StringVar(&o.design, "design", "", "design_ref of created tasks, an absolute path (default: the repository's examples/site; it is not read, since no orchestrator runs)")
	flag.StringVar(&o.dir, "dir", "", "directory for the SQLite file and the id list (default: a new temporary directory, removed after)")
	flag.IntVar(&o.seedWorkers, "seed-workers", 0, "concurrent writers while seeding (default: 4 on SQLite, which has one write connection; the pool size on PostgreSQL)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the server child over the measured phases (the store name is added)")
	flag.BoolVar(&o.write, "write", false, "also write the report to bench/apibench/RESULTS.md")
	child := flag.String("child", "", "internal: be the server process for this spec (JSON)")
	flag.Parse()

	if *child != "" {
		var s spec
		check(json.Unmarshal([]byte(*child), &s))
		if err := serve(s); err != nil {
			fmt.Fprintln(os.Stderr, "apibench server:", err)
			os.Exit(2)
		}
		return
	}

	switch *storeFlag {
	case "both":
		o.stores = []string{"sqlite", "postgres"}
	case "sqlite", "postgres":
		o.stores = []string{*storeFlag}
	default:
		fail("-store %q: want sqlite, postgres or both", *storeFlag)
	}
	for _, p := range strings.Split(*phaseFlag, ",") {
		p = strings.TrimSpace(p)
		if _, ok := phases[p]; !ok {
			fail("-phases: unknown phase %q (get, create, mixed)", p)
		}
		o.phases = append(o.phases, p)
	}
	if o.tasks < 1 || o.clients < 1 || (o.requests <= 0 && o.duration <= 0) {
		fail("-tasks and -clients must be positive, and -duration or -requests")
	}
	if o.design == "" {
		o.design = defaultDesign()
	}
	if !filepath.IsAbs(o.design) {
		fail("-design %q must be an absolute path", o.design)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := environment()
	logf("Go %s, %s/%s, %d CPUs, load average %s", env.GoVersion, runtime.GOOS, runtime.GOARCH, env.CPUs, env.LoadBefore)
	var runs []*storeRun
	failed := false
	for _, st := range o.stores {
		r := runStore(ctx, o, st)
		runs = append(runs, r)
		if r.err != nil {
			failed = true
			logf("%s: %v", st, r.err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	env.LoadAfter = benchrun.LoadAvg()
	rep := report(o, env, runs)
	fmt.Print(rep)
	if o.write && !failed {
		path := resultsPath()
		check(os.WriteFile(path, []byte(resultsHeader(o)+rep), 0o644))
		logf("wrote %s", path)
	}
	if failed {
		fmt.Println("\nSome runs failed: their figures are not valid (see the errors above).")
		os.Exit(1)
	}
}

// storeRun is one store's measurements.
type storeRun struct {
	store   string
	ready   ready
	rows    []row
	created int64
	err     error
}

// row is one phase's figures.
type row struct {
	phase     string
	clients   int
	wall      time.Duration
	lat       latencies
	all       []time.Duration
	errors    int64
	firstErr  string
	serverCPU time.Duration // the server child's user + system time
	clientCPU time.Duration // this process's
	machine   float64       // CPUs busy on the whole machine (PostgreSQL and anything else included)
	poolWaits int64         // waits for a connection of the store's write pool
	poolWait  time.Duration // their total
}

func (r row) requests() int { return len(r.all) + int(r.errors) }
func (r row) rps() float64  { return float64(len(r.all)) / r.wall.Seconds() }

// runStore seeds one store in a server child and runs the phases against it.
func runStore(ctx context.Context, o options, st string) (r *storeRun) {
	r = &storeRun{store: st}
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "apibench")
		if err != nil {
			r.err = err
			return r
		}
		dir = d
		defer os.RemoveAll(dir)
	} else {
		dir = filepath.Join(dir, st)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			r.err = err
			return r
		}
	}
	s := spec{Store: st, Dir: dir, Tasks: o.tasks, Design: o.design, SeedWorkers: o.seedWorkers}
	if s.SeedWorkers <= 0 {
		s.SeedWorkers = 4
		if st == "postgres" {
			s.SeedWorkers = benchrun.PoolSize(o.pgURL)
		}
	}
	if o.cpuprofile != "" {
		ext := filepath.Ext(o.cpuprofile)
		s.CPUProfile = strings.TrimSuffix(o.cpuprofile, ext) + "-" + st + ext
	}
	if st == "postgres" {
		schemaURL, drop, err := benchrun.FreshSchema(ctx, o.pgURL, fmt.Sprintf("apibench_%d", time.Now().UnixNano()))
		if err != nil {
			r.err = err
			return r
		}
		defer func() {
			if err := drop(); err != nil {
				logf("%v", err)
			}
		}()
		s.PostgresURL = schemaURL
	}

	logf("%s: seeding %d tasks and starting the API server", st, o.tasks)
	child, err := benchrun.StartPiped("child", s)
	if err != nil {
		r.err = err
		return r
	}
	defer func() {
		child.In.Close()
		if err := child.Wait(); err != nil && r.err == nil {
			r.err = fmt.Errorf("server child: %w", err)
		}
	}()
	line, err := child.Out.ReadBytes('\n')
	if err != nil {
		r.err = fmt.Errorf("server child did not start: %w", err)
		return r
	}
	if err := json.Unmarshal(line, &r.ready); err != nil {
		r.err = fmt.Errorf("server child: %w", err)
		return r
	}
	sd := r.ready.Seed
	logf("%s: seeded %d tasks (%d top-level, %d subtasks, %d messages) in %.1fs with %d writers; API at %s",
		st, sd.Tasks, sd.TopLevel, sd.Subtasks, sd.Messages, sd.Seconds, sd.Workers, r.ready.Addr)
	ids, err := readIDs(r.ready.IDs)
	if err != nil {
		r.err = err
		return r
	}

	c, err := client.New("http://"+r.ready.Addr, r.ready.Token)
	if err != nil {
		r.err = err
		return r
	}
	c.Attempts = 1 // no retries: every failure counts
	c.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * o.clients,
		MaxIdleConnsPerHost: 2 * o.clients,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
	// serverStats asks the child for its counters.
	serverStats := func() (stats, error) {
		var s stats
		if _, err := fmt.Fprintln(child.In, "stats"); err != nil {
			return s, fmt.Errorf("server child: %w", err)
		}
		line, err := child.Out.ReadBytes('\n')
		if err != nil {
			return s, fmt.Errorf("server child: %w", err)
		}
		return s, json.Unmarshal(line, &s)
	}
	for i, name := range o.phases {
		p := phases[name]
		seed := uint64(i + 1)
		if o.warmup > 0 {
			w := drive(ctx, c, ids, p, o.design, o.clients, o.warmup, 0, seed+100)
			r.created += w.created
			if w.errors > 0 {
				r.err = fmt.Errorf("%s, warm-up: %d errors; first: %s", p.name, w.errors, w.firstErr)
				return r
			}
		}
		sv0, err := serverStats()
		if err != nil {
			r.err = err
			return r
		}
		cl0, m0 := benchrun.SelfUsage().CPU, machineCPU()
		l := drive(ctx, c, ids, p, o.design, o.clients, o.duration, o.requests, seed)
		cl1, m1 := benchrun.SelfUsage().CPU, machineCPU()
		sv1, err := serverStats()
		if err != nil {
			r.err = err
			return r
		}
		if ctx.Err() != nil {
			r.err = ctx.Err()
			return r
		}
		r.created += l.created
		rw := row{phase: p.name, clients: o.clients, wall: l.wall, lat: l.lat, all: merged(l.lat), errors: l.errors,
			firstErr: l.firstErr, serverCPU: sv1.CPU - sv0.CPU, clientCPU: cl1 - cl0,
			poolWaits: sv1.PoolWaits - sv0.PoolWaits, poolWait: sv1.PoolWaitTime - sv0.PoolWaitTime}
		if m1.total > m0.total {
			rw.machine = float64(runtime.NumCPU()) * float64(m1.busy-m0.busy) / float64(m1.total-m0.total)
		}
		r.rows = append(r.rows, rw)
		logf("%s: %s: %d requests in %.1fs, %.0f req/s, p50 %s, p99 %s, %d errors", st, p.name, rw.requests(),
			rw.wall.Seconds(), rw.rps(), ms(pct(rw.all, 0.50)), ms(pct(rw.all, 0.99)), rw.errors)
		if rw.errors > 0 {
			r.err = fmt.Errorf("%s: %d errors; first: %s", p.name, rw.errors, rw.firstErr)
		}
	}
	return r
}

func readIDs(path string) ([]uuid.UUID, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, l := range strings.Fields(string(data)) {
		id, err := uuid.Parse(l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("no seeded task ids")
	}
	return ids, nil
}

type cpuTicks struct{ busy, total int64 }

// machineCPU reads the whole machine's CPU time from /proc/stat.
func machineCPU() cpuTicks {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return cpuTicks{}
	}
	var t cpuTicks
	for i, v := range f[1:] {
		if i >= 8 { // guest times are already in user and nice
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t
}

// srcDir is this package's directory when it is known (go run, go build without -trimpath).
func srcDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	if _, err := os.Stat(file); err != nil {
		return ""
	}
	return filepath.Dir(file)
}

func defaultDesign() string {
	if d := srcDir(); d != "" {
		return filepath.Join(filepath.Dir(filepath.Dir(d)), "examples", "site")
	}
	p, err := filepath.Abs(filepath.Join("examples", "site"))
	check(err)
	return p
}

func resultsPath() string {
	if d := srcDir(); d != "" {
		return filepath.Join(d, "RESULTS.md")
	}
	return filepath.Join("bench", "apibench", "RESULTS.md")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "apibench: "+format+"\n", args...)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(1)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "apibench: "+format+"\n", args...)
	os.Exit(1)
}
