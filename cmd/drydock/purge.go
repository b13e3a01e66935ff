package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/api"
)

func newPurgeCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	var olderThan string
	cmd := &cobra.Command{
		Use:   "purge --older-than AGE",
		Short: "Delete finished tasks and build data older than an age (retention)",
		Long: `Purge deletes, through the API (DELETE /api/v1.0/tasks), every finished task created more
than AGE ago with its subtasks, messages, step runs, design snapshot, build data and boot action
records, and the build data collected more than AGE ago of finished tasks. Queued, running and
terminating tasks, and everything that belongs to them, are never touched, however old.

AGE is a number of days (90d) or a duration (36h); at least 1h. Run it from cron, e.g. daily:
  drydock purge --older-than 90d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if olderThan == "" {
				return &exitError{exitUsage, fmt.Errorf("--older-than is required (e.g. --older-than 90d)")}
			}
			age, err := api.ParseAge(olderThan)
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("--older-than: %w", err)}
			}
			if age < api.MinRetention {
				return &exitError{exitUsage, fmt.Errorf("--older-than must be at least %s", api.MinRetention)}
			}
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			res, err := c.Purge(cmd.Context(), age)
			if err != nil {
				return &exitError{exitUsage, apiError(c, err)}
			}
			if o.value != "text" {
				return writeStructured(cmd.OutOrStdout(), o.value, res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted %d tasks, %d build data records and %d boot action records from before %s.\n",
				res.TasksDeleted, res.BuildDataDeleted, res.BootActionsDeleted, res.Before.Format("2006-01-02 15:04:05Z07:00"))
			return nil
		},
	}
	f.add(cmd)
	o.add(cmd, "text", "text", "yaml", "json")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "delete what is older than this age: days (90d) or a duration (36h)")
	return cmd
}
