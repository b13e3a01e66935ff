package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/auth"
)

// reqInfo is what the request log line reports, filled in as the request is handled.
type reqInfo struct {
	id      string
	user    string
	rule    string
	outcome string
}

type ctxKey struct{}

// requestInfo returns the request's log record (a throwaway one outside the middleware).
func requestInfo(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// statusRecorder remembers the response status.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// middleware gives every request an id (X-Drydock-Req), tolerates trailing and duplicate slashes, recovers
// from panics with a 500 Status, and logs one line per request: who, what, the policy rule and
// the outcome. Tokens are never logged.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{id: uuid.NewString(), user: "-"}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		w.Header().Set("X-Drydock-Req", ri.id)
		w.Header().Set("Server", "drydock/"+s.Config.Version)
		if strings.Contains(r.URL.Path, "//") {
			// Collapse duplicate slashes (a report URL ending in / joined with "/id"): the
			// mux would answer with a redirect, which turns a POST into a GET.
			p := r.URL.Path
			for strings.Contains(p, "//") {
				p = strings.ReplaceAll(p, "//", "/")
			}
			r.URL.Path, r.URL.RawPath = p, ""
		}
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
			r.URL.Path = strings.TrimRight(p, "/")
			if r.URL.Path == "" {
				r.URL.Path = "/"
			}
			r.URL.RawPath = ""
		}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("panic serving request", "req_id", ri.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.code == 0 {
					s.writeError(rec, r, fmt.Errorf("panic: %v", v))
				}
			}
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			outcome := ri.outcome
			if outcome == "" {
				outcome = "ok"
			}
			attrs := []any{"req_id", ri.id, "method", r.Method, "path", r.URL.Path, "user", ri.user,
				"status", code, "outcome", outcome, "duration_ms", time.Since(start).Milliseconds(), "remote", remoteHost(r)}
			if ri.rule != "" {
				attrs = append(attrs, "rule", ri.rule)
			}
			if m := r.Header.Get("X-Context-Marker"); m != "" {
				if u, err := uuid.Parse(m); err == nil && u.Version() == 4 {
					attrs = append(attrs, "context_marker", u.String())
				}
			}
			if eu := r.Header.Get("X-End-User"); eu != "" && len(eu) <= 256 {
				attrs = append(attrs, "end_user", eu)
			}
			s.Log.Info("request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate identifies the caller: 401 without or with bad credentials, 503 when the
// identity service cannot be reached.
func (s *Server) authenticate(r *http.Request) (*auth.Identity, error) {
	if s.Auth == nil {
		return nil, &Error{Code: http.StatusUnauthorized, Reason: "Unauthenticated", Message: "no authentication is configured; every protected request is refused"}
	}
	id, err := s.Auth.Authenticate(r.Context(), r)
	switch {
	case err == nil && id != nil:
		return id, nil
	case errors.Is(err, auth.ErrUnavailable):
		s.Log.Warn("authentication unavailable", "req_id", requestInfo(r).id, "err", err)
		return nil, errUnavailable("the identity service could not be reached; try again")
	case errors.Is(err, auth.ErrNoCredentials):
		return nil, &Error{Code: http.StatusUnauthorized, Reason: "Unauthenticated", Message: "authentication required: " + err.Error()}
	default:
		return nil, &Error{Code: http.StatusUnauthorized, Reason: "Unauthenticated", Message: "authentication failed: invalid or expired token"}
	}
}

// authorize evaluates a policy rule for the caller: 403 when denied.
func (s *Server) authorize(r *http.Request, rule string, id *auth.Identity) error {
	ok, err := s.Policy.Allowed(rule, id, map[string]string{"project_id": id.ProjectID, "user_id": id.UserID})
	if err != nil {
		return fmt.Errorf("policy rule %s: %w", rule, err)
	}
	if !ok {
		requestInfo(r).rule = rule
		return &Error{Code: http.StatusForbidden, Reason: "Forbidden", Message: fmt.Sprintf("%s is not allowed to %s (policy rule %s)", id.User, ruleVerb(rule), rule)}
	}
	return nil
}

// ruleVerb turns "physical_provisioner:read_task" into "read_task".
func ruleVerb(rule string) string {
	if _, v, ok := strings.Cut(rule, ":"); ok {
		return v
	}
	return rule
}
