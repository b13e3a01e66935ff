package app

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/auth/keystonetest"
	"github.com/drydock-go/drydock/internal/config"
)

// bearer is a request carrying tok as a bearer token.
func bearer(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v1.0/tasks", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// loadConfig writes a configuration file and loads it as drydock serve does, with the
// environment variables that would override it cleared.
func loadConfig(t *testing.T, yaml string) config.Config {
	t.Helper()
	for _, e := range []string{config.EnvConfig, config.EnvDataDir, config.EnvListen, config.EnvAuth, config.EnvKeystonePW} {
		t.Setenv(e, "")
	}
	path := filepath.Join(t.TempDir(), "drydock.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config.Load:\n%s\n%v", yaml, err)
	}
	return cfg
}

// TestAuthenticatorKeystone needs a real Keystone (see keystonetest): api.auth keystone builds
// a Keystone authenticator that validates the fixture's tokens.
func TestAuthenticatorKeystone(t *testing.T) {
	f := keystonetest.New(t)
	operTok := f.Token(t, f.Operator, f.ProjectID)

	// check authenticates the operator's token and a garbage one with authn.
	check := func(t *testing.T, authn auth.Authenticator, info AuthInfo) {
		t.Helper()
		if authn.Name() != "keystone" || info.Mode != "keystone" {
			t.Errorf("authenticator %s, mode %q, want keystone", authn.Name(), info.Mode)
		}
		if info.AdminTokenPath != "" || info.AdminTokenCreated {
			t.Errorf("keystone mode reports an admin token: %+v", info)
		}
		id, err := authn.Authenticate(t.Context(), bearer(operTok))
		if err != nil {
			t.Fatalf("the operator's token: %v", err)
		}
		if id.User != f.Operator.Name || id.UserID != f.Operator.ID || id.ProjectID != f.ProjectID ||
			!id.HasRole("member") || id.HasRole("admin") {
			t.Errorf("identity = %+v, want %s (%s), member of %s", id, f.Operator.Name, f.Operator.ID, f.ProjectID)
		}
		if _, err := authn.Authenticate(t.Context(), bearer("gAAAAABnot-a-token-"+rand.Text())); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("a garbage token: error = %v, want ErrInvalidToken", err)
		}
	}

	t.Run("Password", func(t *testing.T) {
		cfg := loadConfig(t, `
data_dir: `+t.TempDir()+`
listen: 0.0.0.0:9000
api:
  auth: keystone
  keystone:
    auth_url: `+f.URL+`
    username: admin
    password: `+f.AdminPassword+`
    project_name: admin
    cache_for: 5s
`)
		authn, info, err := Authenticator(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Authenticator: %v", err)
		}
		check(t, authn, info)
	})

	t.Run("PasswordFile", func(t *testing.T) {
		pwFile := filepath.Join(t.TempDir(), "keystone.password")
		if err := os.WriteFile(pwFile, []byte(f.AdminPassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := loadConfig(t, `
data_dir: `+t.TempDir()+`
listen: 0.0.0.0:9000
api:
  auth: keystone
  keystone:
    auth_url: `+f.URL+`
    username: admin
    password_file: `+pwFile+`
    project_name: admin
    cache_for: -1s
`)
		if cfg.API.Keystone.Password != "" {
			t.Fatalf("the password is in the configuration: the test does not test password_file")
		}
		authn, info, err := Authenticator(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Authenticator with password_file: %v", err)
		}
		check(t, authn, info)

		// A missing password file is an error that names the setting.
		cfg.API.Keystone.PasswordFile = filepath.Join(t.TempDir(), "missing")
		if _, _, err := Authenticator(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "password_file") {
			t.Errorf("missing password_file: error = %v, want one naming password_file", err)
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		base := config.Default()
		base.DataDir = t.TempDir()
		base.API.Auth = "keystone"
		base.API.Keystone = config.Keystone{AuthURL: f.URL, Username: "admin", ProjectName: "admin"}

		wrong := "wrong-" + rand.Text()
		cfg := base
		cfg.API.Keystone.Password = wrong
		authn, _, err := Authenticator(t.Context(), cfg)
		if err == nil || authn != nil {
			t.Fatalf("wrong password: %v, %v; want an error at start", authn, err)
		}
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("the error reveals the password: %v", err)
		}
		if errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("wrong password: error %v says Keystone is unavailable", err)
		}
		t.Logf("wrong password: %v", err)

		// The same from a password file.
		wrong = "wrong-" + rand.Text()
		pwFile := filepath.Join(t.TempDir(), "keystone.password")
		if err := os.WriteFile(pwFile, []byte(wrong+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg = base
		cfg.API.Keystone.PasswordFile = pwFile
		if _, _, err := Authenticator(t.Context(), cfg); err == nil {
			t.Error("wrong password in password_file: no error")
		} else if strings.Contains(err.Error(), wrong) {
			t.Errorf("the error reveals the password: %v", err)
		}
	})
}

func TestAuthenticatorNone(t *testing.T) {
	for _, tc := range []struct {
		listen string
		ok     bool
	}{
		{"0.0.0.0:9000", false},
		{":9000", false},
		{"[::]:9000", false},
		{"192.0.2.10:9000", false},
		{"127.0.0.1:9000", true},
		{"[::1]:9000", true},
		{"localhost:9000", true},
	} {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.API.Auth = "none"
		cfg.Listen = tc.listen
		authn, info, err := Authenticator(t.Context(), cfg)
		if !tc.ok {
			if err == nil || authn != nil {
				t.Errorf("none on %s: %v, %v; want it refused", tc.listen, authn, err)
			} else if !strings.Contains(err.Error(), tc.listen) || !strings.Contains(err.Error(), "loopback") {
				t.Errorf("none on %s: error %q does not say why", tc.listen, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("none on %s: %v", tc.listen, err)
			continue
		}
		if authn.Name() != "none" || info.Mode != "none" {
			t.Errorf("none on %s: authenticator %s, mode %q", tc.listen, authn.Name(), info.Mode)
		}
		id, err := authn.Authenticate(t.Context(), httptest.NewRequest(http.MethodGet, "/", nil))
		if err != nil || !id.HasRole("admin") {
			t.Errorf("none on %s: %+v, %v; want an admin", tc.listen, id, err)
		}
		if _, err := os.Stat(filepath.Join(cfg.DataDir, auth.AdminTokenFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("none mode created an admin token (%v)", err)
		}
	}
}

func TestAuthenticatorTokens(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data") // created on demand
	cfg.Listen = "0.0.0.0:9000"
	if cfg.API.Auth != "tokens" {
		t.Fatalf("the default auth mode is %q, want tokens", cfg.API.Auth)
	}
	path := filepath.Join(cfg.DataDir, auth.AdminTokenFile)

	authn, info, err := Authenticator(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Authenticator: %v", err)
	}
	if authn.Name() != "tokens" || info.Mode != "tokens" || info.AdminTokenPath != path || !info.AdminTokenCreated {
		t.Errorf("authenticator %s, info %+v; want tokens with %s created", authn.Name(), info, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) < 32 {
		t.Fatalf("admin token %d characters long", len(tok))
	}
	id, err := authn.Authenticate(t.Context(), bearer(tok))
	if err != nil || id.User != "admin" || !id.HasRole("admin") {
		t.Errorf("the admin token: %+v, %v; want user admin with role admin", id, err)
	}
	if _, err := authn.Authenticate(t.Context(), bearer(tok+"x")); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("another token: error = %v, want ErrInvalidToken", err)
	}

	// A second start reuses the token.
	again, info, err := Authenticator(t.Context(), cfg)
	if err != nil {
		t.Fatalf("second Authenticator: %v", err)
	}
	if info.AdminTokenCreated || info.AdminTokenPath != path {
		t.Errorf("second start: info %+v, want the existing %s", info, path)
	}
	if data2, err := os.ReadFile(path); err != nil || string(data2) != string(data) {
		t.Errorf("second start changed the admin token file (%v)", err)
	}
	if id, err := again.Authenticate(t.Context(), bearer(tok)); err != nil || id.User != "admin" {
		t.Errorf("the admin token after a second start: %+v, %v", id, err)
	}

	// A token file others can read is refused.
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		authn, _, err := Authenticator(t.Context(), cfg)
		if err == nil || authn != nil {
			t.Errorf("admin token with mode %v: %v, %v; want it refused", mode, authn, err)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("mode %v: error %q does not name the file", mode, err)
		}
		if strings.Contains(err.Error(), tok) {
			t.Errorf("mode %v: the error reveals the token: %v", mode, err)
		}
	}
}
