package ref

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults used for the zero (or negative) values of the Resolver fields.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxBytes    = 64 << 20 // 64 MiB
	DefaultAttempts    = 3
	DefaultBaseBackoff = 200 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
)

// supportedForms is appended to every KindMalformed message.
const supportedForms = "supported forms: a path (site.yaml, ./dir/site.yaml, /abs/site.yaml), " +
	"file:///abs/path, http://host/path, https://host/path, " +
	"deckhand+http://host/path, deckhand+https://host/path"

// Source is one fetched document stream.
type Source struct {
	Name string // where it came from: a file path, or the redacted URL
	Data []byte
}

// ErrorKind classifies why a reference could not be fetched.
type ErrorKind string

// The kinds of failure. A cancelled context gives KindUnreachable with the
// context's error in the chain.
const (
	KindMalformed   ErrorKind = "malformed"   // not a valid reference
	KindNotFound    ErrorKind = "not-found"   // file missing, HTTP 404/410
	KindUnreachable ErrorKind = "unreachable" // network errors, timeouts, 5xx after retries
	KindRejected    ErrorKind = "rejected"    // HTTP 4xx other than 404/410 (e.g. 401/403), file permission denied
	KindTooLarge    ErrorKind = "too-large"
)

// Error is returned for every failure; its Error() text names the (redacted)
// reference and the cause.
type Error struct {
	Ref  string // redacted
	Kind ErrorKind
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("design reference %q: %v", e.Ref, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Resolver fetches design references. The zero value (and a nil *Resolver)
// uses the defaults. A Resolver holds no state between calls, so one value
// may be used by many goroutines at once.
type Resolver struct {
	Client      *http.Client                              // nil: a default client
	Timeout     time.Duration                             // per attempt; 0: 30s
	MaxBytes    int64                                     // 0: 64 MiB; applies to each file and each response, and to the directory total
	Attempts    int                                       // 0: 3
	BaseBackoff time.Duration                             // 0: 200ms
	MaxBackoff  time.Duration                             // 0: 5s
	Token       func(ctx context.Context) (string, error) // optional, for deckhand+http(s)
}

// settings are the Resolver fields with the defaults filled in.
type settings struct {
	timeout     time.Duration
	maxBytes    int64
	attempts    int
	baseBackoff time.Duration
	maxBackoff  time.Duration
}

func (r *Resolver) settings() settings {
	s := settings{DefaultTimeout, DefaultMaxBytes, DefaultAttempts, DefaultBaseBackoff, DefaultMaxBackoff}
	if r == nil {
		return s
	}
	if r.Timeout > 0 {
		s.timeout = r.Timeout
	}
	if r.MaxBytes > 0 {
		s.maxBytes = r.MaxBytes
	}
	if r.Attempts > 0 {
		s.attempts = r.Attempts
	}
	if r.BaseBackoff > 0 {
		s.baseBackoff = r.BaseBackoff
	}
	if r.MaxBackoff > 0 {
		s.maxBackoff = r.MaxBackoff
	}
	return s
}

// Fetch resolves ref and returns its content. A file or URL gives one Source;
// a directory gives one per file.
func (r *Resolver) Fetch(ctx context.Context, ref string) ([]Source, error) {
	red := Redact(ref)
	if strings.TrimSpace(ref) == "" {
		return nil, malformed(red, errors.New("empty reference"))
	}
	scheme, ok := splitScheme(ref)
	if !ok {
		return r.fetchPath(ctx, red, ref)
	}
	switch strings.ToLower(scheme) {
	case "file":
		path, err := filePath(ref, red)
		if err != nil {
			return nil, err
		}
		return r.fetchPath(ctx, red, path)
	case "http", "https":
		return r.fetchHTTP(ctx, ref, red, false)
	case "deckhand+http", "deckhand+https":
		return r.fetchHTTP(ctx, ref, red, true)
	default:
		return nil, malformed(red, fmt.Errorf("unsupported scheme %q", scheme))
	}
}

// Redact returns ref with any password in it masked, for logs and messages.
//
// "scheme://user:pass@host/..." becomes "scheme://user:xxxxx@host/...". A
// user name given without a password is often a token, so
// "scheme://token@host/..." becomes "scheme://xxxxx@host/...". The rest of
// the string is left exactly as it was, even when it is not a valid URL.
func Redact(ref string) string {
	i := strings.Index(ref, "://")
	if i <= 0 || !validScheme(ref[:i]) {
		return ref
	}
	rest := ref[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return ref
	}
	userinfo := rest[:at]
	masked := "xxxxx"
	if c := strings.Index(userinfo, ":"); c >= 0 {
		masked = userinfo[:c] + ":xxxxx"
	}
	return ref[:i+3] + masked + rest[at:]
}

// splitScheme reports the scheme of ref when ref starts with
// "scheme:" in the syntax of RFC 3986; otherwise ref is a path.
func splitScheme(ref string) (string, bool) {
	i := strings.Index(ref, ":")
	if i <= 0 || !validScheme(ref[:i]) {
		return "", false
	}
	return ref[:i], true
}

// validScheme reports whether s is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// parseURL parses ref, keeping credentials out of any error: the message is
// taken from parsing the redacted form.
func parseURL(ref, red string) (*url.URL, error) {
	u, err := url.Parse(ref)
	if err == nil {
		return u, nil
	}
	if _, rerr := url.Parse(red); rerr != nil {
		var ue *url.Error
		if errors.As(rerr, &ue) {
			rerr = ue.Err
		}
		return nil, malformed(red, fmt.Errorf("cannot parse as a URL: %v", rerr))
	}
	return nil, malformed(red, errors.New("cannot parse as a URL: invalid user name or password"))
}

// filePath returns the local path named by a file: URL.
func filePath(ref, red string) (string, error) {
	u, err := parseURL(ref, red)
	if err != nil {
		return "", err
	}
	switch {
	case u.Opaque != "":
		return "", malformed(red, fmt.Errorf("a file URL needs an absolute path: write file:///abs/path, or the bare path %s for a path relative to the working directory", u.Opaque))
	case u.User != nil:
		return "", malformed(red, errors.New("a file URL cannot carry a user name"))
	case u.Host != "" && !strings.EqualFold(u.Host, "localhost"):
		return "", malformed(red, fmt.Errorf("a file URL cannot name host %q: write file:///%s%s for an absolute path, or the bare path %s%s for a path relative to the working directory",
			u.Host, u.Host, u.Path, u.Host, u.Path))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", malformed(red, errors.New("a file URL cannot have a query or fragment; escape '?' as %3F and '#' as %23 in file names"))
	case u.Path == "":
		return "", malformed(red, errors.New("a file URL needs a path"))
	}
	return u.Path, nil
}

func malformed(red string, err error) *Error {
	return &Error{Ref: red, Kind: KindMalformed, Err: fmt.Errorf("%w; %s", err, supportedForms)}
}

// Check validates a reference's syntax without fetching it. For a file reference (a path or a
// file: URL) it returns the local path and true.
func Check(ref string) (path string, isFile bool, err error) {
	red := Redact(ref)
	if strings.TrimSpace(ref) == "" {
		return "", false, malformed(red, errors.New("empty reference"))
	}
	scheme, ok := splitScheme(ref)
	if !ok {
		return ref, true, nil
	}
	switch strings.ToLower(scheme) {
	case "file":
		p, err := filePath(ref, red)
		return p, err == nil, err
	case "http", "https", "deckhand+http", "deckhand+https":
		u, err := parseURL(ref, red)
		if err != nil {
			return "", false, err
		}
		if u.Host == "" {
			return "", false, malformed(red, errors.New("the URL has no host"))
		}
		return "", false, nil
	}
	return "", false, malformed(red, fmt.Errorf("unsupported scheme %q", scheme))
}
