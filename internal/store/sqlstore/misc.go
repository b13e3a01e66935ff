package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
)

// SaveDesign stores the design snapshot of a task, replacing any earlier one.
func (s *Store) SaveDesign(ctx context.Context, taskID uuid.UUID, sources []store.DesignSource) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := statusOf(ctx, tx, taskID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM design_snapshots WHERE task_id = $1`, taskID.String()); err != nil {
			return err
		}
		for i, src := range sources {
			data := src.Data
			if data == nil {
				data = []byte{}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO design_snapshots (task_id, seq, name, data)
				VALUES ($1, $2, $3, $4)`, taskID.String(), i, src.Name, data); err != nil {
				return fmt.Errorf("source %q: %w", src.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save design of task %s: %w", taskID, err)
	}
	return nil
}

// LoadDesign returns the design snapshot of a task in the order it was saved; ErrNotFound when
// the task does not exist or has no snapshot.
func (s *Store) LoadDesign(ctx context.Context, taskID uuid.UUID) ([]store.DesignSource, error) {
	var out []store.DesignSource
	err := s.read(ctx, func(q querier) error {
		out = nil
		err := eachRow(ctx, q, `SELECT name, data FROM design_snapshots WHERE task_id = $1 ORDER BY seq`,
			[]any{taskID.String()}, func(sc scanner) error {
				var src store.DesignSource
				if err := sc.Scan(&src.Name, &src.Data); err != nil {
					return err
				}
				if src.Data == nil {
					src.Data = []byte{}
				}
				out = append(out, src)
				return nil
			})
		if err != nil || len(out) > 0 {
			return err
		}
		if _, err := statusOf(ctx, q, taskID); err != nil {
			return err
		}
		return fmt.Errorf("no design snapshot: %w", store.ErrNotFound)
	})
	if err != nil {
		return nil, fmt.Errorf("load design of task %s: %w", taskID, err)
	}
	return out, nil
}

// PutNodeState records the last known state of a node, replacing the previous one.
func (s *Store) PutNodeState(ctx context.Context, node string, state []byte, now time.Time) error {
	if state == nil {
		state = []byte{}
	}
	err := s.batch.do(ctx, func(ctx context.Context, tx *sql.Tx, bc *batchCtx) error {
		_, err := bc.exec(ctx, `INSERT INTO node_state (node, state, updated) VALUES ($1, $2, $3)
			ON CONFLICT (node) DO UPDATE SET state = excluded.state, updated = excluded.updated`,
			node, state, s.ts(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("put state of node %q: %w", node, err)
	}
	return nil
}

// GetNodeStates returns the last known state of every node.
func (s *Store) GetNodeStates(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.read(ctx, func(q querier) error {
		clear(out)
		return eachRow(ctx, q, `SELECT node, state FROM node_state`, nil, func(sc scanner) error {
			var node string
			var state []byte
			if err := sc.Scan(&node, &state); err != nil {
				return err
			}
			if state == nil {
				state = []byte{}
			}
			out[node] = state
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("get node states: %w", err)
	}
	return out, nil
}
