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

// leaseRow is the lease columns of a task.
type leaseRow struct {
	owner string
	gen   int64
	held  bool
}

// readLease reads (and on PostgreSQL locks: exclusively when the caller will update the row,
// shared otherwise) the lease columns of task id.
func (s *Store) readLease(ctx context.Context, tx *sql.Tx, id uuid.UUID, exclusive bool) (leaseRow, error) {
	lock := s.d.lockShare
	if exclusive {
		lock = s.d.lockUpdate
	}
	var (
		lr    leaseRow
		owner sql.NullString
	)
	err := tx.QueryRowContext(ctx, `SELECT lease_owner, lease_generation, lease_expires IS NOT NULL
		FROM tasks WHERE id = $1`+lock, id.String()).Scan(&owner, &lr.gen, &lr.held)
	if errors.Is(err, sql.ErrNoRows) {
		return lr, fmt.Errorf("task %s of the lease: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return lr, fmt.Errorf("read lease: %w", err)
	}
	lr.owner = owner.String
	return lr, nil
}

// matches reports whether the row records lease l (held or not).
func (lr leaseRow) matches(l task.Lease) bool { return lr.owner == l.Owner && lr.gen == l.Generation }

func leaseLost(l task.Lease, lr leaseRow) error {
	if lr.matches(l) {
		return fmt.Errorf("lease %s/%d on task %s was released: %w", l.Owner, l.Generation, l.TaskID, store.ErrLeaseLost)
	}
	return fmt.Errorf("lease %s/%d on task %s superseded by %q/%d: %w", l.Owner, l.Generation, l.TaskID,
		lr.owner, lr.gen, store.ErrLeaseLost)
}

// guard checks, in tx, that l is the lease held on its task; see the package comment.
func (s *Store) guard(ctx context.Context, tx *sql.Tx, l task.Lease, exclusive bool) error {
	lr, err := s.readLease(ctx, tx, l.TaskID, exclusive)
	if err != nil {
		return err
	}
	if !lr.held || !lr.matches(l) {
		return leaseLost(l, lr)
	}
	return nil
}

// covered checks that task id is l's task or one of its subtasks.
func covered(ctx context.Context, q querier, l task.Lease, id uuid.UUID) error {
	if id == l.TaskID {
		return nil
	}
	var root string
	err := q.QueryRowContext(ctx, `SELECT root_id FROM tasks WHERE id = $1`, id.String()).Scan(&root)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("task %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if root != l.TaskID.String() {
		return fmt.Errorf("task %s belongs to task %s, not to the lease's task %s: %w", id, root, l.TaskID,
			store.ErrLeaseLost)
	}
	return nil
}

// claimTries bounds how often ClaimTask looks again when its pick was taken concurrently.
const claimTries = 3

// ClaimTask takes the oldest claimable top-level task whose action is in actions (any action
// when actions is empty): queued tasks first, then running or terminating ones whose lease
// expired or was released. It becomes running (a terminating one stays terminating), and its
// lease generation increases by one.
//
// On PostgreSQL the pick is locked with FOR UPDATE SKIP LOCKED, so concurrent claimers take
// different tasks; on SQLite claims are serialised by the single writer.
func (s *Store) ClaimTask(ctx context.Context, owner string, actions []string, leaseFor time.Duration, now time.Time) (*task.Task, task.Lease, error) {
	if owner == "" || leaseFor <= 0 {
		return nil, task.Lease{}, fmt.Errorf("claim task: need an owner and a positive lease duration")
	}
	var (
		t *task.Task
		l task.Lease
	)
	expires := norm(now.Add(leaseFor))
	claimable := func(a *params) string {
		cond := `parent_id IS NULL AND (status = 'queued' OR (status IN ('running', 'terminating')
			AND (lease_expires IS NULL OR lease_expires <= ` + a.add(s.ts(now)) + `)))`
		if len(actions) > 0 {
			cond += ` AND action IN ` + in(a, actions)
		}
		return cond
	}
	var a params
	cond := claimable(&a)
	query := `UPDATE tasks SET status = CASE WHEN status = 'terminating' THEN 'terminating' ELSE 'running' END,
			lease_owner = ` + a.add(owner) + `, lease_generation = lease_generation + 1,
			lease_expires = ` + a.add(s.ts(expires)) + `, updated = ` + a.add(s.ts(now)) + `
		WHERE id = (SELECT id FROM tasks WHERE ` + cond + `
			ORDER BY CASE WHEN status = 'queued' THEN 0 ELSE 1 END, created, id LIMIT 1` + s.d.skipLocked + `)
		AND ` + cond + `
		RETURNING id, lease_generation`
	var b params
	anyLeft := `SELECT EXISTS (SELECT 1 FROM tasks WHERE ` + claimable(&b) + `)`
	err := s.write(ctx, func(tx *sql.Tx) error {
		for try := 1; ; try++ {
			var id string
			var gen int64
			err := tx.QueryRowContext(ctx, query, a.v...).Scan(&id, &gen)
			if errors.Is(err, sql.ErrNoRows) {
				// On PostgreSQL the pick may have been claimed by another transaction between
				// this statement's snapshot and its lock; look again while a candidate is visible.
				var more bool
				if err := tx.QueryRowContext(ctx, anyLeft, b.v...).Scan(&more); err != nil {
					return err
				}
				if more && try < claimTries {
					continue
				}
				return store.ErrNoTask
			}
			if err != nil {
				return err
			}
			tid, err := uuid.Parse(id)
			if err != nil {
				return fmt.Errorf("task id %q: %w", id, err)
			}
			if t, err = s.getTask(ctx, tx, tid); err != nil {
				return err
			}
			l = task.Lease{TaskID: tid, Owner: owner, Generation: gen, Expires: expires}
			return nil
		}
	})
	if err != nil {
		if errors.Is(err, store.ErrNoTask) {
			return nil, task.Lease{}, err
		}
		return nil, task.Lease{}, fmt.Errorf("claim task: %w", err)
	}
	return t, l, nil
}

// RenewLease extends a held lease to now+leaseFor.
func (s *Store) RenewLease(ctx context.Context, l task.Lease, leaseFor time.Duration, now time.Time) (task.Lease, error) {
	if leaseFor <= 0 {
		return l, fmt.Errorf("renew lease on task %s: non-positive duration", l.TaskID)
	}
	expires := norm(now.Add(leaseFor))
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.guard(ctx, tx, l, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE tasks SET lease_expires = $1 WHERE id = $2`, s.ts(expires), l.TaskID.String())
		return err
	})
	if err != nil {
		return l, fmt.Errorf("renew lease on task %s: %w", l.TaskID, err)
	}
	l.Expires = expires
	return l, nil
}

// ReleaseLease gives a held lease up: a running task goes back to queued, a terminating one
// stays terminating (and is claimable at once), a finished one stays finished. Releasing a
// lease that was already released (e.g. by FinishTask) is a no-op.
func (s *Store) ReleaseLease(ctx context.Context, l task.Lease, now time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		lr, err := s.readLease(ctx, tx, l.TaskID, true)
		if err != nil {
			return err
		}
		if !lr.matches(l) {
			return leaseLost(l, lr)
		}
		if !lr.held {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET lease_expires = NULL,
			status = CASE WHEN status = 'running' THEN 'queued' ELSE status END, updated = $1 WHERE id = $2`,
			s.ts(now), l.TaskID.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease on task %s: %w", l.TaskID, err)
	}
	return nil
}

// FinishTask records a top-level task's final status (complete from running, terminated from
// terminating, as task.Transitions allows) and result (not its messages), releases its lease
// and deletes its node reservations.
func (s *Store) FinishTask(ctx context.Context, l task.Lease, status task.Status, r task.Result, now time.Time) error {
	if !status.Final() {
		return fmt.Errorf("finish task %s: %s is not a final status: %w", l.TaskID, status, store.ErrConflict)
	}
	res, err := encodeResult(r)
	if err != nil {
		return fmt.Errorf("finish task %s: %w", l.TaskID, err)
	}
	from := sources(status)
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := s.guard(ctx, tx, l, true); err != nil {
			return err
		}
		var a params
		q := `UPDATE tasks SET status = ` + a.add(string(status)) + `, result_status = ` + a.add(res.status) +
			`, result_message = ` + a.add(res.message) + `, result_reason = ` + a.add(res.reason) +
			`, result_successes = ` + a.add(res.successes) + `, result_failures = ` + a.add(res.failures) +
			`, result_links = ` + a.add(res.links) + `, lease_expires = NULL, updated = ` + a.add(s.ts(now))
		if status == task.StatusTerminated {
			q += `, terminated = COALESCE(terminated, ` + a.add(s.ts(now)) + `)`
		}
		q += ` WHERE id = ` + a.add(l.TaskID.String()) + ` AND status IN ` + in(&a, from)
		n, err := exec(ctx, tx, q, a.v...)
		if err != nil {
			return err
		}
		if n == 0 {
			cur, err := statusOf(ctx, tx, l.TaskID)
			if err != nil {
				return err
			}
			return fmt.Errorf("status is %s, which cannot become %s: %w", cur, status, store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM node_reservations WHERE task_id = $1`, l.TaskID.String()); err != nil {
			return fmt.Errorf("release reservations: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM node_wants WHERE task_id = $1`, l.TaskID.String()); err != nil {
			return fmt.Errorf("release wanted nodes: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish task %s: %w", l.TaskID, err)
	}
	return nil
}

// ReserveNodes reserves every node for the lease's task or none. A node is free when nobody
// holds it, the task itself holds it, or its holder is finished (complete or terminated).
// Nodes are taken in sorted order, so concurrent reservations cannot deadlock.
func (s *Store) ReserveNodes(ctx context.Context, l task.Lease, nodes []string) (map[string]uuid.UUID, error) {
	nodes = slices.Clone(nodes)
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	me := l.TaskID.String()
	var busy map[string]uuid.UUID
	err := s.write(ctx, func(tx *sql.Tx) error {
		busy = nil
		if err := s.guard(ctx, tx, l, false); err != nil {
			return err
		}
		// Say which nodes this task wants: from now on, younger tasks queue behind it for them.
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET targets_known = $1 WHERE id = $2`, true, me); err != nil {
			return fmt.Errorf("record targets: %w", err)
		}
		// The wanted set is the one given: usually the same as on the previous call (the task
		// polls while it waits), which costs no write; a different set replaces it.
		var had int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM node_wants WHERE task_id = $1`, me).Scan(&had); err != nil {
			return fmt.Errorf("count wanted nodes: %w", err)
		}
		added, err := insertWants(ctx, tx, me, nodes)
		if err != nil {
			return err
		}
		if had+added != int64(len(nodes)) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM node_wants WHERE task_id = $1`, me); err != nil {
				return fmt.Errorf("replace wanted nodes: %w", err)
			}
			if _, err := insertWants(ctx, tx, me, nodes); err != nil {
				return err
			}
		}
		if len(nodes) == 0 {
			return nil
		}
		add := func(node, holder string) error {
			h, err := uuid.Parse(holder)
			if err != nil {
				return fmt.Errorf("holder of node %q: %w", node, err)
			}
			if busy == nil {
				busy = map[string]uuid.UUID{}
			}
			if _, seen := busy[node]; !seen {
				busy[node] = h
			}
			return nil
		}
		// An older unfinished task that has not yet said which nodes it wants may want any of
		// them: wait for it (it decides within moments of being claimed).
		const older = `(t.created < (SELECT created FROM tasks WHERE id = $1)
			OR (t.created = (SELECT created FROM tasks WHERE id = $1) AND t.id < $1))`
		var undecided string
		err = tx.QueryRowContext(ctx, `SELECT t.id FROM tasks t WHERE t.parent_id IS NULL AND t.id <> $1
			AND t.status NOT IN ('complete', 'terminated') AND t.targets_known = $2 AND `+older+`
			ORDER BY t.created, t.id LIMIT 1`, me, false).Scan(&undecided)
		switch {
		case err == nil:
			for _, node := range nodes {
				if err := add(node, undecided); err != nil {
					return err
				}
			}
			return nil // commit the wanted nodes, reserve nothing
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("look for undecided older tasks: %w", err)
		}
		// Nodes held by another unfinished task, or wanted by an older unfinished one.
		rows, err := tx.QueryContext(ctx, `SELECT r.node, r.task_id FROM node_reservations r
				JOIN tasks t ON t.id = r.task_id
				WHERE r.node IN (SELECT node FROM node_wants WHERE task_id = $1) AND r.task_id <> $1
					AND t.status NOT IN ('complete', 'terminated')
			UNION ALL
			SELECT w.node, w.task_id FROM node_wants w
				JOIN tasks t ON t.id = w.task_id
				WHERE w.node IN (SELECT node FROM node_wants WHERE task_id = $1) AND w.task_id <> $1
					AND t.status NOT IN ('complete', 'terminated') AND `+older, me)
		if err != nil {
			return fmt.Errorf("find busy nodes: %w", err)
		}
		for rows.Next() {
			var node, holder string
			if err := rows.Scan(&node, &holder); err != nil {
				rows.Close()
				return fmt.Errorf("find busy nodes: %w", err)
			}
			if err := add(node, holder); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("find busy nodes: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find busy nodes: %w", err)
		}
		if len(busy) > 0 {
			return nil // commit the wanted nodes, reserve nothing
		}
		// Take them: reservations of finished tasks are taken over.
		if _, err := tx.ExecContext(ctx, `INSERT INTO node_reservations (node, task_id)
			SELECT node, task_id FROM node_wants WHERE task_id = $1
			ON CONFLICT (node) DO UPDATE SET task_id = excluded.task_id`, me); err != nil {
			return fmt.Errorf("reserve nodes: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reserve nodes for task %s: %w", l.TaskID, err)
	}
	return busy, nil
}

// insertWants records wanted nodes in batches and returns how many were new.
func insertWants(ctx context.Context, tx *sql.Tx, taskID string, nodes []string) (int64, error) {
	const batch = 400
	var added int64
	for start := 0; start < len(nodes); start += batch {
		end := min(start+batch, len(nodes))
		var p params
		id := p.add(taskID)
		var b strings.Builder
		b.WriteString(`INSERT INTO node_wants (task_id, node) VALUES `)
		for i, node := range nodes[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + id + ", " + p.add(node) + ")")
		}
		b.WriteString(` ON CONFLICT (node, task_id) DO NOTHING`)
		n, err := exec(ctx, tx, b.String(), p.v...)
		if err != nil {
			return added, fmt.Errorf("record wanted nodes: %w", err)
		}
		added += n
	}
	return added, nil
}
