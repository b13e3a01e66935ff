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

func (s *Store) getTask(ctx context.Context, q querier, id uuid.UUID) (*task.Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = $1`, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := attach(ctx, q, []*task.Task{t}); err != nil {
		return nil, err
	}
	return t, nil
}

// ListTasks lists tasks, newest first (ties broken by id), with their subtask ids and messages.
func (s *Store) ListTasks(ctx context.Context, p store.ListParams) ([]*task.Task, error) {
	var a params
	var where []string
	if p.TopLevelOnly {
		where = append(where, `parent_id IS NULL`)
	}
	if p.ParentID != nil {
		where = append(where, `parent_id = `+a.add(p.ParentID.String()))
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
		rows, err := q.QueryContext(ctx, query, a.v...)
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
		return attach(ctx, q, out)
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
		t, err = s.getTask(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("requeue task %s: %w", id, err)
	}
	return t, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanTask(sc scanner) (*task.Task, error) {
	var (
		t                            task.Task
		id, status, resStatus        string
		parent                       sql.NullString
		filter                       []byte
		terminated, created, updated nullTime
		successes, failures, links   []byte
	)
	err := sc.Scan(&id, &parent, &t.Action, &t.Step, &t.DesignRef, &filter, &status, &t.Terminate, &terminated,
		&t.TerminatedBy, &created, &t.CreatedBy, &updated, &t.Retry, &resStatus, &t.Result.Message,
		&t.Result.Reason, &successes, &failures, &links)
	if err != nil {
		return nil, err
	}
	if t.ID, err = uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("task id %q: %w", id, err)
	}
	if parent.Valid {
		p, err := uuid.Parse(parent.String)
		if err != nil {
			return nil, fmt.Errorf("parent id %q: %w", parent.String, err)
		}
		t.ParentID = &p
	}
	if len(filter) > 0 {
		t.NodeFilter = filter
	}
	t.Status, t.Result.Status = task.Status(status), task.ResultStatus(resStatus)
	t.Terminated, t.Created, t.Updated = terminated.ptr(), created.t, updated.t
	if err := decodeList(successes, &t.Result.Successes); err != nil {
		return nil, fmt.Errorf("task %s successes: %w", id, err)
	}
	if err := decodeList(failures, &t.Result.Failures); err != nil {
		return nil, fmt.Errorf("task %s failures: %w", id, err)
	}
	if err := decodeList(links, &t.Result.Links); err != nil {
		return nil, fmt.Errorf("task %s links: %w", id, err)
	}
	return &t, nil
}

// decodeList decodes a JSON array; an empty one leaves *v nil.
func decodeList[T any](b []byte, v *[]T) error {
	*v = nil
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	if len(*v) == 0 {
		*v = nil
	}
	return nil
}

// attachChunk bounds the number of ids in one IN list.
const attachChunk = 500

// attach loads the subtask ids and messages of tasks.
func attach(ctx context.Context, q querier, tasks []*task.Task) error {
	byID := make(map[string]*task.Task, len(tasks))
	ids := make([]string, 0, len(tasks))
	for _, t := range tasks {
		t.SubtaskIDs, t.Result.Messages = nil, nil
		byID[t.ID.String()] = t
		ids = append(ids, t.ID.String())
	}
	for chunk := range slices.Chunk(ids, attachChunk) {
		var a params
		list := in(&a, chunk)
		if err := eachRow(ctx, q, `SELECT parent_id, id FROM tasks WHERE parent_id IN `+list+` ORDER BY parent_id, seq`,
			a.v, func(sc scanner) error {
				var parent, id string
				if err := sc.Scan(&parent, &id); err != nil {
					return err
				}
				sub, err := uuid.Parse(id)
				if err != nil {
					return fmt.Errorf("subtask id %q: %w", id, err)
				}
				t := byID[parent]
				t.SubtaskIDs = append(t.SubtaskIDs, sub)
				return nil
			}); err != nil {
			return fmt.Errorf("subtasks: %w", err)
		}
		if err := eachRow(ctx, q, `SELECT task_id, seq, message, error, context_type, context, ts, extra
			FROM task_messages WHERE task_id IN `+list+` ORDER BY seq`, a.v, func(sc scanner) error {
			var (
				id    string
				m     task.Message
				ts    nullTime
				extra []byte
			)
			if err := sc.Scan(&id, &m.Seq, &m.Message, &m.Error, &m.ContextType, &m.Context, &ts, &extra); err != nil {
				return err
			}
			m.TS = ts.t
			m.Extra = map[string]any{}
			if len(extra) > 0 {
				if err := json.Unmarshal(extra, &m.Extra); err != nil {
					return fmt.Errorf("message %d extra: %w", m.Seq, err)
				}
				if m.Extra == nil {
					m.Extra = map[string]any{}
				}
			}
			t := byID[id]
			t.Result.Messages = append(t.Result.Messages, m)
			return nil
		}); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
	}
	return nil
}

// eachRow runs a query and calls fn for each row.
func eachRow(ctx context.Context, q querier, query string, args []any, fn func(sc scanner) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// result is a task.Result as bound to the tasks columns.
type result struct {
	status, message, reason    string
	successes, failures, links string
}

func encodeResult(r task.Result) (result, error) {
	out := result{status: string(r.Status), message: r.Message, reason: r.Reason}
	if out.status == "" {
		out.status = string(task.ResultIncomplete)
	}
	var err error
	if out.successes, err = encodeList(r.Successes); err != nil {
		return out, fmt.Errorf("successes: %w", err)
	}
	if out.failures, err = encodeList(r.Failures); err != nil {
		return out, fmt.Errorf("failures: %w", err)
	}
	if out.links, err = encodeList(r.Links); err != nil {
		return out, fmt.Errorf("links: %w", err)
	}
	return out, nil
}

func encodeList[T any](v []T) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// message is a task.Message as bound to the task_messages columns.
type message struct {
	m     task.Message
	ts    time.Time
	extra string
}

func (s *Store) encodeMessages(msgs []task.Message, now time.Time) ([]message, error) {
	out := make([]message, 0, len(msgs))
	for i, m := range msgs {
		e := message{m: m, ts: m.TS, extra: "{}"}
		if e.ts.IsZero() {
			e.ts = now
		}
		if len(m.Extra) > 0 {
			b, err := json.Marshal(m.Extra)
			if err != nil {
				return nil, fmt.Errorf("message %d extra: %w", i, err)
			}
			e.extra = string(b)
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Store) insertMessages(ctx context.Context, tx *sql.Tx, id uuid.UUID, msgs []message) error {
	if len(msgs) == 0 {
		return nil
	}
	const q = `INSERT INTO task_messages (task_id, message, error, context_type, context, ts, extra)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	var st interface {
		ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	}
	if len(msgs) > 1 {
		prep, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		defer prep.Close()
		st = prep
	}
	for _, m := range msgs {
		args := []any{id.String(), m.m.Message, m.m.Error, m.m.ContextType, m.m.Context, s.ts(m.ts), m.extra}
		var err error
		if st != nil {
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
	}
	return nil
}
