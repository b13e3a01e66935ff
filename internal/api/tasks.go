package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/nodefilter"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// CreatableActions are the actions POST /tasks accepts.
var CreatableActions = []string{task.ActionValidateDesign, task.ActionVerifySite, task.ActionPrepareSite,
	task.ActionVerifyNodes, task.ActionPrepareNodes, task.ActionDeployNodes, task.ActionDestroyNodes, task.ActionRelabelNodes}

// Limits of task listings.
const (
	DefaultListLimit = 100
	MaxListLimit     = 10000
)

// checkDesignRef rejects references the server cannot or must not read: malformed ones,
// relative paths (relative to what, on the server?) and files outside the configured roots.
func (s *Server) checkDesignRef(field, designRef string) error {
	if len(designRef) > 4096 {
		return errBadRequest("%s is longer than 4096 characters", field)
	}
	path, isFile, err := ref.Check(designRef)
	if err != nil {
		return errBadRequest("%s: %v", field, err)
	}
	if !isFile {
		return nil
	}
	if !filepath.IsAbs(path) {
		return errBadRequest("%s: %q is a relative path; the server needs an absolute path, a file:/// URL or an http(s) URL", field, ref.Redact(designRef))
	}
	if len(s.Config.DesignRoots) == 0 {
		return nil
	}
	clean := filepath.Clean(path)
	for _, root := range s.Config.DesignRoots {
		if rel, err := filepath.Rel(filepath.Clean(root), clean); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return nil
		}
	}
	return &Error{Code: http.StatusForbidden, Reason: "Forbidden", Message: field + ": this server only reads design files under " + strings.Join(s.Config.DesignRoots, ", ")}
}

// decodeFilter checks a request's node filter; it returns nil for an absent or null filter.
func decodeFilter(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	if _, err := nodefilter.Decode(raw); err != nil {
		return nil, errBadRequest("node_filter: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, errBadRequest("node_filter: %v", err)
	}
	return buf.Bytes(), nil
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := checkQuery(r); err != nil {
		return err
	}
	var req wire.CreateTask
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Action == "" {
		return errBadRequest("action is required (one of %s)", strings.Join(CreatableActions, ", "))
	}
	if !slices.Contains(CreatableActions, req.Action) {
		return errBadRequest("unsupported action %q (supported: %s)", req.Action, strings.Join(CreatableActions, ", "))
	}
	if err := s.authorize(r, policy.ActionRule(req.Action), id); err != nil {
		return err
	}
	if req.DesignRef == "" {
		return errBadRequest("design_ref is required: the design to act on (a URL or an absolute path on the server)")
	}
	if err := s.checkDesignRef("design_ref", req.DesignRef); err != nil {
		return err
	}
	filter, err := decodeFilter(req.NodeFilter)
	if err != nil {
		return err
	}
	t, err := s.Orch.Submit(r.Context(), req.Action, req.DesignRef, filter, id.User)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/tasks/"+t.ID.String())
	writeJSON(w, http.StatusCreated, wire.FromTask(t))
	return nil
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := checkQuery(r, "status", "action", "toplevel", "limit", "marker", "messages"); err != nil {
		return err
	}
	q := r.URL.Query()
	var p store.ListParams
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if _, ok := task.Transitions[task.Status(st)]; !ok && !task.Status(st).Final() {
				return errBadRequest("status=%q is not a task status (requested, queued, running, terminating, terminated, complete)", st)
			}
			p.Statuses = append(p.Statuses, task.Status(st))
		}
	}
	if a := q.Get("action"); a != "" {
		if !slices.Contains(orchestrator.Actions(), a) {
			return errBadRequest("action=%q is not a task action (known: %s)", a, strings.Join(orchestrator.Actions(), ", "))
		}
		p.Action = a
	}
	var err error
	if p.TopLevelOnly, err = queryBool(r, "toplevel", false); err != nil {
		return err
	}
	msgs, err := queryBool(r, "messages", false)
	if err != nil {
		return err
	}
	p.WithoutMessages = !msgs
	if p.Limit, err = queryInt(r, "limit", DefaultListLimit, 1, MaxListLimit); err != nil {
		return err
	}
	if m := q.Get("marker"); m != "" {
		after, err := uuid.Parse(m)
		if err != nil {
			return errBadRequest("marker=%q is not a task id", m)
		}
		p.After = &after
	}
	// One more than asked tells whether a next page exists.
	want := p.Limit
	p.Limit++
	ts, err := s.Store.ListTasks(r.Context(), p)
	if errors.Is(err, store.ErrNotFound) {
		return errBadRequest("marker %s is not a task (it may have been purged); list again without it", p.After)
	}
	if err != nil {
		return err
	}
	if len(ts) > want {
		ts = ts[:want]
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		last := ts[len(ts)-1].ID.String()
		next.Set("marker", last)
		next.Set("limit", strconv.Itoa(want))
		w.Header().Set("Link", "<"+Prefix+"/tasks?"+next.Encode()+`>; rel="next"`)
		w.Header().Set("X-Drydock-Next-Marker", last)
	}
	out := make([]wire.Task, len(ts))
	for i, t := range ts {
		out[i] = wire.FromTask(t)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// loadTask reads a task or answers 404.
func (s *Server) loadTask(r *http.Request, id uuid.UUID) (*task.Task, error) {
	t, err := s.Store.GetTask(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("task %s does not exist", id)
	}
	return t, err
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := checkQuery(r, "builddata", "subtaskerrors", "layers"); err != nil {
		return err
	}
	withBD, err := queryBool(r, "builddata", false)
	if err != nil {
		return err
	}
	withErrs, err := queryBool(r, "subtaskerrors", false)
	if err != nil {
		return err
	}
	layers, err := queryInt(r, "layers", 0, -1, 1000)
	if err != nil {
		return err
	}
	t, err := s.loadTask(r, id)
	if err != nil {
		return err
	}
	var descendants []*task.Task // breadth-first, with depth
	var depths []int
	if withErrs || layers != 0 {
		descendants, depths, err = s.descendants(r, t)
		if err != nil {
			return err
		}
	}
	view := func(t *task.Task) (wire.Task, error) {
		wt := wire.FromTask(t)
		if withBD {
			bds, err := s.Store.ListBuildData(r.Context(), store.BuildDataQuery{TaskID: &t.ID})
			if err != nil {
				return wt, err
			}
			wt.BuildData = wire.FromBuildData(bds)
		}
		return wt, nil
	}
	var subErrs map[string]wire.SubtaskError
	if withErrs {
		subErrs = map[string]wire.SubtaskError{}
		for _, d := range descendants {
			if d.Result.ErrorCount() > 0 {
				subErrs[d.ID.String()] = wire.SubtaskError{Result: wire.FromResult(&d.Result), TaskID: d.ID.String()}
			}
		}
	}
	if layers == 0 {
		wt, err := view(t)
		if err != nil {
			return err
		}
		wt.SubtaskErrors = subErrs
		if withErrs && wt.SubtaskErrors == nil {
			wt.SubtaskErrors = map[string]wire.SubtaskError{}
		}
		writeJSON(w, http.StatusOK, wt)
		return nil
	}
	// layers: a map of task id → task down to that depth (the task itself is depth 1; -1: all).
	out := map[string]any{"init_task_id": t.ID.String()}
	wt, err := view(t)
	if err != nil {
		return err
	}
	out[t.ID.String()] = wt
	for i, d := range descendants {
		if layers > 0 && depths[i] > layers {
			continue
		}
		dt, err := view(d)
		if err != nil {
			return err
		}
		out[d.ID.String()] = dt
	}
	if withErrs {
		out["subtask_errors"] = subErrs
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// descendants returns every descendant of t, breadth first, with its depth (children are 2).
func (s *Server) descendants(r *http.Request, t *task.Task) ([]*task.Task, []int, error) {
	var out []*task.Task
	var depths []int
	level := []*task.Task{t}
	for depth := 2; len(level) > 0 && depth < 64; depth++ {
		var next []*task.Task
		for _, p := range level {
			if len(p.SubtaskIDs) == 0 {
				continue
			}
			kids, err := s.Store.ListTasks(r.Context(), store.ListParams{ParentID: &p.ID})
			if err != nil {
				return nil, nil, err
			}
			// Registration order, as subtask_id_list gives it.
			pos := map[uuid.UUID]int{}
			for i, id := range p.SubtaskIDs {
				pos[id] = i
			}
			slices.SortFunc(kids, func(a, b *task.Task) int { return pos[a.ID] - pos[b.ID] })
			for _, k := range kids {
				out = append(out, k)
				depths = append(depths, depth)
			}
			next = append(next, kids...)
		}
		level = next
	}
	return out, depths, nil
}

// existingTask reads the {id} of a request that takes no query parameters: 400 for a bad id,
// 404 for an unknown task.
func (s *Server) existingTask(r *http.Request) (uuid.UUID, error) {
	id, err := pathID(r)
	if err != nil {
		return id, err
	}
	if err := checkQuery(r); err != nil {
		return id, err
	}
	if _, _, err := s.Store.TaskStatus(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return id, errNotFound("task %s does not exist", id)
		}
		return id, err
	}
	return id, nil
}

func (s *Server) taskSteps(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	id, err := s.existingTask(r)
	if err != nil {
		return err
	}
	runs, err := s.Store.ListStepRuns(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromStepRuns(runs))
	return nil
}

func (s *Server) taskBuildData(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	id, err := s.existingTask(r)
	if err != nil {
		return err
	}
	bds, err := s.Store.ListBuildData(r.Context(), store.BuildDataQuery{TaskID: &id})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromBuildData(bds))
	return nil
}

// taskChange runs terminate or retry and maps the store's answers to HTTP.
func (s *Server) taskChange(w http.ResponseWriter, r *http.Request, verb string, do func(id uuid.UUID) (*task.Task, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := checkQuery(r); err != nil {
		return err
	}
	if r.ContentLength != 0 { // -1: a chunked body
		return errBadRequest("%s takes no request body", verb)
	}
	t, err := do(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("task %s does not exist", id)
	case errors.Is(err, store.ErrConflict):
		st := "in a state that does not allow it"
		if t != nil {
			st = string(t.Status)
		}
		return errConflict("task %s cannot be %s: it is %s", id, verb, st)
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromTask(t))
	return nil
}

func (s *Server) terminateTask(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	return s.taskChange(w, r, "terminated", func(tid uuid.UUID) (*task.Task, error) {
		return s.Orch.Terminate(r.Context(), tid, id.User)
	})
}

func (s *Server) retryTask(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	return s.taskChange(w, r, "retried", func(tid uuid.UUID) (*task.Task, error) {
		t, err := s.Store.GetTask(r.Context(), tid)
		if err != nil {
			return nil, err
		}
		if t.ParentID != nil {
			return t, errBadRequest("task %s is a subtask; retry its top-level task %s", tid, t.ParentID)
		}
		rt, err := s.Orch.Retry(r.Context(), tid)
		if err != nil {
			return t, err
		}
		return rt, nil
	})
}
