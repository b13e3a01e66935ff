package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
)

// PutBuildData inserts one build data record, after checking in the same transaction that its
// task exists (ErrNotFound otherwise). A zero Collected time is now. Drivers report such facts
// for many nodes at once, so the write goes through the group commit, like PutNodeState.
func (s *Store) PutBuildData(ctx context.Context, bd store.BuildData) error {
	var missing []string
	if bd.NodeName == "" {
		missing = append(missing, "node name")
	}
	if bd.Generator == "" {
		missing = append(missing, "generator")
	}
	if bd.Format == "" {
		missing = append(missing, "format")
	}
	if len(missing) > 0 {
		return fmt.Errorf("put build data of node %q, task %s: no %s", bd.NodeName, bd.TaskID,
			strings.Join(missing, ", "))
	}
	if bd.Collected.IsZero() {
		bd.Collected = time.Now()
	}
	if bd.Data == nil {
		bd.Data = []byte{}
	}
	err := s.batch.do(ctx, func(ctx context.Context, tx *sql.Tx, bc *batchCtx) error {
		row, err := bc.queryRow(ctx, `SELECT 1 FROM tasks WHERE id = $1`, bd.TaskID.String())
		if err != nil {
			return err
		}
		var one int
		if err := row.Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("task %s: %w", bd.TaskID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		_, err = bc.exec(ctx, `INSERT INTO build_data (node_name, task_id, collected, generator, data_format, data)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			bd.NodeName, bd.TaskID.String(), s.ts(bd.Collected), bd.Generator, bd.Format, bd.Data)
		return err
	})
	if err != nil {
		return fmt.Errorf("put build data of node %q, task %s: %w", bd.NodeName, bd.TaskID, err)
	}
	return nil
}

const buildDataCols = `node_name, task_id, collected, generator, data_format, data`

// ListBuildData returns the build data records matching q, oldest first (by collected time,
// then insertion order); with Latest, only the newest matching record of each (node,
// generator), ordered by node, then generator.
func (s *Store) ListBuildData(ctx context.Context, q store.BuildDataQuery) ([]store.BuildData, error) {
	var a params
	var where []string
	if q.NodeName != "" {
		where = append(where, `node_name = `+a.add(q.NodeName))
	}
	if q.TaskID != nil {
		where = append(where, `task_id = `+a.add(q.TaskID.String()))
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, ` AND `)
	}
	query := `SELECT ` + buildDataCols + ` FROM build_data` + cond + ` ORDER BY collected, seq`
	if q.Latest {
		query = `SELECT ` + buildDataCols + ` FROM (
				SELECT ` + buildDataCols + `, ROW_NUMBER() OVER (PARTITION BY node_name, generator
					ORDER BY collected DESC, seq DESC) AS rn
				FROM build_data` + cond + `
			) AS newest
			WHERE rn = 1 ORDER BY node_name, generator`
	}
	var out []store.BuildData
	err := s.read(ctx, func(qr querier) error {
		out = nil
		return eachRow(ctx, qr, query, a.v, func(sc scanner) error {
			var (
				bd        store.BuildData
				taskID    string
				collected nullTime
			)
			if err := sc.Scan(&bd.NodeName, &taskID, &collected, &bd.Generator, &bd.Format, &bd.Data); err != nil {
				return err
			}
			id, err := uuid.Parse(taskID)
			if err != nil {
				return fmt.Errorf("task id %q: %w", taskID, err)
			}
			bd.TaskID, bd.Collected = id, collected.t
			if bd.Data == nil {
				bd.Data = []byte{}
			}
			out = append(out, bd)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list build data: %w", err)
	}
	return out, nil
}
