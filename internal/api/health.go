package api

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/status"
)

// healthTimeout bounds each health check.
const healthTimeout = 5 * time.Second

func (s *Server) versions(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	writeJSON(w, http.StatusOK, wire.Versions{"v1.0": {Path: Prefix, Status: "stable"}})
	return nil
}

// health is the unauthenticated liveness check: 204 when the store answers, 503 otherwise.
// Unlike the original it writes nothing.
func (s *Server) health(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.Warn("health check: store unreachable", "err", err)
		return errUnavailable("the state store is unreachable")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// healthExtended checks the store and every enabled driver that can check itself, and reports
// each check in a Status body: 200 when all pass, 503 otherwise.
func (s *Server) healthExtended(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	type check struct {
		name string
		fn   func(context.Context) error
	}
	checks := []check{{"state store", s.Store.Ping}}
	seen := map[any]bool{}
	add := func(name string, d any) {
		if d == nil || seen[d] {
			return
		}
		seen[d] = true
		if hc, ok := d.(driver.HealthChecker); ok {
			checks = append(checks, check{name, hc.CheckHealth})
		}
	}
	add("node driver", s.Drivers.Node)
	// One check per OOB driver, named by the oob.types it serves.
	types := map[any][]string{}
	var order []any
	for _, typ := range slices.Sorted(maps.Keys(s.Drivers.OOB)) {
		d := s.Drivers.OOB[typ]
		if d == nil {
			continue
		}
		if types[d] == nil {
			order = append(order, d)
		}
		types[d] = append(types[d], typ)
	}
	for _, d := range order {
		add("oob driver ("+strings.Join(types[d], ", ")+")", d)
	}
	if s.Drivers.Kube != nil {
		add("kubernetes driver", s.Drivers.Kube)
	}
	st := status.New(status.Success, "", "HealthCheck", http.StatusOK)
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		err := c.fn(ctx)
		cancel()
		if err != nil {
			st.Add(fmt.Sprintf("%s: unhealthy: %v", c.name, err), true)
		} else {
			st.Add(c.name+": ok", false)
		}
	}
	if st.Details.ErrorCount > 0 {
		st.Status, st.Message, st.Code = status.Failure, "Drydock failed to respond", http.StatusServiceUnavailable
		requestInfo(r).outcome = "Unhealthy"
	}
	writeJSON(w, st.Code, st)
	return nil
}

func (s *Server) gone(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	return &Error{Code: http.StatusGone, Reason: "Gone", Message: "the designs API was deprecated in the original Drydock and is not provided: " +
		"pass a design reference (design_ref) to POST /api/v1.0/tasks, /nodefilter or /validatedesign instead"}
}

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the published OpenAPI document.
func OpenAPI() []byte { return openapiDoc }

func (s *Server) openapi(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiDoc)
	return nil
}
