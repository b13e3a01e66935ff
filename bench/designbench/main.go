// Command designbench measures the design engine on synthetic sites: for each size it reports
// the time to parse (YAML, schemas, typed documents), compile (inheritance, applied model) and
// validate (every rule), and the peak memory of the process doing it.
//
// Each size runs in a child process pinned to one core (GOMAXPROCS=1) so that the peak resident
// set size (getrusage ru_maxrss) belongs to that size alone. The design is written to a
// temporary file first, so the child reads it like drydock validate would.
//
//	go run ./bench/designbench                 # 100, 1000, 10000 and 50000 nodes
//	go run ./bench/designbench -sizes 10000 -runs 5
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/sitegen"
	"github.com/drydock-go/drydock/internal/design/validate"
)

type result struct {
	Nodes    int     `json:"nodes"`
	Bytes    int     `json:"bytes"`
	Parse    float64 `json:"parse_ms"`
	Compile  float64 `json:"compile_ms"`
	Validate float64 `json:"validate_ms"`
	Errors   int     `json:"errors"`
}

func main() {
	sizes := flag.String("sizes", "100,1000,10000,50000", "comma-separated node counts")
	defaultGC := flag.Bool("default-gc", false, "measure with Go's default GC setting instead of the one drydock validate uses")
	runs := flag.Int("runs", 3, "runs per size; the median is reported")
	child := flag.String("child", "", "internal: measure this design file")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile (child mode only)")
	flag.Parse()
	if *child != "" {
		if !*defaultGC {
			defer design.TuneGCForBatch()()
		}
		measure(*child, *cpuprofile)
		return
	}
	dir, err := os.MkdirTemp("", "designbench")
	check(err)
	defer os.RemoveAll(dir)
	gc := fmt.Sprintf("GOGC=%d as drydock validate uses", design.BatchGCPercent)
	if *defaultGC {
		gc = "Go's default GOGC"
	}
	fmt.Printf("Go %s, %s/%s, %d CPUs available, child processes run with GOMAXPROCS=1 and %s; median of %d runs\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), gc, *runs)
	fmt.Println("| nodes | design size | parse | compile | validate | total | per node | peak RSS |")
	fmt.Println("|------:|------------:|------:|--------:|---------:|------:|---------:|---------:|")
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		file := filepath.Join(dir, fmt.Sprintf("site-%d.yaml", n))
		check(os.WriteFile(file, sitegen.Bytes(sitegen.Options{Nodes: n}), 0o644))
		var rs []result
		var rss []int64
		for i := 0; i < *runs; i++ {
			r, maxrss := runChild(file, *defaultGC)
			if r.Errors != 0 {
				fmt.Fprintf(os.Stderr, "designbench: the synthetic site of %d nodes has %d validation errors\n", n, r.Errors)
				os.Exit(1)
			}
			rs = append(rs, r)
			rss = append(rss, maxrss)
		}
		sort.Slice(rs, func(i, j int) bool { return total(rs[i]) < total(rs[j]) })
		sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
		r := rs[len(rs)/2]
		t := total(r)
		fmt.Printf("| %d | %.1f MB | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.1f µs | %.0f MB |\n",
			n, float64(r.Bytes)/1e6, r.Parse, r.Compile, r.Validate, t, t*1000/float64(n), float64(rss[len(rss)/2])/1024)
	}
}

func total(r result) float64 { return r.Parse + r.Compile + r.Validate }

func runChild(file string, defaultGC bool) (result, int64) {
	cmd := exec.Command(os.Args[0], "-child", file, fmt.Sprintf("-default-gc=%v", defaultGC))
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	var r result
	check(json.Unmarshal(out, &r))
	return r, benchrun.ChildUsage(cmd.ProcessState).MaxRSSKB
}

func measure(file, cpuprofile string) {
	data, err := os.ReadFile(file)
	check(err)
	if cpuprofile != "" {
		stop, err := benchrun.StartCPUProfile(cpuprofile)
		check(err)
		defer stop()
	}
	t0 := time.Now()
	in := design.Parse(design.Source{Name: file, Data: data})
	t1 := time.Now()
	if !in.OK() {
		fmt.Fprintln(os.Stderr, in.Messages[0].Message)
		os.Exit(1)
	}
	site := design.Compile(in.Design)
	t2 := time.Now()
	msgs := validate.Run(context.Background(), site, validate.Options{})
	t3 := time.Now()
	r := result{Nodes: len(site.Nodes), Bytes: len(data), Errors: design.ErrorCount(msgs),
		Parse: ms(t1.Sub(t0)), Compile: ms(t2.Sub(t1)), Validate: ms(t3.Sub(t2))}
	check(json.NewEncoder(os.Stdout).Encode(r))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "designbench:", err)
		os.Exit(1)
	}
}
