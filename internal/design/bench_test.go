package design

import (
	"testing"

	"github.com/drydock-go/drydock/internal/design/sitegen"
)

// BenchmarkParseCompile1k reads and compiles a generated site of 1,000 nodes.
func BenchmarkParseCompile1k(b *testing.B) {
	data := sitegen.Bytes(sitegen.Options{Nodes: 1000})
	in := Parse(Source{Name: "site.yaml", Data: data})
	if !in.OK() || len(in.Design.Nodes) != 1000 {
		b.Fatalf("generated site: ok %v, %d nodes, %d messages", in.OK(), len(in.Design.Nodes), len(in.Messages))
	}
	if s := Compile(in.Design); len(s.Nodes) != 1000 {
		b.Fatalf("compiled %d nodes", len(s.Nodes))
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		in := Parse(Source{Name: "site.yaml", Data: data})
		Compile(in.Design)
	}
}

// BenchmarkCompileDeepChain compiles a node at the end of a chain of 1,000 host profiles, each
// adding a tag and a kernel parameter: merging must not be worse than quadratic in the depth.
func BenchmarkCompileDeepChain(b *testing.B) {
	d := mustParse(b, deepChain(1000))
	b.ReportAllocs()
	for b.Loop() {
		Compile(d)
	}
}
