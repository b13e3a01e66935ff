package maassim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Prefix is the path every API URL starts with.
const Prefix = "/MAAS/api/2.0/"

// apiHash is the value of the X-MAAS-API-Hash header handler responses carry.
const apiHash = "4c3b9f2e5d1a8e7f6b0c2d9a1e3f5b7c9d0e2f41"

const maxBody = 64 << 20

// apiError is an error response as MAAS sends it (maas_api.md §3).
type apiError struct {
	status     int
	json       bool // body is JSON ({field: [messages]} or a list), else text/plain
	body       string
	retryAfter string
	header     map[string]string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.body) }

func textError(status int, format string, args ...any) *apiError {
	return &apiError{status: status, body: fmt.Sprintf(format, args...)}
}

// badRequest is MAASAPIBadRequest (and a single non-field validation message): 400 text.
func badRequest(format string, args ...any) *apiError {
	return textError(http.StatusBadRequest, format, args...)
}

// conflict is NodeStateViolation and friends: 409 text, never with Retry-After.
func conflict(format string, args ...any) *apiError {
	return textError(http.StatusConflict, format, args...)
}

func forbidden(format string, args ...any) *apiError {
	return textError(http.StatusForbidden, format, args...)
}

// notFound is get_object_or_404: "No <Model> matches the given query."
func notFound(model string) *apiError {
	return textError(http.StatusNotFound, "No %s matches the given query.", model)
}

// fieldErrors is a form validation failure: 400 JSON {"<field>": ["<message>", ...]}.
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, format string, args ...any) {
	fe[field] = append(fe[field], fmt.Sprintf(format, args...))
}

func (fe fieldErrors) err() *apiError {
	if len(fe) == 0 {
		return nil
	}
	b, _ := json.Marshal(map[string][]string(fe))
	return &apiError{status: http.StatusBadRequest, json: true, body: string(b)}
}

func fieldError(field, format string, args ...any) *apiError {
	fe := fieldErrors{}
	fe.add(field, format, args...)
	return fe.err()
}

// missingParam is get_mandatory_param's refusal.
func missingParam(name string) *apiError { return badRequest("No provided %s!", name) }

// Special handler results.
type (
	noContent struct{}           // 204, empty body
	created   struct{ v any }    // 201 JSON
	plainText struct{ s string } // 200 text/plain
	accepted  struct{ s string } // 202 text/plain
	rawBody   struct {
		ctype string
		body  []byte
	}
)

// req is one API request being served.
type req struct {
	s      *Server
	r      *http.Request
	method string
	op     string
	hasOp  bool
	path   string   // path relative to Prefix, as received
	seg    []string // its non-empty segments
	form   url.Values
	query  url.Values
	anon   bool // no credentials were given
	fx     effects
}

// get returns a parameter's value as Django's QueryDict.get does: the last one.
func (c *req) get(k string) string {
	v := c.form[k]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (c *req) has(k string) bool { _, ok := c.form[k]; return ok }

func (c *req) list(k string) []string { return c.form[k] }

// listComma returns a repeated parameter whose values may also be comma-separated.
func (c *req) listComma(k string) []string {
	var out []string
	for _, v := range c.form[k] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// formBool is a Django BooleanField: "false"/"0" (any case) and empty are false, anything
// else true; def when absent.
func (c *req) formBool(k string, def bool) bool {
	if !c.has(k) {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(c.get(k))) {
	case "", "false", "0":
		return false
	}
	return true
}

// stringBool is MAAS's StringBool validator for op flags.
func (c *req) stringBool(k string, def bool) (bool, *apiError) {
	if !c.has(k) {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(c.get(k))) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, badRequest("Invalid value for %s: Value should be 'true' or 'false'", k)
}

// formInt parses an integer field; absent → def.
func (c *req) formInt(k string, def int) (int, *apiError) {
	if !c.has(k) || strings.TrimSpace(c.get(k)) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(c.get(k)))
	if err != nil {
		return 0, fieldError(k, "Enter a whole number.")
	}
	return n, nil
}

// formSize parses a size in bytes, also with a K/M/G/T suffix; absent → def.
func (c *req) formSize(k string, def int64) (int64, *apiError) {
	if !c.has(k) || strings.TrimSpace(c.get(k)) == "" {
		return def, nil
	}
	n, ok := parseSize(c.get(k))
	if !ok {
		return 0, fieldError(k, "Enter a whole number.")
	}
	return n, nil
}

func parseSize(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		case 'T', 't':
			mult = 1 << 40
		}
		if mult != 1 {
			v = v[:n-1]
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		return int64(f * float64(mult)), true
	}
	return 0, false
}

// serve handles one request: request faults, routing (unknown path → 404), authentication
// (→ 401), dispatch on (method, op) (→ 400 Unrecognised signature), then the response.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if e := s.requestFault(r); e != nil {
		s.journal(r, "", nil, e.status)
		writeError(w, e)
		return
	}
	if !strings.HasPrefix(r.URL.Path, Prefix) {
		s.journal(r, "", nil, http.StatusNotFound)
		writeError(w, textError(http.StatusNotFound, "Unknown API endpoint: %s.", r.URL.Path))
		return
	}
	c := &req{s: s, r: r, method: r.Method, path: strings.TrimPrefix(r.URL.Path, Prefix), query: r.URL.Query()}
	for _, p := range strings.Split(c.path, "/") {
		if p != "" {
			c.seg = append(c.seg, p)
		}
	}
	if n := len(c.seg); n > 0 && strings.HasPrefix(c.seg[n-1], "op-") {
		c.op, c.hasOp = strings.TrimPrefix(c.seg[n-1], "op-"), true
		c.seg = c.seg[:n-1]
	}
	rt := findRoute(c.seg)
	if rt == nil {
		s.journal(r, "", nil, http.StatusNotFound)
		writeError(w, textError(http.StatusNotFound, "Unknown API endpoint: %s.", r.URL.Path))
		return
	}
	if e := c.parseForm(); e != nil {
		s.journal(r, c.op, nil, e.status)
		writeError(w, e)
		return
	}
	if e := s.authenticate(c, rt); e != nil {
		s.journal(r, c.op, c.form, e.status)
		writeError(w, e)
		return
	}
	key := c.method + " " + c.op
	h := rt.methods[key]
	if h == nil && c.method == http.MethodHead {
		h = rt.methods["GET "+c.op]
	}
	if h == nil {
		op := c.op
		if !c.hasOp {
			op = "None"
		}
		e := badRequest("Unrecognised signature: method=%s op=%s", c.method, op)
		s.journal(r, c.op, c.form, e.status)
		writeError(w, e)
		return
	}
	s.mu.Lock()
	v, e := h(c)
	s.mu.Unlock()
	c.fx.run()
	if e != nil {
		s.journal(r, c.op, c.form, e.status)
		writeError(w, e)
		return
	}
	w.Header().Set("X-MAAS-API-Hash", apiHash)
	status := writeResult(w, v)
	s.journal(r, c.op, c.form, status)
}

// parseForm reads the parameters: the query string for GET, HEAD and DELETE (a GET body is
// ignored, as Django ignores it); the form body for POST and PUT, urlencoded or multipart
// (base64 transfer-encoded parts decoded). op is taken from the query, then the body.
func (c *req) parseForm() *apiError {
	switch c.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		vals, err := readBody(c.r)
		if err != nil {
			return badRequest("%v", err)
		}
		c.form = vals
	default:
		c.form = c.query
	}
	if !c.hasOp {
		if v, ok := c.query["op"]; ok {
			c.op, c.hasOp = v[0], true
		} else if v, ok := c.form["op"]; ok {
			c.op, c.hasOp = v[0], true
		}
	}
	return nil
}

func readBody(r *http.Request) (url.Values, error) {
	vals := url.Values{}
	if r.Body == nil {
		return vals, nil
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := io.LimitReader(r.Body, maxBody)
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return vals, nil
			}
			if err != nil {
				return nil, fmt.Errorf("malformed multipart body: %v", err)
			}
			data, err := io.ReadAll(p)
			if err != nil {
				return nil, fmt.Errorf("malformed multipart body: %v", err)
			}
			if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
				clean := strings.Map(func(r rune) rune {
					if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
						return -1
					}
					return r
				}, string(data))
				dec, err := base64.StdEncoding.DecodeString(clean)
				if err != nil {
					return nil, fmt.Errorf("malformed base64 part %q: %v", p.FormName(), err)
				}
				data = dec
			}
			vals.Add(p.FormName(), string(data))
		}
	default:
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return vals, nil
		}
		return url.ParseQuery(string(data))
	}
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	for k, v := range e.header {
		h.Set(k, v)
	}
	if e.json {
		h.Set("Content-Type", "application/json; charset=utf-8")
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	if e.retryAfter != "" {
		h.Set("Retry-After", e.retryAfter)
	}
	w.WriteHeader(e.status)
	_, _ = io.WriteString(w, e.body)
}

func writeResult(w http.ResponseWriter, v any) int {
	h := w.Header()
	switch x := v.(type) {
	case noContent:
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	case plainText:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, x.s)
		return http.StatusOK
	case accepted:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, x.s)
		return http.StatusAccepted
	case rawBody:
		h.Set("Content-Type", x.ctype)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(x.body)
		return http.StatusOK
	case created:
		return writeJSON(w, http.StatusCreated, x.v)
	}
	return writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, textError(http.StatusInternalServerError, "%v", err))
		return http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

// authenticate checks OAuth 1.0 PLAINTEXT credentials (maas_api.md §2). Credentials come
// from the Authorization header, the query string or the form body.
func (s *Server) authenticate(c *req, rt *route) *apiError {
	if rt.public {
		return nil // version/, describe/: credentials are not looked at
	}
	anonymous := rt.anon[c.method+" "+c.op]
	p := oauthParams(c)
	required := []string{"oauth_consumer_key", "oauth_token", "oauth_signature", "oauth_signature_method",
		"oauth_timestamp", "oauth_nonce"}
	complete := true
	for _, k := range required {
		if _, ok := p[k]; !ok {
			complete = false
		}
	}
	if !complete {
		if anonymous {
			c.anon = true
			return nil
		}
		return textError(http.StatusUnauthorized, "Forbidden")
	}
	unauthorized := func(format string, args ...any) *apiError {
		e := textError(http.StatusUnauthorized, format, args...)
		e.header = map[string]string{"WWW-Authenticate": `OAuth realm="OAuth"`}
		return e
	}
	ts, err := strconv.ParseInt(p["oauth_timestamp"], 10, 64)
	if err != nil {
		return badRequest("Invalid timestamp: %s", p["oauth_timestamp"])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	var tok *token
	consumerKnown := false
	for _, t := range st.tokens {
		if t.consumer == p["oauth_consumer_key"] {
			consumerKnown = true
			if t.key == p["oauth_token"] {
				tok = t
			}
		}
	}
	if !consumerKnown {
		return unauthorized("Authorization Error: Invalid API key.")
	}
	if tok == nil {
		return unauthorized("Authorization Error: 'Invalid access token: %s'", p["oauth_token"])
	}
	if m := p["oauth_signature_method"]; m != "PLAINTEXT" {
		return unauthorized("Authorization Error: 'Signature method %s not supported try one of the following: PLAINTEXT'", m)
	}
	now := time.Now().Unix()
	if d := now - ts; d > 300 || d < -300 {
		return unauthorized("Authorization Error: 'Expired timestamp: given %d and now %d has a greater difference than threshold 300'", ts, now)
	}
	if p["oauth_signature"] != "&"+tok.secret {
		return unauthorized("Authorization Error: 'Invalid signature.'")
	}
	if !s.cfg.SkipNonceCheck {
		nk := tok.key + "\x00" + p["oauth_nonce"]
		if _, used := st.nonces[nk]; used {
			return unauthorized("Authorization Error: 'Nonce already used: %s'", p["oauth_nonce"])
		}
		st.nonces[nk] = ts
		// A nonce older than the timestamp window cannot be replayed: forget those now and
		// then (at most every 10 s, so that a burst of requests does not rescan the map).
		if len(st.nonces) > 10000 && now-st.noncesPruned >= 10 {
			st.noncesPruned = now
			for k, t := range st.nonces {
				if now-t > 300 {
					delete(st.nonces, k)
				}
			}
		}
	}
	return nil
}

// oauthParams collects the oauth_* parameters: header first, then query, then form body.
func oauthParams(c *req) map[string]string {
	p := map[string]string{}
	h := c.r.Header.Get("Authorization")
	if len(h) > 6 && strings.EqualFold(h[:6], "OAuth ") {
		for _, part := range strings.Split(h[6:], ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			if uv, err := url.QueryUnescape(v); err == nil {
				v = uv
			}
			p[strings.TrimSpace(k)] = v
		}
	}
	for _, src := range []url.Values{c.query, c.form} {
		for k, v := range src {
			if strings.HasPrefix(k, "oauth_") && len(v) > 0 {
				if _, ok := p[k]; !ok {
					p[k] = v[0]
				}
			}
		}
	}
	delete(p, "realm")
	return p
}

// sortedKeys returns a map's keys in order (for deterministic output).
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
