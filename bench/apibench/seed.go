package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// step is one workflow step: its key and its subtask's action (as internal/orchestrator's
// workflows register them).
type step struct{ key, action string }

// kind is a top-level action, how often it appears in the seeded history and its steps.
type kind struct {
	action string
	weight int
	nodes  bool // acts on nodes (successes/failures are node names)
	steps  []step
}

var kinds = []kind{
	{task.ActionDeployNodes, 30, true, []step{{"apply_node_networking", "apply_node_networking"},
		{"apply_node_storage", "apply_node_storage"}, {"apply_node_platform", "apply_node_platform"}, {"deploy_node", "deploy_node"}}},
	{task.ActionPrepareNodes, 25, true, []step{{"find_node", "identify_node"}, {"set_node_boot", "set_node_boot"},
		{"power_cycle_node", "power_cycle_node"}, {"identify_node", "identify_node"}, {"configure_hardware", "configure_hardware"}}},
	{task.ActionValidateDesign, 20, false, []step{{"validate_design", "validate_design"}}},
	{task.ActionVerifySite, 10, false, []step{{"validate_node_services", "validate_node_services"},
		{"validate_oob_services", "validate_oob_services"}, {"validate_kubernetes", "validate_kubernetes_services"}}},
	{task.ActionPrepareSite, 5, false, []step{{"create_network_template", "create_network_template"},
		{"configure_user_credentials", "configure_user_credentials"}, {"configure_node_provisioner", "configure_node_provisioner"}}},
	{task.ActionDestroyNodes, 5, true, []step{{"destroy_node", "destroy_node"}}},
	{task.ActionRelabelNodes, 5, true, []step{{"relabel_node", "relabel_node"}}},
}

// withSubtasks is the share of top-level tasks seeded with their workflow's step subtasks (as
// a task that ran leaves them); the others have none (terminated while queued, or failed the
// design check before registering steps).
const withSubtasks = 0.25

// seedStats describes the seeded history.
type seedStats struct {
	Tasks    int     `json:"tasks"`
	TopLevel int     `json:"top_level"`
	Subtasks int     `json:"subtasks"`
	Messages int     `json:"messages"`
	Workers  int     `json:"workers"`
	Seconds  float64 `json:"seconds"`
	WithSubs int     `json:"with_subtasks"` // top-level tasks that have subtasks
}

// family is a top-level task and its subtasks, created in that order by one worker.
type family struct {
	top  *task.Task
	subs []*task.Task
}

// plan builds the seeded history: exactly n tasks, families of a top-level task and (for
// withSubtasks of them) one subtask per workflow step, created over the last 90 days, all in
// final states with a few messages each. Deterministic for a given seed.
func plan(n int, designRef string, seed uint64) []family {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	pick := func() kind {
		w := rng.IntN(total)
		for _, k := range kinds {
			if w < k.weight {
				return k
			}
			w -= k.weight
		}
		return kinds[0]
	}
	// Average family size, to spread creation times evenly over the window.
	avg := 0.0
	for _, k := range kinds {
		avg += float64(k.weight) / float64(total) * float64(len(k.steps))
	}
	families := int(float64(n)/(1+withSubtasks*avg)) + 1
	end := time.Now().UTC().Add(-time.Hour)
	window := 90 * 24 * time.Hour
	gap := window / time.Duration(families)
	var out []family
	left := n
	for i := 0; left > 0; i++ {
		k := pick()
		created := end.Add(-window + time.Duration(i)*gap + time.Duration(rng.Int64N(int64(gap))))
		f := family{top: topTask(rng, k, designRef, created)}
		left--
		if left > 0 && rng.Float64() < withSubtasks && f.top.Status == task.StatusComplete {
			for j, s := range k.steps {
				if left == 0 {
					break
				}
				f.subs = append(f.subs, subTask(rng, s, f.top, created.Add(time.Duration(j+1)*time.Second)))
				left--
			}
		}
		out = append(out, f)
	}
	return out
}

func nodeNames(rng *rand.Rand, n int) []string {
	rack := rng.IntN(40)
	first := rng.IntN(20)
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("rack%02d-node%03d", rack, first+i)
	}
	return out
}

func msg(text string, isErr bool, ctxType, ctx string, ts time.Time) task.Message {
	m := task.NewMessage(text, isErr, ctxType, ctx)
	m.TS = ts
	return m
}

// topTask is a finished top-level task: complete (success, partial success or failure) or
// terminated, with 3 to 6 messages.
func topTask(rng *rand.Rand, k kind, designRef string, created time.Time) *task.Task {
	t := task.New(k.action, designRef, nil, "admin", created)
	if k.nodes && rng.IntN(3) == 0 {
		t.NodeFilter = []byte(fmt.Sprintf(`{"filter_set_type":"union","filter_set":[{"filter_type":"union","node_names":["rack%02d-node001"]}]}`, rng.IntN(40)))
	}
	dur := time.Duration(30+rng.IntN(3600)) * time.Second
	t.Updated = created.Add(dur)
	ts := func(frac float64) time.Time { return created.Add(time.Duration(frac * float64(dur))) }
	msgs := []task.Message{msg("task queued by admin", false, "", "", created)}
	var nodes []string
	if k.nodes {
		nodes = nodeNames(rng, 1+rng.IntN(40))
	}
	if rng.IntN(10) == 0 { // terminated
		t.Status = task.StatusTerminated
		at := t.Updated
		t.Terminated, t.TerminatedBy, t.Terminate = &at, "admin", true
		t.Result = task.Result{Status: task.ResultFailure, Message: "terminated by admin", Reason: "terminated"}
		msgs = append(msgs, msg("termination requested by admin", false, "", "", ts(0.9)),
			msg("task terminated", false, "", "", ts(1)))
		t.Result.Messages = msgs
		return t
	}
	t.Status = task.StatusComplete
	msgs = append(msgs, msg(fmt.Sprintf("design %s read and validated: %d documents", designRef, 40+rng.IntN(400)), false, "", "", ts(0.05)))
	switch r := rng.IntN(100); {
	case r < 80:
		t.Result.Status = task.ResultSuccess
		t.Result.Successes = nodes
	case r < 92:
		t.Result.Status = task.ResultPartialSuccess
		cut := max(1, len(nodes)/4)
		if len(nodes) > 1 {
			t.Result.Failures, t.Result.Successes = nodes[:cut], nodes[cut:]
		}
	default:
		t.Result.Status = task.ResultFailure
		t.Result.Failures = nodes
	}
	for i, n := range t.Result.Failures {
		if i == 3 {
			break
		}
		msgs = append(msgs, msg("step deploy_node failed on "+n+": the node did not answer within 45m0s (3 attempts)", true, task.ContextNode, n, ts(0.8)))
	}
	if len(t.Result.Failures) == 0 && rng.IntN(2) == 0 {
		msgs = append(msgs, msg(fmt.Sprintf("%d nodes selected by the node filter", len(nodes)), false, "", "", ts(0.1)))
	}
	t.Result.Message = fmt.Sprintf("%d succeeded, %d failed", len(t.Result.Successes), len(t.Result.Failures))
	msgs = append(msgs, msg("task "+string(t.Result.Status)+": "+t.Result.Message, t.Result.Status == task.ResultFailure, "", "", ts(1)))
	t.Result.Messages = msgs
	return t
}

// subTask is a finished step subtask of a complete top-level task, with 1 to 3 messages.
func subTask(rng *rand.Rand, s step, parent *task.Task, created time.Time) *task.Task {
	st := task.New(s.action, parent.DesignRef, nil, parent.CreatedBy, created)
	st.ParentID, st.Step = &parent.ID, s.key
	st.Status = task.StatusComplete
	st.Updated = created.Add(time.Duration(10+rng.IntN(600)) * time.Second)
	st.Result = task.Result{Status: parent.Result.Status, Successes: parent.Result.Successes, Failures: parent.Result.Failures,
		Message: parent.Result.Message}
	st.Result.Messages = []task.Message{msg("step "+s.key+" started", false, "", "", created)}
	for i, n := range st.Result.Failures {
		if i == 2 {
			break
		}
		st.Result.Messages = append(st.Result.Messages, msg(s.key+" failed on "+n+": driver error", true, task.ContextNode, n, st.Updated))
	}
	return st
}

// seed writes the planned history through the store with workers concurrent writers and
// returns the ids of every task created (top-level tasks first in each family).
func seed(ctx context.Context, st store.Store, fams []family, workers int) ([]uuid.UUID, seedStats, error) {
	var stats seedStats
	stats.Workers = workers
	for _, f := range fams {
		stats.TopLevel++
		stats.Subtasks += len(f.subs)
		stats.Messages += len(f.top.Result.Messages)
		for _, s := range f.subs {
			stats.Messages += len(s.Result.Messages)
		}
		if len(f.subs) > 0 {
			stats.WithSubs++
		}
	}
	stats.Tasks = stats.TopLevel + stats.Subtasks
	ids := make([]uuid.UUID, 0, stats.Tasks)
	for _, f := range fams {
		ids = append(ids, f.top.ID)
		for _, s := range f.subs {
			ids = append(ids, s.ID)
		}
	}
	start := time.Now()
	var next atomic.Int64
	var done atomic.Int64
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(fams) || ctx.Err() != nil {
					return
				}
				f := fams[i]
				for _, t := range append([]*task.Task{f.top}, f.subs...) {
					if err := st.CreateTask(ctx, t); err != nil {
						once.Do(func() { firstErr = err; cancel() })
						return
					}
					// The messages are the store's now; free them.
					t.Result.Messages = nil
				}
				done.Add(int64(1 + len(f.subs)))
			}
		})
	}
	progress := make(chan struct{})
	go func() {
		tk := time.NewTicker(10 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-progress:
				return
			case <-tk.C:
				logf("seeding: %d/%d tasks after %.0fs", done.Load(), stats.Tasks, time.Since(start).Seconds())
			}
		}
	}()
	wg.Wait()
	close(progress)
	stats.Seconds = time.Since(start).Seconds()
	if firstErr != nil {
		return nil, stats, fmt.Errorf("seed: %w", firstErr)
	}
	return ids, stats, nil
}
