package sitegen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestGenerateValid(t *testing.T) {
	cases := []Options{
		{Nodes: 0},
		{Nodes: 1},
		{Nodes: 7, NodesPerRack: 2},
		{Nodes: 100},
		{Nodes: 2000},
		{Nodes: 2345, NodesPerRack: 16},
	}
	if !testing.Short() {
		cases = append(cases, Options{Nodes: 10000})
	}
	for _, o := range cases {
		t.Run(fmt.Sprintf("%d_%d", o.Nodes, o.NodesPerRack), func(t *testing.T) {
			checkSite(t, o, Bytes(o))
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, o := range []Options{{Nodes: 1}, {Nodes: 1234}, {Nodes: 1234, NodesPerRack: 20}} {
		a := Bytes(o)
		b := Bytes(o)
		var c bytes.Buffer
		if err := Generate(&c, o); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) || !bytes.Equal(a, c.Bytes()) {
			t.Fatalf("%+v: output differs between runs", o)
		}
	}
	if bytes.Equal(Bytes(Options{Nodes: 1234}), Bytes(Options{Nodes: 1234, NodesPerRack: 20})) {
		t.Fatalf("NodesPerRack has no effect")
	}
}

func TestLargeSite(t *testing.T) {
	if testing.Short() {
		t.Skip("large site")
	}
	const n = 50000
	b := Bytes(Options{Nodes: n})
	if got := bytes.Count(b, []byte("schema: drydock/BaremetalNode/v1\n")); got != n {
		t.Fatalf("want %d nodes, got %d", n, got)
	}
	if !bytes.Contains(b, []byte("  name: node50000\n")) || bytes.Contains(b, []byte("  name: node50001\n")) {
		t.Fatalf("node names wrong at the end")
	}
	// Every static address is unique (a quick scan; TestGenerateValid checks
	// the rest on smaller sites with the same layout).
	seen := make(map[string]struct{}, 5*n)
	for _, line := range bytes.Split(b, []byte("\n")) {
		if a, ok := bytes.CutPrefix(line, []byte("      address: ")); ok && string(a) != "dhcp" {
			if _, dup := seen[string(a)]; dup {
				t.Fatalf("duplicate address %s", a)
			}
			seen[string(a)] = struct{}{}
		}
	}
	if len(seen) < 4*n {
		t.Fatalf("only %d static addresses", len(seen))
	}
}

func TestPlanSizing(t *testing.T) {
	cases := []struct{ nodes, prefix int }{
		{0, 14}, {50000, 14}, {245520, 14}, {245521, 13}, {491280, 13}, {491281, 12}, {MaxNodes, 11},
	}
	for _, c := range cases {
		p, err := newPlan(Options{Nodes: c.nodes, NodesPerRack: 1})
		if err != nil {
			t.Fatal(err)
		}
		if p.prefix() != c.prefix {
			t.Errorf("%d nodes: prefix /%d, want /%d", c.nodes, p.prefix(), c.prefix)
		}
		if c.nodes == 0 {
			continue
		}
		for k := 0; k < numNets; k++ {
			if a := p.hostAddr(k, c.nodes-1); a > p.blockLast(k)-1 || a&0xff == 0xff || a&0xff == 0 {
				t.Errorf("%d nodes: last host of block %d is %x, block ends %x", c.nodes, k, a, p.blockLast(k))
			}
		}
		// Two switches per rack, one node per rack: the switch block must
		// stay inside 10.0.0.0/8.
		if a := p.switchAddr(p.racks, 1); a>>24 != 10 || a < p.blockBase(blockSwitches) {
			t.Errorf("%d racks: switch address %x outside the switch blocks", p.racks, a)
		}
	}
}

// Bytes allocates its buffer once: the size hint must bound the output.
func TestSizeHint(t *testing.T) {
	cases := []Options{{}, {Nodes: 1}, {Nodes: 999, NodesPerRack: 1}, {Nodes: 5000}, {Nodes: 5000, NodesPerRack: 3}}
	if !testing.Short() {
		cases = append(cases, Options{Nodes: 100000}, Options{Nodes: 100000, NodesPerRack: 1})
	}
	for _, o := range cases {
		p, err := newPlan(o)
		if err != nil {
			t.Fatal(err)
		}
		b := Bytes(o)
		if len(b) > p.sizeHint() || cap(b) != p.sizeHint() {
			t.Errorf("%+v: %d bytes, cap %d, hint %d", o, len(b), cap(b), p.sizeHint())
		}
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []Options{{Nodes: -1}, {Nodes: 1, NodesPerRack: -1}, {Nodes: MaxNodes + 1}} {
		var b bytes.Buffer
		if err := Generate(&b, o); err == nil || b.Len() != 0 {
			t.Errorf("%+v: want error and no output, got %v and %d bytes", o, err, b.Len())
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Bytes did not panic on invalid options")
		}
	}()
	Bytes(Options{Nodes: -1})
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	if err := Generate(&failWriter{n: 1 << 20}, Options{Nodes: 20000}); err == nil || err.Error() != "disk full" {
		t.Fatalf("want the writer's error, got %v", err)
	}
}

func BenchmarkGenerate10k(b *testing.B) {
	o := Options{Nodes: 10000}
	var cw countWriter
	if err := Generate(&cw, o); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(cw))
	b.ReportAllocs()
	for b.Loop() {
		if err := Generate(io.Discard, o); err != nil {
			b.Fatal(err)
		}
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
