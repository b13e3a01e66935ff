package sqlstore

import (
	"database/sql"
	"errors"
	"time"

	"github.com/pressly/goose/v3"
)

// Dialect is what differs between the SQL engines. Use the SQLite and Postgres values.
type Dialect struct {
	name  string
	goose goose.Dialect
	// lockShare and lockUpdate end a SELECT that reads a row the transaction depends on (shared)
	// or will update (exclusive).
	lockShare, lockUpdate string
	// skipLocked ends the SELECT that picks a task to claim.
	skipLocked string
	// bindTime turns a UTC, microsecond-truncated time into a query argument.
	bindTime func(time.Time) any
	// readTx are the options of read transactions.
	readTx *sql.TxOptions
	// advisoryLock makes Migrate hold a PostgreSQL advisory lock.
	advisoryLock bool
	// notify tells other processes, in the transaction of a boot action report, that boot
	// actions changed ("" when the engine cannot: SQLite). Its arguments are the Store's
	// instance and the action id.
	notify string
}

// SQLite is the dialect of modernc.org/sqlite: timestamps are INTEGER Unix nanoseconds, and
// there are no row locks (one writer at a time).
var SQLite = Dialect{
	name:     "sqlite",
	goose:    goose.DialectSQLite3,
	bindTime: func(t time.Time) any { return t.UnixNano() },
}

// Postgres is the dialect of PostgreSQL through pgx: timestamptz columns, row locks, SKIP
// LOCKED claims, repeatable-read snapshots for reads, and migrations under an advisory lock.
var Postgres = Dialect{
	name:         "postgres",
	goose:        goose.DialectPostgres,
	lockShare:    " FOR SHARE",
	lockUpdate:   " FOR NO KEY UPDATE",
	skipLocked:   " FOR UPDATE SKIP LOCKED",
	bindTime:     func(t time.Time) any { return t },
	readTx:       &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	advisoryLock: true,
	notify: `SELECT pg_notify('` + BootActionsChannel + `', $1 || ' ' || COALESCE(current_schema(), '') || ' ' ||
		left($2, 200))`,
}

// Name is the engine's name ("sqlite" or "postgres").
func (d Dialect) Name() string { return d.name }

// retryable reports whether a transaction failed for a transient reason and may be run again:
// a PostgreSQL serialization failure or detected deadlock, or SQLite's busy or locked (which
// busy_timeout and BEGIN IMMEDIATE make rare).
func retryable(err error) bool {
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		switch pg.SQLState() {
		case "40001", "40P01":
			return true
		}
		return false
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}
