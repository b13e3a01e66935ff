// Command drydock is the Drydock-Go command line: it validates and renders site designs (and,
// as the project grows, runs the orchestrator and talks to its API).
package main

import (
	"errors"
	"fmt"
	"os"

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
	root.AddCommand(newValidateCmd(), newRenderCmd())
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "drydock:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "drydock:", err)
	return exitUsage
}
