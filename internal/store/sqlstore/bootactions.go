package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// Boot actions.
//
// A node has one context per deployment (boot_action_contexts, keyed by node and deployment),
// one of which is current (is_current, unique per node), and the actions of each deployment
// (boot_actions, ordered by their position in the deployment). Redeploying a node adds a
// context and actions rather than overwriting them, so a report on an action of an earlier
// deployment is checked against that deployment's key and cannot be confused with the new one.
//
// Reports are compare-and-set on the action's status, with the action row locked for the
// transaction on PostgreSQL, so concurrent reports on one action finalize it once. A successful
// report wakes BootActionsChanged waiters of this Store once committed; on PostgreSQL it also
// sends a notice (pg_notify on BootActionsChannel, delivered at commit) that the stores of
// other processes listen for (package postgres). SQLite has no such channel: a second process
// on the same file is not woken, and waiters must also re-check from time to time.

// BootActionsChannel is the PostgreSQL notification channel of boot action reports. A notice's
// payload is "<store instance> <schema> <action id>" (see ParseBootActionNotice): listeners
// ignore the notices of their own Store (already woken in-process) and of other schemas (other
// Drydock installations sharing the database).
const BootActionsChannel = "drydock_bootactions"

// ParseBootActionNotice splits the payload of a notice on BootActionsChannel.
func ParseBootActionNotice(payload string) (instance, schema, actionID string, ok bool) {
	instance, rest, ok := strings.Cut(payload, " ")
	if !ok {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, ' ')
	if i < 0 {
		return "", "", "", false
	}
	return instance, rest[:i], rest[i+1:], true
}

// broadcast wakes every holder of its channel at once: wake closes the current channel, and
// the next wait makes a new one.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// BootActionsChanged returns a channel closed at the next successful ReportBootAction through
// this Store, or when WakeBootActions is called (on PostgreSQL: by the listener for reports made
// through other stores on the database).
func (s *Store) BootActionsChanged() <-chan struct{} { return s.bootActions.wait() }

// WakeBootActions wakes the BootActionsChanged waiters, for changes this Store did not make
// itself (a notice from another process, or a reconnection after which notices may be lost).
func (s *Store) WakeBootActions() { s.bootActions.wake() }

const (
	baContextCols = `node_name, deployment, deploy_task_id, task_id, identity_key, design_ref, created`
	baCols        = `id, node_name, deployment, task_id, name, signaling, status, updated`
)

func scanContext(sc scanner) (store.BootActionContext, error) {
	var (
		c              store.BootActionContext
		deploy, taskID string
		created        nullTime
	)
	if err := sc.Scan(&c.NodeName, &c.Deployment, &deploy, &taskID, &c.Key, &c.DesignRef, &created); err != nil {
		return c, err
	}
	var err error
	if c.DeployTaskID, err = uuid.Parse(deploy); err != nil {
		return c, fmt.Errorf("deploy task id %q: %w", deploy, err)
	}
	if c.TaskID, err = uuid.Parse(taskID); err != nil {
		return c, fmt.Errorf("task id %q: %w", taskID, err)
	}
	c.Created = created.t
	return c, nil
}

func scanAction(sc scanner) (store.BootAction, error) {
	var (
		a       store.BootAction
		taskID  string
		updated nullTime
	)
	if err := sc.Scan(&a.ID, &a.NodeName, &a.Deployment, &taskID, &a.Name, &a.Signaling, &a.Status, &updated); err != nil {
		return a, err
	}
	var err error
	if a.TaskID, err = uuid.Parse(taskID); err != nil {
		return a, fmt.Errorf("boot action %s task id %q: %w", a.ID, taskID, err)
	}
	a.Updated = updated.t
	return a, nil
}

// checkEnsure validates the arguments of EnsureBootActions.
func checkEnsure(c store.BootActionContext, actions []store.BootAction) error {
	var bad []string
	if c.NodeName == "" {
		bad = append(bad, "no node name")
	}
	if c.Deployment == "" {
		bad = append(bad, "no deployment")
	}
	if len(c.Key) != 32 {
		bad = append(bad, fmt.Sprintf("identity key of %d bytes, not 32", len(c.Key)))
	}
	if c.DeployTaskID == uuid.Nil {
		bad = append(bad, "no deploy task")
	}
	if c.TaskID == uuid.Nil {
		bad = append(bad, "no task")
	}
	seen := make(map[string]bool, len(actions))
	for i, a := range actions {
		switch {
		case a.ID == "":
			bad = append(bad, fmt.Sprintf("action %d (%q) has no id", i, a.Name))
		case seen[a.ID]:
			bad = append(bad, fmt.Sprintf("action id %s given twice", a.ID))
		}
		seen[a.ID] = true
		if a.Name == "" {
			bad = append(bad, fmt.Sprintf("action %d (%s) has no name", i, a.ID))
		}
		if a.Status != store.BootActionIncomplete && a.Status != store.BootActionUnreported {
			bad = append(bad, fmt.Sprintf("action %d (%s) has status %q, not %s or %s", i, a.ID, a.Status,
				store.BootActionIncomplete, store.BootActionUnreported))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// EnsureBootActions records a node's context and actions for one deployment, once: when the
// node's current context is of c.Deployment, it and its actions are returned as stored.
// Otherwise c becomes current (Created now when zero), the actions are inserted in the given
// order with NodeName, Deployment and TaskID from c and Updated = c.Created, and the node's
// actions of other deployments still incomplete become superseded (Updated = c.Created). Both
// tasks of c must be the lease's task or its subtasks (ErrLeaseLost otherwise). A deployment
// that was current once and has been replaced cannot become current again (ErrConflict), nor
// can an action id be used twice (ErrConflict).
func (s *Store) EnsureBootActions(ctx context.Context, l task.Lease, c store.BootActionContext, actions []store.BootAction) (store.BootActionContext, []store.BootAction, error) {
	if err := checkEnsure(c, actions); err != nil {
		return store.BootActionContext{}, nil, fmt.Errorf("ensure boot actions of node %q, deployment %q: %w",
			c.NodeName, c.Deployment, err)
	}
	if c.Created.IsZero() {
		c.Created = time.Now()
	}
	c.Created = norm(c.Created)
	c.Key = append([]byte(nil), c.Key...)
	var (
		outC    store.BootActionContext
		outActs []store.BootAction
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		outC, outActs = store.BootActionContext{}, nil
		if err := s.guard(ctx, tx, l, false); err != nil {
			return err
		}
		for _, id := range []uuid.UUID{c.DeployTaskID, c.TaskID} {
			if err := covered(ctx, tx, l, id); err != nil {
				return err
			}
		}
		cur, found, err := s.currentContext(ctx, tx, c.NodeName, s.d.lockUpdate)
		if err != nil {
			return err
		}
		if found && cur.Deployment == c.Deployment {
			outC = cur
			outActs, err = listActions(ctx, tx, c.NodeName, c.Deployment)
			return err
		}
		if found {
			if _, err := tx.ExecContext(ctx, `UPDATE boot_action_contexts SET is_current = FALSE
				WHERE node_name = $1 AND is_current`, c.NodeName); err != nil {
				return fmt.Errorf("retire the current context: %w", err)
			}
		}
		n, err := exec(ctx, tx, `INSERT INTO boot_action_contexts (`+baContextCols+`, is_current)
			VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE) ON CONFLICT DO NOTHING`,
			c.NodeName, c.Deployment, c.DeployTaskID.String(), c.TaskID.String(), c.Key, c.DesignRef, s.ts(c.Created))
		if err != nil {
			return fmt.Errorf("insert context: %w", err)
		}
		if n == 0 {
			// The deployment exists but is not current, or (PostgreSQL) another transaction made
			// a context current meanwhile: the same deployment is then returned.
			cur, found, err := s.currentContext(ctx, tx, c.NodeName, s.d.lockUpdate)
			if err != nil {
				return err
			}
			if found && cur.Deployment == c.Deployment {
				outC = cur
				outActs, err = listActions(ctx, tx, c.NodeName, c.Deployment)
				return err
			}
			if found {
				return fmt.Errorf("deployment is not current: the node's current deployment is %q: %w",
					cur.Deployment, store.ErrConflict)
			}
			return fmt.Errorf("deployment is no longer current: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE boot_actions SET status = $1, updated = $2
			WHERE node_name = $3 AND deployment <> $4 AND status = $5`, store.BootActionSuperseded,
			s.ts(c.Created), c.NodeName, c.Deployment, store.BootActionIncomplete); err != nil {
			return fmt.Errorf("supersede earlier actions: %w", err)
		}
		outC = c
		outActs = make([]store.BootAction, len(actions))
		var st *sql.Stmt
		for i, a := range actions {
			a.NodeName, a.Deployment, a.TaskID, a.Updated = c.NodeName, c.Deployment, c.TaskID, c.Created
			if st == nil {
				if st, err = tx.PrepareContext(ctx, `INSERT INTO boot_actions (`+baCols+`, seq)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`); err != nil {
					return fmt.Errorf("insert actions: %w", err)
				}
				defer st.Close()
			}
			res, err := st.ExecContext(ctx, a.ID, a.NodeName, a.Deployment, a.TaskID.String(), a.Name, a.Signaling,
				a.Status, s.ts(a.Updated), i)
			if err != nil {
				return fmt.Errorf("insert action %s: %w", a.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("insert action %s: %w", a.ID, err)
			} else if n == 0 {
				return fmt.Errorf("boot action id %s is already taken: %w", a.ID, store.ErrConflict)
			}
			outActs[i] = a
		}
		return nil
	})
	if err != nil {
		return store.BootActionContext{}, nil, fmt.Errorf("ensure boot actions of node %q, deployment %q: %w",
			c.NodeName, c.Deployment, err)
	}
	return outC, outActs, nil
}

// currentContext reads (with lock appended to the query) the node's current context.
func (s *Store) currentContext(ctx context.Context, q querier, node, lock string) (store.BootActionContext, bool, error) {
	c, err := scanContext(q.QueryRowContext(ctx, `SELECT `+baContextCols+` FROM boot_action_contexts
		WHERE node_name = $1 AND is_current`+lock, node))
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("current context: %w", err)
	}
	return c, true, nil
}

// listActions returns the actions of a deployment in insertion order.
func listActions(ctx context.Context, q querier, node, deployment string) ([]store.BootAction, error) {
	var out []store.BootAction
	err := eachRow(ctx, q, `SELECT `+baCols+` FROM boot_actions WHERE node_name = $1 AND deployment = $2
		ORDER BY seq`, []any{node, deployment}, func(sc scanner) error {
		a, err := scanAction(sc)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	return out, nil
}

// GetBootActionContext returns the node's current context; ErrNotFound when it has none.
func (s *Store) GetBootActionContext(ctx context.Context, node string) (store.BootActionContext, error) {
	var c store.BootActionContext
	err := s.read(ctx, func(q querier) error {
		var (
			found bool
			err   error
		)
		c, found, err = s.currentContext(ctx, q, node, "")
		if err == nil && !found {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.BootActionContext{}, fmt.Errorf("boot action context of node %q: %w", node, err)
	}
	return c, nil
}

// ListBootActions returns the actions of one deployment of a node in insertion order (none
// when the deployment is unknown).
func (s *Store) ListBootActions(ctx context.Context, node, deployment string) ([]store.BootAction, error) {
	var out []store.BootAction
	err := s.read(ctx, func(q querier) error {
		var err error
		out, err = listActions(ctx, q, node, deployment)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("boot actions of node %q, deployment %q: %w", node, deployment, err)
	}
	return out, nil
}

// GetBootAction returns an action and the identity key of its own deployment's context (which
// need not be the node's current one); ErrNotFound for an unknown or malformed id.
func (s *Store) GetBootAction(ctx context.Context, id string) (store.BootAction, []byte, error) {
	var (
		a   store.BootAction
		key []byte
	)
	err := s.read(ctx, func(q querier) error {
		var err error
		a, err = scanAction(q.QueryRowContext(ctx, `SELECT `+baCols+` FROM boot_actions WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		err = q.QueryRowContext(ctx, `SELECT identity_key FROM boot_action_contexts WHERE node_name = $1
			AND deployment = $2`, a.NodeName, a.Deployment).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) { // cannot happen: the foreign key
			return fmt.Errorf("context of deployment %q: %w", a.Deployment, store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return store.BootAction{}, nil, fmt.Errorf("boot action %q: %w", id, err)
	}
	return a, key, nil
}

// ReportBootAction records a node's report on an incomplete action, in one transaction: the
// messages are added to the action's task (times zero become now), and a status (success or
// failure) finalizes the action (Updated = now). The action row is locked for the transaction
// (PostgreSQL), so a concurrent report waits, then sees the action final: ErrConflict. Nothing
// is written on any error. Once committed, BootActionsChanged waiters are woken.
func (s *Store) ReportBootAction(ctx context.Context, id, status string, msgs []task.Message, now time.Time) (store.BootAction, error) {
	switch status {
	case "", store.BootActionSuccess, store.BootActionFailure:
	default:
		return store.BootAction{}, fmt.Errorf("report boot action %q: status %q is not %s or %s", id, status,
			store.BootActionSuccess, store.BootActionFailure)
	}
	enc, err := s.encodeMessages(msgs, now)
	if err != nil {
		return store.BootAction{}, fmt.Errorf("report boot action %q: %w", id, err)
	}
	var a store.BootAction
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAction(tx.QueryRowContext(ctx, `SELECT `+baCols+` FROM boot_actions WHERE id = $1`+s.d.lockUpdate, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if a.Status != store.BootActionIncomplete {
			return fmt.Errorf("action is %s, not %s: %w", a.Status, store.BootActionIncomplete, store.ErrConflict)
		}
		if err := s.insertMessages(ctx, tx, a.TaskID, enc); err != nil {
			return err
		}
		if status != "" {
			n, err := exec(ctx, tx, `UPDATE boot_actions SET status = $1, updated = $2 WHERE id = $3 AND status = $4`,
				status, s.ts(now), id, store.BootActionIncomplete)
			if err != nil {
				return fmt.Errorf("update status: %w", err)
			}
			if n != 1 {
				return fmt.Errorf("action changed concurrently: %w", store.ErrConflict)
			}
			a.Status, a.Updated = status, norm(now)
		}
		if s.d.notify != "" {
			if _, err := tx.ExecContext(ctx, s.d.notify, s.instance, id); err != nil {
				return fmt.Errorf("notify: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return store.BootAction{}, fmt.Errorf("report boot action %q: %w", id, err)
	}
	s.bootActions.wake()
	return a, nil
}
