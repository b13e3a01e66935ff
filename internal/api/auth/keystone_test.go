package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/api/auth/keystonetest"
)

// keystoneFixture is the shared Keystone fixture with the auth tests' helpers.
type keystoneFixture struct{ *keystonetest.Fixture }

// newKeystoneFixture is keystonetest.New: a project and two users in the real Keystone, or a
// skipped test without one.
func newKeystoneFixture(t *testing.T) keystoneFixture {
	t.Helper()
	return keystoneFixture{keystonetest.New(t)}
}

// config is the authenticator's configuration: the admin user as Drydock's service user.
func (f keystoneFixture) config() KeystoneConfig {
	return KeystoneConfig{AuthURL: f.URL, Username: "admin", Password: f.AdminPassword, ProjectName: "admin"}
}

func (f keystoneFixture) keystone(t *testing.T, c KeystoneConfig) *Keystone {
	t.Helper()
	k, err := NewKeystone(t.Context(), c)
	if err != nil {
		t.Fatalf("NewKeystone: %v", err)
	}
	return k
}

// keystoneProxy is a reverse proxy in front of Keystone that counts token validations and can
// answer 503 instead.
type keystoneProxy struct {
	*httptest.Server
	validations atomic.Int64
	fail        atomic.Bool
	delay       atomic.Int64 // nanoseconds before forwarding a request
}

func newKeystoneProxy(t *testing.T, keystoneURL string) *keystoneProxy {
	t.Helper()
	target, err := url.Parse(keystoneURL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // requests the test cancels on purpose
	p := &keystoneProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(p.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if p.fail.Load() {
			http.Error(w, `{"error":{"code":503,"message":"down for maintenance"}}`, http.StatusServiceUnavailable)
			return
		}
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/auth/tokens") {
			p.validations.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func keystoneRequest(header, tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v1.0/tasks", nil)
	switch header {
	case "Authorization":
		r.Header.Set("Authorization", "Bearer "+tok)
	case "":
	default:
		r.Header.Set(header, tok)
	}
	return r
}

// wantInvalid checks that err wraps ErrInvalidToken and does not reveal tok.
func wantInvalid(t *testing.T, err error, tok string) {
	t.Helper()
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("error = %v, want ErrInvalidToken", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("error %v wraps both ErrInvalidToken and ErrUnavailable", err)
	}
	if tok != "" && strings.Contains(err.Error(), tok) {
		t.Errorf("the error reveals the token: %v", err)
	}
}

func TestKeystone(t *testing.T) {
	f := newKeystoneFixture(t)
	k := f.keystone(t, f.config())
	if k.Name() != "keystone" {
		t.Errorf("Name() = %q", k.Name())
	}

	t.Run("AdminToken", func(t *testing.T) {
		tok := f.Token(t, f.AdminUser, f.AdminProjectID)
		id, err := k.Authenticate(t.Context(), keystoneRequest("Authorization", tok))
		if err != nil {
			t.Fatal(err)
		}
		want := Identity{User: "admin", UserID: f.AdminUser.ID, UserDomainID: "default",
			ProjectID: f.AdminProjectID, ProjectDomainID: "default", IsAdminProject: true}
		got := *id
		got.Roles = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("identity = %+v, want %+v", got, want)
		}
		if !id.HasRole("admin") {
			t.Errorf("roles %v lack admin", id.Roles)
		}
		// The cache is keyed by the token's hash, never the token.
		k.mu.Lock()
		_, cached := k.cache[sha256.Sum256([]byte(tok))]
		k.mu.Unlock()
		if !cached {
			t.Error("the validated token is not in the cache under its SHA-256")
		}
	})

	t.Run("MemberToken", func(t *testing.T) {
		tok := f.Token(t, f.Operator, f.ProjectID)
		id, err := k.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok))
		if err != nil {
			t.Fatal(err)
		}
		if id.User != f.Operator.Name || id.UserID != f.Operator.ID || id.UserDomainID != "default" ||
			id.ProjectID != f.ProjectID || id.ProjectDomainID != "default" {
			t.Errorf("identity = %+v, want user %s (%s) in project %s", id, f.Operator.Name, f.Operator.ID, f.ProjectID)
		}
		if !id.HasRole("member") || id.HasRole("admin") {
			t.Errorf("roles = %v, want member and not admin", id.Roles)
		}
		if f.AdminProjectConfigured && id.IsAdminProject {
			t.Error("IsAdminProject is true for a project that is not Keystone's admin project")
		}
		// Callers may not change the cached identity.
		id.Roles = append(id.Roles[:0], "admin")
		again, err := k.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok))
		if err != nil || again.HasRole("admin") {
			t.Errorf("second call: %+v, %v: the cached identity was changed by the caller", again, err)
		}
	})

	t.Run("DeployerToken", func(t *testing.T) {
		tok := f.Token(t, f.Deployer, f.ProjectID)
		id, err := k.Authenticate(t.Context(), keystoneRequest("Authorization", tok))
		if err != nil {
			t.Fatal(err)
		}
		if id.User != f.Deployer.Name || id.UserID != f.Deployer.ID || id.ProjectID != f.ProjectID {
			t.Errorf("identity = %+v", id)
		}
		if !id.HasRole("admin") || !id.HasRole("member") {
			t.Errorf("roles = %v, want admin (and the implied member)", id.Roles)
		}
		if f.AdminProjectConfigured && id.IsAdminProject {
			t.Error("IsAdminProject is true for a project that is not Keystone's admin project")
		}
	})

	t.Run("Headers", func(t *testing.T) {
		tok := f.Token(t, f.Operator, f.ProjectID)
		for _, r := range []*http.Request{
			keystoneRequest("Authorization", tok),
			keystoneRequest("X-Auth-Token", tok),
			func() *http.Request {
				r := keystoneRequest("", "")
				r.Header.Set("Authorization", "bearer  "+tok)
				return r
			}(),
		} {
			id, err := k.Authenticate(t.Context(), r)
			if err != nil || id.UserID != f.Operator.ID {
				t.Errorf("headers %v: %+v, %v", r.Header, id, err)
			}
		}
	})

	t.Run("NoToken", func(t *testing.T) {
		for _, r := range []*http.Request{
			keystoneRequest("", ""),
			func() *http.Request {
				r := keystoneRequest("", "")
				r.Header.Set("Authorization", "Basic YWRtaW46czNjcmV0")
				return r
			}(),
			func() *http.Request { r := keystoneRequest("", ""); r.Header.Set("X-Auth-Token", "   "); return r }(),
		} {
			if _, err := k.Authenticate(t.Context(), r); !errors.Is(err, ErrNoCredentials) {
				t.Errorf("headers %v: error = %v, want ErrNoCredentials", r.Header, err)
			}
		}
	})

	t.Run("GarbageToken", func(t *testing.T) {
		for _, tok := range []string{
			"gAAAAABnotAfernetToken" + strings.Repeat("x", 160), // asked to Keystone: 404
			"0123456789abcdef0123456789abcdef",                  // UUID-style: 404
			"not a token",                                       // never sent
			strings.Repeat("a", 10000),                          // never sent
		} {
			_, err := k.Authenticate(t.Context(), keystoneRequest("Authorization", tok))
			wantInvalid(t, err, tok)
		}
		// A real token with a changed character.
		tok := f.Token(t, f.Operator, f.ProjectID)
		bad := tok[:len(tok)-5] + "AAAAA"
		if bad == tok {
			bad = tok[:len(tok)-5] + "BBBBB"
		}
		_, err := k.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", bad))
		wantInvalid(t, err, bad)
	})

	t.Run("RevokedWithoutCache", func(t *testing.T) {
		c := f.config()
		c.CacheFor = -1
		nc := f.keystone(t, c)
		tok := f.Token(t, f.Operator, f.ProjectID)
		if _, err := nc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok)); err != nil {
			t.Fatal(err)
		}
		f.Revoke(t, tok)
		_, err := nc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok))
		wantInvalid(t, err, tok) // Keystone's 404 body echoes the token; the error must not
		if nc.cache != nil {
			t.Error("CacheFor < 0 still has a cache")
		}
	})

	t.Run("RevokedWithCache", func(t *testing.T) {
		c := f.config()
		c.CacheFor = 1500 * time.Millisecond
		kc := f.keystone(t, c)
		tok := f.Token(t, f.Operator, f.ProjectID)
		start := time.Now()
		if _, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok)); err != nil {
			t.Fatal(err)
		}
		cached := time.Now() // the entry was added between start and now
		f.Revoke(t, tok)
		// The documented trade-off: still accepted from the cache...
		_, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok))
		if time.Since(start) < c.CacheFor && err != nil {
			t.Fatalf("a revoked token was rejected before its cache entry expired: %v", err)
		}
		// ...until the entry expires.
		time.Sleep(time.Until(cached.Add(c.CacheFor + 50*time.Millisecond)))
		_, err = kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok))
		wantInvalid(t, err, tok)
	})

	t.Run("Expired", func(t *testing.T) {
		// Keystone does not return expired tokens; shift the authenticator's clock instead.
		c := f.config()
		c.CacheFor = 48 * time.Hour
		kc := f.keystone(t, c)
		tok := f.Token(t, f.Operator, f.ProjectID)
		if _, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok)); err != nil {
			t.Fatal(err)
		}
		// The cache entry lasts only as long as the token (1 h here), not CacheFor.
		kc.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
		_, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok))
		wantInvalid(t, err, tok)
		if !strings.Contains(err.Error(), "expired") {
			t.Errorf("error %q does not say expired", err)
		}
	})

	t.Run("ServiceTokenRenewal", func(t *testing.T) {
		// Drydock's own token is revoked (as if it expired): gophercloud re-authenticates.
		c := f.config()
		c.CacheFor = -1
		kc := f.keystone(t, c)
		f.Revoke(t, kc.identity.ProviderClient.Token())
		tok := f.Token(t, f.Operator, f.ProjectID)
		if _, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok)); err != nil {
			t.Fatalf("after the service token was revoked: %v", err)
		}
		// And an invalid token after re-authentication is still just invalid.
		f.Revoke(t, kc.identity.ProviderClient.Token())
		_, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", "gAAAAABbogus"))
		wantInvalid(t, err, "gAAAAABbogus")
	})

	t.Run("NewKeystoneErrors", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String() + "/v3"
		ln.Close()
		c := f.config()
		c.AuthURL = closed
		c.Timeout = 3 * time.Second
		_, err = NewKeystone(t.Context(), c)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("Keystone down: error = %v, want ErrUnavailable", err)
		}
		if err != nil && strings.Contains(err.Error(), f.AdminPassword) {
			t.Errorf("the error reveals the password: %v", err)
		}

		c = f.config()
		c.Password = "wrong-" + rand.Text()
		_, err = NewKeystone(t.Context(), c)
		if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "401") {
			t.Errorf("wrong password: error = %v, want a credentials error", err)
		}
		if err != nil && strings.Contains(err.Error(), c.Password) {
			t.Errorf("the error reveals the password: %v", err)
		}

		c = f.config()
		c.ProjectName = "no-such-project-" + rand.Text()
		if _, err = NewKeystone(t.Context(), c); err == nil {
			t.Error("unknown project: no error")
		} else {
			t.Logf("unknown project: %v", err)
		}

		for _, c := range []KeystoneConfig{{}, {AuthURL: f.URL, Username: "admin"}} {
			if _, err := NewKeystone(t.Context(), c); err == nil {
				t.Errorf("%+v: no error", c)
			}
		}
	})

	t.Run("UnavailableAfterCreation", func(t *testing.T) {
		proxy := newKeystoneProxy(t, f.URL)
		c := f.config()
		c.AuthURL = proxy.URL + "/v3"
		c.CacheFor = -1
		c.Timeout = 3 * time.Second
		nc := f.keystone(t, c)
		c.CacheFor = time.Minute
		kc := f.keystone(t, c)

		tok := f.Token(t, f.Operator, f.ProjectID)
		for _, a := range []*Keystone{nc, kc} {
			if _, err := a.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok)); err != nil {
				t.Fatal(err)
			}
		}
		if n := proxy.validations.Load(); n != 2 {
			t.Errorf("%d validations went through the proxy, want 2", n)
		}
		other := f.Token(t, f.Deployer, f.ProjectID)

		wantUnavailable := func(a *Keystone, tok, what string) {
			t.Helper()
			_, err := a.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok))
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: error = %v, want ErrUnavailable", what, err)
			} else if strings.Contains(err.Error(), tok) {
				t.Errorf("%s: the error reveals the token: %v", what, err)
			} else {
				t.Logf("%s: %v", what, err)
			}
		}

		proxy.fail.Store(true) // 503
		wantUnavailable(nc, tok, "503")
		proxy.fail.Store(false)
		if _, err := nc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok)); err != nil {
			t.Errorf("after the 503: %v", err)
		}

		proxy.Close() // Keystone unreachable
		wantUnavailable(nc, tok, "unreachable")
		wantUnavailable(kc, other, "unreachable, uncached token")
		// A cached token is still accepted while Keystone is down.
		if _, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", tok)); err != nil {
			t.Errorf("unreachable, cached token: %v", err)
		}

		// A cancelled request is unavailable too, not invalid.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := nc.Authenticate(ctx, keystoneRequest("X-Auth-Token", tok)); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: error = %v, want ErrUnavailable and context.Canceled", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		proxy := newKeystoneProxy(t, f.URL)
		c := f.config()
		c.AuthURL = proxy.URL + "/v3"
		// Without the cache, the 20 validations queue up in the test Keystone (2 uwsgi workers,
		// ~0.2-1 s each on a busy machine): allow for it.
		c.Timeout = 2 * time.Minute
		kc := f.keystone(t, c)
		c.CacheFor = -1
		nc := f.keystone(t, c)
		tok := f.Token(t, f.Operator, f.ProjectID)

		run := func(a *Keystone) {
			t.Helper()
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				header := "Authorization"
				if i%2 == 1 {
					header = "X-Auth-Token"
				}
				wg.Go(func() {
					id, err := a.Authenticate(t.Context(), keystoneRequest(header, tok))
					switch {
					case err != nil:
						errs <- err
					case id.UserID != f.Operator.ID || !slices.Contains(id.Roles, "member"):
						errs <- fmt.Errorf("identity %+v", id)
					default:
						id.Roles[0] = "changed" // must not affect the others
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}
		start := time.Now()
		run(kc)
		t.Logf("20 concurrent requests, cache: %d validation(s), %v", proxy.validations.Load(), time.Since(start))
		if n := proxy.validations.Load(); n != 1 {
			t.Errorf("%d validations for one token with the cache, want 1", n)
		}

		// A request that joined a validation whose own caller gave up validates by itself.
		other := f.Token(t, f.Deployer, f.ProjectID)
		proxy.delay.Store(int64(time.Second))
		leaderCtx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		leaderErr := make(chan error, 1)
		go func() {
			_, err := kc.Authenticate(leaderCtx, keystoneRequest("X-Auth-Token", other))
			leaderErr <- err
		}()
		for { // wait until the leader's validation is in flight
			kc.mu.Lock()
			n := len(kc.inflight)
			kc.mu.Unlock()
			if n == 1 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		id, err := kc.Authenticate(t.Context(), keystoneRequest("X-Auth-Token", other))
		if err != nil || id.UserID != f.Deployer.ID {
			t.Errorf("follower of an abandoned validation: %+v, %v", id, err)
		}
		if err := <-leaderErr; !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("leader: error = %v, want ErrUnavailable and context.DeadlineExceeded", err)
		}
		proxy.delay.Store(0)

		proxy.validations.Store(0)
		start = time.Now()
		run(nc)
		t.Logf("20 concurrent requests, no cache: %d validations, %v", proxy.validations.Load(), time.Since(start))
		if n := proxy.validations.Load(); n != 20 {
			t.Errorf("%d validations without the cache, want 20", n)
		}
	})
}

// TestKeystoneNoCredentials needs no Keystone: requests without a plausible token never reach it.
func TestKeystoneNoCredentials(t *testing.T) {
	k := &Keystone{cacheFor: time.Minute, now: time.Now}
	if _, err := k.Authenticate(t.Context(), keystoneRequest("", "")); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("error = %v, want ErrNoCredentials", err)
	}
	for _, tok := range []string{"has space", "tab\there", "caf\u00e9", strings.Repeat("x", keystoneMaxTokenLen+1)} {
		r := keystoneRequest("", "")
		r.Header["X-Auth-Token"] = []string{tok}
		_, err := k.Authenticate(t.Context(), r)
		wantInvalid(t, err, tok)
	}
}

// TestKeystoneCacheBound needs no Keystone: the cache never grows past keystoneCacheMax and
// drops expired entries first.
func TestKeystoneCacheBound(t *testing.T) {
	now := time.Now()
	k := &Keystone{cacheFor: time.Minute, now: func() time.Time { return now },
		cache: map[[sha256.Size]byte]keystoneEntry{}}
	id := &Identity{User: "u"}
	for i := range keystoneCacheMax + 500 {
		exp := now.Add(time.Minute)
		if i < 100 {
			exp = now.Add(-time.Second) // already expired
		}
		k.put(sha256.Sum256([]byte(strconv.Itoa(i))), keystoneEntry{id: id, expires: exp})
		if len(k.cache) > keystoneCacheMax {
			t.Fatalf("cache has %d entries after %d puts", len(k.cache), i+1)
		}
	}
	if len(k.cache) != keystoneCacheMax {
		t.Errorf("cache has %d entries, want %d", len(k.cache), keystoneCacheMax)
	}
	for kk, e := range k.cache {
		if !now.Before(e.expires) {
			t.Fatalf("expired entry %x kept", kk[:4])
		}
	}
}
