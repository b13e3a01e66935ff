package kube

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Environment variables of the tests against a real API server.
const (
	// EnvAPIServer names the kube-apiserver binary (or a directory holding it, such as
	// scripts/kube-apiserver's cache); without it the tests that need a real server are skipped.
	EnvAPIServer = "DRYDOCK_KUBE_APISERVER"
	// EnvRequire=1 makes those tests fail instead of skipping.
	EnvRequire = "DRYDOCK_REQUIRE_KUBE"
)

const kubeHelp = `
************************************************************************************
** The Kubernetes driver tests need a real kube-apiserver (and Debian's etcd). To run them:
**   DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server
**   scripts/kube-apiserver build        # ~6 min the first time; cached afterwards
**   DRYDOCK_KUBE_APISERVER=$(scripts/kube-apiserver path) go test -race ./internal/driver/kube/
** The tests start their own etcd + kube-apiserver on free loopback ports through
** scripts/kube-apiserver and stop them at the end.
** With DRYDOCK_REQUIRE_KUBE=1 a missing kube-apiserver fails the tests instead of skipping them.
************************************************************************************`

// cluster is a running etcd + kube-apiserver started by scripts/kube-apiserver.
type cluster struct {
	dir, url string
	// rest configs per user: admin (system:masters), drydock (the ClusterRole), nobody.
	admin, drydock, nobody *rest.Config
	adminCS                *kubernetes.Clientset
	started                time.Duration
}

var shared struct {
	once sync.Once
	c    *cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		shared.c.stop()
		_ = os.RemoveAll(shared.c.dir)
	}
	os.Exit(code)
}

// apiserverBinary resolves $DRYDOCK_KUBE_APISERVER ("" when unset).
func apiserverBinary() (string, error) {
	p := os.Getenv(EnvAPIServer)
	if p == "" {
		return "", nil
	}
	for _, c := range []string{p, filepath.Join(p, "kube-apiserver"), filepath.Join(p, "v1.37.2", "kube-apiserver")} {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s=%s: no kube-apiserver binary there", EnvAPIServer, p)
}

// skipWithoutAPIServer skips (or, with DRYDOCK_REQUIRE_KUBE=1, fails) a test when no binary
// is configured, and returns the binary.
func skipWithoutAPIServer(t testing.TB) string {
	t.Helper()
	bin, err := apiserverBinary()
	if err != nil {
		t.Fatal(err)
	}
	if bin == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal("FAIL (" + EnvRequire + "=1): " + EnvAPIServer + " is not set" + kubeHelp)
		}
		t.Skip("SKIPPED: " + EnvAPIServer + " is not set" + kubeHelp)
	}
	return bin
}

// sharedCluster returns the package's API server, starting it at the first call.
func sharedCluster(t testing.TB) *cluster {
	t.Helper()
	bin := skipWithoutAPIServer(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "drydock-kube-test-")
		if err != nil {
			shared.err = err
			return
		}
		shared.c, shared.err = startCluster(bin, dir)
		if shared.err != nil {
			_ = os.RemoveAll(dir)
		}
		if shared.c != nil {
			fmt.Fprintf(os.Stderr, "kube test: API server %s ready in %s\n", shared.c.url, shared.c.started.Round(10*time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatalf("starting the test API server: %v", shared.err)
	}
	return shared.c
}

// ownCluster starts an API server for this test alone, stopped when the test ends.
func ownCluster(t testing.TB) *cluster {
	t.Helper()
	bin := skipWithoutAPIServer(t)
	c, err := startCluster(bin, t.TempDir())
	if err != nil {
		t.Fatalf("starting a test API server: %v", err)
	}
	t.Cleanup(c.stop)
	return c
}

func script() string {
	p, _ := filepath.Abs(filepath.Join("..", "..", "..", "scripts", "kube-apiserver"))
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startCluster(bin, dir string) (*cluster, error) {
	var lastErr error
	for try := 0; try < 3; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, script(), "start", dir, fmt.Sprint(port))
		cmd.Env = append(os.Environ(), EnvAPIServer+"="+bin)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			lastErr = fmt.Errorf("%s start %s %d: %v\n%s", script(), dir, port, err, out)
			if strings.Contains(string(out), "already in use") {
				continue
			}
			return nil, lastErr
		}
		c := &cluster{dir: dir, url: fmt.Sprintf("https://127.0.0.1:%d", port), started: time.Since(t0)}
		for _, u := range []struct {
			name string
			dst  **rest.Config
		}{{"admin", &c.admin}, {"drydock", &c.drydock}, {"nobody", &c.nobody}} {
			rc, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig(u.name))
			if err != nil {
				c.stop()
				return nil, err
			}
			*u.dst = rc
		}
		admin := rest.CopyConfig(c.admin)
		admin.QPS, admin.Burst = 500, 1000
		if c.adminCS, err = kubernetes.NewForConfig(admin); err != nil {
			c.stop()
			return nil, err
		}
		return c, nil
	}
	return nil, lastErr
}

func (c *cluster) kubeconfig(user string) string { return filepath.Join(c.dir, "kubeconfig-"+user) }

func (c *cluster) stop() {
	out, err := exec.Command(script(), "stop", c.dir).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "stopping the test API server on %s: %v\n%s", c.dir, err, out)
	}
}
