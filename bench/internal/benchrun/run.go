package benchrun

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ParseCounts parses a comma-separated list of positive counts (the node counts of a flag);
// what names one in the error ("bad what "x"").
func ParseCounts(list, what string) ([]int, error) {
	var ns []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad %s %q", what, s)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// WorkDir is the directory for a program's files: dir, created if needed, or else a new
// temporary directory named after pattern (os.MkdirTemp). remove deletes a temporary directory
// unless keep is set; it does nothing for dir.
func WorkDir(dir, pattern string, keep bool) (path string, remove func(), err error) {
	if dir != "" {
		return dir, func() {}, os.MkdirAll(dir, 0o755)
	}
	d, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, err
	}
	if keep {
		return d, func() {}, nil
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// StartCPUProfile starts a CPU profile written to path; stop stops it and closes the file (once:
// it may be called again, deferred after an early stop).
func StartCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// PeakGoroutines samples runtime.NumGoroutine every 100 ms from now until stop is called; stop
// returns the most it saw (again, when called again).
func PeakGoroutines() (stop func() int) {
	peak := 0
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, runtime.NumGoroutine())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() int {
		once.Do(func() {
			close(done)
			<-finished
		})
		return peak
	}
}

// Background runs run (an orchestrator's Run) in a goroutine until stop is called: stop
// cancels its context and waits for it to return.
func Background(ctx context.Context, run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
