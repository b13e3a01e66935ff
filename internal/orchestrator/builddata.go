package orchestrator

import (
	"context"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
)

// saveBuildData stores the facts a driver call collected about a node, on the step's subtask,
// and says so in the task's messages. A record that cannot be stored is logged and reported,
// but does not fail the node: the facts are informational.
func (r *run) saveBuildData(ctx context.Context, s *Step, node string, bds []driver.BuildData) {
	taskID := r.subtasks[s.Key]
	var saved, lost []string
	for _, bd := range bds {
		err := r.o.store.PutBuildData(ctx, store.BuildData{NodeName: node, TaskID: taskID, Collected: bd.Collected,
			Generator: bd.Generator, Format: bd.Format, Data: bd.Data})
		if err != nil {
			if ctx.Err() == nil {
				r.o.log.Error("storing build data failed", "task", r.t.ID, "node", node, "generator", bd.Generator, "err", err)
			}
			lost = append(lost, bd.Generator)
			continue
		}
		saved = append(saved, bd.Generator)
	}
	var msgs []task.Message
	if len(saved) > 0 {
		msgs = append(msgs, task.NodeInfo(node, "Saved build data of %s: %s.", node, strings.Join(saved, ", ")))
	}
	if len(lost) > 0 {
		msgs = append(msgs, task.NodeError(node, "Build data of %s could not be stored: %s.", node, strings.Join(lost, ", ")))
	}
	r.message(ctx, msgs...)
}

// deviceNames resolves the node's hardware-profile device aliases to kernel names from its
// latest lshw build data (once per node and run). Without build data, or when the profile has
// no aliases, it returns nil and drivers use the aliases as they are.
func (r *run) deviceNames(ctx context.Context, n *design.Node) map[string]string {
	r.namesMu.Lock()
	defer r.namesMu.Unlock()
	if names, ok := r.names[n.Name]; ok {
		return names
	}
	var names map[string]string
	hw := r.site.Design.HardwareProfile(n.HardwareProfile)
	if hw != nil && len(hw.DeviceAliases) > 0 {
		bds, err := r.o.store.ListBuildData(ctx, store.BuildDataQuery{NodeName: n.Name, Latest: true})
		if err != nil {
			r.o.log.Warn("reading build data failed; device aliases stay unresolved", "node", n.Name, "err", err)
			return nil // not cached: asked again on the next step
		}
		for _, bd := range bds {
			if bd.Generator != "lshw" {
				continue
			}
			resolved, err := design.LogicalNames(hw, bd.Data)
			if err != nil {
				r.message(ctx, task.NodeError(n.Name, "The lshw build data of %s could not be used to resolve device aliases: %v", n.Name, err))
				break
			}
			names = resolved
			if len(names) > 0 {
				r.message(ctx, task.NodeInfo(n.Name, "Device aliases of %s resolved from its hardware inventory: %s.", n.Name, pairs(names)))
			}
		}
	}
	if r.names == nil {
		r.names = map[string]map[string]string{}
	}
	r.names[n.Name] = names
	return names
}

func pairs(m map[string]string) string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
