package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/wire"
)

// MinRetention is the shortest age retention accepts: a purge never reaches tasks that just
// finished (an operator reading them, a retry about to be asked for).
const MinRetention = time.Hour

// ParseAge reads a retention age: a Go duration (36h, 90m) or a number of days (90d).
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q is not a number of days (e.g. 90d)", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an age (e.g. 90d, 36h)", s)
	}
	return d, nil
}

// purgeTasks is retention: DELETE /tasks?days=N (the original's form) or ?older_than=AGE.
func (s *Server) purgeTasks(w http.ResponseWriter, r *http.Request, _ *auth.Identity) error {
	if err := checkQuery(r, "days", "older_than"); err != nil {
		return err
	}
	q := r.URL.Query()
	days, older := q.Get("days"), q.Get("older_than")
	var age time.Duration
	switch {
	case days != "" && older != "":
		return errBadRequest("give days or older_than, not both")
	case days != "":
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return errBadRequest("days must be a whole number of days, at least 1 (got %q)", days)
		}
		age = time.Duration(n) * 24 * time.Hour
	case older != "":
		d, err := ParseAge(older)
		if err != nil {
			return errBadRequest("older_than: %v", err)
		}
		age = d
	default:
		return errBadRequest("say how old what is deleted must be: ?days=N or ?older_than=AGE (e.g. 90d, 36h)")
	}
	if age < MinRetention {
		return errBadRequest("the retention age must be at least %s (got %s)", MinRetention, age)
	}
	before := s.Now().UTC().Add(-age)
	res, err := s.Store.Purge(r.Context(), before)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	s.Log.Info("retention purge", "before", before, "tasks", res.Tasks, "build_data", res.BuildData, "boot_actions", res.BootActions,
		"req_id", requestInfo(r).id)
	writeJSON(w, http.StatusOK, wire.PurgeResult{Before: before, TasksDeleted: res.Tasks,
		BuildDataDeleted: res.BuildData, BootActionsDeleted: res.BootActions})
	return nil
}
