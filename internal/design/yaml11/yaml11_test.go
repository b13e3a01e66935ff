package yaml11

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func mustOne(t *testing.T, src string) any {
	t.Helper()
	docs, err := ParseStream([]byte(src))
	if err != nil {
		t.Fatalf("ParseStream: %v", err)
	}
	if len(docs) != 1 {
		t.Fatalf("got %d documents, want 1", len(docs))
	}
	v, err := Value(docs[0].Root)
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	return v
}

func TestScalarsFollowYAML11(t *testing.T) {
	cases := []struct {
		src  string
		want any
	}{
		{"yes", true}, {"No", false}, {"ON", true}, {"off", false}, {"True", true}, {"FALSE", false},
		{"y", "y"}, {"n", "n"}, {"'yes'", "yes"}, {`"on"`, "on"},
		{"0xffff", int64(65535)}, {"0755", int64(493)}, {"0b101", int64(5)}, {"1_000", int64(1000)},
		{"1:20", int64(80)}, {"-1:20", int64(-80)}, {"+12", int64(12)}, {"0", int64(0)},
		{"1.5", 1.5}, {"1e5", "1e5"}, {"1.0e+5", 100000.0}, {".5", 0.5}, {"1:30.5", 90.5},
		{"~", nil}, {"null", nil}, {"Null", nil}, {"", nil},
		{"802.3ad", "802.3ad"}, {"100full", "100full"}, {"layer3+4", "layer3+4"}, {"10g", "10g"},
		{"172.16.1.20", "172.16.1.20"}, {"2017-02-17", "2017-02-17"},
		{"!!str 10", "10"}, {"!!int '12'", int64(12)}, {"!!bool yes", true}, {"!!float 3", 3.0},
		{"|\n  text\n", "text\n"},
	}
	for _, c := range cases {
		got := mustOne(t, "v: "+c.src+"\n").(map[string]any)["v"]
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %#v, want %#v", c.src, got, c.want)
		}
	}
}

func TestSpecialFloats(t *testing.T) {
	m := mustOne(t, "a: .inf\nb: -.Inf\nc: .NaN\n").(map[string]any)
	if !math.IsInf(m["a"].(float64), 1) || !math.IsInf(m["b"].(float64), -1) || !math.IsNaN(m["c"].(float64)) {
		t.Fatalf("got %#v", m)
	}
}

func TestDuplicateKeysLastWins(t *testing.T) {
	docs, err := ParseStream([]byte("address: 1.1.1.1\nname: x\naddress: 2.2.2.2\n"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Pairs(docs[0].Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Key != "address" || ps[0].Value.Value != "2.2.2.2" || ps[0].Duplicate != 1 {
		t.Fatalf("pairs: %+v", ps)
	}
	if ps[0].KeyNode.Line != 1 {
		t.Fatalf("first occurrence keeps its position, got line %d", ps[0].KeyNode.Line)
	}
}

func TestNonStringKeysAreErrors(t *testing.T) {
	for _, src := range []string{"off: 1\n", "0xffff: null\n", "12: x\n", "? [a]\n: b\n"} {
		docs, err := ParseStream([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		_, err = Value(docs[0].Root)
		var e *Error
		if !errors.As(err, &e) || e.Line != 1 {
			t.Errorf("%q: want positioned error, got %v", src, err)
		}
	}
	docs, _ := ParseStream([]byte("off: 1\n"))
	_, err := Value(docs[0].Root)
	if !strings.Contains(err.Error(), "quote it ('off')") {
		t.Errorf("message should say how to fix: %v", err)
	}
}

func TestStreamsSkipEmptyDocuments(t *testing.T) {
	docs, err := ParseStream([]byte("a: 1\n...\n---\nb: 2\n---\n---\n# only a comment\n---\nc: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("got %d documents, want 3", len(docs))
	}
	if docs[2].Index != 4 || docs[2].Line != 9 {
		t.Fatalf("third document: index %d line %d", docs[2].Index, docs[2].Line)
	}
}

func TestSyntaxErrorHasPosition(t *testing.T) {
	docs, err := ParseStream([]byte("a: 1\n---\nb: [1, 2\nc: 3\n"))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want SyntaxError, got %v", err)
	}
	if se.Line < 3 || se.Msg == "" {
		t.Fatalf("bad position or message: %+v", se)
	}
	if len(docs) != 1 {
		t.Fatalf("documents before the error are returned, got %d", len(docs))
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	v := mustOne(t, "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\nlist: [*b]\n").(map[string]any)
	child := v["child"].(map[string]any)
	if child["x"] != int64(1) || child["y"] != int64(3) {
		t.Fatalf("merge: %#v", child)
	}
	if !reflect.DeepEqual(v["list"], []any{map[string]any{"x": int64(1), "y": int64(2)}}) {
		t.Fatalf("alias: %#v", v["list"])
	}
}

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	docs, err := ParseStream([]byte(b.String()))
	if err != nil {
		// The parser may refuse the document itself; that is bounded too.
		return
	}
	if _, err := Value(docs[0].Root); err == nil {
		t.Fatal("expansion of 10^9 values must be refused")
	}
}

func TestLookup(t *testing.T) {
	docs, _ := ParseStream([]byte("data:\n  interfaces:\n    bond0:\n      slaves:\n        - a\n        - 7\n"))
	n := Lookup(docs[0].Root, []string{"data", "interfaces", "bond0", "slaves", "1"})
	if n.Line != 6 || n.Value != "7" {
		t.Fatalf("got line %d value %q", n.Line, n.Value)
	}
	n = Lookup(docs[0].Root, []string{"data", "missing", "x"})
	if n.Line != 2 {
		t.Fatalf("missing path returns the deepest node reached, got line %d", n.Line)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("schema: drydock/Network/v1\nmetadata: {name: x}\ndata: {cidr: 10.0.0.0/8}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("<<: [{a: 1}, {b: 2}]\n---\n- 0x1f\n- 1:2:3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := ParseStream(data)
		for _, d := range docs {
			_, _ = Value(d.Root)
			_ = Lookup(d.Root, []string{"data", "0", "x"})
		}
	})
}
