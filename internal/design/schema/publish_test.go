package schema

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/schemas from the embedded schema files")

const publishedDir = "../../../docs/schemas"

// TestPublishedSchemasUpToDate checks that docs/schemas holds byte-identical
// copies of the embedded schemas. Run
//
//	go test ./internal/design/schema -update
//
// to regenerate them.
func TestPublishedSchemasUpToDate(t *testing.T) {
	want := map[string]bool{}
	for _, k := range Kinds() {
		name := fileName(k)
		want[name] = true
		src, ok := Source(k)
		if !ok {
			t.Fatalf("no source for %s", k)
		}
		path := filepath.Join(publishedDir, name)
		if *update {
			if err := os.WriteFile(path, src, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run: go test ./internal/design/schema -update)", path, err)
			continue
		}
		if !bytes.Equal(got, src) {
			t.Errorf("%s differs from the embedded schema (run: go test ./internal/design/schema -update)", path)
		}
	}
	// Catch published files for kinds that no longer have a schema.
	entries, err := os.ReadDir(publishedDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") && !want[e.Name()] {
			t.Errorf("%s: published schema without an embedded source; remove it", filepath.Join(publishedDir, e.Name()))
		}
	}
}
