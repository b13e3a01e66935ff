// Command oobbench measures the real OOB drivers at scale: it puts N simulated machines' BMCs
// on loopback over IPMI (one go-ipmi BMC server per machine, each on its own UDP port) and over
// Redfish (one simulator serving N systems), then runs verify_nodes and prepare_nodes on a
// synthetic site of N nodes through the orchestrator with the real IPMI or Redfish driver and
// the simulated provisioner: every node is interrogated, set to PXE-boot once and powered on
// through its BMC (the machines start off, so the cycle is a verified power-on), then found,
// enlisted and commissioned by the provisioner.
//
// For each protocol it reports the wall time of each task, the most BMC operations in flight
// at once (the driver's pool bounds it: oob.max_concurrent, default 64), and the peak resident
// set size of the process (each protocol runs in its own child process, so the figure is its
// own: BMC servers, simulator, store and orchestrator together, as in drydock demo --bmc).
//
//	go run ./bench/oobbench                    # 1,000 nodes, IPMI and Redfish
//	go run ./bench/oobbench -nodes 200 -protocols redfish -concurrency 128
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	"github.com/drydock-go/drydock/internal/app"
	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/design/sitegen"
	"github.com/drydock-go/drydock/internal/driver/oob"
	"github.com/drydock-go/drydock/internal/driver/sim/simbmc"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/task"
)

// result is one protocol's figures, passed from the child as JSON.
type result struct {
	Protocol    string        `json:"protocol"`
	Nodes       int           `json:"nodes"`
	Setup       time.Duration `json:"setup"`
	Verify      time.Duration `json:"verify"`
	Prepare     time.Duration `json:"prepare"`
	PeakOps     int           `json:"peak_ops"`
	PeakRSSMiB  float64       `json:"peak_rss_mib"`
	CPUSeconds  float64       `json:"cpu_seconds"`
	Concurrency int           `json:"concurrency"`
	Error       string        `json:"error,omitempty"`
}

func main() {
	nodes := flag.Int("nodes", 1000, "simulated machines")
	protocols := flag.String("protocols", "ipmi,redfish", "BMC protocols to measure")
	conc := flag.Int("concurrency", 0, "oob.max_concurrent (0: the default, 64)")
	child := flag.String("child", "", "internal: run one protocol and print its result as JSON")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of each run to this file (the protocol is appended)")
	flag.Parse()
	if *child != "" {
		stopProfile := func() {}
		if *cpuprofile != "" {
			if stop, err := benchrun.StartCPUProfile(*cpuprofile + "." + *child); err == nil {
				stopProfile = stop
			}
		}
		r := run(*child, *nodes, *conc)
		_ = json.NewEncoder(os.Stdout).Encode(r)
		stopProfile()
		if r.Error != "" {
			os.Exit(1)
		}
		return
	}
	fmt.Printf("oobbench: %d nodes, %d CPUs, %s, %s\n\n", *nodes, runtime.NumCPU(), runtime.Version(), time.Now().Format("2006-01-02"))
	fmt.Println("| protocol | nodes | BMC set-up | verify_nodes | prepare_nodes | peak BMC operations in flight | peak RSS | CPU |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	failed := false
	for _, p := range strings.Split(*protocols, ",") {
		cmd := exec.Command(os.Args[0], "-child", p, "-nodes", fmt.Sprint(*nodes), "-concurrency", fmt.Sprint(*conc), "-cpuprofile", *cpuprofile)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		var r result
		if jerr := json.Unmarshal(out, &r); jerr != nil {
			fmt.Fprintf(os.Stderr, "%s: %v %v\n", p, err, jerr)
			failed = true
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(os.Stderr, "%s: %s\n", p, r.Error)
			failed = true
			continue
		}
		fmt.Printf("| %s | %d | %s | %s | %s | %d (pool %d) | %.0f MiB | %.1f s |\n", r.Protocol, r.Nodes, r.Setup.Round(time.Millisecond),
			r.Verify.Round(time.Millisecond), r.Prepare.Round(time.Millisecond), r.PeakOps, r.Concurrency, r.PeakRSSMiB, r.CPUSeconds)
	}
	if failed {
		os.Exit(1)
	}
}

func run(protocol string, n, conc int) (r result) {
	r = result{Protocol: protocol, Nodes: n}
	fail := func(err error) result { r.Error = err.Error(); return r }
	dir, err := os.MkdirTemp("", "oobbench-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Drivers.OOB = "real"
	cfg.OOB = config.OOB{PollInterval: config.Duration(100 * time.Millisecond), MaxConcurrent: conc,
		RequestTimeout: config.Duration(10 * time.Second), Backoff: config.Duration(100 * time.Millisecond)}
	cfg.Sim.Latency = map[string]config.Duration{"enlist": config.Duration(time.Second), "commission": config.Duration(time.Second),
		"identify": config.Duration(10 * time.Millisecond)}
	a, err := app.Open(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler),
		Orchestrator: orchestrator.Config{PollInterval: 100 * time.Millisecond, RetryBackoff: 200 * time.Millisecond}})
	if err != nil {
		return fail(err)
	}
	defer a.Close()
	t0 := time.Now()
	files, e, err := simbmc.ServeDesign(ctx, a.Sim, []simbmc.File{{Name: "site.yaml", Data: sitegen.Bytes(sitegen.Options{Nodes: n})}},
		protocol, "admin", "bench-password-1")
	if err != nil {
		return fail(err)
	}
	defer e.Close()
	site := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(site, files[0].Data, 0o600); err != nil {
		return fail(err)
	}
	r.Setup = time.Since(t0)
	stopOrch := benchrun.Background(ctx, a.Orch.Run)
	defer stopOrch()
	for _, action := range []string{task.ActionVerifyNodes, task.ActionPrepareNodes} {
		start := time.Now()
		tk, err := a.Orch.Submit(ctx, action, site, nil, "oobbench")
		if err != nil {
			return fail(err)
		}
		if tk, err = a.Orch.WaitTask(ctx, tk.ID, 100*time.Millisecond); err != nil {
			return fail(err)
		}
		if tk.Result.Status != task.ResultSuccess || len(tk.Result.Successes) != n {
			msg := tk.Result.Message
			for _, m := range tk.Result.Messages {
				if m.Error {
					msg += "; " + m.Message
					break
				}
			}
			return fail(fmt.Errorf("%s: %s: %s", action, tk.Result.Status, msg))
		}
		if action == task.ActionVerifyNodes {
			r.Verify = time.Since(start)
		} else {
			r.Prepare = time.Since(start)
		}
	}
	d, ok := a.Drivers.OOB[protocol].(*oob.Driver)
	if !ok {
		return fail(fmt.Errorf("no real %s driver", protocol))
	}
	r.PeakOps = d.PeakConcurrency()
	r.Concurrency = conc
	if r.Concurrency == 0 {
		r.Concurrency = 64
	}
	u := benchrun.SelfUsage()
	r.PeakRSSMiB = float64(u.MaxRSSKB) / 1024
	r.CPUSeconds = u.CPU.Seconds()
	return r
}
