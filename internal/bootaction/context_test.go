package bootaction

import (
	"context"
	"reflect"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
)

func TestTemplateDataExampleSite(t *testing.T) {
	s := exampleSite(t)
	got := TemplateData(s, mustNode(t, s, "ctl01"), testInfo.Action("01HZY3W0Q9J8K5V2N4X6M7P8RS"))
	mgmt := map[string]any{"ip": "10.23.2.11", "cidr": "10.23.2.0/24", "dns_suffix": "mgmt.example.com"}
	want := map[string]any{
		"node": map[string]any{
			"hostname": "ctl01",
			"domain":   "mgmt.example.com",
			"tags":     []string{"control"},
			"labels":   map[string]string{"site": "example", "role": "control"},
			"network": map[string]any{
				// pxe is dhcp: no entry, as in the original
				"oob":     map[string]any{"ip": "10.23.0.11", "cidr": "10.23.0.0/24", "dns_suffix": "oob.example.com"},
				"mgmt":    mgmt,
				"storage": map[string]any{"ip": "10.23.3.11", "cidr": "10.23.3.0/24", "dns_suffix": "storage.example.com"},
				"public":  map[string]any{"ip": "192.0.2.11", "cidr": "192.0.2.0/24", "dns_suffix": "example.com"},
				"default": mgmt,
			},
			"interfaces": map[string]any{
				"pxe":   map[string]any{"sriov": false},
				"bond0": map[string]any{"sriov": false},
			},
		},
		"action": map[string]any{
			"action_id":  "01HZY3W0Q9J8K5V2N4X6M7P8RS",
			"action_key": "00ff",
			"report_url": "http://drydock:9000/api/v1.0/bootactions/",
			"design_ref": "deckhand+http://dh/revisions/1/rendered-documents",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("context:\n got %#v\nwant %#v", got, want)
	}
}

// TestTemplateContextFields renders every field of the context through a template, so the
// names templates use are checked, not only the map.
func TestTemplateContextFields(t *testing.T) {
	ex := exampleSite(t)
	full := fullSite(t)
	tests := []struct {
		site *design.Site
		node string
		tmpl string
		want string
	}{
		{ex, "ctl01", "{{ .node.hostname }}", "ctl01"},
		{ex, "ctl01", "{{ .node.domain }}", "mgmt.example.com"},
		{ex, "ctl01", "{{ .node.tags }}", "[control]"},
		{ex, "cmp01", `{{ join "," .node.tags }}`, "compute"},
		{ex, "ctl01", "{{ .node.labels.role }}/{{ .node.labels.site }}", "control/example"},
		{ex, "ctl01", "{{ .node.network.mgmt.ip }} {{ .node.network.mgmt.cidr }} {{ .node.network.mgmt.dns_suffix }}", "10.23.2.11 10.23.2.0/24 mgmt.example.com"},
		{ex, "ctl01", "{{ .node.network.default.ip }}", "10.23.2.11"},
		{ex, "ctl01", "{{ .node.network.public.dns_suffix }}", "example.com"},
		{ex, "cmp02", "{{ .node.network.storage.ip }}", "10.23.3.22"},
		{ex, "ctl01", `{{ hasKey .node.network "pxe" }}`, "false"},
		{ex, "ctl01", "{{ .node.interfaces.bond0.sriov }}", "false"},
		{ex, "ctl01", "{{ range $k, $v := .node.interfaces }}{{ $k }} {{ end }}", "bond0 pxe "},
		{ex, "ctl01", "{{ .action.action_id }}", "01ACTION"},
		{ex, "ctl01", "{{ .action.action_key }}", "00ff"},
		{ex, "ctl01", "{{ .action.report_url }}", "http://drydock:9000/api/v1.0/bootactions/"},
		{ex, "ctl01", "{{ .action.design_ref }}", "deckhand+http://dh/revisions/1/rendered-documents"},
		{full, "compute01", "{{ .node.domain }}", "mgmt.sitename.example.com"},
		{full, "compute01", "{{ .node.tags }}", "[test]"},
		{full, "compute02", "{{ .node.labels.foo }}", "baz"},
		{full, "compute01", "{{ .node.network.private.ip }} {{ .node.network.private.dns_suffix }}", "172.16.2.21 priv.sitename.example.com"},
		{full, "compute01", "{{ .node.interfaces.bond0.sriov }} {{ .node.interfaces.bond0.vf_count }} {{ .node.interfaces.bond0.trustedmode }}", "true 2 false"},
		{full, "compute01", `{{ .node.interfaces.pxe.sriov }} {{ hasKey .node.interfaces.pxe "vf_count" }}`, "false false"},
	}
	for _, tc := range tests {
		t.Run(tc.node+" "+tc.tmpl, func(t *testing.T) {
			ba := oneAsset(design.Asset{Type: design.AssetFile, Path: "/f", Data: tc.tmpl, DataPipeline: []string{"template"}})
			files, err := (&Renderer{}).RenderNode(context.Background(), tc.site, mustNode(t, tc.site, tc.node),
				[]Action{{Doc: ba, ID: "01ACTION"}}, design.AssetFile, testInfo)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(files[0].Data); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDomainDefaultsToLocal(t *testing.T) {
	s := &design.Site{Design: &design.Design{}}
	n := &design.Node{Name: "lonely", Addressing: []design.Address{{Network: "gone", Type: "static", Address: "10.0.0.1"}}}
	got := TemplateData(s, n, ActionInfo{})["node"].(map[string]any)
	if got["domain"] != "local" {
		t.Errorf("domain %v, want local", got["domain"])
	}
	want := map[string]any{"gone": map[string]any{"ip": "10.0.0.1", "cidr": "", "dns_suffix": ""}}
	if !reflect.DeepEqual(got["network"], want) {
		t.Errorf("network %#v, want %#v", got["network"], want)
	}
}

func TestTargeting(t *testing.T) {
	s := exampleSite(t)
	names := func(bas []*design.AppliedBootAction) []string {
		out := []string{}
		for _, b := range bas {
			out = append(out, b.Name)
		}
		return out
	}
	for node, want := range map[string][]string{
		"ctl01":   {"motd"},
		"cmp01":   {"motd", "compute-tuning"},
		"nosuchx": {},
	} {
		if got := names(Targeting(s, node)); !reflect.DeepEqual(got, want) {
			t.Errorf("Targeting(%s) = %v, want %v", node, got, want)
		}
	}
}
