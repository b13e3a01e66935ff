package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/app"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/nodefilter"
	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// The task commands work on the store directly (the data directory, or the PostgreSQL URL);
// the orchestrator of drydock serve picks the tasks up.

func newTaskCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "Create, list, show, terminate and retry tasks"}
	cmd.AddCommand(newTaskCreateCmd(), newTaskListCmd(), newTaskShowCmd(), newTaskTerminateCmd(), newTaskRetryCmd())
	return cmd
}

func openStore(cmd *cobra.Command, f *serverFlags) (store.Store, error) {
	c, err := f.load()
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	st, err := app.OpenStore(cmd.Context(), c)
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	return st, nil
}

func newTaskCreateCmd() *cobra.Command {
	var f serverFlags
	var action, designRef, output string
	var names, racks, tags []string
	var block bool
	cmd := &cobra.Command{
		Use:   "create -a ACTION -d DESIGN_REF",
		Short: "Queue a task",
		Long: `Create queues a task for the orchestrator. ACTION is one of validate_design, verify_site,
prepare_site, verify_nodes, prepare_nodes, deploy_nodes, destroy_nodes, relabel_nodes. The
node flags narrow the nodes the task targets (a node matching any of them; all nodes when none
is given). With --block the command waits and shows the task's progress.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !task.IsTopLevel(action) {
				return &exitError{exitUsage, fmt.Errorf("--action %q is not a task action (use one of %s)", action, strings.Join(task.TopLevelActions, ", "))}
			}
			if designRef == "" {
				return &exitError{exitUsage, fmt.Errorf("--design-ref is required")}
			}
			st, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			var filter []byte
			if len(names)+len(racks)+len(tags) > 0 {
				fs := &nodefilter.FilterSet{FilterSetType: nodefilter.Union, FilterSet: []nodefilter.Filter{{
					FilterType: nodefilter.Union, NodeNames: names, RackNames: racks, NodeTags: tags}}}
				filter, _ = json.Marshal(fs)
			}
			// Only queues: it needs no drivers.
			o := orchestrator.New(st, driver.Set{}, orchestrator.Config{})
			t, err := o.Submit(cmd.Context(), action, absRef(designRef), filter, currentUser())
			if err != nil {
				return err
			}
			if !block {
				return printTask(cmd.OutOrStdout(), t, output)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "task %s (%s) queued; waiting for an orchestrator (drydock serve) to run it\n", t.ID, action)
			done, err := watchTask(cmd.Context(), st, t.ID, action, out, isTerminal(out), isTerminal(out))
			if err != nil {
				return err
			}
			return printTask(out, done, output)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&action, "action", "a", "", "the action (required)")
	cmd.Flags().StringVarP(&designRef, "design-ref", "d", "", "the design reference (required)")
	cmd.Flags().StringSliceVarP(&names, "node-names", "n", nil, "target these nodes")
	cmd.Flags().StringSliceVarP(&racks, "rack-names", "r", nil, "target the nodes of these racks")
	cmd.Flags().StringSliceVarP(&tags, "node-tags", "t", nil, "target the nodes with these tags")
	cmd.Flags().BoolVarP(&block, "block", "b", false, "wait for the task to finish, showing its progress")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// absRef makes a relative path reference absolute, so that the orchestrator (another process,
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
	var f serverFlags
	var output string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List top-level tasks, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			ts, err := st.ListTasks(cmd.Context(), store.ListParams{TopLevelOnly: true, Limit: limit})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				list := make([]any, len(ts))
				for i, t := range ts {
					list[i] = taskJSON(t)
				}
				writeJSON(out, list)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tACTION\tSTATUS\tRESULT\tCREATED\tNODES OK/FAILED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\n", t.ID, t.Action, t.Status, t.Result.Status,
					t.Created.Local().Format(time.DateTime), len(t.Result.Successes), len(t.Result.Failures))
			}
			return tw.Flush()
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many tasks (0: all)")
	return cmd
}

func parseTaskID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return id, &exitError{exitUsage, fmt.Errorf("%q is not a task id (a UUID)", s)}
	}
	return id, nil
}

func newTaskShowCmd() *cobra.Command {
	var f serverFlags
	var output string
	var block bool
	cmd := &cobra.Command{
		Use:   "show TASK_ID",
		Short: "Show a task, its steps per node and its messages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseTaskID(args[0])
			if err != nil {
				return err
			}
			st, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			t, err := st.GetTask(cmd.Context(), id)
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("task %s: %w", id, err)}
			}
			out := cmd.OutOrStdout()
			if block && !t.Status.Final() {
				if t, err = watchTask(cmd.Context(), st, id, t.Action, out, isTerminal(out), isTerminal(out)); err != nil {
					return err
				}
			}
			if err := printTask(out, t, output); err != nil {
				return err
			}
			if output == "text" {
				runs, err := st.ListStepRuns(cmd.Context(), id)
				if err != nil {
					return err
				}
				printSteps(out, runs)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVarP(&block, "block", "b", false, "wait for the task to finish, showing its progress")
	return cmd
}

func newTaskTerminateCmd() *cobra.Command {
	return taskIDCmd("terminate TASK_ID", "Stop a task: queued tasks never run, running ones are wound down",
		func(ctx context.Context, st store.Store, id uuid.UUID) (string, error) {
			t, err := st.RequestTermination(ctx, id, currentUser(), time.Now())
			if err != nil {
				return "", fmt.Errorf("terminate %s: %w", id, err)
			}
			return fmt.Sprintf("task %s is %s", id, t.Status), nil
		})
}

func newTaskRetryCmd() *cobra.Command {
	return taskIDCmd("retry TASK_ID", "Run a finished task again, repeating only the steps that did not pass",
		func(ctx context.Context, st store.Store, id uuid.UUID) (string, error) {
			t, err := st.Requeue(ctx, id, time.Now())
			if err != nil {
				return "", fmt.Errorf("retry %s: %w", id, err)
			}
			return fmt.Sprintf("task %s queued again (retry %d)", id, t.Retry), nil
		})
}

// taskIDCmd is a command that does one thing to one task and prints what came of it; a
// failure is a usage error (unknown task, or a task in the wrong state).
func taskIDCmd(use, short string, do func(ctx context.Context, st store.Store, id uuid.UUID) (string, error)) *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseTaskID(args[0])
			if err != nil {
				return err
			}
			st, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			out, err := do(cmd.Context(), st, id)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// taskJSON is the API's task representation.
func taskJSON(t *task.Task) map[string]any {
	subs := make([]string, len(t.SubtaskIDs))
	for i, s := range t.SubtaskIDs {
		subs[i] = s.String()
	}
	var parent any
	if t.ParentID != nil {
		parent = t.ParentID.String()
	}
	var filter any
	if len(t.NodeFilter) > 0 {
		_ = json.Unmarshal(t.NodeFilter, &filter)
	}
	msgs := make([]any, len(t.Result.Messages))
	for i, m := range t.Result.Messages {
		extra := m.Extra
		if extra == nil {
			extra = map[string]any{}
		}
		msgs[i] = map[string]any{"message": m.Message, "error": m.Error, "context_type": m.ContextType,
			"context": m.Context, "ts": m.TS.UTC().Format(time.RFC3339Nano), "extra": extra}
	}
	links := make([]any, len(t.Result.Links))
	for i, l := range t.Result.Links {
		links[i] = l
	}
	var terminated any
	if t.Terminated != nil {
		terminated = t.Terminated.UTC().Format(time.RFC3339Nano)
	}
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return map[string]any{
		"kind": "Task", "apiVersion": "v1", "task_id": t.ID.String(), "action": t.Action,
		"parent_task_id": parent, "design_ref": t.DesignRef, "status": t.Status, "node_filter": filter,
		"subtask_id_list": subs, "created": t.Created.UTC().Format(time.RFC3339Nano), "created_by": t.CreatedBy,
		"updated": t.Updated.UTC().Format(time.RFC3339Nano), "terminated": terminated, "terminated_by": t.TerminatedBy,
		"terminate": t.Terminate, "retry": t.Retry,
		"result": map[string]any{"kind": "Status", "apiVersion": "v1.0", "metadata": map[string]any{},
			"status": t.Result.Status, "message": t.Result.Message, "reason": t.Result.Reason,
			"successes": nonNil(t.Result.Successes), "failures": nonNil(t.Result.Failures), "links": links,
			"details": map[string]any{"errorCount": t.Result.ErrorCount(), "messageList": msgs}},
	}
}

func printTask(w io.Writer, t *task.Task, output string) error {
	if output == "json" {
		writeJSON(w, taskJSON(t))
		return nil
	}
	if output != "text" {
		return &exitError{exitUsage, fmt.Errorf("--output must be text or json")}
	}
	fmt.Fprintf(w, "Task %s\n  action:  %s\n  design:  %s\n  status:  %s\n  result:  %s", t.ID, t.Action, t.DesignRef, t.Status, t.Result.Status)
	if t.Result.Message != "" {
		fmt.Fprintf(w, " (%s)", t.Result.Message)
	}
	fmt.Fprintf(w, "\n  created: %s by %s\n", t.Created.Local().Format(time.DateTime), t.CreatedBy)
	if len(t.Result.Successes) > 0 {
		fmt.Fprintf(w, "  succeeded: %s\n", strings.Join(t.Result.Successes, ", "))
	}
	if len(t.Result.Failures) > 0 {
		fmt.Fprintf(w, "  failed:    %s\n", strings.Join(t.Result.Failures, ", "))
	}
	if len(t.Result.Messages) > 0 {
		fmt.Fprintln(w, "  messages:")
		for _, m := range t.Result.Messages {
			mark := " "
			if m.Error {
				mark = "!"
			}
			fmt.Fprintf(w, "   %s %s [%s %s] %s\n", mark, m.TS.Local().Format(time.TimeOnly), m.ContextType, m.Context, m.Message)
		}
	}
	return nil
}

func printSteps(w io.Writer, runs []task.StepRun) {
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
