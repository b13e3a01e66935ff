package redfishsim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// registryPrefix is the Base message registry version used in MessageIds.
const registryPrefix = "Base.1.22."

type baseMsg struct{ text, severity, resolution string }

// baseMessages are the Base registry (DSP8011, Base.1.22.1) messages used.
var baseMessages = map[string]baseMsg{
	"Success":                       {"The request completed successfully.", "OK", "None."},
	"GeneralError":                  {"A general error has occurred.  See Resolution for information on how to resolve the error, or @Message.ExtendedInfo if Resolution is not provided.", "Critical", "None."},
	"PropertyValueNotInList":        {"The value '%1' for the property %2 is not in the list of acceptable values.", "Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."},
	"PropertyValueTypeError":        {"The value '%1' for the property %2 is not a type that the property can accept.", "Warning", "Correct the value for the property in the request body and resubmit the request if the operation failed."},
	"PropertyUnknown":               {"The property %1 is not in the list of valid properties for the resource.", "Warning", "Remove the unknown property from the request body and resubmit the request if the operation failed."},
	"PropertyNotWritable":           {"The property %1 is a read-only property and cannot be assigned a value.", "Warning", "Remove the property from the request body and resubmit the request if the operation failed."},
	"PropertyMissing":               {"The property %1 is a required property and must be included in the request.", "Warning", "Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed."},
	"ActionParameterValueNotInList": {"The value '%1' for the parameter %2 in the action %3 is not in the list of acceptable values.", "Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."},
	"ActionParameterValueTypeError": {"The value '%1' for the parameter %2 in the action %3 is not a type that the parameter can accept.", "Warning", "Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"ActionParameterMissing":        {"The action %1 requires the parameter %2 to be present in the request body.", "Critical", "Supply the action with the required parameter in the request body when the request is resubmitted."},
	"ActionParameterUnknown":        {"The action %1 was submitted with the invalid parameter %2.", "Warning", "Correct the invalid parameter and resubmit the request if the operation failed."},
	"MalformedJSON":                 {"The request body submitted was malformed JSON and could not be parsed by the receiving service.", "Critical", "Ensure that the request body is valid JSON and resubmit the request."},
	"NoOperation":                   {"The request body submitted contain no data to act upon and no changes to the resource took place.", "Warning", "Add properties in the JSON object and resubmit the request."},
	"ResourceMissingAtURI":          {"The resource at the URI '%1' was not found.", "Critical", "Place a valid resource at the URI or correct the URI and resubmit the request."},
	"ResourceAtUriUnauthorized":     {"While accessing the resource at '%1', the service received an authorization error '%2'.", "Critical", "Ensure that the appropriate access is provided for the service in order for it to access the URI."},
	"NoValidSession":                {"There is no valid session established with the implementation.", "Critical", "Establish a session before attempting any operations."},
	"PreconditionFailed":            {"The ETag supplied did not match the ETag required to change this resource.", "Critical", "Try the operation again using the appropriate ETag."},
	"PreconditionRequired":          {"A precondition header or annotation is required to change this resource.", "Critical", "Try the operation again using an If-Match or If-None-Match header and appropriate ETag."},
	"OperationNotAllowed":           {"The HTTP method is not allowed on this resource.", "Critical", "None."},
	"ResourceInUse":                 {"The change to the requested resource failed because the resource is in use or in transition.", "Warning", "Remove the condition and resubmit the request if the operation failed."},
	"ServiceTemporarilyUnavailable": {"The service is temporarily unavailable.  Retry in %1 seconds.", "Critical", "Wait for the indicated retry duration and retry the operation."},
	"SessionLimitExceeded":          {"The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.", "Critical", "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported."},
	"InternalError":                 {"The request failed due to an internal service error.  The service is still operational.", "Critical", "Resubmit the request.  If the problem persists, consider resetting the service."},
}

// message is one entry of @Message.ExtendedInfo.
type message struct {
	id         string // Base message name, or a full MessageId containing a dot
	args       []string
	related    []string
	text       string // for non-Base ids
	severity   string
	resolution string
}

func msg(id string, args ...string) message { return message{id: id, args: args} }

func (m message) withRelated(p ...string) message { m.related = p; return m }

func (m message) json() map[string]any {
	id, text, sev, res := m.id, m.text, m.severity, m.resolution
	if bm, ok := baseMessages[m.id]; ok {
		id = registryPrefix + m.id
		text, sev, res = bm.text, bm.severity, bm.resolution
		for i := len(m.args); i > 0; i-- { // %10 before %1
			text = strings.ReplaceAll(text, "%"+itoa(i), m.args[i-1])
		}
	}
	args := m.args
	if args == nil {
		args = []string{}
	}
	out := map[string]any{
		"@odata.type":     "#Message.v1_2_1.Message",
		"MessageId":       id,
		"Message":         text,
		"MessageArgs":     args,
		"MessageSeverity": sev,
		"Resolution":      res,
	}
	if len(m.related) > 0 {
		out["RelatedProperties"] = m.related
	}
	return out
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// errorBody builds the Redfish error object. With one message, code and
// message are that message's; with several, Base GeneralError.
func errorBody(msgs ...message) []byte {
	infos := make([]any, 0, len(msgs))
	for _, m := range msgs {
		infos = append(infos, m.json())
	}
	code, text := registryPrefix+"GeneralError", baseMessages["GeneralError"].text
	if len(msgs) == 1 {
		j := msgs[0].json()
		code, text = j["MessageId"].(string), j["Message"].(string)
	}
	b, _ := json.MarshalIndent(map[string]any{"error": map[string]any{
		"code":                  code,
		"message":               text,
		"@Message.ExtendedInfo": infos,
	}}, "", "    ")
	return b
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, msgs ...message) {
	s.writeBody(w, r, status, errorBody(msgs...))
}

func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
	if reqState(r).malformed && len(body) > 2 {
		body = append(body[:len(body)/2:len(body)/2], []byte(`,"truncated":`)...)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
