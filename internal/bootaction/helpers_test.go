package bootaction

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
)

// loadSite reads a design (a file or a directory), insists on a clean ingest and compiles it.
func loadSite(t testing.TB, path string) *design.Site {
	t.Helper()
	srcs, err := (&ref.Resolver{}).Fetch(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ds := make([]design.Source, len(srcs))
	for i, s := range srcs {
		ds[i] = design.Source{Name: s.Name, Data: s.Data}
	}
	in := design.Parse(ds...)
	if !in.OK() {
		for _, m := range in.Messages {
			t.Logf("%s %s: %s", m.Code, m.Level, m.Message)
		}
		t.Fatalf("%s did not ingest cleanly", path)
	}
	return design.Compile(in.Design)
}

// exampleSite is the repository's example site (examples/site).
func exampleSite(t testing.TB) *design.Site {
	t.Helper()
	return loadSite(t, filepath.Join("..", "..", "examples", "site"))
}

// fullSite is the original's sample deckhand_fullsite.yaml (it has an SR-IOV interface).
func fullSite(t testing.TB) *design.Site {
	t.Helper()
	return loadSite(t, filepath.Join("..", "..", "testdata", "drydock-samples", "deckhand_fullsite.yaml"))
}

func mustNode(t testing.TB, s *design.Site, name string) *design.Node {
	t.Helper()
	n := s.Node(name)
	if n == nil {
		t.Fatalf("no node %s", name)
	}
	return n
}

// testInfo is the action context used by most tests.
var testInfo = NodeInfo{KeyHex: "00ff", ReportURL: "http://drydock:9000/api/v1.0/bootactions/", DesignRef: "deckhand+http://dh/revisions/1/rendered-documents"}

// oneAsset wraps assets in a boot action named "test".
func oneAsset(assets ...design.Asset) *design.BootAction {
	return &design.BootAction{Name: "test", Signaling: true, Assets: assets}
}

// wantErr checks that err is non-nil and contains every fragment.
func wantErr(t testing.TB, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

func perm(m uint32) *uint32 { return &m }
