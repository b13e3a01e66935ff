package design

import (
	"github.com/drydock-go/drydock/internal/status"
)

// Level is the severity of a message.
type Level string

// Levels.
const (
	LevelError   Level = "Error"
	LevelWarning Level = "Warning"
	LevelInfo    Level = "Info"
)

// Message is one finding about a design: a document that could not be read, or a validation
// rule's verdict. Its JSON form is the ValidationMessage of the Drydock API.
type Message struct {
	Kind       string   `json:"kind"` // always "ValidationMessage"
	Code       string   `json:"name"` // e.g. DD1001
	Rule       string   `json:"rule"` // e.g. storage.boot-size
	Level      Level    `json:"level"`
	Error      bool     `json:"error"`
	Message    string   `json:"message"`
	Diagnostic string   `json:"diagnostic"`
	Documents  []DocRef `json:"documents"`
}

// NewMessage builds a message; Error is derived from the level.
func NewMessage(code, rule string, level Level, msg, diagnostic string, docs ...DocRef) Message {
	if docs == nil {
		docs = []DocRef{}
	}
	return Message{Kind: "ValidationMessage", Code: code, Rule: rule, Level: level,
		Error: level == LevelError, Message: msg, Diagnostic: diagnostic, Documents: docs}
}

// Codes and slugs of the messages produced while reading documents (validation rules have
// their own, in package validate).
const (
	CodeDocInvalid   = "DD000"
	CodeDocSchema    = "DD001"
	CodeDocYAML      = "DD002"
	CodeDocDuplicate = "DD003"
	CodeDocDupKey    = "DD004"

	RuleDocInvalid   = "doc.invalid"
	RuleDocSchema    = "doc.schema"
	RuleDocYAML      = "doc.yaml"
	RuleDocDuplicate = "doc.duplicate"
	RuleDocDupKey    = "doc.duplicate-key"
)

// ErrorCount counts the error messages in msgs.
func ErrorCount(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		if m.Error {
			n++
		}
	}
	return n
}

// Status turns messages into the API's Status document.
func Status(msgs []Message) *status.Status {
	errs := ErrorCount(msgs)
	var st *status.Status
	if errs == 0 {
		st = status.New(status.Success, "Site design passed validation", "Validation", 200)
	} else {
		st = status.New(status.Failure, "Site design failed validation.", "See detail messages.", 400)
	}
	st.Details.ErrorCount = errs
	list := make([]any, len(msgs))
	for i := range msgs {
		list[i] = msgs[i]
	}
	st.Details.MessageList = list
	return st
}
