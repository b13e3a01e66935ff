package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	"github.com/drydock-go/drydock/internal/api"
	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
)

// spec is what the parent asks of a server child.
type spec struct {
	Store       string `json:"store"` // sqlite or postgres
	PostgresURL string `json:"postgres_url,omitempty"`
	Dir         string `json:"dir"`
	Tasks       int    `json:"tasks"`
	Design      string `json:"design"`
	SeedWorkers int    `json:"seed_workers"`
	CPUProfile  string `json:"cpuprofile,omitempty"`
}

// ready is the child's answer once the store is seeded and the API listens.
type ready struct {
	Addr       string    `json:"addr"`
	Token      string    `json:"token"`
	IDs        string    `json:"ids"` // file of the seeded task ids, one a line
	Seed       seedStats `json:"seed"`
	WritePool  int       `json:"write_pool"`
	ReadPool   int       `json:"read_pool"`
	GOMAXPROCS int       `json:"gomaxprocs"`
}

// serve is the child: it opens and seeds the store, serves the API on a loopback port, says
// so on stdout, and stops when its standard input closes.
func serve(s spec) error {
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	st, err := benchrun.OpenStore(ctx, s.Store, s.Dir, s.PostgresURL)
	if err != nil {
		return err
	}
	defer st.Close()
	// sqlite.Open: one write connection, max(4, GOMAXPROCS) read connections.
	writePool, readPool := 1, max(4, runtime.GOMAXPROCS(0))
	if s.Store == "postgres" {
		writePool = st.DB().Stats().MaxOpenConnections
		readPool = writePool // one pool serves both
	}

	fams := plan(s.Tasks, s.Design, 1)
	ids, stats, err := seed(ctx, st, fams, s.SeedWorkers)
	if err != nil {
		return err
	}
	idsPath := filepath.Join(s.Dir, "ids.txt")
	if err := writeIDs(idsPath, ids); err != nil {
		return err
	}
	runtime.GC()

	orch := orchestrator.New(st, driver.Set{OOB: map[string]driver.OOBDriver{}}, orchestrator.Config{ID: "apibench"},
		orchestrator.WithLogger(discard)) // never Run: created tasks stay queued
	token, err := auth.NewToken()
	if err != nil {
		return err
	}
	toks := &auth.Tokens{}
	if err := toks.Add(token, auth.Identity{User: "admin", UserID: "admin", Roles: []string{"admin"}}); err != nil {
		return err
	}
	pol, err := policy.Load("")
	if err != nil {
		return err
	}
	srv := &api.Server{Store: st, Orch: orch, Drivers: driver.Set{OOB: map[string]driver.OOBDriver{}}, Auth: toks, Policy: pol,
		Log: discard, Config: api.Config{Version: "apibench"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// As cmd/drydock serve configures it.
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(discard.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	if s.CPUProfile != "" {
		stop, err := benchrun.StartCPUProfile(s.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if err := json.NewEncoder(os.Stdout).Encode(ready{Addr: ln.Addr().String(), Token: token, IDs: idsPath, Seed: stats,
		WritePool: writePool, ReadPool: readPool, GOMAXPROCS: runtime.GOMAXPROCS(0)}); err != nil {
		return err
	}
	// Answer "stats" lines until the parent closes our standard input.
	in := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		if err := enc.Encode(snapshot(st)); err != nil {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stats is the server process's counters at one moment.
type stats struct {
	CPU time.Duration `json:"cpu"` // user + system time of the process
	// The store's write pool (database/sql; on PostgreSQL the one pool that also serves reads):
	// how many times and how long requests waited for a connection.
	PoolWaits    int64         `json:"pool_waits"`
	PoolWaitTime time.Duration `json:"pool_wait_time"`
}

func snapshot(st store.Store) stats {
	s := stats{CPU: benchrun.SelfUsage().CPU}
	if p, ok := st.(interface{ DB() *sql.DB }); ok {
		ds := p.DB().Stats()
		s.PoolWaits, s.PoolWaitTime = ds.WaitCount, ds.WaitDuration
	}
	return s
}

func writeIDs(path string, ids []uuid.UUID) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, id := range ids {
		fmt.Fprintln(w, id.String())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
