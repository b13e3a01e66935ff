package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/task"
)

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

// attach loads the subtask ids and the messages of tasks, or, without messages, counts their
// error messages (Result.CountedErrors).
func attach(ctx context.Context, q querier, tasks []*task.Task, messages bool) error {
	byID := make(map[string]*task.Task, len(tasks))
	ids := make([]string, 0, len(tasks))
	for _, t := range tasks {
		t.SubtaskIDs, t.Result.Messages, t.Result.CountedErrors = nil, nil, 0
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
		if !messages {
			if err := eachRow(ctx, q, `SELECT task_id, COUNT(*) FROM task_messages WHERE error AND task_id IN `+list+`
				GROUP BY task_id`, a.v, func(sc scanner) error {
				var id string
				var n int
				if err := sc.Scan(&id, &n); err != nil {
					return err
				}
				byID[id].Result.CountedErrors = n
				return nil
			}); err != nil {
				return fmt.Errorf("error messages: %w", err)
			}
			continue
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
