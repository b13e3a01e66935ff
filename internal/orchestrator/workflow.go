package orchestrator

import (
	"sort"
	"time"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/task"
)

// Scope says whether a workflow works on the site as a whole or on each target node.
type Scope int

// Scopes.
const (
	ScopeSite Scope = iota
	ScopeNodes
)

// Workflow is a top-level action as an explicit list of steps. For node workflows every target
// node goes through the steps on its own: a node that passes a step goes on to the next at once,
// whatever the other nodes are doing, and a node that fails a step stops there (the successes
// of one step feed the next). Site workflows run their steps once, in order.
type Workflow struct {
	Action string
	Scope  Scope
	Steps  []Step
	// Lock makes the task hold the site-wide reservation, so that two such tasks never run at
	// once (prepare_site rewrites the provisioner's network configuration).
	Lock bool
}

// Step is one step of a workflow.
type Step struct {
	// Key names the step in the task's records; unique within the workflow.
	Key string
	// Action is the subtask action recorded for the step (the original's driver action name).
	Action string
	// Timeout bounds the step for one node, including every attempt and every wait; it is
	// configurable (Config.Timeouts, by Key).
	Timeout time.Duration
	// Retries is how many more times a node's failed or unreachable attempt is retried (with
	// backoff) before the step fails for that node.
	Retries int
	// RefusalIsFinal ends the step for a node at the first Failed outcome (the target refused):
	// only Unreachable attempts are retried. Set on the BMC steps, where repeating a refused
	// login can lock the account, and on relabel_node (forbidden, conflicts and invalid labels
	// do not change by asking again).
	RefusalIsFinal bool
	// Run executes the step for one node (or the site).
	Run stepFunc
	// Skip, when set, is asked before Run: a step that is not needed for this node (say, a power
	// cycle for a machine the provisioner already knows) is recorded as skipped with the reason.
	Skip skipFunc
}

// Default timeouts of the driver steps (per node).
const (
	defaultStepTimeout = 5 * time.Minute
	identifyTimeout    = 10 * time.Minute
	commissionTimeout  = 30 * time.Minute
	deployTimeout      = 45 * time.Minute
	destroyTimeout     = 30 * time.Minute
	bootActionTimeout  = 15 * time.Minute
)

// workflows returns every top-level action's workflow. The step sequences follow the original
// Drydock (api_task_spec.md §2.4), with every step a registered subtask.
func workflows() map[string]*Workflow {
	wf := map[string]*Workflow{
		task.ActionNoop: {Action: task.ActionNoop, Scope: ScopeNodes, Steps: []Step{
			{Key: "noop", Action: task.ActionNoop, Timeout: time.Minute, Run: runNoop},
		}},
		task.ActionValidateDesign: {Action: task.ActionValidateDesign, Scope: ScopeSite, Steps: []Step{
			{Key: "validate_design", Action: task.ActionValidateDesign, Timeout: defaultStepTimeout, Run: runValidateDesign},
		}},
		task.ActionVerifySite: {Action: task.ActionVerifySite, Scope: ScopeSite, Steps: []Step{
			{Key: "validate_node_services", Action: "validate_node_services", Timeout: defaultStepTimeout, Retries: 2, Run: runValidateNodeServices},
			{Key: "validate_oob_services", Action: "validate_oob_services", Timeout: defaultStepTimeout, Retries: 2, Run: runValidateOOBServices},
			{Key: "validate_kubernetes", Action: "validate_kubernetes_services", Timeout: defaultStepTimeout, Retries: 2, Run: runValidateKube, Skip: skipWithoutKube},
		}},
		task.ActionPrepareSite: {Action: task.ActionPrepareSite, Scope: ScopeSite, Lock: true, Steps: []Step{
			{Key: "create_network_template", Action: "create_network_template", Timeout: defaultStepTimeout, Retries: 2, Run: prepareSiteStep("create_network_template")},
			{Key: "configure_user_credentials", Action: "configure_user_credentials", Timeout: defaultStepTimeout, Retries: 2, Run: prepareSiteStep("configure_user_credentials")},
			{Key: "configure_node_provisioner", Action: "configure_node_provisioner", Timeout: defaultStepTimeout, Retries: 2, Run: prepareSiteStep("configure_node_provisioner")},
		}},
		task.ActionVerifyNodes: {Action: task.ActionVerifyNodes, Scope: ScopeNodes, Steps: []Step{
			{Key: "interrogate_oob", Action: "interrogate_oob", Timeout: defaultStepTimeout, Retries: 2, RefusalIsFinal: true, Run: runInterrogateOOB},
		}},
		task.ActionPrepareNodes: {Action: task.ActionPrepareNodes, Scope: ScopeNodes, Steps: []Step{
			// Is the machine already known to the provisioner? Then it needs no reboot.
			{Key: "find_node", Action: "identify_node", Timeout: defaultStepTimeout, Retries: 2, Run: runFindNode},
			{Key: "set_node_boot", Action: "set_node_boot", Timeout: defaultStepTimeout, Retries: 2, RefusalIsFinal: true, Run: runSetNodeBoot, Skip: skipKnownNode},
			{Key: "power_cycle_node", Action: "power_cycle_node", Timeout: defaultStepTimeout, Retries: 2, RefusalIsFinal: true, Run: runPowerCycle, Skip: skipKnownNode},
			{Key: "identify_node", Action: "identify_node", Timeout: identifyTimeout, Retries: 2, Run: runIdentifyNode, Skip: skipIdentified},
			{Key: "configure_hardware", Action: "configure_hardware", Timeout: commissionTimeout, Retries: 3, Run: nodeCall(driver.NodeDriver.ConfigureHardware)},
		}},
		task.ActionDeployNodes: {Action: task.ActionDeployNodes, Scope: ScopeNodes, Steps: []Step{
			{Key: "apply_node_networking", Action: "apply_node_networking", Timeout: defaultStepTimeout, Retries: 2, Run: nodeCall(driver.NodeDriver.ApplyNetworking)},
			{Key: "apply_node_storage", Action: "apply_node_storage", Timeout: defaultStepTimeout, Retries: 2, Run: nodeCall(driver.NodeDriver.ApplyStorage)},
			{Key: "apply_node_platform", Action: "apply_node_platform", Timeout: defaultStepTimeout, Retries: 2, Run: nodeCall(driver.NodeDriver.ApplyPlatform)},
			{Key: "deploy_node", Action: "deploy_node", Timeout: deployTimeout, Retries: 3, Run: runDeployNode},
			// Wait for the node's boot actions to report (one attempt: the wait is the step).
			{Key: "bootaction_report", Action: "bootaction_report", Timeout: bootActionTimeout, RefusalIsFinal: true, Run: runBootActionReport},
		}},
		task.ActionDestroyNodes: {Action: task.ActionDestroyNodes, Scope: ScopeNodes, Steps: []Step{
			{Key: "destroy_node", Action: "destroy_node", Timeout: destroyTimeout, Retries: 3, Run: nodeCall(driver.NodeDriver.Destroy)},
		}},
		task.ActionRelabelNodes: {Action: task.ActionRelabelNodes, Scope: ScopeNodes, Steps: []Step{
			{Key: "relabel_node", Action: "relabel_node", Timeout: defaultStepTimeout, Retries: 3, RefusalIsFinal: true, Run: runRelabel},
		}},
	}
	return wf
}

// StepKeys returns the keys of an action's steps in order (for progress views).
func StepKeys(action string) []string {
	w, ok := workflows()[action]
	if !ok {
		return nil
	}
	keys := make([]string, len(w.Steps))
	for i, s := range w.Steps {
		keys[i] = s.Key
	}
	return keys
}

// Actions lists every action a task can carry: the top-level actions and the actions of their
// steps (the subtasks), sorted.
func Actions() []string {
	seen := map[string]bool{}
	for a, w := range workflows() {
		seen[a] = true
		for _, s := range w.Steps {
			seen[s.Action] = true
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
