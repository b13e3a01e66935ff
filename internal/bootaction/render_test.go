package bootaction

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
)

// assetServer serves /hosts/<name> as a script naming the host, /pkgs.yaml and /pkgs.json as
// package lists, and /big as 10 KiB.
func assetServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/hosts/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("echo {{ .node.hostname }} is " + r.PathValue("name") + "\n"))
	})
	mux.HandleFunc("/pkgs.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# packages\nchrony: null\nipmitool: '1.8.18-11ubuntu2'\nlibfoo: 1.10\n"))
	})
	mux.HandleFunc("/pkgs.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"chrony": "4.2-2", "jq": null}`))
	})
	mux.HandleFunc("/list.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("- chrony\n- jq\n"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 10<<10)))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// fakeFetcher returns fixed sources, whatever the reference; it records the references.
type fakeFetcher struct {
	srcs []ref.Source
	refs []string
}

func (f *fakeFetcher) Fetch(_ context.Context, r string) ([]ref.Source, error) {
	f.refs = append(f.refs, r)
	return f.srcs, nil
}

func TestLocation(t *testing.T) {
	srv := assetServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "motd"), []byte("welcome to {{ .node.hostname }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.yaml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, "sub", name), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &Renderer{Fetcher: &ref.Resolver{Attempts: 1}}
	tests := []struct {
		name string
		as   design.Asset
		want string
		err  []string
	}{
		{name: "http", as: design.Asset{Location: srv.URL + "/hosts/static"}, want: "echo {{ .node.hostname }} is static\n"},
		{name: "http then template", as: design.Asset{Location: srv.URL + "/hosts/static", DataPipeline: []string{"template"}},
			want: "echo ctl01 is static\n"},
		{name: "location pipeline", as: design.Asset{Location: srv.URL + "/hosts/{{ .node.hostname }}", LocationPipeline: []string{"template"}},
			want: "echo {{ .node.hostname }} is ctl01\n"},
		{name: "location not templated without pipeline", as: design.Asset{Location: srv.URL + "/hosts/{{ .node.hostname }}"},
			want: "echo {{ .node.hostname }} is {{ .node.hostname }}\n"},
		{name: "file path", as: design.Asset{Location: filepath.Join(dir, "motd"), DataPipeline: []string{"utf8_decode", "template"}},
			want: "welcome to ctl01\n"},
		{name: "file URL", as: design.Asset{Location: "file://" + filepath.Join(dir, "motd")}, want: "welcome to {{ .node.hostname }}\n"},
		{name: "location overrides data", as: design.Asset{Location: srv.URL + "/hosts/a", Data: "ignored"}, want: "echo {{ .node.hostname }} is a\n"},
		{name: "directory", as: design.Asset{Location: filepath.Join(dir, "sub")},
			err: []string{"asset 0 (/p): location", "expected one file, got 2", "not a directory"}},
		{name: "missing file", as: design.Asset{Location: filepath.Join(dir, "nope")},
			err: []string{"asset 0 (/p): location", "nope"}},
		{name: "location pipeline segment not allowed", as: design.Asset{Location: "/x", LocationPipeline: []string{"template", "base64_decode"}},
			err: []string{"asset 0 (/p): location_pipeline segment 1 (base64_decode): only template is allowed"}},
		{name: "location template error", as: design.Asset{Location: "/x/{{ .node.nope }}", LocationPipeline: []string{"template"}},
			err: []string{"asset 0 (/p): location_pipeline segment 0 (template)", `no entry for key "nope"`}},
		{name: "password redacted", as: design.Asset{Location: "http://user:secret@127.0.0.1:1/x"},
			err: []string{`location "http://user:xxxxx@127.0.0.1:1/x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.as.Type, tc.as.Path = design.AssetFile, "/p"
			f, err := renderOne(t, r, tc.as)
			if tc.err != nil {
				wantErr(t, err, tc.err...)
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Data) != tc.want {
				t.Errorf("got %q, want %q", f.Data, tc.want)
			}
		})
	}
}

func TestLocationLimits(t *testing.T) {
	srv := assetServer(t)
	// Through a *ref.Resolver the limit is passed down, so the download stops early.
	_, err := renderOne(t, &Renderer{Fetcher: &ref.Resolver{Attempts: 1}, MaxBytes: 1024}, design.Asset{Type: design.AssetFile, Path: "/p", Location: srv.URL + "/big"})
	wantErr(t, err, "asset 0 (/p): location", "the fetched content exceeds the limit of 1024 bytes")
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("%v is not ErrTooLarge", err)
	}
	// A nil *ref.Resolver is a usable Resolver.
	var nilRes *ref.Resolver
	if _, err := renderOne(t, &Renderer{Fetcher: nilRes, MaxBytes: 1024}, design.Asset{Type: design.AssetFile, Path: "/p", Location: srv.URL + "/big"}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("nil resolver: %v", err)
	}
	// Any other fetcher: checked after the fetch.
	ff := &fakeFetcher{srcs: []ref.Source{{Name: "x", Data: make([]byte, 1025)}}}
	_, err = renderOne(t, &Renderer{Fetcher: ff, MaxBytes: 1024}, design.Asset{Type: design.AssetFile, Path: "/p", Location: "x"})
	wantErr(t, err, "the fetched content exceeds the limit of 1024 bytes")
	// Without a fetcher a location is an error.
	_, err = renderOne(t, &Renderer{}, design.Asset{Type: design.AssetFile, Path: "/p", Location: "x"})
	wantErr(t, err, `asset 0 (/p): location "x": no fetcher`)
}

func TestRenderNode(t *testing.T) {
	s := exampleSite(t)
	n := mustNode(t, s, "cmp01")
	a1 := &design.BootAction{Name: "one", Assets: []design.Asset{
		{Type: design.AssetFile, Path: "/etc/a", Data: "a {{ .action.action_id }}", DataPipeline: []string{"template"}},
		{Type: design.AssetUnit, Path: "/lib/systemd/system/a.service", Data: "[Unit]\n", Permissions: perm(0o644)},
		{Type: design.AssetPkgList, PackageList: []design.Pkg{{Name: "jq"}}, DataIsMap: true},
		{Type: design.AssetFile, Path: "/etc/b", Data: "b", Permissions: perm(0o755)},
	}}
	a2 := &design.BootAction{Name: "two", Assets: []design.Asset{
		{Type: design.AssetFile, Path: "/etc/c", Data: "c {{ .action.action_id }}", DataPipeline: []string{"template"}},
	}}
	actions := []Action{{Doc: a1, ID: "ID1"}, {Doc: a2, ID: "ID2"}}
	r := &Renderer{}
	files, err := r.RenderNode(context.Background(), s, n, actions, design.AssetFile, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: "/etc/a", Mode: 0o600, Data: []byte("a ID1")},
		{Path: "/etc/b", Mode: 0o755, Data: []byte("b")},
		{Path: "/etc/c", Mode: 0o600, Data: []byte("c ID2")},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("files:\n got %+v\nwant %+v", files, want)
	}
	units, err := r.RenderNode(context.Background(), s, n, actions, design.AssetUnit, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	if want := []File{{Path: "/lib/systemd/system/a.service", Mode: 0o644, Data: []byte("[Unit]\n")}}; !reflect.DeepEqual(units, want) {
		t.Errorf("units: got %+v, want %+v", units, want)
	}
	// Nothing of a type: an empty, non-nil list.
	none, err := r.RenderNode(context.Background(), s, n, actions[1:], design.AssetUnit, testInfo)
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("no units: %#v, %v", none, err)
	}
	_, err = r.RenderNode(context.Background(), s, n, actions, design.AssetPkgList, testInfo)
	wantErr(t, err, `asset type "pkg_list"`)

	rel := oneAsset(design.Asset{Type: design.AssetFile, Path: "etc/x", Data: "x"})
	_, err = r.RenderNode(context.Background(), s, n, []Action{{Doc: rel}}, design.AssetFile, testInfo)
	wantErr(t, err, `boot action "test" asset 0 (etc/x): path: a file asset needs an absolute path`)
	nopath := oneAsset(design.Asset{Type: design.AssetUnit, Data: "x"})
	_, err = r.RenderNode(context.Background(), s, n, []Action{{Doc: nopath}}, design.AssetUnit, testInfo)
	wantErr(t, err, `asset 0 (unit): path`)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.RenderNode(ctx, s, n, actions, design.AssetFile, testInfo); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestRenderExampleSite renders the example site's boot actions as the API will.
func TestRenderExampleSite(t *testing.T) {
	s := exampleSite(t)
	var actions []Action
	for _, ba := range Targeting(s, "cmp01") {
		actions = append(actions, Action{Doc: ba.BootAction, ID: "id-" + ba.Name})
	}
	files, err := (&Renderer{}).RenderNode(context.Background(), s, mustNode(t, s, "cmp01"), actions, design.AssetFile, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: "/etc/motd", Mode: 0o644, Data: []byte("Deployed by Drydock-Go from the example site design.\n")},
		{Path: "/etc/sysctl.d/90-compute.conf", Mode: 0o644, Data: []byte("vm.swappiness = 10\n")},
	}
	if !reflect.DeepEqual(files, want) {
		t.Errorf("got %+v, want %+v", files, want)
	}
}

func TestPackages(t *testing.T) {
	srv := assetServer(t)
	s := exampleSite(t)
	n := mustNode(t, s, "ctl01")
	r := &Renderer{Fetcher: &ref.Resolver{Attempts: 1}}
	var docs []*design.BootAction
	for _, ba := range Targeting(s, "ctl01") {
		docs = append(docs, ba.BootAction)
	}
	pkgs, err := r.Packages(context.Background(), s, n, docs, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	want := []design.Pkg{{Name: "chrony"}, {Name: "ipmitool", Version: "1.8.18-11ubuntu2"}}
	if !reflect.DeepEqual(pkgs, want) {
		t.Errorf("example site: got %+v, want %+v", pkgs, want)
	}

	docs = []*design.BootAction{
		{Name: "inline", Assets: []design.Asset{
			{Type: design.AssetFile, Path: "/f", Data: "not a package"},
			{Type: design.AssetPkgList, DataIsMap: true, PackageList: []design.Pkg{{Name: "zsh", Version: "5.8"}, {Name: "chrony"}, {Name: "jq", Version: "1.6"}}},
		}},
		{Name: "yaml", Assets: []design.Asset{{Type: design.AssetPkgList, Location: srv.URL + "/pkgs.yaml"}}},
		{Name: "json", Assets: []design.Asset{{Type: design.AssetPkgList, Location: srv.URL + "/pkgs.{{ if eq .node.hostname \"ctl01\" }}json{{ else }}yaml{{ end }}", LocationPipeline: []string{"template"}}}},
	}
	pkgs, err = r.Packages(context.Background(), s, n, docs, testInfo)
	if err != nil {
		t.Fatal(err)
	}
	want = []design.Pkg{
		{Name: "chrony", Version: "4.2-2"}, // inline, then null from YAML, then 4.2-2 from JSON: the last wins
		{Name: "ipmitool", Version: "1.8.18-11ubuntu2"},
		{Name: "jq"}, // 1.6 inline, replaced by null from JSON
		{Name: "libfoo", Version: "1.10"},
		{Name: "zsh", Version: "5.8"},
	}
	if !reflect.DeepEqual(pkgs, want) {
		t.Errorf("merged: got %+v, want %+v", pkgs, want)
	}

	none, err := r.Packages(context.Background(), s, n, []*design.BootAction{{Name: "x"}}, testInfo)
	if err != nil || len(none) != 0 {
		t.Errorf("no packages: %v, %v", none, err)
	}

	bad := []struct {
		name string
		as   design.Asset
		want []string
	}{
		{"list", design.Asset{Location: srv.URL + "/list.yaml"}, []string{`boot action "bad" asset 0 (pkg_list): location`, "expected a map"}},
		{"not yaml", design.Asset{Location: srv.URL + "/hosts/x"}, []string{"expected a map"}},
		{"string data", design.Asset{Data: "chrony"}, []string{"asset 0 (pkg_list): data: a pkg_list's data must be a map"}},
		{"fetch", design.Asset{Location: srv.URL + "/nothing"}, []string{"asset 0 (pkg_list): location"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			tc.as.Type = design.AssetPkgList
			_, err := r.Packages(context.Background(), s, n, []*design.BootAction{{Name: "bad", Assets: []design.Asset{tc.as}}}, testInfo)
			wantErr(t, err, tc.want...)
		})
	}
}

func TestParsePackages(t *testing.T) {
	tests := []struct {
		in   string
		want []design.Pkg
		err  string
	}{
		{"a: null\nb: '1.0'\nc: 2.0\nd: ~\ne:\n", []design.Pkg{{Name: "a"}, {Name: "b", Version: "1.0"}, {Name: "c", Version: "2.0"}, {Name: "d"}, {Name: "e"}}, ""},
		{`{"a": "1:2.3-4", "b": null}`, []design.Pkg{{Name: "a", Version: "1:2.3-4"}, {Name: "b"}}, ""},
		{"base: &v '1.0'\nother: *v\n", []design.Pkg{{Name: "base", Version: "1.0"}, {Name: "other", Version: "1.0"}}, ""},
		{"{}", nil, ""},
		{"a: [1, 2]\n", nil, "the version of a must be a string or null"},
		{"? [x]\n: 1\n", nil, "a package name must be a non-empty string"},
		{"", nil, "expected a map"},
		{"a: 'unterminated\n", nil, "package list"},
	}
	for _, tc := range tests {
		got, err := parsePackages([]byte(tc.in))
		if tc.err != "" {
			wantErr(t, err, tc.err)
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parsePackages(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestCloudConfig(t *testing.T) {
	if got := CloudConfig(nil); got != "" {
		t.Errorf("no packages: %q", got)
	}
	pkgs := []design.Pkg{{Name: "chrony"}, {Name: "ipmitool", Version: "1.8.18-11ubuntu2"}, {Name: "on"}, {Name: "0xffff", Version: "1.10"}}
	got := CloudConfig(pkgs)
	want := "#cloud-config\npackages:\n" +
		"  - \"chrony\"\n" +
		"  - [\"ipmitool\", \"1.8.18-11ubuntu2\"]\n" +
		"  - \"on\"\n" +
		"  - [\"0xffff\", \"1.10\"]\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// It reads back as YAML with every value a string.
	var doc struct {
		Packages []any `yaml:"packages"`
	}
	if err := yaml.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	wantDoc := []any{"chrony", []any{"ipmitool", "1.8.18-11ubuntu2"}, "on", []any{"0xffff", "1.10"}}
	if !reflect.DeepEqual(doc.Packages, wantDoc) {
		t.Errorf("parsed %#v, want %#v", doc.Packages, wantDoc)
	}
}
