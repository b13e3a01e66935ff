// Package sqlite is Drydock's embedded state store: one SQLite file, no server, no set-up. It
// is the default backend. The store itself is sqlstore's (shared with PostgreSQL); this package
// opens the file the way SQLite needs (modernc.org/sqlite, pure Go, no cgo).
//
// How it is opened:
//   - WAL journal: readers never block the writer, and the writer never blocks readers.
//   - synchronous=NORMAL: a committed transaction survives the process being killed (kill -9,
//     a panic, an OOM kill), because it is in the WAL file. An operating-system crash or power
//     loss may lose the last transactions committed before it (never corrupting the file);
//     that is the price of not syncing on every commit.
//   - busy_timeout (10 s) and foreign_keys on, on every connection.
//   - Two pools: a write pool of exactly one connection whose transactions start with BEGIN
//     IMMEDIATE, so writers queue in Go (database/sql) instead of failing with SQLITE_BUSY,
//     however many goroutines write at once; and a read pool of several query_only
//     connections reading WAL snapshots concurrently.
//   - The schema is migrated at open.
//
// Limits, stated rather than hidden:
//   - One writer at a time: write throughput is that of one connection (thousands of small
//     transactions per second on a local disk, see BenchmarkFinishStep), whatever the number of
//     orchestrator goroutines.
//   - Several processes may open the same file (they then take turns for the write lock, waiting
//     up to busy_timeout), which the tests use to check claims; but that is not a deployment for
//     several orchestrator instances: use PostgreSQL for that. Only on a local file system: WAL
//     needs shared memory, so never put the file on NFS or similar.
//   - Timestamps are integer nanoseconds, kept to the microsecond (like PostgreSQL); a text
//     column has SQLite's 1 GB default limit, far beyond any Drydock value.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/drydock-go/drydock/internal/store/sqlstore"
)

// Memory is the path of a private in-memory database (one connection, gone at Close; for
// tests that need no file).
const Memory = ":memory:"

const (
	writePragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	readPragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
)

// Open opens (creating the file and its directory when missing) and migrates the database at
// path, and returns the store on it.
//
// Processes opening a new file at the same time may race to create the schema; the loser's
// migration fails and is run again, and then finds the schema in place.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	w, err := OpenDB(ctx, path)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err = sqlstore.Migrate(ctx, w, sqlstore.SQLite)
		if err == nil {
			break
		}
		if attempt == 3 || pause(ctx, attempt) != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
	}
	if path == Memory {
		return sqlstore.New(w, w, sqlstore.SQLite), nil
	}
	r, err := sql.Open("sqlite", path+"?"+readPragmas)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return sqlstore.New(w, r, sqlstore.SQLite), nil
}

// OpenDB opens the write pool of the database at path (one connection), creating the file and
// its directory when missing, without migrating it: for `drydock migrate` and for reporting the
// schema version (sqlstore.Migrate, sqlstore.Version with sqlstore.SQLite).
func OpenDB(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("open sqlite database: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open sqlite database %q: the path may not contain '?'", path)
	}
	if path != Memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
		}
	}
	w, err := sql.Open("sqlite", path+"?"+writePragmas)
	if err != nil {
		return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The first connection switches a new file to WAL, which needs the file to itself: another
	// process doing the same makes it fail at once with SQLITE_BUSY rather than wait.
	for attempt := 1; ; attempt++ {
		err = w.PingContext(ctx)
		if err == nil {
			return w, nil
		}
		if !busy(err) || attempt == 10 || pause(ctx, attempt) != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
		}
	}
}

// busy reports SQLITE_BUSY and SQLITE_LOCKED.
func busy(err error) bool {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		c := e.Code() & 0xff
		return c == 5 || c == 6
	}
	return false
}

// pause waits a little longer at each attempt.
func pause(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		return nil
	}
}
