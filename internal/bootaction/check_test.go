package bootaction

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
)

func TestCheckTemplates(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	ba := &design.BootAction{Name: "ba", Assets: []design.Asset{
		{Type: design.AssetFile, Path: "/ok", Data: "{{ .node.hostname }}", DataPipeline: []string{SegTemplate}},
		{Type: design.AssetFile, Path: "/jinja", Data: b64("{{ node.hostname }}"), DataPipeline: []string{SegBase64Decode, SegUTF8Decode, SegTemplate}},
		{Type: design.AssetUnit, Path: "/plain", Data: "{{ not a template }}"},
		{Type: design.AssetFile, Path: "/loc", Location: "http://x/{{ action.action_id }}", LocationPipeline: []string{SegTemplate}},
		{Type: design.AssetFile, Path: "/define", Data: `{{ define "x" }}{{ end }}`, DataPipeline: []string{SegTemplate}},
		{Type: design.AssetPkgList, Data: "{{ node }}"},
		{Type: design.AssetFile, Path: "/bad64", Data: "%%%", DataPipeline: []string{SegBase64Decode, SegTemplate}},
	}}
	errs := CheckTemplates(ba)
	got := map[string]string{}
	for _, e := range errs {
		got[e.Path] = e.Error()
	}
	if len(errs) != 3 {
		t.Fatalf("want errors for /jinja, /loc and /define, got %v", got)
	}
	for path, want := range map[string]string{
		"/jinja":  `boot action "ba" asset 1 (/jinja): data_pipeline segment 2 (template): template: /jinja:1: function "node" not defined`,
		"/loc":    `location_pipeline (template)`,
		"/define": "define",
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s: %q, want %q", path, got[path], want)
		}
	}
}
