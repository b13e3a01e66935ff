package design

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleDir holds the sample designs of the original project.
const sampleDir = "../../testdata/drydock-samples"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir, name))
	if err != nil {
		t.Fatalf("reading sample: %v", err)
	}
	return b
}

func parseSample(t testing.TB, name string) *Ingested {
	t.Helper()
	return Parse(Source{Name: name, Data: readSample(t, name)})
}

// parseText parses YAML text given as the source "test.yaml".
func parseText(text string) *Ingested {
	return Parse(Source{Name: "test.yaml", Data: []byte(text)})
}

// mustParse parses YAML text and fails the test on any message at all.
func mustParse(t testing.TB, text string) *Design {
	t.Helper()
	in := parseText(text)
	for _, m := range in.Messages {
		t.Errorf("unexpected message %s %s: %s", m.Code, m.Level, m.Message)
	}
	if t.Failed() {
		t.FailNow()
	}
	return in.Design
}

// mustCompile parses YAML text without messages and compiles it.
func mustCompile(t testing.TB, text string) *Site {
	t.Helper()
	return Compile(mustParse(t, text))
}

// compileSample parses a sample, insists on a clean ingest and compiles it.
func compileSample(t testing.TB, name string) *Site {
	t.Helper()
	in := parseSample(t, name)
	if !in.OK() {
		for _, m := range in.Messages {
			t.Logf("%s %s: %s", m.Code, m.Level, m.Message)
		}
		t.Fatalf("%s did not ingest cleanly", name)
	}
	return Compile(in.Design)
}

// lineOf returns the 1-based line of the first line containing marker that comes at or after
// the first line containing after ("" for the start of the data).
func lineOf(t testing.TB, data []byte, after, marker string) int {
	t.Helper()
	lines := bytes.Split(data, []byte("\n"))
	started := after == ""
	for i, l := range lines {
		if !started && strings.Contains(string(l), after) {
			started = true
		}
		if started && strings.Contains(string(l), marker) {
			return i + 1
		}
	}
	t.Fatalf("marker %q (after %q) not found", marker, after)
	return 0
}

// messagesWith returns the messages with the given code.
func messagesWith(msgs []Message, code string) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Code == code {
			out = append(out, m)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// joinDocs builds a YAML stream from documents.
func joinDocs(docs ...string) string {
	var b strings.Builder
	for _, d := range docs {
		b.WriteString("---\n")
		b.WriteString(strings.TrimLeft(d, "\n"))
		if !strings.HasSuffix(d, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// names lists the names of items, in order.
func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}

// named returns the item called want, or fails the test saying which ones there are.
func named[T any](t *testing.T, n *Node, what, want string, items []T, name func(T) string) T {
	t.Helper()
	for _, it := range items {
		if name(it) == want {
			return it
		}
	}
	t.Fatalf("node %s has no %s %s (has %q)", n.Name, what, want, names(items, name))
	var zero T
	return zero
}

func ifaceName(i NodeInterface) string { return i.Name }
func deviceName(d NodeDevice) string   { return d.Name }
func vgName(v NodeVolumeGroup) string  { return v.Name }
func ifaceNames(n *Node) []string      { return names(n.Interfaces, ifaceName) }
func devNames(n *Node) []string        { return names(n.Devices, deviceName) }

func iface(t *testing.T, n *Node, name string) NodeInterface {
	t.Helper()
	return named(t, n, "interface", name, n.Interfaces, ifaceName)
}

func device(t *testing.T, n *Node, name string) NodeDevice {
	t.Helper()
	return named(t, n, "device", name, n.Devices, deviceName)
}

func vg(t *testing.T, n *Node, name string) NodeVolumeGroup {
	t.Helper()
	return named(t, n, "volume group", name, n.VolumeGroups, vgName)
}
