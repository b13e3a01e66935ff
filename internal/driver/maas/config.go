package maas

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

// Config configures the MAAS driver. Zero values take the defaults.
type Config struct {
	// URL is MAAS's base URL, e.g. http://maas:5240/MAAS (the driver appends /api/2.0/; a URL
	// that already ends in /api/2.0 is accepted as well).
	URL string
	// APIKey is the MAAS API key "consumer_key:token_key:token_secret", given literally, or
	// read from APIKeyFile (first line, trailing newline dropped) or from the environment
	// variable APIKeyEnv; exactly one of the three must be set. It never appears in a message,
	// an error or a log.
	APIKey     oob.Secret
	APIKeyFile string
	APIKeyEnv  string

	// PollInterval is the RetryAfter of every wait (commissioning, deployment, release;
	// default 10s). The orchestrator enforces the overall timeouts.
	PollInterval time.Duration
	// Timeout bounds each HTTP request (default 60s).
	Timeout time.Duration
	// Attempts bounds the tries of an idempotent request (GET, PUT, DELETE) that fails
	// transiently: 503/502/504/429 or a connection error (default 4).
	Attempts int
	// Backoff is the first wait between tries, doubled each time, with jitter (default 500ms).
	Backoff time.Duration
	// MaxConcurrent bounds the requests in flight to MAAS (default 32).
	MaxConcurrent int
	// CacheTTL is how long site-wide lists (fabrics, subnets, tags, domains) read for node
	// steps are reused (default 30s; negative: never cached). PrepareSite always reads fresh.
	CacheTTL time.Duration

	// UseNodeOOBParams makes IdentifyNode set the machine's power type and parameters from
	// the node's oob settings (ipmi, redfish, libvirt → virsh).
	UseNodeOOBParams bool
	// SkipBMCConfig commissions with skip_bmc_config=1 (MAAS ≥ 2.7).
	SkipBMCConfig bool
	// Erase is the disk erasure Destroy asks for on release: "" or "none" (default), "quick",
	// "secure" or "full". A node's owner_data key erase_disks overrides it.
	Erase string
	// DeleteOnDestroy deletes the machine from MAAS once released (the original driver always
	// did; the machine must then be enlisted again by a PXE boot).
	DeleteOnDestroy bool

	// HTTPClient, when set, sends the requests (TLS settings, proxies, tests).
	HTTPClient *http.Client
	// Logger receives debug records of requests (method, path, status; never the key).
	Logger *slog.Logger
}

// Erase modes.
const (
	EraseNone   = "none"
	EraseQuick  = "quick"
	EraseSecure = "secure"
	EraseFull   = "full"
)

// EraseOwnerDataKey is the owner_data key by which a node asks for a disk erase mode.
const EraseOwnerDataKey = "erase_disks"

func (c Config) withDefaults() Config {
	if c.PollInterval <= 0 {
		c.PollInterval = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 4
	}
	if c.Backoff <= 0 {
		c.Backoff = 500 * time.Millisecond
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 32
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 30 * time.Second
	}
	if c.Erase == "" {
		c.Erase = EraseNone
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// apiKey is a parsed MAAS API key. It has no exported fields and prints masked.
type apiKey struct{ consumer, token, secret string }

func (apiKey) String() string   { return "xxxxx" }
func (apiKey) GoString() string { return "xxxxx" }

// resolveKey reads the key from the literal, the file or the environment.
func (c Config) resolveKey() (apiKey, error) {
	var raw string
	n := 0
	if c.APIKey.Reveal() != "" {
		raw = c.APIKey.Reveal()
		n++
	}
	if c.APIKeyFile != "" {
		n++
		b, err := os.ReadFile(c.APIKeyFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return apiKey{}, fmt.Errorf("maas: API key file %s: %v", c.APIKeyFile, err)
		}
		raw, _, _ = strings.Cut(string(b), "\n")
	}
	if c.APIKeyEnv != "" {
		n++
		v, ok := os.LookupEnv(c.APIKeyEnv)
		if !ok {
			return apiKey{}, fmt.Errorf("maas: environment variable %s (the API key) is not set", c.APIKeyEnv)
		}
		raw = v
	}
	switch n {
	case 0:
		return apiKey{}, errors.New("maas: no API key: set the key, a key file or a key environment variable")
	case 1:
	default:
		return apiKey{}, errors.New("maas: give the API key only once (literal, file or environment variable)")
	}
	parts := strings.Split(strings.TrimSpace(strings.TrimRight(raw, "\r\n")), ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return apiKey{}, errors.New("maas: the API key is not of the form consumer_key:token_key:token_secret")
	}
	return apiKey{parts[0], parts[1], parts[2]}, nil
}

// apiBase turns the configured URL into the API's base URL, ending in /api/2.0/.
func apiBase(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("maas: no URL configured")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("maas: URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("maas: URL %q must be http(s)://host[:port]/MAAS", raw)
	}
	if u.User != nil {
		return nil, errors.New("maas: the URL must not carry credentials; use the API key")
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/api/2.0") {
		p += "/api/2.0"
	}
	u.Path = p + "/"
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}
