package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samples = "../../testdata/drydock-samples/"

func drydock(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestValidateExitStatus(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"validate", samples + "deckhand_fullsite.yaml"}, 0, "VALID (20 documents, 3 nodes, 0 errors, 6 warnings)"},
		{[]string{"validate", "file://" + abs(t, samples+"validation.yaml")}, 0, "VALID"},
		{[]string{"validate", samples + "invalid_validation.yaml"}, 1, "INVALID"},
		{[]string{"validate", samples + "invalid.yaml"}, 1, "rules not run"},
		{[]string{"validate", samples + "no-such-file.yaml"}, 2, ""},
		{[]string{"validate"}, 2, ""},
		{[]string{"validate", "-o", "xml", samples + "validation.yaml"}, 2, ""},
		{[]string{"validate", "--rule", "no.such-rule", samples + "validation.yaml"}, 2, ""},
		{[]string{"validate", "ftp://example.com/site.yaml"}, 2, ""},
		{[]string{"frobnicate"}, 2, ""},
	}
	for _, c := range cases {
		code, out, errOut := drydock(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", c.args, code, c.code, out, errOut)
		}
		if !strings.Contains(out, c.out) {
			t.Errorf("%v: stdout lacks %q:\n%s", c.args, c.out, out)
		}
		if c.code == 2 && errOut == "" {
			t.Errorf("%v: exit 2 must explain itself on stderr", c.args)
		}
	}
}

func abs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestValidateTextGroupsByDocument(t *testing.T) {
	code, out, _ := drydock(t, "validate", "--color", "never", samples+"invalid_validation.yaml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("--color never must not colour")
	}
	i := strings.Index(out, "drydock/NetworkLink/v1 gp\n")
	j := strings.Index(out, "Up delay 50 is less than mon rate 150")
	if i < 0 || j < i {
		t.Errorf("messages are not grouped under their document:\n%s", out)
	}
	if !strings.Contains(out, "fix: Link up delay must be equal or greater than the mon_rate") {
		t.Error("diagnostics are shown")
	}
	if strings.Contains(out, "Validation successful.") {
		t.Error("Info messages are hidden without -v")
	}
	_, out, _ = drydock(t, "validate", "-v", samples+"validation.yaml")
	if !strings.Contains(out, "Validation successful.") {
		t.Error("-v shows Info messages")
	}
	_, out, _ = drydock(t, "validate", "--color", "always", samples+"invalid_validation.yaml")
	if !strings.Contains(out, "\x1b[31mERROR") {
		t.Error("--color always colours errors")
	}
}

type statusDoc struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   map[string]any `json:"metadata"`
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
	Code       int            `json:"code"`
	Details    struct {
		ErrorCount  int `json:"errorCount"`
		MessageList []struct {
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Rule       string `json:"rule"`
			Level      string `json:"level"`
			Error      bool   `json:"error"`
			Message    string `json:"message"`
			Diagnostic string `json:"diagnostic"`
			Documents  []struct {
				Schema string `json:"schema"`
				Name   string `json:"name"`
			} `json:"documents"`
		} `json:"messageList"`
	} `json:"details"`
}

func decodeStatus(t *testing.T, out string) statusDoc {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var st statusDoc
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("output is not the documented Status: %v\n%s", err, out)
	}
	return st
}

func TestValidateJSON(t *testing.T) {
	code, out, _ := drydock(t, "validate", "-o", "json", samples+"invalid_validation.yaml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	st := decodeStatus(t, out)
	if st.Kind != "Status" || st.APIVersion != "v1.0" || st.Status != "Failure" || st.Metadata == nil || st.Reason == "" || st.Message == "" {
		t.Errorf("status fields: %+v", st)
	}
	errs := 0
	for _, m := range st.Details.MessageList {
		if m.Kind != "ValidationMessage" || m.Name == "" || m.Rule == "" || m.Level == "" || m.Documents == nil {
			t.Errorf("message fields: %+v", m)
		}
		if m.Error {
			errs++
		}
	}
	if errs != st.Details.ErrorCount || errs != 30 {
		t.Errorf("errorCount %d, error messages %d, want 30", st.Details.ErrorCount, errs)
	}
	code, out, _ = drydock(t, "validate", "-o", "json", samples+"deckhand_fullsite.yaml")
	st = decodeStatus(t, out)
	if code != 0 || st.Status != "Success" || st.Details.ErrorCount != 0 {
		t.Errorf("valid design: exit %d %+v", code, st)
	}
	// A design that cannot be read still gives a Status in JSON mode, and exit 2.
	code, out, _ = drydock(t, "validate", "-o", "json", samples+"missing.yaml")
	st = decodeStatus(t, out)
	if code != 2 || st.Status != "Failure" || st.Reason != "DesignUnreadable" || st.Details.ErrorCount != 1 {
		t.Errorf("unreadable design: exit %d %+v", code, st)
	}
}

func TestValidateOnlyRule(t *testing.T) {
	_, out, _ := drydock(t, "validate", "-o", "json", "--rule", "net.mtu", "--rule", "DD1006", samples+"invalid_validation.yaml")
	st := decodeStatus(t, out)
	for _, m := range st.Details.MessageList {
		if m.Rule != "net.mtu" && m.Rule != "net.bond" && !strings.HasPrefix(m.Rule, "doc.") {
			t.Errorf("rule %s ran", m.Rule)
		}
	}
	if st.Details.ErrorCount != 6 {
		t.Errorf("want 4 MTU + 2 bond errors, got %d", st.Details.ErrorCount)
	}
}

// The design can come from an HTTP server, as from a site repository or Deckhand.
func TestValidateOverHTTP(t *testing.T) {
	site, err := os.ReadFile(samples + "deckhand_fullsite.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var token string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token = r.Header.Get("X-Auth-Token")
		if r.URL.Path != "/api/v1.0/revisions/1/rendered-documents" && r.URL.Path != "/site.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-yaml")
		_, _ = w.Write(site)
	}))
	defer srv.Close()
	if code, out, _ := drydock(t, "validate", srv.URL+"/site.yaml"); code != 0 || !strings.Contains(out, "VALID") {
		t.Errorf("http: exit %d\n%s", code, out)
	}
	deckhand := "deckhand+" + srv.URL + "/api/v1.0/revisions/1/rendered-documents"
	if code, out, _ := drydock(t, "validate", deckhand); code != 0 || !strings.Contains(out, "3 nodes") {
		t.Errorf("deckhand: exit %d\n%s", code, out)
	}
	if token != "" {
		t.Errorf("no token configured, none may be sent (got %q)", token)
	}
	code, _, errOut := drydock(t, "validate", srv.URL+"/missing.yaml")
	if code != 2 || !strings.Contains(errOut, "404") {
		t.Errorf("404: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = drydock(t, "validate", "http://user:s3cret@"+strings.TrimPrefix(srv.URL, "http://")+"/missing.yaml")
	if code != 2 || strings.Contains(errOut, "s3cret") {
		t.Errorf("credentials must not be printed: exit %d, stderr %q", code, errOut)
	}
}

func TestValidateDirectory(t *testing.T) {
	dir := t.TempDir()
	site, _ := os.ReadFile(samples + "deckhand_fullsite.yaml")
	parts := strings.SplitAfter(string(site), "\n---\n")
	for i, p := range parts {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".yaml"), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := drydock(t, "validate", dir)
	if code != 0 || !strings.Contains(out, "3 nodes") {
		t.Errorf("directory: exit %d\n%s", code, out)
	}
}

func TestRender(t *testing.T) {
	code, out, errOut := drydock(t, "render", "--node", "compute01", samples+"deckhand_fullsite.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"name: compute01", "fqdn: compute01.mgmt.sitename.example.com", "hardware_profile: HPGen9v3",
		"kernel_command_line: hugepagesz=1G hugepages=300 quiet console=ttyS2 isolcpus=2,4",
		"profile_chain:\n  - k8-node\n  - defaults", "selector_type: address",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("render output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "controller01") {
		t.Error("--node renders only that node")
	}
	if strings.Contains(out, "credential: admin") || !strings.Contains(out, "credential: '********'") {
		t.Error("OOB credentials are masked unless --show-secrets")
	}
	if _, out, _ = drydock(t, "render", "--show-secrets", "--node", "compute01", samples+"deckhand_fullsite.yaml"); !strings.Contains(out, "credential: admin") {
		t.Error("--show-secrets prints credentials")
	}
	code, out, _ = drydock(t, "render", "-o", "json", samples+"deckhand_fullsite.yaml")
	var doc struct {
		Nodes []struct {
			Name         string            `json:"name"`
			KernelParams map[string]string `json:"kernel_params"`
			Interfaces   []struct {
				Name  string `json:"device_name"`
				SRIOV *struct {
					VFCount int `json:"vf_count"`
				} `json:"sriov"`
			} `json:"interfaces"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("json render: exit %d, %v", code, err)
	}
	if len(doc.Nodes) != 3 || doc.Nodes[0].Name != "controller01" || doc.Nodes[1].KernelParams["isolcpus"] != "2,4" {
		t.Errorf("json render: %+v", doc.Nodes)
	}
	if code, _, _ := drydock(t, "render", "--node", "nope", samples+"deckhand_fullsite.yaml"); code != 2 {
		t.Errorf("unknown node: exit %d", code)
	}
	if code, _, _ := drydock(t, "render", samples+"invalid_bootaction.yaml"); code != 1 {
		t.Errorf("unreadable documents: exit %d", code)
	}
}
