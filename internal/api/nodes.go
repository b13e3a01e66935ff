package api

import (
	"net/http"
	"strings"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
)

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	lister, ok := s.Drivers.Node.(driver.MachineLister)
	if !ok || s.Drivers.Node == nil {
		return errUnavailable("the configured node driver cannot list machines")
	}
	ms, err := lister.Machines(r.Context())
	if err != nil {
		s.Log.Warn("listing machines failed", "req_id", requestInfo(r).id, "err", err)
		return &Error{Code: http.StatusBadGateway, Reason: "NodeDriverError", Message: "the node driver could not list machines: " + err.Error(), Retry: true}
	}
	if ms == nil {
		ms = []driver.Machine{}
	}
	writeJSON(w, http.StatusOK, ms)
	return nil
}

// validHostname accepts DNS labels and dotted names (what a node name can be).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Server) nodeBuildData(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	host := r.PathValue("hostname")
	if !validHostname(host) {
		return errBadRequest("%q is not a node name", host)
	}
	if err := checkQuery(r, "latest"); err != nil {
		return err
	}
	// The original accepted any case of "true"; anything else meant false.
	latest := strings.EqualFold(r.URL.Query().Get("latest"), "true")
	if v := r.URL.Query().Get("latest"); v != "" && !latest && !strings.EqualFold(v, "false") {
		return errBadRequest("query parameter latest=%q must be true or false", v)
	}
	bds, err := s.Store.ListBuildData(r.Context(), store.BuildDataQuery{NodeName: host, Latest: latest})
	if err != nil {
		return err
	}
	if len(bds) == 0 {
		return errNotFound("No build data found for node %s", host)
	}
	writeJSON(w, http.StatusOK, wire.FromBuildData(bds))
	return nil
}
