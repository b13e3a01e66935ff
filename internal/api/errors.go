package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/drydock-go/drydock/internal/status"
)

// Error is an API error: an HTTP status, a reason (a short CamelCase word) and a message that
// says what is wrong. It is rendered as a Status body.
type Error struct {
	Code    int
	Reason  string
	Message string
	// Details are extra messages (e.g. validation messages) for the Status body.
	Details []any
	// DetailErrors counts the error messages among Details.
	DetailErrors int
	// Retry tells the client that the same request may succeed later.
	Retry bool
}

func (e *Error) Error() string { return e.Message }

func errBadRequest(format string, args ...any) *Error {
	return &Error{Code: http.StatusBadRequest, Reason: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) *Error {
	return &Error{Code: http.StatusNotFound, Reason: "NotFound", Message: fmt.Sprintf(format, args...)}
}

func errConflict(format string, args ...any) *Error {
	return &Error{Code: http.StatusConflict, Reason: "Conflict", Message: fmt.Sprintf(format, args...)}
}

func errUnavailable(format string, args ...any) *Error {
	return &Error{Code: http.StatusServiceUnavailable, Reason: "ServiceUnavailable", Message: fmt.Sprintf(format, args...), Retry: true}
}

// statusOf renders an error as a Status body; errors that are not *Error are internal: their
// text is logged, not shown.
func (s *Server) statusOf(r *http.Request, err error) *status.Status {
	var e *Error
	if !errors.As(err, &e) {
		s.Log.Error("internal error", "req_id", requestInfo(r).id, "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Code: http.StatusInternalServerError, Reason: "InternalError",
			Message: "internal error; the server log has the details (request " + requestInfo(r).id + ")", Retry: true}
	}
	st := status.New(status.Failure, e.Message, e.Reason, e.Code)
	st.Retry = &e.Retry
	if len(e.Details) > 0 {
		st.Details.MessageList = e.Details
		st.Details.ErrorCount = e.DetailErrors
	} else {
		st.Add(e.Message, true)
	}
	return st
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := s.statusOf(r, err)
	requestInfo(r).outcome = st.Reason
	writeJSON(w, st.Code, st)
}

// writeJSON writes a JSON body with a status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1.0","metadata":{},"status":"Failure","message":"response could not be encoded","reason":"InternalError","details":{"errorCount":1,"messageList":[]},"code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(data, '\n'))
}
