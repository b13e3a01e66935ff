package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/app"
	"github.com/drydock-go/drydock/internal/config"
)

// serverFlags are the flags of every command that opens the store.
type serverFlags struct {
	config   string
	dataDir  string
	database string
}

func (f *serverFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "configuration file (default $"+config.EnvConfig+")")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "data directory: embedded store, simulator state (default $"+config.EnvDataDir+" or ~/.local/state/drydock)")
	cmd.Flags().StringVar(&f.database, "database-url", "", "PostgreSQL URL; empty for the embedded store (default $"+config.EnvDatabaseURL+")")
}

// load reads the configuration with the flags applied last.
func (f *serverFlags) load() (config.Config, error) {
	c, err := config.Load(f.config)
	if err != nil {
		return c, err
	}
	if f.dataDir != "" {
		c.DataDir = f.dataDir
	}
	if f.database != "" {
		c.Database.URL = f.database
	}
	return c, c.Validate()
}

func describeStore(c config.Config) string {
	if c.Database.URL != "" {
		return "PostgreSQL"
	}
	return "embedded store " + c.StorePath()
}

func newServeCmd() *cobra.Command {
	var f serverFlags
	var listen, id string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the orchestrator (embedded store and simulated site by default)",
		Long: `Serve runs the orchestrator: it claims queued tasks from the store and runs them, until it
receives SIGINT or SIGTERM. Tasks still running are then handed back to the queue so that the
next orchestrator (this one restarted, or another instance sharing a PostgreSQL store)
continues them. Several instances may share one PostgreSQL store.

By default it uses the embedded SQLite store and the simulated site in the data directory;
a configuration file and environment variables select PostgreSQL and other drivers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.load()
			if err != nil {
				return &exitError{exitUsage, err}
			}
			if listen != "" {
				c.Listen = listen
			}
			if id != "" {
				c.Orchestrator.ID = id
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			a, err := app.Open(cmd.Context(), c, app.Options{Logger: log})
			if err != nil {
				return &exitError{exitUsage, err}
			}
			defer a.Close()
			log.Info("drydock serving", "orchestrator", a.Orch.ID(), "store", describeStore(c), "data_dir", c.DataDir,
				"node_driver", c.Drivers.Node, "oob_driver", c.Drivers.OOB, "pid", os.Getpid())
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			var apiDone chan error // nil (never ready) without the API
			if c.Listen == "off" {
				log.Info("API disabled (listen: off): this process only runs the orchestrator")
			} else {
				apiDone = make(chan error, 1)
				if err := startAPI(ctx, cmd, a, log, apiDone); err != nil {
					return &exitError{exitUsage, err}
				}
			}
			if a.Nodes != nil {
				go a.Nodes.Run(ctx) // the simulated machines' boot actions
			}
			orchDone := make(chan error, 1)
			go func() { orchDone <- a.Orch.Run(ctx) }()
			select {
			case err = <-apiDone:
				if err != nil {
					err = fmt.Errorf("API server: %w", err)
				}
				cancel()
				<-orchDone
			case err = <-orchDone:
				if err != nil {
					err = fmt.Errorf("orchestrator: %w", err)
				}
				cancel()
				if apiDone != nil {
					<-apiDone
				}
			}
			if err != nil {
				return err
			}
			log.Info("drydock stopped")
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&listen, "listen", "", `API listen address (default 127.0.0.1:9000; port 0 picks a free port; "off": no API)`)
	cmd.Flags().StringVar(&id, "id", "", "name of this orchestrator instance in task leases (default hostname-pid)")
	return cmd
}

func newMigrateCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the store's schema",
		Long: `Migrate applies the store's versioned schema migrations (the same ones drydock serve applies
at start-up) and reports the schema version. It is safe to run repeatedly and concurrently.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.load()
			if err != nil {
				return &exitError{exitUsage, err}
			}
			st, err := app.OpenStore(cmd.Context(), c)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			defer st.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: schema up to date\n", describeStore(c))
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// APIURLFile is the file in the data directory where drydock serve writes its API's base URL
// (the CLI reads it when no URL is configured).
const APIURLFile = "api.url"

// startAPI listens and serves the API until ctx ends; done receives the outcome.
func startAPI(ctx context.Context, cmd *cobra.Command, a *app.App, log *slog.Logger, done chan<- error) error {
	c := a.Config
	srv, info, err := a.API(ctx, version)
	if err != nil {
		return err
	}
	switch {
	case info.Mode == "none":
		log.Warn("API AUTHENTICATION IS OFF (api.auth: none): every request is treated as an administrator; use this for development only")
	case info.AdminTokenCreated:
		log.Info("created the admin token; the CLI on this machine reads it from there", "path", info.AdminTokenPath)
	case info.AdminTokenPath != "":
		log.Info("admin token", "path", info.AdminTokenPath)
	}
	for _, r := range info.Custom {
		log.Warn("policy file defines a rule Drydock does not use itself (fine if other rules reference it)", "rule", r)
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("API listen %s: %w", c.Listen, err)
	}
	scheme := "http"
	if c.API.CertFile != "" {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := scheme + "://" + net.JoinHostPort(host, port)
	urlFile := filepath.Join(c.DataDir, APIURLFile)
	if err := os.WriteFile(urlFile, []byte(base+"\n"), 0o644); err != nil {
		log.Warn("could not record the API URL", "path", urlFile, "err", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if c.BootActions.ReportURL == "" {
		a.Orch.SetBootActionURL(base + "/api/v1.0/bootactions/")
	}
	log.Info("API listening", "url", base+"/api/v1.0", "auth", info.Mode)
	go func() {
		var err error
		if c.API.CertFile != "" {
			err = hs.ServeTLS(ln, c.API.CertFile, c.API.KeyFile)
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		if data, err := os.ReadFile(urlFile); err == nil && string(data) == base+"\n" {
			os.Remove(urlFile)
		}
	}()
	return nil
}
