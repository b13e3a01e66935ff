package ref

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// wantKind asserts that err is an *Error of the given kind and returns it.
func wantKind(t *testing.T, err error, kind ErrorKind) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want kind %s", kind)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *ref.Error", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %s, want %s; error: %v", e.Kind, kind, err)
	}
	return e
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"http://user:pass@host/x.yaml", "http://user:xxxxx@host/x.yaml"},
		{"https://user:p@ss@host:8443/x?y=1#z", "https://user:xxxxx@host:8443/x?y=1#z"},
		{"deckhand+http://svc:secret@deckhand/api/v1.0/revisions/1/rendered-documents", "deckhand+http://svc:xxxxx@deckhand/api/v1.0/revisions/1/rendered-documents"},
		{"https://ghp_token@host/x", "https://xxxxx@host/x"},
		{"http://user:@host/", "http://user:xxxxx@host/"},
		{"http://user:pass@[::1", "http://user:xxxxx@[::1"},
		{"http://host/path/with@sign.yaml", "http://host/path/with@sign.yaml"},
		{"http://host?q=a@b", "http://host?q=a@b"},
		{"http://host", "http://host"},
		{"site.yaml", "site.yaml"},
		{"/abs/dir:x@y/site.yaml", "/abs/dir:x@y/site.yaml"},
		{"./a://b@c", "./a://b@c"},
		{"", ""},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ref, mention string
	}{
		{"", "empty reference"},
		{"   ", "empty reference"},
		{"ftp://x/y", `unsupported scheme "ftp"`},
		{"deckhand+ftp://x", `unsupported scheme "deckhand+ftp"`},
		{"promenade+http://x/y", `unsupported scheme "promenade+http"`},
		{"mailto:someone@example.com", `unsupported scheme "mailto"`},
		{"http://[::1", "cannot parse as a URL"},
		{"http:///no-host", "needs a host"},
		{"https:opaque", "needs a host"},
		{"deckhand+https://:9000/x", "needs a host"},
		{"http://host:port/x", "cannot parse as a URL"},
	}
	var r Resolver
	for _, c := range cases {
		_, err := r.Fetch(context.Background(), c.ref)
		e := wantKind(t, err, KindMalformed)
		msg := err.Error()
		if !strings.Contains(msg, c.mention) {
			t.Errorf("Fetch(%q): %q does not mention %q", c.ref, msg, c.mention)
		}
		if !strings.Contains(msg, "supported forms:") || !strings.Contains(msg, "deckhand+https://") {
			t.Errorf("Fetch(%q): %q does not list the supported forms", c.ref, msg)
		}
		if e.Ref != c.ref || !strings.Contains(msg, `"`+c.ref+`"`) {
			t.Errorf("Fetch(%q): error does not name the reference: Ref=%q, %q", c.ref, e.Ref, msg)
		}
	}
}

func TestMalformedKeepsPasswordOut(t *testing.T) {
	t.Parallel()
	refs := []string{
		"http://user:s3cr3t-pw@[::1",
		"ftp://user:s3cr3t-pw@host/x",
		"http://user:s3cr3t-pw%zz@host/x",
		"http://user:s3cr3t-pw@host:port/x",
		"file://user:s3cr3t-pw@host/x",
	}
	for _, ref := range refs {
		_, err := (&Resolver{}).Fetch(context.Background(), ref)
		e := wantKind(t, err, KindMalformed)
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(e.Ref, "s3cr3t") {
			t.Errorf("Fetch(%q): password shown: %v", ref, err)
		}
	}
}

func TestNilResolverUsesDefaults(t *testing.T) {
	t.Parallel()
	var r *Resolver
	s := r.settings()
	want := settings{DefaultTimeout, DefaultMaxBytes, DefaultAttempts, DefaultBaseBackoff, DefaultMaxBackoff}
	if s != want {
		t.Fatalf("settings = %+v, want %+v", s, want)
	}
	neg := (&Resolver{Timeout: -1, MaxBytes: -1, Attempts: -1, BaseBackoff: -1, MaxBackoff: -1}).settings()
	if neg != want {
		t.Fatalf("negative fields: settings = %+v, want %+v", neg, want)
	}
	if _, err := r.Fetch(context.Background(), "ftp://x"); err == nil {
		t.Fatal("nil resolver accepted ftp://x")
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	s := settings{baseBackoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for n, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 40: time.Second} {
		for range 50 {
			d := backoff(s, n)
			if d < full/2 || d > full {
				t.Fatalf("backoff(n=%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	e := &Error{Ref: "http://u:xxxxx@h/x", Kind: KindUnreachable, Err: cause}
	if got, want := e.Error(), `design reference "http://u:xxxxx@h/x": boom`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, cause) {
		t.Error("Unwrap does not reach the cause")
	}
}
