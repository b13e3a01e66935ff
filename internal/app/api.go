package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/drydock-go/drydock/internal/api"
	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
	"github.com/drydock-go/drydock/internal/config"
)

// IsLoopback reports whether a listen address only accepts connections from this machine.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AuthInfo says how the API authenticates, for the start-up log.
type AuthInfo struct {
	Mode string
	// AdminTokenPath is the admin token's file (tokens mode), and AdminTokenCreated whether it
	// was created by this start.
	AdminTokenPath    string
	AdminTokenCreated bool
	// Custom lists policy rules the policy file defines beyond the known ones.
	Custom []string
}

// Authenticator builds the configured authenticator. Mode none is refused unless the API
// listens on a loopback address only.
func Authenticator(ctx context.Context, cfg config.Config) (auth.Authenticator, AuthInfo, error) {
	info := AuthInfo{Mode: cfg.API.Auth}
	switch cfg.API.Auth {
	case "none":
		if !IsLoopback(cfg.Listen) {
			return nil, info, fmt.Errorf("api.auth none is only allowed when listening on a loopback address (127.0.0.1, ::1 or localhost), not %s: anyone who can reach the API would be an administrator", cfg.Listen)
		}
		return auth.None{}, info, nil
	case "keystone":
		k := cfg.API.Keystone
		pw := k.Password
		if pw == "" && k.PasswordFile != "" {
			data, err := os.ReadFile(k.PasswordFile)
			if err != nil {
				return nil, info, fmt.Errorf("api.keystone.password_file: %w", err)
			}
			pw = strings.TrimSpace(string(data))
		}
		ks, err := auth.NewKeystone(ctx, auth.KeystoneConfig{AuthURL: k.AuthURL, Username: k.Username, Password: pw,
			UserDomainName: k.UserDomainName, ProjectName: k.ProjectName, ProjectDomainName: k.ProjectDomainName,
			CacheFor: k.CacheFor.D(), CAFile: k.CAFile, Insecure: k.Insecure})
		if err != nil {
			return nil, info, err
		}
		return ks, info, nil
	default: // tokens
		toks := &auth.Tokens{}
		if cfg.API.TokensFile != "" {
			var err error
			if toks, err = auth.LoadTokens(cfg.API.TokensFile); err != nil {
				return nil, info, err
			}
		}
		tok, path, created, err := auth.EnsureAdminToken(cfg.DataDir)
		if err != nil {
			return nil, info, err
		}
		info.AdminTokenPath, info.AdminTokenCreated = path, created
		if err := toks.Add(tok, auth.Identity{User: "admin", UserID: "admin", Roles: []string{"admin"}}); err != nil {
			return nil, info, err
		}
		return toks, info, nil
	}
}

// API builds the REST API server of an assembled process.
func (a *App) API(ctx context.Context, version string) (*api.Server, AuthInfo, error) {
	cfg := a.Config
	authn, info, err := Authenticator(ctx, cfg)
	if err != nil {
		return nil, info, err
	}
	pol, err := policy.Load(cfg.API.PolicyFile)
	if err != nil {
		return nil, info, err
	}
	info.Custom = pol.Custom()
	return &api.Server{Store: a.Store, Orch: a.Orch, Drivers: a.Drivers, Auth: authn, Policy: pol, Log: a.Log,
		BootActionURL: a.Orch.BootActionURL,
		Config: api.Config{MaxBody: cfg.API.MaxBody, DesignRoots: cfg.API.DesignRoots, Version: version,
			BaclientPath: BaclientPath(cfg)}}, info, nil
}

// BaclientPath is the drydock-baclient binary the API serves: bootactions.baclient_path, else
// drydock-baclient next to the running executable when it exists, else none.
func BaclientPath(cfg config.Config) string {
	if p := cfg.BootActions.BaclientPath; p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(exe), "drydock-baclient")
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p
	}
	return ""
}
