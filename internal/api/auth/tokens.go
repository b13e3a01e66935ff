package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	yaml "go.yaml.in/yaml/v4"
)

// None authenticates every request as the same identity (user "noauth" with the admin role by
// default). It is for development only: drydock serve refuses it on a non-loopback address and
// logs a warning when it is used.
type None struct {
	Roles []string // default: admin
}

// Name is "none".
func (None) Name() string { return "none" }

// Authenticate forges the identity.
func (n None) Authenticate(context.Context, *http.Request) (*Identity, error) {
	roles := n.Roles
	if len(roles) == 0 {
		roles = []string{"admin"}
	}
	return &Identity{User: "noauth", UserID: "noauth", ProjectID: "noauth", Roles: roles}, nil
}

// TokenEntry is one static token: the token itself (token) or, better, its SHA-256 in hex
// (token_sha256; `drydock token hash` prints it), mapped to a user and roles.
type TokenEntry struct {
	User        string   `yaml:"user"`
	Roles       []string `yaml:"roles"`
	Token       string   `yaml:"token,omitempty"`
	TokenSHA256 string   `yaml:"token_sha256,omitempty"`
	ProjectID   string   `yaml:"project_id,omitempty"`
}

// TokensFile is the file format of static tokens.
type TokensFile struct {
	Tokens []TokenEntry `yaml:"tokens"`
}

// Tokens authenticates static bearer tokens. Tokens are kept only as SHA-256 digests and
// compared in constant time.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	id     Identity
}

// Name is "tokens".
func (*Tokens) Name() string { return "tokens" }

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// Add adds a token for a user with roles.
func (t *Tokens) Add(token string, id Identity) error {
	if len(token) < 16 {
		return fmt.Errorf("token of user %q: tokens must be at least 16 characters", id.User)
	}
	t.entries = append(t.entries, tokenEntry{digest: sha256.Sum256([]byte(token)), id: id})
	return nil
}

// LoadTokens reads a tokens file. Every entry needs a user, at least one role and exactly one
// of token and token_sha256; errors name the entry.
func LoadTokens(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	var f TokensFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	t := &Tokens{}
	for i, e := range f.Tokens {
		where := fmt.Sprintf("tokens file %s: tokens[%d]", path, i)
		if e.User == "" {
			return nil, fmt.Errorf("%s: user is required", where)
		}
		if len(e.Roles) == 0 {
			return nil, fmt.Errorf("%s (user %s): roles are required", where, e.User)
		}
		id := Identity{User: e.User, UserID: e.User, ProjectID: e.ProjectID, Roles: e.Roles}
		switch {
		case e.Token != "" && e.TokenSHA256 != "":
			return nil, fmt.Errorf("%s (user %s): give token or token_sha256, not both", where, e.User)
		case e.Token != "":
			if err := t.Add(e.Token, id); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		case e.TokenSHA256 != "":
			d, err := hex.DecodeString(strings.TrimSpace(e.TokenSHA256))
			if err != nil || len(d) != sha256.Size {
				return nil, fmt.Errorf("%s (user %s): token_sha256 must be 64 hex digits", where, e.User)
			}
			var te tokenEntry
			copy(te.digest[:], d)
			te.id = id
			t.entries = append(t.entries, te)
		default:
			return nil, fmt.Errorf("%s (user %s): token or token_sha256 is required", where, e.User)
		}
	}
	return t, nil
}

// Authenticate finds the request's token. Every entry is compared, in constant time, so the
// time taken does not tell which entry (or how much of a digest) matched.
func (t *Tokens) Authenticate(_ context.Context, r *http.Request) (*Identity, error) {
	tok := Token(r)
	if tok == "" {
		return nil, ErrNoCredentials
	}
	d := sha256.Sum256([]byte(tok))
	var found *Identity
	for i := range t.entries {
		if subtle.ConstantTimeCompare(d[:], t.entries[i].digest[:]) == 1 && found == nil {
			id := t.entries[i].id
			id.Roles = append([]string(nil), id.Roles...)
			found = &id
		}
	}
	if found == nil {
		return nil, ErrInvalidToken
	}
	return found, nil
}

// HashToken returns the hex SHA-256 of a token, as token_sha256 wants it.
func HashToken(token string) string {
	d := sha256.Sum256([]byte(token))
	return hex.EncodeToString(d[:])
}

// NewToken returns a fresh random token (32 bytes, URL-safe base64).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// AdminTokenFile is the admin token's file name in the data directory.
const AdminTokenFile = "admin.token"

// EnsureAdminToken reads <dir>/admin.token, creating it (mode 0600, a fresh random token) when
// it does not exist. created reports whether it was created now. A token file readable by
// others is refused.
func EnsureAdminToken(dir string) (token, path string, created bool, err error) {
	path = filepath.Join(dir, AdminTokenFile)
	data, err := os.ReadFile(path)
	if err == nil {
		fi, serr := os.Stat(path)
		if serr == nil && fi.Mode().Perm()&0o077 != 0 {
			return "", path, false, fmt.Errorf("%s is readable by other users (mode %v): chmod 600 it", path, fi.Mode().Perm())
		}
		tok := strings.TrimSpace(string(data))
		if len(tok) < 16 {
			return "", path, false, fmt.Errorf("%s holds no valid token (at least 16 characters); delete it to create a new one", path)
		}
		return tok, path, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", path, false, fmt.Errorf("read admin token: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", path, false, fmt.Errorf("create data directory: %w", err)
	}
	tok, err := NewToken()
	if err != nil {
		return "", path, false, err
	}
	// Written to a temporary file, then linked into place: another process starting at the
	// same moment either sees no file or a complete one, and only one link wins.
	tmp, err := os.CreateTemp(dir, ".admin.token-*")
	if err != nil {
		return "", path, false, fmt.Errorf("create admin token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", path, false, fmt.Errorf("create admin token: %w", err)
	}
	if _, err := tmp.WriteString(tok + "\n"); err != nil {
		tmp.Close()
		return "", path, false, fmt.Errorf("write admin token: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", path, false, fmt.Errorf("write admin token: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process created it first
			return EnsureAdminToken(dir)
		}
		return "", path, false, fmt.Errorf("create admin token: %w", err)
	}
	return tok, path, true, nil
}
