// Package pgtest gives tests a PostgreSQL database of their own: a connection to the test
// server (or a loud skip when there is none, a failure when DRYDOCK_REQUIRE_POSTGRES=1, as in
// CI) and a fresh schema dropped when the test ends. Only tests import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/store/postgres"
)

// DefaultURL is the test server used when DRYDOCK_TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Server connects to the test server and returns the connection and its URL. Without a server
// the test is skipped with a banner, or fails when DRYDOCK_REQUIRE_POSTGRES=1.
func Server(tb testing.TB) (*sql.DB, string) {
	tb.Helper()
	base := os.Getenv("DRYDOCK_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := postgres.OpenDB(ctx, base)
	if err != nil {
		if os.Getenv("DRYDOCK_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("PostgreSQL required (DRYDOCK_REQUIRE_POSTGRES=1) but unreachable at %s: %v", Redact(base), err)
		}
		tb.Skipf("\n"+
			"************************************************************************\n"+
			"*** PostgreSQL tests DID NOT RUN: no server at %s\n"+
			"*** (%v)\n"+
			"*** Start PostgreSQL, or set DRYDOCK_TEST_DATABASE_URL to a database\n"+
			"*** the tests may create schemas in; DRYDOCK_REQUIRE_POSTGRES=1 makes\n"+
			"*** this a failure (as in CI).\n"+
			"************************************************************************",
			Redact(base), err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, base
}

// Redact hides the password of a URL.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// SchemaURL creates a fresh schema, dropped when the test ends, and returns base with
// search_path set to it (and pool_max_conns, when pool is not empty).
func SchemaURL(tb testing.TB, admin *sql.DB, base, pool string) string {
	tb.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "drydock_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	if pool != "" {
		q.Set("pool_max_conns", pool)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Database is a fresh schema on the test server, as a URL.
func Database(tb testing.TB) string {
	tb.Helper()
	admin, base := Server(tb)
	return SchemaURL(tb, admin, base, "")
}
