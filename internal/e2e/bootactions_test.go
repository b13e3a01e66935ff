package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/examples"
	"github.com/drydock-go/drydock/internal/driver/simnode"
	"github.com/drydock-go/drydock/internal/task"
)

// The test's boot action: a file that tells the node which action it runs and where to
// report (rendered per node and action), and a unit that would run the client.
const helloAction = `---
schema: drydock/BootAction/v1
metadata: {schema: metadata/Document/v1, name: hello}
data:
  assets:
    - path: /etc/drydock/hello.env
      type: file
      permissions: '600'
      data_pipeline: [template]
      data: |
        NODE={{ .node.hostname }}
        ACTION_ID={{ .action.action_id }}
        REPORT_URL={{ .action.report_url }}
    - path: /etc/systemd/system/hello.service
      type: unit
      permissions: '644'
      data: |
        [Service]
        Type=oneshot
        ExecStart=/usr/local/bin/drydock-baclient -keyfile /etc/drydock/key -exec /usr/local/bin/hello
`

// node plays a deployed machine: it fetches its assets with its key, reads its action from
// them, and runs drydock-baclient (downloaded from the API) in exec mode with command.
func playNode(t *testing.T, dir, api, node string, client string, command ...string) {
	t.Helper()
	ba, err := simnode.Placed(filepath.Join(dir, "sim-nodes"), node)
	if err != nil {
		t.Fatalf("%s: no boot action context on its disk: %v", node, err)
	}
	get := func(kind string) map[string]string {
		req, _ := http.NewRequest(http.MethodGet, api+"/api/v1.0/bootactions/nodes/"+node+"/"+kind, nil)
		req.Header.Set("X-Bootaction-Key", ba.KeyHex())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s %s", node, kind, resp.Status, body)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		out := map[string]string{}
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
	files, units := get("files"), get("units")
	if !strings.Contains(units["/etc/systemd/system/hello.service"], "drydock-baclient") {
		t.Fatalf("%s units: %v", node, units)
	}
	env := map[string]string{}
	for _, line := range strings.Split(files["/etc/drydock/hello.env"], "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	if env["NODE"] != node || len(env["ACTION_ID"]) != 26 || !strings.HasSuffix(env["REPORT_URL"], "/api/v1.0/bootactions/") {
		t.Fatalf("%s: rendered hello.env: %v", node, env)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(ba.KeyHex()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-url", env["REPORT_URL"], "-id", env["ACTION_ID"], "-keyfile", keyFile, "--"}, command...)
	out, err := exec.Command(client, args...).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: drydock-baclient: %v\n%s", node, err, out)
	}
	t.Logf("%s: drydock-baclient %s: %v\n%s", node, strings.Join(command, " "), err, out)
}

// TestBootActionsEndToEnd deploys a site with a boot action through drydock serve; the test
// plays the nodes: two report success, one failure, one never reports. deploy_nodes must end
// with exactly those outcomes.
func TestBootActionsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	dir := t.TempDir()
	siteDir := filepath.Join(dir, "site")
	if err := os.MkdirAll(siteDir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := fs.WalkDir(examples.Site, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "50-bootactions.yaml" {
			return err
		}
		data, err := examples.Site.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(siteDir, filepath.Base(p)), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(siteDir, "50-bootactions.yaml"), []byte(helloAction), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, dir: dir, design: siteDir, config: filepath.Join(dir, "drydock.yaml"), nodes: 4}
	cfg := "data_dir: " + dir + "\nlisten: 127.0.0.1:0\norchestrator:\n  poll_interval: 50ms\n  retry_backoff: 50ms\n" +
		"bootactions:\n  timeout: 20s\n" +
		"sim:\n  boot_actions: none\n  latency:\n    enlist: 200ms\n    commission: 300ms\n    deploy: 300ms\n    power: 20ms\n"
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := s.serve("serve")
	defer srv.kill()
	api := s.waitAPI()

	// A node fetches the client from the API.
	resp, err := http.Get(api + "/api/v1.0/bootactions/baclient")
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		t.Fatalf("baclient download: %s (%d bytes)", resp.Status, len(bin))
	}
	client := filepath.Join(dir, "node-baclient")
	if err := os.WriteFile(client, bin, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, action := range []string{"prepare_site", "prepare_nodes"} {
		id := s.createTask(action)
		st := s.openStore()
		tk := waitFinal(t, st, 2*time.Minute, id)[0]
		st.Close()
		if tk.Result.Status != task.ResultSuccess {
			t.Fatalf("%s: %s %s", action, tk.Result.Status, tk.Result.Message)
		}
	}
	deploy := s.createTask("deploy_nodes")
	// The nodes: each plays its part once its context is on its disk and it is deployed.
	plays := map[string][]string{
		"ctl01": {"/bin/true"},
		"cmp01": {"/bin/sh", "-c", "echo configuring; exit 3"},
		"cmp03": {"/bin/sh", "-c", "echo configured"},
		// cmp02 never reports.
	}
	st := s.openStore()
	defer st.Close()
	deadline := time.Now().Add(90 * time.Second)
	for len(plays) > 0 && time.Now().Before(deadline) {
		ms, _ := s.simState()
		for _, m := range ms {
			if cmd, ok := plays[m.Name]; ok && m.Status == "Deployed" {
				playNode(t, dir, api, m.Name, client, cmd...)
				delete(plays, m.Name)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(plays) > 0 {
		t.Fatalf("nodes never deployed: %v", plays)
	}
	tk := waitFinal(t, st, 2*time.Minute, deploy)[0]
	if tk.Result.Status != task.ResultPartialSuccess {
		t.Errorf("deploy_nodes: %s %s", tk.Result.Status, tk.Result.Message)
	}
	if got := strings.Join(tk.Result.Successes, ","); got != "cmp03,ctl01" && got != "ctl01,cmp03" {
		t.Errorf("successes %v, want ctl01 and cmp03", tk.Result.Successes)
	}
	if got := strings.Join(tk.Result.Failures, ","); got != "cmp01,cmp02" && got != "cmp02,cmp01" {
		t.Errorf("failures %v, want cmp01 (reported failure) and cmp02 (timed out)", tk.Result.Failures)
	}
	want := map[string]string{"cmp01": "Boot action hello completed with status failure.", "cmp02": "Boot action hello timed out.",
		"ctl01": "Boot action hello completed with status success.", "cmp03": "Boot action hello completed with status success."}
	for node, text := range want {
		found := false
		for _, m := range tk.Result.Messages {
			if m.Context == node && m.Message == text {
				found = true
			}
		}
		if !found {
			t.Errorf("no message %q for %s", text, node)
		}
	}
	// The clients' own reports are on the deploy_node subtask, with their exit status.
	runs, err := st.ListStepRuns(context.Background(), deploy)
	if err != nil {
		t.Fatal(err)
	}
	for _, sr := range runs {
		if sr.Step == "bootaction_report" && sr.Node == "cmp02" && (sr.State != task.StepFailed || !strings.Contains(sr.Message, "timed out")) {
			t.Errorf("cmp02 bootaction_report: %s %s", sr.State, sr.Message)
		}
	}
	var deployNode *task.Task
	for _, id := range tk.SubtaskIDs {
		sub, err := st.GetTask(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Step == "deploy_node" {
			deployNode = sub
		}
	}
	if deployNode == nil {
		t.Fatal("no deploy_node subtask")
	}
	var texts []string
	for _, m := range deployNode.Result.Messages {
		if m.ContextType == task.ContextBootAction {
			texts = append(texts, m.Message)
		}
	}
	joined := strings.Join(texts, "\n")
	if strings.Count(joined, "Bootaction starting execution.") != 3 || !strings.Contains(joined, "exit status 3") {
		t.Errorf("the clients' messages on deploy_node:\n%s", joined)
	}
}
