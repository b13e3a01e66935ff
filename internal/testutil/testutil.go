// Package testutil is test support shared by several packages' tests: where the repository is,
// its example site and sample designs, and the example site's compiled nodes. It is imported
// only by tests.
package testutil

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/drydock-go/drydock/internal/design/validate"
)

// root is the module's root directory (this file is internal/testutil/testutil.go).
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ModuleDir is the module's root directory.
func ModuleDir(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs(root())
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// existing returns the path below the module root, failing the test when it does not exist.
func existing(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{ModuleDir(t)}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// ExampleSite is the absolute path of the example design (examples/site, valid).
func ExampleSite(t testing.TB) string {
	t.Helper()
	return existing(t, "examples", "site")
}

// InvalidSample is one of the original Drydock's sample designs (copied under testdata) that
// parses but fails validation.
func InvalidSample(t testing.TB) string {
	t.Helper()
	return existing(t, "testdata", "drydock-samples", "invalid_validation.yaml")
}

// ExampleNodes compiles the example site's nodes (once per test binary).
var ExampleNodes = sync.OnceValues(func() ([]*design.Node, error) {
	srcs, err := (&ref.Resolver{}).Fetch(context.Background(), filepath.Join(root(), "examples", "site"))
	if err != nil {
		return nil, err
	}
	ds := make([]design.Source, len(srcs))
	for i, s := range srcs {
		ds[i] = design.Source{Name: s.Name, Data: s.Data}
	}
	rep := validate.Sources(context.Background(), validate.Options{}, ds...)
	if !rep.Valid() || rep.Site == nil {
		return nil, errors.New("the example site does not validate")
	}
	return rep.Site.Nodes, nil
})
