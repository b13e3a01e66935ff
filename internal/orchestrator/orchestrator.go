// Package orchestrator runs Drydock's tasks durably.
//
// A top-level task (deploy_nodes, prepare_nodes, ...) is a Workflow: an explicit list of steps.
// Every step is a registered subtask, and the store keeps one step run per (task, step, node).
// Each node goes through the steps on its own goroutine; a step's outcome for a node is committed
// before that node's next step starts, so the store always says exactly how far every node got.
//
// Durability: an orchestrator claims a task with a lease in the store and renews it while it
// works; every write it makes is guarded by the lease's generation. When the process dies
// (kill -9 at any moment), its lease expires and any orchestrator — the restarted one, or another
// instance sharing the store — claims the task and continues it: steps already committed are not
// repeated, and a step that was in flight is called again with Resumed set, so the driver checks
// the current state first (a node that is already deploying is watched, not deployed again; a
// node that already power-cycled is not cycled again). Two orchestrators never run the same
// step: the lease guards every step start and every outcome.
//
// Steps have real timeouts (a context deadline per node and step, cancelling the driver call in
// flight), retries with backoff for failed or unreachable attempts, and long operations are
// polled without holding a worker. Several tasks run at once when their nodes do not overlap;
// a task whose nodes are busy in another task waits, and says so. Termination is cooperative:
// the task goes terminating, in-flight driver calls are cancelled through their context, and it
// ends terminated.
package orchestrator

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/design/sitecache"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// DesignFetcher reads a design reference (ref.Resolver in production).
type DesignFetcher interface {
	Fetch(ctx context.Context, designRef string) ([]ref.Source, error)
}

// Orchestrator claims queued tasks from the store and runs them.
type Orchestrator struct {
	store   store.Store
	drivers driver.Set
	cfg     Config
	fetch   DesignFetcher
	log     *slog.Logger
	wf      map[string]*Workflow

	wake chan struct{}
	sem  chan struct{} // bounds concurrent driver calls

	mu      sync.Mutex
	running map[uuid.UUID]*run

	designs sitecache.Cache[[sha256.Size]byte, *validate.Report]

	bootURL atomic.Pointer[string] // overrides cfg.BootActionURL once set
}

// SetBootActionURL sets the boot action API's base URL handed to nodes from now on (a server
// that listens on a port chosen at start knows it only then).
func (o *Orchestrator) SetBootActionURL(u string) { o.bootURL.Store(&u) }

// BootActionURL is the boot action API's base URL handed to nodes.
func (o *Orchestrator) BootActionURL() string {
	if u := o.bootURL.Load(); u != nil && *u != "" {
		return *u
	}
	return o.cfg.BootActionURL
}

// Option configures an Orchestrator.
type Option func(*Orchestrator)

// WithFetcher sets how design references are read (default: a ref.Resolver with defaults).
func WithFetcher(f DesignFetcher) Option { return func(o *Orchestrator) { o.fetch = f } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *Orchestrator) { o.log = l } }

// New builds an orchestrator.
func New(st store.Store, drivers driver.Set, cfg Config, opts ...Option) *Orchestrator {
	cfg = cfg.withDefaults()
	o := &Orchestrator{store: st, drivers: drivers, cfg: cfg, fetch: &ref.Resolver{}, log: slog.Default(),
		wf: workflows(), wake: make(chan struct{}, 1), sem: make(chan struct{}, cfg.DriverCalls),
		running: map[uuid.UUID]*run{}}
	for _, opt := range opts {
		opt(o)
	}
	o.log = o.log.With("orchestrator", cfg.ID)
	return o
}

// ID is this instance's lease owner name.
func (o *Orchestrator) ID() string { return o.cfg.ID }

// Causes of a task's context being cancelled.
var (
	errTerminated = errors.New("task terminated on request")
	errLeaseLost  = errors.New("task lease lost")
	errShutdown   = errors.New("orchestrator shutting down")
)

// Submit creates a top-level task and queues it. It does not wait for the task to run.
func (o *Orchestrator) Submit(ctx context.Context, action, designRef string, nodeFilter []byte, createdBy string) (*task.Task, error) {
	if !task.IsTopLevel(action) {
		return nil, fmt.Errorf("unknown action %q (known: %v)", action, task.TopLevelActions)
	}
	t := task.New(action, designRef, nodeFilter, createdBy, o.cfg.Now())
	t.Status = task.StatusQueued
	if err := o.store.CreateTask(ctx, t); err != nil {
		return nil, fmt.Errorf("create task: %w", err)
	}
	o.Wake()
	return t, nil
}

// Wake makes the claim loop look at the queue now.
func (o *Orchestrator) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Terminate requests termination of a task (and its steps). A running task is wound down by
// the orchestrator that holds it; if that is this one, at once.
func (o *Orchestrator) Terminate(ctx context.Context, id uuid.UUID, by string) (*task.Task, error) {
	t, err := o.store.RequestTermination(ctx, id, by, o.cfg.Now())
	if err != nil {
		return t, err
	}
	o.mu.Lock()
	r := o.running[id]
	o.mu.Unlock()
	if r != nil {
		r.cancel(errTerminated)
	}
	return t, nil
}

// Run claims and executes tasks until ctx is cancelled. On return, tasks still running have
// been stopped and their leases released, so another orchestrator can continue them at once.
func (o *Orchestrator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	slots := make(chan struct{}, o.cfg.MaxTasks)
	tick := time.NewTicker(o.cfg.PollInterval)
	defer tick.Stop()
	for {
		o.claimWhileFree(ctx, slots, &wg)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-o.wake:
		case <-tick.C:
		}
	}
}

// claimWhileFree claims and starts tasks while a slot is free and a task is claimable.
func (o *Orchestrator) claimWhileFree(ctx context.Context, slots chan struct{}, wg *sync.WaitGroup) {
	for {
		select {
		case slots <- struct{}{}:
		default:
			return // every slot is busy
		}
		t, lease, err := o.store.ClaimTask(ctx, o.cfg.ID, task.TopLevelActions, o.cfg.LeaseFor, o.cfg.Now())
		if err != nil {
			<-slots
			if !errors.Is(err, store.ErrNoTask) && ctx.Err() == nil {
				o.log.Error("claiming a task failed", "err", err)
			}
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			o.execute(ctx, t, lease)
		}()
	}
}

// WaitTask polls the store until the task is final and returns it.
func (o *Orchestrator) WaitTask(ctx context.Context, id uuid.UUID, poll time.Duration) (*task.Task, error) {
	for {
		st, _, err := o.store.TaskStatus(ctx, id)
		if err != nil {
			return nil, err
		}
		if st.Final() {
			return o.store.GetTask(ctx, id)
		}
		select {
		case <-ctx.Done():
			t, err := o.store.GetTask(context.WithoutCancel(ctx), id)
			if err != nil {
				t = &task.Task{ID: id, Status: st}
			}
			return t, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Retry queues a finished top-level task again; only its steps that did not pass run again.
func (o *Orchestrator) Retry(ctx context.Context, id uuid.UUID) (*task.Task, error) {
	t, err := o.store.Requeue(ctx, id, o.cfg.Now())
	if err != nil {
		return nil, err
	}
	o.Wake()
	return t, nil
}
