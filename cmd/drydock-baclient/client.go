package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Retry timing; variables so tests can shorten them.
var (
	retryBaseDelay = time.Second      // first backoff; doubled after each attempt
	retryMaxDelay  = 30 * time.Second // cap of the backoff and of a server's Retry-After
)

// detail is one message of a status report.
type detail struct {
	Message string `json:"message"`
	Error   bool   `json:"error"`
}

// report is the body of POST /bootactions/{id}.
type report struct {
	Status  string   `json:"status,omitempty"`
	Details []detail `json:"details"`
}

// actionInfo is the 200 answer.
type actionInfo struct {
	NodeName     string `json:"node_name"`
	ActionID     string `json:"action_id"`
	ActionName   string `json:"action_name"`
	TaskID       string `json:"task_id"`
	ActionStatus string `json:"action_status"`
}

// summary describes the answer for the user, with a leading space; "" when the server said nothing.
func (a *actionInfo) summary() string {
	if a == nil || (a.NodeName == "" && a.ActionName == "" && a.ActionStatus == "") {
		return ""
	}
	return fmt.Sprintf(" (node %s, action %s, status %s)", a.NodeName, a.ActionName, a.ActionStatus)
}

// apiStatus is the server's error body.
type apiStatus struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
}

// apiError is an HTTP error answer.
type apiError struct {
	code     int
	message  string // the server's Status message, or the start of a non-JSON body
	attempts int    // how many requests were made
}

func (e *apiError) Error() string {
	return "HTTP " + e.describe()
}

func (e *apiError) describe() string {
	s := fmt.Sprintf("%d %s", e.code, http.StatusText(e.code))
	if e.message != "" {
		s += ": " + e.message
	}
	if e.attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.attempts)
		if e.code == http.StatusConflict {
			s += "; an earlier attempt whose answer was lost may have set the status"
		}
	}
	return s
}

// client posts reports for one action.
type client struct {
	cfg    *config
	http   *http.Client
	stderr io.Writer
}

func newClient(cfg *config, stderr io.Writer) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &client{cfg: cfg, stderr: stderr, http: &http.Client{
		Transport: tr,
		Timeout:   cfg.timeout,
		// Redirects are not followed: the key header would go along to wherever they point.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// post sends the report, retrying after connection errors and 5xx answers with exponential
// backoff (honouring Retry-After up to retryMaxDelay), never after 4xx.
func (c *client) post(r report) (*actionInfo, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		info, retryAfter, err := c.postOnce(body)
		if err == nil {
			return info, nil
		}
		var ae *apiError
		isAPI := errors.As(err, &ae)
		if isAPI {
			ae.attempts = attempt
		}
		if !retryable(err) || attempt > c.cfg.retries {
			if !isAPI && attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, err
		}
		delay := backoff(attempt)
		if retryAfter > delay {
			delay = min(retryAfter, retryMaxDelay)
		}
		fmt.Fprintf(c.stderr, "%s: %v; retrying in %s (%d of %d retries)\n", progName, err, delay, attempt, c.cfg.retries)
		time.Sleep(delay)
	}
}

// postOnce makes one request. It returns the Retry-After delay the server asked for, if any.
func (c *client) postOnce(body []byte) (*actionInfo, time.Duration, error) {
	req, err := http.NewRequest(http.MethodPost, c.cfg.reportURL, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", progName)
	req.Header.Set("X-Bootaction-Key", c.cfg.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil && resp.StatusCode < 300 {
		return nil, 0, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		info := &actionInfo{}
		_ = json.Unmarshal(data, info) // the answer is informative only
		return info, 0, nil
	}
	ae := &apiError{code: resp.StatusCode, message: errorMessage(data)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode < 400 {
		ae.message = "redirect to " + loc + " not followed; fix -url"
	}
	return nil, parseRetryAfter(resp.Header.Get("Retry-After")), ae
}

// errorMessage extracts the Status message of an error body, or a short excerpt of other bodies.
func errorMessage(data []byte) string {
	var st apiStatus
	if json.Unmarshal(data, &st) == nil && st.Message != "" {
		return st.Message
	}
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// retryable: connection-level errors (refused, reset, timeout, EOF) and 5xx answers. 4xx answers
// and certificate verification failures are final.
func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code >= 500
	}
	var cv *tls.CertificateVerificationError
	return !errors.As(err, &cv)
}

func backoff(attempt int) time.Duration {
	d := retryBaseDelay
	for i := 1; i < attempt && d < retryMaxDelay; i++ {
		d *= 2
	}
	return min(d, retryMaxDelay)
}

// parseRetryAfter understands the delay-seconds form of Retry-After.
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// joinURL builds <base>/<id>: duplicate slashes in the base path are collapsed and trailing
// slashes dropped, so .../bootactions, .../bootactions/ and .../bootactions// all give
// .../bootactions/<id> (no trailing slash).
func joinURL(base, id string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("invalid -url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("invalid -url %q: want an http:// or https:// URL", u.Redacted())
	}
	if u.Host == "" {
		return "", fmt.Errorf("invalid -url %q: no host", u.Redacted())
	}
	p := u.Path
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	u.Path = strings.TrimRight(p, "/") + "/" + id
	u.RawPath = ""
	u.Fragment = ""
	u.RawFragment = ""
	return u.String(), nil
}
