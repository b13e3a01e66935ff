// Package app wires Drydock's pieces together from a configuration: the store (embedded SQLite
// or PostgreSQL), the drivers (the simulated site by default) and the orchestrator. The
// binaries and the end-to-end tests build their processes with it, so they run the same code.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/sim"
	"github.com/drydock-go/drydock/internal/driver/simnode"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/postgres"
	"github.com/drydock-go/drydock/internal/store/sqlite"
)

// App is an assembled Drydock process.
type App struct {
	Config  config.Config
	Store   store.Store
	Sim     *sim.Site // nil when no driver is simulated
	Drivers driver.Set
	Orch    *orchestrator.Orchestrator
	Log     *slog.Logger
	// Nodes plays the simulated machines' operating system (boot actions); nil without the
	// simulated node driver. Run starts it.
	Nodes *simnode.Agent
}

// OpenStore opens the configured store: PostgreSQL when database.url is set, else the embedded
// SQLite file in the data directory. Migrations are applied.
func OpenStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if u := cfg.Database.URL; u != "" {
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return nil, fmt.Errorf("database.url must be a postgres:// URL")
		}
		st, err := postgres.Open(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, cfg.StorePath())
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", cfg.StorePath(), err)
	}
	return st, nil
}

// SimConfig turns the configuration's sim section into the simulator's settings.
func SimConfig(c config.Sim) sim.Config {
	sc := sim.Config{Seed: uint64(c.Seed), Shared: c.Shared, Jitter: c.Jitter}
	if len(c.Latency) > 0 {
		sc.Latency = map[sim.Kind]time.Duration{}
		for k, d := range c.Latency {
			sc.Latency[sim.Kind(k)] = d.D()
		}
	}
	if c.FailRate > 0 || c.HangRate > 0 || c.FlapRate > 0 {
		sc.Fault = sim.Fault{sim.AnyKind: {Fail: c.FailRate, Hang: c.HangRate, Flap: c.FlapRate}}
	}
	return sc
}

// Options adjust Open.
type Options struct {
	// Sim overrides the simulator settings derived from the configuration.
	Sim *sim.Config
	// Orchestrator overrides orchestrator settings derived from the configuration (fields left
	// zero keep the configuration's values).
	Orchestrator orchestrator.Config
	Logger       *slog.Logger
}

// Open assembles a process: store, drivers and orchestrator (not yet running).
func Open(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	a := &App{Config: cfg, Log: log}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Store = st
	if cfg.Drivers.Node == "sim" || cfg.Drivers.OOB == "sim" {
		sc := SimConfig(cfg.Sim)
		if opts.Sim != nil {
			sc = *opts.Sim
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			a.Close()
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		s, err := sim.Open(cfg.SimPath(), sc)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("open simulated site %s: %w", cfg.SimPath(), err)
		}
		a.Sim = s
	}
	a.Drivers = driver.Set{OOB: map[string]driver.OOBDriver{}}
	switch cfg.Drivers.Node {
	case "sim":
		a.Drivers.Node = a.Sim.NodeDriver()
	case "maas":
		d, err := MAASDriver(cfg.MAAS, log.With("driver", "maas"))
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Drivers.Node = d
	}
	// The simulated machines play their operating system's part in boot actions: by default
	// those of the simulated node driver, and, with sim.boot_actions: report, those of another
	// driver whose machines are simulated too (MAAS emulated by drydock sim maas).
	mode := cfg.Sim.BootActions
	if mode == "" && cfg.Drivers.Node == "sim" {
		mode = simnode.ModeReport
	}
	var deployed func(string) bool
	if s := a.Sim; cfg.Drivers.Node == "sim" {
		deployed = func(node string) bool { m, ok := s.Machine(node); return ok && m.Status == "Deployed" }
	} else if ml, ok := a.Drivers.Node.(driver.MachineLister); ok && mode == simnode.ModeReport {
		deployed = deployedIn(ml)
	}
	if deployed != nil {
		a.Nodes = &simnode.Agent{Dir: cfg.SimNodesDir(), Mode: mode, Deployed: deployed, Log: log.With("component", "simnode")}
		a.Drivers.Node = a.Nodes.Wrap(a.Drivers.Node)
	}
	switch cfg.Drivers.OOB {
	case "sim":
		oob := a.Sim.OOBDriver()
		for _, t := range []string{"ipmi", "redfish", "libvirt", "manual"} {
			a.Drivers.OOB[t] = oob
		}
	case "real":
		a.Drivers.OOB = RealOOBDrivers(cfg.OOB)
	}
	kd, err := KubeDriver(cfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Drivers.Kube = kd
	a.Orch = orchestrator.New(a.Store, a.Drivers, orchestratorConfig(cfg, opts.Orchestrator), orchestrator.WithLogger(log))
	if a.Nodes != nil {
		a.Nodes.URL = a.Orch.BootActionURL
	}
	return a, nil
}

func orchestratorConfig(cfg config.Config, o orchestrator.Config) orchestrator.Config {
	c := cfg.Orchestrator
	if o.ID == "" {
		o.ID = c.ID
	}
	if o.ID == "" {
		host, _ := os.Hostname()
		o.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.LeaseFor == 0 {
		o.LeaseFor = c.Lease.D()
	}
	if o.PollInterval == 0 {
		o.PollInterval = c.PollInterval.D()
	}
	if o.MaxTasks == 0 {
		o.MaxTasks = c.MaxTasks
	}
	if o.DriverCalls == 0 {
		o.DriverCalls = c.DriverCalls
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = c.RetryBackoff.D()
	}
	if o.NodeWait == 0 {
		o.NodeWait = c.NodeWait.D()
	}
	if o.Timeouts == nil && len(c.Timeouts) > 0 {
		o.Timeouts = map[string]time.Duration{}
		for k, v := range c.Timeouts {
			o.Timeouts[k] = v.D()
		}
	}
	if o.Retries == nil && len(c.Retries) > 0 {
		o.Retries = c.Retries
	}
	if d := cfg.BootActions.Timeout.D(); d > 0 {
		if o.Timeouts == nil {
			o.Timeouts = map[string]time.Duration{}
		}
		if _, ok := o.Timeouts["bootaction_report"]; !ok {
			o.Timeouts["bootaction_report"] = d
		}
	}
	if o.BootActionURL == "" {
		o.BootActionURL = cfg.BootActions.ReportURL
	}
	return o
}

// Close releases everything.
func (a *App) Close() error {
	var errs []error
	if a.Sim != nil {
		errs = append(errs, a.Sim.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

// deployedIn says whether the provisioner lists a node's machine as Deployed, reading its
// machine list at most every two seconds.
func deployedIn(ml driver.MachineLister) func(string) bool {
	var mu sync.Mutex
	var at time.Time
	status := map[string]string{}
	return func(node string) bool {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) > 2*time.Second {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			ms, err := ml.Machines(ctx)
			cancel()
			at = time.Now()
			if err == nil {
				status = make(map[string]string, len(ms))
				for _, m := range ms {
					status[m.Hostname] = m.Status
				}
			}
		}
		return status[node] == "Deployed"
	}
}
