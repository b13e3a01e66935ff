// Package client is the Go client of Drydock's REST API v1.0, used by the drydock CLI.
//
// Every call takes a context. Reads (GET) are retried with exponential backoff and jitter when
// the server cannot be reached or answers 429, 502, 503 or 504; calls that change something
// (POST) are never repeated automatically, since the first attempt may have taken effect. An
// HTTP error is returned as *Error carrying the server's Status body.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/wire"
)

// Client talks to one Drydock API.
type Client struct {
	base  *url.URL
	token string
	// HTTP is the HTTP client (default: 30 s timeout per request).
	HTTP *http.Client
	// Attempts bounds the tries of a read (default 4); Backoff is the first wait (default
	// 250 ms), doubled on each retry up to MaxBackoff (default 4 s).
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// EndUser and ContextMarker are sent as X-End-User and X-Context-Marker when set (they
	// appear in the server's request log).
	EndUser       string
	ContextMarker string
}

// New returns a client for the API at baseURL (scheme://host[:port], optionally with a path
// prefix; /api/v1.0 is appended) authenticating with token (may be empty).
func New(baseURL, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("API URL %q: it must be http(s)://host[:port]", baseURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/api/v1.0"), "/")
	return &Client{base: u, token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}, nil
}

// URL is the API's base URL.
func (c *Client) URL() string { return c.base.String() }

// Error is an HTTP error answer.
type Error struct {
	Code   int
	Status *wire.Status // the server's Status body, when it sent one
	Body   string       // the raw body otherwise (truncated)
}

func (e *Error) Error() string {
	if e.Status != nil && e.Status.Message != "" {
		return fmt.Sprintf("%s (HTTP %d %s)", e.Status.Message, e.Code, e.Status.Reason)
	}
	if e.Body != "" {
		return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body)
	}
	return fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
}

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool { return HTTPCode(err) == http.StatusNotFound }

// HTTPCode returns the HTTP status of an *Error (0 for other errors).
func HTTPCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// request is one call.
type request struct {
	method string
	path   string // below /api/v1.0, or absolute (starting with /) when abs
	abs    bool
	query  url.Values
	body   any
	// ok lists the statuses that are not errors (default: any 2xx).
	ok []int
	// once: no retry (health checks report what they see).
	once bool
}

// do performs a call and decodes the JSON answer into out (when not nil). It returns the
// response headers.
func (c *Client) do(ctx context.Context, rq request, out any) (http.Header, int, error) {
	u := *c.base
	// rq.path is already escaped (node names go through url.PathEscape): append it to the
	// escaped path, so that it is not escaped a second time.
	p := rq.path
	if !rq.abs {
		p = "/api/v1.0" + p
	}
	u.RawPath = u.EscapedPath() + p
	var err error
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return nil, 0, err
	}
	u.RawQuery = rq.query.Encode()
	var body []byte
	if rq.body != nil {
		if body, err = json.Marshal(rq.body); err != nil {
			return nil, 0, err
		}
	}
	attempts := 1
	if rq.method == http.MethodGet && !rq.once {
		attempts = c.Attempts
		if attempts <= 0 {
			attempts = 4
		}
	}
	backoff := c.Backoff
	if backoff <= 0 {
		backoff = 250 * time.Millisecond
	}
	maxBackoff := c.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 4 * time.Second
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			wait := min(backoff<<(i-1), maxBackoff)
			wait = wait/2 + rand.N(wait/2+1)
			select {
			case <-ctx.Done():
				return nil, 0, errors.Join(ctx.Err(), lastErr)
			case <-time.After(wait):
			}
		}
		h, code, retry, err := c.once(ctx, rq, &u, body, out)
		if err == nil || !retry || ctx.Err() != nil {
			return h, code, err
		}
		lastErr = err
	}
	return nil, 0, lastErr
}

// once performs one attempt; retry tells whether a failure is worth another.
func (c *Client) once(ctx context.Context, rq request, u *url.URL, body []byte, out any) (http.Header, int, bool, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), rd)
	if err != nil {
		return nil, 0, false, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	if c.EndUser != "" {
		req.Header.Set("X-End-User", c.EndUser)
	}
	if c.ContextMarker != "" {
		req.Header.Set("X-Context-Marker", c.ContextMarker)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, true, fmt.Errorf("%s %s: %w", rq.method, redactURL(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, resp.StatusCode, true, fmt.Errorf("%s %s: reading the answer: %w", rq.method, redactURL(u), err)
	}
	good := resp.StatusCode >= 200 && resp.StatusCode < 300
	for _, c := range rq.ok {
		if resp.StatusCode == c {
			good = true
		}
	}
	if !good {
		e := &Error{Code: resp.StatusCode}
		var st wire.Status
		if json.Unmarshal(data, &st) == nil && st.Kind == "Status" {
			e.Status = &st
		} else {
			e.Body = strings.TrimSpace(string(data[:min(len(data), 512)]))
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return resp.Header, resp.StatusCode, true, e
		}
		return resp.Header, resp.StatusCode, false, e
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, resp.StatusCode, false, fmt.Errorf("%s %s: the answer is not the expected JSON: %w", rq.method, redactURL(u), err)
		}
	}
	return resp.Header, resp.StatusCode, false, nil
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// CreateTask queues a task. nodeFilter may be nil (all nodes).
func (c *Client) CreateTask(ctx context.Context, action, designRef string, nodeFilter json.RawMessage) (*wire.Task, error) {
	var t wire.Task
	_, _, err := c.do(ctx, request{method: http.MethodPost, path: "/tasks",
		body: wire.CreateTask{Action: action, DesignRef: designRef, NodeFilter: nodeFilter}}, &t)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// ListOptions select tasks.
type ListOptions struct {
	Statuses []string
	Action   string
	TopLevel bool
	Limit    int    // 0: the server's default (100)
	Marker   string // continue after this task (the previous page's next marker)
	Messages bool   // include each task's messages
}

// ListTasks lists one page of tasks, newest first; next is the marker of the following page
// ("" on the last page).
func (c *Client) ListTasks(ctx context.Context, o ListOptions) (tasks []wire.Task, next string, err error) {
	q := url.Values{}
	if len(o.Statuses) > 0 {
		q.Set("status", strings.Join(o.Statuses, ","))
	}
	if o.Action != "" {
		q.Set("action", o.Action)
	}
	if o.TopLevel {
		q.Set("toplevel", "true")
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Marker != "" {
		q.Set("marker", o.Marker)
	}
	if o.Messages {
		q.Set("messages", "true")
	}
	h, _, err := c.do(ctx, request{method: http.MethodGet, path: "/tasks", query: q}, &tasks)
	if err != nil {
		return nil, "", err
	}
	return tasks, h.Get("X-Drydock-Next-Marker"), nil
}

// TaskOptions add to a task's representation.
type TaskOptions struct {
	BuildData     bool
	SubtaskErrors bool
}

func (o TaskOptions) query() url.Values {
	q := url.Values{}
	if o.BuildData {
		q.Set("builddata", "true")
	}
	if o.SubtaskErrors {
		q.Set("subtaskerrors", "true")
	}
	return q
}

// GetTask reads a task.
func (c *Client) GetTask(ctx context.Context, id uuid.UUID, o TaskOptions) (*wire.Task, error) {
	var t wire.Task
	if _, _, err := c.do(ctx, request{method: http.MethodGet, path: "/tasks/" + id.String(), query: o.query()}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetTaskLayers reads a task and its descendants down to depth layers (-1: all) as the map the
// API returns: task id → task, plus "init_task_id" and, when asked, "subtask_errors".
func (c *Client) GetTaskLayers(ctx context.Context, id uuid.UUID, layers int, o TaskOptions) (map[string]json.RawMessage, error) {
	q := o.query()
	q.Set("layers", strconv.Itoa(layers))
	var out map[string]json.RawMessage
	if _, _, err := c.do(ctx, request{method: http.MethodGet, path: "/tasks/" + id.String(), query: q}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// TaskSteps lists a task's step runs (each step for each node).
func (c *Client) TaskSteps(ctx context.Context, id uuid.UUID) ([]wire.StepRun, error) {
	var out []wire.StepRun
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/tasks/" + id.String() + "/steps"}, &out)
	return out, err
}

// TaskBuildData lists the build data collected by a task.
func (c *Client) TaskBuildData(ctx context.Context, id uuid.UUID) ([]wire.BuildData, error) {
	var out []wire.BuildData
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/tasks/" + id.String() + "/builddata"}, &out)
	return out, err
}

// TerminateTask asks for a task to stop.
func (c *Client) TerminateTask(ctx context.Context, id uuid.UUID) (*wire.Task, error) {
	var t wire.Task
	if _, _, err := c.do(ctx, request{method: http.MethodPost, path: "/tasks/" + id.String() + "/terminate"}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// RetryTask queues a finished task again (only what did not pass runs again).
func (c *Client) RetryTask(ctx context.Context, id uuid.UUID) (*wire.Task, error) {
	var t wire.Task
	if _, _, err := c.do(ctx, request{method: http.MethodPost, path: "/tasks/" + id.String() + "/retry"}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Nodes lists the node driver's machines.
func (c *Client) Nodes(ctx context.Context) ([]wire.Machine, error) {
	var out []wire.Machine
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/nodes"}, &out)
	return out, err
}

// NodeBuildData lists a node's build data (latest: only the newest record per generator).
func (c *Client) NodeBuildData(ctx context.Context, node string, latest bool) ([]wire.BuildData, error) {
	var out []wire.BuildData
	q := url.Values{"latest": {strconv.FormatBool(latest)}}
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/nodes/" + url.PathEscape(node) + "/builddata", query: q}, &out)
	return out, err
}

// NodeFilter returns the names of the design's nodes a filter selects (nil: all).
func (c *Client) NodeFilter(ctx context.Context, designRef string, nodeFilter json.RawMessage) ([]string, error) {
	var out []string
	_, _, err := c.do(ctx, request{method: http.MethodPost, path: "/nodefilter",
		body: wire.NodeFilter{DesignRef: designRef, NodeFilter: nodeFilter}}, &out)
	return out, err
}

// ValidateDesign validates a design on the server. The returned Status says whether it passed
// (Status "Success") and lists the findings; err is only set when no verdict was reached (the
// design could not be read, the request was refused).
func (c *Client) ValidateDesign(ctx context.Context, href string) (*wire.Status, error) {
	var st wire.Status
	_, _, err := c.do(ctx, request{method: http.MethodPost, path: "/validatedesign",
		body: wire.ValidateDesign{Href: href, Rel: "design", Type: "application/x-yaml"}}, &st)
	var e *Error
	if errors.As(err, &e) && e.Code == http.StatusBadRequest && e.Status != nil && e.Status.Reason == "See detail messages." {
		return e.Status, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// Health checks liveness (no authentication needed).
func (c *Client) Health(ctx context.Context) error {
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/health", once: true}, nil)
	return err
}

// HealthExtended runs every health check; an unhealthy answer is returned as the Status with
// an *Error.
func (c *Client) HealthExtended(ctx context.Context) (*wire.Status, error) {
	var st wire.Status
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/health/extended", once: true}, &st)
	var e *Error
	if errors.As(err, &e) && e.Status != nil {
		return e.Status, err
	}
	return &st, err
}

// Versions lists the API versions.
func (c *Client) Versions(ctx context.Context) (wire.Versions, error) {
	var v wire.Versions
	_, _, err := c.do(ctx, request{method: http.MethodGet, path: "/versions", abs: true}, &v)
	return v, err
}

// Purge removes finished tasks created, and build data collected, more than olderThan ago
// (retention; unfinished tasks are never touched).
func (c *Client) Purge(ctx context.Context, olderThan time.Duration) (*wire.PurgeResult, error) {
	var out wire.PurgeResult
	q := url.Values{"older_than": {olderThan.String()}}
	if _, _, err := c.do(ctx, request{method: http.MethodDelete, path: "/tasks", query: q, once: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
