package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
)

// env is the machine a run measured.
type env struct {
	GoVersion  string
	CPUs       int
	CPUModel   string
	MemGiB     float64
	Date       string
	LoadBefore string
	LoadAfter  string
}

func environment() env {
	e := env{GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		LoadBefore: benchrun.LoadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPUModel = strings.Join(strings.Fields(v), " ")
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			e.MemGiB = kb / (1 << 20)
		}
	}
	return e
}

// ms formats a latency in milliseconds.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

func cores(d, wall time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.Seconds()/wall.Seconds())
}

// report is the printed (and, with -write, recorded) result.
func report(o options, e env, runs []*storeRun) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("apibench: Go %s, %s/%s, %d CPUs", e.GoVersion, runtime.GOOS, runtime.GOARCH, e.CPUs)
	if e.CPUModel != "" {
		p(" (%s)", e.CPUModel)
	}
	if e.MemGiB > 0 {
		p(", %.0f GiB", e.MemGiB)
	}
	p(", %s, load average %s → %s\n\n", e.Date, e.LoadBefore, e.LoadAfter)
	length := fmt.Sprintf("%s per phase after a %s warm-up", o.duration, o.warmup)
	if o.requests > 0 {
		length = fmt.Sprintf("%d requests per phase after a %s warm-up", o.requests, o.warmup)
	}
	p("Load: %d concurrent clients (internal/client, one keep-alive connection each, no retries) on loopback TCP, %s.\n", o.clients, length)
	p("Server: internal/api in a child process (the same process layout as `drydock serve`, without the orchestrator loop),\n" +
		"static-token authentication (one admin token), the default policy, a discarding logger. GET reads a random seeded task\n" +
		"(top-level or subtask, no query options); POST creates a deploy_nodes task (stays queued) with a file design_ref.\n")
	p("Stores: SQLite = internal/store/sqlite (one write connection, WAL, synchronous=NORMAL, read pool of max(4, GOMAXPROCS))\n"+
		"on a local temporary file; PostgreSQL = internal/store/postgres (default pool of 10 connections) at %s,\n"+
		"a fresh schema per run, on the same machine.\n\n", benchrun.Redact(o.pgURL))

	p("Seeded history (store.Store.CreateTask, one transaction per task, concurrent writers):\n\n")
	p("| store | tasks | top-level | subtasks | messages | writers | seeding time | tasks/s |\n")
	p("|-------|------:|----------:|---------:|---------:|--------:|-------------:|--------:|\n")
	for _, r := range runs {
		s := r.ready.Seed
		if s.Tasks == 0 {
			continue
		}
		p("| %s | %d | %d | %d | %d | %d | %.1f s | %.0f |\n", r.store, s.Tasks, s.TopLevel, s.Subtasks, s.Messages, s.Workers,
			s.Seconds, float64(s.Tasks)/s.Seconds)
	}
	withSubs := 0
	for _, r := range runs {
		withSubs = max(withSubs, r.ready.Seed.WithSubs)
	}
	p("\nTop-level tasks: deploy_nodes 30%%, prepare_nodes 25%%, validate_design 20%%, verify_site 10%%, prepare_site,\n"+
		"destroy_nodes, relabel_nodes 5%% each; 90%% complete (80%% success, 12%% partial, 8%% failure), 10%% terminated; 3–6\n"+
		"messages each, created over 90 days. A quarter of the complete ones (%d) carry their workflow's step subtasks\n"+
		"(1–5, complete, 1–3 messages each). GETs pick uniformly among all seeded ids, subtasks included.\n\n", withSubs)
	p("Throughput and latency (client side: from the call to the decoded answer). Server CPU is the API process's own\n" +
		"(Go, HTTP, JSON, and SQLite, which runs in-process; PostgreSQL's backends are not in it); machine is every CPU busy\n" +
		"on the host during the phase (load generator, PostgreSQL and anything else running). Pool waits: how often, per\n" +
		"request, and how long on average over all requests, a request waited for a connection of the store's write pool\n" +
		"(database/sql; SQLite: its one write connection, reads have their own pool; PostgreSQL: the one pool of reads and writes).\n\n")
	p("| store | phase | clients | requests | errors | req/s | p50 | p90 | p99 | max | server CPU / req | server cores | client cores | machine cores | pool waits / req | pool wait / req |\n")
	p("|-------|-------|--------:|---------:|-------:|------:|----:|----:|----:|----:|-----------------:|-------------:|-------------:|--------------:|-----------------:|----------------:|\n")
	for _, r := range runs {
		for _, rw := range r.rows {
			perReq := "-"
			if rw.serverCPU >= 0 && len(rw.all) > 0 {
				perReq = fmt.Sprintf("%.0f µs", float64(rw.serverCPU.Microseconds())/float64(rw.requests()))
			}
			n := time.Duration(max(rw.requests(), 1))
			p("| %s | %s | %d | %d | %d | **%.0f** | %s | %s | **%s** | %s | %s | %s | %s | %.2f | %.2f | %s |\n", r.store, rw.phase, rw.clients,
				rw.requests(), rw.errors, rw.rps(), ms(pct(rw.all, .5)), ms(pct(rw.all, .9)), ms(pct(rw.all, .99)),
				ms(pct(rw.all, 1)), perReq, cores(rw.serverCPU, rw.wall), cores(rw.clientCPU, rw.wall), rw.machine,
				float64(rw.poolWaits)/float64(n), ms(rw.poolWait/n))
		}
	}
	mixed := false
	for _, r := range runs {
		for _, rw := range r.rows {
			mixed = mixed || (len(rw.lat[kindGet]) > 0 && len(rw.lat[kindCreate]) > 0)
		}
	}
	if mixed {
		p("\nThe mixed phase by request kind:\n\n")
		p("| store | request | requests | req/s | p50 | p90 | p99 | max |\n")
		p("|-------|---------|---------:|------:|----:|----:|----:|----:|\n")
		for _, r := range runs {
			for _, rw := range r.rows {
				if len(rw.lat[kindGet]) == 0 || len(rw.lat[kindCreate]) == 0 {
					continue
				}
				for k, l := range rw.lat {
					p("| %s | %s | %d | %.0f | %s | %s | %s | %s |\n", r.store, kindNames[k], len(l), float64(len(l))/rw.wall.Seconds(),
						ms(pct(l, .5)), ms(pct(l, .9)), ms(pct(l, .99)), ms(pct(l, 1)))
				}
			}
		}
	}
	for _, r := range runs {
		if r.created > 0 {
			p("\n%s: %d tasks created by the POST requests (warm-ups included); the store ended with %d tasks.", r.store, r.created,
				int64(r.ready.Seed.Tasks)+r.created)
		}
	}
	p("\n")
	for _, r := range runs {
		for _, rw := range r.rows {
			if rw.firstErr != "" {
				p("\n%s, %s: first error: %s\n", r.store, rw.phase, rw.firstErr)
			}
		}
		if r.err != nil {
			p("\n%s: FAILED: %v\n", r.store, r.err)
		}
	}
	return b.String()
}

func resultsHeader(o options) string {
	args := []string{"go run ./bench/apibench"}
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-write") {
			args = append(args, a)
		}
	}
	return "# apibench results\n\nRecorded by `" + strings.Join(args, " ") + " -write`:\n\n"
}
