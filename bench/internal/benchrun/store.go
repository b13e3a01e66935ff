package benchrun

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/drydock-go/drydock/internal/store/postgres"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/store/sqlstore"
)

// OpenStore opens the store a run names: "sqlite", the embedded store in dir/drydock.db, or
// "postgres", the store at postgresURL.
func OpenStore(ctx context.Context, backend, dir, postgresURL string) (*sqlstore.Store, error) {
	switch backend {
	case "sqlite":
		return sqlite.Open(ctx, filepath.Join(dir, "drydock.db"))
	case "postgres":
		return postgres.Open(ctx, postgresURL)
	default:
		return nil, fmt.Errorf("unknown store %q", backend)
	}
}

// FreshSchema creates the schema name in the PostgreSQL database at base, for one run. It
// returns base with search_path set to the schema, and drop, which drops the schema (even
// when ctx is cancelled) and closes the connection.
func FreshSchema(ctx context.Context, base, name string) (schemaURL string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("postgres URL: %w", err)
	}
	admin, err := postgres.OpenDB(ctx, base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop = func() error {
		defer admin.Close()
		if _, err := admin.ExecContext(context.WithoutCancel(ctx), `DROP SCHEMA `+name+` CASCADE`); err != nil {
			return fmt.Errorf("drop schema %s: %w", name, err)
		}
		return nil
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// PoolSize is the store's connection pool size for a PostgreSQL URL: its pool_max_conns, else
// the default.
func PoolSize(raw string) int {
	if u, err := url.Parse(raw); err == nil {
		if n, err := strconv.Atoi(u.Query().Get("pool_max_conns")); err == nil && n > 0 {
			return n
		}
	}
	return postgres.DefaultPoolSize
}

// Redact hides the password of a URL (user:***@host).
func Redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "@"); j >= 0 {
			if k := strings.Index(u[i+3:i+3+j], ":"); k >= 0 {
				return u[:i+3+k] + ":***" + u[i+3+j:]
			}
		}
	}
	return u
}
