package client

// Retries and backoff: reads are retried on transient failures, writes never, against a
// scripted server (also used by request_test.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// hit is one request as the scripted server saw it.
type hit struct {
	at     time.Time
	method string
	path   string // escaped
	query  string
	header http.Header
	body   []byte
	length int64
}

// script is an httptest server answering each request with answer(n), n counting from 1.
type script struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []hit
}

func newScript(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *script {
	t.Helper()
	s := &script{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.log = append(s.log, hit{at: at, method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery,
			header: r.Header.Clone(), body: body, length: r.ContentLength})
		n := len(s.log)
		s.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) hits() []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// client returns a client of the scripted server with short backoffs.
func (s *script) client(t *testing.T, token string) *Client {
	t.Helper()
	c, err := New(s.srv.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	c.Attempts, c.Backoff, c.MaxBackoff = 4, time.Millisecond, 4*time.Millisecond
	return c
}

func statusBody(code int, reason, msg string) string {
	return fmt.Sprintf(`{"kind":"Status","apiVersion":"v1.0","metadata":{},"status":"Failure","message":%q,"reason":%q,"details":{"errorCount":1,"messageList":[]},"code":%d}`,
		msg, reason, code)
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, statusBody(code, reason, msg))
}

func TestRetryGETUntilSuccess(t *testing.T) {
	s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "busy")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"hostname":"cmp01","system_id":"abc"}]`)
	})
	c := s.client(t, "")
	ms, err := c.Nodes(context.Background())
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	if len(ms) != 1 || ms[0].Hostname != "cmp01" {
		t.Errorf("machines %+v", ms)
	}
	if n := s.count(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestRetryGETGivesUp(t *testing.T) {
	for _, attempts := range []int{1, 3, 0} {
		t.Run(fmt.Sprint("attempts=", attempts), func(t *testing.T) {
			s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
				writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprint("busy ", n))
			})
			c := s.client(t, "")
			c.Attempts = attempts
			_, err := c.GetTask(context.Background(), uuid.New(), TaskOptions{})
			want := attempts
			if want == 0 {
				want = 4 // the default
			}
			if n := s.count(); n != want {
				t.Errorf("%d attempts, want %d", n, want)
			}
			ae := asError(t, err)
			if ae.Code != http.StatusServiceUnavailable || ae.Status == nil || ae.Status.Message != fmt.Sprint("busy ", want) {
				t.Errorf("error %v (%+v), want the last answer's", err, ae.Status)
			}
		})
	}
}

func TestRetriedStatuses(t *testing.T) {
	for _, c := range []struct {
		code  int
		tries int
	}{
		{http.StatusTooManyRequests, 3}, {http.StatusBadGateway, 3}, {http.StatusServiceUnavailable, 3}, {http.StatusGatewayTimeout, 3},
		{http.StatusInternalServerError, 1}, {http.StatusNotFound, 1}, {http.StatusBadRequest, 1},
		{http.StatusUnauthorized, 1}, {http.StatusForbidden, 1}, {http.StatusConflict, 1},
	} {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
				writeStatus(w, c.code, "X", "no")
			})
			cl := s.client(t, "")
			cl.Attempts = 3
			_, err := cl.TaskSteps(context.Background(), uuid.New())
			if HTTPCode(err) != c.code {
				t.Errorf("error %v, want HTTP %d", err, c.code)
			}
			if IsNotFound(err) != (c.code == http.StatusNotFound) {
				t.Errorf("IsNotFound %v for %d", IsNotFound(err), c.code)
			}
			if n := s.count(); n != c.tries {
				t.Errorf("%d attempts, want %d", n, c.tries)
			}
		})
	}
}

// countingTransport counts round trips.
type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func TestRetryConnectionRefused(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	base := hs.URL
	hs.Close() // nothing listens there any more
	for _, userinfo := range []bool{false, true} {
		u := base
		if userinfo {
			u = strings.Replace(base, "http://", "http://joe:pa55w0rd-s3cr3t@", 1)
		}
		c, err := New(u, adminToken)
		if err != nil {
			t.Fatal(err)
		}
		ct := &countingTransport{base: &http.Transport{}}
		c.HTTP = &http.Client{Transport: ct, Timeout: 5 * time.Second}
		c.Attempts, c.Backoff, c.MaxBackoff = 3, time.Millisecond, 2*time.Millisecond
		_, err = c.Nodes(context.Background())
		if err == nil {
			t.Fatal("no error from a closed server")
		}
		if n := ct.n.Load(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
		if want := base + "/api/v1.0/nodes"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name the URL %s", err, want)
		}
		if HTTPCode(err) != 0 {
			t.Errorf("HTTPCode %d of a connection error", HTTPCode(err))
		}
		if strings.Contains(err.Error(), "pa55w0rd") || strings.Contains(err.Error(), adminToken) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}

func TestPOSTNeverRetried(t *testing.T) {
	s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "busy")
	})
	c := s.client(t, "")
	c.Attempts = 5
	ctx := context.Background()
	id := uuid.New()
	for name, call := range map[string]func() error{
		"CreateTask":     func() error { _, err := c.CreateTask(ctx, "deploy_nodes", "/site", nil); return err },
		"TerminateTask":  func() error { _, err := c.TerminateTask(ctx, id); return err },
		"RetryTask":      func() error { _, err := c.RetryTask(ctx, id); return err },
		"NodeFilter":     func() error { _, err := c.NodeFilter(ctx, "/site", nil); return err },
		"ValidateDesign": func() error { _, err := c.ValidateDesign(ctx, "/site"); return err },
	} {
		before := s.count()
		err := call()
		if HTTPCode(err) != http.StatusServiceUnavailable {
			t.Errorf("%s: %v", name, err)
		}
		hs := s.hits()[before:]
		if len(hs) != 1 || hs[0].method != http.MethodPost {
			t.Errorf("%s: %d requests, want exactly one POST", name, len(hs))
		}
	}
	// Also not over a dead connection.
	hs := httptest.NewServer(http.NotFoundHandler())
	dead := hs.URL
	hs.Close()
	dc, err := New(dead, "")
	if err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{base: &http.Transport{}}
	dc.HTTP = &http.Client{Transport: ct}
	dc.Attempts, dc.Backoff = 5, time.Millisecond
	if _, err := dc.CreateTask(ctx, "deploy_nodes", "/site", nil); err == nil || ct.n.Load() != 1 {
		t.Errorf("POST to a dead server: %v after %d attempts, want 1", err, ct.n.Load())
	}
}

func TestHealthNotRetried(t *testing.T) {
	s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Drydock failed to respond")
	})
	c := s.client(t, "")
	c.Attempts = 5
	if err := c.Health(context.Background()); HTTPCode(err) != http.StatusServiceUnavailable {
		t.Errorf("Health: %v", err)
	}
	if n := s.count(); n != 1 {
		t.Errorf("Health: %d attempts, want 1", n)
	}
	st, err := c.HealthExtended(context.Background())
	if HTTPCode(err) != http.StatusServiceUnavailable {
		t.Errorf("HealthExtended: %v", err)
	}
	if st == nil || st.Status != "Failure" || st.Message != "Drydock failed to respond" {
		t.Errorf("HealthExtended status %+v, want the server's", st)
	}
	if n := s.count(); n != 2 {
		t.Errorf("HealthExtended: %d attempts in all, want 2", n)
	}
}

func TestGET404NotRetried(t *testing.T) {
	s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, "NotFound", "no such task")
	})
	c := s.client(t, "")
	_, err := c.GetTask(context.Background(), uuid.New(), TaskOptions{})
	if !IsNotFound(err) {
		t.Errorf("error %v", err)
	}
	if n := s.count(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "busy")
	})
	c := s.client(t, "")
	c.Attempts, c.Backoff, c.MaxBackoff = 5, 10*time.Second, 10*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Nodes(ctx)
	took := time.Since(start)
	if took > 2*time.Second { // the first wait is at least 5 s
		t.Errorf("returned after %v, want promptly after the cancellation", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
	if HTTPCode(err) != http.StatusServiceUnavailable {
		t.Errorf("error %v lost the last answer (HTTPCode %d)", err, HTTPCode(err))
	}
	if n := s.count(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}

	// Already cancelled: no request at all, or at most one, and a context error.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	before := s.count()
	if _, err := c.Nodes(ctx2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if n := s.count() - before; n > 1 {
		t.Errorf("cancelled context: %d attempts", n)
	}
}

func TestBackoffGrows(t *testing.T) {
	const base, maxB = 20 * time.Millisecond, 80 * time.Millisecond
	// Nominal waits before attempts 2..5 and their jittered ranges [w/2, w].
	nominal := []time.Duration{base, 2 * base, maxB, maxB}
	const slack = 15 * time.Millisecond // scheduling delay allowed above a range's top
	measure := func(t *testing.T) []time.Duration {
		s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "busy")
		})
		c := s.client(t, "")
		c.Attempts, c.Backoff, c.MaxBackoff = 5, base, maxB
		if _, err := c.Nodes(context.Background()); HTTPCode(err) != http.StatusServiceUnavailable {
			t.Fatalf("error %v", err)
		}
		hs := s.hits()
		if len(hs) != 5 {
			t.Fatalf("%d attempts, want 5", len(hs))
		}
		gaps := make([]time.Duration, 4)
		for i := range gaps {
			gaps[i] = hs[i+1].at.Sub(hs[i].at)
		}
		return gaps
	}
	fits := false
	for run := 0; run < 3 && !fits; run++ {
		gaps := measure(t)
		// Lower bounds hold whatever the scheduler does: a wait is never shorter than half its
		// nominal value.
		for i, g := range gaps {
			if g < nominal[i]/2 {
				t.Fatalf("gap %d = %v, below %v (gaps %v)", i+1, g, nominal[i]/2, gaps)
			}
		}
		// Upper bounds can be spoiled by a slow machine: accept any of three runs.
		fits = true
		for i, g := range gaps {
			if g > nominal[i]+slack {
				fits = false
			}
		}
		if fits && gaps[2]+gaps[3] <= 2*gaps[0] {
			t.Errorf("gaps %v do not grow", gaps)
		}
		if !fits {
			t.Logf("run %d: gaps %v above the nominal %v (+%v); measuring again", run, gaps, nominal, slack)
		}
	}
	if !fits {
		t.Errorf("in three runs the backoff never stayed within its bounds %v (+%v)", nominal, slack)
	}
}

func TestBackoffCapped(t *testing.T) {
	// Uncapped, the 6th wait would be at least 10ms·2⁵/2 = 160 ms; capped at 20 ms it is at most 20.
	s := newScript(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusServiceUnavailable, "ServiceUnavailable", "busy")
	})
	c := s.client(t, "")
	c.Attempts, c.Backoff, c.MaxBackoff = 7, 10*time.Millisecond, 20*time.Millisecond
	_, _ = c.Nodes(context.Background())
	hs := s.hits()
	if len(hs) != 7 {
		t.Fatalf("%d attempts, want 7", len(hs))
	}
	for i := 1; i < len(hs); i++ {
		if g := hs[i].at.Sub(hs[i-1].at); g > 140*time.Millisecond {
			t.Errorf("gap %d = %v: MaxBackoff 20ms not applied", i, g)
		}
	}
}

// --- New, paths, queries, headers ----------------------------------------------------------

// okJSON answers every request with 200 and body.
func okJSON(body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}
