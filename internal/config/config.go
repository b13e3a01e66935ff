// Package config reads Drydock's configuration: a YAML file, then environment variables, then
// command-line flags (applied by the caller), each overriding the one before. Every setting
// has a default that runs Drydock on one machine with no set-up: the embedded SQLite store in
// the data directory and the simulated site.
//
// The file is decoded with the project's YAML library into typed structs with unknown keys
// rejected, so a misspelt setting is an error that names it rather than a silent default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	yaml "go.yaml.in/yaml/v4"
)

// Config is the whole configuration.
type Config struct {
	// DataDir holds the embedded store, the simulator's state and generated credentials.
	DataDir string `yaml:"data_dir"`
	// Listen is the API's listen address; "off" runs the orchestrator without the API.
	Listen       string       `yaml:"listen"`
	API          API          `yaml:"api"`
	Database     Database     `yaml:"database"`
	Drivers      Drivers      `yaml:"drivers"`
	OOB          OOB          `yaml:"oob"`
	Kubernetes   Kubernetes   `yaml:"kubernetes"`
	Orchestrator Orchestrator `yaml:"orchestrator"`
	BootActions  BootActions  `yaml:"bootactions"`
	MAAS         MAAS         `yaml:"maas"`
	Sim          Sim          `yaml:"sim"`
}

// MAAS configures the MAAS node driver (drivers.node: maas; docs/maas.md).
type MAAS struct {
	// URL is MAAS's base URL, e.g. http://maas.example:5240/MAAS.
	URL string `yaml:"url"`
	// The API key (consumer:token:secret): from api_key_file (preferred), the environment
	// variable named by api_key_env, or api_key; exactly one. $MAAS_API_KEY, when set, is used
	// when none of them is.
	APIKey     string `yaml:"api_key"`
	APIKeyFile string `yaml:"api_key_file"`
	APIKeyEnv  string `yaml:"api_key_env"`
	// PollInterval is the wait between two looks at a machine in a long operation (10s).
	PollInterval Duration `yaml:"poll_interval"`
	// RequestTimeout bounds each request (60s); Attempts the tries of an idempotent request (4).
	RequestTimeout Duration `yaml:"request_timeout"`
	Attempts       int      `yaml:"attempts"`
	// MaxConcurrent bounds the requests in flight to MAAS (32).
	MaxConcurrent int `yaml:"max_concurrent"`
	// UseNodeOOBParams sets each machine's power parameters from the node's oob section.
	UseNodeOOBParams bool `yaml:"use_node_oob_params"`
	// SkipBMCConfig commissions without letting MAAS configure the BMC.
	SkipBMCConfig bool `yaml:"skip_bmc_config"`
	// Erase is the disk erasure on destroy_nodes: none (default), quick, secure or full.
	Erase string `yaml:"erase"`
	// DeleteOnDestroy deletes released machines from MAAS.
	DeleteOnDestroy bool   `yaml:"delete_on_destroy"`
	CAFile          string `yaml:"ca_file"`
	Insecure        bool   `yaml:"insecure"`
}

// BootActions configures boot actions (docs/bootactions.md).
type BootActions struct {
	// ReportURL is the boot action API's base URL as the nodes reach it, handed to them and
	// rendered into their assets as action.report_url. Default: the API's own address
	// (http://<listen>/api/v1.0/bootactions/), which only works when nodes can reach it.
	ReportURL string `yaml:"report_url"`
	// Timeout bounds the wait of deploy_nodes for the nodes' reports (default 15m; the same
	// as orchestrator.timeouts.bootaction_report).
	Timeout Duration `yaml:"timeout"`
	// BaclientPath is the drydock-baclient binary served to nodes at
	// /api/v1.0/bootactions/baclient. Default: drydock-baclient next to the drydock
	// executable, when it exists.
	BaclientPath string `yaml:"baclient_path"`
}

// API configures the REST API of drydock serve.
type API struct {
	// Auth is the authentication mode: tokens (default: static bearer tokens, plus the admin
	// token created in the data directory), keystone, or none (development only; refused on a
	// non-loopback address).
	Auth string `yaml:"auth"`
	// TokensFile lists further static tokens (see docs/api.md).
	TokensFile string `yaml:"tokens_file"`
	// PolicyFile overrides policy rules (rule name: expression).
	PolicyFile string `yaml:"policy_file"`
	// MaxBody limits request bodies in bytes (default 1 MiB).
	MaxBody int64 `yaml:"max_body"`
	// DesignRoots, when set, are the only directories file design references may name.
	DesignRoots []string `yaml:"design_roots"`
	// CertFile and KeyFile enable TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Keystone configures token validation when auth is keystone.
	Keystone Keystone `yaml:"keystone"`
}

// Keystone is Drydock's own service account in Keystone, used to validate callers' tokens.
type Keystone struct {
	AuthURL  string `yaml:"auth_url"`
	Username string `yaml:"username"`
	// Password; prefer $DRYDOCK_KEYSTONE_PASSWORD or password_file to keep it out of the file.
	Password          string   `yaml:"password"`
	PasswordFile      string   `yaml:"password_file"`
	UserDomainName    string   `yaml:"user_domain_name"`
	ProjectName       string   `yaml:"project_name"`
	ProjectDomainName string   `yaml:"project_domain_name"`
	CacheFor          Duration `yaml:"cache_for"`
	CAFile            string   `yaml:"ca_file"`
	Insecure          bool     `yaml:"insecure"`
}

// Database selects the store.
type Database struct {
	// URL of a PostgreSQL database (postgres://user@host:5432/db?sslmode=disable). Empty: the
	// embedded SQLite store, <data_dir>/drydock.db.
	URL string `yaml:"url"`
}

// Drivers selects the drivers.
type Drivers struct {
	// Node is the node driver: sim (default).
	Node string `yaml:"node"`
	// OOB selects the out-of-band drivers: sim (default: the simulated BMCs serve every
	// oob.type), real (ipmi, redfish, libvirt and manual nodes through their protocols), or none.
	OOB string `yaml:"oob"`
	// Kubernetes is the Kubernetes driver: none (default; relabel_nodes then fails saying so),
	// kube (server-side apply through the Kubernetes API) or promenade (Airship's Promenade).
	Kubernetes string `yaml:"kubernetes"`
}

// Orchestrator tunes the orchestrator.
type Orchestrator struct {
	// ID names this instance in task leases (default: hostname-pid).
	ID           string              `yaml:"id"`
	Lease        Duration            `yaml:"lease"`
	PollInterval Duration            `yaml:"poll_interval"`
	MaxTasks     int                 `yaml:"max_tasks"`
	DriverCalls  int                 `yaml:"driver_calls"`
	RetryBackoff Duration            `yaml:"retry_backoff"`
	NodeWait     Duration            `yaml:"node_wait"`
	Timeouts     map[string]Duration `yaml:"timeouts"`
	Retries      map[string]int      `yaml:"retries"`
}

// OOB tunes the real out-of-band drivers (drivers.oob: real).
type OOB struct {
	// PowerTimeout bounds the wait for a power change to show (default 3m).
	PowerTimeout Duration `yaml:"power_timeout"`
	// PollInterval is the wait between power state reads (default 2s).
	PollInterval Duration `yaml:"poll_interval"`
	// Attempts bounds the tries of a request that fails transiently (default 3).
	Attempts int `yaml:"attempts"`
	// Backoff is the first wait between tries, doubled each time (default 1s).
	Backoff Duration `yaml:"backoff"`
	// RequestTimeout bounds each request to a BMC (default 30s).
	RequestTimeout Duration `yaml:"request_timeout"`
	// MaxConcurrent bounds the BMC operations in flight per oob.type (default 64).
	MaxConcurrent int        `yaml:"max_concurrent"`
	IPMI          OOBIPMI    `yaml:"ipmi"`
	Redfish       OOBRedfish `yaml:"redfish"`
	Libvirt       OOBLibvirt `yaml:"libvirt"`
}

// OOBIPMI configures the IPMI driver.
type OOBIPMI struct {
	// CipherSuite is the RMCP+ cipher suite (default 3); a node's oob cipher_suite overrides it.
	CipherSuite int `yaml:"cipher_suite"`
}

// OOBRedfish configures the Redfish driver.
type OOBRedfish struct {
	// HTTP talks plain http instead of https (lab BMCs and simulators only).
	HTTP bool `yaml:"http"`
	// CAFile is a PEM bundle of the CAs trusted for BMC certificates (default: system roots).
	CAFile string `yaml:"ca_file"`
	// Insecure skips certificate verification (explicit; never the default).
	Insecure bool `yaml:"insecure"`
	// BasicAuth uses HTTP basic authentication instead of a Redfish session.
	BasicAuth bool `yaml:"basic_auth"`
}

// OOBLibvirt configures the libvirt driver.
type OOBLibvirt struct {
	// Socket overrides the local libvirtd socket for qemu:///system.
	Socket string `yaml:"socket"`
	// SSHKeyFile, SSHKnownHosts and SSHInsecure configure qemu+ssh:// connections.
	SSHKeyFile    string `yaml:"ssh_key_file"`
	SSHKnownHosts string `yaml:"ssh_known_hosts"`
	SSHInsecure   bool   `yaml:"ssh_insecure"`
}

// Kubernetes configures the Kubernetes driver (docs/kubernetes.md).
type Kubernetes struct {
	// Kubeconfig is the kubeconfig file (default $KUBECONFIG, else in-cluster configuration).
	Kubeconfig     string   `yaml:"kubeconfig"`
	Context        string   `yaml:"context"`
	NodeWait       Duration `yaml:"node_wait"`
	PollInterval   Duration `yaml:"poll_interval"`
	Attempts       int      `yaml:"attempts"`
	Backoff        Duration `yaml:"backoff"`
	RequestTimeout Duration `yaml:"request_timeout"`
	// ForceConflicts lets the design take over labels another field manager set to other values.
	ForceConflicts bool `yaml:"force_conflicts"`
	// DesignLabels adds drydock.io/rack and drydock.io/tag-<tag> labels.
	DesignLabels bool      `yaml:"design_labels"`
	QPS          float32   `yaml:"qps"`
	Burst        int       `yaml:"burst"`
	Promenade    Promenade `yaml:"promenade"`
}

// Promenade is the original Airship contract: a Keystone token, Promenade's endpoint from the
// service catalog (or URL), PUT node-labels/{node}. Empty Keystone fields take api.keystone's.
type Promenade struct {
	AuthURL           string `yaml:"auth_url"`
	Username          string `yaml:"username"`
	Password          string `yaml:"password"`
	PasswordFile      string `yaml:"password_file"`
	UserDomainName    string `yaml:"user_domain_name"`
	ProjectID         string `yaml:"project_id"`
	ProjectName       string `yaml:"project_name"`
	ProjectDomainName string `yaml:"project_domain_name"`
	Region            string `yaml:"region"`
	ServiceType       string `yaml:"service_type"`
	Interface         string `yaml:"interface"`
	URL               string `yaml:"url"`
	CAFile            string `yaml:"ca_file"`
	Insecure          bool   `yaml:"insecure"`
}

// Sim configures the simulated site.
type Sim struct {
	// Latency of simulated operations by name (power, set_boot, enlist, commission, apply,
	// deploy, release, identify).
	Latency map[string]Duration `yaml:"latency"`
	// Jitter spreads every latency over ±Jitter of its value (0 ≤ jitter < 1).
	Jitter float64 `yaml:"jitter"`
	// Seed makes fault injection and jitter reproducible.
	Seed int64 `yaml:"seed"`
	// Shared lets several drydock processes drive the same simulated site (for
	// multi-instance set-ups); slower than the default single-process mode.
	Shared bool `yaml:"shared"`
	// FailRate, HangRate and FlapRate inject faults into every operation (0..1).
	FailRate float64 `yaml:"fail_rate"`
	HangRate float64 `yaml:"hang_rate"`
	FlapRate float64 `yaml:"flap_rate"`
	// BootActions says what simulated nodes do with their boot actions once deployed: report
	// (fetch the assets from the boot action API and report success; the default with the
	// simulated node driver, and the setting to use with another driver whose machines are
	// simulated, such as MAAS emulated by drydock sim maas) or none (never report: real
	// nodes, or someone else plays the node; the default with other node drivers).
	BootActions string `yaml:"boot_actions"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use e.g. 30s, 5m, 1h)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Default returns the defaults.
func Default() Config {
	return Config{
		DataDir: defaultDataDir(),
		Listen:  "127.0.0.1:9000",
		API:     API{Auth: "tokens"},
		Drivers: Drivers{Node: "sim", OOB: "sim", Kubernetes: "none"},
	}
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "drydock")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "drydock")
	}
	return "drydock-data"
}

// Environment variables read by Load.
const (
	EnvConfig      = "DRYDOCK_CONFIG"
	EnvDataDir     = "DRYDOCK_DATA_DIR"
	EnvDatabaseURL = "DRYDOCK_DATABASE_URL"
	EnvListen      = "DRYDOCK_LISTEN"
	EnvNodeDriver  = "DRYDOCK_NODE_DRIVER"
	EnvOOBDriver   = "DRYDOCK_OOB_DRIVER"
	EnvKubeDriver  = "DRYDOCK_KUBERNETES_DRIVER"
	EnvAuth        = "DRYDOCK_AUTH"
	EnvKeystonePW  = "DRYDOCK_KEYSTONE_PASSWORD"
	EnvPromenadePW = "DRYDOCK_PROMENADE_PASSWORD"
)

// Load reads the file at path (or $DRYDOCK_CONFIG; none is fine) over the defaults, then the
// environment.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		path = os.Getenv(EnvConfig)
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	env := func(name string, dst *string) {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			*dst = v
		}
	}
	env(EnvDataDir, &c.DataDir)
	env(EnvDatabaseURL, &c.Database.URL)
	env(EnvListen, &c.Listen)
	env(EnvNodeDriver, &c.Drivers.Node)
	env(EnvOOBDriver, &c.Drivers.OOB)
	env(EnvKubeDriver, &c.Drivers.Kubernetes)
	env(EnvAuth, &c.API.Auth)
	env(EnvKeystonePW, &c.API.Keystone.Password)
	env(EnvPromenadePW, &c.Kubernetes.Promenade.Password)
	return c, c.Validate()
}

// Validate checks the settings that can be wrong.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir must not be empty"))
	}
	switch c.Drivers.Node {
	case "sim", "none":
	case "maas":
		if c.MAAS.URL == "" {
			errs = append(errs, errors.New("maas.url is required when drivers.node is maas"))
		} else if u, err := url.Parse(c.MAAS.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("maas.url: %q is not an http(s) URL", c.MAAS.URL))
		}
		n := 0
		for _, v := range []string{c.MAAS.APIKey, c.MAAS.APIKeyFile, c.MAAS.APIKeyEnv} {
			if v != "" {
				n++
			}
		}
		if n > 1 {
			errs = append(errs, errors.New("maas: give one of api_key, api_key_file and api_key_env"))
		}
		switch c.MAAS.Erase {
		case "", "none", "quick", "secure", "full":
		default:
			errs = append(errs, fmt.Errorf("maas.erase: %q is not an erase mode (none, quick, secure, full)", c.MAAS.Erase))
		}
	default:
		errs = append(errs, fmt.Errorf("drivers.node: %q is not available (available: sim, maas, none)", c.Drivers.Node))
	}
	if c.Drivers.OOB != "sim" && c.Drivers.OOB != "real" && c.Drivers.OOB != "none" {
		errs = append(errs, fmt.Errorf("drivers.oob: %q is not available (available: sim, real, none)", c.Drivers.OOB))
	}
	switch c.Drivers.Kubernetes {
	case "", "none", "kube":
	case "promenade":
		p, k := c.Kubernetes.Promenade, c.API.Keystone // empty promenade fields take api.keystone's
		if first(p.AuthURL, k.AuthURL) == "" || first(p.Username, k.Username) == "" ||
			first(p.Password, p.PasswordFile, k.Password, k.PasswordFile) == "" {
			errs = append(errs, errors.New("kubernetes.promenade: auth_url, username and a password (password, password_file or $"+EnvPromenadePW+"; default: api.keystone's) are required when drivers.kubernetes is promenade"))
		}
	default:
		errs = append(errs, fmt.Errorf("drivers.kubernetes: %q is not available (available: none, kube, promenade)", c.Drivers.Kubernetes))
	}
	if c.Kubernetes.NodeWait < 0 || c.Kubernetes.Attempts < 0 || c.Kubernetes.QPS < 0 || c.Kubernetes.Burst < 0 {
		errs = append(errs, errors.New("kubernetes: node_wait, attempts, qps and burst must not be negative"))
	}
	switch c.API.Auth {
	case "tokens", "none":
	case "keystone":
		k := c.API.Keystone
		if k.AuthURL == "" || k.Username == "" || (k.Password == "" && k.PasswordFile == "") {
			errs = append(errs, errors.New("api.keystone: auth_url, username and a password (password, password_file or $"+EnvKeystonePW+") are required when api.auth is keystone"))
		}
	default:
		errs = append(errs, fmt.Errorf("api.auth: %q is not an authentication mode (tokens, keystone or none)", c.API.Auth))
	}
	if (c.API.CertFile == "") != (c.API.KeyFile == "") {
		errs = append(errs, errors.New("api: cert_file and key_file must be given together"))
	}
	if c.API.MaxBody < 0 {
		errs = append(errs, errors.New("api.max_body must not be negative"))
	}
	switch c.Sim.BootActions {
	case "", "report", "none":
	default:
		errs = append(errs, fmt.Errorf("sim.boot_actions: %q is not a mode (report or none)", c.Sim.BootActions))
	}
	if u := c.BootActions.ReportURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("bootactions.report_url: %q is not an http(s) URL", u))
		}
	}
	if c.BootActions.Timeout < 0 {
		errs = append(errs, errors.New("bootactions.timeout must not be negative"))
	}
	if c.Sim.Jitter < 0 || c.Sim.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("sim.jitter: %v is not in [0, 1)", c.Sim.Jitter))
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"sim.fail_rate", c.Sim.FailRate}, {"sim.hang_rate", c.Sim.HangRate}, {"sim.flap_rate", c.Sim.FlapRate}} {
		if r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s: %s is not between 0 and 1", r.name, strconv.FormatFloat(r.v, 'g', -1, 64)))
		}
	}
	return errors.Join(errs...)
}

// StorePath is the embedded store's file.
func (c Config) StorePath() string { return filepath.Join(c.DataDir, "drydock.db") }

// SimPath is the simulator's state file.
func (c Config) SimPath() string { return filepath.Join(c.DataDir, "sim.db") }

// SimNodesDir is where the simulated machines keep what was placed on their disks.
func (c Config) SimNodesDir() string { return filepath.Join(c.DataDir, "sim-nodes") }

// first returns the first non-empty string.
func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
