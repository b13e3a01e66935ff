package bootaction

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzPipeline runs arbitrary data through a pipeline chosen by the fuzzer. It must not panic;
// the result must stay within the size limit. Each byte of sel picks a segment (an unknown one
// included).
func FuzzPipeline(f *testing.F) {
	f.Add([]byte("aGVsbG8="), []byte{0, 2, 4})
	f.Add([]byte("IyEvYmluL2Jhc2gK\nZWNobyB7eyAubm9kZS5ob3N0bmFtZSB9fQo="), []byte{0, 2, 4})
	f.Add([]byte("{{ .node.hostname }} {{ .nope }}"), []byte{4})
	f.Add([]byte("{{ printf \"%0999999d\" 1 }}"), []byte{4, 1})
	f.Add([]byte("\xff\xfe"), []byte{2, 3, 1, 0})
	f.Add([]byte("{% if %}"), []byte{4, 5})
	f.Add([]byte("{{ define \"a\" }}{{ template \"a\" }}{{ end }}{{ template \"a\" }}"), []byte{4})
	names := []string{SegBase64Decode, SegBase64Encode, SegUTF8Decode, SegUTF8Encode, SegTemplate, "bogus"}
	data := map[string]any{"node": map[string]any{"hostname": "n1", "tags": []string{"a"}}, "action": map[string]any{}}
	f.Fuzz(func(t *testing.T, in, sel []byte) {
		if len(sel) > 8 {
			sel = sel[:8]
		}
		pipeline := make([]string, len(sel))
		for i, s := range sel {
			pipeline[i] = names[int(s)%len(names)]
		}
		// Templates can loop without writing ({{ range 1e12 }}{{ end }}); their running time is
		// not limited (templates are written by the site's operators), so skip loops here.
		if bytes.Contains(in, []byte("range")) && strings.Contains(strings.Join(pipeline, " "), SegTemplate) {
			t.Skip()
		}
		const max = 4096
		out, step, err := runPipeline("data_pipeline", pipeline, in, &templater{name: "fuzz", data: data, max: max})
		if err != nil {
			if step == "" {
				t.Errorf("error without a step: %v", err)
			}
			return
		}
		if len(pipeline) > 0 && pipeline[len(pipeline)-1] == SegTemplate && len(out) > max {
			t.Errorf("template output of %d bytes exceeds %d", len(out), max)
		}
	})
}
