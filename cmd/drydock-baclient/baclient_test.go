package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	retryBaseDelay = time.Millisecond
	retryMaxDelay = 20 * time.Millisecond
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for the command's output copier and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

// runClient runs the client with a fixed environment and checks that no key leaked to its output.
func runClient(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(args, func(k string) string { return env[k] }, &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	for _, k := range []string{testKey, otherKey, strings.ToUpper(testKey)} {
		if strings.Contains(r.stdout+r.stderr, k) {
			t.Errorf("the key appears in the output:\n%s\n%s", r.stdout, r.stderr)
		}
	}
	t.Logf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	return r
}

func baseArgs(f *fakeAPI) []string {
	return []string{"-url", f.base(), "-id", testID, "-key", testKey}
}

func args(f *fakeAPI, more ...string) []string { return append(baseArgs(f), more...) }

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d (stderr: %s)", r.code, code, r.stderr)
	}
}

func wantReports(t *testing.T, f *fakeAPI, want ...report) {
	t.Helper()
	var got []report
	for _, rq := range f.reqs() {
		got = append(got, rq.body)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("server received\n  %+v\nwant\n  %+v", got, want)
	}
}

func msg(m string, isErr bool) []detail { return []detail{{Message: m, Error: isErr}} }

func TestMessageMode(t *testing.T) {
	cases := []struct {
		name       string
		flags      []string
		want       report
		wantStatus string
	}{
		{"plain", []string{"-msg", "step 1 done"}, report{Details: msg("step 1 done", false)}, "incomplete"},
		{"error", []string{"-msg", "disk slow", "-e"}, report{Details: msg("disk slow", true)}, "incomplete"},
		{"success", []string{"-msg", "all good", "-s"}, report{Status: "success", Details: msg("all good", false)}, "success"},
		{"failure", []string{"-f", "-msg", "broken", "-e"}, report{Status: "failure", Details: msg("broken", true)}, "failure"},
		{"status only", []string{"-s"}, report{Status: "success", Details: msg("Bootaction final status: success.", false)}, "success"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			r := runClient(t, nil, args(f, tc.flags...)...)
			wantCode(t, r, exitOK)
			wantReports(t, f, tc.want)
			if got := f.action(testID).status; got != tc.wantStatus {
				t.Errorf("action status %q, want %q", got, tc.wantStatus)
			}
			if !strings.Contains(r.stdout, "Bootaction status posted.") || !strings.Contains(r.stdout, "node node01") {
				t.Errorf("stdout %q", r.stdout)
			}
			rq := f.reqs()[0]
			if rq.path != "/api/v1.0/bootactions/"+testID || !rq.hasKey {
				t.Errorf("request %+v", rq)
			}
		})
	}
}

func TestAlreadyFinal(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	wantCode(t, runClient(t, nil, args(f, "-f", "-msg", "first")...), exitOK)
	r := runClient(t, nil, args(f, "-msg", "late message")...)
	wantCode(t, r, exitAPI)
	if !strings.Contains(r.stderr, "action already final: 409 Conflict: Action "+testID+" status finalized") {
		t.Errorf("stderr %q", r.stderr)
	}
	if n := len(f.reqs()); n != 2 {
		t.Errorf("%d requests, want 2 (no retry on 409)", n)
	}
	if a := f.action(testID); a.status != "failure" || len(a.messages) != 1 {
		t.Errorf("action %+v", a)
	}
}

func TestHTTPErrors(t *testing.T) {
	unknown := "01ARZ3NDEKTSV4RRFFQ69G5FAV"
	cases := []struct {
		name      string
		setup     func(f *fakeAPI)
		flags     []string
		code      int
		requests  int
		wantInErr string
	}{
		{"401", func(f *fakeAPI) { f.injectStatus(401, "No X-Bootaction-Key") }, nil, exitAPI, 1, "HTTP 401 Unauthorized: No X-Bootaction-Key"},
		{"403 wrong key", nil, []string{"-key", otherKey}, exitAPI, 1, "HTTP 403 Forbidden: Invalid X-Bootaction-Key"},
		{"404 unknown action", nil, []string{"-id", unknown}, exitAPI, 1, "HTTP 404 Not Found: Error locating boot action " + unknown},
		{"400 no retry", func(f *fakeAPI) { f.injectStatus(400, "Error processing body.") }, nil, exitAPI, 1, "HTTP 400 Bad Request: Error processing body."},
		{"500 retried then fails", func(f *fakeAPI) {
			for range 4 {
				f.injectStatus(500, "database unavailable")
			}
		}, nil, exitAPI, 4, "HTTP 500 Internal Server Error: database unavailable (after 4 attempts)"},
		{"503 twice then success", func(f *fakeAPI) {
			f.injectStatus(503, "busy")
			f.injectStatus(503, "busy")
		}, nil, exitOK, 3, "retrying"},
		{"503 with -retries 1", func(f *fakeAPI) {
			f.injectStatus(503, "busy")
			f.injectStatus(503, "busy")
		}, []string{"-retries", "1"}, exitAPI, 2, "HTTP 503 Service Unavailable: busy (after 2 attempts)"},
		{"503 with -retries 0", func(f *fakeAPI) { f.injectStatus(503, "busy") }, []string{"-retries", "0"}, exitAPI, 1, "HTTP 503"},
		{"connection dropped then success", func(f *fakeAPI) { f.injectDrop() }, nil, exitOK, 2, "EOF"},
		{"redirect not followed", func(f *fakeAPI) {
			f.injectFunc(func(w http.ResponseWriter) int {
				w.Header().Set("Location", "http://elsewhere.invalid/x")
				w.WriteHeader(http.StatusTemporaryRedirect)
				return http.StatusTemporaryRedirect
			})
		}, nil, exitAPI, 1, "HTTP 307 Temporary Redirect: redirect to http://elsewhere.invalid/x not followed"},
		{"non-JSON error body", func(f *fakeAPI) {
			f.injectFunc(func(w http.ResponseWriter) int {
				http.Error(w, "<html>bad gateway</html>", 418)
				return 418
			})
		}, nil, exitAPI, 1, "HTTP 418 I'm a teapot: <html>bad gateway</html>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			// Later flags override the base ones.
			r := runClient(t, nil, args(f, append([]string{"-msg", "hello"}, tc.flags...)...)...)
			wantCode(t, r, tc.code)
			if n := len(f.reqs()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			if !strings.Contains(r.stderr, tc.wantInErr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.wantInErr)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	base := f.base()
	f.srv.Close()
	r := runClient(t, nil, "-url", base, "-id", testID, "-key", testKey, "-msg", "x", "-retries", "2")
	wantCode(t, r, exitAPI)
	if !strings.Contains(r.stderr, "connection refused") || !strings.Contains(r.stderr, "(after 3 attempts)") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	release := make(chan struct{})
	defer close(release)
	f.injectFunc(func(w http.ResponseWriter) int {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		return 0
	})
	start := time.Now()
	r := runClient(t, nil, args(f, "-msg", "x", "-timeout", "100ms", "-retries", "0")...)
	wantCode(t, r, exitAPI)
	if !strings.Contains(r.stderr, "Client.Timeout") || time.Since(start) > 3*time.Second {
		t.Errorf("stderr %q after %s", r.stderr, time.Since(start))
	}
}

func TestURLJoining(t *testing.T) {
	for _, suffix := range []string{"/api/v1.0/bootactions", "/api/v1.0/bootactions/", "/api/v1.0/bootactions//", "//api/v1.0//bootactions///"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			r := runClient(t, nil, "-url", f.srv.URL+suffix, "-id", testID, "-key", testKey, "-msg", "x")
			wantCode(t, r, exitOK)
			if p := f.reqs()[0].path; p != "/api/v1.0/bootactions/"+testID {
				t.Errorf("path %q", p)
			}
		})
	}
	got, err := joinURL(" https://user:pw@drydock:9000/api/v1.0/bootactions/?x=1#frag", testID)
	if want := "https://user:pw@drydock:9000/api/v1.0/bootactions/" + testID + "?x=1"; err != nil || got != want {
		t.Errorf("joinURL = %q, %v; want %q", got, err, want)
	}
}

func TestURLFromEnvironment(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	env := map[string]string{envURL: f.base()}
	wantCode(t, runClient(t, env, "-id", testID, "-key", testKey, "-msg", "x"), exitOK)
	// -url wins over the environment.
	env[envURL] = "http://127.0.0.1:1/nowhere"
	wantCode(t, runClient(t, env, args(f, "-msg", "y")...), exitOK)
	if n := len(f.reqs()); n != 2 {
		t.Errorf("%d requests", n)
	}
}

func TestKeySources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withNL := write("nl", testKey+"\n")
	noNL := write("nonl", testKey)
	crlf := write("crlf", "  "+strings.ToUpper(testKey)+" \r\nsecond line\n")
	wrong := write("wrong", otherKey+"\n")
	empty := write("empty", "\n"+testKey+"\n")

	cases := []struct {
		name  string
		env   map[string]string
		flags []string
		code  int
	}{
		{"keyfile with newline", nil, []string{"-keyfile", withNL}, exitOK},
		{"keyfile without newline", nil, []string{"-keyfile", noNL}, exitOK},
		{"keyfile CRLF, upper case, blanks", nil, []string{"-keyfile", crlf}, exitOK},
		{"keyfile empty first line", nil, []string{"-keyfile", empty}, exitUsage},
		{"keyfile missing", nil, []string{"-keyfile", filepath.Join(dir, "nope")}, exitUsage},
		{"env overrides wrong -key", map[string]string{envKey: testKey}, []string{"-key", otherKey}, exitOK},
		{"env overrides wrong -keyfile", map[string]string{envKey: testKey}, []string{"-keyfile", wrong}, exitOK},
		{"env alone", map[string]string{envKey: testKey + "\n"}, nil, exitOK},
		{"invalid env overrides valid -key", map[string]string{envKey: "abc"}, []string{"-key", testKey}, exitUsage},
		{"wrong key from file", nil, []string{"-keyfile", wrong}, exitAPI},
		{"-key and -keyfile", nil, []string{"-key", testKey, "-keyfile", withNL}, exitUsage},
		{"no key", nil, nil, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			a := append([]string{"-url", f.base(), "-id", testID, "-msg", "x"}, tc.flags...)
			r := runClient(t, tc.env, a...)
			wantCode(t, r, tc.code)
			if tc.code == exitUsage && len(f.reqs()) != 0 {
				t.Errorf("a request was made despite invalid configuration")
			}
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		want  string
	}{
		{"short key", []string{"-key", "abcd"}, "want 64 hex characters (32 bytes), got 4 characters"},
		{"non-hex key", []string{"-key", strings.Repeat("zz", 32)}, "not hexadecimal"},
		{"id too short", []string{"-id", "01HZX4V7Q8"}, "invalid -id"},
		{"id with U", []string{"-id", "01HZX4V7Q8ABCDEFGHJKMNPQRU"}, "invalid -id"},
		{"id overflow", []string{"-id", "81HZX4V7Q8ABCDEFGHJKMNPQRS"}, "invalid -id"},
		{"no id", []string{"-id", ""}, "-id is required"},
		{"no url", []string{"-url", ""}, "-url is required"},
		{"ftp url", []string{"-url", "ftp://drydock/x"}, "want an http:// or https:// URL"},
		{"url without host", []string{"-url", "http:///api"}, "no host"},
		{"-s and -f", []string{"-s", "-f"}, "mutually exclusive"},
		{"unknown flag", []string{"-bogus"}, "flag provided but not defined: -bogus"},
		{"bad timeout", []string{"-timeout", "0s"}, "-timeout must be positive"},
		{"bad retries", []string{"-retries", "-1"}, "-retries must not be negative"},
		{"no message", nil, "message mode needs -msg"},
		{"-e without -msg", []string{"-e", "-s"}, "-e needs -msg"},
		{"-s in exec mode", []string{"-s", "--", "true"}, "-s/-f cannot be used in exec mode"},
		{"-exec and --", []string{"-exec", "true", "--", "true"}, "not both"},
		{"empty -exec", []string{"-exec", "  "}, "empty command"},
		{"bad quoting", []string{"-exec", "echo 'unterminated"}, "unterminated single quote"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			r := runClient(t, nil, args(f, tc.flags...)...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "Run 'drydock-baclient -h'") {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			if n := len(f.reqs()); n != 0 {
				t.Errorf("%d requests made despite invalid configuration", n)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, h := range []string{"-h", "-help", "--help"} {
		r := runClient(t, nil, h)
		wantCode(t, r, exitOK)
		for _, want := range []string{"Usage:", "-exec", "-keyfile", "-np", "-retries", "Exit status"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: usage lacks %q", h, want)
			}
		}
	}
}
