// Command maasbench measures the MAAS node driver end to end: prepare_nodes then deploy_nodes of
// N synthetic nodes through the orchestrator, the real MAAS driver and the MAAS API emulator
// (internal/driver/maas/maassim) over HTTP on loopback. It reports
//
//   - the wall time of prepare_site (once, before), prepare_nodes and deploy_nodes;
//   - the HTTP requests per node of each task, by HTTP method (GET against writes) and by
//     driver method, with the polls (InProgress answers) counted apart;
//   - what the emulator served, by endpoint, with its handling time;
//   - the peak resident set size and CPU time of Drydock and of the emulator.
//
// Each run uses two child processes, so that each figure belongs to one side: the emulator
// child holds the simulated site's machines and BMCs (internal/driver/sim, in memory) enlisted
// in the emulator, served on a loopback port; the Drydock child holds the store, the
// orchestrator and the MAAS driver, as `drydock serve` with drivers.node: maas. The machines
// are enlisted (status New) before the run, as after their PXE enlistment, so prepare_nodes
// finds them (find_node) and skips the BMC steps; MAAS powers them through their BMCs while
// commissioning and deploying. deploy_nodes ends with bootaction_report: the sitegen design
// gives every node boot actions, and the Drydock child plays the nodes — when Deploy answers
// Done it reports each signalling action's success through the store (store.ReportBootAction),
// as the node's agent would through the boot action API once the OS came up.
//
// A run counts only when every task succeeded for every node and every machine ends Deployed
// in the emulator; otherwise its figures are not printed and the command exits 1.
//
//	go run ./bench/maasbench                             # 1,000 nodes on SQLite
//	go run ./bench/maasbench -nodes 100,1000
//	go run ./bench/maasbench -store postgres             # PostgreSQL at -postgres, a fresh schema
//	go run ./bench/maasbench -nodes 1000 -cpuprofile /tmp/maas.pprof   # .drydock and .emulator
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	"github.com/drydock-go/drydock/internal/design/sitegen"
	"github.com/drydock-go/drydock/internal/task"
)

const defaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// run is one (size, store), seen from the parent.
type run struct {
	nodes      int
	backend    string
	ready      emuReady
	emu        emuStats
	dry        dryResult
	err        error
	dryRSS     int64 // KB
	emuRSS     int64 // KB
	dryCPU     time.Duration
	emuCPU     time.Duration
	loadBefore string
	loadAfter  string
}

func main() {
	sizes := flag.String("nodes", "1000", "comma-separated node counts")
	stores := flag.String("store", "sqlite", "comma-separated stores: sqlite, postgres")
	pgURL := flag.String("postgres", defaultPostgres, "PostgreSQL URL for -store postgres (a fresh schema per run)")
	commission := flag.Duration("commission", time.Second, "emulator: how long commissioning takes")
	testing := flag.Duration("testing", 200*time.Millisecond, "emulator: how long the tests after commissioning take")
	deploy := flag.Duration("deploy", 2*time.Second, "emulator: how long deploying takes")
	bmc := flag.Duration("bmc-latency", 10*time.Millisecond, "emulator: how long each BMC call (power, boot device) of the simulated machines takes")
	poll := flag.Duration("poll", 500*time.Millisecond, "MAAS driver PollInterval (maas.poll_interval; the production default is 10s)")
	conc := flag.Int("concurrency", 32, "MAAS driver MaxConcurrent: requests in flight to MAAS (maas.max_concurrent)")
	driverCalls := flag.Int("driver-calls", 0, "orchestrator DriverCalls (0: its default, 256)")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up on a run after this long")
	dirFlag := flag.String("dir", "", "directory for the designs and SQLite files (default: a new temporary directory)")
	keep := flag.Bool("keep", false, "keep the directory after the runs")
	cpuprofile := flag.String("cpuprofile", "", "write CPU profiles of prepare_nodes + deploy_nodes: PATH.drydock and PATH.emulator (size and store added when there are several runs)")
	emuChild := flag.String("emulator", "", "internal: run the emulator child with this spec (JSON)")
	dryChild := flag.String("drydock", "", "internal: run the Drydock child with this spec (JSON)")
	flag.Parse()

	switch {
	case *emuChild != "":
		var s emuSpec
		check(json.Unmarshal([]byte(*emuChild), &s))
		if err := runEmulator(s); err != nil {
			fmt.Fprintln(os.Stderr, "maasbench emulator:", err)
			os.Exit(2)
		}
		return
	case *dryChild != "":
		var s drySpec
		check(json.Unmarshal([]byte(*dryChild), &s))
		res, err := runDrydock(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "maasbench drydock:", err)
			os.Exit(2)
		}
		check(json.NewEncoder(os.Stdout).Encode(res))
		return
	}

	ns, err := benchrun.ParseCounts(*sizes, "node count")
	check(err)
	var bs []string
	for _, b := range strings.Split(*stores, ",") {
		b = strings.TrimSpace(b)
		if b != "sqlite" && b != "postgres" {
			fail("unknown store %q (sqlite, postgres)", b)
		}
		bs = append(bs, b)
	}
	dir, removeDir, err := benchrun.WorkDir(*dirFlag, "maasbench", *keep)
	check(err)
	defer removeDir()

	es := emuSpec{Commissioning: *commission, Testing: *testing, Deploying: *deploy, BMCLatency: *bmc}
	fmt.Printf("maasbench: Go %s, %s/%s, %d CPUs, %s\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		time.Now().Format("2006-01-02"))
	fmt.Println("Design: sitegen (BaremetalNodes with a PXE NIC, an 802.3ad bond with three networks, two disks with partitions and an LVM volume, kernel parameters, tags, owner data, boot actions); bond0 on nic02 + nic03 (sitegen gives it nic01, which the PXE interface uses).")
	fmt.Printf("Emulator: commissioning %s + testing %s, deploying %s; BMC calls %s; machines enlisted (New) before the run.\n",
		*commission, *testing, *deploy, *bmc)
	fmt.Printf("MAAS driver: poll interval %s, %d requests in flight at most, site-list cache 30s (defaults otherwise).\n", *poll, *conc)
	dc := "256 (default)"
	if *driverCalls > 0 {
		dc = strconv.Itoa(*driverCalls)
	}
	fmt.Printf("Orchestrator: driver calls %s, poll 1s, step timeouts and retries at their defaults.\n\n", dc)

	var runs []*run
	failed := false
	for _, n := range ns {
		design := filepath.Join(dir, fmt.Sprintf("site-%d.yaml", n))
		data, err := separateNICs(sitegen.Bytes(sitegen.Options{Nodes: n}))
		check(err)
		check(os.WriteFile(design, data, 0o644))
		for _, b := range bs {
			sub := filepath.Join(dir, fmt.Sprintf("%s-%d", b, n))
			check(os.MkdirAll(sub, 0o755))
			e := es
			e.Design = design
			d := drySpec{Nodes: n, Backend: b, Dir: sub, Design: design, Poll: *poll, MaxConcurrent: *conc,
				DriverCalls: *driverCalls, Timeout: *timeout}
			if *cpuprofile != "" {
				p := *cpuprofile
				if len(ns)*len(bs) > 1 {
					p += fmt.Sprintf("-%s-%d", b, n)
				}
				e.CPUProfile, d.CPUProfile = p+".emulator", p+".drydock"
			}
			r := runOne(n, b, e, d, *pgURL)
			if !*keep {
				os.RemoveAll(sub)
			}
			if r.err != nil {
				failed = true
				fmt.Fprintf(os.Stderr, "maasbench: %d nodes on %s: %v\n", n, b, r.err)
			} else {
				fmt.Fprintf(os.Stderr, "maasbench: %d nodes on %s: prepare_nodes %.1fs, deploy_nodes %.1fs, %.1f requests/node, peak RSS %d + %d MB\n",
					n, b, r.dry.Phases[1].WallS, r.dry.Phases[2].WallS, float64(r.emu.Counted)/float64(n), r.dryRSS/1024, r.emuRSS/1024)
			}
			runs = append(runs, r)
		}
	}
	report(runs, es, *poll)
	if *keep {
		fmt.Printf("\nFiles kept in %s\n", dir)
	}
	if failed {
		fmt.Println("\nSome runs failed; their figures are not shown (see the errors above).")
		os.Exit(1)
	}
}

// runOne starts the emulator child, runs the Drydock child against it, then stops the emulator
// and collects both sides' figures.
func runOne(n int, backend string, es emuSpec, ds drySpec, pgURL string) *run {
	r := &run{nodes: n, backend: backend}
	ctx := context.Background()
	if backend == "postgres" {
		schemaURL, drop, err := benchrun.FreshSchema(ctx, pgURL, fmt.Sprintf("maasbench_%d_%d", time.Now().UnixNano(), n))
		if err != nil {
			r.err = err
			return r
		}
		defer func() {
			if err := drop(); err != nil {
				fmt.Fprintln(os.Stderr, "maasbench:", err)
			}
		}()
		ds.PostgresURL = schemaURL
	}

	emu, err := benchrun.StartPiped("emulator", es)
	if err != nil {
		r.err = err
		return r
	}
	stopEmu := func() error {
		emu.In.Close()
		line, rerr := emu.Out.ReadBytes('\n')
		_, _ = io.Copy(io.Discard, emu.Out)
		werr := emu.Wait()
		if werr != nil {
			return fmt.Errorf("emulator: %w", werr)
		}
		if rerr != nil {
			return fmt.Errorf("emulator output: %w", rerr)
		}
		if err := json.Unmarshal(line, &r.emu); err != nil {
			return fmt.Errorf("emulator output: %w", err)
		}
		u := benchrun.ChildUsage(emu.ProcessState)
		r.emuRSS, r.emuCPU = u.MaxRSSKB, u.CPU
		return nil
	}
	line, err := emu.Out.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &r.ready)
	}
	if err != nil {
		_ = stopEmu()
		r.err = fmt.Errorf("emulator did not start: %v", err)
		return r
	}
	ds.URL, ds.Key = r.ready.URL, r.ready.Key
	r.loadBefore = benchrun.Load1()
	u, derr := benchrun.RunChild("Drydock child", "drydock", ds, &r.dry)
	r.loadAfter = benchrun.Load1()
	if err := stopEmu(); err != nil && derr == nil {
		r.err = err
		return r
	}
	if derr != nil {
		r.err = derr
		return r
	}
	r.dryRSS, r.dryCPU = u.MaxRSSKB, u.CPU
	if got := r.emu.Statuses["Deployed"]; got != n || r.emu.Machines != n {
		r.err = fmt.Errorf("emulator: %d machines, %d Deployed (%v); want %d Deployed", r.emu.Machines, got, r.emu.Statuses, n)
	}
	return r
}

// separateNICs gives bond0 NICs of its own. sitegen's host profiles put nic01 both in the pxe
// interface and in bond0 (nic01 + nic02), which the design rules accept but no machine can
// do: the MAAS driver refuses it ("interfaces pxe and bond0 both use NIC nic01"). The bond gets
// nic02 and a third NIC, nic03 (a new alias of the hardware profile, next to nic02).
func separateNICs(data []byte) ([]byte, error) {
	s := string(data)
	const bond = "      device_link: gp\n      slaves:\n        - nic01\n        - nic02\n"
	const alias = "    bootdisk:\n"
	if strings.Count(s, bond) != 2 || strings.Count(s, alias) != 1 {
		return nil, fmt.Errorf("the sitegen design changed: cannot give bond0 NICs of its own (see separateNICs)")
	}
	s = strings.ReplaceAll(s, bond, "      device_link: gp\n      slaves:\n        - nic02\n        - nic03\n")
	s = strings.Replace(s, alias, "    nic03:\n      address: '0000:18:00.2'\n      dev_type: 'Ethernet Controller X710 for 10GbE SFP+'\n      bus_type: 'pci'\n"+alias, 1)
	return []byte(s), nil
}

// report prints the tables.
func report(runs []*run, es emuSpec, poll time.Duration) {
	var ok []*run
	for _, r := range runs {
		if r.err == nil {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return
	}
	fmt.Println("## Wall time, requests per node, memory")
	fmt.Println()
	fmt.Printf("Floor of one node: prepare_nodes = commissioning + testing = %s, deploy_nodes = deploying = %s (plus up to one poll interval, %s, each).\n",
		es.Commissioning+es.Testing, es.Deploying, poll)
	fmt.Println("Requests per node: HTTP requests the emulator served during the task ÷ nodes (GET / writes = POST, PUT, DELETE); prepare_site's are apart.")
	fmt.Println("Peak RSS and CPU: Drydock = the child holding store, orchestrator and MAAS driver; emulator = the child holding the emulator and the simulated machines.")
	fmt.Println()
	fmt.Println("| nodes | store | prepare_site | prepare_nodes | deploy_nodes | both | requests / node: prepare_nodes | deploy_nodes | both (GET + writes) | peak RSS Drydock | peak RSS emulator | CPU Drydock | CPU emulator | load 1m before → after |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range ok {
		p := r.dry.Phases
		fn := float64(r.nodes)
		pr, dr := sum(p[1].Requests), sum(p[2].Requests)
		get := p[1].Requests["GET"] + p[2].Requests["GET"]
		fmt.Printf("| %d | %s | %.2f s | %.2f s | %.2f s | %.2f s | %.1f | %.1f | **%.1f** (%.1f + %.1f) | %d MB | %d MB | %.1f s | %.1f s | %s → %s |\n",
			r.nodes, r.backend, p[0].WallS, p[1].WallS, p[2].WallS, p[1].WallS+p[2].WallS, float64(pr)/fn, float64(dr)/fn,
			float64(pr+dr)/fn, float64(get)/fn, float64(pr+dr-get)/fn, r.dryRSS/1024, r.emuRSS/1024,
			r.dryCPU.Seconds(), r.emuCPU.Seconds(), r.loadBefore, r.loadAfter)
	}
	fmt.Println()
	for _, r := range ok {
		all := 0
		for _, p := range r.dry.Phases {
			all += sum(p.Requests)
		}
		if all != r.emu.Counted || int64(all) != r.dry.Requests {
			fmt.Printf("Note (%d nodes, %s): the driver sent %d requests, the meter counted %d, the emulator served %d.\n",
				r.nodes, r.backend, r.dry.Requests, all, r.emu.Counted)
		}
		if bad := r.emu.Counted - r.emu.ByStatus[200] - r.emu.ByStatus[201] - r.emu.ByStatus[204]; bad > 0 {
			fmt.Printf("Note (%d nodes, %s): %d answers were not 2xx: %v (see the emulator's table).\n", r.nodes, r.backend, bad, r.emu.ByStatus)
		}
	}
	fmt.Println()

	fmt.Println("## Driver calls and requests, per node")
	fmt.Println()
	fmt.Println("Calls: driver method calls ÷ nodes; waits: the calls that answered InProgress (the orchestrator calls again after RetryAfter = the poll interval).")
	fmt.Println("Requests: HTTP requests made during those calls ÷ nodes (prepare_site: per run, not per node).")
	fmt.Println()
	for _, r := range ok {
		fmt.Printf("%d nodes, %s (%d boot action reports, at most %d goroutines in the Drydock child, %d GC cycles):\n\n",
			r.nodes, r.backend, r.dry.Reports, r.dry.MaxGoroutines, r.dry.GCCycles)
		fmt.Println("| task | driver method | calls | waits | requests | GET | POST | PUT | DELETE | mean call |")
		fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		fn := float64(r.nodes)
		for _, s := range r.dry.Steps {
			div := fn
			if s.Phase == task.ActionPrepareSite {
				div = 1
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f ms |\n", s.Phase, s.Method, num(float64(s.Calls)/div),
				num(float64(s.Waits)/div), num(float64(sum(s.Requests))/div), num(float64(s.Requests["GET"])/div),
				num(float64(s.Requests["POST"])/div), num(float64(s.Requests["PUT"])/div), num(float64(s.Requests["DELETE"])/div),
				1000*s.CallS/float64(max(s.Calls, 1)))
		}
		fmt.Println()
		fmt.Println("| task | requests | of them outside driver calls | round trip mean | p50 | p99 | max |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
		for _, p := range r.dry.Phases {
			fmt.Printf("| %s | %d | %d | %.1f ms | %.1f ms | %.1f ms | %.0f ms |\n", p.Action, sum(p.Requests), p.Unlabelled,
				p.MeanMS, p.P50, p.P99, p.Max)
		}
		fmt.Println()
	}

	fmt.Println("## What the emulator served")
	fmt.Println()
	fmt.Println("Per node over the three tasks; handling time is wall time in the emulator's handler (waits for its one lock and its BMC calls included).")
	fmt.Println()
	for _, r := range ok {
		var bytes int64
		for _, e := range r.emu.Endpoints {
			bytes += e.Bytes
		}
		fmt.Printf("%d nodes, %s: %d requests (%.1f per node), %s of responses (%s per node), emulator set-up %.1f s (design, %d machines; rack interfaces: %s), handler time %.1f s in all:\n\n",
			r.nodes, r.backend, r.emu.Counted, float64(r.emu.Counted)/float64(r.nodes), size(bytes), size(bytes/int64(r.nodes)),
			r.ready.SetupS, r.ready.Machines, r.ready.Racks, r.emu.HandlerS)
		fmt.Println("| method | endpoint | op | per node | mean | max | response size (mean) | not 2xx (all) |")
		fmt.Println("|---|---|---|---:|---:|---:|---:|---:|")
		eps := append([]endpointStat(nil), r.emu.Endpoints...)
		sort.SliceStable(eps, func(i, j int) bool { return eps[i].Count > eps[j].Count })
		for _, e := range eps {
			errs := "–"
			if e.Errors > 0 {
				errs = strconv.Itoa(e.Errors)
			}
			fmt.Printf("| %s | %s | %s | %s | %.1f ms | %.0f ms | %s | %s |\n", e.Method, e.Path, e.Op, num(float64(e.Count)/float64(r.nodes)),
				1000*e.TotalS/float64(e.Count), 1000*e.MaxS, size(e.Bytes/int64(e.Count)), errs)
		}
		fmt.Println()
	}
}

func size(b int64) string {
	switch {
	case b < 10000:
		return fmt.Sprintf("%d B", b)
	case b < 10000000:
		return fmt.Sprintf("%.0f KB", float64(b)/1e3)
	default:
		return fmt.Sprintf("%.0f MB", float64(b)/1e6)
	}
}

func sum(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

// num prints a per-node figure: 0 as "–", small ones with more digits.
func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v < 0.1:
		return fmt.Sprintf("%.3f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "maasbench:", err)
		os.Exit(1)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "maasbench: "+format+"\n", args...)
	os.Exit(1)
}
