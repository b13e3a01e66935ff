package ref

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fast keeps retries quick in tests.
func fast() *Resolver {
	return &Resolver{Timeout: 5 * time.Second, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

// server starts an httptest server that counts its requests.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// withUser puts userinfo into an httptest URL.
func withUser(srvURL, userinfo string) string {
	return strings.Replace(srvURL, "://", "://"+userinfo+"@", 1)
}

func TestHTTPOK(t *testing.T) {
	t.Parallel()
	seen := make(chan string, 10)
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization") + r.Header.Get("X-Auth-Token")
		w.Write([]byte("schema: drydock/Region/v1\n"))
	})
	src := fetchOne(t, fast(), srv.URL+"/test.yaml")
	if string(src.Data) != "schema: drydock/Region/v1\n" || src.Name != srv.URL+"/test.yaml" {
		t.Errorf("got {%q, %q}", src.Name, src.Data)
	}
	if got := <-seen; n.Load() != 1 || got != "GET /test.yaml " {
		t.Errorf("requests = %d, first %q; want exactly one GET /test.yaml without credentials", n.Load(), got)
	}
}

func TestHTTPSAndEmptyBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	r := fast()
	r.Client = srv.Client()
	src := fetchOne(t, r, srv.URL+"/empty.yaml")
	if len(src.Data) != 0 {
		t.Errorf("got %q, want an empty body", src.Data)
	}
}

func TestHTTPBasicAuthAndRedaction(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/ok.yaml":
			w.Write([]byte("ok"))
		default: // a careless server echoing what it got
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("denied user:pass " + r.Header.Get("Authorization")))
		}
	})
	ref := withUser(srv.URL, "user:pass") + "/ok.yaml"
	src := fetchOne(t, fast(), ref)
	if got := auth.Load(); got != "Basic dXNlcjpwYXNz" {
		t.Errorf("Authorization = %q, want Basic dXNlcjpwYXNz", got)
	}
	if strings.Contains(src.Name, "pass") || src.Name != withUser(srv.URL, "user:xxxxx")+"/ok.yaml" {
		t.Errorf("Name = %q", src.Name)
	}

	_, err := fast().Fetch(context.Background(), withUser(srv.URL, "user:pass")+"/denied.yaml")
	e := wantKind(t, err, KindRejected)
	for _, leak := range []string{"pass", "dXNlcjpwYXNz"} {
		if strings.Contains(err.Error(), leak) || strings.Contains(e.Ref, leak) {
			t.Errorf("error shows %q: %v", leak, err)
		}
	}

	// A user name alone may be a token: it is masked everywhere too.
	_, err = fast().Fetch(context.Background(), withUser(srv.URL, "tok3n")+"/denied.yaml")
	wantKind(t, err, KindRejected)
	if strings.Contains(err.Error(), "tok3n") {
		t.Errorf("error shows the user name token: %v", err)
	}

	// Transport errors do not show the password either.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = (&Resolver{Attempts: 1}).Fetch(context.Background(), withUser(dead.URL, "user:s3cr3t")+"/x.yaml")
	wantKind(t, err, KindUnreachable)
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code     int
		kind     ErrorKind
		requests int32
	}{
		{http.StatusNotFound, KindNotFound, 1},
		{http.StatusGone, KindNotFound, 1},
		{http.StatusForbidden, KindRejected, 1},
		{http.StatusUnauthorized, KindRejected, 1},
		{http.StatusBadRequest, KindRejected, 1},
		{http.StatusNotModified, KindRejected, 1},
		{http.StatusInternalServerError, KindUnreachable, 1},
		{http.StatusTooManyRequests, KindUnreachable, 3},
		{http.StatusBadGateway, KindUnreachable, 3},
		{http.StatusGatewayTimeout, KindUnreachable, 3},
	}
	for _, c := range cases {
		srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.code)
			w.Write([]byte("no design here"))
		})
		_, err := fast().Fetch(context.Background(), srv.URL+"/site.yaml")
		wantKind(t, err, c.kind)
		if !strings.Contains(err.Error(), http.StatusText(c.code)) || !strings.Contains(err.Error(), srv.URL+"/site.yaml") {
			t.Errorf("%d: %q lacks the status or the reference", c.code, err)
		}
		if c.code != http.StatusNotModified && !strings.Contains(err.Error(), `"no design here"`) {
			t.Errorf("%d: %q lacks the body", c.code, err)
		}
		if got := n.Load(); got != c.requests {
			t.Errorf("%d: %d requests, want %d", c.code, got, c.requests)
		}
	}
}

func TestHTTPErrorBodyTruncated(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(strings.Repeat("é", 5000)))
	})
	_, err := fast().Fetch(context.Background(), srv.URL)
	wantKind(t, err, KindNotFound)
	msg := err.Error()
	if n := strings.Count(msg, "é"); n != 100 || !strings.Contains(msg, "(truncated)") {
		t.Errorf("quoted %d characters of the body, want 100 (200 bytes) and a truncation note: %q", n, msg)
	}
}

func TestHTTPRetryThenSuccess(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("finally"))
	})
	src := fetchOne(t, fast(), srv.URL+"/x.yaml")
	if string(src.Data) != "finally" || n.Load() != 3 {
		t.Errorf("got %q after %d requests, want \"finally\" after 3", src.Data, n.Load())
	}
}

func TestHTTPRetryExhausted(t *testing.T) {
	t.Parallel()
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	r := fast()
	r.Attempts = 4
	_, err := r.Fetch(context.Background(), srv.URL)
	wantKind(t, err, KindUnreachable)
	if n.Load() != 4 || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "4 attempts") {
		t.Errorf("%d requests, error %q; want 4 and a message saying so", n.Load(), err)
	}
}

func TestHTTPConnectionRefusedIsRetried(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	r := fast()
	r.Attempts = 2
	_, err := r.Fetch(context.Background(), dead.URL+"/x.yaml")
	wantKind(t, err, KindUnreachable)
	if !strings.Contains(err.Error(), "2 attempts") {
		t.Errorf("%q: want a retried failure", err)
	}
}

func TestHTTPTooLarge(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for r.Context().Err() == nil { // endless
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	r := fast()
	r.MaxBytes = 1 << 20
	done := make(chan error, 1)
	go func() {
		_, err := r.Fetch(context.Background(), srv.URL)
		done <- err
	}()
	select {
	case err := <-done:
		wantKind(t, err, KindTooLarge)
		if !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("%q does not state the limit", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Fetch of an endless body did not return")
	}

	// A declared length over the limit fails before the body is read.
	big, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000")
		w.Write(make([]byte, 2000))
	})
	r.MaxBytes = 1000
	_, err := r.Fetch(context.Background(), big.URL)
	wantKind(t, err, KindTooLarge)
	if !strings.Contains(err.Error(), "Content-Length 2000") || !strings.Contains(err.Error(), "1000 bytes") {
		t.Errorf("%q", err)
	}
}

func TestHTTPTimeout(t *testing.T) {
	t.Parallel()
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hangs until the client gives up
	})
	r := fast()
	r.Timeout = 150 * time.Millisecond
	r.Attempts = 2
	start := time.Now()
	_, err := r.Fetch(context.Background(), srv.URL)
	elapsed := time.Since(start)
	wantKind(t, err, KindUnreachable)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "150ms") {
		t.Errorf("%v: want a timeout naming 150ms", err)
	}
	if elapsed < 300*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("took %v for 2 attempts of 150ms", elapsed)
	}
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2", n.Load())
	}
}

func TestHTTPTimeoutCoversBody(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	r := fast()
	r.Timeout = 100 * time.Millisecond
	r.Attempts = 1
	_, err := r.Fetch(context.Background(), srv.URL)
	wantKind(t, err, KindUnreachable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v: want a timeout", err)
	}
}

func TestHTTPCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	})
	r := &Resolver{BaseBackoff: 10 * time.Second, MaxBackoff: 10 * time.Second}
	start := time.Now()
	_, err := r.Fetch(ctx, srv.URL)
	wantKind(t, err, KindUnreachable)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not wrap context.Canceled", err)
	}
	if time.Since(start) > 2*time.Second || n.Load() != 1 {
		t.Errorf("returned after %v and %d requests; want promptly after 1", time.Since(start), n.Load())
	}
}

func TestDeckhand(t *testing.T) {
	t.Parallel()
	type seen struct{ path, query, token string }
	got := make(chan seen, 1)
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.EscapedPath(), r.URL.RawQuery, strings.Join(r.Header.Values("X-Auth-Token"), ",")}
		w.Write([]byte("rendered"))
	})
	const path = "/api/v1.0/revisions/7/rendered-documents"
	const query = "cleartext-secrets=true&schema=drydock%2FRegion%2Fv1"
	ref := "deckhand+" + srv.URL + path + "?" + query

	r := fast()
	r.Token = func(ctx context.Context) (string, error) { return "keystone-tok", nil }
	src := fetchOne(t, r, ref)
	if s := <-got; s.path != path || s.query != query || s.token != "keystone-tok" {
		t.Errorf("server saw %+v", s)
	}
	if string(src.Data) != "rendered" || src.Name != ref {
		t.Errorf("got {%q, %q}", src.Name, src.Data)
	}

	fetchOne(t, fast(), strings.Replace(ref, "deckhand+http", "Deckhand+HTTP", 1))
	if s := <-got; s.token != "" || s.path != path {
		t.Errorf("without a token source the server saw %+v", s)
	}
}

func TestDeckhandHTTPS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") != "t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte("tls"))
	}))
	t.Cleanup(srv.Close)
	r := fast()
	r.Client = srv.Client()
	r.Token = func(ctx context.Context) (string, error) { return "t", nil }
	if src := fetchOne(t, r, "deckhand+"+srv.URL+"/x"); string(src.Data) != "tls" {
		t.Errorf("got %q", src.Data)
	}
}

func TestDeckhandRejected(t *testing.T) {
	t.Parallel()
	srv, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte("bad token " + r.Header.Get("X-Auth-Token")))
	})
	r := fast()
	r.Token = func(ctx context.Context) (string, error) { return "expired-tok", nil }
	_, err := r.Fetch(context.Background(), "deckhand+"+srv.URL+"/docs")
	wantKind(t, err, KindRejected)
	if n.Load() != 1 || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "expired-tok") {
		t.Errorf("%d requests, %q; want 1, the status, and no token", n.Load(), err)
	}

	r.Token = func(ctx context.Context) (string, error) { return "", errors.New("keystone said no") }
	_, err = r.Fetch(context.Background(), "deckhand+"+srv.URL+"/docs")
	wantKind(t, err, KindRejected)
	if n.Load() != 1 || !strings.Contains(err.Error(), "keystone said no") {
		t.Errorf("token failure: %d requests, %v", n.Load(), err)
	}
}

func TestRedirectDropsTokenOffHost(t *testing.T) {
	t.Parallel()
	other, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get("X-Auth-Token"); tok != "" {
			t.Errorf("token %q sent to another host", tok)
		}
		w.Write([]byte("moved"))
	})
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/again", http.StatusFound)
			return
		}
		if r.URL.Path == "/again" {
			if r.Header.Get("X-Auth-Token") != "tok" {
				t.Errorf("token dropped on a same-host redirect")
			}
			w.Write([]byte("same"))
			return
		}
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	})
	r := fast()
	r.Token = func(ctx context.Context) (string, error) { return "tok", nil }
	if src := fetchOne(t, r, "deckhand+"+srv.URL+"/same"); string(src.Data) != "same" {
		t.Errorf("got %q", src.Data)
	}
	if src := fetchOne(t, r, "deckhand+"+srv.URL+"/x"); string(src.Data) != "moved" {
		t.Errorf("got %q", src.Data)
	}
}

func TestNoCaching(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Write([]byte("v1"))
			return
		}
		w.Write([]byte("v2"))
	})
	r := fast()
	if a, b := fetchOne(t, r, srv.URL), fetchOne(t, r, srv.URL); string(a.Data) != "v1" || string(b.Data) != "v2" {
		t.Errorf("got %q then %q, want v1 then v2", a.Data, b.Data)
	}
}
