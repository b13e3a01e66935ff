package validate_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/sitegen"
	"github.com/drydock-go/drydock/internal/design/validate"
)

// Generated sites (modelled on a large Airship site, with racks that have no Rack document)
// validate with zero errors at any size. This is not a timing test: the benchmark below
// measures the rules.
func TestGeneratedSitesAreValid(t *testing.T) {
	for _, n := range []int{200, 2000} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			if n > 200 && testing.Short() {
				t.Skip("short mode")
			}
			data := sitegen.Bytes(sitegen.Options{Nodes: n})
			rep := validate.Sources(context.Background(), validate.Options{}, design.Source{Name: "sitegen.yaml", Data: data})
			if rep.Site == nil {
				t.Fatalf("could not read the generated site:\n%s", dump(rep.Messages))
			}
			assertClean(t, rep)
			if got := len(rep.Site.Nodes); got != n {
				t.Errorf("%d nodes compiled, want %d", got, n)
			}
			// Every rule ran and reported success.
			for _, r := range validate.Rules() {
				wantSuccess(t, rep, r.Slug)
			}
		})
	}
}

// BenchmarkValidate10k measures the rules alone on a 10,000-node site: reading and compiling
// happen once, outside the timer.
func BenchmarkValidate10k(b *testing.B) {
	data := sitegen.Bytes(sitegen.Options{Nodes: 10000})
	in := design.Parse(design.Source{Name: "sitegen.yaml", Data: data})
	if !in.OK() {
		b.Fatalf("could not read the generated site:\n%s", dump(in.Messages))
	}
	site := design.Compile(in.Design)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		msgs := validate.Run(ctx, site, validate.Options{})
		if design.ErrorCount(msgs) != 0 {
			b.Fatalf("errors:\n%s", dump(msgs))
		}
	}
}
