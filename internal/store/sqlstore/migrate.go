package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
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
	p, err := goose.NewProvider(d.goose, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", d.name, err)
	}
	return p, nil
}

// Migrate brings the schema of db up to date. On PostgreSQL it holds an advisory lock (one per
// schema, on a connection of its own: db must allow two) for the whole run, so processes that
// start together migrate one after the other, and the later ones find nothing to do.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) (err error) {
	p, err := provider(db, d)
	if err != nil {
		return err
	}
	if d.advisoryLock {
		unlock, lerr := pgLock(ctx, db)
		if lerr != nil {
			return fmt.Errorf("migrate %s schema: %w", d.name, lerr)
		}
		defer func() { err = errors.Join(err, unlock()) }()
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

// pgLock takes the migration lock: a session advisory lock keyed on the current schema, held
// by a connection set aside until unlock. It waits for the lock (pg_advisory_lock) rather than
// polling.
func pgLock(ctx context.Context, db *sql.DB) (unlock func() error, err error) {
	if db.Stats().MaxOpenConnections == 1 {
		return nil, errors.New("the migration lock needs a pool of at least two connections")
	}
	const key = `hashtext('drydock-migrate:' || COALESCE(current_schema(), ''))`
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		conn.Close()
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`)
		return errors.Join(err, conn.Close())
	}, nil
}
