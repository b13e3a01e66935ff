package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// decodeBody decodes a JSON request body into v strictly: the content type must be
// application/json (a charset parameter, if any, must be utf-8), the body must not exceed the
// size limit, must hold exactly one JSON object, and may not carry unknown fields or values of
// the wrong type. Every failure is a 4xx that names the problem.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &Error{Code: http.StatusUnsupportedMediaType, Reason: "UnsupportedMediaType", Message: "the request needs a JSON body with Content-Type: application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &Error{Code: http.StatusUnsupportedMediaType, Reason: "UnsupportedMediaType", Message: fmt.Sprintf("Content-Type %q is not supported: send application/json", ct)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &Error{Code: http.StatusUnsupportedMediaType, Reason: "UnsupportedMediaType", Message: fmt.Sprintf("charset %q is not supported: send UTF-8", cs)}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Config.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Code: http.StatusRequestEntityTooLarge, Reason: "RequestEntityTooLarge", Message: fmt.Sprintf("the request body exceeds the limit of %d bytes", s.Config.MaxBody)}
		}
		return errBadRequest("the request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errBadRequest("the request body is empty: send a JSON object")
	}
	if err := exactFields(data, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("invalid JSON body: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest("invalid JSON body: unexpected data after the JSON object")
	}
	return nil
}

// exactFields rejects object keys that match a field of v only when case is ignored
// (encoding/json would accept "ACTION" for "action") and keys given twice (encoding/json keeps
// the last): field names are exact and unique.
func exactFields(data []byte, v any) error {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	known := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			known[name] = true
		}
	}
	seen := map[string]bool{}
	for _, k := range objectKeys(data) {
		if !known[k] {
			return errBadRequest("invalid JSON body: unknown field %q (field names are case-sensitive)", k)
		}
		if seen[k] {
			return errBadRequest("invalid JSON body: field %q is given twice", k)
		}
		seen[k] = true
	}
	return nil
}

// objectKeys returns the keys at the top of a JSON object in order, repeats included (nil when
// data is not an object; as far as it is readable when it is malformed: the decoder reports
// what is wrong).
func objectKeys(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

// describeJSONError says what is wrong with a body in the caller's terms.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("expected a JSON object, got %s", te.Value)
		}
		return fmt.Sprintf("field %q must be %s, got %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON is truncated"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return strings.TrimPrefix(msg, "json: ")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// pathID parses the {id} path value as a task UUID (400 when it is not one).
func pathID(r *http.Request) (uuid.UUID, error) {
	raw := r.PathValue("id")
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return uuid.Nil, errBadRequest("%q is not a task id: task ids are UUIDs like 123e4567-e89b-12d3-a456-426614174000", raw)
	}
	return id, nil
}

// queryBool reads a boolean query parameter (true/false/t/f/yes/no/y/n/1/0/on/off, any case,
// as the original accepted); absent → def.
func queryBool(r *http.Request, name string, def bool) (bool, error) {
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return def, nil
	}
	switch strings.ToLower(v[len(v)-1]) {
	case "true", "t", "yes", "y", "1", "on":
		return true, nil
	case "false", "f", "no", "n", "0", "off":
		return false, nil
	}
	return false, errBadRequest("query parameter %s=%q is not a boolean (use true or false)", name, v[len(v)-1])
}

// queryInt reads an integer query parameter within [min, max]; absent → def.
func queryInt(r *http.Request, name string, def, min, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, errBadRequest("query parameter %s=%q must be an integer from %d to %d", name, v, min, max)
	}
	return n, nil
}

// checkQuery rejects query parameters the endpoint does not know (a misspelt filter would
// otherwise silently select everything).
func checkQuery(r *http.Request, known ...string) error {
	for k := range r.URL.Query() {
		ok := false
		for _, kn := range known {
			if k == kn {
				ok = true
				break
			}
		}
		if !ok {
			if len(known) == 0 {
				return errBadRequest("unknown query parameter %q: this endpoint takes none", k)
			}
			return errBadRequest("unknown query parameter %q (known: %s)", k, strings.Join(known, ", "))
		}
	}
	return nil
}
