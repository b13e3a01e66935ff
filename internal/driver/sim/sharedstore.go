package sim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/design"
)

// Statements of shared mode (prepared on the single write connection, used inside its
// transactions).
var (
	sqlInsertMachineIgnore = strings.Replace(sqlInsertMachine, "INSERT INTO", "INSERT OR IGNORE INTO", 1)
)

const (
	sqlSelectClaim = `SELECT owner, until FROM claims WHERE name = $1`
	sqlPutClaim    = `INSERT INTO claims (name, owner, kind, until) VALUES ($1, $2, $3, $4)
	ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, kind = excluded.kind, until = excluded.until`
	sqlRenewClaim   = `UPDATE claims SET until = $3 WHERE name = $1 AND owner = $2`
	sqlDropClaim    = `DELETE FROM claims WHERE name = $1 AND owner = $2`
	sqlReserveID    = `INSERT OR IGNORE INTO system_ids (id, node) VALUES ($1, $2)`
	sqlOwnerOfID    = `SELECT node FROM system_ids WHERE id = $1`
	sqlSelectDigest = `SELECT digest FROM site_config WHERE step = $1`
	// Machines hold the system ids they report; a reservation that disagrees (the file was used
	// in the default mode, which keeps reservations in memory) gives way to the machine.
	sqlReconcileIDs = `INSERT OR REPLACE INTO system_ids (id, node)
	SELECT system_id, name FROM machines m WHERE system_id != ''
	AND NOT EXISTS (SELECT 1 FROM system_ids s WHERE s.id = m.system_id AND s.node = m.name)`
)

type sharedStmts struct {
	selMachine, insMachine, selClaim, putClaim, renewClaim, dropClaim, reserveID, ownerOfID, selDigest *sql.Stmt
}

func (s *sharedStmts) all() []*sql.Stmt {
	var out []*sql.Stmt
	for _, st := range []*sql.Stmt{s.selMachine, s.insMachine, s.selClaim, s.putClaim, s.renewClaim,
		s.dropClaim, s.reserveID, s.ownerOfID, s.selDigest} {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

// prepareShared prepares the shared-mode statements and reconciles the system id reservations
// with the machines. No writer goroutine runs in shared mode.
func (d *db) prepareShared(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&d.sh.selMachine, sqlSelectMachine}, {&d.sh.insMachine, sqlInsertMachineIgnore},
		{&d.sh.selClaim, sqlSelectClaim}, {&d.sh.putClaim, sqlPutClaim},
		{&d.sh.renewClaim, sqlRenewClaim}, {&d.sh.dropClaim, sqlDropClaim},
		{&d.sh.reserveID, sqlReserveID}, {&d.sh.ownerOfID, sqlOwnerOfID},
		{&d.sh.selDigest, sqlSelectDigest},
	} {
		s, err := d.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sim: prepare: %w", err)
		}
		*p.stmt = s
	}
	return d.immediate(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlReconcileIDs); err != nil {
			return fmt.Errorf("sim: reconcile system ids: %w", err)
		}
		return nil
	})
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (primary or extended code).
func isBusy(err error) bool {
	var c interface{ Code() int }
	if errors.As(err, &c) {
		switch c.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}

// immediate runs fn in one write transaction and commits it unless fn fails (then nothing of
// it happened). The transaction starts with BEGIN IMMEDIATE (the DSN's _txlock), so it holds
// SQLite's write lock from its first read: a read-modify-write in fn is atomic across
// processes. Waiting for another process's write lock is SQLite's busy_timeout; BEGIN is
// retried when it still answers SQLITE_BUSY (busy_timeout expired, or a WAL recovery that
// SQLite does not wait for), until ctx ends or twice the busy timeout has passed.
//
// ctx only bounds the wait to begin. Once begun, the transaction runs to its end on its own
// context: a caller that gives up must not leave it unknown whether its change was committed.
func (d *db) immediate(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	give := time.Now().Add(2 * busyTimeout(true))
	backoff := time.Millisecond
	for {
		tx, done, err := d.begin(ctx)
		if err == nil {
			err = runTx(tx, fn)
			done()
			return err
		}
		if !isBusy(err) || ctx.Err() != nil || time.Now().After(give) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("sim: begin: %w", err)
		}
		if err := realSleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, 50*time.Millisecond)
	}
}

func runTx(tx *sql.Tx, fn func(context.Context, *sql.Tx) error) error {
	if err := fn(context.Background(), tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sim: commit: %w", err)
	}
	return nil
}

// begin starts a write transaction, giving up when ctx ends while it waits for the connection
// or for the write lock. The transaction itself is not bound to ctx (database/sql would roll it
// back when ctx ends); done releases its context once it is committed or rolled back.
func (d *db) begin(ctx context.Context) (*sql.Tx, func(), error) {
	if ctx.Done() == nil {
		tx, err := d.w.BeginTx(context.Background(), nil)
		return tx, func() {}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	bctx, cancel := context.WithCancel(context.Background())
	unhook := context.AfterFunc(ctx, cancel)
	tx, err := d.w.BeginTx(bctx, nil)
	if !unhook() {
		// ctx ended while beginning: bctx is (being) cancelled, so the transaction, if it began,
		// is given up without having done anything.
		if err == nil {
			tx.Rollback()
		}
		cancel()
		return nil, nil, ctx.Err()
	}
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return tx, cancel, nil
}

// machine reads one machine row in tx; ok is false when there is none.
func (d *db) machine(ctx context.Context, tx *sql.Tx, name string) (Machine, bool, error) {
	m, err := scanMachine(tx.StmtContext(ctx, d.sh.selMachine).QueryRowContext(ctx, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Machine{}, false, nil
	}
	if err != nil {
		return Machine{}, false, fmt.Errorf("sim: read machine %s: %w", name, err)
	}
	return m, true, nil
}

// create materialises the machine of n unless it exists (INSERT OR IGNORE: another process
// may have created it a moment ago), logging the creation only when this call inserted it.
func (d *db) create(ctx context.Context, tx *sql.Tx, n *design.Node, now time.Time) error {
	m := newMachine(n, now)
	res, err := tx.StmtContext(ctx, d.sh.insMachine).ExecContext(ctx, insertArgs(&m)...)
	if err != nil {
		return fmt.Errorf("sim: insert machine %s: %w", m.Name, err)
	}
	if k, _ := res.RowsAffected(); k == 1 {
		return d.appendOps(ctx, tx, []Op{createOp(&m, now)})
	}
	return nil
}

// loadOrCreate reads the machine of n in tx, creating it first when it does not exist.
func (d *db) loadOrCreate(ctx context.Context, tx *sql.Tx, n *design.Node, now time.Time) (Machine, error) {
	m, ok, err := d.machine(ctx, tx, n.Name)
	if err != nil || ok {
		return m, err
	}
	if err := d.create(ctx, tx, n, now); err != nil {
		return Machine{}, err
	}
	if m, ok, err = d.machine(ctx, tx, n.Name); err == nil && !ok {
		err = fmt.Errorf("sim: machine %s: not found after insert", n.Name)
	}
	return m, err
}

// record writes the new state of m and its log entries in tx.
func (d *db) record(ctx context.Context, tx *sql.Tx, m *Machine, ops []Op) error {
	res, err := tx.StmtContext(ctx, d.updMachine).ExecContext(ctx, updateArgs(m)...)
	if err != nil {
		return fmt.Errorf("sim: update machine %s: %w", m.Name, err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return fmt.Errorf("sim: update machine %s: no such row", m.Name)
	}
	return d.appendOps(ctx, tx, ops)
}

func (d *db) appendOps(ctx context.Context, tx *sql.Tx, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, d.insOp)
	for _, o := range ops {
		if _, err := st.ExecContext(ctx, nanos(o.Time), o.Node, o.Operation, o.Detail); err != nil {
			return fmt.Errorf("sim: append log: %w", err)
		}
	}
	return nil
}

// claimOf reads the claim on name in tx ("" and 0 when there is none).
func (d *db) claimOf(ctx context.Context, tx *sql.Tx, name string) (owner string, until int64, err error) {
	err = tx.StmtContext(ctx, d.sh.selClaim).QueryRowContext(ctx, name).Scan(&owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("sim: read claim on %q: %w", name, err)
	}
	return owner, until, nil
}

// peekClaim reads the claim on name outside any write transaction (for polling).
func (d *db) peekClaim(ctx context.Context, name string) (owner string, until int64, err error) {
	err = d.r.QueryRowContext(ctx, sqlSelectClaim, name).Scan(&owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	return owner, until, err
}

func (d *db) putClaim(ctx context.Context, tx *sql.Tx, name, owner string, k Kind, until time.Time) error {
	if _, err := tx.StmtContext(ctx, d.sh.putClaim).ExecContext(ctx, name, owner, string(k), until.UnixNano()); err != nil {
		return fmt.Errorf("sim: claim %q: %w", name, err)
	}
	return nil
}

// renewClaim extends a claim that owner still holds; false when it no longer does.
func (d *db) renewClaim(ctx context.Context, tx *sql.Tx, name, owner string, until time.Time) (bool, error) {
	res, err := tx.StmtContext(ctx, d.sh.renewClaim).ExecContext(ctx, name, owner, until.UnixNano())
	if err != nil {
		return false, fmt.Errorf("sim: renew claim on %q: %w", name, err)
	}
	k, _ := res.RowsAffected()
	return k == 1, nil
}

func (d *db) dropClaim(ctx context.Context, tx *sql.Tx, name, owner string) error {
	if _, err := tx.StmtContext(ctx, d.sh.dropClaim).ExecContext(ctx, name, owner); err != nil {
		return fmt.Errorf("sim: drop claim on %q: %w", name, err)
	}
	return nil
}

// reserveSystemID reserves a system id for node in tx: the first candidate (gen(node, 0),
// gen(node, 1), ...) that is free or already node's. The system_ids primary key makes a
// reservation unique whatever process makes it; INSERT OR IGNORE then read tells whether this
// node got it.
func (d *db) reserveSystemID(ctx context.Context, tx *sql.Tx, node string, gen func(string, int) string) (string, error) {
	ins, sel := tx.StmtContext(ctx, d.sh.reserveID), tx.StmtContext(ctx, d.sh.ownerOfID)
	for try := 0; try < 1_000_000; try++ {
		id := gen(node, try)
		if _, err := ins.ExecContext(ctx, id, node); err != nil {
			return "", fmt.Errorf("sim: reserve system id: %w", err)
		}
		var owner string
		if err := sel.QueryRowContext(ctx, id).Scan(&owner); err != nil {
			return "", fmt.Errorf("sim: reserve system id: %w", err)
		}
		if owner == node {
			return id, nil
		}
	}
	return "", fmt.Errorf("sim: no free system id for %s", node)
}

// siteDigest reads the digest a prepare_site step was applied with ("" when never).
func (d *db) siteDigest(ctx context.Context, tx *sql.Tx, step string) (string, error) {
	var digest string
	err := tx.StmtContext(ctx, d.sh.selDigest).QueryRowContext(ctx, step).Scan(&digest)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sim: read site configuration: %w", err)
	}
	return digest, nil
}

func (d *db) putSiteStep(ctx context.Context, tx *sql.Tx, st siteStep) error {
	if _, err := tx.StmtContext(ctx, d.upsSite).ExecContext(ctx, st.step, st.digest, nanos(st.at)); err != nil {
		return fmt.Errorf("sim: record site step: %w", err)
	}
	return nil
}

// machineRO reads one machine outside any transaction.
func (d *db) machineRO(ctx context.Context, name string) (Machine, bool, error) {
	m, err := scanMachine(d.r.QueryRowContext(ctx, sqlSelectMachine, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Machine{}, false, nil
	}
	if err != nil {
		return Machine{}, false, fmt.Errorf("sim: read machine %s: %w", name, err)
	}
	return m, true, nil
}

// names returns which of the nodes have a machine (reading them one by one when they are
// few, else every name).
func (d *db) names(ctx context.Context, nodes []*design.Node) (map[string]bool, error) {
	out := map[string]bool{}
	if len(nodes) <= 8 {
		for _, n := range nodes {
			var one int
			err := d.r.QueryRowContext(ctx, `SELECT 1 FROM machines WHERE name = $1`, n.Name).Scan(&one)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("sim: read machine %s: %w", n.Name, err)
			}
			out[n.Name] = err == nil
		}
		return out, nil
	}
	rows, err := d.r.QueryContext(ctx, `SELECT name FROM machines`)
	if err != nil {
		return nil, fmt.Errorf("sim: list machines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sim: list machines: %w", err)
		}
		out[n] = true
	}
	return out, rows.Err()
}
