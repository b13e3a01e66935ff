// Package task defines Drydock's task model: what an operator asked for (an action on a design
// and a set of nodes), where it is in its life (Status), and how it went (Result).
//
// The model keeps the original Drydock's fields, statuses and result vocabulary, which clients
// such as Airship Shipyard read, and fixes its defects deliberately:
//   - a node's final outcome is unambiguous: a top-level task lists each node in successes or in
//     failures, never both (the original listed the union over all steps);
//   - every step is a registered subtask;
//   - messages are stored whole, and no field has a length limit.
package task

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Status is where a task is in its life.
type Status string

// Task statuses. Transitions (see Transitions): requested → queued → running → complete, and
// termination: queued → terminated, running → terminating → terminated.
const (
	// Requested: created, not yet handed to the orchestrator (subtasks stay here until their
	// step starts).
	StatusRequested Status = "requested"
	// Queued: waiting for an orchestrator to claim it (or for its nodes to be free).
	StatusQueued Status = "queued"
	// Running: an orchestrator holds its lease and is executing it.
	StatusRunning Status = "running"
	// Terminating: termination was requested while running; in-flight work is being cancelled.
	StatusTerminating Status = "terminating"
	// Terminated: stopped on request. Final.
	StatusTerminated Status = "terminated"
	// Complete: finished; Result says how it went. Final.
	StatusComplete Status = "complete"
)

// Final reports whether no further transition is possible.
func (s Status) Final() bool { return s == StatusComplete || s == StatusTerminated }

// Transitions lists the legal status changes. Store implementations enforce them with
// compare-and-set updates.
var Transitions = map[Status][]Status{
	StatusRequested:   {StatusQueued, StatusRunning, StatusTerminated},
	StatusQueued:      {StatusRunning, StatusTerminated},
	StatusRunning:     {StatusComplete, StatusTerminating, StatusQueued},
	StatusTerminating: {StatusTerminated},
}

// CanTransition reports whether from → to is legal.
func CanTransition(from, to Status) bool { return slices.Contains(Transitions[from], to) }

// ResultStatus is how a task went.
type ResultStatus string

// Result statuses (the original's ActionResult).
const (
	ResultIncomplete     ResultStatus = "incomplete"
	ResultSuccess        ResultStatus = "success"
	ResultPartialSuccess ResultStatus = "partial_success"
	ResultFailure        ResultStatus = "failure"
	ResultUnreported     ResultStatus = "unreported" // boot actions that do not report back
)

// Actions a task can carry.
const (
	ActionValidateDesign = "validate_design"
	ActionVerifySite     = "verify_site"
	ActionPrepareSite    = "prepare_site"
	ActionVerifyNodes    = "verify_nodes"
	ActionPrepareNodes   = "prepare_nodes"
	ActionDeployNodes    = "deploy_nodes"
	ActionDestroyNodes   = "destroy_nodes"
	ActionRelabelNodes   = "relabel_nodes"
	ActionNoop           = "noop"
)

// TopLevelActions are the actions an operator can request (noop only internally and in tests).
var TopLevelActions = []string{ActionValidateDesign, ActionVerifySite, ActionPrepareSite, ActionVerifyNodes,
	ActionPrepareNodes, ActionDeployNodes, ActionDestroyNodes, ActionRelabelNodes, ActionNoop}

// IsTopLevel reports whether action can be requested as a task.
func IsTopLevel(action string) bool { return slices.Contains(TopLevelActions, action) }

// Task is one unit of requested work: a top-level action, or one step of it (a subtask).
type Task struct {
	ID           uuid.UUID
	ParentID     *uuid.UUID
	Action       string
	DesignRef    string
	NodeFilter   []byte // JSON, as requested; nil for all nodes
	Status       Status
	Result       Result
	Retry        int
	Created      time.Time
	CreatedBy    string
	Updated      time.Time
	Terminated   *time.Time
	TerminatedBy string
	Terminate    bool
	SubtaskIDs   []uuid.UUID
	// Step is the workflow step a subtask runs (empty for top-level tasks).
	Step string
}

// New returns a task in status requested.
func New(action, designRef string, nodeFilter []byte, createdBy string, now time.Time) *Task {
	return &Task{ID: uuid.New(), Action: action, DesignRef: designRef, NodeFilter: nodeFilter,
		Status: StatusRequested, Result: Result{Status: ResultIncomplete}, Created: now.UTC(),
		CreatedBy: createdBy, Updated: now.UTC()}
}

// Result is how a task went: the original's "Status" object.
type Result struct {
	Status    ResultStatus
	Message   string
	Reason    string
	Successes []string // entities (node names) that succeeded, in order, unique
	Failures  []string // entities that failed, in order, unique
	Links     []Link
	Messages  []Message
	// CountedErrors is the number of error messages, set by the store when it did not load
	// Messages (a listing); ErrorCount uses it when Messages is nil.
	CountedErrors int
}

// Link is a related resource (e.g. rel "detail_logs").
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// ErrorCount counts error messages.
func (r *Result) ErrorCount() int {
	if r.Messages == nil {
		return r.CountedErrors
	}
	n := 0
	for _, m := range r.Messages {
		if m.Error {
			n++
		}
	}
	return n
}

// Success records a success, for the whole task or for one entity. Mixing successes and
// failures gives partial_success, as in the original.
func (r *Result) Success(entity string) {
	switch r.Status {
	case ResultFailure, ResultPartialSuccess:
		r.Status = ResultPartialSuccess
	default:
		r.Status = ResultSuccess
	}
	if entity != "" && !slices.Contains(r.Successes, entity) {
		r.Successes = append(r.Successes, entity)
	}
}

// Failure records a failure, for the whole task or for one entity.
func (r *Result) Failure(entity string) {
	switch r.Status {
	case ResultSuccess, ResultPartialSuccess:
		r.Status = ResultPartialSuccess
	default:
		r.Status = ResultFailure
	}
	if entity != "" && !slices.Contains(r.Failures, entity) {
		r.Failures = append(r.Failures, entity)
	}
}

// NodeOutcomes sets the result from each entity's final outcome: every entity is in exactly one
// of the lists, and the status is success when all succeeded, failure when all failed,
// partial_success for a mix, and success when there were no entities at all.
func (r *Result) NodeOutcomes(order []string, succeeded map[string]bool) {
	r.Successes, r.Failures = nil, nil
	for _, n := range order {
		if succeeded[n] {
			r.Successes = append(r.Successes, n)
		} else {
			r.Failures = append(r.Failures, n)
		}
	}
	switch {
	case len(r.Failures) == 0:
		r.Status = ResultSuccess
	case len(r.Successes) == 0:
		r.Status = ResultFailure
	default:
		r.Status = ResultPartialSuccess
	}
}

// Context types of messages.
const (
	ContextTask       = "task"
	ContextNode       = "node"
	ContextSite       = "site"
	ContextNone       = "NA"
	ContextBootAction = "bootaction"
)

// Message is a status message of a task.
type Message struct {
	Seq         int64          `json:"-"`
	Message     string         `json:"message"`
	Error       bool           `json:"error"`
	ContextType string         `json:"context_type"`
	Context     string         `json:"context"`
	TS          time.Time      `json:"ts"`
	Extra       map[string]any `json:"extra"`
}

// NewMessage builds a message; ts is set by the store when zero.
func NewMessage(text string, isError bool, ctxType, ctx string) Message {
	if ctxType == "" {
		ctxType, ctx = ContextNone, ContextNone
	}
	return Message{Message: text, Error: isError, ContextType: ctxType, Context: ctx, Extra: map[string]any{}}
}

// Errorf builds an error message about a node.
func NodeError(node, format string, args ...any) Message {
	return NewMessage(fmt.Sprintf(format, args...), true, ContextNode, node)
}

// NodeInfo builds an informational message about a node.
func NodeInfo(node, format string, args ...any) Message {
	return NewMessage(fmt.Sprintf(format, args...), false, ContextNode, node)
}
