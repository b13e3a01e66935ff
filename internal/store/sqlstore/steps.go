package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

const stepCols = `task_id, step, node, ordinal, state, attempts, first_started, started, finished, message, detail, owner`

var stepStates = []task.StepState{task.StepPending, task.StepRunning, task.StepSucceeded, task.StepFailed,
	task.StepSkipped, task.StepCancelled}

func knownStep(st task.StepState) bool { return slices.Contains(stepStates, st) }

func scanStep(sc scanner) (task.StepRun, error) {
	var (
		r                        task.StepRun
		id, state                string
		first, started, finished nullTime
	)
	if err := sc.Scan(&id, &r.Step, &r.Node, &r.Ordinal, &state, &r.Attempts, &first, &started, &finished,
		&r.Message, &r.Detail, &r.Owner); err != nil {
		return r, err
	}
	var err error
	if r.TaskID, err = uuid.Parse(id); err != nil {
		return r, fmt.Errorf("step run task id %q: %w", id, err)
	}
	r.State = task.StepState(state)
	r.FirstStarted, r.Started, r.Finished = first.ptr(), started.ptr(), finished.ptr()
	if len(r.Detail) == 0 {
		r.Detail = nil
	}
	return r, nil
}

// CreateStepRuns inserts runs (state pending when not set); existing runs are left as they are.
// Every run's task must be the lease's task or one of its subtasks.
func (s *Store) CreateStepRuns(ctx context.Context, l task.Lease, runs []task.StepRun) error {
	for _, r := range runs {
		if r.State != "" && !knownStep(r.State) {
			return fmt.Errorf("create step runs: unknown state %q of %s/%q", r.State, r.Step, r.Node)
		}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.guard(ctx, tx, l, false); err != nil {
			return err
		}
		checked := map[uuid.UUID]bool{}
		for _, r := range runs {
			if !checked[r.TaskID] {
				if err := covered(ctx, tx, l, r.TaskID); err != nil {
					return err
				}
				checked[r.TaskID] = true
			}
		}
		if len(runs) == 0 {
			return nil
		}
		// A 10,000-node task creates tens of thousands of runs. PostgreSQL takes many rows per
		// statement (one round trip each); SQLite runs one prepared statement per row, because
		// its lookup of numbered parameters grows with their count squared.
		perStatement := 1
		if s.d.name == Postgres.name {
			perStatement = 400
		}
		stmts := map[int]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		for start := 0; start < len(runs); start += perStatement {
			chunk := runs[start:min(start+perStatement, len(runs))]
			var a params
			var b strings.Builder
			b.WriteString(`INSERT INTO step_runs (` + stepCols + `) VALUES `)
			for i, r := range chunk {
				state := r.State
				if state == "" {
					state = task.StepPending
				}
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(" + strings.Join([]string{a.add(r.TaskID.String()), a.add(r.Step), a.add(r.Node),
					a.add(r.Ordinal), a.add(string(state)), a.add(r.Attempts), a.add(s.tsp(r.FirstStarted)),
					a.add(s.tsp(r.Started)), a.add(s.tsp(r.Finished)), a.add(r.Message), a.add(r.Detail), a.add(r.Owner)}, ", ") + ")")
			}
			b.WriteString(` ON CONFLICT (task_id, step, node) DO NOTHING`)
			st := stmts[len(chunk)]
			if st == nil {
				var err error
				if st, err = tx.PrepareContext(ctx, b.String()); err != nil {
					return fmt.Errorf("prepare step run insert: %w", err)
				}
				stmts[len(chunk)] = st
			}
			if _, err := st.ExecContext(ctx, a.v...); err != nil {
				return fmt.Errorf("insert step runs: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create step runs for task %s: %w", l.TaskID, err)
	}
	return nil
}

// ListStepRuns returns a task's step runs by step ordinal, then node, then step.
func (s *Store) ListStepRuns(ctx context.Context, taskID uuid.UUID) ([]task.StepRun, error) {
	var out []task.StepRun
	err := s.read(ctx, func(q querier) error {
		out = nil
		err := eachRow(ctx, q, `SELECT `+stepCols+` FROM step_runs WHERE task_id = $1 ORDER BY ordinal, node, step`,
			[]any{taskID.String()}, func(sc scanner) error {
				r, err := scanStep(sc)
				out = append(out, r)
				return err
			})
		if err != nil || len(out) > 0 {
			return err
		}
		_, err = statusOf(ctx, q, taskID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list step runs of task %s: %w", taskID, err)
	}
	return out, nil
}

// stepRun reads (on PostgreSQL: locks) one step run; ErrNotFound when it does not exist.
func (s *Store) stepRun(ctx context.Context, bc *batchCtx, taskID uuid.UUID, step, node string) (task.StepRun, error) {
	row, err := bc.queryRow(ctx, `SELECT `+stepCols+` FROM step_runs
		WHERE task_id = $1 AND step = $2 AND node = $3`+s.d.lockUpdate, taskID.String(), step, node)
	if err != nil {
		return task.StepRun{}, err
	}
	r, err := scanStep(row)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("step run %s/%q: %w", step, node, store.ErrNotFound)
	}
	return r, err
}

// StartStep claims a pending run or resumes a running one: it becomes running, with one more
// attempt, this start time (and first start time, if it had none), no finish time and the
// lease's owner. The returned run has the new values except State, which is the state it had
// before (pending, or running for a resumption). A finished run gives ErrConflict.
func (s *Store) StartStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, now time.Time) (task.StepRun, error) {
	var r task.StepRun
	err := s.batch.do(ctx, func(ctx context.Context, tx *sql.Tx, bc *batchCtx) error {
		if err := bc.guard(ctx, s, tx, l); err != nil {
			return err
		}
		if err := covered(ctx, tx, l, taskID); err != nil {
			return err
		}
		var err error
		if r, err = s.stepRun(ctx, bc, taskID, step, node); err != nil {
			return err
		}
		if r.State.Done() {
			return fmt.Errorf("step run %s/%q is already %s: %w", step, node, r.State, store.ErrConflict)
		}
		started := norm(now)
		if r.FirstStarted == nil {
			r.FirstStarted = &started
		}
		r.Attempts++
		r.Started, r.Finished, r.Owner = &started, nil, l.Owner
		n, err := bc.exec(ctx, `UPDATE step_runs SET state = 'running', attempts = $1, first_started = $2,
				started = $3, finished = NULL, owner = $4
			WHERE task_id = $5 AND step = $6 AND node = $7 AND state IN ('pending', 'running')`,
			r.Attempts, s.tsp(r.FirstStarted), s.ts(started), l.Owner, taskID.String(), step, node)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("step run %s/%q changed concurrently: %w", step, node, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return task.StepRun{}, fmt.Errorf("start step %s/%q of task %s: %w", step, node, taskID, err)
	}
	return r, nil
}

// SaveStepDetail replaces the detail of a running step run; ErrConflict when it is not running.
func (s *Store) SaveStepDetail(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, detail []byte) error {
	err := s.batch.do(ctx, func(ctx context.Context, tx *sql.Tx, bc *batchCtx) error {
		if err := bc.guard(ctx, s, tx, l); err != nil {
			return err
		}
		if err := covered(ctx, tx, l, taskID); err != nil {
			return err
		}
		n, err := bc.exec(ctx, `UPDATE step_runs SET detail = $1 WHERE task_id = $2 AND step = $3 AND node = $4
			AND state = 'running'`, detail, taskID.String(), step, node)
		if err != nil || n == 1 {
			return err
		}
		return s.stepConflict(ctx, bc, taskID, step, node)
	})
	if err != nil {
		return fmt.Errorf("save detail of step %s/%q of task %s: %w", step, node, taskID, err)
	}
	return nil
}

// FinishStep records a step run's outcome, finish time and message, and its detail unless
// detail is nil. A run must be running, except that a pending run may also be skipped or
// cancelled (it never started); otherwise ErrConflict.
func (s *Store) FinishStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, state task.StepState, message string, detail []byte, now time.Time) error {
	if !state.Done() {
		return fmt.Errorf("finish step %s/%q of task %s: %q is not an outcome: %w", step, node, taskID, state,
			store.ErrConflict)
	}
	from := []string{string(task.StepRunning)}
	if state == task.StepSkipped || state == task.StepCancelled {
		from = append(from, string(task.StepPending))
	}
	err := s.batch.do(ctx, func(ctx context.Context, tx *sql.Tx, bc *batchCtx) error {
		if err := bc.guard(ctx, s, tx, l); err != nil {
			return err
		}
		if err := covered(ctx, tx, l, taskID); err != nil {
			return err
		}
		var a params
		q := `UPDATE step_runs SET state = ` + a.add(string(state)) + `, finished = ` + a.add(s.ts(now)) +
			`, message = ` + a.add(message)
		if detail != nil {
			q += `, detail = ` + a.add(detail)
		}
		q += ` WHERE task_id = ` + a.add(taskID.String()) + ` AND step = ` + a.add(step) + ` AND node = ` + a.add(node) +
			` AND state IN ` + in(&a, from)
		n, err := bc.exec(ctx, q, a.v...)
		if err != nil || n == 1 {
			return err
		}
		return s.stepConflict(ctx, bc, taskID, step, node)
	})
	if err != nil {
		return fmt.Errorf("finish step %s/%q of task %s: %w", step, node, taskID, err)
	}
	return nil
}

// stepConflict explains why a guarded step update changed nothing.
func (s *Store) stepConflict(ctx context.Context, bc *batchCtx, taskID uuid.UUID, step, node string) error {
	r, err := s.stepRun(ctx, bc, taskID, step, node)
	if err != nil {
		return err
	}
	return fmt.Errorf("step run is %s: %w", r.State, store.ErrConflict)
}
