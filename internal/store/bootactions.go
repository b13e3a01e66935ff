package store

import (
	"time"

	"github.com/google/uuid"
)

// Boot action statuses. An action starts incomplete (the node is expected to report) or
// unreported (signaling is off: nothing waits for it); a report makes it success or failure;
// a newer deployment of the node makes a still incomplete one superseded. Only incomplete
// actions accept reports.
const (
	BootActionIncomplete = "incomplete"
	BootActionUnreported = "unreported"
	BootActionSuccess    = "success"
	BootActionFailure    = "failure"
	BootActionSuperseded = "superseded"
)

// BootActionContext is a node's boot action identity for one deployment.
type BootActionContext struct {
	NodeName string
	// Deployment identifies the deployment: the deploy_nodes task, its retry number and the
	// node (unique among a node's contexts).
	Deployment string
	// DeployTaskID is the top-level deploy_nodes task, whose design snapshot the node's assets
	// are rendered from.
	DeployTaskID uuid.UUID
	// TaskID is the task the node's reports are recorded on (the deploy_node step's subtask).
	TaskID uuid.UUID
	// Key is the node's identity key (32 random bytes), shown to the node in hex.
	Key       []byte
	DesignRef string
	Created   time.Time // UTC, microseconds
}

// BootAction is one boot action of one deployment of a node.
type BootAction struct {
	ID         string // ULID in 26-character Crockford base32
	NodeName   string
	Deployment string
	TaskID     uuid.UUID // as in the context
	Name       string    // the BootAction document's name
	Signaling  bool
	Status     string
	Updated    time.Time // UTC, microseconds
}

// PurgeResult counts what Purge removed.
type PurgeResult struct {
	Tasks       int64 // top-level tasks and subtasks
	BuildData   int64
	BootActions int64
}
