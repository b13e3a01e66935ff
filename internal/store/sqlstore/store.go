package sqlstore

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/store"
)

// Store is store.Store on database/sql.
type Store struct {
	w, r  *sql.DB // write and read pools; the same pool on PostgreSQL
	d     Dialect
	batch *batcher // group commit of the per-node step writes
	// instance identifies this Store among the processes sharing the database (in change
	// notices, so that a Store ignores its own).
	instance    string
	bootActions broadcast // BootActionsChanged

	closeMu sync.Mutex
	closers []func() error // run first by Close (e.g. the PostgreSQL change listener)
}

var _ store.Store = (*Store)(nil)

// New returns a store on already migrated databases: writes go to w, reads to r (r may be nil
// or w itself when one pool serves both). The Store owns the pools: Close closes them.
func New(w, r *sql.DB, d Dialect) *Store {
	if r == nil {
		r = w
	}
	b := make([]byte, 8)
	_, _ = crand.Read(b)
	s := &Store{w: w, r: r, d: d, instance: hex.EncodeToString(b)}
	s.batch = newBatcher(s)
	return s
}

// Instance is this Store's random identity among the stores sharing the database.
func (s *Store) Instance() string { return s.instance }

// OnClose registers fn to be run by Close before it closes the pools (last registered, first
// run): for what an engine package starts alongside the Store, such as a change listener.
func (s *Store) OnClose(fn func() error) {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.closers = append(s.closers, fn)
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// DB returns the write pool (for migrations and diagnostics).
func (s *Store) DB() *sql.DB { return s.w }

// Ping checks both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s store: %w", s.d.name, err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s store (read pool): %w", s.d.name, err)
		}
	}
	return nil
}

// Close runs the functions registered with OnClose, then closes the pools.
func (s *Store) Close() error {
	s.closeMu.Lock()
	closers := s.closers
	s.closers = nil
	s.closeMu.Unlock()
	var err error
	for i := len(closers) - 1; i >= 0; i-- {
		err = errors.Join(err, closers[i]())
	}
	s.batch.close()
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const maxAttempts = 6

// write runs fn in a transaction on the write pool and commits it; a transient failure reruns
// the whole transaction (fn must only have effects through tx).
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryWrite(ctx, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		backoff := time.Duration(attempt*attempt)*2*time.Millisecond + rand.N(2*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}

func (s *Store) tryWrite(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in a read transaction on the read pool (one snapshot for all its queries).
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryRead(ctx, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Millisecond):
		}
	}
}

func (s *Store) tryRead(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.r.BeginTx(ctx, s.d.readTx)
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// exec runs a statement and returns the number of rows it changed.
func exec(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// params collects query arguments and hands out their placeholders.
type params struct{ v []any }

// add appends an argument and returns its placeholder.
func (p *params) add(v any) string {
	p.v = append(p.v, v)
	return "$" + strconv.Itoa(len(p.v))
}

// in appends the arguments of an IN list and returns "($i, $j, …)"; vs must not be empty.
func in[T any](p *params, vs []T) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.add(v))
	}
	b.WriteByte(')')
	return b.String()
}

// norm is a time as the store keeps it: UTC, truncated to the microsecond.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// normp is norm for optional times.
func normp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := norm(*t)
	return &n
}

// ts binds a time.
func (s *Store) ts(t time.Time) any { return s.d.bindTime(norm(t)) }

// tsp binds an optional time (nil is NULL).
func (s *Store) tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.ts(*t)
}

// nullTime scans a timestamp column of either engine: timestamptz (time.Time) or integer Unix
// nanoseconds.
type nullTime struct {
	t     time.Time
	valid bool
}

func (n *nullTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.t, n.valid = time.Time{}, false
	case int64:
		n.t, n.valid = time.Unix(0, x).UTC(), true
	case time.Time:
		n.t, n.valid = x.UTC(), true
	default:
		return fmt.Errorf("timestamp column holds %T", v)
	}
	return nil
}

func (n nullTime) ptr() *time.Time {
	if !n.valid {
		return nil
	}
	t := n.t
	return &t
}
