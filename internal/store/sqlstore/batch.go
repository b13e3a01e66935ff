package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// Group commit.
//
// The writes an orchestrator makes for every node and step (StartStep, FinishStep,
// SaveStepDetail, PutNodeState) are small and many: thousands of nodes make thousands of them
// at once. Each in its own transaction, they queue for SQLite's single writer, or for a
// PostgreSQL WAL flush each, and the store becomes the bottleneck (26 transactions per node
// through prepare+deploy). So they go through one writer goroutine that takes whatever is
// waiting — up to maxBatch operations — and runs them in ONE transaction: one BEGIN, one
// COMMIT (one fsync or WAL flush), and one lease check per task instead of one per write.
//
// Every operation still keeps its own outcome: each is "check, then one conditional write", so
// an operation refused for a business reason (lease lost, conflict, not found) has written
// nothing and the others commit. Any other error (a failed statement aborts a PostgreSQL
// transaction) rolls the batch back, and every operation of it is then run on its own, with the
// usual retries. A caller waits until its operation is committed (or refused): durability is
// unchanged.

// maxBatch bounds the operations committed together.
const maxBatch = 512

// batchOp is one queued write.
type batchOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx, bc *batchCtx) error
	done chan error
}

// batchCtx is what the operations of one transaction share: lease checks already made, and
// statements already prepared (SQLite compiles a statement's text every time it is run
// otherwise, which costs more than running it).
type batchCtx struct {
	tx     *sql.Tx
	guards map[task.Lease]error
	stmts  map[string]*sql.Stmt
}

func newBatchCtx(tx *sql.Tx) *batchCtx {
	return &batchCtx{tx: tx, guards: map[task.Lease]error{}, stmts: map[string]*sql.Stmt{}}
}

func (bc *batchCtx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := bc.stmts[query]; st != nil {
		return st, nil
	}
	st, err := bc.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	bc.stmts[query] = st
	return st, nil
}

// exec runs a statement (prepared once per transaction) and returns the rows it changed.
func (bc *batchCtx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	st, err := bc.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// queryRow runs a one-row query (prepared once per transaction).
func (bc *batchCtx) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := bc.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// guard is Store.guard, made once per lease and transaction.
func (bc *batchCtx) guard(ctx context.Context, s *Store, tx *sql.Tx, l task.Lease) error {
	if err, ok := bc.guards[l]; ok {
		return err
	}
	err := s.guard(ctx, tx, l, false)
	if err == nil || errors.Is(err, store.ErrLeaseLost) {
		bc.guards[l] = err
	}
	return err
}

// batcher runs queued operations in shared transactions.
type batcher struct {
	s       *Store
	writers int // goroutines committing batches in parallel
	ops     chan *batchOp
	stop    chan struct{}
	wg      sync.WaitGroup
	start   sync.Once
}

// newBatcher: SQLite has one writer, so one goroutine; PostgreSQL commits several batches in
// parallel on different connections (each statement is a network round trip there).
func newBatcher(s *Store) *batcher {
	writers := 1
	if s.d.name == Postgres.name {
		writers = 4
	}
	return &batcher{s: s, writers: writers, ops: make(chan *batchOp, maxBatch), stop: make(chan struct{})}
}

// do queues fn and waits for its outcome.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, bc *batchCtx) error) error {
	b.start.Do(func() {
		for range b.writers {
			b.wg.Add(1)
			go b.loop()
		}
	})
	op := &batchOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case b.ops <- op:
	case <-b.stop:
		return errors.New("store closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the operation is answered promptly (it is skipped if ctx ends first), so
	// wait for the answer: it says whether it was committed.
	return <-op.done
}

func (b *batcher) close() {
	select {
	case <-b.stop:
		return
	default:
	}
	close(b.stop)
	b.wg.Wait()
	// Answer whatever is still queued.
	for {
		select {
		case op := <-b.ops:
			op.done <- errors.New("store closed")
		default:
			return
		}
	}
}

func (b *batcher) loop() {
	defer b.wg.Done()
	ops := make([]*batchOp, 0, maxBatch)
	for {
		select {
		case <-b.stop:
			return
		case op := <-b.ops:
			ops = append(ops[:0], op)
		}
	drain:
		for len(ops) < maxBatch {
			select {
			case op := <-b.ops:
				ops = append(ops, op)
			default:
				break drain
			}
		}
		b.run(ops)
	}
}

// business reports errors that leave nothing written and the transaction usable.
func business(err error) bool {
	return errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}

// run commits ops together, or, when that fails, one by one.
func (b *batcher) run(ops []*batchOp) {
	results := make([]error, len(ops))
	answered := make([]bool, len(ops))
	// The transaction outlives any single caller's context: a caller that gave up before its
	// turn is skipped, one whose turn came is committed.
	ctx := context.Background()
	err := func() (err error) {
		tx, err := b.s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		defer func() {
			if err != nil {
				_ = tx.Rollback()
			}
		}()
		bc := newBatchCtx(tx)
		for i, op := range ops {
			if op.ctx.Err() != nil {
				results[i], answered[i] = op.ctx.Err(), true
				continue
			}
			if err := op.fn(ctx, tx, bc); err != nil {
				if !business(err) {
					return err
				}
				results[i] = err
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	if err != nil {
		// Run each on its own, with the usual retries.
		for i, op := range ops {
			if answered[i] {
				continue
			}
			results[i] = b.s.write(op.ctx, func(tx *sql.Tx) error {
				return op.fn(op.ctx, tx, newBatchCtx(tx))
			})
		}
	}
	for i, op := range ops {
		op.done <- results[i]
	}
}
