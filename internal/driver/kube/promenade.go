package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/tlsconf"
)

// Promenade defaults: the service type and interface the original looked up in the catalog.
const (
	PromenadeServiceType = "kubernetesprovisioner"
	PromenadeInterface   = "internal"
)

// PromenadeConfig configures the promenade mode. Zero values take the defaults.
type PromenadeConfig struct {
	// AuthURL is Keystone's identity v3 endpoint, e.g. http://keystone:5000/v3.
	AuthURL string
	// Username and Password authenticate Drydock (password method).
	Username string
	Password string
	// UserDomainName is the user's domain (default "Default").
	UserDomainName string
	// ProjectID or ProjectName (with ProjectDomainName, default "Default") scope the token;
	// neither: the user's default project, as with the original.
	ProjectID         string
	ProjectName       string
	ProjectDomainName string
	// Region restricts the catalog lookup (default: any region).
	Region string
	// ServiceType and Interface select the catalog endpoint (default kubernetesprovisioner and
	// internal).
	ServiceType string
	Interface   string
	// URL is Promenade's endpoint, used instead of the catalog when set.
	URL string
	// CAFile is a PEM bundle of CAs trusted for Keystone and Promenade (default: system roots);
	// Insecure skips certificate verification.
	CAFile   string
	Insecure bool
	// Attempts bounds the tries of a request that fails transiently (default 3), Backoff is the
	// first wait between them (default 1s, doubled each time), and RequestTimeout bounds each
	// request (default 30s).
	Attempts       int
	Backoff        time.Duration
	RequestTimeout time.Duration
}

func (c PromenadeConfig) withDefaults() PromenadeConfig {
	if c.UserDomainName == "" {
		c.UserDomainName = "Default"
	}
	if c.ProjectDomainName == "" {
		c.ProjectDomainName = "Default"
	}
	if c.ServiceType == "" {
		c.ServiceType = PromenadeServiceType
	}
	if c.Interface == "" {
		c.Interface = PromenadeInterface
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	return c
}

// Promenade is the promenade mode of the Kubernetes driver: it sends each node's owner_data to
// Airship Promenade as the original Drydock did (PUT {endpoint}/node-labels/{node}, the labels
// as a JSON object, an X-Auth-Token from Keystone); what happens to the node's labels is then
// Promenade's business. Unlike the original it authenticates once for all nodes (again only
// when a token is rejected or expires), keeps the endpoint's scheme and path, checks label keys
// and values before sending, retries only transient failures, and never lets one node's
// failure stop the others.
type Promenade struct {
	cfg PromenadeConfig
	hc  *http.Client

	mu       sync.Mutex
	provider *gophercloud.ProviderClient
	base     string // resolved endpoint, without a trailing slash
}

// NewPromenade checks the configuration and builds the driver; it makes no request (Keystone is
// asked for a token at the first call).
func NewPromenade(cfg PromenadeConfig) (*Promenade, error) {
	cfg = cfg.withDefaults()
	if cfg.AuthURL == "" || cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("promenade: Keystone auth_url, username and password are required")
	}
	if _, err := checkURL(cfg.AuthURL); err != nil {
		return nil, fmt.Errorf("promenade: Keystone auth_url: %w", err)
	}
	switch gophercloud.Availability(cfg.Interface) {
	case gophercloud.AvailabilityInternal, gophercloud.AvailabilityPublic, gophercloud.AvailabilityAdmin:
	default:
		return nil, fmt.Errorf("promenade: interface %q is not internal, public or admin", cfg.Interface)
	}
	p := &Promenade{cfg: cfg}
	if cfg.URL != "" {
		b, err := PromenadeBase(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("promenade: url: %w", err)
		}
		p.base = b
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tc, err := tlsconf.Client(cfg.CAFile, cfg.Insecure)
	if err != nil {
		return nil, fmt.Errorf("promenade: ca_file: %w", err)
	}
	tr.TLSClientConfig = tc
	p.hc = &http.Client{Transport: tr}
	return p, nil
}

// PromenadeBase turns a Promenade endpoint into the base its node-labels resource hangs off:
// the endpoint as it is (scheme, host and path kept) when its path ends in /v1.0, as Airship
// registers it (http://promenade-api.ucp.svc.cluster.local/api/v1.0); otherwise the endpoint
// with /api/v1.0 appended (http://promenade:80 → http://promenade:80/api/v1.0, which is where
// the original, which dropped the path, sent its requests).
func PromenadeBase(endpoint string) (string, error) {
	u, err := checkURL(endpoint)
	if err != nil {
		return "", err
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/v1.0") {
		p += "/api/v1.0"
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = p, "", "", ""
	return u.String(), nil
}

func checkURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", s)
	}
	return u, nil
}

// keystoneError is a failure to get a token or an endpoint.
type keystoneError struct {
	refused bool // Keystone answered (bad credentials, no such endpoint): not transient
	err     error
}

func (e *keystoneError) Error() string { return e.err.Error() }
func (e *keystoneError) Unwrap() error { return e.err }

// session returns the Keystone client (authenticated) and Promenade's base URL, authenticating
// and looking the endpoint up at the first call; later calls share them.
func (p *Promenade) session(ctx context.Context) (*gophercloud.ProviderClient, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil && p.base != "" {
		return p.provider, p.base, nil
	}
	if p.provider == nil {
		opts := gophercloud.AuthOptions{
			IdentityEndpoint: p.cfg.AuthURL, Username: p.cfg.Username, Password: p.cfg.Password,
			DomainName: p.cfg.UserDomainName, AllowReauth: true,
		}
		switch {
		case p.cfg.ProjectID != "":
			opts.Scope = &gophercloud.AuthScope{ProjectID: p.cfg.ProjectID}
		case p.cfg.ProjectName != "":
			opts.Scope = &gophercloud.AuthScope{ProjectName: p.cfg.ProjectName, DomainName: p.cfg.ProjectDomainName}
		}
		var provider *gophercloud.ProviderClient
		err := retry(ctx, p.cfg.Attempts, p.cfg.Backoff, p.cfg.RequestTimeout, keystoneTransient, func(ctx context.Context) error {
			var err error
			provider, err = openstack.NewClient(p.cfg.AuthURL)
			if err != nil {
				return &keystoneError{refused: true, err: err}
			}
			provider.HTTPClient = *p.hc
			provider.UserAgent.Prepend("drydock")
			return openstack.Authenticate(ctx, provider, opts)
		})
		if err != nil {
			var ke *keystoneError
			if !errors.As(err, &ke) {
				ke = &keystoneError{refused: !keystoneTransient(err), err: err}
			}
			ke.err = fmt.Errorf("keystone at %s: authenticating as %s: %w", p.cfg.AuthURL, p.cfg.Username, ke.err)
			return nil, "", ke
		}
		p.provider = provider
	}
	if p.base == "" {
		ep, err := p.provider.EndpointLocator(gophercloud.EndpointOpts{
			Type: p.cfg.ServiceType, Availability: gophercloud.Availability(p.cfg.Interface), Region: p.cfg.Region,
		})
		if err != nil {
			where := ""
			if p.cfg.Region != "" {
				where = " in region " + p.cfg.Region
			}
			return nil, "", &keystoneError{refused: true, err: fmt.Errorf("keystone catalog has no %s endpoint of service type %s%s: %w",
				p.cfg.Interface, p.cfg.ServiceType, where, err)}
		}
		b, err := PromenadeBase(ep)
		if err != nil {
			return nil, "", &keystoneError{refused: true, err: fmt.Errorf("keystone catalog: %s endpoint: %w", p.cfg.ServiceType, err)}
		}
		p.base = b
	}
	return p.provider, p.base, nil
}

func keystoneTransient(err error) bool {
	var ke *keystoneError
	if errors.As(err, &ke) {
		return !ke.refused
	}
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return ue.Actual >= 500 || ue.Actual == 429 || ue.Actual == 408
	}
	return !errors.Is(err, context.Canceled) && !certError(err)
}

// httpError is a non-2xx answer from Promenade.
type httpError struct {
	code int
	body string
}

func (e *httpError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

func httpTransient(err error) bool {
	if certError(err) {
		return false
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.code >= 500 || he.code == 429 || he.code == 408
	}
	return !errors.Is(err, context.Canceled)
}

// do sends one request with the current token (retrying transient failures); a 401 makes it
// re-authenticate once and send it once more.
func (p *Promenade) do(ctx context.Context, method, path string, body []byte) (string, error) {
	provider, base, err := p.session(ctx)
	if err != nil {
		return "", err
	}
	target := base + path
	send := func() (string, error) {
		tok := provider.Token()
		return tok, retry(ctx, p.cfg.Attempts, p.cfg.Backoff, p.cfg.RequestTimeout, httpTransient, func(ctx context.Context) error {
			var rd io.Reader
			if body != nil {
				rd = bytes.NewReader(body)
			}
			req, err := http.NewRequestWithContext(ctx, method, target, rd)
			if err != nil {
				return err
			}
			req.Header.Set("X-Auth-Token", tok)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("User-Agent", "drydock")
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := p.hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return &httpError{code: resp.StatusCode, body: strings.TrimSpace(string(msg))}
			}
			return nil
		})
	}
	tok, err := send()
	var he *httpError
	if errors.As(err, &he) && he.code == http.StatusUnauthorized {
		if rerr := provider.Reauthenticate(ctx, tok); rerr != nil {
			return target, &keystoneError{refused: !keystoneTransient(rerr),
				err: fmt.Errorf("Promenade rejected the token (401) and re-authenticating with Keystone failed: %w", rerr)}
		}
		_, err = send()
	}
	return target, err
}

// result turns a request's outcome into a Result.
func (p *Promenade) result(what string, target string, err error) driver.Result {
	var ke *keystoneError
	var he *httpError
	switch {
	case errors.As(err, &ke):
		if ke.refused {
			return driver.Fail("%s: %v", what, ke.err)
		}
		return driver.Unreach("%s: %v", what, ke.err)
	case errors.As(err, &he):
		switch {
		case he.code == http.StatusUnauthorized:
			return driver.Fail("%s: Promenade at %s rejected a fresh Keystone token (401 twice): %v", what, target, he)
		case he.code == http.StatusForbidden:
			return driver.Fail("%s: forbidden: Promenade at %s refused (the Keystone user lacks the role Promenade requires): %v", what, target, he)
		case httpTransient(he):
			return driver.Unreach("%s: Promenade at %s is failing (%d attempts): %v", what, target, p.cfg.Attempts, he)
		}
		return driver.Fail("%s: Promenade at %s refused: %v", what, target, he)
	case certError(err):
		return driver.Fail("%s: Promenade at %s: TLS (set ca_file to the CA that signed its certificate): %v", what, target, err)
	}
	return driver.Unreach("%s: Promenade at %s is unreachable (%d attempts): %v", what, target, p.cfg.Attempts, err)
}

// Relabel sends the node's owner_data to Promenade.
func (p *Promenade) Relabel(ctx context.Context, c driver.Call) driver.Result {
	n := c.Node
	if n == nil {
		return driver.Fail("relabel: no node given")
	}
	labels := DesiredLabels(n, false)
	if problems := ValidateLabels(n.Name, labels); len(problems) > 0 {
		return driver.Fail("%s (nothing was sent to Promenade)", strings.Join(problems, "; "))
	}
	body, err := json.Marshal(labels)
	if err != nil {
		return driver.Fail("node %s: encoding labels: %v", n.Name, err)
	}
	target, err := p.do(ctx, http.MethodPut, "/node-labels/"+url.PathEscape(n.Name), body)
	if err != nil {
		return p.result("node "+n.Name, target, err)
	}
	r := driver.OK("node %s: %d labels sent to Promenade at %s", n.Name, len(labels), target)
	r.Data = map[string]any{"labels": labels}
	return r
}

// ValidateServices gets a Keystone token, finds Promenade's endpoint and checks its health
// resource (GET {endpoint}/health).
func (p *Promenade) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	target, err := p.do(ctx, http.MethodGet, "/health", nil)
	if err != nil {
		return p.result("Promenade", target, err)
	}
	return driver.OK("Promenade at %s is healthy (Keystone token for %s)", strings.TrimSuffix(target, "/health"), p.cfg.Username)
}

// CheckHealth is ValidateServices as an error.
func (p *Promenade) CheckHealth(ctx context.Context) error {
	if r := p.ValidateServices(ctx, nil); r.Outcome != driver.Done {
		return errors.New(r.Message)
	}
	return nil
}
