package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "drydock.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	t.Setenv(EnvConfig, "")
	t.Setenv(EnvDataDir, "/tmp/dd")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/tmp/dd" || c.Drivers.Node != "sim" || c.Drivers.OOB != "sim" || c.Database.URL != "" {
		t.Fatalf("%+v", c)
	}
	if c.StorePath() != "/tmp/dd/drydock.db" || c.SimPath() != "/tmp/dd/sim.db" {
		t.Fatal(c.StorePath(), c.SimPath())
	}
}

func TestFileThenEnvironment(t *testing.T) {
	p := write(t, `data_dir: /var/lib/drydock
database:
  url: postgres://file@db/drydock
orchestrator:
  lease: 45s
  timeouts:
    deploy_node: 1h
  retries:
    deploy_node: 5
sim:
  latency:
    deploy: 250ms
  jitter: 0.2
`)
	t.Setenv(EnvDatabaseURL, "postgres://env@db/drydock")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/drydock" || c.Database.URL != "postgres://env@db/drydock" {
		t.Fatalf("environment overrides the file: %+v", c)
	}
	if c.Orchestrator.Lease.D() != 45*time.Second || c.Orchestrator.Timeouts["deploy_node"].D() != time.Hour ||
		c.Orchestrator.Retries["deploy_node"] != 5 || c.Sim.Latency["deploy"].D() != 250*time.Millisecond {
		t.Fatalf("%+v", c)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	cases := map[string]string{
		"orchestrator:\n  leese: 3s\n":   "leese",
		"orchestrator:\n  lease: soon\n": "not a duration",
		"drivers:\n  node: maas\n":       "drivers.node",
		"drivers:\n  kubernetes: k8s\n":  "drivers.kubernetes",
		"sim:\n  fail_rate: 2\n":         "sim.fail_rate",
		"sim:\n  jitter: 1.5\n":          "sim.jitter",
		"data_dir: ''\n":                 "data_dir",
		"database: [1]\n":                "line 1",
	}
	for text, want := range cases {
		t.Setenv(EnvDataDir, "")
		_, err := Load(write(t, text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %q", text, err, want)
		}
	}
	if _, err := Load("/no/such/config.yaml"); err == nil {
		t.Error("a missing configuration file is an error")
	}
	if _, err := Load(write(t, "")); err != nil {
		t.Errorf("an empty file is fine: %v", err)
	}
}

func TestKubernetesDriverSettings(t *testing.T) {
	ok := Default()
	ok.Drivers.Kubernetes = "kube"
	if err := ok.Validate(); err != nil {
		t.Errorf("kube: %v", err)
	}
	p := Default()
	p.Drivers.Kubernetes = "promenade"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "kubernetes.promenade: auth_url, username and a password") {
		t.Errorf("promenade without Keystone settings: %v", err)
	}
	// Empty promenade settings take api.keystone's.
	p.API.Keystone = Keystone{AuthURL: "http://ks/v3", Username: "drydock", PasswordFile: "/etc/pw"}
	if err := p.Validate(); err != nil {
		t.Errorf("promenade with api.keystone: %v", err)
	}
	bad := Default()
	bad.Drivers.Kubernetes = "k8s"
	bad.Kubernetes.QPS = -1
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), `"k8s" is not available (available: none, kube, promenade)`) || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("bad settings: %v", err)
	}
}
