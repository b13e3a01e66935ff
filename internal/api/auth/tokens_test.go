package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTokensFile(t *testing.T) {
	const shipyard = "shipyard-token-0123456789abcdef"
	const viewer = "viewer-token-0123456789abcdef"
	path := writeFile(t, `
tokens:
  - user: shipyard
    roles: [admin]
    token: `+shipyard+`
  - user: viewer
    roles: [reader, member]
    project_id: p1
    token_sha256: `+HashToken(viewer)+`
`)
	toks, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if toks.Len() != 2 || toks.Name() != "tokens" {
		t.Fatalf("%d tokens, name %s", toks.Len(), toks.Name())
	}
	cases := []struct {
		header, value string
		user          string
		roles         string
		err           error
	}{
		{"X-Auth-Token", shipyard, "shipyard", "admin", nil},
		{"Authorization", "Bearer " + shipyard, "shipyard", "admin", nil},
		{"Authorization", "bearer  " + viewer, "viewer", "reader,member", nil},
		{"X-Auth-Token", viewer, "viewer", "reader,member", nil},
		{"X-Auth-Token", viewer + "x", "", "", ErrInvalidToken},
		{"X-Auth-Token", strings.ToUpper(shipyard), "", "", ErrInvalidToken},
		{"Authorization", "Basic " + shipyard, "", "", ErrNoCredentials},
		{"", "", "", "", ErrNoCredentials},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/v1.0/tasks", nil)
		if c.header != "" {
			r.Header.Set(c.header, c.value)
		}
		id, err := toks.Authenticate(context.Background(), r)
		if c.err != nil {
			if !errors.Is(err, c.err) || id != nil {
				t.Errorf("%s %q: %v %v, want %v", c.header, c.value, id, err, c.err)
			}
			continue
		}
		if err != nil || id.User != c.user || strings.Join(id.Roles, ",") != c.roles {
			t.Errorf("%s %q: %+v %v, want %s %s", c.header, c.value, id, err, c.user, c.roles)
		}
	}
	// The identity handed out is a copy: changing it does not change the next one.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Auth-Token", viewer)
	id, _ := toks.Authenticate(context.Background(), r)
	id.Roles[0] = "admin"
	id2, _ := toks.Authenticate(context.Background(), r)
	if id2.HasRole("admin") || id2.ProjectID != "p1" {
		t.Errorf("identity shared between requests: %+v", id2)
	}
}

func TestTokensFileErrors(t *testing.T) {
	cases := map[string]string{
		"tokens:\n  - roles: [admin]\n    token: abcdefghijklmnopq\n":                                                        "user is required",
		"tokens:\n  - user: a\n    token: abcdefghijklmnopq\n":                                                               "roles are required",
		"tokens:\n  - user: a\n    roles: [admin]\n":                                                                         "token or token_sha256 is required",
		"tokens:\n  - user: a\n    roles: [admin]\n    token: short\n":                                                       "at least 16 characters",
		"tokens:\n  - user: a\n    roles: [admin]\n    token_sha256: abc\n":                                                  "64 hex digits",
		"tokens:\n  - user: a\n    roles: [admin]\n    token: abcdefghijklmnopq\n    token_sha256: " + HashToken("x") + "\n": "not both",
		"tokens:\n  - user: a\n    roles: [admin]\n    tokne: abcdefghijklmnopq\n":                                           "tokne",
		"tokens: [": "tokens file",
	}
	for text, want := range cases {
		_, err := LoadTokens(writeFile(t, text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", text, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "abcdefghijklmnopq") {
			t.Errorf("the error reveals a token: %v", err)
		}
	}
	if _, err := LoadTokens(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing tokens file is not an error")
	}
}

func TestNone(t *testing.T) {
	id, err := None{}.Authenticate(context.Background(), httptest.NewRequest("GET", "/", nil))
	if err != nil || id.User != "noauth" || !id.HasRole("admin") {
		t.Fatalf("%+v %v", id, err)
	}
	id, _ = None{Roles: []string{"reader"}}.Authenticate(context.Background(), httptest.NewRequest("GET", "/", nil))
	if id.HasRole("admin") || !id.HasRole("reader") {
		t.Fatalf("%+v", id)
	}
	var nilID *Identity
	if nilID.HasRole("admin") {
		t.Error("a nil identity has a role")
	}
}

func TestEnsureAdminTokenConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const n = 20
	toks := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], _, created[i], errs[i] = EnsureAdminToken(dir)
		}()
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if toks[i] != toks[0] || len(toks[i]) < 40 {
			t.Fatalf("caller %d got another token", i)
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers say they created the token, want 1", creators)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != AdminTokenFile {
		t.Errorf("data directory holds %v, want only %s (no temporary files left)", entries, AdminTokenFile)
	}
	fi, _ := os.Stat(filepath.Join(dir, AdminTokenFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	// An empty or truncated file is refused with advice, not used.
	if err := os.WriteFile(filepath.Join(dir, AdminTokenFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := EnsureAdminToken(dir); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("empty token file: %v", err)
	}
}

func TestNewTokenIsRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := NewToken()
		if err != nil || len(tok) != 43 || seen[tok] {
			t.Fatalf("%q %v", tok, err)
		}
		seen[tok] = true
	}
	if HashToken("abc") != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Error("HashToken is not the hex SHA-256")
	}
}
