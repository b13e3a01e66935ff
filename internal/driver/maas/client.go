package maas

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// APIError is an error status MAAS answered with: the request (method, path, op), the status
// and MAAS's text (truncated). It never carries the API key (the key travels only in the
// Authorization header).
type APIError struct {
	Method string
	Path   string // relative to the API base, e.g. machines/4y3h7n/
	Op     string
	Status int
	Text   string
}

func (e *APIError) Error() string {
	what := e.Method + " " + e.Path
	if e.Op != "" {
		what += "?op=" + e.Op
	}
	text := e.Text
	if text == "" {
		text = http.StatusText(e.Status)
	}
	return fmt.Sprintf("MAAS %s: %d %s", what, e.Status, text)
}

// Transient reports whether retrying later may succeed (503, 502, 504, 429).
func (e *APIError) Transient() bool {
	switch e.Status {
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// statusOf is the HTTP status of a MAAS error, or 0.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// isNotFound reports a 404.
func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// UncertainError wraps the failure of a POST whose request may have reached MAAS (a timeout or
// a connection lost after sending): whether it took effect is unknown, so it is not repeated;
// the driver reads the resource again on its next call to find out.
type UncertainError struct{ Err error }

func (e *UncertainError) Error() string {
	return fmt.Sprintf("%v (MAAS may or may not have applied it; the state is read again before any retry)", e.Err)
}
func (e *UncertainError) Unwrap() error { return e.Err }

// transient reports whether an error is worth trying again later: a transient status, a
// connection problem, a timeout, an uncertain POST.
func transient(err error) bool {
	if err == nil {
		return false
	}
	var amb *ambiguousError
	if errors.As(err, &amb) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Transient()
	}
	return true
}

// client is a small typed MAAS API 2.0 client: OAuth 1.0 PLAINTEXT, op in the query string,
// form bodies, a context on every call, retries of idempotent requests only.
type client struct {
	base     *url.URL
	key      apiKey
	hc       *http.Client
	cfg      Config
	sem      chan struct{}
	nRequest atomic.Int64
}

func newClient(cfg Config, key apiKey) (*client, error) {
	base, err := apiBase(cfg.URL)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.MaxConcurrent
		hc = &http.Client{Transport: tr}
	}
	return &client{base: base, key: key, hc: hc, cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent)}, nil
}

// authorization is the OAuth 1.0 PLAINTEXT header (maas_api.md §2): consumer secret empty, so
// the signature is "&<token_secret>".
func (c *client) authorization() string {
	var nonce [12]byte
	_, _ = crand.Read(nonce[:])
	enc := url.QueryEscape
	return fmt.Sprintf(`OAuth realm="", oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", oauth_token="%s", oauth_signature="%s", oauth_nonce="%s", oauth_timestamp="%d"`,
		enc(c.key.consumer), enc(c.key.token), enc("&"+c.key.secret), hex.EncodeToString(nonce[:]), time.Now().Unix())
}

// request describes one API call.
type request struct {
	method string
	path   string // relative to the base, e.g. "machines/" or "nodes/x/blockdevices/3/partition/7"
	op     string
	query  url.Values
	form   url.Values
}

// get reads a resource into out (nil: discard).
func (c *client) get(ctx context.Context, path, op string, query url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodGet, path: path, op: op, query: query}, out)
}

// put updates a resource (idempotent: retried).
func (c *client) put(ctx context.Context, path string, form url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodPut, path: path, form: form}, out)
}

// del deletes a resource (idempotent: retried; a 404 after a retry means it is gone).
func (c *client) del(ctx context.Context, path string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: path}, nil)
}

// post creates a resource or runs an operation. It is sent once: only a request that could not
// be sent at all (the connection was refused) is tried again.
func (c *client) post(ctx context.Context, path, op string, form url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodPost, path: path, op: op, form: form}, out)
}

// Requests is the number of HTTP requests sent so far.
func (c *client) Requests() int64 { return c.nRequest.Load() }

func (c *client) do(ctx context.Context, r request, out any) error {
	idempotent := r.method != http.MethodPost
	var err error
	for attempt := 1; ; attempt++ {
		var sent bool
		sent, err = c.once(ctx, r, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		retry := false
		switch {
		case idempotent:
			retry = transient(err)
			if r.method == http.MethodDelete && attempt > 1 && isNotFound(err) {
				// A DELETE that may have taken effect on an earlier try: gone is what we wanted.
				return nil
			}
		case !sent:
			retry = true // never reached MAAS: safe to send again
		default:
			var ae *APIError
			if !errors.As(err, &ae) {
				// Sent, no answer: MAAS may have applied it. Never repeated blindly.
				return &UncertainError{err}
			}
			// MAAS answered with an error: it did not apply it (maas_api.md §3); a 503 is
			// not retried here either, the driver's next call re-reads the state.
		}
		if !retry || attempt >= c.cfg.Attempts {
			return err
		}
		wait := c.cfg.Backoff << min(attempt-1, 8)
		wait = wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// once sends one request. sent reports whether the request may have reached MAAS.
func (c *client) once(ctx context.Context, r request, out any) (sent bool, err error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("MAAS %s %s: %w", r.method, maskPath(r.path), context.Cause(ctx))
	}
	defer func() { <-c.sem }()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	u := *c.base
	u.Path += r.path
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	if r.op != "" {
		q.Set("op", r.op)
	}
	u.RawQuery = q.Encode()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return false, fmt.Errorf("MAAS %s %s: %v", r.method, maskPath(r.path), err)
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", c.authorization())
	c.nRequest.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return !notSent(err), fmt.Errorf("MAAS %s %s: interrupted: %w", r.method, maskPath(r.path), context.Cause(parent))
		}
		return !notSent(err), c.transportError(r, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	c.cfg.Logger.Debug("maas request", "method", r.method, "path", maskPath(r.path), "op", r.op, "status", resp.StatusCode)
	if err != nil {
		return true, c.transportError(r, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return true, &APIError{Method: r.method, Path: maskPath(r.path), Op: r.op, Status: resp.StatusCode, Text: c.scrub(errorText(data))}
	}
	if out == nil || len(data) == 0 {
		return true, nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return true, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return true, &APIError{Method: r.method, Path: maskPath(r.path), Op: r.op, Status: resp.StatusCode,
			Text: fmt.Sprintf("reply is not the JSON expected: %v", err)}
	}
	return true, nil
}

// transportError names the request and the cause, without the URL's host part repeated and
// never with the key.
func (c *client) transportError(r request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	what := r.method + " " + maskPath(r.path)
	if r.op != "" {
		what += "?op=" + r.op
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("MAAS %s: no answer within %s: %w", what, c.cfg.Timeout, err)
	}
	return fmt.Errorf("MAAS %s: %s", what, c.scrub(err.Error()))
}

// scrub removes the key's parts from a text, as a last line of defence.
func (c *client) scrub(s string) string {
	for _, p := range []string{c.key.secret, c.key.token, c.key.consumer} {
		if len(p) >= 4 {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	return s
}

// maskPath hides boot action keys, which are part of tag names (tags/<node>__baid__<key>/).
func maskPath(p string) string {
	if !strings.Contains(p, "__baid__") {
		return p
	}
	return baidTagRE.ReplaceAllString(p, "__baid__<key>")
}

// notSent reports a failure that happened before the request left: the connection could not
// be established.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// errorText is MAAS's error body made readable: text as is (trimmed, one line), JSON field
// errors as "field: message; ...".
func errorText(data []byte) string {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, "{") {
		var fields map[string][]string
		if json.Unmarshal(data, &fields) == nil {
			var parts []string
			for _, k := range sortedKeys(fields) {
				parts = append(parts, k+": "+strings.Join(fields[k], " "))
			}
			s = strings.Join(parts, "; ")
		}
	} else if strings.HasPrefix(s, "<") {
		s = "(HTML error page)"
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// form builds url.Values from alternating keys and values.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func itoa(i int) string { return strconv.Itoa(i) }

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
