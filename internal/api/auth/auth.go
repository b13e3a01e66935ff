// Package auth authenticates API requests. An Authenticator turns a request's credentials
// (a bearer token in "Authorization: Bearer" or the OpenStack-style "X-Auth-Token" header) into
// an Identity: who the caller is and which roles they hold. Authorization (what an identity may
// do) is the policy package's job.
//
// Three authenticators exist: None (development only: every request is an admin), Tokens
// (static bearer tokens from a file, each mapped to a user and roles, plus the admin token
// drydock serve creates in its data directory) and Keystone (OpenStack Keystone token
// validation, for Airship sites).
package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Identity is an authenticated caller.
type Identity struct {
	User            string   `json:"user"`
	UserID          string   `json:"user_id,omitempty"`
	UserDomainID    string   `json:"user_domain_id,omitempty"`
	ProjectID       string   `json:"project_id,omitempty"`
	ProjectDomainID string   `json:"project_domain_id,omitempty"`
	Roles           []string `json:"roles"`
	IsAdminProject  bool     `json:"is_admin_project,omitempty"`
}

// HasRole reports whether the identity holds role.
func (id *Identity) HasRole(role string) bool {
	if id == nil {
		return false
	}
	for _, r := range id.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// ErrNoCredentials: the request carries no token.
var ErrNoCredentials = errors.New("no credentials: send a token in the Authorization: Bearer or X-Auth-Token header")

// ErrInvalidToken: the token is not valid (unknown, expired, revoked).
var ErrInvalidToken = errors.New("invalid or expired token")

// ErrUnavailable wraps failures to reach the identity service: the request may be retried.
var ErrUnavailable = errors.New("identity service unavailable")

// Authenticator authenticates a request. It returns ErrNoCredentials when the request carries
// none, an error wrapping ErrInvalidToken when they are wrong, and an error wrapping
// ErrUnavailable when they could not be checked. It never logs tokens.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (*Identity, error)
	// Name is the mode: none, tokens or keystone.
	Name() string
}

// Token returns the request's token: the Authorization: Bearer value, else X-Auth-Token.
func Token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return strings.TrimSpace(r.Header.Get("X-Auth-Token"))
}
