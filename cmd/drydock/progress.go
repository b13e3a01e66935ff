package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/orchestrator"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// The progress view is a few lines of text redrawn in place with ANSI cursor movement; a
// library for multi-bar terminals would bring more than this needs.

// nodeProgress is one node's (or the site's) position in a workflow.
type nodeProgress struct {
	name    string
	done    int    // steps passed
	current string // step in progress or where it stopped
	state   task.StepState
	message string
}

// progressOf summarises a task's step runs per node, in the order of the steps.
func progressOf(runs []task.StepRun, steps []string) []nodeProgress {
	order := map[string]int{}
	for i, s := range steps {
		order[s] = i
	}
	byNode := map[string][]task.StepRun{}
	var names []string
	for _, r := range runs {
		if _, seen := byNode[r.Node]; !seen {
			names = append(names, r.Node)
		}
		byNode[r.Node] = append(byNode[r.Node], r)
	}
	sort.Strings(names)
	out := make([]nodeProgress, 0, len(names))
	for _, n := range names {
		rs := byNode[n]
		sort.Slice(rs, func(i, j int) bool { return order[rs[i].Step] < order[rs[j].Step] })
		p := nodeProgress{name: n, state: task.StepPending}
		if n == task.SiteEntity {
			p.name = "site"
		}
		for _, r := range rs {
			if r.State.Passed() {
				p.done++
				p.current, p.state, p.message = r.Step, r.State, r.Message
				continue
			}
			p.current, p.state, p.message = r.Step, r.State, r.Message
			break
		}
		out = append(out, p)
	}
	return out
}

// renderProgress draws the progress lines of a task.
func renderProgress(w io.Writer, ps []nodeProgress, total int, color bool) int {
	const maxLines = 24
	lines := 0
	if len(ps) > maxLines {
		// Too many nodes for a line each: count them per step and state.
		counts := map[string]int{}
		var keys []string
		for _, p := range ps {
			k := fmt.Sprintf("%-24s %s", p.current, p.state)
			if p.done == total {
				k = fmt.Sprintf("%-24s %s", "all steps", "done")
			}
			if counts[k] == 0 {
				keys = append(keys, k)
			}
			counts[k]++
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "\x1b[2K  %6d nodes  %s\n", counts[k], k)
			lines++
		}
		return lines
	}
	width := 4
	for _, p := range ps {
		if len(p.name) > width {
			width = len(p.name)
		}
	}
	for _, p := range ps {
		bar := strings.Repeat("█", p.done) + strings.Repeat("░", total-p.done)
		state := string(p.state)
		if p.done == total {
			state = "done"
		}
		if color {
			switch {
			case p.done == total:
				state = ansiGreen + state + ansiReset
			case p.state == task.StepFailed || p.state == task.StepCancelled:
				state = ansiRed + state + ansiReset
			case p.state == task.StepRunning:
				state = ansiYellow + state + ansiReset
			}
		}
		msg := p.message
		if len(msg) > 60 {
			msg = msg[:57] + "..."
		}
		fmt.Fprintf(w, "\x1b[2K  %-*s %s %d/%d %-22s %s %s\n", width, p.name, bar, p.done, total, p.current, state, msg)
		lines++
	}
	return lines
}

// progressSource is where the progress view reads a task's status and step runs: the store
// (the demo, in-process) or the API (the CLI).
type progressSource interface {
	taskStatus(ctx context.Context, id uuid.UUID) (task.Status, error)
	stepRuns(ctx context.Context, id uuid.UUID) ([]task.StepRun, error)
}

// storeSource reads progress from the store.
type storeSource struct{ st store.Store }

func (s storeSource) taskStatus(ctx context.Context, id uuid.UUID) (task.Status, error) {
	st, _, err := s.st.TaskStatus(ctx, id)
	return st, err
}

func (s storeSource) stepRuns(ctx context.Context, id uuid.UUID) ([]task.StepRun, error) {
	return s.st.ListStepRuns(ctx, id)
}

// watchTask shows a task's per-node progress until it finishes (or ctx ends) and returns its
// final status. On a terminal the view is redrawn in place; otherwise each change is printed
// once.
func watchTask(ctx context.Context, src progressSource, id uuid.UUID, action string, w io.Writer, tty, color bool, every time.Duration) (task.Status, error) {
	steps := orchestrator.StepKeys(action)
	drawn := 0
	last := map[string]string{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		status, err := src.taskStatus(ctx, id)
		if err != nil {
			return status, err
		}
		runs, err := src.stepRuns(ctx, id)
		if err != nil {
			return status, err
		}
		ps := progressOf(runs, steps)
		if tty {
			if drawn > 0 {
				fmt.Fprintf(w, "\x1b[%dA", drawn)
			}
			drawn = renderProgress(w, ps, len(steps), color)
		} else {
			for _, p := range ps {
				line := fmt.Sprintf("%s %d/%d %s %s", p.name, p.done, len(steps), p.current, p.state)
				if last[p.name] != line {
					last[p.name] = line
					state := string(p.state)
					if p.done == len(steps) {
						state = "done"
					}
					fmt.Fprintf(w, "  %-10s %-22s %s\n", p.name, p.current, state)
				}
			}
		}
		if status.Final() {
			return status, nil
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-tick.C:
		}
	}
}
