package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ddesign "github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/sitegen"
)

func TestPattern(t *testing.T) {
	for in, want := range map[string]string{
		"/MAAS/api/2.0/machines/":                                "machines/",
		"/MAAS/api/2.0/machines/4y3h7n/":                         "machines/{id}/",
		"/MAAS/api/2.0/machines/123456/":                         "machines/{id}/",
		"/MAAS/api/2.0/nodes/4y3h7n/blockdevices/12/partition/7": "nodes/{id}/blockdevices/{n}/partition/{n}",
		"/MAAS/api/2.0/tags/node00001_kp/":                       "tags/{name}/",
		"/MAAS/api/2.0/fabrics/2/vlans/100/":                     "fabrics/{n}/vlans/{n}/",
	} {
		if got := pattern(in); got != want {
			t.Errorf("pattern(%s) = %s, want %s", in, got, want)
		}
	}
}

// writeDesign writes the benchmark's design of n nodes and returns its path.
func writeDesign(t *testing.T, n int) string {
	t.Helper()
	data, err := separateNICs(sitegen.Bytes(sitegen.Options{Nodes: n}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSeparateNICs: the design still validates and no NIC is in two interfaces.
func TestSeparateNICs(t *testing.T) {
	path := writeDesign(t, 50)
	data, _ := os.ReadFile(path)
	in := ddesign.Parse(ddesign.Source{Name: path, Data: data})
	if !in.OK() {
		t.Fatalf("the design does not ingest: %s", in.Messages[0].Message)
	}
	for _, n := range ddesign.Compile(in.Design).Nodes {
		seen := map[string]string{}
		for _, ifc := range n.Interfaces {
			for _, s := range ifc.Slaves {
				if other, ok := seen[s]; ok {
					t.Fatalf("%s: NIC %s in %s and %s", n.Name, s, other, ifc.Name)
				}
				seen[s] = ifc.Name
			}
		}
	}
}

// TestSmallRun runs a few nodes through the emulator and the Drydock side in-process (what
// the two children do) and checks the figures the report is made of.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the orchestrator against the emulator")
	}
	const n = 4
	design := writeDesign(t, n)
	e, err := startEmulator(emuSpec{Design: design, Commissioning: 50 * time.Millisecond, Testing: 10 * time.Millisecond,
		Deploying: 50 * time.Millisecond, BMCLatency: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runDrydock(drySpec{Nodes: n, Backend: "sqlite", Dir: t.TempDir(), Design: design, URL: e.ready.URL,
		Key: e.ready.Key, Poll: 20 * time.Millisecond, MaxConcurrent: 8, Timeout: 2 * time.Minute})
	st := e.stop()
	if err != nil {
		t.Fatal(err)
	}
	if st.Statuses["Deployed"] != n || st.Machines != n {
		t.Errorf("emulator: %d machines, statuses %v", st.Machines, st.Statuses)
	}
	if len(res.Phases) != len(phases) {
		t.Fatalf("%d phases", len(res.Phases))
	}
	all := 0
	for _, p := range res.Phases {
		all += sum(p.Requests)
		if p.Unlabelled != 0 {
			t.Errorf("%s: %d requests outside driver calls", p.Action, p.Unlabelled)
		}
	}
	if all != st.Counted || int64(all) != res.Requests || st.Requests != st.Counted {
		t.Errorf("requests: meter %d, driver %d, emulator %d (counted %d)", all, res.Requests, st.Requests, st.Counted)
	}
	if res.Reports == 0 {
		t.Error("no boot action reports")
	}
	methods := map[string]bool{}
	for _, s := range res.Steps {
		methods[s.Method] = true
	}
	for _, m := range []string{"IdentifyNode", "ConfigureHardware", "ApplyNetworking", "ApplyStorage", "ApplyPlatform", "Deploy"} {
		if !methods[m] {
			t.Errorf("no %s calls counted (methods: %v)", m, methods)
		}
	}
	if !strings.Contains(e.ready.Racks, "pxe") {
		t.Errorf("rack interfaces %q: none on the pxe network", e.ready.Racks)
	}
}
