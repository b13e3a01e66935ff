// Package status defines the "Status" document that Drydock returns for validation results,
// health checks and API errors: {kind: Status, apiVersion: v1.0, metadata: {}, status, message,
// reason, details: {errorCount, messageList}, code}. It is the shape Airship clients (Shipyard)
// already parse, so its field names must not change.
package status

// Values of Status.Status.
const (
	Success = "Success"
	Failure = "Failure"
)

// Status is the Airship-style status document.
type Status struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   map[string]any `json:"metadata"`
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
	Details    Details        `json:"details"`
	Code       int            `json:"code,omitempty"`
	// Retry, on API errors, tells whether the same request may succeed later (the original
	// API's error bodies carried the same field).
	Retry *bool `json:"retry,omitempty"`
}

// Details carries the messages behind a Status.
type Details struct {
	ErrorCount  int   `json:"errorCount"`
	MessageList []any `json:"messageList"`
}

// New returns a Status with the fixed fields filled in.
func New(st, message, reason string, code int) *Status {
	return &Status{
		Kind:       "Status",
		APIVersion: "v1.0",
		Metadata:   map[string]any{},
		Status:     st,
		Message:    message,
		Reason:     reason,
		Details:    Details{MessageList: []any{}},
		Code:       code,
	}
}

// SimpleMessage is a message without validation details (used by health checks and errors).
type SimpleMessage struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Error   bool   `json:"error"`
}

// Add appends a simple message and counts it when it is an error.
func (s *Status) Add(message string, isError bool) {
	s.Details.MessageList = append(s.Details.MessageList, SimpleMessage{Kind: "SimpleMessage", Message: message, Error: isError})
	if isError {
		s.Details.ErrorCount++
	}
}
