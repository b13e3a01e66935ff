package bootaction

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
)

// renderOne renders a single file asset for ctl01 of the example site.
func renderOne(t testing.TB, r *Renderer, as design.Asset) (File, error) {
	t.Helper()
	s := exampleSite(t)
	files, err := r.RenderNode(context.Background(), s, mustNode(t, s, "ctl01"),
		[]Action{{Doc: oneAsset(as), ID: "01ACTION"}}, as.Type, testInfo)
	if err != nil {
		return File{}, err
	}
	if len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	return files[0], nil
}

func TestPipelineSegments(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		pipeline []string
		want     string
	}{
		{"no pipeline", "plain {{ .x }}", nil, "plain {{ .x }}"},
		{"base64_decode", "aGVsbG8=", []string{"base64_decode"}, "hello"},
		{"base64_decode block scalar", "aGVs\nbG8g\r\n d29y\tbGQ=\n", []string{"base64_decode"}, "hello world"},
		{"base64_encode", "hello", []string{"base64_encode"}, "aGVsbG8="},
		{"base64 round trip", "\x00\xff bin", []string{"base64_encode", "base64_decode"}, "\x00\xff bin"},
		{"utf8_decode", "héllo", []string{"utf8_decode"}, "héllo"},
		{"utf8_encode", "héllo", []string{"utf8_encode"}, "héllo"},
		{"template", "{{ .node.hostname }}", []string{"template"}, "ctl01"},
		// The original's usual recipe, on the sample's helloworld script.
		{"decode then template", "IyEvYmluL2Jhc2gKCmVjaG8gJ0hlbGxvIFdvcmxkISAtZnJvbSB7eyAubm9kZS5ob3N0bmFtZSB9fScK",
			[]string{"base64_decode", "utf8_decode", "template"}, "#!/bin/bash\n\necho 'Hello World! -from ctl01'\n"},
		// Order matters: the template output is encoded, not the other way round.
		{"template then encode", "{{ .node.hostname }}", []string{"template", "base64_encode"}, "Y3RsMDE="},
		{"encode then template", "{{ .node.hostname }}", []string{"base64_encode", "template"}, "e3sgLm5vZGUuaG9zdG5hbWUgfX0="},
		{"decode twice", "WVdKag==", []string{"base64_decode", "base64_decode"}, "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p", Data: tc.data, DataPipeline: tc.pipeline})
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Data) != tc.want {
				t.Errorf("got %q, want %q", f.Data, tc.want)
			}
		})
	}
}

func TestPipelineErrors(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		pipeline []string
		want     []string
	}{
		{"unknown segment", "x", []string{"utf8_decode", "gzip"},
			[]string{`boot action "test" asset 0 (/p): data_pipeline segment 1 (gzip): unknown segment "gzip"`}},
		{"base64 bad char", "aGVs\nbG8*", []string{"base64_decode"},
			[]string{"data_pipeline segment 0 (base64_decode)", "byte offset 8", `'*'`}},
		{"base64 bad char in last quantum", "aGVsbG*", []string{"base64_decode"},
			[]string{"byte offset 6", `'*'`}},
		{"base64 padding in the middle", "aGVs=G8=", []string{"base64_decode"},
			[]string{"byte offset 4", `'='`}},
		{"base64 unpadded", "aGVsbG8", []string{"base64_decode"},
			[]string{"data_pipeline segment 0 (base64_decode)", "padding"}},
		{"utf8_decode invalid", "ok\xffno", []string{"utf8_decode"},
			[]string{"data_pipeline segment 0 (utf8_decode)", "invalid UTF-8 at byte offset 2 (0xff)"}},
		{"utf8_encode invalid", "\xc3", []string{"utf8_encode"},
			[]string{"data_pipeline segment 0 (utf8_encode)", "byte offset 0"}},
		{"utf8 after decode", "/w==", []string{"base64_decode", "utf8_decode"},
			[]string{"data_pipeline segment 1 (utf8_decode)", "byte offset 0"}},
		{"template parse", "{{ .node.hostname ", []string{"template"},
			[]string{"data_pipeline segment 0 (template)", "unclosed action"}},
		{"template missing key", "{{ .node.labels.nope }}", []string{"template"},
			[]string{"data_pipeline segment 0 (template)", `map has no entry for key "nope"`}},
		{"template missing nested key", "{{ .node.network.pxe.ip }}", []string{"template"},
			[]string{`map has no entry for key "pxe"`}},
		{"template jinja syntax", "{{ node.hostname }}", []string{"template"},
			[]string{`function "node" not defined`, "{{ .node.x }}", "docs/bootactions.md"}},
		{"template jinja statement", "a\n{% if x %}b{% endif %}\n", []string{"template"},
			[]string{"Jinja tag", `near "{% if x %}b{% endif %}"`}},
		{"template jinja statement in range", "{{ range .node.tags }}{% x %}{{ end }}", []string{"template"},
			[]string{"Jinja tag"}},
		{"template define", `{{ define "a" }}x{{ end }}y`, []string{"template"},
			[]string{"{{ define }} and {{ block }} are not supported"}},
		{"template block", `{{ block "a" . }}x{{ end }}`, []string{"template"},
			[]string{"{{ define }} and {{ block }} are not supported"}},
		{"template self call", `{{ if true }}{{ template "/p" }}{{ end }}`, []string{"template"},
			[]string{`{{ template "/p" }} is not supported`}},
		{"template function error", `{{ b64dec "!!" }}`, []string{"template"},
			[]string{"error calling b64dec", "invalid base64"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p", Data: tc.data, DataPipeline: tc.pipeline})
			wantErr(t, err, tc.want...)
			var e *Error
			if !errors.As(err, &e) || e.Action != "test" || e.Asset != 0 || e.Path != "/p" {
				t.Errorf("error %#v is not an *Error naming the asset", err)
			}
		})
	}
}

func TestLiteralJinjaTagIsPossible(t *testing.T) {
	f, err := renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p",
		Data: `{{ "{%" }} raw %}`, DataPipeline: []string{"template"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Data) != "{% raw %}" {
		t.Errorf("got %q", f.Data)
	}
	// Without the template segment, nothing is interpreted.
	f, err = renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p", Data: "{% if %}"})
	if err != nil || string(f.Data) != "{% if %}" {
		t.Errorf("got %q, %v", f.Data, err)
	}
}

func TestErrorNamesAssetIndexAndAction(t *testing.T) {
	s := exampleSite(t)
	ba := &design.BootAction{Name: "motd", Assets: []design.Asset{
		{Type: design.AssetFile, Path: "/ok", Data: "fine"},
		{Type: design.AssetUnit, Path: "/unit", Data: "{{ .nope }}", DataPipeline: []string{"template"}},
		{Type: design.AssetFile, Path: "/etc/motd", Data: "x", DataPipeline: []string{"utf8_decode", "utf8_encode", "template", "rot13"}},
	}}
	_, err := (&Renderer{}).RenderNode(context.Background(), s, mustNode(t, s, "ctl01"), []Action{{Doc: ba, ID: "x"}}, design.AssetFile, testInfo)
	wantErr(t, err, `boot action "motd" asset 2 (/etc/motd): data_pipeline segment 3 (rot13): unknown segment`)
}

func TestSizeLimits(t *testing.T) {
	big := strings.Repeat("x", 100)
	tests := []struct {
		name string
		as   design.Asset
		want []string
	}{
		{"inline data", design.Asset{Data: big + "!"}, []string{"asset 0 (/p): data: the inline data exceeds the limit of 100 bytes"}},
		{"template output", design.Asset{Data: `{{ range 200 }}x{{ end }}`, DataPipeline: []string{"template"}},
			[]string{"data_pipeline segment 0 (template)", "the rendered template exceeds the limit of 100 bytes"}},
		{"printf output", design.Asset{Data: `{{ printf "%0200d" 1 }}`, DataPipeline: []string{"template"}},
			[]string{"the rendered template exceeds the limit of 100 bytes"}},
		{"base64 growth", design.Asset{Data: big[:80], DataPipeline: []string{"base64_encode"}},
			[]string{"data_pipeline segment 0 (base64_encode)", "the base64 encoding exceeds the limit of 100 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.as.Type, tc.as.Path = design.AssetFile, "/p"
			_, err := renderOne(t, &Renderer{MaxBytes: 100}, tc.as)
			wantErr(t, err, tc.want...)
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("%v is not ErrTooLarge", err)
			}
		})
	}
	// Exactly at the limit is fine.
	f, err := renderOne(t, &Renderer{MaxBytes: 100}, design.Asset{Type: design.AssetFile, Path: "/p",
		Data: `{{ range 100 }}x{{ end }}`, DataPipeline: []string{"template"}})
	if err != nil || !bytes.Equal(f.Data, []byte(big)) {
		t.Errorf("at the limit: %d bytes, %v", len(f.Data), err)
	}
	// The default limit is 1 MiB.
	_, err = renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p",
		Data: `{{ range 1048577 }}x{{ end }}`, DataPipeline: []string{"template"}})
	wantErr(t, err, "limit of 1048576 bytes")
}

func TestTemplateFuncs(t *testing.T) {
	tests := []struct {
		tmpl string
		want string
	}{
		{`{{ urlencode "a b/c&d" }}`, "a+b%2Fc%26d"},
		{`{{ "a b" | urlencode }}`, "a+b"},
		{`{{ .node.labels | urlencode }}`, "role=control&site=example"},
		{`{{ urlencode 42 }}`, "42"},
		{`{{ b64enc .node.hostname }}`, "Y3RsMDE="},
		{`{{ b64dec "Y3Rs\nMDE=" }}`, "ctl01"},
		{`{{ join "-" .node.tags }}`, "control"},
		{`{{ .node.tags | join "," }}`, "control"},
		{`{{ upper .node.hostname }} {{ lower "ABC" }} [{{ trim "  x \n" }}]`, "CTL01 abc [x]"},
		{`{{ index .node.labels "missing" | default "none" }}`, "none"},
		{`{{ .node.labels.role | default "none" }}`, "control"},
		{`{{ default 7 0 }} {{ default "d" (index .node.network "pxe") }}`, "7 d"},
		{`{{ toJSON .node.network.mgmt }}`, `{"cidr":"10.23.2.0/24","dns_suffix":"mgmt.example.com","ip":"10.23.2.11"}`},
		{`{{ toJSON "<&>" }}`, `"<&>"`},
		{`{{ hasKey .node.labels "role" }} {{ hasKey .node.labels "nope" }}`, "true false"},
		{`{{ if hasKey .node.network "public" }}{{ .node.network.public.ip }}{{ end }}`, "192.0.2.11"},
		{`{{ range $i, $t := .node.tags }}{{ $i }}={{ $t }}{{ end }}`, "0=control"},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			f, err := renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p", Data: tc.tmpl, DataPipeline: []string{"template"}})
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Data) != tc.want {
				t.Errorf("got %q, want %q", f.Data, tc.want)
			}
		})
	}
	for _, bad := range []string{`{{ join "," 3 }}`, `{{ hasKey .node.tags "x" }}`} {
		_, err := renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p", Data: bad, DataPipeline: []string{"template"}})
		wantErr(t, err, "data_pipeline segment 0 (template)")
	}
}

// TestJinjaTranslations checks the Go column of the translation table in docs/bootactions.md.
func TestJinjaTranslations(t *testing.T) {
	tests := []struct {
		tmpl string
		want string
	}{
		{`{{ .node.hostname }}`, "ctl01"},
		{`{{ .node.network.mgmt.ip }}`, "10.23.2.11"},
		{`{{ index .node.labels "role" }}`, "control"},
		{`{{ .node.hostname | urlencode }}{{ urlencode .node.hostname }}`, "ctl01ctl01"},
		{`{{ .node.tags | join "," }}{{ join "," .node.tags }}`, "controlcontrol"},
		{`{{ index .node.labels "rack-role" | default "y" }}`, "y"},
		{`{{ .node.hostname | upper }}`, "CTL01"},
		{`{{ range .node.tags }}{{ . }}{{ end }}{{ range $t := .node.tags }}{{ $t }}{{ end }}`, "controlcontrol"},
		{`{{ range $name, $n := .node.network }}{{ $name }} {{ end }}`, "default mgmt oob public storage "},
		{`{{ if eq .node.labels.role "compute" }}c{{ else if eq .node.labels.role "control" }}k{{ else }}x{{ end }}`, "k"},
		{`{{ if hasKey .node.network "storage" }}yes{{ end }}`, "yes"},
		{`{{ $x := .node.hostname }}{{ $x }}`, "ctl01"},
		{`{{ printf "%s-%s" .node.hostname .node.domain }}`, "ctl01-mgmt.example.com"},
		{`a{{/* comment */}}b`, "ab"},
		{"a  {{- .node.hostname -}}  b", "actl01b"},
		{`{{ with index .node.labels "role" }}role={{ . }}{{ end }}`, "role=control"},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			f, err := renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p", Data: tc.tmpl, DataPipeline: []string{"template"}})
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Data) != tc.want {
				t.Errorf("got %q, want %q", f.Data, tc.want)
			}
		})
	}
}

func TestURLEncodeMap(t *testing.T) {
	got := urlencode(map[string]any{"z": "/", "a.b": "2 3", "a": 1})
	if want := "a=1&a.b=2+3&z=%2F"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := urlencode(map[string]string{}); got != "" {
		t.Errorf("empty map: %q", got)
	}
}
