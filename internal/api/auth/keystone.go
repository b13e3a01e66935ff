package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/drydock-go/drydock/internal/tlsconf"
)

// KeystoneConfig configures the Keystone authenticator.
type KeystoneConfig struct {
	// AuthURL is Keystone's identity endpoint, e.g. "http://keystone:5000/v3".
	AuthURL string
	// Username and Password are Drydock's own service user. It needs the right to validate
	// other users' tokens (Keystone's identity:validate_token policy: admin or service role).
	Username string
	Password string
	// UserDomainName is the service user's domain (default "Default").
	UserDomainName string
	// ProjectName scopes the service user's token; empty means the user's default project.
	ProjectName string
	// ProjectDomainName is the project's domain (default "Default").
	ProjectDomainName string
	// CacheFor is how long a validated token is trusted without asking Keystone again
	// (never longer than the token's own expiry). 0 means the default, 60s; a negative value
	// disables the cache, so every request is validated with Keystone.
	CacheFor time.Duration
	// Timeout bounds each HTTP request to Keystone (default 10s).
	Timeout time.Duration
	// CAFile is a PEM bundle of the CAs trusted for Keystone's TLS certificate (instead of the
	// system roots). Insecure skips certificate verification (testing only).
	CAFile   string
	Insecure bool
}

const (
	defaultKeystoneCacheFor = 60 * time.Second
	defaultKeystoneTimeout  = 10 * time.Second
	// keystoneCacheMax bounds the validation cache.
	keystoneCacheMax = 10000
	// keystoneMaxTokenLen bounds the tokens sent to Keystone; fernet tokens are ~200 bytes.
	keystoneMaxTokenLen = 8192
)

// Keystone authenticates requests by validating their token with OpenStack Keystone (identity
// API v3, GET /v3/auth/tokens), like keystonemiddleware's auth_token did for the original
// Drydock. Drydock's own service user (KeystoneConfig) authenticates the validation requests;
// gophercloud renews its token when it expires.
//
// The Identity comes from the validated token: user name and id, the user's domain id, the
// scoped project and its domain id, the role names and is_admin_project. Keystone only sets
// is_admin_project when it has an admin project configured ([resource] admin_project_name);
// without it, a project-scoped token counts as an admin-project token, as keystonemiddleware
// (keystoneauth) decided for the original Drydock, and a domain-scoped or unscoped one does
// not.
//
// Successful validations are cached in memory, keyed by the token's SHA-256 (never the token
// itself), for KeystoneConfig.CacheFor but never past the token's expiry. Failures are not
// cached. The trade-off: a token revoked in Keystone is still accepted until its cache entry
// expires (at most CacheFor, 60s by default); set CacheFor negative to validate every request
// with Keystone at the cost of one Keystone round trip per request. While caching, concurrent
// requests with the same uncached token share a single validation.
//
// Keystone is safe for concurrent use. It never logs tokens or the password, nor puts them in
// errors.
type Keystone struct {
	identity *gophercloud.ServiceClient
	cacheFor time.Duration // <= 0: no cache
	now      func() time.Time

	mu       sync.Mutex
	cache    map[[sha256.Size]byte]keystoneEntry
	inflight map[[sha256.Size]byte]*keystoneCall
}

type keystoneEntry struct {
	id      *Identity
	expires time.Time
}

// keystoneCall is one validation in progress that concurrent requests for the same token wait
// for.
type keystoneCall struct {
	done chan struct{}
	id   *Identity
	err  error
	// abandoned: the validating request's own context ended, so err says nothing about the
	// token.
	abandoned bool
}

var _ Authenticator = (*Keystone)(nil)

// NewKeystone authenticates Drydock's service user with Keystone and returns the
// authenticator. It fails when Keystone is unreachable (the error wraps ErrUnavailable) or
// rejects the credentials.
func NewKeystone(ctx context.Context, c KeystoneConfig) (*Keystone, error) {
	if c.AuthURL == "" {
		return nil, errors.New("keystone: no auth URL configured")
	}
	if c.Username == "" || c.Password == "" {
		return nil, errors.New("keystone: the service username and password are required")
	}
	if c.UserDomainName == "" {
		c.UserDomainName = "Default"
	}
	if c.ProjectDomainName == "" {
		c.ProjectDomainName = "Default"
	}
	if c.CacheFor == 0 {
		c.CacheFor = defaultKeystoneCacheFor
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultKeystoneTimeout
	}

	transport := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = dt.Clone()
	}
	if c.CAFile != "" || c.Insecure {
		tc, err := tlsconf.Client(c.CAFile, c.Insecure)
		if err != nil {
			return nil, fmt.Errorf("keystone: %w", err)
		}
		transport.TLSClientConfig = tc
	}

	provider, err := openstack.NewClient(c.AuthURL)
	if err != nil {
		return nil, fmt.Errorf("keystone: bad auth URL %q: %w", c.AuthURL, err)
	}
	provider.HTTPClient = http.Client{Transport: transport, Timeout: c.Timeout}
	provider.UserAgent.Prepend("drydock")

	opts := gophercloud.AuthOptions{
		IdentityEndpoint: c.AuthURL,
		Username:         c.Username,
		Password:         c.Password,
		DomainName:       c.UserDomainName,
		AllowReauth:      true,
	}
	if c.ProjectName != "" {
		opts.Scope = &gophercloud.AuthScope{ProjectName: c.ProjectName, DomainName: c.ProjectDomainName}
	}
	what := fmt.Sprintf("keystone: authenticating service user %q (domain %q", c.Username, c.UserDomainName)
	if c.ProjectName != "" {
		what += fmt.Sprintf(", project %q in domain %q", c.ProjectName, c.ProjectDomainName)
	}
	what += ") at " + c.AuthURL
	if err := openstack.Authenticate(ctx, provider, opts); err != nil {
		switch {
		case gophercloud.ResponseCodeIs(err, http.StatusUnauthorized):
			// Keystone answers 401 for a wrong password and for a project the user has no
			// role on (or that does not exist).
			return nil, errors.New(what + ": Keystone rejected the credentials or the project scope (HTTP 401)")
		case gophercloud.ResponseCodeIs(err, http.StatusNotFound):
			// Unknown project or domain in the scope.
			return nil, errors.New(what + ": the project or domain was not found (HTTP 404)")
		}
		return nil, keystoneClassify(what, err, c.Password)
	}

	idc, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		return nil, fmt.Errorf("keystone: identity v3 client: %w", err)
	}
	k := &Keystone{identity: idc, cacheFor: c.CacheFor, now: time.Now}
	if k.cacheFor > 0 {
		k.cache = make(map[[sha256.Size]byte]keystoneEntry)
		k.inflight = make(map[[sha256.Size]byte]*keystoneCall)
	}
	return k, nil
}

// Name implements Authenticator.
func (k *Keystone) Name() string { return "keystone" }

// Authenticate implements Authenticator: it validates the request's token with Keystone, or
// finds it in the cache.
func (k *Keystone) Authenticate(ctx context.Context, r *http.Request) (*Identity, error) {
	tok := Token(r)
	if tok == "" {
		return nil, ErrNoCredentials
	}
	if !keystonePlausibleToken(tok) {
		return nil, fmt.Errorf("keystone: malformed token: %w", ErrInvalidToken)
	}
	if k.cacheFor <= 0 {
		id, _, err := k.validate(ctx, tok)
		return id, err
	}

	key := sha256.Sum256([]byte(tok))
	for {
		k.mu.Lock()
		if e, ok := k.cache[key]; ok {
			if k.now().Before(e.expires) {
				k.mu.Unlock()
				return keystoneClone(e.id), nil
			}
			delete(k.cache, key)
		}
		if call, ok := k.inflight[key]; ok {
			k.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("keystone: validating token: %w: %w", ErrUnavailable, ctx.Err())
			}
			if call.abandoned && ctx.Err() == nil {
				continue // validate it ourselves
			}
			return keystoneClone(call.id), call.err
		}
		call := &keystoneCall{done: make(chan struct{})}
		k.inflight[key] = call
		k.mu.Unlock()

		id, expires, err := k.validate(ctx, tok)
		call.id, call.err = id, err
		call.abandoned = err != nil && ctx.Err() != nil

		k.mu.Lock()
		delete(k.inflight, key)
		if err == nil {
			until := k.now().Add(k.cacheFor)
			if !expires.IsZero() && expires.Before(until) {
				until = expires
			}
			k.put(key, keystoneEntry{id: id, expires: until})
		}
		k.mu.Unlock()
		close(call.done)
		return keystoneClone(id), err
	}
}

// put adds an entry to the cache, making room if it is full. k.mu must be held.
func (k *Keystone) put(key [sha256.Size]byte, e keystoneEntry) {
	if len(k.cache) >= keystoneCacheMax {
		now := k.now()
		for kk, v := range k.cache {
			if !now.Before(v.expires) {
				delete(k.cache, kk)
			}
		}
		// Still full: drop arbitrary entries (map order); they are only re-validated.
		for kk := range k.cache {
			if len(k.cache) < keystoneCacheMax {
				break
			}
			delete(k.cache, kk)
		}
	}
	k.cache[key] = e
}

// keystoneToken is the part of a token validation response Drydock uses.
type keystoneToken struct {
	ExpiresAt time.Time `json:"expires_at"`
	User      *struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Domain struct {
			ID string `json:"id"`
		} `json:"domain"`
	} `json:"user"`
	Project *struct {
		ID     string `json:"id"`
		Domain struct {
			ID string `json:"id"`
		} `json:"domain"`
	} `json:"project"`
	Roles []struct {
		Name string `json:"name"`
	} `json:"roles"`
	// IsAdminProject is not exposed by gophercloud's tokens package; absent when Keystone has
	// no admin project configured.
	IsAdminProject *bool `json:"is_admin_project"`
}

// validate asks Keystone about tok and returns its identity and expiry.
func (k *Keystone) validate(ctx context.Context, tok string) (*Identity, time.Time, error) {
	const what = "keystone: validating token"
	res := tokens.Get(ctx, k.identity, tok)
	if res.Err != nil {
		// A 404 (or a 401 that persists after the service user re-authenticated) is about the
		// subject token. A failed re-authentication is not unwrapped by gophercloud, so it
		// does not match here and counts as unavailable.
		for _, code := range []int{http.StatusNotFound, http.StatusUnauthorized} {
			if gophercloud.ResponseCodeIs(res.Err, code) {
				return nil, time.Time{}, fmt.Errorf("%s: Keystone rejected it (HTTP %d): %w", what, code, ErrInvalidToken)
			}
		}
		return nil, time.Time{}, keystoneClassify(what, res.Err, tok)
	}
	var t keystoneToken
	if err := res.ExtractInto(&t); err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: decoding Keystone's response: %w: %w", what, ErrUnavailable, err)
	}
	if t.User == nil || t.User.ID == "" {
		return nil, time.Time{}, fmt.Errorf("%s: Keystone's response names no user: %w", what, ErrUnavailable)
	}
	if t.ExpiresAt.IsZero() {
		return nil, time.Time{}, fmt.Errorf("%s: Keystone's response has no expiry: %w", what, ErrUnavailable)
	}
	if !k.now().Before(t.ExpiresAt) {
		return nil, time.Time{}, fmt.Errorf("%s: expired at %s: %w", what, t.ExpiresAt.UTC().Format(time.RFC3339), ErrInvalidToken)
	}
	id := &Identity{
		User:         t.User.Name,
		UserID:       t.User.ID,
		UserDomainID: t.User.Domain.ID,
		Roles:        make([]string, 0, len(t.Roles)),
	}
	if t.Project != nil {
		id.ProjectID = t.Project.ID
		id.ProjectDomainID = t.Project.Domain.ID
		// keystoneauth's default for project-scoped tokens (what keystonemiddleware passed
		// on as X-Is-Admin-Project).
		id.IsAdminProject = true
	}
	if t.IsAdminProject != nil {
		id.IsAdminProject = *t.IsAdminProject
	}
	for _, role := range t.Roles {
		id.Roles = append(id.Roles, role.Name)
	}
	return id, t.ExpiresAt, nil
}

// keystoneClassify turns a failure to talk to Keystone into an error wrapping ErrUnavailable, with
// secret (a token or password) removed from the message. HTTP error bodies are left out: Keystone
// echoes the token in some of them.
func keystoneClassify(what string, err error, secret string) error {
	var msg string
	var cause error // kept only when its message cannot hold a response body
	var code gophercloud.ErrUnexpectedResponseCode
	var reauth *gophercloud.ErrUnableToReauthenticate
	switch {
	case errors.As(err, &reauth):
		msg = "the service user could not re-authenticate"
		if errors.As(reauth.ErrReauth, &code) {
			msg += fmt.Sprintf(" (HTTP %d)", code.Actual)
		} else if reauth.ErrReauth != nil {
			msg += ": " + reauth.ErrReauth.Error()
		}
	case errors.As(err, &code):
		msg = fmt.Sprintf("unexpected response %s %s: HTTP %d", code.Method, code.URL, code.Actual)
		if code.Actual == http.StatusForbidden {
			msg += " (the service user may not validate tokens)"
		}
	default:
		// A transport failure (connection refused, timeout, TLS, cancelled context): its
		// message names the URL, never the request headers or body.
		msg = err.Error()
		cause = err
	}
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "<redacted>")
	}
	return &keystoneError{msg: what + ": " + msg, cause: cause}
}

// keystoneError is a failure to reach Keystone. Its message has secrets removed; it wraps
// ErrUnavailable and, for transport failures, the cause (for errors.Is with
// context.DeadlineExceeded and the like).
type keystoneError struct {
	msg   string
	cause error
}

func (e *keystoneError) Error() string { return e.msg }
func (e *keystoneError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.cause}
}

// keystonePlausibleToken reports whether tok could be a Keystone token: printable ASCII (fernet, UUID
// and JWS tokens are) of a sane length. Anything else never leaves the process.
func keystonePlausibleToken(tok string) bool {
	if len(tok) > keystoneMaxTokenLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return false
		}
	}
	return true
}

// keystoneClone copies id, so that callers may not change cached identities.
func keystoneClone(id *Identity) *Identity {
	if id == nil {
		return nil
	}
	c := *id
	c.Roles = append([]string(nil), id.Roles...)
	return &c
}
