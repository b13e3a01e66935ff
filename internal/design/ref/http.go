package ref

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// snippetBytes is how much of an error response body an error quotes.
const snippetBytes = 200

// failure is the outcome of one failed HTTP attempt.
type failure struct {
	kind  ErrorKind
	err   error
	retry bool // transient: another attempt may succeed
}

// fetchHTTP fetches an http(s) or deckhand+http(s) reference, retrying
// transient failures.
func (r *Resolver) fetchHTTP(ctx context.Context, ref, red string, deckhand bool) ([]Source, error) {
	u, err := parseURL(ref, red)
	if err != nil {
		return nil, err
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, malformed(red, errors.New("the URL needs a host, as in scheme://host/path"))
	}
	target := *u
	target.User = nil // sent as Basic auth, never in the request URL
	target.Scheme = strings.TrimPrefix(strings.ToLower(u.Scheme), "deckhand+")

	s := r.settings()
	client := r.client()
	for attempt := 1; ; attempt++ {
		data, f := r.attempt(ctx, s, client, &target, u.User, deckhand)
		if f == nil {
			return []Source{{Name: red, Data: data}}, nil
		}
		if !f.retry {
			return nil, &Error{Ref: red, Kind: f.kind, Err: f.err}
		}
		if attempt >= s.attempts {
			return nil, &Error{Ref: red, Kind: f.kind, Err: fmt.Errorf("%w (gave up after %d attempt%s)", f.err, attempt, plural(attempt))}
		}
		timer := time.NewTimer(backoff(s, attempt))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, &Error{Ref: red, Kind: KindUnreachable,
				Err: fmt.Errorf("cancelled while waiting to retry after attempt %d failed (%v): %w", attempt, f.err, ctx.Err())}
		case <-timer.C:
		}
	}
}

// attempt makes one GET and reads the body within the per-attempt timeout.
func (r *Resolver) attempt(ctx context.Context, s settings, client *http.Client, target *url.URL, user *url.Userinfo, deckhand bool) ([]byte, *failure) {
	actx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, &failure{kind: KindMalformed, err: err}
	}
	req.Header.Set("User-Agent", "drydock-go")

	var secrets []string // masked in any response body quoted in an error
	if user != nil {
		pw, hasPW := user.Password()
		req.SetBasicAuth(user.Username(), pw)
		secrets = append(secrets, pw, strings.TrimPrefix(req.Header.Get("Authorization"), "Basic "))
		if !hasPW {
			secrets = append(secrets, user.Username())
		}
	}
	if deckhand && r != nil && r.Token != nil {
		tok, err := r.Token(actx)
		switch {
		case ctx.Err() != nil:
			return nil, &failure{kind: KindUnreachable, err: fmt.Errorf("getting a token: %w", ctx.Err())}
		case err != nil:
			kind := KindRejected
			if errors.Is(err, context.DeadlineExceeded) {
				kind = KindUnreachable
			}
			return nil, &failure{kind: kind, err: fmt.Errorf("getting a token: %w", err)}
		case tok == "":
			return nil, &failure{kind: KindRejected, err: errors.New("getting a token: the token source returned an empty token")}
		}
		req.Header.Set("X-Auth-Token", tok)
		secrets = append(secrets, tok)
	}

	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in the message, redacted
		}
		return nil, transportFailure(ctx, actx, s.timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, statusFailure(resp, secrets)
	}
	if resp.ContentLength > s.maxBytes {
		return nil, &failure{kind: KindTooLarge,
			err: &tooLargeError{what: "the response (Content-Length " + strconv.FormatInt(resp.ContentLength, 10) + ")", limit: s.maxBytes}}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBytes+1))
	if err != nil {
		return nil, transportFailure(ctx, actx, s.timeout, fmt.Errorf("reading the response body: %w", err))
	}
	if int64(len(data)) > s.maxBytes {
		return nil, &failure{kind: KindTooLarge, err: &tooLargeError{what: "the response body", limit: s.maxBytes}}
	}
	return data, nil
}

// transportFailure classifies an error from sending the request or reading
// the response.
func transportFailure(ctx, actx context.Context, timeout time.Duration, err error) *failure {
	switch {
	case ctx.Err() != nil:
		return &failure{kind: KindUnreachable, err: fmt.Errorf("request abandoned: %w", ctx.Err())}
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return &failure{kind: KindUnreachable, retry: true,
			err: fmt.Errorf("no complete response within the timeout of %v: %w", timeout, context.DeadlineExceeded)}
	}
	return &failure{kind: KindUnreachable, err: err, retry: transient(err)}
}

// transient reports whether a transport error may go away on its own.
func transient(err error) bool {
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, io.EOF, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// statusFailure classifies a non-2xx response and quotes the start of its body.
func statusFailure(resp *http.Response, secrets []string) *failure {
	status := resp.Status
	if status == "" {
		status = strconv.Itoa(resp.StatusCode)
	}
	msg := "server answered HTTP " + status
	if snippet := readSnippet(resp.Body, secrets); snippet != "" {
		msg += ": " + snippet
	}
	f := &failure{kind: KindRejected, err: errors.New(msg)}
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound || code == http.StatusGone:
		f.kind = KindNotFound
	case code == http.StatusTooManyRequests || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		f.kind, f.retry = KindUnreachable, true
	case code >= 500:
		f.kind = KindUnreachable
	}
	return f
}

// readSnippet returns at most snippetBytes of body, quoted, with secrets masked.
func readSnippet(body io.Reader, secrets []string) string {
	buf, _ := io.ReadAll(io.LimitReader(body, snippetBytes+1))
	more := len(buf) > snippetBytes
	if more {
		buf = buf[:snippetBytes]
		for i := 0; i < utf8.UTFMax && len(buf) > 0 && !utf8.Valid(buf); i++ {
			buf = buf[:len(buf)-1] // do not cut a character in two
		}
	}
	s := strings.TrimSpace(string(buf))
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	if s == "" {
		return ""
	}
	if more {
		return strconv.Quote(s) + " (truncated)"
	}
	return strconv.Quote(s)
}

// backoff is the wait after failed attempt n (1 for the first): the base
// doubled n-1 times, capped, then a random point in its upper half.
func backoff(s settings, n int) time.Duration {
	d := s.baseBackoff
	for i := 1; i < n && d < s.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.maxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// client returns a copy of the configured client whose redirect policy
// drops X-Auth-Token when a redirect leaves the original host. (net/http
// already drops Authorization on such redirects, but copies other headers.)
func (r *Resolver) client() *http.Client {
	var c http.Client
	if r != nil && r.Client != nil {
		c = *r.Client
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			req.Header.Del("X-Auth-Token")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
