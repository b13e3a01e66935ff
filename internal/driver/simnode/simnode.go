// Package simnode plays the operating system of the simulated site's machines after they are
// deployed: what a real node does with its boot actions. The node driver hands each node its
// boot action context at deployment (driver.Call.BootActions); Wrap places it on the node's
// simulated disk, a file in the agent's directory (as MAAS would place the key in a tag and
// cloud-init would write it). Once the simulated machine is Deployed, Run "boots" it: it
// downloads the node's files and units from the boot action API with the node's key, checks
// that they are valid tar.gz archives, and reports success for every signaling action, over
// HTTP, exactly as drydock-baclient on a real node would.
//
// Because the context is on disk, a node deployed before the process stopped still reports
// when an agent runs again (a real machine does not wait for Drydock to come back either).
// Several processes may run agents on the same directory (each reads it every few seconds for
// contexts the others placed): a second report on a finished action is answered 409 and
// treated as done.
//
// Tests that want to play the node themselves (with the real drydock-baclient) use an agent
// in ModeNone and read the placed context with Placed.
package simnode

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
)

// Modes of an agent.
const (
	// ModeReport: deployed nodes fetch their assets and report success (the default).
	ModeReport = "report"
	// ModeNone: nodes never report; deploy_nodes waits for reports made by someone else.
	ModeNone = "none"
)

// Agent is the simulated nodes' boot action client.
type Agent struct {
	// Dir holds one file per node with its placed context (created 0700; files 0600: the key
	// is a credential).
	Dir string
	// Mode is ModeReport or ModeNone.
	Mode string
	// Deployed reports whether the node's machine is deployed (its OS booted).
	Deployed func(node string) bool
	// HTTP is the client for the boot action API (default: 30s timeout).
	HTTP *http.Client
	// Interval is how often Run looks for nodes to boot (default 200ms).
	Interval time.Duration
	// URL, when set and not empty, is used instead of the report URL placed on the node: the
	// simulated network routes the nodes to the API that runs now (a restarted test server
	// may listen on another port than the one the node was given).
	URL func() string
	Log *slog.Logger

	mu      sync.Mutex
	pending map[string]bool   // nodes with a placed context not yet reported by this agent
	done    map[string]string // node -> key of the context this agent reported
}

// placed is a node's simulated disk record.
type placed struct {
	Node      string                 `json:"node"`
	Key       string                 `json:"key"` // hex
	ReportURL string                 `json:"report_url"`
	Actions   []driver.BootActionRef `json:"actions"`
	UserData  string                 `json:"user_data,omitempty"`
	Reported  bool                   `json:"reported"`
}

func (a *Agent) path(node string) string { return filepath.Join(a.Dir, node+".json") }

// Place records a node's boot action context on its simulated disk, replacing an earlier one.
func (a *Agent) Place(node string, ba *driver.BootActions) error {
	p := placed{Node: node, Key: ba.KeyHex(), ReportURL: ba.ReportURL, Actions: ba.Actions, UserData: ba.UserData}
	if old, err := readPlaced(a.path(node)); err == nil && old.Key == p.Key {
		return nil // the same deployment: already placed (and maybe reported)
	}
	if err := a.write(p); err != nil {
		return err
	}
	a.mu.Lock()
	if a.pending == nil {
		a.pending = map[string]bool{}
	}
	a.pending[node] = true
	a.mu.Unlock()
	return nil
}

func (a *Agent) write(p placed) error {
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return fmt.Errorf("simulated node disk: %w", err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(a.Dir, "."+p.Node+"-*")
	if err != nil {
		return fmt.Errorf("simulated disk of %s: %w", p.Node, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("simulated disk of %s: %w", p.Node, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("simulated disk of %s: %w", p.Node, err)
	}
	return os.Rename(tmp.Name(), a.path(p.Node))
}

func readPlaced(path string) (placed, error) {
	var p placed
	data, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Placed returns the boot action context placed on a node's simulated disk in dir.
func Placed(dir, node string) (*driver.BootActions, error) {
	p, err := readPlaced(filepath.Join(dir, node+".json"))
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(p.Key)
	if err != nil {
		return nil, fmt.Errorf("simulated disk of %s: bad key: %w", node, err)
	}
	return &driver.BootActions{Key: key, ReportURL: p.ReportURL, Actions: p.Actions, UserData: p.UserData}, nil
}

// Wrap returns a node driver that places each deployed node's boot action context before
// deploying it through d. Optional interfaces of d (machine listing, health) are kept.
func (a *Agent) Wrap(d driver.NodeDriver) driver.NodeDriver { return &wrapped{NodeDriver: d, a: a} }

type wrapped struct {
	driver.NodeDriver
	a *Agent
}

func (w *wrapped) Deploy(ctx context.Context, c driver.Call) driver.Result {
	if c.BootActions != nil && c.Node != nil {
		if err := w.a.Place(c.Node.Name, c.BootActions); err != nil {
			return driver.Fail("placing the boot action context on %s: %v", c.Node.Name, err)
		}
	}
	return w.NodeDriver.Deploy(ctx, c)
}

func (w *wrapped) Machines(ctx context.Context) ([]driver.Machine, error) {
	if ml, ok := w.NodeDriver.(driver.MachineLister); ok {
		return ml.Machines(ctx)
	}
	return nil, errors.New("the node driver cannot list machines")
}

func (w *wrapped) CheckHealth(ctx context.Context) error {
	if hc, ok := w.NodeDriver.(driver.HealthChecker); ok {
		return hc.CheckHealth(ctx)
	}
	return nil
}

// Run boots deployed nodes that have a placed context and have not reported yet, until ctx
// ends. In ModeNone it returns at once.
func (a *Agent) Run(ctx context.Context) {
	if a.Mode == ModeNone {
		return
	}
	every := a.Interval
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	failures := map[string]int{}
	next := map[string]time.Time{}
	var scanned time.Time
	for {
		// Contexts placed by other processes (a restarted or a second drydock on the same data
		// directory) are found by reading the directory now and then.
		if time.Since(scanned) >= scanEvery {
			a.scan()
			scanned = time.Now()
		}
		for _, node := range a.due() {
			if time.Now().Before(next[node]) || (a.Deployed != nil && !a.Deployed(node)) {
				continue
			}
			if err := a.boot(ctx, node); err != nil {
				if ctx.Err() != nil {
					return
				}
				failures[node]++
				wait := min(time.Duration(failures[node])*time.Second, 30*time.Second)
				next[node] = time.Now().Add(wait)
				a.logger().Warn("simulated node could not run its boot actions; will try again", "node", node, "err", err, "in", wait)
				continue
			}
			delete(failures, node)
			delete(next, node)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (a *Agent) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// scanEvery is how often Run reads the directory for contexts it did not place itself.
const scanEvery = 2 * time.Second

// scan finds the nodes whose placed context has not been reported.
func (a *Agent) scan() {
	entries, err := os.ReadDir(a.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		a.mu.Lock()
		known := a.pending[name]
		a.mu.Unlock()
		if known {
			continue
		}
		p, err := readPlaced(filepath.Join(a.Dir, e.Name()))
		if err != nil || p.Reported {
			continue
		}
		a.mu.Lock()
		if a.done[name] != p.Key {
			if a.pending == nil {
				a.pending = map[string]bool{}
			}
			a.pending[name] = true
		}
		a.mu.Unlock()
	}
}

func (a *Agent) due() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.pending))
	for n := range a.pending {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// boot runs a node's boot actions: fetch the assets, report each signaling action.
func (a *Agent) boot(ctx context.Context, node string) error {
	p, err := readPlaced(a.path(node))
	if err != nil {
		return err
	}
	if !p.Reported {
		base := p.ReportURL
		if a.URL != nil {
			if u := a.URL(); u != "" {
				base = u
			}
		}
		base = strings.TrimRight(base, "/")
		counts := map[string]int{}
		for _, kind := range []string{"files", "units"} {
			n, err := a.fetch(ctx, base+"/nodes/"+node+"/"+kind, p.Key)
			if err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
			counts[kind] = n
		}
		for _, act := range p.Actions {
			if !act.Signaling {
				continue
			}
			msg := fmt.Sprintf("Simulated node %s installed %d files and %d units.", node, counts["files"], counts["units"])
			if err := a.report(ctx, base+"/"+act.ID, p.Key, msg); err != nil {
				return fmt.Errorf("report %s: %w", act.Name, err)
			}
		}
		p.Reported = true
		if err := a.write(p); err != nil {
			return err
		}
	}
	a.mu.Lock()
	delete(a.pending, node)
	if a.done == nil {
		a.done = map[string]string{}
	}
	a.done[node] = p.Key
	a.mu.Unlock()
	return nil
}

func (a *Agent) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// fetch downloads one archive and returns how many members it has.
func (a *Agent) fetch(ctx context.Context, url, key string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Bootaction-Key", key)
	resp, err := a.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("GET %s: not a gzip archive: %w", url, err)
	}
	tr := tar.NewReader(zr)
	n := 0
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("GET %s: bad tar archive: %w", url, err)
		}
		n++
	}
}

// report posts a final success for one action; an action already final counts as reported.
func (a *Agent) report(ctx context.Context, url, key, msg string) error {
	body, _ := json.Marshal(map[string]any{"status": "success", "details": []map[string]any{{"message": msg, "error": false}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Bootaction-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK, http.StatusConflict:
		return nil
	}
	return fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(rb)))
}
