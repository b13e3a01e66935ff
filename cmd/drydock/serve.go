package main

import (
	"fmt"
	"log/slog"
	"os"

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
			if err := a.Orch.Run(cmd.Context()); err != nil {
				return fmt.Errorf("orchestrator: %w", err)
			}
			log.Info("drydock stopped")
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&listen, "listen", "", "API listen address (default 127.0.0.1:9000; used once the API is enabled)")
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
