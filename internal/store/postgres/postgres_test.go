package postgres_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/postgres"
	"github.com/drydock-go/drydock/internal/store/postgres/pgtest"
	"github.com/drydock-go/drydock/internal/store/sqlstore"
	"github.com/drydock-go/drydock/internal/store/storetest"
)

func TestContract(t *testing.T) {
	admin, base := pgtest.Server(t)
	storetest.Run(t, storetest.PerTest(
		func(t *testing.T) string { return pgtest.SchemaURL(t, admin, base, "6") },
		func(ctx context.Context, u string) (store.Store, error) { return postgres.Open(ctx, u) }))
}

// TestMigrateTogether opens several stores on one new schema at once: the advisory lock makes
// them migrate one after the other.
func TestMigrateTogether(t *testing.T) {
	admin, base := pgtest.Server(t)
	u := pgtest.SchemaURL(t, admin, base, "4")
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
	_, base := pgtest.Server(t)
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
	admin, base := pgtest.Server(b)
	s, err := postgres.Open(b.Context(), pgtest.SchemaURL(b, admin, base, ""))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkFinishStep(b, s)
}
