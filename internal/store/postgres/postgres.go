// Package postgres is Drydock's PostgreSQL state store, for production and for several
// orchestrator instances sharing the work. The store itself is sqlstore's (shared with SQLite);
// this package opens the database through pgx's database/sql driver and migrates the schema
// at open, under an advisory lock so that instances starting together migrate one at a time.
//
// The URL is pgx's: postgres://user[:password]@host:port/db?sslmode=disable, plus
//   - search_path=<schema>: use that schema (it must exist) for the tables, for isolation (the
//     tests give each test its own schema);
//   - pool_max_conns=<n>: the size of the connection pool (default 20, at least 2).
//
// Claims use SELECT … FOR UPDATE SKIP LOCKED, and lease-guarded writes lock the task row, so
// any number of processes may share one database.
//
// Besides the pool, a store keeps one connection of its own listening for the boot action
// reports made by the other processes on the database (see listener), so that its
// BootActionsChanged wakes up for them too.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/drydock-go/drydock/internal/store/sqlstore"
)

// DefaultPoolSize is the pool size when the URL does not set pool_max_conns: enough for the
// orchestrator's writers and a few dozen concurrent API requests (at 10, the API load benchmark
// showed nearly every request waiting for a connection).
const DefaultPoolSize = 20

// Open connects to the database at url, migrates it and returns the store on it, with its
// listener for other processes' boot action reports started.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	db, cfg, err := openDB(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, db, sqlstore.Postgres); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s := sqlstore.New(db, db, sqlstore.Postgres)
	l, err := startListener(ctx, cfg, s.Instance(), s.WakeBootActions)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s.OnClose(l.close)
	return s, nil
}

// OpenDB connects to the database at url without migrating it: for `drydock migrate` and for
// reporting the schema version (sqlstore.Migrate, sqlstore.Version with sqlstore.Postgres).
func OpenDB(ctx context.Context, rawURL string) (*sql.DB, error) {
	db, _, err := openDB(ctx, rawURL)
	return db, err
}

// openDB is OpenDB, also returning the connection configuration.
func openDB(ctx context.Context, rawURL string) (*sql.DB, *pgx.ConnConfig, error) {
	connURL, pool, err := splitPoolParams(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("open postgres database: %w", err)
	}
	cfg, err := pgx.ParseConfig(connURL)
	if err != nil {
		return nil, nil, fmt.Errorf("open postgres database: %w", err)
	}
	db := stdlib.OpenDB(*cfg.Copy())
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open postgres database %s@%s:%d/%s: %w", cfg.User, cfg.Host, cfg.Port, cfg.Database, err)
	}
	if schema := cfg.RuntimeParams["search_path"]; schema != "" {
		var cur sql.NullString
		if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&cur); err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("open postgres database: %w", err)
		}
		if !cur.Valid {
			db.Close()
			return nil, nil, fmt.Errorf("open postgres database: no schema of search_path %q exists", schema)
		}
	}
	return db, cfg, nil
}

// splitPoolParams removes pool_max_conns (which PostgreSQL would reject as a run-time
// parameter) from a URL and returns the pool size.
func splitPoolParams(raw string) (string, int, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Not a URL (a keyword/value string): leave it to pgx.
		return raw, DefaultPoolSize, nil
	}
	q := u.Query()
	pool := DefaultPoolSize
	if v := q.Get("pool_max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return "", 0, fmt.Errorf("pool_max_conns=%q: want an integer of at least 2 (migrations hold a lock on one connection)", v)
		}
		pool = n
		q.Del("pool_max_conns")
		u.RawQuery = q.Encode()
	}
	return u.String(), pool, nil
}
