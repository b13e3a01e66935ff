package sim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/drydock-go/drydock/internal/driver"
)

// schemaVersion is stored in PRAGMA user_version.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS machines (
	name        TEXT PRIMARY KEY,
	boot_mac    TEXT NOT NULL,
	nics        TEXT NOT NULL,
	disks       TEXT NOT NULL,
	power       TEXT NOT NULL,
	next_boot   TEXT NOT NULL,
	last_cycle  INTEGER NOT NULL,
	status      TEXT NOT NULL,
	system_id   TEXT NOT NULL,
	op          TEXT NOT NULL,
	op_started  INTEGER NOT NULL,
	op_duration INTEGER NOT NULL,
	op_outcome  TEXT NOT NULL,
	op_key      TEXT NOT NULL,
	op_done     INTEGER NOT NULL,
	networking  TEXT NOT NULL,
	storage     TEXT NOT NULL,
	platform    TEXT NOT NULL,
	deploys     INTEGER NOT NULL,
	seq         INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ops (
	seq    INTEGER PRIMARY KEY,
	at     INTEGER NOT NULL,
	node   TEXT NOT NULL,
	op     TEXT NOT NULL,
	detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ops_node_at ON ops(node, at, seq);
CREATE INDEX IF NOT EXISTS ops_at ON ops(at, seq);
CREATE TABLE IF NOT EXISTS site_config (
	step   TEXT PRIMARY KEY,
	digest TEXT NOT NULL,
	at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
	name  TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	kind  TEXT NOT NULL,
	until INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS system_ids (
	id   TEXT PRIMARY KEY,
	node TEXT NOT NULL
);
`

// The claims and system_ids tables serve shared mode (the default mode keeps both in memory;
// they are created in every file, empty, so that a file can be reopened in either mode).
// claims holds the machines (name; "" for the site-wide operations) that an operation of some
// process holds while it waits out a latency: owner is that operation's token, until the
// real-clock expiry in Unix nanoseconds. system_ids holds the system id reservations; its
// primary key is what keeps system ids unique across processes.

const (
	sqlInsertMachine = `INSERT INTO machines (name, boot_mac, nics, disks, power, next_boot, last_cycle,
	status, system_id, op, op_started, op_duration, op_outcome, op_key, op_done, networking, storage,
	platform, deploys, seq, created, updated)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`
	sqlUpdateMachine = `UPDATE machines SET power = $2, next_boot = $3, last_cycle = $4, status = $5,
	system_id = $6, op = $7, op_started = $8, op_duration = $9, op_outcome = $10, op_key = $11,
	op_done = $12, networking = $13, storage = $14, platform = $15, deploys = $16, seq = $17,
	updated = $18 WHERE name = $1`
	sqlInsertOp   = `INSERT INTO ops (at, node, op, detail) VALUES ($1, $2, $3, $4)`
	sqlUpsertSite = `INSERT INTO site_config (step, digest, at) VALUES ($1, $2, $3)
	ON CONFLICT (step) DO UPDATE SET digest = excluded.digest, at = excluded.at`
	sqlMachineColumns = `name, boot_mac, nics, disks, power, next_boot, last_cycle, status,
	system_id, op, op_started, op_duration, op_outcome, op_key, op_done, networking, storage,
	platform, deploys, seq, created, updated`
	sqlSelectMachines = `SELECT ` + sqlMachineColumns + ` FROM machines ORDER BY name`
	sqlSelectMachine  = `SELECT ` + sqlMachineColumns + ` FROM machines WHERE name = $1`
)

// maxBatch bounds how many operations share one transaction.
const maxBatch = 512

// write is the durable part of one operation: everything in it commits together or not at all.
type write struct {
	create []*Machine
	update []*Machine
	ops    []Op
	site   []siteStep
	done   chan error
}

type siteStep struct {
	step, digest string
	at           time.Time
}

// db is the site's SQLite file: one connection writes (SQLite has one writer), fed by a
// goroutine that commits the operations waiting at that moment together (group commit: each
// operation is atomic, and many share one fsync-free WAL commit); reads of the log use their
// own connections when the database is a file.
type db struct {
	w, r   *sql.DB
	queue  chan *write
	exited chan struct{}
	shared bool // no writer goroutine: every operation runs its own transaction (shared.go)

	insMachine, updMachine, insOp, upsSite *sql.Stmt
	sh                                     sharedStmts
}

// busyTimeout is SQLite's busy_timeout: how long a connection waits for another one (another
// process, in shared mode) to release the write lock before it gives up with SQLITE_BUSY.
func busyTimeout(shared bool) time.Duration {
	if shared {
		return 30 * time.Second
	}
	return 5 * time.Second
}

func openDB(path string, readOnly, shared bool) (*db, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sim: database path %q must not contain '?' or '#'", path)
	}
	d := &db{shared: shared}
	var err error
	busy := fmt.Sprintf("busy_timeout(%d)", busyTimeout(shared).Milliseconds())
	if path == "" {
		if readOnly {
			return nil, errors.New("sim: a read-only site needs a file")
		}
		if shared {
			return nil, errors.New("sim: a shared site needs a file")
		}
		// One connection that never closes: it holds the whole in-memory database.
		d.w, err = openOneConn(":memory:?_pragma=foreign_keys(1)")
		if err != nil {
			return nil, err
		}
		d.r = d.w
	} else {
		if readOnly {
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("sim: %w", err)
			}
			d.r, err = sql.Open("sqlite", path+"?_pragma="+busy+"&_query_only=1")
			if err != nil {
				return nil, err
			}
			d.w = nil
		} else {
			// _txlock=immediate: every transaction starts with BEGIN IMMEDIATE, taking the write
			// lock before it reads, so a read-modify-write is atomic across processes too.
			d.w, err = openOneConn(path +
				"?_pragma=" + busy + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
			if err != nil {
				return nil, err
			}
			d.r, err = sql.Open("sqlite", path+"?_pragma="+busy+"&_query_only=1")
			if err != nil {
				d.w.Close()
				return nil, err
			}
			d.r.SetMaxOpenConns(4)
		}
	}
	if err := d.init(readOnly); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// openOneConn opens a pool of exactly one connection that is never closed while the pool
// lives: the single writer (or the whole in-memory database).
func openOneConn(dsn string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

func (d *db) init(readOnly bool) error {
	ctx := context.Background()
	var v int
	if err := d.r.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("sim: read schema version: %w", err)
	}
	if v != 0 && v != schemaVersion {
		return fmt.Errorf("sim: database schema version %d, this build knows %d", v, schemaVersion)
	}
	if readOnly {
		if v == 0 {
			return errors.New("sim: not a simulator database (no schema)")
		}
		return nil
	}
	if _, err := d.w.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("sim: create schema: %w", err)
	}
	if _, err := d.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("sim: set schema version: %w", err)
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&d.insMachine, sqlInsertMachine}, {&d.updMachine, sqlUpdateMachine}, {&d.insOp, sqlInsertOp}, {&d.upsSite, sqlUpsertSite}} {
		s, err := d.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sim: prepare: %w", err)
		}
		*p.stmt = s
	}
	if d.shared {
		return d.prepareShared(ctx)
	}
	d.queue = make(chan *write, 4*maxBatch)
	d.exited = make(chan struct{})
	go d.writer()
	return nil
}

// commit hands one operation to the writer and waits until it is durable (or failed). It
// never gives up early: the caller must know whether the operation happened.
func (d *db) commit(w *write) error {
	w.done = make(chan error, 1)
	d.queue <- w
	return <-w.done
}

func (d *db) writer() {
	defer close(d.exited)
	batch := make([]*write, 0, maxBatch)
	for w := range d.queue {
		batch = append(batch[:0], w)
	fill:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-d.queue:
				if !ok {
					break fill
				}
				batch = append(batch, w)
			default:
				break fill
			}
		}
		err := d.apply(batch)
		if err != nil && len(batch) > 1 {
			// One bad operation must not sink the others: redo them one by one.
			for _, w := range batch {
				w.done <- d.apply([]*write{w})
			}
			continue
		}
		for _, w := range batch {
			w.done <- err
		}
	}
}

func (d *db) apply(batch []*write) (err error) {
	ctx := context.Background()
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sim: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var insM, updM, insO, upsS *sql.Stmt
	for _, w := range batch {
		for _, m := range w.create {
			if insM == nil {
				insM = tx.StmtContext(ctx, d.insMachine)
			}
			if _, err = insM.ExecContext(ctx, insertArgs(m)...); err != nil {
				return fmt.Errorf("sim: insert machine %s: %w", m.Name, err)
			}
		}
		for _, m := range w.update {
			if updM == nil {
				updM = tx.StmtContext(ctx, d.updMachine)
			}
			var res sql.Result
			if res, err = updM.ExecContext(ctx, updateArgs(m)...); err != nil {
				return fmt.Errorf("sim: update machine %s: %w", m.Name, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				err = fmt.Errorf("sim: update machine %s: no such row", m.Name)
				return err
			}
		}
		for _, o := range w.ops {
			if insO == nil {
				insO = tx.StmtContext(ctx, d.insOp)
			}
			if _, err = insO.ExecContext(ctx, nanos(o.Time), o.Node, o.Operation, o.Detail); err != nil {
				return fmt.Errorf("sim: append log: %w", err)
			}
		}
		for _, s := range w.site {
			if upsS == nil {
				upsS = tx.StmtContext(ctx, d.upsSite)
			}
			if _, err = upsS.ExecContext(ctx, s.step, s.digest, nanos(s.at)); err != nil {
				return fmt.Errorf("sim: record site step: %w", err)
			}
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sim: commit: %w", err)
	}
	return nil
}

// insertArgs are the arguments of sqlInsertMachine for m.
func insertArgs(m *Machine) []any {
	nics, _ := json.Marshal(m.NICs)
	disks, _ := json.Marshal(m.Disks)
	return []any{m.Name, m.BootMAC, string(nics), string(disks), m.Power,
		string(m.NextBoot), nanos(m.LastCycle), m.Status, m.SystemID, string(m.Op),
		nanos(m.OpStarted), int64(m.OpDuration), m.OpOutcome, m.OpKey, m.OpDone, m.Networking,
		m.Storage, m.Platform, m.Deploys, m.Seq, nanos(m.Created), nanos(m.Updated)}
}

// updateArgs are the arguments of sqlUpdateMachine for m.
func updateArgs(m *Machine) []any {
	return []any{m.Name, m.Power, string(m.NextBoot), nanos(m.LastCycle),
		m.Status, m.SystemID, string(m.Op), nanos(m.OpStarted), int64(m.OpDuration), m.OpOutcome,
		m.OpKey, m.OpDone, m.Networking, m.Storage, m.Platform, m.Deploys, m.Seq,
		nanos(m.Updated)}
}

// close stops the writer after it has committed everything queued, and closes the database.
// The caller guarantees nobody commits any more.
func (d *db) close() error {
	if d.queue != nil {
		close(d.queue)
		<-d.exited
	}
	var errs []error
	for _, s := range append([]*sql.Stmt{d.insMachine, d.updMachine, d.insOp, d.upsSite}, d.sh.all()...) {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if d.r != nil && d.r != d.w {
		errs = append(errs, d.r.Close())
	}
	if d.w != nil {
		errs = append(errs, d.w.Close())
	}
	return errors.Join(errs...)
}

// loadMachines reads every machine row.
func (d *db) loadMachines(ctx context.Context) ([]Machine, error) {
	rows, err := d.r.QueryContext(ctx, sqlSelectMachines)
	if err != nil {
		return nil, fmt.Errorf("sim: load machines: %w", err)
	}
	defer rows.Close()
	var out []Machine
	for rows.Next() {
		m, err := scanMachine(rows)
		if err != nil {
			return nil, fmt.Errorf("sim: load machines: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// scanMachine reads one row of sqlMachineColumns.
func scanMachine(row interface{ Scan(...any) error }) (Machine, error) {
	var m Machine
	var nics, disks, nextBoot, op string
	var lastCycle, opStarted, opDuration, created, updated int64
	if err := row.Scan(&m.Name, &m.BootMAC, &nics, &disks, &m.Power, &nextBoot, &lastCycle,
		&m.Status, &m.SystemID, &op, &opStarted, &opDuration, &m.OpOutcome, &m.OpKey, &m.OpDone,
		&m.Networking, &m.Storage, &m.Platform, &m.Deploys, &m.Seq, &created, &updated); err != nil {
		return Machine{}, err
	}
	if err := json.Unmarshal([]byte(nics), &m.NICs); err != nil {
		return Machine{}, fmt.Errorf("machine %s: nics: %w", m.Name, err)
	}
	if err := json.Unmarshal([]byte(disks), &m.Disks); err != nil {
		return Machine{}, fmt.Errorf("machine %s: disks: %w", m.Name, err)
	}
	m.NextBoot = driver.BootDevice(nextBoot)
	m.Op = Kind(op)
	m.LastCycle, m.OpStarted = fromNanos(lastCycle), fromNanos(opStarted)
	m.OpDuration = time.Duration(opDuration)
	m.Created, m.Updated = fromNanos(created), fromNanos(updated)
	return m, nil
}

func (d *db) loadSite(ctx context.Context) (map[string]string, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT step, digest FROM site_config`)
	if err != nil {
		return nil, fmt.Errorf("sim: load site configuration: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

func (d *db) log(ctx context.Context, node string) ([]Op, error) {
	q := `SELECT seq, at, node, op, detail FROM ops ORDER BY at, seq`
	var args []any
	if node != "" {
		q = `SELECT seq, at, node, op, detail FROM ops WHERE node = $1 ORDER BY at, seq`
		args = append(args, node)
	}
	rows, err := d.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sim: read log: %w", err)
	}
	defer rows.Close()
	var out []Op
	for rows.Next() {
		var o Op
		var at int64
		if err := rows.Scan(&o.Seq, &at, &o.Node, &o.Operation, &o.Detail); err != nil {
			return nil, fmt.Errorf("sim: read log: %w", err)
		}
		o.Time = fromNanos(at)
		out = append(out, o)
	}
	return out, rows.Err()
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
