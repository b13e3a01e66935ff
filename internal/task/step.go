package task

import (
	"time"

	"github.com/google/uuid"
)

// StepState is where one step of a workflow is for one node (or for the site).
type StepState string

// Step states. A step run moves pending → running → succeeded | failed | skipped; a crash
// leaves it running with an expired lease, and the next owner resumes it; termination moves
// pending and running runs to cancelled.
const (
	StepPending   StepState = "pending"
	StepRunning   StepState = "running"
	StepSucceeded StepState = "succeeded"
	StepFailed    StepState = "failed"
	StepSkipped   StepState = "skipped"
	StepCancelled StepState = "cancelled"
)

// Done reports whether the step run has a committed outcome.
func (s StepState) Done() bool {
	return s == StepSucceeded || s == StepFailed || s == StepSkipped || s == StepCancelled
}

// Passed reports whether the node may go on to its next step.
func (s StepState) Passed() bool { return s == StepSucceeded || s == StepSkipped }

// SiteEntity is the Node value of step runs that concern the whole site, not one node.
const SiteEntity = ""

// StepRun is the durable record of one step for one node: the unit of work that is claimed,
// executed and committed. The store keeps one per (task, step, node).
type StepRun struct {
	TaskID  uuid.UUID
	Step    string // the workflow step key, e.g. "power_cycle_node"
	Node    string // SiteEntity for site-wide steps
	Ordinal int    // position of the step in its workflow
	State   StepState
	// Attempts counts how many times the step was started for this node (claims), including
	// resumptions after a crash.
	Attempts int
	// FirstStarted is when the step first started for this node; drivers use it to tell, when
	// a step is resumed, whether its effect already happened.
	FirstStarted *time.Time
	Started      *time.Time
	Finished     *time.Time
	Message      string
	// Detail is JSON the step keeps between attempts (e.g. what a driver already did).
	Detail []byte
	// Owner is the orchestrator instance that last claimed it.
	Owner string
}

// Lease is an orchestrator instance's claim on a task. Generation increases with every new
// owner; a write guarded by an old generation fails, so a process that lost its lease cannot
// overwrite the work of the one that took over (fencing).
type Lease struct {
	TaskID     uuid.UUID
	Owner      string
	Generation int64
	Expires    time.Time
}
