package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v4"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/client"
	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/task"
)

// Environment variables of the API commands. DD_URL and OS_TOKEN are the original CLI's names,
// read as fallbacks.
const (
	envURL          = "DRYDOCK_URL"
	envToken        = "DRYDOCK_TOKEN"
	envClientConfig = "DRYDOCK_CLIENT_CONFIG"
	envLegacyURL    = "DD_URL"
	envLegacyToken  = "OS_TOKEN"
)

// clientFile is the CLI's configuration file (~/.config/drydock/client.yaml).
type clientFile struct {
	URL       string `yaml:"url"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

// clientFlags are the flags of every command that talks to the API.
type clientFlags struct {
	url, token, tokenFile, config, dataDir string
	timeout                                time.Duration
}

func (f *clientFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.url, "url", "u", "", "API URL (default $"+envURL+", the client config, or the URL drydock serve recorded in the data directory, else http://127.0.0.1:9000)")
	fl.StringVar(&f.token, "token", "", "API token (default $"+envToken+", the client config, or the admin token in the data directory)")
	fl.StringVar(&f.tokenFile, "token-file", "", "read the API token from this file")
	fl.StringVar(&f.config, "client-config", "", "client configuration file (default $"+envClientConfig+" or ~/.config/drydock/client.yaml)")
	fl.StringVar(&f.dataDir, "data-dir", "", "data directory of a local drydock serve, for its URL and admin token (default $"+config.EnvDataDir+" or ~/.local/state/drydock)")
	fl.DurationVar(&f.timeout, "request-timeout", 60*time.Second, "time limit for each API request")
}

// readTokenFile reads a token from a file, refusing files others can read.
func readTokenFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

// resolve finds the URL and token: flags, then environment, then the client config file, then
// a local drydock serve's data directory.
func (f *clientFlags) resolve() (url, token string, err error) {
	url, token = f.url, f.token
	if token == "" && f.tokenFile != "" {
		if token, err = readTokenFile(f.tokenFile); err != nil {
			return "", "", err
		}
	}
	if url == "" {
		url = firstEnv(envURL, envLegacyURL)
	}
	if token == "" {
		token = firstEnv(envToken, envLegacyToken)
	}
	if url == "" || token == "" {
		path := f.config
		if path == "" {
			path = os.Getenv(envClientConfig)
		}
		explicit := path != ""
		if path == "" {
			if d, derr := os.UserConfigDir(); derr == nil {
				path = filepath.Join(d, "drydock", "client.yaml")
			}
		}
		if path != "" {
			cf, cerr := loadClientFile(path)
			switch {
			case cerr == nil:
				if url == "" {
					url = cf.URL
				}
				if token == "" && cf.Token != "" {
					token = cf.Token
				}
				if token == "" && cf.TokenFile != "" {
					if token, err = readTokenFile(cf.TokenFile); err != nil {
						return "", "", err
					}
				}
			case explicit || !errors.Is(cerr, fs.ErrNotExist):
				return "", "", cerr
			}
		}
	}
	if url == "" || token == "" {
		dir := f.dataDir
		if dir == "" {
			if c, cerr := config.Load(""); cerr == nil {
				dir = c.DataDir
			}
		}
		if dir != "" {
			if url == "" {
				if data, rerr := os.ReadFile(filepath.Join(dir, APIURLFile)); rerr == nil {
					url = strings.TrimSpace(string(data))
				}
			}
			if token == "" {
				if data, rerr := os.ReadFile(filepath.Join(dir, auth.AdminTokenFile)); rerr == nil {
					token = strings.TrimSpace(string(data))
				}
			}
		}
	}
	if url == "" {
		url = "http://127.0.0.1:9000"
	}
	return url, token, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func loadClientFile(path string) (clientFile, error) {
	var cf clientFile
	data, err := os.ReadFile(path)
	if err != nil {
		return cf, fmt.Errorf("client config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil && !errors.Is(err, io.EOF) {
		return cf, fmt.Errorf("client config %s: %w", path, err)
	}
	return cf, nil
}

// client checks the output flag (when the command has one) and builds the API client.
func (f *clientFlags) client(o *outputFlag) (*client.Client, error) {
	if o != nil && o.allowed != nil {
		if err := o.check(); err != nil {
			return nil, err
		}
	}
	url, token, err := f.resolve()
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	c, err := client.New(url, token)
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	c.HTTP.Timeout = f.timeout
	c.EndUser = currentUser()
	return c, nil
}

// apiError turns a client error into the CLI's message, with a hint for the usual causes.
func apiError(c *client.Client, err error) error {
	switch client.HTTPCode(err) {
	case 0:
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("%w\n(is drydock serve running at %s? set --url or $%s)", err, c.URL(), envURL)
	case 401:
		return fmt.Errorf("%w\n(set --token or $%s; a local drydock serve keeps its admin token in <data-dir>/%s)", err, envToken, auth.AdminTokenFile)
	}
	return err
}

// outputFlag is the -o flag of API commands.
type outputFlag struct {
	value   string
	allowed []string
}

func (o *outputFlag) add(cmd *cobra.Command, def string, allowed ...string) {
	o.allowed = allowed
	cmd.Flags().StringVarP(&o.value, "output", "o", def, "output format: "+strings.Join(allowed, ", "))
}

func (o *outputFlag) check() error {
	for _, a := range o.allowed {
		if o.value == a {
			return nil
		}
	}
	return &exitError{exitUsage, fmt.Errorf("--output must be one of %s, not %q", strings.Join(o.allowed, ", "), o.value)}
}

// writeStructured writes v as json or yaml.
func writeStructured(w io.Writer, format string, v any) error {
	if format == "yaml" {
		return writeYAML(w, v)
	}
	writeJSON(w, v)
	return nil
}

// apiSource reads progress through the API.
type apiSource struct{ c *client.Client }

func (s apiSource) taskStatus(ctx context.Context, id uuid.UUID) (task.Status, error) {
	t, err := s.c.GetTask(ctx, id, client.TaskOptions{})
	if err != nil {
		return "", err
	}
	return task.Status(t.Status), nil
}

func (s apiSource) stepRuns(ctx context.Context, id uuid.UUID) ([]task.StepRun, error) {
	runs, err := s.c.TaskSteps(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]task.StepRun, len(runs))
	for i, r := range runs {
		out[i] = task.StepRun{TaskID: id, Step: r.Step, Node: r.Node, Ordinal: r.Ordinal, State: task.StepState(r.State),
			Attempts: r.Attempts, Started: r.Started, Finished: r.Finished, Message: r.Message}
	}
	return out, nil
}
