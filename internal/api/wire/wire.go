// Package wire defines the JSON bodies of Drydock's REST API v1.0, shared by the server
// (internal/api) and the Go client (internal/client). Field names follow the original Airship
// Drydock API, which existing clients (Shipyard, the Python client) read; times are RFC 3339 in
// UTC (the original printed Python's str(datetime); see docs/api.md).
package wire

import (
	"encoding/json"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/status"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// Task is a task as the API shows it.
type Task struct {
	Kind          string          `json:"kind"`
	APIVersion    string          `json:"apiVersion"`
	TaskID        string          `json:"task_id"`
	Action        string          `json:"action"`
	ParentTaskID  *string         `json:"parent_task_id"`
	DesignRef     string          `json:"design_ref"`
	Status        string          `json:"status"`
	Result        Result          `json:"result"`
	NodeFilter    json.RawMessage `json:"node_filter"`
	SubtaskIDList []string        `json:"subtask_id_list"`
	Created       time.Time       `json:"created"`
	CreatedBy     string          `json:"created_by"`
	Updated       time.Time       `json:"updated"`
	Terminated    *time.Time      `json:"terminated"`
	TerminatedBy  string          `json:"terminated_by"`
	Terminate     bool            `json:"terminate"`
	Retry         int             `json:"retry"`
	// Step is the workflow step a subtask runs (empty for top-level tasks); new in this port.
	Step string `json:"step,omitempty"`
	// BuildData is present when the task was read with ?builddata=true (an empty list when
	// there is none: omitzero, unlike omitempty, keeps a non-nil empty slice).
	BuildData []BuildData `json:"build_data,omitzero"`
	// SubtaskErrors is present when the task was read with ?subtaskerrors=true (an empty
	// object when no descendant has errors).
	SubtaskErrors map[string]SubtaskError `json:"subtask_errors,omitzero"`
}

// Result is a task's result: the original's "Status" object.
type Result struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   map[string]any `json:"metadata"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
	Status     string         `json:"status"`
	Successes  []string       `json:"successes"`
	Failures   []string       `json:"failures"`
	Links      []task.Link    `json:"links"`
	Details    ResultDetails  `json:"details"`
}

// ResultDetails counts and lists a result's messages.
type ResultDetails struct {
	ErrorCount  int       `json:"errorCount"`
	MessageList []Message `json:"messageList"`
}

// Message is a task's status message.
type Message struct {
	Message     string         `json:"message"`
	Error       bool           `json:"error"`
	ContextType string         `json:"context_type"`
	Context     string         `json:"context"`
	TS          time.Time      `json:"ts"`
	Extra       map[string]any `json:"extra"`
}

// SubtaskError is a descendant task's result, with its id, in ?subtaskerrors=true.
type SubtaskError struct {
	Result
	TaskID string `json:"task_id"`
}

// FromTask converts a task for the API.
func FromTask(t *task.Task) Task {
	out := Task{Kind: "Task", APIVersion: "v1", TaskID: t.ID.String(), Action: t.Action, DesignRef: t.DesignRef,
		Status: string(t.Status), Result: FromResult(&t.Result), NodeFilter: json.RawMessage("null"),
		SubtaskIDList: make([]string, len(t.SubtaskIDs)), Created: t.Created.UTC(), CreatedBy: t.CreatedBy,
		Updated: t.Updated.UTC(), TerminatedBy: t.TerminatedBy, Terminate: t.Terminate, Retry: t.Retry, Step: t.Step}
	if t.ParentID != nil {
		p := t.ParentID.String()
		out.ParentTaskID = &p
	}
	if len(t.NodeFilter) > 0 && json.Valid(t.NodeFilter) {
		out.NodeFilter = json.RawMessage(t.NodeFilter)
	}
	for i, s := range t.SubtaskIDs {
		out.SubtaskIDList[i] = s.String()
	}
	if t.Terminated != nil {
		tt := t.Terminated.UTC()
		out.Terminated = &tt
	}
	return out
}

// FromResult converts a result.
func FromResult(r *task.Result) Result {
	out := Result{Kind: "Status", APIVersion: "v1.0", Metadata: map[string]any{}, Message: r.Message,
		Reason: r.Reason, Status: string(r.Status), Successes: nonNil(r.Successes), Failures: nonNil(r.Failures),
		Links: r.Links, Details: ResultDetails{ErrorCount: r.ErrorCount(), MessageList: make([]Message, len(r.Messages))}}
	if out.Links == nil {
		out.Links = []task.Link{}
	}
	for i, m := range r.Messages {
		extra := m.Extra
		if extra == nil {
			extra = map[string]any{}
		}
		out.Details.MessageList[i] = Message{Message: m.Message, Error: m.Error, ContextType: m.ContextType,
			Context: m.Context, TS: m.TS.UTC(), Extra: extra}
	}
	return out
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// CreateTask is the body of POST /tasks.
type CreateTask struct {
	Action     string          `json:"action"`
	DesignRef  string          `json:"design_ref"`
	NodeFilter json.RawMessage `json:"node_filter,omitempty"`
}

// NodeFilter is the body of POST /nodefilter.
type NodeFilter struct {
	DesignRef  string          `json:"design_ref"`
	NodeFilter json.RawMessage `json:"node_filter,omitempty"`
}

// ValidateDesign is the body of POST /validatedesign (only href is used; rel and type are
// accepted for compatibility).
type ValidateDesign struct {
	Href string `json:"href"`
	Rel  string `json:"rel,omitempty"`
	Type string `json:"type,omitempty"`
}

// BuildData is a build data record.
type BuildData struct {
	NodeName      string    `json:"node_name"`
	TaskID        string    `json:"task_id"`
	CollectedDate time.Time `json:"collected_date"`
	Generator     string    `json:"generator"`
	DataFormat    string    `json:"data_format"`
	DataElement   string    `json:"data_element"`
}

// FromBuildData converts build data records.
func FromBuildData(bds []store.BuildData) []BuildData {
	out := make([]BuildData, len(bds))
	for i, b := range bds {
		out[i] = BuildData{NodeName: b.NodeName, TaskID: b.TaskID.String(), CollectedDate: b.Collected.UTC(),
			Generator: b.Generator, DataFormat: b.Format, DataElement: string(b.Data)}
	}
	return out
}

// StepRun is one step of a task for one node (GET /tasks/{id}/steps, new in this port).
type StepRun struct {
	Step     string     `json:"step"`
	Node     string     `json:"node"` // "" for site-wide steps
	Ordinal  int        `json:"ordinal"`
	State    string     `json:"state"`
	Attempts int        `json:"attempts"`
	Started  *time.Time `json:"started"`
	Finished *time.Time `json:"finished"`
	Message  string     `json:"message"`
}

// FromStepRuns converts step runs (without their driver detail, which may name internals).
func FromStepRuns(runs []task.StepRun) []StepRun {
	out := make([]StepRun, len(runs))
	for i, r := range runs {
		out[i] = StepRun{Step: r.Step, Node: r.Node, Ordinal: r.Ordinal, State: string(r.State),
			Attempts: r.Attempts, Started: utc(r.Started), Finished: utc(r.Finished), Message: r.Message}
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Versions is the body of GET /versions.
type Versions map[string]VersionInfo

// VersionInfo describes one API version.
type VersionInfo struct {
	Path   string `json:"path"`
	Status string `json:"status"`
}

// Status is the error, validation and health body.
type Status = status.Status

// Machine is a machine in GET /nodes.
type Machine = driver.Machine

// PurgeResult is the answer of DELETE /tasks?days=N (or ?older_than=DURATION): what retention
// removed. Unfinished tasks and what belongs to them are never removed.
type PurgeResult struct {
	Before             time.Time `json:"before"`
	TasksDeleted       int64     `json:"tasks_deleted"`
	BuildDataDeleted   int64     `json:"build_data_deleted"`
	BootActionsDeleted int64     `json:"boot_actions_deleted"`
}
