package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/postgres"
	"github.com/drydock-go/drydock/internal/store/sqlstore"
	"github.com/drydock-go/drydock/internal/store/storetest"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// server connects to the test server, or skips the test (fails it when
// DRYDOCK_REQUIRE_POSTGRES=1) when there is none.
func server(tb testing.TB) (*sql.DB, string) {
	tb.Helper()
	base := os.Getenv("DRYDOCK_TEST_DATABASE_URL")
	if base == "" {
		base = defaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := postgres.OpenDB(ctx, base)
	if err != nil {
		if os.Getenv("DRYDOCK_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("PostgreSQL required (DRYDOCK_REQUIRE_POSTGRES=1) but unreachable at %s: %v", redact(base), err)
		}
		tb.Skipf("\n"+
			"************************************************************************\n"+
			"*** PostgreSQL store tests DID NOT RUN: no server at %s\n"+
			"*** (%v)\n"+
			"*** Start PostgreSQL, or set DRYDOCK_TEST_DATABASE_URL to a database\n"+
			"*** the tests may create schemas in; DRYDOCK_REQUIRE_POSTGRES=1 makes\n"+
			"*** this a failure (as in CI).\n"+
			"************************************************************************",
			redact(base), err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, base
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// schemaURL creates a fresh schema, dropped at the end of the test, and returns base with
// search_path set to it.
func schemaURL(tb testing.TB, admin *sql.DB, base, pool string) string {
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

func TestContract(t *testing.T) {
	admin, base := server(t)
	var (
		mu   sync.Mutex
		urls = map[*testing.T]string{}
	)
	storetest.Run(t, func(t *testing.T) store.Store {
		t.Helper()
		mu.Lock()
		u, ok := urls[t]
		if !ok {
			u = schemaURL(t, admin, base, "6")
			urls[t] = u
			t.Cleanup(func() {
				mu.Lock()
				delete(urls, t)
				mu.Unlock()
			})
		}
		mu.Unlock()
		s, err := postgres.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}

// TestMigrateTogether opens several stores on one new schema at once: the advisory lock makes
// them migrate one after the other.
func TestMigrateTogether(t *testing.T) {
	admin, base := server(t)
	u := schemaURL(t, admin, base, "4")
	var wg sync.WaitGroup
	stores := make([]*sqlstore.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(t.Context(), u) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	cur, latest, err := sqlstore.Version(t.Context(), stores[0].DB(), stores[0].Dialect())
	if err != nil {
		t.Fatal(err)
	}
	if cur != latest || cur < 1 {
		t.Fatalf("schema version %d, latest %d", cur, latest)
	}
}

func TestOpenErrors(t *testing.T) {
	_, base := server(t)
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", "drydock_no_such_schema")
	u.RawQuery = q.Encode()
	if _, err := postgres.Open(t.Context(), u.String()); err == nil {
		t.Fatal("opened with a search_path naming no schema")
	}
	q.Set("pool_max_conns", "zero")
	u.RawQuery = q.Encode()
	if _, err := postgres.Open(t.Context(), u.String()); err == nil {
		t.Fatal("bad pool_max_conns accepted")
	}
}

func BenchmarkFinishStep(b *testing.B) {
	admin, base := server(b)
	s, err := postgres.Open(b.Context(), schemaURL(b, admin, base, ""))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkFinishStep(b, s)
}
