package api

import (
	"context"
	"net/http"
	"time"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/nodefilter"
)

// designTimeout bounds reading and validating a design for a synchronous request.
const designTimeout = 2 * time.Minute

// maxValidations bounds a server's concurrent design validations: each may hold a large design
// in memory and keep a core busy.
const maxValidations = 2

// loadDesign fetches and validates a design for a request. Unreadable designs are 400s whose
// Status carries the reason.
func (s *Server) loadDesign(ctx context.Context, designRef string) (*validate.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, designTimeout)
	defer cancel()
	select {
	case s.validations <- struct{}{}:
		defer func() { <-s.validations }()
	case <-ctx.Done():
		return nil, errUnavailable("too many design validations in progress; try again")
	}
	srcs, err := s.Fetch.Fetch(ctx, designRef)
	if err != nil {
		return nil, &Error{Code: http.StatusBadRequest, Reason: "DesignUnreadable", Message: err.Error()}
	}
	sources := make([]design.Source, len(srcs))
	for i, src := range srcs {
		sources[i] = design.Source{Name: src.Name, Data: src.Data}
	}
	return validate.Sources(ctx, validate.Options{}, sources...), nil
}

func (s *Server) validateDesign(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	var req wire.ValidateDesign
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Href == "" {
		return errBadRequest(`The "href" key must be provided in the request body: the design reference to validate`)
	}
	if err := s.checkDesignRef("href", req.Href); err != nil {
		return err
	}
	rep, err := s.loadDesign(r.Context(), req.Href)
	if err != nil {
		return err
	}
	st := design.Status(rep.Messages)
	requestInfo(r).outcome = st.Status
	writeJSON(w, st.Code, st)
	return nil
}

func (s *Server) nodeFilter(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	var req wire.NodeFilter
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.DesignRef == "" {
		return errBadRequest("Missing input required value: design_ref")
	}
	if err := s.checkDesignRef("design_ref", req.DesignRef); err != nil {
		return err
	}
	raw, err := decodeFilter(req.NodeFilter)
	if err != nil {
		return err
	}
	var fs *nodefilter.FilterSet
	if raw != nil {
		if fs, err = nodefilter.Decode(raw); err != nil {
			return errBadRequest("node_filter: %v", err)
		}
	}
	rep, err := s.loadDesign(r.Context(), req.DesignRef)
	if err != nil {
		return err
	}
	if !rep.Valid() {
		st := design.Status(rep.Messages)
		return &Error{Code: http.StatusBadRequest, Reason: "DesignInvalid",
			Message: "the design failed validation; nodes cannot be selected from it", Details: st.Details.MessageList, DetailErrors: st.Details.ErrorCount}
	}
	nodes, err := rep.Site.SelectNodes(fs)
	if err != nil {
		return errBadRequest("node_filter: %v", err)
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	writeJSON(w, http.StatusOK, names)
	return nil
}
