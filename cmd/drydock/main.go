// Command drydock is the Drydock-Go command line: it validates and renders site designs (and,
// as the project grows, runs the orchestrator and talks to its API).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	exitOK      = 0
	exitInvalid = 1 // the design has errors
	exitUsage   = 2 // the design could not be read, or the command was misused
)

// exitError carries an exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

var version = "dev"

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "drydock",
		Short:         "Drydock-Go: turn a YAML site design into provisioned bare-metal servers",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(newValidateCmd(), newRenderCmd(), newDemoCmd(), newServeCmd(), newMigrateCmd(), newTaskCmd(),
		newNodeCmd(), newDesignCmd(), newTokenCmd(), newPolicyCmd(), newSimCmd(), newPurgeCmd())
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "drydock:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "drydock:", err)
	return exitUsage
}
