package api

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/bootaction"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// The node-facing boot action API. Nodes do not hold API tokens: each request carries the
// node's identity key for its current deployment in X-Bootaction-Key (hex), compared in
// constant time. A missing key is 401, a wrong or malformed one 403; neither is ever a 500.

const keyHeader = "X-Bootaction-Key"

// checkKey compares the request's key with want.
func checkKey(w http.ResponseWriter, r *http.Request, want []byte) error {
	h := strings.TrimSpace(r.Header.Get(keyHeader))
	if h == "" {
		w.Header().Set("WWW-Authenticate", "Bootaction-Key")
		return &Error{Code: http.StatusUnauthorized, Reason: "Unauthorized", Message: "No " + keyHeader + " header: send the node's boot action key"}
	}
	got, err := hex.DecodeString(h)
	// Compare even when the header is not hex, so that the answer takes the same time.
	if subtle.ConstantTimeCompare(got, want) != 1 || err != nil {
		return &Error{Code: http.StatusForbidden, Reason: "Forbidden", Message: "Invalid " + keyHeader}
	}
	return nil
}

// bootActionAssets serves a node's rendered assets of one type as a reproducible tar.gz.
func (s *Server) bootActionAssets(assetType string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
		if err := checkQuery(r); err != nil {
			return err
		}
		host := r.PathValue("hostname")
		if !validHostname(host) {
			return errBadRequest("%q is not a valid node name", host)
		}
		bc, err := s.Store.GetBootActionContext(r.Context(), host)
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("Error locating boot action for %s: the node has no boot action context (it was not deployed with boot actions)", host)
		} else if err != nil {
			return fmt.Errorf("boot action context of %s: %w", host, err)
		}
		if err := checkKey(w, r, bc.Key); err != nil {
			return err
		}
		site, err := s.bootSites.Get(r.Context(), bc.DeployTaskID, func(ctx context.Context) (*design.Site, error) {
			return compileSnapshot(ctx, s.Store, bc.DeployTaskID)
		})
		if err != nil {
			return err
		}
		node := site.Node(host)
		if node == nil {
			return errNotFound("node %s is not in the design of task %s", host, bc.DeployTaskID)
		}
		rows, err := s.Store.ListBootActions(r.Context(), host, bc.Deployment)
		if err != nil {
			return fmt.Errorf("boot actions of %s: %w", host, err)
		}
		ids := make(map[string]string, len(rows))
		for _, a := range rows {
			ids[a.Name] = a.ID
		}
		var actions []bootaction.Action
		for _, ba := range bootaction.Targeting(site, host) {
			id, ok := ids[ba.Name]
			if !ok {
				return fmt.Errorf("boot action %s targets %s but has no record in deployment %s", ba.Name, host, bc.Deployment)
			}
			actions = append(actions, bootaction.Action{Doc: ba.BootAction, ID: id})
		}
		rd := bootaction.Renderer{Fetcher: s.Fetch}
		info := bootaction.NodeInfo{KeyHex: hex.EncodeToString(bc.Key), ReportURL: s.bootURL(), DesignRef: bc.DesignRef}
		files, err := rd.RenderNode(r.Context(), site, node, actions, assetType, info)
		if err != nil {
			return renderError(host, err)
		}
		tgz, err := bootaction.Tarball(files)
		if err != nil {
			return renderError(host, err)
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", host+"-"+assetType+".tar.gz"))
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(tgz)
		return nil
	}
}

func (s *Server) bootURL() string {
	if s.BootActionURL != nil {
		if u := s.BootActionURL(); u != "" {
			return u
		}
	}
	return s.Config.BootActionURL
}

// renderError turns a rendering failure into a Status the operator can act on: the design's
// fault (a template, a pipeline, a bad asset) is said as such; an unreachable location may work
// later.
func renderError(host string, err error) error {
	var fe *ref.Error
	if errors.As(err, &fe) && fe.Kind == ref.KindUnreachable {
		return &Error{Code: http.StatusBadGateway, Reason: "AssetUnavailable", Retry: true,
			Message: fmt.Sprintf("The boot action assets of %s could not be fetched: %v", host, err)}
	}
	return &Error{Code: http.StatusInternalServerError, Reason: "RenderFailed",
		Message: fmt.Sprintf("The boot action assets of %s could not be rendered: %v", host, err)}
}

// bootActionReport is the body of POST /bootactions/{action_id}.
type bootActionReport struct {
	Status  *string           `json:"status"`
	Details []json.RawMessage `json:"details"`
}

// reservedDetailKeys are the message fields a node may not set.
var reservedDetailKeys = []string{"context", "context_type", "ts"}

// parseDetail validates one detail: message (string) and error (boolean) are required; other
// keys are kept as the message's extra data.
func parseDetail(i int, raw json.RawMessage) (string, bool, map[string]any, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return "", false, nil, errBadRequest("details[%d] must be an object with message (string) and error (boolean)", i)
	}
	seen := map[string]bool{}
	for _, k := range objectKeys(raw) {
		if seen[k] {
			return "", false, nil, errBadRequest("details[%d].%s is given twice", i, k)
		}
		seen[k] = true
	}
	for k := range m {
		if (strings.EqualFold(k, "message") && k != "message") || (strings.EqualFold(k, "error") && k != "error") {
			return "", false, nil, errBadRequest("details[%d].%s: field names are case-sensitive (message, error)", i, k)
		}
	}
	var msg string
	var isErr bool
	if v, ok := m["message"]; !ok || json.Unmarshal(v, &msg) != nil {
		return "", false, nil, errBadRequest("details[%d].message is required and must be a string", i)
	}
	if v, ok := m["error"]; !ok || json.Unmarshal(v, &isErr) != nil {
		return "", false, nil, errBadRequest("details[%d].error is required and must be a boolean", i)
	}
	extra := map[string]any{}
	for k, v := range m {
		if k == "message" || k == "error" {
			continue
		}
		if slices.Contains(reservedDetailKeys, k) {
			return "", false, nil, errBadRequest("details[%d].%s is reserved and may not be set by a node", i, k)
		}
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return "", false, nil, errBadRequest("details[%d].%s: %v", i, k, err)
		}
		extra[k] = x
	}
	return msg, isErr, extra, nil
}

// reportBootAction records a node's report on one of its actions.
func (s *Server) reportBootAction(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	id := r.PathValue("action_id")
	act, key, err := s.Store.GetBootAction(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("no boot action with id %q", id)
	} else if err != nil {
		return fmt.Errorf("boot action %s: %w", id, err)
	}
	if err := checkKey(w, r, key); err != nil {
		return err
	}
	var body bootActionReport
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	status := ""
	if body.Status != nil {
		switch strings.ToLower(*body.Status) {
		case store.BootActionSuccess, store.BootActionFailure:
			status = strings.ToLower(*body.Status)
		default:
			return errBadRequest("status must be success or failure, not %q", *body.Status)
		}
	}
	if status == "" && len(body.Details) == 0 {
		return errBadRequest("nothing to report: send a status, details, or both")
	}
	now := s.Now().UTC()
	msgs := make([]task.Message, 0, len(body.Details))
	for i, raw := range body.Details {
		text, isErr, extra, err := parseDetail(i, raw)
		if err != nil {
			return err
		}
		msgs = append(msgs, task.Message{Message: text, Error: isErr, ContextType: task.ContextBootAction, Context: act.ID, TS: now, Extra: extra})
	}
	act, err = s.Store.ReportBootAction(r.Context(), id, status, msgs, now)
	switch {
	case errors.Is(err, store.ErrConflict):
		return errConflict("Action %s status finalized, not available for update (status %s).", id, act.Status)
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("no boot action with id %q", id)
	case err != nil:
		return fmt.Errorf("report on boot action %s: %w", id, err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"node_name": act.NodeName, "action_id": act.ID,
		"action_name": act.Name, "task_id": act.TaskID.String(), "action_status": act.Status})
	return nil
}

// baclient serves the drydock-baclient binary for nodes to download.
func (s *Server) baclient(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	path := s.Config.BaclientPath
	if path == "" {
		return errNotFound("drydock-baclient is not available from this server: set bootactions.baclient_path")
	}
	f, err := os.Open(path)
	if err != nil {
		s.Log.Error("drydock-baclient cannot be served", "path", path, "err", err)
		return errNotFound("drydock-baclient is not available from this server (the configured file cannot be read; the server log says why)")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return errNotFound("drydock-baclient is not available from this server (the configured path is not a file)")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="drydock-baclient"`)
	http.ServeContent(w, r, "drydock-baclient", fi.ModTime(), f)
	return nil
}

// compileSnapshot compiles the design a deploy task ran with.
func compileSnapshot(ctx context.Context, st store.Store, taskID uuid.UUID) (*design.Site, error) {
	snap, err := st.LoadDesign(ctx, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("the design of deploy task %s is no longer stored (purged?)", taskID)
	} else if err != nil {
		return nil, fmt.Errorf("design of task %s: %w", taskID, err)
	}
	srcs := make([]design.Source, len(snap))
	for i, s := range snap {
		srcs[i] = design.Source{Name: s.Name, Data: s.Data}
	}
	rep := validate.Sources(ctx, validate.Options{}, srcs...)
	if rep.Site == nil {
		return nil, fmt.Errorf("the design of task %s no longer compiles", taskID)
	}
	return rep.Site, nil
}
