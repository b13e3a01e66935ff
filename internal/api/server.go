// Package api is Drydock's REST API v1.0: tasks, nodes, node filters, design validation,
// health and versions, compatible in paths, bodies and field names with the original Airship
// Drydock API (see docs/api.md and the OpenAPI document docs/openapi.json, which the server
// also publishes at /api/v1.0/openapi.json).
//
// Every protected endpoint authenticates the caller (auth.Authenticator) and evaluates the
// policy rule of the original (physical_provisioner:read_task, ...; policy.Policy); task
// creation checks both create_task and the action's own rule. Every error is a Status body
// ({kind: Status, status: Failure, message, reason, code}). Request bodies are size-limited and
// decoded strictly: unknown fields, wrong types, trailing data, bad UUIDs, unknown actions and
// bad node filters are 400s that say what is wrong, and a rejected request writes nothing.
//
// Routing uses the standard library's ServeMux; method dispatch is done here so that a wrong
// method, OPTIONS and unknown paths also answer with Status bodies and an Allow header.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/design/sitecache"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// Orchestrator is what the API asks of the orchestrator.
type Orchestrator interface {
	Submit(ctx context.Context, action, designRef string, nodeFilter []byte, createdBy string) (*task.Task, error)
	Terminate(ctx context.Context, id uuid.UUID, by string) (*task.Task, error)
	Retry(ctx context.Context, id uuid.UUID) (*task.Task, error)
}

// DesignFetcher reads design references (ref.Resolver).
type DesignFetcher interface {
	Fetch(ctx context.Context, designRef string) ([]ref.Source, error)
}

// Config is a server's settings.
type Config struct {
	// MaxBody limits request bodies (default 1 MiB).
	MaxBody int64
	// DesignRoots, when not empty, are the only directories file design references may name
	// (a shared server should not read any file its users name).
	DesignRoots []string
	// Version is the server's version, sent in the Server header of every response.
	Version string
	// BootActionURL is the boot action API's base URL as nodes reach it, rendered into assets
	// as action.report_url (default orchestrator.DefaultBootActionURL's value).
	BootActionURL string
	// BaclientPath is the drydock-baclient binary served at /bootactions/baclient ("": not served).
	BaclientPath string
}

// Server serves the API.
type Server struct {
	Store   store.Store
	Orch    Orchestrator
	Drivers driver.Set
	Auth    auth.Authenticator
	Policy  *policy.Policy
	Fetch   DesignFetcher
	Log     *slog.Logger
	Config  Config
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BootActionURL, when set, gives the boot action API's base URL as nodes reach it (it may
	// be known only once the server listens); else Config.BootActionURL.
	BootActionURL func() string

	mux         *http.ServeMux
	routes      map[string]*route // by pattern
	validations chan struct{}     // slots for concurrent design validations
	// bootSites are the compiled designs of the last few deploy tasks whose nodes fetch their
	// boot action assets (a task's snapshot never changes: entries never go stale).
	bootSites *sitecache.Cache[uuid.UUID, *design.Site]
}

// DefaultMaxBody is the default request body limit.
const DefaultMaxBody = 1 << 20

// Prefix is the versioned API's path prefix.
const Prefix = "/api/v1.0"

// handlerFunc handles an authenticated request; a returned error becomes a Status body.
type handlerFunc func(w http.ResponseWriter, r *http.Request, id *auth.Identity) error

// route is one path with its handlers by method.
type route struct {
	pattern string
	methods map[string]*endpoint
}

// endpoint is one method of a route.
type endpoint struct {
	rule    string // policy rule; "" for public endpoints (no authentication)
	handler handlerFunc
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.mux == nil {
		s.init()
	}
	return s.middleware(s.mux)
}

func (s *Server) init() {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Config.Version == "" {
		s.Config.Version = "dev"
	}
	if s.Config.BootActionURL == "" {
		s.Config.BootActionURL = "http://localhost:9000/api/v1.0/bootactions/"
	}
	if s.Config.MaxBody <= 0 {
		s.Config.MaxBody = DefaultMaxBody
	}
	if s.Fetch == nil {
		s.Fetch = &ref.Resolver{}
	}
	if s.Policy == nil {
		s.Policy, _ = policy.New(nil)
	}
	s.mux = http.NewServeMux()
	s.routes = map[string]*route{}
	s.bootSites = &sitecache.Cache[uuid.UUID, *design.Site]{}
	s.validations = make(chan struct{}, maxValidations)
	p := Prefix
	// Public.
	s.handle("GET", "/versions", "", s.versions)
	s.handle("GET", "/api/versions", "", s.versions)
	s.handle("GET", p+"/versions", "", s.versions)
	s.handle("GET", p+"/health", "", s.health)
	s.handle("GET", p+"/openapi.json", "", s.openapi)
	// Node-facing boot action endpoints: authenticated by the node's boot action key.
	s.handle("GET", p+"/bootactions/nodes/{hostname}/files", "", s.bootActionAssets(design.AssetFile))
	s.handle("GET", p+"/bootactions/nodes/{hostname}/units", "", s.bootActionAssets(design.AssetUnit))
	s.handle("GET", p+"/bootactions/baclient", "", s.baclient)
	s.handle("POST", p+"/bootactions/{action_id}", "", s.reportBootAction)
	// Protected.
	s.handle("GET", p+"/health/extended", policy.RuleHealthData, s.healthExtended)
	s.handle("GET", p+"/tasks", policy.RuleReadTask, s.listTasks)
	s.handle("POST", p+"/tasks", policy.RuleCreateTask, s.createTask)
	s.handle("DELETE", p+"/tasks", policy.RuleDeleteTasks, s.purgeTasks)
	s.handle("GET", p+"/tasks/{id}", policy.RuleReadTask, s.getTask)
	s.handle("GET", p+"/tasks/{id}/steps", policy.RuleReadTask, s.taskSteps)
	s.handle("GET", p+"/tasks/{id}/builddata", policy.RuleReadBuildData, s.taskBuildData)
	s.handle("POST", p+"/tasks/{id}/terminate", policy.RuleTerminateTask, s.terminateTask)
	s.handle("POST", p+"/tasks/{id}/retry", policy.RuleRetryTask, s.retryTask)
	s.handle("GET", p+"/nodes", policy.RuleReadData, s.listNodes)
	s.handle("GET", p+"/nodes/{hostname}/builddata", policy.RuleReadBuildData, s.nodeBuildData)
	s.handle("POST", p+"/nodefilter", policy.RuleReadData, s.nodeFilter)
	s.handle("POST", p+"/validatedesign", policy.RuleValidateSiteDesign, s.validateDesign)
	// The original's designs API was deprecated and never worked: 410 Gone.
	for _, path := range []string{"/designs", "/designs/{id}", "/designs/{id}/parts", "/designs/{id}/parts/{kind}", "/designs/{id}/parts/{kind}/{name}"} {
		s.handle("GET", p+path, "", s.gone)
		if !strings.Contains(path, "{kind}") {
			s.handle("POST", p+path, "", s.gone)
		}
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errNotFound("no such resource: %s", r.URL.Path))
	})
}

// handle registers a method of a path.
func (s *Server) handle(method, pattern, rule string, h handlerFunc) {
	rt := s.routes[pattern]
	if rt == nil {
		rt = &route{pattern: pattern, methods: map[string]*endpoint{}}
		s.routes[pattern] = rt
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.dispatch(w, r, rt) })
	}
	rt.methods[method] = &endpoint{rule: rule, handler: h}
}

// Routes lists the registered "METHOD pattern" pairs (for the OpenAPI consistency test).
func (s *Server) Routes() []string {
	if s.mux == nil {
		s.init()
	}
	var out []string
	for _, rt := range s.routes {
		for m := range rt.methods {
			out = append(out, m+" "+rt.pattern)
		}
	}
	return out
}

// allow lists a route's methods for the Allow header.
func (rt *route) allow() string {
	var ms []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"} {
		if rt.methods[m] != nil || (m == "HEAD" && rt.methods["GET"] != nil) {
			ms = append(ms, m)
		}
	}
	return strings.Join(append(ms, "OPTIONS"), ", ")
}

// dispatch runs the endpoint of the request's method: authentication, policy, handler.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, rt *route) {
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if method == http.MethodOptions {
		w.Header().Set("Allow", rt.allow())
		w.WriteHeader(http.StatusOK)
		return
	}
	ep := rt.methods[method]
	if ep == nil {
		w.Header().Set("Allow", rt.allow())
		s.writeError(w, r, &Error{Code: http.StatusMethodNotAllowed, Reason: "MethodNotAllowed",
			Message: r.Method + " is not allowed on " + rt.pattern + " (allowed: " + rt.allow() + ")"})
		return
	}
	info := requestInfo(r)
	var id *auth.Identity
	if ep.rule != "" {
		info.rule = ep.rule
		var err error
		if id, err = s.authenticate(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		info.user = id.User
		if err := s.authorize(r, ep.rule, id); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := ep.handler(w, r, id); err != nil {
		s.writeError(w, r, err)
	}
}
