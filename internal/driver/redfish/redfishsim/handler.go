package redfishsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	sessionsURI = "/redfish/v1/SessionService/Sessions"
	systemsURI  = "/redfish/v1/Systems"
	resetSuffix = "/Actions/ComputerSystem.Reset"
)

type ctxKey struct{}

type requestState struct {
	malformed bool
	failAuth  bool
}

func reqState(r *http.Request) *requestState {
	if st, ok := r.Context().Value(ctxKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Logf != nil {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			s.cfg.Logf("%s %s %s -> %d (%s)", r.RemoteAddr, r.Method, r.URL.RequestURI(), sw.status, time.Since(start).Round(time.Millisecond))
		}()
		w = sw
	}
	p := normPath(r.URL.Path)
	sys := s.systemFor(p)

	st := &requestState{}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
	f := s.takeFaults(sys)
	if f.Slow > 0 {
		select {
		case <-time.After(f.Slow):
		case <-r.Context().Done():
			return
		case <-s.closed:
		}
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		panic(http.ErrAbortHandler)
	}
	if f.Drop {
		panic(http.ErrAbortHandler)
	}
	st.malformed, st.failAuth = f.Malformed, f.FailAuth
	if f.Fail5xx != 0 {
		code := f.Fail5xx
		if code < 500 || code > 599 {
			code = http.StatusInternalServerError
		}
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, code, msg("ServiceTemporarilyUnavailable", "1"))
		} else {
			s.writeError(w, r, code, msg("InternalError"))
		}
		return
	}

	// Public resources.
	switch {
	case p == "/redfish":
		s.serveStatic(w, r, []byte(`{"v1": "/redfish/v1/"}`), false)
		return
	case p == "/redfish/v1", p == "/redfish/v1/odata":
		s.serveStatic(w, r, s.tree[p], true)
		return
	case p == "/redfish/v1/$metadata": // public, but the mockup has no CSDL
		s.writeError(w, r, http.StatusNotFound, msg("ResourceMissingAtURI", r.URL.Path))
		return
	case p == sessionsURI && r.Method == http.MethodPost:
		s.login(w, r)
		return
	}
	if !s.authenticate(w, r) {
		return
	}

	switch {
	case p == sessionsURI:
		s.serveSessions(w, r)
	case strings.HasPrefix(p, sessionsURI+"/") && !strings.Contains(p[len(sessionsURI)+1:], "/"):
		s.serveSession(w, r, p[len(sessionsURI)+1:])
	case sys != nil && p == sys.uri:
		s.serveSystem(w, r, sys)
	case sys != nil && p == sys.uri+resetSuffix:
		if r.Method != http.MethodPost {
			s.notAllowed(w, r, "POST")
			return
		}
		s.serveReset(w, r, sys)
	case s.posts[p]:
		if r.Method != http.MethodPost {
			s.notAllowed(w, r, "POST")
			return
		}
		w.Header().Set("OData-Version", "4.0")
		w.WriteHeader(http.StatusNoContent)
	default:
		b, ok := s.tree[p]
		if !ok {
			s.writeError(w, r, http.StatusNotFound, msg("ResourceMissingAtURI", r.URL.Path))
			return
		}
		s.serveStatic(w, r, b, true)
	}
}

// systemFor returns the system whose subtree p is in.
func (s *Server) systemFor(p string) *System {
	rest, ok := strings.CutPrefix(p, systemsURI+"/")
	if !ok {
		return nil
	}
	id, _, _ := strings.Cut(rest, "/")
	return s.sys[id]
}

// takeFaults returns the faults in effect for one request (global and the
// system's), counting it against limited faults.
func (s *Server) takeFaults(sys *System) Faults {
	take := func(f *Faults) Faults {
		out := *f
		if f.requestFaults() && f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				*f = Faults{StuckPower: f.StuckPower}
			}
		}
		return out
	}
	s.mu.Lock()
	f := take(&s.faults)
	s.mu.Unlock()
	if sys != nil {
		sys.mu.Lock()
		g := take(&sys.faults)
		sys.mu.Unlock()
		f.Slow = max(f.Slow, g.Slow)
		if f.Fail5xx == 0 {
			f.Fail5xx = g.Fail5xx
		}
		f.Hang = f.Hang || g.Hang
		f.Drop = f.Drop || g.Drop
		f.Malformed = f.Malformed || g.Malformed
		f.FailAuth = f.FailAuth || g.FailAuth
		f.StuckPower = f.StuckPower || g.StuckPower
	}
	return f
}

func (s *Server) notAllowed(w http.ResponseWriter, r *http.Request, allow ...string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, http.StatusMethodNotAllowed, msg("OperationNotAllowed"))
}

func etagOf(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf(`"%016x"`, h.Sum64())
}

// serveStatic answers GET/HEAD of a read-only resource.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, b []byte, etag bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET", "HEAD")
		return
	}
	if etag {
		w.Header().Set("ETag", etagOf(b))
	}
	s.writeBody(w, r, http.StatusOK, b)
}

// ---- authentication and sessions ----

type session struct {
	id, token, user string
	created, last   time.Time
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (s *Server) credentialsOK(user, pass string, st *requestState) bool {
	if st.failAuth {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.User))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password))
	return u&p == 1
}

func (s *Server) expireSessionsLocked(now time.Time) {
	for tok, ss := range s.sessions {
		if now.Sub(ss.last) > s.cfg.SessionTimeout {
			delete(s.sessions, tok)
		}
	}
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, m message) {
	if !s.cfg.RequireSession {
		w.Header().Set("WWW-Authenticate", `Basic realm="redfishsim"`)
	}
	s.writeError(w, r, http.StatusUnauthorized, m)
}

// authenticate checks X-Auth-Token or Basic credentials; it answers 401 and
// returns false when neither is valid.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	st := reqState(r)
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		s.mu.Lock()
		now := time.Now()
		s.expireSessionsLocked(now)
		ss, ok := s.sessions[tok]
		if ok {
			ss.last = now
		}
		s.mu.Unlock()
		if ok && !st.failAuth {
			return true
		}
		s.unauthorized(w, r, msg("NoValidSession"))
		return false
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if s.cfg.RequireSession {
			s.unauthorized(w, r, msg("ResourceAtUriUnauthorized", r.URL.Path, "Basic authentication is disabled; use a session"))
			return false
		}
		if s.credentialsOK(user, pass, st) {
			return true
		}
		s.unauthorized(w, r, msg("ResourceAtUriUnauthorized", r.URL.Path, "invalid credentials"))
		return false
	}
	s.unauthorized(w, r, msg("NoValidSession"))
	return false
}

func (s *Server) sessionJSON(ss *session) []byte {
	b, _ := json.MarshalIndent(map[string]any{
		"@odata.type": "#Session.v1_7_1.Session",
		"@odata.id":   sessionsURI + "/" + ss.id,
		"Id":          ss.id,
		"Name":        "User Session",
		"Description": "Manager User Session",
		"UserName":    ss.user,
		"CreatedTime": ss.created.UTC().Format(time.RFC3339),
		"SessionType": "Redfish",
	}, "", "    ")
	return b
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if !s.readJSON(w, r, &body) {
		return
	}
	var missing []message
	var user, pass string
	for _, k := range []string{"UserName", "Password"} {
		v, ok := body[k]
		if !ok {
			missing = append(missing, msg("PropertyMissing", k).withRelated("#/"+k))
			continue
		}
		str, ok := v.(string)
		if !ok {
			missing = append(missing, msg("PropertyValueTypeError", jsonText(v), k).withRelated("#/"+k))
			continue
		}
		if k == "UserName" {
			user = str
		} else {
			pass = str
		}
	}
	if len(missing) > 0 {
		s.writeError(w, r, http.StatusBadRequest, missing...)
		return
	}
	if !s.credentialsOK(user, pass, reqState(r)) {
		s.writeError(w, r, http.StatusUnauthorized, msg("ResourceAtUriUnauthorized", sessionsURI, "invalid credentials"))
		return
	}
	now := time.Now()
	s.mu.Lock()
	s.expireSessionsLocked(now)
	if s.cfg.MaxSessions > 0 && len(s.sessions) >= s.cfg.MaxSessions {
		s.mu.Unlock()
		s.writeError(w, r, http.StatusServiceUnavailable, msg("SessionLimitExceeded"))
		return
	}
	s.nextSess++
	ss := &session{id: strconv.Itoa(s.nextSess) + randHex(4), token: randHex(16), user: user, created: now, last: now}
	s.sessions[ss.token] = ss
	s.mu.Unlock()
	w.Header().Set("X-Auth-Token", ss.token)
	w.Header().Set("Location", sessionsURI+"/"+ss.id)
	s.writeBody(w, r, http.StatusCreated, s.sessionJSON(ss))
}

func (s *Server) serveSessions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.notAllowed(w, r, "GET", "HEAD", "POST")
		return
	}
	s.mu.Lock()
	s.expireSessionsLocked(time.Now())
	list := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b *session) int { return a.created.Compare(b.created) })
	members := make([]any, 0, len(list))
	for _, ss := range list {
		members = append(members, odataID(sessionsURI+"/"+ss.id))
	}
	b, _ := json.MarshalIndent(map[string]any{
		"@odata.type":         "#SessionCollection.SessionCollection",
		"@odata.id":           sessionsURI,
		"Name":                "Session Collection",
		"Members":             members,
		"Members@odata.count": len(members),
	}, "", "    ")
	s.writeBody(w, r, http.StatusOK, b)
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	var ss *session
	for _, x := range s.sessions {
		if x.id == id {
			ss = x
		}
	}
	if ss != nil && r.Method == http.MethodDelete {
		delete(s.sessions, ss.token)
	}
	s.mu.Unlock()
	if ss == nil {
		s.writeError(w, r, http.StatusNotFound, msg("ResourceMissingAtURI", r.URL.Path))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		b := s.sessionJSON(ss)
		w.Header().Set("ETag", etagOf(b))
		s.writeBody(w, r, http.StatusOK, b)
	case http.MethodDelete:
		w.Header().Set("OData-Version", "4.0")
		w.WriteHeader(http.StatusNoContent)
	default:
		s.notAllowed(w, r, "GET", "HEAD", "DELETE")
	}
}

// ---- request bodies ----

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// readJSON decodes a JSON object body, answering 400 MalformedJSON.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, into *map[string]any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, msg("MalformedJSON"))
		return false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		*into = map[string]any{}
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil || *into == nil || dec.More() {
		s.writeError(w, r, http.StatusBadRequest, msg("MalformedJSON"))
		return false
	}
	return true
}

// ---- systems ----

func normETag(t string) string {
	t = strings.TrimSpace(t)
	t = strings.TrimPrefix(t, "W/")
	t = strings.Trim(t, `"`)
	return strings.TrimSuffix(t, "-gzip")
}

// ifMatch checks If-Match against etag (weak/strong and quoting ignored).
func ifMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || normETag(t) == normETag(etag) {
			return true
		}
	}
	return false
}

func (s *Server) serveSystem(w http.ResponseWriter, r *http.Request, sys *System) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		b, etag := sys.render()
		w.Header().Set("ETag", etag)
		s.writeBody(w, r, http.StatusOK, b)
	case http.MethodPatch:
		s.patchSystem(w, r, sys)
	default:
		s.notAllowed(w, r, "GET", "HEAD", "PATCH")
	}
}

func (s *Server) patchSystem(w http.ResponseWriter, r *http.Request, sys *System) {
	var body map[string]any
	if !s.readJSON(w, r, &body) {
		return
	}
	sys.mu.Lock()
	cur, etag := sys.renderLocked()
	im := r.Header.Get("If-Match")
	if im == "" && s.cfg.RequireIfMatch {
		sys.mu.Unlock()
		s.writeError(w, r, http.StatusPreconditionRequired, msg("PreconditionRequired"))
		return
	}
	if im != "" && !ifMatch(im, etag) {
		sys.mu.Unlock()
		w.Header().Set("ETag", etag)
		s.writeError(w, r, http.StatusPreconditionFailed, msg("PreconditionFailed"))
		return
	}
	if len(body) == 0 {
		sys.mu.Unlock()
		s.writeError(w, r, http.StatusBadRequest, msg("NoOperation"))
		return
	}
	var curMap map[string]any
	_ = json.Unmarshal(cur, &curMap)

	en, target := sys.bootLocked()
	mode, uefi, tag, led := sys.bootMode, sys.uefiTarget, sys.assetTag, sys.led
	var errs []message
	str := func(v any, prop, ptr string) (string, bool) {
		x, ok := v.(string)
		if !ok {
			errs = append(errs, msg("PropertyValueTypeError", jsonText(v), prop).withRelated(ptr))
		}
		return x, ok
	}
	enum := func(v any, prop, ptr string, allowed []string, dst *string) {
		if x, ok := str(v, prop, ptr); ok {
			if !slices.Contains(allowed, x) {
				errs = append(errs, msg("PropertyValueNotInList", x, prop).withRelated(ptr))
				return
			}
			*dst = x
		}
	}
	bootTouched := false
	for _, k := range sortedKeys(body) {
		v := body[k]
		ptr := "#/" + k
		switch k {
		case "Boot":
			bm, ok := v.(map[string]any)
			if !ok {
				errs = append(errs, msg("PropertyValueTypeError", jsonText(v), k).withRelated(ptr))
				continue
			}
			curBoot, _ := curMap["Boot"].(map[string]any)
			for _, bk := range sortedKeys(bm) {
				bv := bm[bk]
				bptr := ptr + "/" + bk
				switch bk {
				case "BootSourceOverrideEnabled":
					enum(bv, bk, bptr, enabledValues, &en)
				case "BootSourceOverrideTarget":
					enum(bv, bk, bptr, sys.bootTargets, &target)
				case "BootSourceOverrideMode":
					enum(bv, bk, bptr, modeValues, &mode)
				case "UefiTargetBootSourceOverride":
					if x, ok := str(bv, bk, bptr); ok {
						uefi = x
					}
				default:
					if _, known := curBoot[bk]; known {
						errs = append(errs, msg("PropertyNotWritable", bk).withRelated(bptr))
					} else {
						errs = append(errs, msg("PropertyUnknown", bk).withRelated(bptr))
					}
					continue
				}
				bootTouched = true
			}
		case "AssetTag":
			if x, ok := str(v, k, ptr); ok {
				tag = x
			}
		case "IndicatorLED":
			enum(v, k, ptr, ledValues, &led)
		default:
			if _, known := curMap[k]; known || strings.HasPrefix(k, "@") {
				errs = append(errs, msg("PropertyNotWritable", k).withRelated(ptr))
			} else {
				errs = append(errs, msg("PropertyUnknown", k).withRelated(ptr))
			}
		}
	}
	if len(errs) > 0 {
		sys.mu.Unlock()
		s.writeError(w, r, http.StatusBadRequest, errs...)
		return
	}
	if bootTouched {
		sys.bootEnabled, sys.bootTarget, sys.bootMode, sys.uefiTarget = en, target, mode, uefi
		if sys.machine != nil {
			next := target
			if en == "Disabled" || target == "None" {
				next = ""
			}
			sys.machine.SetNextBoot(next, en == "Once")
		}
	}
	sys.assetTag, sys.led = tag, led
	sys.changedLocked()
	b, etag := sys.renderLocked()
	sys.mu.Unlock()
	w.Header().Set("ETag", etag)
	if s.cfg.PatchStatus == http.StatusNoContent {
		w.Header().Set("OData-Version", "4.0")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeBody(w, r, http.StatusOK, b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

const resetAction = "ComputerSystem.Reset"

func (s *Server) serveReset(w http.ResponseWriter, r *http.Request, sys *System) {
	var body map[string]any
	if !s.readJSON(w, r, &body) {
		return
	}
	var errs []message
	for _, k := range sortedKeys(body) {
		if k != "ResetType" {
			errs = append(errs, msg("ActionParameterUnknown", resetAction, k).withRelated("#/"+k))
		}
	}
	v, ok := body["ResetType"]
	var rt string
	switch {
	case !ok:
		errs = append(errs, msg("ActionParameterMissing", resetAction, "ResetType").withRelated("#/ResetType"))
	default:
		if rt, ok = v.(string); !ok {
			errs = append(errs, msg("ActionParameterValueTypeError", jsonText(v), "ResetType", resetAction).withRelated("#/ResetType"))
		} else if !sys.allowsReset(rt) {
			errs = append(errs, msg("ActionParameterValueNotInList", rt, "ResetType", resetAction).withRelated("#/ResetType"))
		}
	}
	if len(errs) > 0 {
		s.writeError(w, r, http.StatusBadRequest, errs...)
		return
	}
	stuck := s.Faults().StuckPower || sys.Faults().StuckPower
	switch sys.reset(rt, stuck) {
	case resetAlreadyOn:
		s.writeError(w, r, http.StatusConflict, message{id: "IDRAC.2.8.PSU501", text: "Server is already powered ON.", severity: "Informational", resolution: "No response action is required."})
		return
	case resetAlreadyOff:
		s.writeError(w, r, http.StatusConflict, message{id: "IDRAC.2.8.PSU502", text: "Server is already powered OFF.", severity: "Informational", resolution: "No response action is required."})
		return
	}
	if s.cfg.ResetStatus == http.StatusOK {
		b, _ := json.MarshalIndent(map[string]any{"@Message.ExtendedInfo": []any{msg("Success").json()}}, "", "    ")
		s.writeBody(w, r, http.StatusOK, b)
		return
	}
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusNoContent)
}
