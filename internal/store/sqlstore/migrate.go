package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	dir, err := fs.Sub(migrations, "migrations/"+d.name)
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", d.name, err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if d.advisoryLock {
		opts = append(opts, goose.WithSessionLocker(pgLocker{}))
	}
	p, err := goose.NewProvider(d.goose, db, dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", d.name, err)
	}
	return p, nil
}

// Migrate brings the schema of db up to date. On PostgreSQL it holds an advisory lock (one per
// schema) while it runs, so processes that start together migrate one after the other.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	p, err := provider(db, d)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s schema: %w", d.name, err)
	}
	return nil
}

// Version reports the schema version of db (0 when it was never migrated) and the latest
// version this build knows.
func Version(ctx context.Context, db *sql.DB, d Dialect) (current, latest int64, err error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version of %s: %w", d.name, err)
	}
	return current, latest, nil
}

// pgLocker is a goose session locker holding a PostgreSQL session advisory lock keyed on the
// current schema. Unlike goose's own, it waits for the lock (pg_advisory_lock) instead of
// polling every few seconds.
type pgLocker struct{}

const pgLockKey = `hashtext('drydock-migrate:' || COALESCE(current_schema(), ''))`

func (pgLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+pgLockKey+`)`); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}

func (pgLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+pgLockKey+`)`); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}
