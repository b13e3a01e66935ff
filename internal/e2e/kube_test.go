package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-go/drydock/internal/api/wire"
)

// TestRelabelThroughCLI: drydock serve with the Kubernetes driver against a real kube-apiserver
// (scripts/kube-apiserver: etcd + the apiserver with RBAC; Drydock uses a kubeconfig whose user
// has only the documented ClusterRole), the example site's nodes registered in the cluster, and
// `drydock task create -a relabel_nodes --block` as an operator runs it: every node then carries
// its design labels (owner_data), and a label another manager set survives.
func TestRelabelThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test: not in -short mode")
	}
	bin := os.Getenv("DRYDOCK_KUBE_APISERVER")
	if bin == "" {
		if os.Getenv("DRYDOCK_REQUIRE_KUBE") == "1" {
			t.Fatal("DRYDOCK_KUBE_APISERVER is not set (scripts/kube-apiserver build prints the path)")
		}
		t.Skip("SKIPPED: set DRYDOCK_KUBE_APISERVER=$(scripts/kube-apiserver path) to run against a real kube-apiserver")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	script := filepath.Join(root, "scripts", "kube-apiserver")
	kdir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	start := exec.Command(script, "start", kdir, fmt.Sprint(port))
	start.Env = append(os.Environ(), "DRYDOCK_KUBE_APISERVER="+bin)
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("starting kube-apiserver: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(script, "stop", kdir).Run() })

	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(kdir, "kubeconfig-admin"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes := []string{"ctl01", "cmp01", "cmp02", "cmp03"}
	for _, n := range nodes {
		labels := map[string]string{"kubernetes.io/hostname": n}
		if n == "cmp01" {
			labels["team"] = "storage" // set by someone else: must survive
		}
		if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	s := &site{t: t, dir: dir, design: filepath.Join(root, "examples", "site"), config: filepath.Join(dir, "drydock.yaml"), nodes: len(nodes)}
	cfg := "data_dir: " + dir + "\nlisten: 127.0.0.1:0\ndrivers:\n  kubernetes: kube\nkubernetes:\n  kubeconfig: " +
		filepath.Join(kdir, "kubeconfig-drydock") + "\norchestrator:\n  poll_interval: 50ms\n"
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := s.serve("serve")
	defer srv.kill()
	s.waitAPI()
	for _, action := range []string{"verify_site", "relabel_nodes"} {
		out, errOut, code := s.cli(nil, "task", "create", "-a", action, "-d", s.design, "--block", "--poll-interval", "200ms", "-o", "json")
		var tk wire.Task
		if code != 0 || json.Unmarshal([]byte(out), &tk) != nil || tk.Result.Status != "success" {
			t.Fatalf("%s: exit %d\n%s\n%s", action, code, out, errOut)
		}
	}
	want := map[string]map[string]string{
		"ctl01": {"site": "example", "role": "control"},
		"cmp01": {"site": "example", "role": "compute", "team": "storage"},
		"cmp02": {"site": "example", "role": "compute"},
		"cmp03": {"site": "example", "role": "compute"},
	}
	for _, n := range nodes {
		node, err := admin.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want[n] {
			if node.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q (labels %v)", n, k, node.Labels[k], v, node.Labels)
			}
		}
	}
}
