package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/drydock-go/drydock/internal/store"
)

// purgeChunk bounds the number of task trees handled by one statement.
const purgeChunk = 200

// Purge deletes, in one transaction:
//   - every finished (complete or terminated) top-level task created before before, with its
//     whole tree (every task whose root_id is it, at any depth) and everything referencing those
//     tasks: messages, step runs, design snapshots, node reservations and wanted nodes, build
//     data, boot action contexts and actions (explicitly or through ON DELETE CASCADE);
//   - the build data collected before before by the tasks of other finished trees.
//
// A tree is judged by its top-level task: nothing of a requested, queued, running or terminating
// tree is touched, whatever the status or age of its subtasks. On PostgreSQL the top-level rows
// of the trees concerned are locked first (and re-checked if they changed meanwhile), so a tree
// being requeued is either purged before the requeue or not at all. Counts: Tasks is every task
// deleted (top-level and subtasks), BootActions every boot action (not the contexts).
//
// There is no VACUUM: the space freed is reused by later inserts (SQLite's free pages,
// PostgreSQL's autovacuum); reclaiming it for the file system is an operator's decision.
func (s *Store) Purge(ctx context.Context, before time.Time) (store.PurgeResult, error) {
	var res store.PurgeResult
	cutoff := s.ts(before)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res = store.PurgeResult{}
		// The finished trees concerned: old ones (deleted whole), and newer ones with old build data.
		var old, newer []string
		err := eachRow(ctx, tx, `SELECT r.id, r.created < $1 FROM tasks r
			WHERE r.parent_id IS NULL AND r.status IN ('complete', 'terminated')
				AND (r.created < $1 OR r.id IN (SELECT t.root_id FROM build_data b JOIN tasks t ON t.id = b.task_id
					WHERE b.collected < $1))
			ORDER BY r.id`+s.d.lockUpdate, []any{cutoff}, func(sc scanner) error {
			var (
				id    string
				isOld bool
			)
			if err := sc.Scan(&id, &isOld); err != nil {
				return err
			}
			if isOld {
				old = append(old, id)
			} else {
				newer = append(newer, id)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("find finished trees: %w", err)
		}
		for chunk := range slices.Chunk(old, purgeChunk) {
			if err := s.purgeTrees(ctx, tx, chunk, &res); err != nil {
				return err
			}
		}
		for chunk := range slices.Chunk(newer, purgeChunk) {
			var a params
			list := in(&a, chunk)
			n, err := exec(ctx, tx, `DELETE FROM build_data WHERE collected < `+a.add(cutoff)+`
				AND task_id IN (SELECT id FROM tasks WHERE root_id IN `+list+`)`, a.v...)
			if err != nil {
				return fmt.Errorf("delete old build data: %w", err)
			}
			res.BuildData += n
		}
		return nil
	})
	if err != nil {
		return store.PurgeResult{}, fmt.Errorf("purge before %s: %w", norm(before).Format(time.RFC3339Nano), err)
	}
	return res, nil
}

// purgeTrees deletes the trees of the given top-level tasks. The tasks are counted before they
// are deleted: SQLite does not count the rows a foreign key cascade deletes, and subtasks go by
// cascade as well as by the statement.
func (s *Store) purgeTrees(ctx context.Context, tx *sql.Tx, roots []string, res *store.PurgeResult) error {
	var a params
	list := in(&a, roots)
	tree := `SELECT id FROM tasks WHERE root_id IN ` + list
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks WHERE root_id IN `+list, a.v...).Scan(&n); err != nil {
		return fmt.Errorf("count tasks: %w", err)
	}
	res.Tasks += n
	// Boot actions and build data are deleted explicitly to count them; the rest goes with the
	// tasks (ON DELETE CASCADE).
	for _, st := range []struct {
		what, query string
		count       *int64
	}{
		{"boot actions", `DELETE FROM boot_actions WHERE task_id IN (` + tree + `)`, &res.BootActions},
		{"boot action contexts", `DELETE FROM boot_action_contexts WHERE task_id IN (` + tree + `)
			OR deploy_task_id IN (` + tree + `)`, nil},
		{"build data", `DELETE FROM build_data WHERE task_id IN (` + tree + `)`, &res.BuildData},
		{"tasks", `DELETE FROM tasks WHERE root_id IN ` + list, nil},
	} {
		n, err := exec(ctx, tx, st.query, a.v...)
		if err != nil {
			return fmt.Errorf("delete %s: %w", st.what, err)
		}
		if st.count != nil {
			*st.count += n
		}
	}
	return nil
}
