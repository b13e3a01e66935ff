package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/store/sqlstore"
	"github.com/drydock-go/drydock/internal/store/storetest"
	"github.com/drydock-go/drydock/internal/task"
)

// opener opens stores on temporary files: a new file for each test, the same file when a test
// opens a second store.
func opener() storetest.Open {
	return storetest.PerTest(
		func(t *testing.T) string { return filepath.Join(t.TempDir(), "state", "drydock.db") },
		func(ctx context.Context, path string) (store.Store, error) { return sqlite.Open(ctx, path) })
}

func TestContract(t *testing.T) {
	storetest.Run(t, opener())
}

func TestMemory(t *testing.T) {
	s, err := sqlite.Open(t.Context(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNodeStates(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCreatesAndMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "drydock.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	cur, latest, err := sqlstore.Version(t.Context(), s.DB(), s.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	if cur != latest || cur < 1 {
		t.Fatalf("schema version %d, latest %d", cur, latest)
	}
	var mode string
	if err := s.DB().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q (%v), want wal", mode, err)
	}
	var fk int
	if err := s.DB().QueryRowContext(t.Context(), `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign keys %d (%v), want 1", fk, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again migrates nothing and keeps the data.
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := sqlstore.Migrate(t.Context(), s.DB(), s.Dialect()); err != nil {
		t.Fatal(err)
	}

	if _, err := sqlite.Open(t.Context(), ""); err == nil {
		t.Fatal("empty path accepted")
	}
	if _, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x?y")); err == nil {
		t.Fatal("path with '?' accepted")
	}
}

// TestKill9 runs a child process (this test binary) that commits tasks one after the other and
// kills it with SIGKILL while it writes: every task whose commit it reported must be there.
func TestKill9(t *testing.T) {
	if path := os.Getenv("DRYDOCK_SQLITE_KILL_CHILD"); path != "" {
		writeUntilKilled(path)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	path := filepath.Join(t.TempDir(), "drydock.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), "DRYDOCK_SQLITE_KILL_CHILD="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var committed []uuid.UUID
	sc := bufio.NewScanner(out)
	for len(committed) < 300 && sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			committed = append(committed, uuid.MustParse(id))
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to close anything
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(committed) < 300 {
		t.Fatalf("child reported %d commits before it stopped", len(committed))
	}
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range committed {
		if _, err := s.GetTask(t.Context(), id); err != nil {
			t.Fatalf("task %s reported committed before the kill: %v", id, err)
		}
	}
}

func writeUntilKilled(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for {
		tk := task.New(task.ActionNoop, "ref", nil, "child", time.Now())
		if err := s.CreateTask(ctx, tk); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("committed %s\n", tk.ID)
	}
}

func BenchmarkFinishStep(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkFinishStep(b, s)
}

// TestOpenTogether opens one new file from several stores at once (as processes starting
// together would): all of them must end up on the migrated schema.
func TestOpenTogether(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drydock.db")
	var wg sync.WaitGroup
	stores := make([]*sqlstore.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	for _, s := range stores {
		if err := s.PutNodeState(t.Context(), "n1", []byte("x"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}
