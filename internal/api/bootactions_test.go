package api

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oklog/ulid/v2"

	"github.com/drydock-go/drydock/internal/bootaction"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

// deployed is a node with a boot action context, as deploy_nodes leaves it.
type deployed struct {
	node    string
	key     []byte
	deploy  uuid.UUID // the deploy_nodes task
	subtask uuid.UUID // the deploy_node subtask the reports go to
	actions map[string]store.BootAction
}

func (d deployed) keyHex() string { return hex.EncodeToString(d.key) }

// deployWithBootActions records a deploy_nodes task of the example site (with its design
// snapshot) and the boot action contexts of the given nodes, as the orchestrator does.
func (ts *testServer) deployWithBootActions(t *testing.T, nodes ...string) map[string]deployed {
	t.Helper()
	return ts.deployDesign(t, testutil.ExampleSite(t), nodes...)
}

// deployDesign is deployWithBootActions with another design.
func (ts *testServer) deployDesign(t *testing.T, designRef string, nodes ...string) map[string]deployed {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	tk := task.New(task.ActionDeployNodes, designRef, nil, "test", now)
	tk.Status = task.StatusQueued
	if err := ts.raw.CreateTask(ctx, tk); err != nil {
		t.Fatal(err)
	}
	srcs, err := (&ref.Resolver{}).Fetch(ctx, designRef)
	if err != nil {
		t.Fatal(err)
	}
	snap := make([]store.DesignSource, len(srcs))
	dsrcs := make([]design.Source, len(srcs))
	for i, s := range srcs {
		snap[i] = store.DesignSource{Name: s.Name, Data: s.Data}
		dsrcs[i] = design.Source{Name: s.Name, Data: s.Data}
	}
	if err := ts.raw.SaveDesign(ctx, tk.ID, snap); err != nil {
		t.Fatal(err)
	}
	site := validate.Sources(ctx, validate.Options{}, dsrcs...).Site
	_, lease, err := ts.raw.ClaimTask(ctx, "test", []string{task.ActionDeployNodes}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	sub := task.New("deploy_node", tk.DesignRef, nil, "test", now)
	sub.ParentID, sub.Step, sub.Status = &tk.ID, "deploy_node", task.StatusRunning
	if err := ts.raw.CreateTask(ctx, sub); err != nil {
		t.Fatal(err)
	}
	out := map[string]deployed{}
	for _, n := range nodes {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		var acts []store.BootAction
		for _, ba := range bootaction.Targeting(site, n) {
			st := store.BootActionIncomplete
			if !ba.Signaling {
				st = store.BootActionUnreported
			}
			acts = append(acts, store.BootAction{ID: ulid.Make().String(), Name: ba.Name, Signaling: ba.Signaling, Status: st})
		}
		bc := store.BootActionContext{NodeName: n, Deployment: tk.ID.String() + "/r0", DeployTaskID: tk.ID, TaskID: sub.ID,
			Key: key, DesignRef: tk.DesignRef}
		_, recorded, err := ts.raw.EnsureBootActions(ctx, lease, bc, acts)
		if err != nil {
			t.Fatal(err)
		}
		d := deployed{node: n, key: key, deploy: tk.ID, subtask: sub.ID, actions: map[string]store.BootAction{}}
		for _, a := range recorded {
			d.actions[a.Name] = a
		}
		out[n] = d
	}
	return out
}

// untar reads a tar.gz into path -> (mode, content), checking the fixed header fields.
func untar(t *testing.T, data []byte) map[string]struct {
	mode int64
	body string
} {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	out := map[string]struct {
		mode int64
		body string
	}{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("bad tar: %v", err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: uid %d gid %d mtime %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = struct {
			mode int64
			body string
		}{h.Mode, string(b)}
	}
}

func withKey(k string) map[string]string { return map[string]string{"X-Bootaction-Key": k} }

func TestBootActionAssets(t *testing.T) {
	ts := newTestServer(t)
	deps := ts.deployWithBootActions(t, "cmp01", "ctl01")
	cmp := deps["cmp01"]
	path := Prefix + "/bootactions/nodes/cmp01/files"
	r := ts.do(t, apiReq{method: http.MethodGet, path: path, header: withKey(cmp.keyHex())})
	if r.Code != http.StatusOK {
		t.Fatalf("files: %d %s", r.Code, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/gzip" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="cmp01-file.tar.gz"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	files := untar(t, r.Raw)
	motd, ok := files["/etc/motd"]
	if !ok || motd.mode != 0o644 || !strings.Contains(motd.body, "Deployed by Drydock-Go") {
		t.Errorf("/etc/motd: %+v (archive %v)", motd, files)
	}
	if _, ok := files["/etc/sysctl.d/90-compute.conf"]; !ok {
		t.Errorf("the compute node lacks compute-tuning's file: %v", files)
	}
	// Reproducible: the same request gives the same bytes.
	again := ts.do(t, apiReq{method: http.MethodGet, path: path, header: withKey(cmp.keyHex())})
	if !bytes.Equal(again.Raw, r.Raw) {
		t.Error("two downloads of the same assets differ")
	}
	// The control node is not targeted by compute-tuning.
	ctl := untar(t, ts.do(t, apiReq{method: http.MethodGet, path: Prefix + "/bootactions/nodes/ctl01/files", header: withKey(deps["ctl01"].keyHex())}).Raw)
	if _, ok := ctl["/etc/sysctl.d/90-compute.conf"]; ok || len(ctl) != 1 {
		t.Errorf("ctl01 files: %v", ctl)
	}
	// No units in the example: a valid empty archive.
	u := ts.do(t, apiReq{method: http.MethodGet, path: Prefix + "/bootactions/nodes/cmp01/units", header: withKey(cmp.keyHex())})
	if u.Code != http.StatusOK || len(untar(t, u.Raw)) != 0 {
		t.Errorf("units: %d %d members", u.Code, len(untar(t, u.Raw)))
	}
}

func TestBootActionAssetsRefused(t *testing.T) {
	ts := newTestServer(t)
	deps := ts.deployWithBootActions(t, "cmp01", "cmp02")
	good := deps["cmp01"].keyHex()
	files := Prefix + "/bootactions/nodes/cmp01/files"
	for _, c := range []struct {
		name   string
		method string
		path   string
		key    string
		want   int
	}{
		{"no key", "GET", files, "", http.StatusUnauthorized},
		{"wrong key", "GET", files, strings.Repeat("ab", 32), http.StatusForbidden},
		{"not hex", "GET", files, "not-hex-at-all", http.StatusForbidden},
		{"short key", "GET", files, good[:10], http.StatusForbidden},
		{"another node's key", "GET", files, deps["cmp02"].keyHex(), http.StatusForbidden},
		{"node without context", "GET", Prefix + "/bootactions/nodes/cmp03/files", good, http.StatusNotFound},
		{"bad hostname", "GET", Prefix + "/bootactions/nodes/a$b/files", good, http.StatusBadRequest},
		{"query parameter", "GET", files + "?x=1", good, http.StatusBadRequest},
		{"wrong method", "POST", files, good, http.StatusMethodNotAllowed},
		{"unknown asset type", "GET", Prefix + "/bootactions/nodes/cmp01/pkgs", good, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.key != "" {
				h["X-Bootaction-Key"] = c.key
			}
			r := ts.do(t, apiReq{method: c.method, path: c.path, header: h})
			if r.Code != c.want {
				t.Fatalf("%d, want %d: %s", r.Code, c.want, r.Raw)
			}
			st := r.obj(t)
			if st["kind"] != "Status" || int(st["code"].(float64)) != c.want {
				t.Errorf("not a Status body: %s", r.Raw)
			}
			if c.want == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") != "Bootaction-Key" {
				t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// messagesOf returns the messages of a task with the bootaction context type.
func (ts *testServer) bootActionMessages(t *testing.T, id uuid.UUID) []task.Message {
	t.Helper()
	tk, err := ts.raw.GetTask(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []task.Message
	for _, m := range tk.Result.Messages {
		if m.ContextType == task.ContextBootAction {
			out = append(out, m)
		}
	}
	return out
}

func TestBootActionReport(t *testing.T) {
	ts := newTestServer(t)
	deps := ts.deployWithBootActions(t, "cmp01", "cmp02")
	d := deps["cmp01"]
	motd := d.actions["motd"]
	path := Prefix + "/bootactions/" + motd.ID
	post := func(path, key, body string) *apiResp {
		return ts.do(t, apiReq{method: http.MethodPost, path: path, body: body, hasBody: true, header: withKey(key)})
	}
	// A progress message: the action stays incomplete; the message lands on deploy_node.
	r := post(path, d.keyHex(), `{"details": [{"message": "starting", "error": false, "step": 1}]}`)
	if r.Code != http.StatusOK {
		t.Fatalf("message: %d %s", r.Code, r.Raw)
	}
	b := r.obj(t)
	if b["action_status"] != "incomplete" || b["node_name"] != "cmp01" || b["action_name"] != "motd" ||
		b["action_id"] != motd.ID || b["task_id"] != d.subtask.String() {
		t.Errorf("answer: %s", r.Raw)
	}
	msgs := ts.bootActionMessages(t, d.subtask)
	if len(msgs) != 1 || msgs[0].Message != "starting" || msgs[0].Context != motd.ID || msgs[0].Error || msgs[0].Extra["step"] != float64(1) {
		t.Fatalf("messages: %+v", msgs)
	}
	// A final status, with a trailing and a doubled slash (drydock-baclient's original URL form).
	r = post(Prefix+"/bootactions//"+motd.ID+"/", d.keyHex(), `{"status": "Failure", "details": [{"message": "exit 3", "error": true}]}`)
	if r.Code != http.StatusOK || r.obj(t)["action_status"] != "failure" {
		t.Fatalf("final: %d %s", r.Code, r.Raw)
	}
	// Replays are refused and write nothing.
	before := len(ts.bootActionMessages(t, d.subtask))
	for _, body := range []string{`{"status": "success"}`, `{"details": [{"message": "late", "error": false}]}`} {
		if r := post(path, d.keyHex(), body); r.Code != http.StatusConflict {
			t.Errorf("replay %s: %d %s", body, r.Code, r.Raw)
		}
	}
	if after := len(ts.bootActionMessages(t, d.subtask)); after != before {
		t.Errorf("a refused report wrote messages: %d -> %d", before, after)
	}
	// An action that does not signal takes no report.
	if tun, ok := d.actions["compute-tuning"]; !ok || tun.Status != store.BootActionUnreported {
		t.Fatalf("compute-tuning: %+v", d.actions)
	} else if r := post(Prefix+"/bootactions/"+tun.ID, d.keyHex(), `{"status": "success"}`); r.Code != http.StatusConflict {
		t.Errorf("unreported action: %d %s", r.Code, r.Raw)
	}
	// Another node's key on this node's action.
	other := deps["cmp02"]
	if r := post(Prefix+"/bootactions/"+other.actions["motd"].ID, d.keyHex(), `{"status": "success"}`); r.Code != http.StatusForbidden {
		t.Errorf("other node's action with my key: %d %s", r.Code, r.Raw)
	}
	if got := ts.bootActionMessages(t, other.subtask); len(got) != before {
		t.Errorf("a refused report wrote messages")
	}
}

func TestBootActionReportRefused(t *testing.T) {
	ts := newTestServer(t)
	d := ts.deployWithBootActions(t, "cmp01")["cmp01"]
	id := d.actions["motd"].ID
	path := Prefix + "/bootactions/" + id
	for _, c := range []struct {
		name, path, key, body, ctype string
		want                         int
	}{
		{"unknown action", Prefix + "/bootactions/" + ulid.Make().String(), d.keyHex(), `{"status":"success"}`, "", http.StatusNotFound},
		{"not an id", Prefix + "/bootactions/nonsense", d.keyHex(), `{"status":"success"}`, "", http.StatusNotFound},
		{"no key", path, "", `{"status":"success"}`, "", http.StatusUnauthorized},
		{"wrong key", path, strings.Repeat("0", 64), `{"status":"success"}`, "", http.StatusForbidden},
		{"non-hex key", path, "zz", `{"status":"success"}`, "", http.StatusForbidden},
		{"empty body", path, d.keyHex(), ``, "", http.StatusBadRequest},
		{"not JSON", path, d.keyHex(), `status=success`, "", http.StatusBadRequest},
		{"wrong content type", path, d.keyHex(), `{"status":"success"}`, "text/plain", http.StatusUnsupportedMediaType},
		{"nothing to report", path, d.keyHex(), `{}`, "", http.StatusBadRequest},
		{"unknown field", path, d.keyHex(), `{"status":"success","extra":1}`, "", http.StatusBadRequest},
		{"unknown status", path, d.keyHex(), `{"status":"done"}`, "", http.StatusBadRequest},
		{"status not a string", path, d.keyHex(), `{"status":true}`, "", http.StatusBadRequest},
		{"details not a list", path, d.keyHex(), `{"details":{"message":"x","error":false}}`, "", http.StatusBadRequest},
		{"detail without message", path, d.keyHex(), `{"details":[{"error":false}]}`, "", http.StatusBadRequest},
		{"detail without error", path, d.keyHex(), `{"details":[{"message":"x"}]}`, "", http.StatusBadRequest},
		{"error not a boolean", path, d.keyHex(), `{"details":[{"message":"x","error":"no"}]}`, "", http.StatusBadRequest},
		{"reserved key", path, d.keyHex(), `{"details":[{"message":"x","error":false,"ts":"now"}]}`, "", http.StatusBadRequest},
		{"detail key twice", path, d.keyHex(), `{"details":[{"message":"x","error":false,"error":true}]}`, "", http.StatusBadRequest},
		{"detail key case", path, d.keyHex(), `{"details":[{"Message":"x","message":"y","error":false}]}`, "", http.StatusBadRequest},
		{"second detail bad", path, d.keyHex(), `{"status":"success","details":[{"message":"ok","error":false},{"message":1,"error":false}]}`, "", http.StatusBadRequest},
		{"duplicate field", path, d.keyHex(), `{"status":"success","status":"failure"}`, "", http.StatusBadRequest},
		{"query parameter", path + "?x=1", d.keyHex(), `{"status":"success"}`, "", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.key != "" {
				h["X-Bootaction-Key"] = c.key
			}
			if c.ctype != "" {
				h["Content-Type"] = c.ctype
			}
			r := ts.do(t, apiReq{method: http.MethodPost, path: c.path, body: c.body, hasBody: true, header: h})
			if r.Code != c.want {
				t.Fatalf("%d, want %d: %s", r.Code, c.want, r.Raw)
			}
			if r.obj(t)["kind"] != "Status" {
				t.Errorf("not a Status: %s", r.Raw)
			}
		})
	}
	// None of it wrote anything: no message, and the action is still open.
	if msgs := ts.bootActionMessages(t, d.subtask); len(msgs) != 0 {
		t.Errorf("refused reports wrote messages: %+v", msgs)
	}
	act, _, err := ts.raw.GetBootAction(context.Background(), id)
	if err != nil || act.Status != store.BootActionIncomplete {
		t.Errorf("action after refused reports: %+v %v", act, err)
	}
}

func TestBaclientDownload(t *testing.T) {
	ts := newTestServer(t)
	if r := ts.get(t, Prefix+"/bootactions/baclient", ""); r.Code != http.StatusNotFound {
		t.Errorf("not configured: %d %s", r.Code, r.Raw)
	}
	bin := filepath.Join(t.TempDir(), "drydock-baclient")
	want := []byte("\x7fELF pretend binary")
	if err := os.WriteFile(bin, want, 0o755); err != nil {
		t.Fatal(err)
	}
	ts = newTestServer(t, func(o *serverOpts) { o.config.BaclientPath = bin })
	r := ts.get(t, Prefix+"/bootactions/baclient", "")
	if r.Code != http.StatusOK || !bytes.Equal(r.Raw, want) || r.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("download: %d %q %q", r.Code, r.Raw, r.Header.Get("Content-Type"))
	}
	ts = newTestServer(t, func(o *serverOpts) { o.config.BaclientPath = filepath.Join(t.TempDir(), "missing") })
	if r := ts.get(t, Prefix+"/bootactions/baclient", ""); r.Code != http.StatusNotFound || strings.Contains(string(r.Raw), t.TempDir()) {
		t.Errorf("missing file: %d %s", r.Code, r.Raw)
	}
}

func TestPurgeAPI(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	old := task.New(task.ActionNoop, "x", nil, "t", time.Now().Add(-48*time.Hour))
	old.Status = task.StatusComplete
	running := task.New(task.ActionNoop, "x", nil, "t", time.Now().Add(-48*time.Hour))
	running.Status = task.StatusRunning
	recent := task.New(task.ActionNoop, "x", nil, "t", time.Now())
	recent.Status = task.StatusComplete
	for _, tk := range []*task.Task{old, running, recent} {
		if err := ts.raw.CreateTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		query string
		token string
		want  int
	}{
		{"", adminToken, http.StatusBadRequest},
		{"?days=1&older_than=1d", adminToken, http.StatusBadRequest},
		{"?days=0", adminToken, http.StatusBadRequest},
		{"?days=x", adminToken, http.StatusBadRequest},
		{"?older_than=10m", adminToken, http.StatusBadRequest},
		{"?older_than=soon", adminToken, http.StatusBadRequest},
		{"?day=1", adminToken, http.StatusBadRequest},
		{"?days=1", readerToken, http.StatusForbidden},
		{"?days=1", "", http.StatusUnauthorized},
	} {
		if r := ts.do(t, apiReq{method: http.MethodDelete, path: Prefix + "/tasks" + c.query, token: c.token}); r.Code != c.want {
			t.Errorf("DELETE /tasks%s: %d, want %d: %s", c.query, r.Code, c.want, r.Raw)
		}
	}
	if n := ts.taskCount(t); n != 3 {
		t.Fatalf("refused purges deleted tasks: %d left", n)
	}
	r := ts.do(t, apiReq{method: http.MethodDelete, path: Prefix + "/tasks?days=1", token: adminToken})
	if r.Code != http.StatusOK || r.obj(t)["tasks_deleted"] != float64(1) {
		t.Fatalf("purge: %d %s", r.Code, r.Raw)
	}
	if _, err := ts.raw.GetTask(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old finished task is still there: %v", err)
	}
	for _, id := range []uuid.UUID{running.ID, recent.ID} {
		if _, err := ts.raw.GetTask(ctx, id); err != nil {
			t.Errorf("task %s was purged: %v", id, err)
		}
	}
	r = ts.do(t, apiReq{method: http.MethodDelete, path: Prefix + "/tasks?older_than=36h", token: adminToken})
	if r.Code != http.StatusOK || r.obj(t)["tasks_deleted"] != float64(0) {
		t.Errorf("second purge: %d %s", r.Code, r.Raw)
	}
}

// An asset the design cannot render is the design's fault: a 500 that names the boot action,
// the asset and the step (not a generic internal error); an unreachable location is a 502.
func TestBootActionAssetsRenderErrors(t *testing.T) {
	dir := t.TempDir()
	entries, err := os.ReadDir(testutil.ExampleSite(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(testutil.ExampleSite(t), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "50-bootactions.yaml" {
			data = []byte(`---
schema: drydock/BootAction/v1
metadata: {schema: metadata/Document/v1, name: jinja}
data:
  assets:
    - {path: /etc/jinja, type: file, data: "{{ node.hostname }}", data_pipeline: [template]}
    - {path: /etc/gone, type: unit, location: "http://127.0.0.1:1/unit"}
`)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts := newTestServer(t)
	d := ts.deployDesign(t, dir, "cmp01")["cmp01"]
	r := ts.do(t, apiReq{method: http.MethodGet, path: Prefix + "/bootactions/nodes/cmp01/files", header: withKey(d.keyHex())})
	if r.Code != http.StatusInternalServerError || r.obj(t)["reason"] != "RenderFailed" ||
		!strings.Contains(string(r.Raw), `boot action \"jinja\" asset 0 (/etc/jinja)`) {
		t.Errorf("files: %d %s", r.Code, r.Raw)
	}
	r = ts.do(t, apiReq{method: http.MethodGet, path: Prefix + "/bootactions/nodes/cmp01/units", header: withKey(d.keyHex())})
	if r.Code != http.StatusBadGateway || r.obj(t)["retry"] != true {
		t.Errorf("units: %d %s", r.Code, r.Raw)
	}
}
