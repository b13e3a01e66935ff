package simnode

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// fakeAPI is the node-facing boot action API as the nodes see it.
type fakeAPI struct {
	key      string
	mu       sync.Mutex
	gets     []string
	reports  map[string]int // action id -> successful reports
	final    map[string]bool
	failNext atomic.Int32 // answer 503 to this many requests
}

func tgz(names ...string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: 1})
		_, _ = tw.Write([]byte("x"))
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.failNext.Load() > 0 {
		f.failNext.Add(-1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("X-Bootaction-Key") != f.key {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/files"):
		f.gets = append(f.gets, r.URL.Path)
		_, _ = w.Write(tgz("/etc/a", "/etc/b"))
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/units"):
		f.gets = append(f.gets, r.URL.Path)
		_, _ = w.Write(tgz("/etc/systemd/system/u.service"))
	case r.Method == http.MethodPost:
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		var body struct {
			Status  string `json:"status"`
			Details []struct {
				Message string `json:"message"`
			} `json:"details"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Status != "success" || len(body.Details) != 1 ||
			!strings.Contains(body.Details[0].Message, "2 files and 1 units") {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if f.final[id] {
			http.Error(w, "final", http.StatusConflict)
			return
		}
		f.final[id] = true
		f.reports[id]++
		_, _ = w.Write([]byte(`{}`))
	default:
		http.NotFound(w, r)
	}
}

func newAPI(t *testing.T, key string) (*fakeAPI, string) {
	f := &fakeAPI{key: key, reports: map[string]int{}, final: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/api/v1.0/bootactions/"
}

func context1(url string) *driver.BootActions {
	return &driver.BootActions{Key: bytes.Repeat([]byte{0xab}, 32), ReportURL: url, UserData: "#cloud-config\n",
		Actions: []driver.BootActionRef{{ID: "01HZZZZZZZZZZZZZZZZZZZZZZA", Name: "a", Signaling: true},
			{ID: "01HZZZZZZZZZZZZZZZZZZZZZZB", Name: "b", Signaling: false}}}
}

// runUntil runs the agent until cond holds (or fails after 5s).
func runUntil(t *testing.T, a *Agent, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeployedNodeReports(t *testing.T) {
	ba := context1("")
	api, url := newAPI(t, ba.KeyHex())
	ba.ReportURL = url
	dir := t.TempDir()
	var deployed atomic.Bool
	a := &Agent{Dir: dir, Mode: ModeReport, Interval: 5 * time.Millisecond, Deployed: func(string) bool { return deployed.Load() }}
	if err := a.Place("n1", ba); err != nil {
		t.Fatal(err)
	}
	// The key is on the node's disk, readable only by its owner.
	fi, err := os.Stat(filepath.Join(dir, "n1.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("placed file: %v %v", fi, err)
	}
	got, err := Placed(dir, "n1")
	if err != nil || got.KeyHex() != ba.KeyHex() || len(got.Actions) != 2 || got.ReportURL != url {
		t.Fatalf("Placed: %+v %v", got, err)
	}
	// Not deployed yet: nothing happens.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	a.Run(ctx)
	cancel()
	if len(api.gets) != 0 {
		t.Fatalf("a node that is not deployed fetched %v", api.gets)
	}
	deployed.Store(true)
	api.failNext.Store(1) // a transient failure is retried
	runUntil(t, a, func() bool {
		api.mu.Lock()
		defer api.mu.Unlock()
		return api.reports["01HZZZZZZZZZZZZZZZZZZZZZZA"] == 1
	})
	api.mu.Lock()
	if api.reports["01HZZZZZZZZZZZZZZZZZZZZZZB"] != 0 {
		t.Error("an action without signaling was reported")
	}
	api.mu.Unlock()
	// Done once: a new agent (a restarted process) on the same disk does not report again.
	b := &Agent{Dir: dir, Mode: ModeReport, Interval: 5 * time.Millisecond, Deployed: func(string) bool { return true }}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	b.Run(ctx)
	cancel()
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.reports["01HZZZZZZZZZZZZZZZZZZZZZZA"] != 1 {
		t.Errorf("reports: %v", api.reports)
	}
}

func TestRestartedAgentFinishesWhatWasPlaced(t *testing.T) {
	ba := context1("")
	api, url := newAPI(t, ba.KeyHex())
	ba.ReportURL = "http://127.0.0.1:1/api/v1.0/bootactions/" // the old server's address
	dir := t.TempDir()
	old := &Agent{Dir: dir}
	if err := old.Place("n1", ba); err != nil {
		t.Fatal(err)
	}
	// A new process: the node is found on disk and reports to the API that runs now.
	a := &Agent{Dir: dir, Mode: ModeReport, Interval: 5 * time.Millisecond, URL: func() string { return url }}
	runUntil(t, a, func() bool { api.mu.Lock(); defer api.mu.Unlock(); return len(api.reports) == 1 })
	p, err := readPlaced(filepath.Join(dir, "n1.json"))
	if err != nil || !p.Reported {
		t.Errorf("not marked reported: %+v %v", p, err)
	}
}

func TestAlreadyFinalCountsAsReported(t *testing.T) {
	ba := context1("")
	api, url := newAPI(t, ba.KeyHex())
	ba.ReportURL = url
	api.final["01HZZZZZZZZZZZZZZZZZZZZZZA"] = true // another process reported it
	dir := t.TempDir()
	a := &Agent{Dir: dir, Mode: ModeReport, Interval: 5 * time.Millisecond}
	if err := a.Place("n1", ba); err != nil {
		t.Fatal(err)
	}
	runUntil(t, a, func() bool { p, _ := readPlaced(filepath.Join(dir, "n1.json")); return p.Reported })
}

func TestModeNoneNeverReports(t *testing.T) {
	ba := context1("")
	api, url := newAPI(t, ba.KeyHex())
	ba.ReportURL = url
	a := &Agent{Dir: t.TempDir(), Mode: ModeNone, Interval: 5 * time.Millisecond}
	if err := a.Place("n1", ba); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	a.Run(ctx)
	if len(api.gets) != 0 || len(api.reports) != 0 {
		t.Errorf("mode none: %v %v", api.gets, api.reports)
	}
}

// inner is a node driver with the optional interfaces.
type inner struct {
	driver.NodeDriver
	deploys int
}

func (i *inner) Deploy(ctx context.Context, c driver.Call) driver.Result {
	i.deploys++
	return driver.OK("deployed")
}
func (i *inner) Machines(ctx context.Context) ([]driver.Machine, error) {
	return []driver.Machine{{Hostname: "n1"}}, nil
}
func (i *inner) CheckHealth(ctx context.Context) error { return io.ErrUnexpectedEOF }

func TestWrapPlacesAndKeepsInterfaces(t *testing.T) {
	dir := t.TempDir()
	a := &Agent{Dir: dir}
	in := &inner{}
	d := a.Wrap(in)
	n := &design.Node{}
	n.Name = "n1"
	if r := d.Deploy(context.Background(), driver.Call{Node: n, BootActions: context1("http://x/")}); r.Outcome != driver.Done || in.deploys != 1 {
		t.Fatalf("deploy: %+v", r)
	}
	if _, err := Placed(dir, "n1"); err != nil {
		t.Errorf("not placed: %v", err)
	}
	// A node without boot actions gets nothing on its disk.
	n2 := &design.Node{}
	n2.Name = "n2"
	d.Deploy(context.Background(), driver.Call{Node: n2})
	if _, err := Placed(dir, "n2"); err == nil {
		t.Error("a node without boot actions got a context")
	}
	if ms, err := d.(driver.MachineLister).Machines(context.Background()); err != nil || len(ms) != 1 {
		t.Errorf("machines: %v %v", ms, err)
	}
	if err := d.(driver.HealthChecker).CheckHealth(context.Background()); err != io.ErrUnexpectedEOF {
		t.Errorf("health: %v", err)
	}
}

// A context placed by another process while this agent runs is found and reported.
func TestRunningAgentFindsContextsOfOtherProcesses(t *testing.T) {
	ba := context1("")
	api, url := newAPI(t, ba.KeyHex())
	ba.ReportURL = url
	dir := t.TempDir()
	a := &Agent{Dir: dir, Mode: ModeReport, Interval: 5 * time.Millisecond}
	other := &Agent{Dir: dir}
	placed := make(chan struct{})
	go func() {
		time.Sleep(50 * time.Millisecond) // after a's first scan
		if err := other.Place("n9", ba); err != nil {
			t.Error(err)
		}
		close(placed)
	}()
	runUntil(t, a, func() bool { api.mu.Lock(); defer api.mu.Unlock(); return len(api.reports) == 1 })
	<-placed
}
