package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

const taskCols = `id, parent_id, action, step, design_ref, node_filter, status, terminate, terminated,
	terminated_by, created, created_by, updated, retry, result_status, result_message, result_reason,
	result_successes, result_failures, result_links`

var statuses = []task.Status{task.StatusRequested, task.StatusQueued, task.StatusRunning,
	task.StatusTerminating, task.StatusTerminated, task.StatusComplete}

// sources lists the statuses from which a task may move to to (task.Transitions).
func sources(to task.Status) []string {
	var from []string
	for _, s := range statuses {
		if task.CanTransition(s, to) {
			from = append(from, string(s))
		}
	}
	return from
}

// CreateTask inserts a task and its initial messages (t.Result.Messages), registering it as
// the last subtask of its parent when ParentID is set (ErrNotFound when the parent does not
// exist; ErrConflict when the id is taken). Zero fields get defaults written back to t: a new
// ID, status requested, result incomplete, Created and Updated now; times are normalised to
// UTC microseconds as stored. t.SubtaskIDs is ignored (a task's subtasks register themselves).
func (s *Store) CreateTask(ctx context.Context, t *task.Task) error {
	if t == nil {
		return errors.New("create task: nil task")
	}
	if t.ID == uuid.Nil {
		t.ID = uuid.New()
	}
	if t.Status == "" {
		t.Status = task.StatusRequested
	}
	if !slices.Contains(statuses, t.Status) {
		return fmt.Errorf("create task %s: unknown status %q", t.ID, t.Status)
	}
	if t.Result.Status == "" {
		t.Result.Status = task.ResultIncomplete
	}
	if len(t.NodeFilter) > 0 && !json.Valid(t.NodeFilter) {
		return fmt.Errorf("create task %s: node filter is not valid JSON", t.ID)
	}
	now := time.Now()
	if t.Created.IsZero() {
		t.Created = now
	}
	if t.Updated.IsZero() {
		t.Updated = t.Created
	}
	t.Created, t.Updated, t.Terminated = norm(t.Created), norm(t.Updated), normp(t.Terminated)
	res, err := encodeResult(t.Result)
	if err != nil {
		return fmt.Errorf("create task %s: %w", t.ID, err)
	}
	msgs, err := s.encodeMessages(t.Result.Messages, now)
	if err != nil {
		return fmt.Errorf("create task %s: %w", t.ID, err)
	}
	var parent, filter any
	if t.ParentID != nil {
		parent = t.ParentID.String()
	}
	if len(t.NodeFilter) > 0 {
		filter = string(t.NodeFilter)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		root, seq := t.ID.String(), int64(0)
		if t.ParentID != nil {
			err := tx.QueryRowContext(ctx, `UPDATE tasks SET subtask_count = subtask_count + 1
				WHERE id = $1 RETURNING subtask_count, root_id`, parent).Scan(&seq, &root)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("parent task %s: %w", t.ParentID, store.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("register with parent %s: %w", t.ParentID, err)
			}
		}
		n, err := exec(ctx, tx, `INSERT INTO tasks (id, parent_id, root_id, seq, action, step, design_ref,
				node_filter, status, terminate, terminated, terminated_by, created, created_by, updated, retry,
				result_status, result_message, result_reason, result_successes, result_failures, result_links)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
				$21, $22)
			ON CONFLICT (id) DO NOTHING`,
			t.ID.String(), parent, root, seq, t.Action, t.Step, t.DesignRef, filter, string(t.Status),
			t.Terminate, s.tsp(t.Terminated), t.TerminatedBy, s.ts(t.Created), t.CreatedBy, s.ts(t.Updated),
			t.Retry, res.status, res.message, res.reason, res.successes, res.failures, res.links)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("task id already exists: %w", store.ErrConflict)
		}
		return s.insertMessages(ctx, tx, t.ID, msgs)
	})
	if err != nil {
		return fmt.Errorf("create task %s: %w", t.ID, err)
	}
	return nil
}

// GetTask returns a task with its subtask ids (in registration order) and its messages (in the
// order they were added).
func (s *Store) GetTask(ctx context.Context, id uuid.UUID) (*task.Task, error) {
	var t *task.Task
	err := s.read(ctx, func(q querier) error {
		var err error
		t, err = s.getTask(ctx, q, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get task %s: %w", id, err)
	}
	return t, nil
}

// TaskStatus returns a task's status and termination flag; ErrNotFound for an unknown id.
func (s *Store) TaskStatus(ctx context.Context, id uuid.UUID) (task.Status, bool, error) {
	var (
		st        string
		terminate bool
	)
	err := s.read(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `SELECT status, terminate FROM tasks WHERE id = $1`, id.String()).Scan(&st, &terminate)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("status of task %s: %w", id, err)
	}
	return task.Status(st), terminate, nil
}

func (s *Store) getTask(ctx context.Context, q querier, id uuid.UUID) (*task.Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := attach(ctx, q, []*task.Task{t}, true); err != nil {
		return nil, err
	}
	return t, nil
}

// ListTasks lists tasks, newest first (ties broken by id), with their subtask ids and messages
// (or, with WithoutMessages, the number of their error messages). After continues a listing
// by keyset: the tasks strictly after that one in (created DESC, id DESC) order, so pages of
// Limit tasks, each starting after the last task of the previous one, list every task once.
func (s *Store) ListTasks(ctx context.Context, p store.ListParams) ([]*task.Task, error) {
	var a params
	var where []string
	if p.TopLevelOnly {
		where = append(where, `parent_id IS NULL`)
	}
	if p.ParentID != nil {
		where = append(where, `parent_id = `+a.add(p.ParentID.String()))
	}
	if p.RootID != nil {
		root := a.add(p.RootID.String())
		where = append(where, `root_id = `+root+` AND id <> `+root)
	}
	if len(p.Statuses) > 0 {
		ss := make([]string, len(p.Statuses))
		for i, st := range p.Statuses {
			ss[i] = string(st)
		}
		where = append(where, `status IN `+in(&a, ss))
	}
	if p.Action != "" {
		where = append(where, `action = `+a.add(p.Action))
	}
	// The creation time of the After task is looked up in the read transaction, and bound at
	// afterArg.
	afterArg := -1
	if p.After != nil {
		afterArg = len(a.v)
		created := a.add(nil)
		id := a.add(p.After.String())
		where = append(where, `(created < `+created+` OR (created = `+created+` AND id < `+id+`))`)
	}
	query := `SELECT ` + taskCols + ` FROM tasks`
	for i, w := range where {
		if i == 0 {
			query += ` WHERE ` + w
		} else {
			query += ` AND ` + w
		}
	}
	query += ` ORDER BY created DESC, id DESC`
	if p.Limit > 0 {
		query += ` LIMIT ` + a.add(p.Limit)
	}
	var out []*task.Task
	err := s.read(ctx, func(q querier) error {
		out = nil
		args := a.v
		if afterArg >= 0 {
			var created nullTime
			err := q.QueryRowContext(ctx, `SELECT created FROM tasks WHERE id = $1`, p.After.String()).Scan(&created)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("task %s to list after: %w", p.After, store.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("task %s to list after: %w", p.After, err)
			}
			args = slices.Clone(a.v)
			args[afterArg] = s.ts(created.t)
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return attach(ctx, q, out, !p.WithoutMessages)
	})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return out, nil
}

// SetStatus moves a task to status to from one of from; sources from which task.Transitions
// does not allow to are ignored. Moving to terminated records the time.
func (s *Store) SetStatus(ctx context.Context, id uuid.UUID, from []task.Status, to task.Status, now time.Time) error {
	var legal []string
	for _, f := range from {
		if task.CanTransition(f, to) {
			legal = append(legal, string(f))
		}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if len(legal) > 0 {
			var a params
			q := `UPDATE tasks SET status = ` + a.add(string(to)) + `, updated = ` + a.add(s.ts(now))
			if to == task.StatusTerminated {
				q += `, terminated = COALESCE(terminated, ` + a.add(s.ts(now)) + `)`
			}
			q += ` WHERE id = ` + a.add(id.String()) + ` AND status IN ` + in(&a, legal)
			n, err := exec(ctx, tx, q, a.v...)
			if err != nil {
				return err
			}
			if n == 1 {
				return nil
			}
		}
		cur, err := statusOf(ctx, tx, id)
		if err != nil {
			return err
		}
		return fmt.Errorf("status is %s, not one of %v that may become %s: %w", cur, legal, to, store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("set status of task %s to %s: %w", id, to, err)
	}
	return nil
}

// statusOf reads a task's status (ErrNotFound when it does not exist).
func statusOf(ctx context.Context, q querier, id uuid.UUID) (task.Status, error) {
	var st string
	err := q.QueryRowContext(ctx, `SELECT status FROM tasks WHERE id = $1`, id.String()).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", err
	}
	return task.Status(st), nil
}

// SaveResult stores a task's result without its messages, guarded by the lease of the
// top-level task that owns it.
func (s *Store) SaveResult(ctx context.Context, l task.Lease, id uuid.UUID, r task.Result, now time.Time) error {
	res, err := encodeResult(r)
	if err != nil {
		return fmt.Errorf("save result of task %s: %w", id, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := s.guard(ctx, tx, l, id == l.TaskID); err != nil {
			return err
		}
		if err := covered(ctx, tx, l, id); err != nil {
			return err
		}
		n, err := exec(ctx, tx, `UPDATE tasks SET result_status = $1, result_message = $2, result_reason = $3,
			result_successes = $4, result_failures = $5, result_links = $6, updated = $7 WHERE id = $8`,
			res.status, res.message, res.reason, res.successes, res.failures, res.links, s.ts(now), id.String())
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save result of task %s: %w", id, err)
	}
	return nil
}

// AddMessages appends messages to a task, whole. A message without a time gets the current
// time.
func (s *Store) AddMessages(ctx context.Context, id uuid.UUID, msgs ...task.Message) error {
	enc, err := s.encodeMessages(msgs, time.Now())
	if err != nil {
		return fmt.Errorf("add messages to task %s: %w", id, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := statusOf(ctx, tx, id); err != nil {
			return err
		}
		return s.insertMessages(ctx, tx, id, enc)
	})
	if err != nil {
		return fmt.Errorf("add messages to task %s: %w", id, err)
	}
	return nil
}

// RequestTermination sets the sticky terminate flag with targeted updates: requested and
// queued tasks become terminated (time and requester recorded), running ones terminating
// (requester recorded; the time is recorded when they reach terminated). A terminating task is
// returned unchanged; a finished one unchanged with ErrConflict.
func (s *Store) RequestTermination(ctx context.Context, id uuid.UUID, by string, now time.Time) (*task.Task, error) {
	var t *task.Task
	err := s.write(ctx, func(tx *sql.Tx) error {
		t = nil
		n, err := exec(ctx, tx, `UPDATE tasks SET status = 'terminated', terminate = TRUE, terminated = $1,
			terminated_by = $2, updated = $1 WHERE id = $3 AND status IN ('requested', 'queued')`,
			s.ts(now), by, id.String())
		if err != nil {
			return err
		}
		if n == 0 {
			n, err = exec(ctx, tx, `UPDATE tasks SET status = 'terminating', terminate = TRUE, terminated_by = $1,
				updated = $2 WHERE id = $3 AND status = 'running'`, by, s.ts(now), id.String())
			if err != nil {
				return err
			}
		}
		if t, err = s.getTask(ctx, tx, id); err != nil {
			return err
		}
		if t.Status.Final() && n == 0 {
			return fmt.Errorf("task is already %s: %w", t.Status, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("terminate task %s: %w", id, err)
	}
	return t, nil
}

// Requeue puts a finished top-level task back in the queue: status queued, Retry+1, terminate
// flag and termination record cleared, result back to incomplete (message, reason, successes
// and failures cleared; links kept), lease cleared (the generation is kept, so old leases stay
// invalid), reservations dropped, and its failed and cancelled step runs pending again (with
// their attempts, detail and first start kept). Succeeded and skipped runs are untouched.
func (s *Store) Requeue(ctx context.Context, id uuid.UUID, now time.Time) (*task.Task, error) {
	var t *task.Task
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := exec(ctx, tx, `UPDATE tasks SET status = 'queued', retry = retry + 1, terminate = FALSE,
				terminated = NULL, terminated_by = '', result_status = 'incomplete', result_message = '',
				result_reason = '', result_successes = '[]', result_failures = '[]', lease_owner = NULL,
				lease_expires = NULL, updated = $1
			WHERE id = $2 AND parent_id IS NULL AND status IN ('complete', 'terminated')`, s.ts(now), id.String())
		if err != nil {
			return err
		}
		if n == 0 {
			var st string
			var parent sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT status, parent_id FROM tasks WHERE id = $1`, id.String()).Scan(&st, &parent)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return store.ErrNotFound
			case err != nil:
				return err
			case parent.Valid:
				return fmt.Errorf("a subtask cannot be requeued: %w", store.ErrConflict)
			default:
				return fmt.Errorf("task is %s, not finished: %w", st, store.ErrConflict)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE step_runs SET state = 'pending', finished = NULL
			WHERE task_id IN (SELECT id FROM tasks WHERE root_id = $1) AND state IN ('failed', 'cancelled')`,
			id.String()); err != nil {
			return fmt.Errorf("reset step runs: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM node_reservations WHERE task_id = $1`, id.String()); err != nil {
			return fmt.Errorf("drop reservations: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM node_wants WHERE task_id = $1`, id.String()); err != nil {
			return fmt.Errorf("drop wanted nodes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET targets_known = $1 WHERE id = $2`, false, id.String()); err != nil {
			return fmt.Errorf("reset targets: %w", err)
		}
		t, err = s.getTask(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("requeue task %s: %w", id, err)
	}
	return t, nil
}
