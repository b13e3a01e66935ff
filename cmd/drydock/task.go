package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/api/wire"
	"github.com/drydock-go/drydock/internal/client"
	"github.com/drydock-go/drydock/internal/nodefilter"
	"github.com/drydock-go/drydock/internal/task"
)

// The task commands talk to the REST API of drydock serve (see apiclient.go for how they find
// it and authenticate).

func newTaskCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "Create, list, show, watch, terminate and retry tasks (through the API)"}
	cmd.AddCommand(newTaskCreateCmd(), newTaskListCmd(), newTaskShowCmd(), newTaskWatchCmd(), newTaskTerminateCmd(),
		newTaskRetryCmd(), newTaskBuildDataCmd())
	return cmd
}

// nodeFilterOf builds the node filter of the node flags: nodes matching any of the given
// names, racks or tags (all nodes when none is given). The original CLI dropped the tags.
func nodeFilterOf(names, racks, tags []string) json.RawMessage {
	if len(names)+len(racks)+len(tags) == 0 {
		return nil
	}
	fs := &nodefilter.FilterSet{FilterSetType: nodefilter.Union}
	if len(names) > 0 {
		fs.FilterSet = append(fs.FilterSet, nodefilter.Filter{FilterType: nodefilter.Union, NodeNames: names})
	}
	if len(racks) > 0 {
		fs.FilterSet = append(fs.FilterSet, nodefilter.Filter{FilterType: nodefilter.Union, RackNames: racks})
	}
	if len(tags) > 0 {
		// A node with any of the tags: one filter per tag (tags within one filter are AND-ed).
		for _, t := range tags {
			fs.FilterSet = append(fs.FilterSet, nodefilter.Filter{FilterType: nodefilter.Union, NodeTags: []string{t}})
		}
	}
	data, _ := json.Marshal(fs)
	return data
}

func newTaskCreateCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	var action, designRef string
	var names, racks, tags []string
	var block bool
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "create -a ACTION -d DESIGN_REF",
		Short: "Queue a task",
		Long: `Create queues a task. ACTION is one of validate_design, verify_site, prepare_site,
verify_nodes, prepare_nodes, deploy_nodes, destroy_nodes, relabel_nodes. DESIGN_REF is read by
the server: an http(s):// or deckhand+http(s):// URL, or a path on the server's machine (a
relative path is made absolute here, for a server on this machine). The node flags narrow the
nodes the task targets (a node matching any of them; all nodes when none is given). With
--block the command shows the task's progress and waits for it to finish; its exit status is
then 0 only when the task succeeded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if action == "" {
				return &exitError{exitUsage, fmt.Errorf("an action must be specified using --action")}
			}
			if !task.IsTopLevel(action) || action == task.ActionNoop {
				return &exitError{exitUsage, fmt.Errorf("--action %q is not a task action (use one of %s)", action, strings.Join(task.TopLevelActions[:8], ", "))}
			}
			if designRef == "" {
				return &exitError{exitUsage, fmt.Errorf("a design reference must be specified using --design-ref")}
			}
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			t, err := c.CreateTask(ctx, action, absRef(designRef), nodeFilterOf(names, racks, tags))
			if err != nil {
				return apiError(c, err)
			}
			if !block {
				return printTask(cmd.OutOrStdout(), t, o.value)
			}
			id, _ := uuid.Parse(t.TaskID)
			return blockOn(ctx, cmd, c, id, action, o.value, poll)
		},
	}
	f.add(cmd)
	o.add(cmd, "table", "table", "json", "yaml")
	cmd.Flags().StringVarP(&action, "action", "a", "", "the action (required)")
	cmd.Flags().StringVarP(&designRef, "design-ref", "d", "", "the design reference (required)")
	cmd.Flags().StringSliceVarP(&names, "node-names", "n", nil, "target these nodes (comma-separated)")
	cmd.Flags().StringSliceVarP(&racks, "rack-names", "r", nil, "target the nodes of these racks")
	cmd.Flags().StringSliceVarP(&tags, "node-tags", "t", nil, "target the nodes with any of these tags")
	cmd.Flags().BoolVarP(&block, "block", "b", false, "wait for the task to finish, showing its progress")
	cmd.Flags().DurationVar(&poll, "poll-interval", time.Second, "how often --block asks for progress")
	return cmd
}

// blockOn shows a task's progress until it finishes, then prints it; the exit status says
// whether it succeeded.
func blockOn(ctx context.Context, cmd *cobra.Command, c *client.Client, id uuid.UUID, action, output string, poll time.Duration) error {
	out := cmd.OutOrStdout()
	progress := out
	if output == "json" || output == "yaml" {
		progress = cmd.ErrOrStderr() // keep stdout parseable
	}
	tty := isTerminal(progress)
	if _, err := watchTask(ctx, apiSource{c}, id, action, progress, tty, tty, max(poll, 100*time.Millisecond)); err != nil {
		return apiError(c, err)
	}
	t, err := c.GetTask(ctx, id, client.TaskOptions{})
	if err != nil {
		return apiError(c, err)
	}
	if err := printTask(out, t, output); err != nil {
		return err
	}
	if t.Result.Status != string(task.ResultSuccess) {
		return &exitError{exitInvalid, nil}
	}
	return nil
}

// absRef makes a relative path reference absolute, so that the server (another process,
// maybe another directory) reads the same files.
func absRef(ref string) string {
	if strings.Contains(ref, "://") {
		return ref
	}
	if a, err := filepath.Abs(ref); err == nil {
		return a
	}
	return ref
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

func newTaskListCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	var limit int
	var all bool
	var statuses []string
	var action string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tasks, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			var ts []wire.Task
			marker := ""
			for {
				page := min(max(limit-len(ts), 1), 1000)
				if limit == 0 {
					page = 1000
				}
				got, next, err := c.ListTasks(cmd.Context(), client.ListOptions{TopLevel: !all, Limit: page, Marker: marker,
					Statuses: statuses, Action: action})
				if err != nil {
					return apiError(c, err)
				}
				ts = append(ts, got...)
				if next == "" || (limit > 0 && len(ts) >= limit) {
					break
				}
				marker = next
			}
			out := cmd.OutOrStdout()
			if o.value != "table" {
				return writeStructured(out, o.value, ts)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tACTION\tSTATUS\tRESULT\tCREATED\tBY\tNODES OK/FAILED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\n", t.TaskID, t.Action, t.Status, t.Result.Status,
					t.Created.Local().Format(time.DateTime), t.CreatedBy, len(t.Result.Successes), len(t.Result.Failures))
			}
			return tw.Flush()
		},
	}
	f.add(cmd)
	o.add(cmd, "table", "table", "json", "yaml")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many tasks (0: all)")
	cmd.Flags().BoolVar(&all, "all", false, "include subtasks (each workflow step is one)")
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only tasks in these statuses (queued, running, complete, ...)")
	cmd.Flags().StringVar(&action, "action", "", "only tasks with this action")
	return cmd
}

// taskIDArg reads the task id from the argument or the original CLI's -t/--task-id flag.
func taskIDArg(args []string, flag string) (uuid.UUID, error) {
	s := flag
	if len(args) > 0 {
		if flag != "" && flag != args[0] {
			return uuid.Nil, &exitError{exitUsage, fmt.Errorf("give the task id once (argument or --task-id)")}
		}
		s = args[0]
	}
	if s == "" {
		return uuid.Nil, &exitError{exitUsage, fmt.Errorf("a task id is required")}
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return id, &exitError{exitUsage, fmt.Errorf("%q is not a task id (a UUID)", s)}
	}
	return id, nil
}

func newTaskShowCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	var block, subErrs bool
	var idFlag string
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "show TASK_ID",
		Short: "Show a task, its steps per node and its messages",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := taskIDArg(args, idFlag)
			if err != nil {
				return err
			}
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			t, err := c.GetTask(ctx, id, client.TaskOptions{SubtaskErrors: subErrs})
			if err != nil {
				return apiError(c, err)
			}
			if block && !task.Status(t.Status).Final() {
				return blockOn(ctx, cmd, c, id, t.Action, o.value, poll)
			}
			out := cmd.OutOrStdout()
			if err := printTask(out, t, o.value); err != nil {
				return err
			}
			if o.value == "table" {
				runs, err := c.TaskSteps(ctx, id)
				if err != nil {
					return apiError(c, err)
				}
				printSteps(out, runs)
			}
			return nil
		},
	}
	f.add(cmd)
	o.add(cmd, "table", "table", "json", "yaml")
	cmd.Flags().StringVarP(&idFlag, "task-id", "t", "", "the task id (or give it as the argument)")
	cmd.Flags().BoolVarP(&block, "block", "b", false, "wait for the task to finish, showing its progress")
	cmd.Flags().BoolVar(&subErrs, "subtask-errors", false, "include the results of subtasks that reported errors")
	cmd.Flags().DurationVar(&poll, "poll-interval", time.Second, "how often --block asks for progress")
	return cmd
}

func newTaskWatchCmd() *cobra.Command {
	var f clientFlags
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "watch TASK_ID",
		Short: "Show a task's per-node progress live until it finishes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := taskIDArg(args, "")
			if err != nil {
				return err
			}
			c, err := f.client(nil)
			if err != nil {
				return err
			}
			t, err := c.GetTask(cmd.Context(), id, client.TaskOptions{})
			if err != nil {
				return apiError(c, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "task %s (%s) is %s\n", id, t.Action, t.Status)
			return blockOn(cmd.Context(), cmd, c, id, t.Action, "summary", poll)
		},
	}
	f.add(cmd)
	cmd.Flags().DurationVar(&poll, "poll-interval", time.Second, "how often to ask for progress")
	return cmd
}

func newTaskTerminateCmd() *cobra.Command {
	return taskChangeCmd("terminate TASK_ID", "Stop a task: queued tasks never run, running ones are wound down",
		func(ctx context.Context, c *client.Client, id uuid.UUID) (string, error) {
			t, err := c.TerminateTask(ctx, id)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("task %s is %s", id, t.Status), nil
		})
}

func newTaskRetryCmd() *cobra.Command {
	return taskChangeCmd("retry TASK_ID", "Run a finished task again, repeating only the steps that did not pass",
		func(ctx context.Context, c *client.Client, id uuid.UUID) (string, error) {
			t, err := c.RetryTask(ctx, id)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("task %s queued again (retry %d)", id, t.Retry), nil
		})
}

// taskChangeCmd is a command that does one thing to one task and prints what came of it.
func taskChangeCmd(use, short string, do func(ctx context.Context, c *client.Client, id uuid.UUID) (string, error)) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := taskIDArg(args, "")
			if err != nil {
				return err
			}
			c, err := f.client(nil)
			if err != nil {
				return err
			}
			msg, err := do(cmd.Context(), c, id)
			if err != nil {
				return &exitError{exitUsage, apiError(c, err)}
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newTaskBuildDataCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	var idFlag string
	cmd := &cobra.Command{
		Use:   "builddata TASK_ID",
		Short: "Show the build data a task collected",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := taskIDArg(args, idFlag)
			if err != nil {
				return err
			}
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			bds, err := c.TaskBuildData(cmd.Context(), id)
			if err != nil {
				return apiError(c, err)
			}
			return writeStructured(cmd.OutOrStdout(), o.value, bds)
		},
	}
	f.add(cmd)
	o.add(cmd, "yaml", "yaml", "json")
	cmd.Flags().StringVarP(&idFlag, "task-id", "t", "", "the task id (or give it as the argument)")
	return cmd
}

// printTask prints a task as a table-like summary, JSON or YAML ("summary" prints only the
// outcome line, after a watch).
func printTask(w io.Writer, t *wire.Task, output string) error {
	switch output {
	case "json", "yaml":
		return writeStructured(w, output, t)
	case "summary":
		fmt.Fprintf(w, "task %s %s: %s", t.TaskID, t.Status, t.Result.Status)
		if t.Result.Message != "" {
			fmt.Fprintf(w, " (%s)", t.Result.Message)
		}
		fmt.Fprintln(w)
		printFailures(w, t)
		return nil
	}
	fmt.Fprintf(w, "Task %s\n  action:  %s\n  design:  %s\n  status:  %s\n  result:  %s", t.TaskID, t.Action, t.DesignRef, t.Status, t.Result.Status)
	if t.Result.Message != "" {
		fmt.Fprintf(w, " (%s)", t.Result.Message)
	}
	fmt.Fprintf(w, "\n  created: %s by %s\n", t.Created.Local().Format(time.DateTime), t.CreatedBy)
	if t.Retry > 0 {
		fmt.Fprintf(w, "  retry:   %d\n", t.Retry)
	}
	if len(t.Result.Successes) > 0 {
		fmt.Fprintf(w, "  succeeded: %s\n", strings.Join(t.Result.Successes, ", "))
	}
	if len(t.Result.Failures) > 0 {
		fmt.Fprintf(w, "  failed:    %s\n", strings.Join(t.Result.Failures, ", "))
	}
	if msgs := t.Result.Details.MessageList; len(msgs) > 0 {
		fmt.Fprintln(w, "  messages:")
		for _, m := range msgs {
			mark := " "
			if m.Error {
				mark = "!"
			}
			fmt.Fprintf(w, "   %s %s [%s %s] %s\n", mark, m.TS.Local().Format(time.TimeOnly), m.ContextType, m.Context, m.Message)
		}
	}
	if len(t.SubtaskErrors) > 0 {
		fmt.Fprintln(w, "  subtask errors:")
		ids := make([]string, 0, len(t.SubtaskErrors))
		for id := range t.SubtaskErrors {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			se := t.SubtaskErrors[id]
			fmt.Fprintf(w, "    %s: %s %s\n", id, se.Status, se.Message)
			for _, m := range se.Details.MessageList {
				if m.Error {
					fmt.Fprintf(w, "      ! [%s %s] %s\n", m.ContextType, m.Context, m.Message)
				}
			}
		}
	}
	return nil
}

// printFailures lists up to 20 error messages of a task.
func printFailures(w io.Writer, t *wire.Task) {
	n := 0
	for _, m := range t.Result.Details.MessageList {
		if m.Error {
			fmt.Fprintf(w, "  ! [%s %s] %s\n", m.ContextType, m.Context, m.Message)
			if n++; n == 20 {
				break
			}
		}
	}
}

func printSteps(w io.Writer, runs []wire.StepRun) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintln(w, "  steps:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    NODE\tSTEP\tSTATE\tATTEMPTS\tMESSAGE")
	for _, r := range runs {
		node := r.Node
		if node == task.SiteEntity {
			node = "(site)"
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%d\t%s\n", node, r.Step, r.State, r.Attempts, r.Message)
	}
	tw.Flush()
}
