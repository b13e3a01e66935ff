package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeAPI implements the server side of POST /api/v1.0/bootactions/{id} as specified: key check
// (401/403), unknown id (404), strict body (400), final status (409), and records what it got.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	actions  map[string]*fakeAction
	requests []fakeRequest                     // every request, including rejected ones
	inject   []func(w http.ResponseWriter) int // each answers one request, returns the code sent
}

type fakeAction struct {
	key      []byte
	status   string // incomplete, success, failure, unreported
	messages []detail
}

type fakeRequest struct {
	path   string // raw path as sent
	code   int
	body   report
	hasKey bool
}

const (
	testID  = "01HZX4V7Q8ABCDEFGHJKMNPQRS"
	testKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	// otherKey is valid hex but not the action's key.
	otherKey = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
)

var actionPath = regexp.MustCompile(`^/api/v1\.0/bootactions/+([^/]+)/*$`)

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, actions: map[string]*fakeAction{}}
	f.addAction(testID, testKey, "incomplete")
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) addAction(id, key, status string) {
	k, err := hex.DecodeString(key)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions[id] = &fakeAction{key: k, status: status}
}

// base is the report_url as Drydock renders it (with a trailing slash).
func (f *fakeAPI) base() string { return f.srv.URL + "/api/v1.0/bootactions/" }

// injectStatus makes the next request (before any other processing) answer code with a Status body.
func (f *fakeAPI) injectStatus(code int, message string) {
	f.injectFunc(func(w http.ResponseWriter) int {
		writeStatus(w, code, message)
		return code
	})
}

func (f *fakeAPI) injectFunc(fn func(w http.ResponseWriter) int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inject = append(f.inject, fn)
}

// injectDrop makes the next request fail at the connection level.
func (f *fakeAPI) injectDrop() {
	f.injectFunc(func(w http.ResponseWriter) int {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Error(err)
			return 0
		}
		conn.Close()
		return 0
	})
}

func (f *fakeAPI) reqs() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func (f *fakeAPI) action(id string) fakeAction {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.actions[id]
	return fakeAction{key: a.key, status: a.status, messages: append([]detail(nil), a.messages...)}
}

func writeStatus(w http.ResponseWriter, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1.0", "metadata": map[string]any{}, "status": "Failure",
		"message": message, "reason": http.StatusText(code), "details": map[string]any{}, "code": code,
	})
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := fakeRequest{path: r.URL.EscapedPath(), hasKey: r.Header.Get("X-Bootaction-Key") != ""}
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &rec.body)
	code := f.handle(w, r, raw)
	rec.code = code
	f.requests = append(f.requests, rec)
}

// handle answers one request and returns the status code it sent.
func (f *fakeAPI) handle(w http.ResponseWriter, r *http.Request, raw []byte) int {
	if len(f.inject) > 0 {
		fn := f.inject[0]
		f.inject = f.inject[1:]
		return fn(w)
	}
	fail := func(code int, msg string) int { writeStatus(w, code, msg); return code }
	m := actionPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		return fail(http.StatusNotFound, "not found")
	}
	id := m[1]
	a, ok := f.actions[id]
	if !ok {
		return fail(http.StatusNotFound, "Error locating boot action "+id)
	}
	keyHex := r.Header.Get("X-Bootaction-Key")
	if keyHex == "" {
		w.Header().Set("WWW-Authenticate", "Bootaction-Key")
		return fail(http.StatusUnauthorized, "No X-Bootaction-Key")
	}
	key, err := hex.DecodeString(keyHex)
	if err != nil || !bytes.Equal(key, a.key) {
		return fail(http.StatusForbidden, "Invalid X-Bootaction-Key")
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return fail(http.StatusBadRequest, "Error processing body.")
	}
	body, err := strictBody(raw)
	if err != nil {
		return fail(http.StatusBadRequest, "Error processing body.")
	}
	if strings.ToLower(a.status) != "incomplete" {
		return fail(http.StatusConflict, fmt.Sprintf("Action %s status finalized, not available for update.", id))
	}
	a.messages = append(a.messages, body.Details...)
	if body.Status != "" {
		a.status = strings.ToLower(body.Status)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"node_name": "node01", "action_id": id, "action_name": "hello",
		"task_id": "7f6c3d2e-1111-2222-3333-444455556666", "action_status": a.status,
	})
	return http.StatusOK
}

// strictBody checks the body as the server does: an object with only status and details; status
// one of Success/Failure in either case; details a list of objects with message (string) and error
// (boolean).
func strictBody(raw []byte) (report, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		return report{}, fmt.Errorf("not an object")
	}
	var r report
	for k, v := range top {
		switch k {
		case "status":
			if err := json.Unmarshal(v, &r.Status); err != nil {
				return r, err
			}
			switch r.Status {
			case "Success", "Failure", "success", "failure":
			default:
				return r, fmt.Errorf("bad status %q", r.Status)
			}
		case "details":
			var list []map[string]json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil || list == nil {
				return r, fmt.Errorf("details: not a list")
			}
			for _, d := range list {
				var msg string
				var isErr bool
				if d == nil || isNull(d["message"]) || isNull(d["error"]) ||
					json.Unmarshal(d["message"], &msg) != nil || json.Unmarshal(d["error"], &isErr) != nil {
					return r, fmt.Errorf("bad detail")
				}
				r.Details = append(r.Details, detail{Message: msg, Error: isErr})
			}
		default:
			return r, fmt.Errorf("unexpected key %q", k)
		}
	}
	return r, nil
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }
