package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	"github.com/drydock-go/drydock/internal/driver/sim"
)

func header(lat, poll, lease time.Duration, driverCalls, maxTasks int, dir, pgURL string, pgPool int, lazy bool) {
	c := critical(simLatency(lat))
	fmt.Printf("orchbench: Go %s, %s/%s, %d CPUs (children use GOMAXPROCS=%d), load average at start %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), benchrun.LoadAvg())
	machines := "every machine created (Site.Ensure, one transaction) before the run"
	if lazy {
		machines = "each machine created at the first driver call for it (-lazy-machines)"
	}
	fmt.Printf("Simulator: every operation kind takes %s (sim.Config.Latency for all of sim.Kinds; no jitter, no faults), "+
		"state in a SQLite file (WAL), %s, in the same process as the orchestrator.\n\n", lat, machines)
	fmt.Printf("Critical path of one node (CP), from that configuration:\n\n")
	fmt.Printf("    prepare_nodes: %s = %s\n", c.formula(c.prepare), c.prepareD())
	fmt.Printf("    deploy_nodes:  %s = %s\n", c.formula(c.deploy), c.deployD())
	fmt.Printf("    both:          %s\n\n", c.total())
	fmt.Printf("(In the simulator an identify call waits its own latency before looking, so identify_node also covers the\n" +
		"enlistment that the power cycle started: the floor a node can reach is CP − enlist; \"wall / floor\" compares with that.)\n\n")
	dc := "2 × nodes (at least 256)"
	if driverCalls > 0 {
		dc = fmt.Sprint(driverCalls)
	}
	fmt.Printf("Orchestrator: one instance; DriverCalls %s, PollInterval %s (the simulator always says when to ask again, so polls\n"+
		"wait that, not PollInterval), LeaseFor %s (renewed every %s), MaxTasks %d; step timeouts, retries and RetryBackoff\n"+
		"at their defaults. prepare_nodes then deploy_nodes, each submitted when the previous one completed; the design is a\n"+
		"sitegen site file read through its path (design_ref), parsed and validated by each task.\n\n",
		dc, poll, lease, lease/3, maxTasks)
	fmt.Printf("Stores: SQLite = the embedded store (internal/store/sqlite: one write connection, WAL, synchronous=NORMAL) in %s", dir)
	if pgURL != "" {
		fmt.Printf("; PostgreSQL = %s, a fresh schema per run, pool of %d connections", benchrun.Redact(pgURL), pgPool)
	}
	fmt.Printf(".\n\n")
}

func totalWrites(r result) int64 {
	var n int64
	for _, m := range writeMethods {
		n += r.Writes[m].N
	}
	return n
}

func label(r *run) string {
	b := "SQLite"
	if r.spec.Backend == "postgres" {
		b = "PostgreSQL"
	}
	return fmt.Sprintf("%d %s", r.spec.Nodes, b)
}

func report(runs []*run, lat time.Duration, timeline bool) {
	c := critical(simLatency(lat))
	var ok []*run
	for _, r := range runs {
		if r.err == nil {
			ok = append(ok, r)
		}
	}
	fmt.Println("## Wall time against the critical path")
	fmt.Println()
	fmt.Println("Wall of a task: from Submit to the return of its FinishTask (seen by the store decorator); both = the sum.")
	fmt.Println()
	fmt.Println("| nodes | store | prepare_nodes | deploy_nodes | both | critical path | wall / CP | wall / floor | store writes / node | sim log entries / node | peak RSS | CPU (cores busy) | load 1m before → after |")
	fmt.Println("|------:|-------|--------------:|-------------:|-----:|--------------:|----------:|-------------:|--------------------:|-----------------------:|---------:|-----------------:|------------------------|")
	for _, r := range runs {
		if r.err != nil {
			fmt.Printf("| %d | %s | run failed verification: no figures | | | | | | | | | | |\n", r.spec.Nodes, r.spec.Backend)
			continue
		}
		n := float64(r.spec.Nodes)
		fmt.Printf("| %d | %s | %.2f s | %.2f s | %.2f s | %s | **%.3f** | %.3f | %.2f | %.2f | %d MB | %.1f s (%.2f) | %s → %s |\n",
			r.spec.Nodes, r.spec.Backend, r.res.PrepareWall, r.res.DeployWall, r.res.BothWall, c.total(),
			r.res.BothWall/c.total().Seconds(), r.res.BothWall/(c.total()-c.latency(sim.Enlist)).Seconds(), float64(totalWrites(r.res))/n, float64(r.res.SimOpsTotal)/n,
			r.maxRSSKB/1024, r.cpu.Seconds(), r.cpu.Seconds()/r.res.BothWall, r.loadBefore, r.loadAfter)
	}
	if len(ok) == 0 {
		return
	}

	fmt.Println()
	fmt.Println("## Each task: where its wall time goes")
	fmt.Println()
	fmt.Println("Times from the task's submission. First step: the first StartStep (before it: claim, design read + parse + validate,")
	fmt.Println("snapshot, reservations, step-run records). Node done: the commit of a node's last step. Last step → complete: the")
	fmt.Println("per-step subtask results and FinishTask.")
	fmt.Println()
	fmt.Println("| nodes | store | task | wall | CP | wall / CP | first step | node done: min / mean / p50 / p99 / max | last node → complete |")
	fmt.Println("|------:|-------|------|-----:|---:|----------:|-----------:|----------------------------------------|---------------------:|")
	for _, r := range ok {
		for i, p := range r.res.Phases {
			wall, cp := r.res.PrepareWall, c.prepareD()
			if i == 1 {
				wall, cp = r.res.DeployWall, c.deployD()
			}
			fmt.Printf("| %d | %s | %s | %.2f s | %s | %.3f | %.2f s | %.2f / %.2f / %.2f / %.2f / %.2f s | %.2f s |\n",
				r.spec.Nodes, r.spec.Backend, p.Action, wall, cp, wall/cp.Seconds(), p.FirstStart,
				p.NodeMin, p.NodeMean, p.NodeP50, p.NodeP99, p.NodeMax, p.Finished-p.NodeMax)
		}
	}

	fmt.Println()
	fmt.Println("Set-up before the first step, as consecutive intervals: claim (submission → ClaimTask returned); design fetch")
	fmt.Println("(→ SaveDesign returned: snapshot lookup, read of the design file); design check (→ ReserveNodes called: parse,")
	fmt.Println("compile, validate, node selection); reserve (ReserveNodes); records (→ last CreateStepRuns returned: subtasks and")
	fmt.Println("step runs); load (→ first StartStep: ListStepRuns, GetNodeStates, starting the node goroutines).")
	fmt.Println()
	fmt.Println("| nodes | store | task | claim | design fetch | design check | reserve | records | load | total |")
	fmt.Println("|------:|-------|------|------:|-------------:|-------------:|--------:|--------:|-----:|------:|")
	for _, r := range ok {
		for _, p := range r.res.Phases {
			fmt.Printf("| %d | %s | %s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s |\n", r.spec.Nodes, r.spec.Backend,
				p.Action, p.Claim, p.Fetch, p.Validate, p.Reserve, p.Records, p.Load, p.FirstStart)
		}
	}

	fmt.Println()
	fmt.Println("## Store writes per node, by method")
	fmt.Println()
	var cols []string
	for _, r := range ok {
		cols = append(cols, label(r))
	}
	fmt.Printf("| method | %s |\n", strings.Join(cols, " | "))
	fmt.Printf("|--------|%s\n", strings.Repeat("------:|", len(ok)))
	for _, m := range writeMethods {
		any := false
		for _, r := range ok {
			if r.res.Writes[m].N > 0 {
				any = true
			}
		}
		if !any {
			continue
		}
		fmt.Printf("| %s |", m)
		for _, r := range ok {
			w := r.res.Writes[m]
			fmt.Printf(" %s |", perNode(w.N, r.spec.Nodes))
		}
		fmt.Println()
	}
	fmt.Printf("| **all writes** |")
	for _, r := range ok {
		fmt.Printf(" **%.2f** (%d) |", float64(totalWrites(r.res))/float64(r.spec.Nodes), totalWrites(r.res))
	}
	fmt.Println()
	fmt.Printf("| reads (all) |")
	for _, r := range ok {
		var n int64
		for _, m := range readMethods {
			n += r.res.Reads[m].N
		}
		fmt.Printf(" %.2f (%d) |", float64(n)/float64(r.spec.Nodes), n)
	}
	fmt.Println()
	fmt.Printf("| writes/s over both tasks |")
	for _, r := range ok {
		fmt.Printf(" %.0f |", float64(totalWrites(r.res))/r.res.BothWall)
	}
	fmt.Println()

	fmt.Println()
	fmt.Println("## Per-task bookkeeping: total time of the calls made once or a few times per task (both tasks)")
	fmt.Println()
	book := []string{"ClaimTask", "SaveDesign", "ReserveNodes", "CreateStepRuns", "CreateTask", "SaveResult", "SetStatus", "FinishTask", "RenewLease",
		"LoadDesign", "GetNodeStates", "ListStepRuns", "GetTask"}
	fmt.Printf("| nodes | store | %s |\n", strings.Join(book, " | "))
	fmt.Printf("|------:|-------|%s\n", strings.Repeat("------:|", len(book)))
	for _, r := range ok {
		fmt.Printf("| %d | %s |", r.spec.Nodes, r.spec.Backend)
		for _, m := range book {
			w, isW := r.res.Writes[m]
			if !isW {
				w = r.res.Reads[m]
			}
			if w.N == 0 {
				fmt.Printf(" – |")
				continue
			}
			fmt.Printf(" %d × %s = %s |", w.N, ms(w.MeanMS), ms(w.TotalMS))
		}
		fmt.Println()
	}

	fmt.Println()
	fmt.Println("## Latency of the writes on a node's path (as the orchestrator sees it: queueing included)")
	fmt.Println()
	fmt.Println("Write pool: the store's database/sql pool that writes go through (SQLite: one connection; PostgreSQL: one pool for")
	fmt.Println("all), sampled every 5 ms: mean share of its connections in use, and how often and how long callers waited for one.")
	fmt.Println()
	fmt.Println("| nodes | store | StartStep mean / p99 / max | FinishStep mean / p99 / max | PutNodeState mean / p99 / max | store time on one node's path (mean) | write pool: size, busy, waits (total wait) |")
	fmt.Println("|------:|-------|---------------------------:|----------------------------:|------------------------------:|-------------------------------------:|-------------------------------------------:|")
	for _, r := range ok {
		var path float64
		cells := ""
		for _, m := range []string{"StartStep", "FinishStep", "PutNodeState"} {
			w := r.res.Writes[m]
			path += w.TotalMS
			cells += fmt.Sprintf(" %s / %s / %s |", ms(w.MeanMS), ms(w.P99MS), ms(w.MaxMS))
		}
		fmt.Printf("| %d | %s |%s %.2f s | %d, %.0f%%, %d (%.0f s) |\n", r.spec.Nodes, r.spec.Backend, cells,
			path/1000/float64(r.spec.Nodes), r.res.WritePool, 100*r.res.WriteBusy, r.res.PoolWaits, r.res.PoolWaitSecs)
	}

	fmt.Println()
	fmt.Println("## Driver calls (simulator): time per call against the nominal latency")
	fmt.Println()
	fmt.Println("Each cell: calls per node, then the time of one call, mean / p99 (nominal latency in the heading). The time")
	fmt.Println("includes the simulator's own commit (its SQLite log, group-committed by one writer goroutine).")
	fmt.Println()
	nominal := map[string]time.Duration{"node.IdentifyNode": c.latency("identify"), "oob.SetNextBoot": c.latency("set_boot"),
		"oob.Power": 2 * c.latency("power"), "node.ConfigureHardware": 0, "node.ApplyNetworking": c.latency("apply_networking"),
		"node.ApplyStorage": c.latency("apply_storage"), "node.ApplyPlatform": c.latency("apply_platform"), "node.Deploy": 0}
	fmt.Printf("| nodes | store |")
	var dm []string
	for _, m := range driverMethods {
		if _, ok := nominal[m]; ok {
			dm = append(dm, m)
			fmt.Printf(" %s (%s) |", m[strings.Index(m, ".")+1:], nominal[m])
		}
	}
	fmt.Printf(" driver time on one node's path (mean) |\n|------:|-------|%s------:|\n", strings.Repeat("------:|", len(dm)))
	for _, r := range ok {
		fmt.Printf("| %d | %s |", r.spec.Nodes, r.spec.Backend)
		var tot float64
		for _, m := range dm {
			d := r.res.Drivers[m]
			tot += d.TotalMS
			fmt.Printf(" %.2f, %s / %s |", float64(d.N)/float64(r.spec.Nodes), ms(d.MeanMS), ms(d.P99MS))
		}
		fmt.Printf(" %.2f s |\n", tot/1000/float64(r.spec.Nodes))
	}
	fmt.Println()
	fmt.Println("Nominal driver time on a node's path: identify ×2, set_boot, power ×2, three applies =",
		c.latency("identify")*2+c.latency("set_boot")+2*c.latency("power")+c.latency("apply_networking")+c.latency("apply_storage")+c.latency("apply_platform"),
		"(commission and deploy are asynchronous: the orchestrator waits their latency between two quick calls).")

	fmt.Println()
	fmt.Println("## Simulator writes: operation-log entries per node")
	fmt.Println()
	ops := map[string]bool{}
	for _, r := range ok {
		for op := range r.res.SimOps {
			ops[op] = true
		}
	}
	fmt.Printf("| operation | %s |\n", strings.Join(cols, " | "))
	fmt.Printf("|-----------|%s\n", strings.Repeat("------:|", len(ok)))
	for _, op := range []string{"create", "set_boot", "power_cycle", "enlisted", "commission", "commissioned",
		"apply_networking", "apply_storage", "apply_platform", "deploy", "deployed"} {
		if !ops[op] {
			continue
		}
		delete(ops, op)
		fmt.Printf("| %s |", op)
		for _, r := range ok {
			fmt.Printf(" %s |", perNode(int64(r.res.SimOps[op]), r.spec.Nodes))
		}
		fmt.Println()
	}
	for op := range ops {
		fmt.Printf("| %s |", op)
		for _, r := range ok {
			fmt.Printf(" %s |", perNode(int64(r.res.SimOps[op]), r.spec.Nodes))
		}
		fmt.Println()
	}
	fmt.Printf("| **all** |")
	for _, r := range ok {
		fmt.Printf(" **%.2f** |", float64(r.res.SimOpsTotal)/float64(r.spec.Nodes))
	}
	fmt.Println()

	fmt.Println()
	fmt.Println("Go runtime (runtime/metrics, whole child): scheduling latency = how long a runnable goroutine waited for a P.")
	fmt.Println()
	fmt.Println("| nodes | store | sched latency p50 / p99 / p99.9 | sync.Mutex + runtime lock wait (total) | GC cycles | goroutines at most |")
	fmt.Println("|------:|-------|--------------------------------:|---------------------------------------:|----------:|-------------------:|")
	for _, r := range ok {
		fmt.Printf("| %d | %s | %s / %s / %s | %.1f s | %d | %d |\n", r.spec.Nodes, r.spec.Backend, ms(r.res.SchedP50), ms(r.res.SchedP99),
			ms(r.res.SchedP999), r.res.MutexWaitS, r.res.GCCycles, r.res.MaxGoroutines)
	}
	fmt.Println()
	for _, r := range ok {
		if r.res.PGPool > 0 {
			fmt.Printf("PostgreSQL pool (%s): %d connections.\n", label(r), r.res.PGPool)
		}
	}
	if timeline {
		for _, r := range ok {
			fmt.Printf("\n## Timeline, %s nodes: per second from the first submission\n\n", label(r))
			fmt.Println("| second | store writes | write connections in use (mean) | nodes done (last step of a task) |")
			fmt.Println("|-------:|-------------:|--------------------------------:|---------------------------------:|")
			for i, t := range r.res.Timeline {
				fmt.Printf("| %d | %d | %.2f | %d |\n", i, t.Writes, t.InUse, t.NodesDone)
			}
		}
		fmt.Println()
	}
	fmt.Printf("Verified for every run shown: both tasks complete with result success for every node, and every simulated machine Deployed.\n")
}

func perNode(n int64, nodes int) string {
	if n == 0 {
		return "–"
	}
	if v := float64(n) / float64(nodes); v < 0.01 {
		return fmt.Sprintf("%.4f (%d)", v, n)
	}
	return fmt.Sprintf("%.2f", float64(n)/float64(nodes))
}

func ms(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 1:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}
