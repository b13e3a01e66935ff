package benchrun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://postgres:secret@127.0.0.1:5432/test?sslmode=disable": "postgres://postgres:***@127.0.0.1:5432/test?sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/test":                        "postgres://postgres@127.0.0.1:5432/test",
		"postgres://127.0.0.1/test":                                      "postgres://127.0.0.1/test",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestPoolSize(t *testing.T) {
	for in, want := range map[string]int{
		"postgres://h/db?pool_max_conns=7": 7,
		"postgres://h/db":                  20,
		"postgres://h/db?pool_max_conns=0": 20,
		"postgres://h/db?pool_max_conns=x": 20,
	} {
		if got := PoolSize(in); got != want {
			t.Errorf("PoolSize(%s) = %d, want %d", in, got, want)
		}
	}
}

func TestParseCounts(t *testing.T) {
	ns, err := ParseCounts("100, 1000,10000", "size")
	if err != nil || len(ns) != 3 || ns[0] != 100 || ns[1] != 1000 || ns[2] != 10000 {
		t.Fatalf("ParseCounts: %v, %v", ns, err)
	}
	for _, bad := range []string{"", "0", "10,-1", "ten"} {
		if _, err := ParseCounts(bad, "node count"); err == nil || !strings.HasPrefix(err.Error(), "bad node count ") {
			t.Errorf("ParseCounts(%q): %v", bad, err)
		}
	}
}

func TestLoad(t *testing.T) {
	if f := strings.Fields(LoadAvg()); len(f) != 3 && LoadAvg() != "?" {
		t.Errorf("LoadAvg() = %q", LoadAvg())
	}
	if l := Load1(); l == "" || strings.Contains(l, " ") {
		t.Errorf("Load1() = %q", l)
	}
}

func TestWorkDir(t *testing.T) {
	d, remove, err := WorkDir("", "benchrun", false)
	if err != nil {
		t.Fatal(err)
	}
	remove()
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s left behind: %v", d, err)
	}
	given := filepath.Join(t.TempDir(), "a", "b")
	d, remove, err = WorkDir(given, "benchrun", false)
	if err != nil || d != given {
		t.Fatalf("WorkDir(%s) = %s, %v", given, d, err)
	}
	remove()
	if _, err := os.Stat(given); err != nil {
		t.Errorf("the given directory: %v", err)
	}
}

func TestPeakGoroutinesAndBackground(t *testing.T) {
	stopPeak := PeakGoroutines()
	ran := make(chan struct{})
	stop := Background(context.Background(), func(ctx context.Context) error {
		close(ran)
		<-ctx.Done()
		return ctx.Err()
	})
	<-ran
	time.Sleep(150 * time.Millisecond)
	stop() // returns once the function has
	peak := stopPeak()
	if peak < 3 { // the test, the sampler and the background function
		t.Errorf("peak goroutines %d, want at least 3", peak)
	}
	if again := stopPeak(); again != peak {
		t.Errorf("stop again: %d, want %d", again, peak)
	}
}
