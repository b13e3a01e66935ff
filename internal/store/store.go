// Package store defines Drydock's durable state: tasks and their messages, the per-node step
// runs of every workflow, leases that let several orchestrator processes share the work,
// node reservations that keep two tasks off the same node, design snapshots and the nodes' last
// known state.
//
// One interface, two implementations below it: sqlite (embedded, the default: one file, no
// set-up) and postgres (for production and multi-instance deployments). Both pass the same
// contract suite (storetest).
//
// Every state change is a compare-and-set: a write that would break a task's status machine,
// or that comes from an orchestrator that no longer holds the task's lease, changes nothing and
// returns ErrConflict or ErrLeaseLost. A destructive driver call is only made after such a
// guarded write succeeded.
//
// Times are stored in UTC, to the microsecond (PostgreSQL's precision, on every backend).
package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/task"
)

// Errors.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflicting state change")
	ErrLeaseLost = errors.New("task lease lost to another orchestrator")
	ErrNoTask    = errors.New("no task to claim")
)

// Store is the durable state.
type Store interface {
	// Tasks.

	// CreateTask inserts a task (and, when ParentID is set, registers it as a subtask of its
	// parent in the same transaction; ErrNotFound when the parent does not exist) with the
	// messages already in t.Result.Messages. ErrConflict when the id is taken. Zero ID, Status,
	// Result.Status, Created and Updated get defaults (a new id, requested, incomplete, now),
	// and t's times are set to the stored values (UTC, microseconds).
	CreateTask(ctx context.Context, t *task.Task) error
	// GetTask returns a task with its result messages, or ErrNotFound.
	GetTask(ctx context.Context, id uuid.UUID) (*task.Task, error)
	// TaskStatus returns a task's status and whether termination was requested, without
	// reading its messages (for the frequent checks of running orchestrators and progress views).
	TaskStatus(ctx context.Context, id uuid.UUID) (task.Status, bool, error)
	// ListTasks lists tasks, newest first.
	ListTasks(ctx context.Context, p ListParams) ([]*task.Task, error)
	// SetStatus moves a task from one of from to to; ErrConflict when its status is not in from.
	SetStatus(ctx context.Context, id uuid.UUID, from []task.Status, to task.Status, now time.Time) error
	// SaveResult stores a task's result (status, message, reason, successes, failures, links;
	// not the messages), guarded by the lease of the top-level task.
	SaveResult(ctx context.Context, l task.Lease, id uuid.UUID, r task.Result, now time.Time) error
	// AddMessages appends status messages to a task. Messages are never truncated.
	AddMessages(ctx context.Context, id uuid.UUID, msgs ...task.Message) error
	// RequestTermination sets the sticky terminate flag. A task not yet running becomes
	// terminated at once; a running one becomes terminating, and its orchestrator winds it down.
	// Finished tasks are returned unchanged with ErrConflict.
	RequestTermination(ctx context.Context, id uuid.UUID, by string, now time.Time) (*task.Task, error)
	// Requeue puts a finished top-level task back in the queue to run again, keeping the step
	// runs that passed (retry of only what failed). Its failed and cancelled step runs become
	// pending again and Retry increases.
	Requeue(ctx context.Context, id uuid.UUID, now time.Time) (*task.Task, error)

	// Leases.

	// ClaimTask takes the oldest claimable top-level task whose action is in actions (any
	// action when actions is empty): a queued one — queued tasks come first — or a running or
	// terminating one whose lease expired (its orchestrator died) or was released. The task
	// becomes running (a terminating one stays terminating) and gets a new lease generation.
	// ErrNoTask when there is none.
	ClaimTask(ctx context.Context, owner string, actions []string, leaseFor time.Duration, now time.Time) (*task.Task, task.Lease, error)
	// RenewLease extends a lease; ErrLeaseLost when another owner has taken the task.
	RenewLease(ctx context.Context, l task.Lease, leaseFor time.Duration, now time.Time) (task.Lease, error)
	// ReleaseLease gives a lease up (the task is finished, or the orchestrator stops; a running
	// task goes back to queued, a terminating one stays terminating). Releasing a lease that was
	// already released (e.g. by FinishTask) is a no-op; ErrLeaseLost when another owner took it.
	ReleaseLease(ctx context.Context, l task.Lease, now time.Time) error
	// FinishTask records a top-level task's final status and result (complete from running,
	// terminated from terminating; ErrConflict otherwise), releases its lease and its node
	// reservations, in one transaction.
	FinishTask(ctx context.Context, l task.Lease, status task.Status, r task.Result, now time.Time) error

	// Node reservations: a node belongs to at most one unfinished task at a time, and tasks
	// get their nodes in queue order.

	// ReserveNodes records that the lease's task wants these nodes, then reserves every one of
	// them, or none: it returns the nodes it cannot have yet (node -> the task in the way) when
	// another unfinished task holds one, when an older unfinished task also wants one, or when
	// an older unfinished task has not yet said which nodes it wants (every node then maps to
	// that task). Reservations of finished tasks are taken over; reserving again is a no-op.
	// A task with no nodes (site-wide work) must call it with none, to say so.
	ReserveNodes(ctx context.Context, l task.Lease, nodes []string) (busy map[string]uuid.UUID, err error)

	// Step runs.

	// CreateStepRuns inserts the given runs; runs that already exist are left as they are.
	CreateStepRuns(ctx context.Context, l task.Lease, runs []task.StepRun) error
	// ListStepRuns returns a task's step runs ordered by step ordinal, then node.
	ListStepRuns(ctx context.Context, taskID uuid.UUID) ([]task.StepRun, error)
	// StartStep claims a pending run, or resumes a running one, for the lease's owner: it
	// becomes running with one more attempt. The returned run's State is the state it had
	// before (pending, or running when this is a resumption). ErrConflict when it is done.
	StartStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, now time.Time) (task.StepRun, error)
	// SaveStepDetail records detail on a running step (e.g. "the power cycle was requested"),
	// before an operation whose effect must not be repeated.
	SaveStepDetail(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, detail []byte) error
	// FinishStep records a running step's outcome (succeeded, failed, skipped, cancelled); a
	// pending step may also be skipped or cancelled. A nil detail keeps the saved one.
	// ErrConflict when the run is in another state or state is not an outcome.
	FinishStep(ctx context.Context, l task.Lease, taskID uuid.UUID, step, node string, state task.StepState, message string, detail []byte, now time.Time) error

	// Design snapshots: the design a task runs against, kept so a resumed task sees the same.

	// SaveDesign stores a task's snapshot, replacing any earlier one.
	SaveDesign(ctx context.Context, taskID uuid.UUID, sources []DesignSource) error
	// LoadDesign returns a task's snapshot in saved order; ErrNotFound when the task is unknown
	// or has none.
	LoadDesign(ctx context.Context, taskID uuid.UUID) ([]DesignSource, error)

	// Node state: the last known state of each node (the build model), as drivers report it.

	PutNodeState(ctx context.Context, node string, state []byte, now time.Time) error
	GetNodeStates(ctx context.Context) (map[string][]byte, error)

	// Build data: facts about nodes (hardware inventory, LLDP neighbours, script output)
	// collected by drivers while they work.

	// PutBuildData stores one record; ErrNotFound when its task does not exist. A zero
	// Collected time is set to now; records are never updated.
	PutBuildData(ctx context.Context, bd BuildData) error
	// ListBuildData returns the records matching q, oldest first (by Collected, then insertion).
	ListBuildData(ctx context.Context, q BuildDataQuery) ([]BuildData, error)

	// Boot actions: what each node runs after deployment, and what it reports (see
	// bootactions.go for the records).

	// EnsureBootActions records a node's boot action context and its actions for one
	// deployment, once. When the node's current context already belongs to c.Deployment it is
	// returned with that deployment's actions, unchanged (the given key and actions are
	// ignored): a retried or resumed deploy step hands the node the same key. Otherwise c
	// becomes the node's current context, the actions are inserted, and the previous
	// deployment's actions still incomplete become superseded. Guarded by the lease of the
	// top-level task (ErrLeaseLost).
	EnsureBootActions(ctx context.Context, l task.Lease, c BootActionContext, actions []BootAction) (BootActionContext, []BootAction, error)
	// GetBootActionContext returns the node's current context, or ErrNotFound.
	GetBootActionContext(ctx context.Context, node string) (BootActionContext, error)
	// ListBootActions returns the actions of one deployment of a node, in insertion order.
	ListBootActions(ctx context.Context, node, deployment string) ([]BootAction, error)
	// GetBootAction returns an action and the identity key of its deployment, or ErrNotFound.
	GetBootAction(ctx context.Context, id string) (BootAction, []byte, error)
	// ReportBootAction records a node's report on one action in one transaction: the messages
	// go to the action's task, and a non-empty status (BootActionSuccess or BootActionFailure)
	// finalizes the action. ErrConflict, writing nothing, when the action is not incomplete
	// (it is final, superseded or unreported); ErrNotFound when it does not exist.
	ReportBootAction(ctx context.Context, id, status string, msgs []task.Message, now time.Time) (BootAction, error)
	// BootActionsChanged returns a channel that is closed at the next change of a boot action's
	// status or messages, made through this store or — PostgreSQL — any store on the same
	// database. Waiters take a new channel after each wake-up.
	BootActionsChanged() <-chan struct{}

	// Retention.

	// Purge deletes what is older than before: finished (complete or terminated) top-level
	// tasks created before it, with all their subtasks at any depth, messages, step runs,
	// design snapshots, build data and boot action records; and build data collected before it
	// whose task is finished. Nothing that belongs to an unfinished task is touched. It runs in
	// one transaction.
	Purge(ctx context.Context, before time.Time) (PurgeResult, error)

	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// ListParams selects tasks. Tasks are listed newest first (by Created, ties broken by id
// descending).
type ListParams struct {
	TopLevelOnly bool
	ParentID     *uuid.UUID
	// RootID selects every descendant of this top-level task, at any depth (not the task itself).
	RootID   *uuid.UUID
	Statuses []task.Status
	Action   string
	Limit    int // 0: no limit
	// After continues a listing: only tasks that come after this one in the listing order.
	// ErrNotFound when that task does not exist.
	After *uuid.UUID
	// WithoutMessages leaves Result.Messages nil and sets Result.CountedErrors instead (for
	// listings, where messages would be most of the data).
	WithoutMessages bool
}

// BuildData is one fact about a node, collected by a driver during a task.
type BuildData struct {
	NodeName  string
	TaskID    uuid.UUID
	Collected time.Time // UTC, microseconds
	Generator string    // what produced it: lshw, lldp, commission:<script>, ...
	Format    string    // MIME type, e.g. text/xml, application/json, text/plain
	Data      []byte
}

// BuildDataQuery selects build data. Empty fields select everything.
type BuildDataQuery struct {
	NodeName string
	TaskID   *uuid.UUID
	// Latest keeps only the newest record of each (node, generator), ordered by node then generator.
	Latest bool
}

// DesignSource is one file of a design snapshot.
type DesignSource struct {
	Name string
	Data []byte
}
