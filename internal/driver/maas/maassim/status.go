package maassim

import (
	"fmt"
	"strings"
)

// Machine status values (maas_api.md §4).
const (
	statusNew                      = 0
	statusCommissioning            = 1
	statusFailedCommissioning      = 2
	statusMissing                  = 3
	statusReady                    = 4
	statusReserved                 = 5
	statusDeployed                 = 6
	statusRetired                  = 7
	statusBroken                   = 8
	statusDeploying                = 9
	statusAllocated                = 10
	statusFailedDeployment         = 11
	statusReleasing                = 12
	statusFailedReleasing          = 13
	statusDiskErasing              = 14
	statusFailedDiskErasing        = 15
	statusRescueMode               = 16
	statusEnteringRescueMode       = 17
	statusFailedEnteringRescueMode = 18
	statusExitingRescueMode        = 19
	statusFailedExitingRescueMode  = 20
	statusTesting                  = 21
	statusFailedTesting            = 22
)

// statusInfo is one row of the status table: the status_name label, the lower-case
// constant name the ?status= filter takes, and the simplified status.
type statusInfo struct{ label, constant, simple string }

var statuses = [...]statusInfo{
	statusNew:                      {"New", "new", "New"},
	statusCommissioning:            {"Commissioning", "commissioning", "Commissioning"},
	statusFailedCommissioning:      {"Failed commissioning", "failed_commissioning", "Failed"},
	statusMissing:                  {"Missing", "missing", "Other"},
	statusReady:                    {"Ready", "ready", "Ready"},
	statusReserved:                 {"Reserved", "reserved", "Other"},
	statusDeployed:                 {"Deployed", "deployed", "Deployed"},
	statusRetired:                  {"Retired", "retired", "Other"},
	statusBroken:                   {"Broken", "broken", "Broken"},
	statusDeploying:                {"Deploying", "deploying", "Deploying"},
	statusAllocated:                {"Allocated", "allocated", "Allocated"},
	statusFailedDeployment:         {"Failed deployment", "failed_deployment", "Failed"},
	statusReleasing:                {"Releasing", "releasing", "Releasing"},
	statusFailedReleasing:          {"Releasing failed", "failed_releasing", "Failed"},
	statusDiskErasing:              {"Disk erasing", "disk_erasing", "Releasing"},
	statusFailedDiskErasing:        {"Failed disk erasing", "failed_disk_erasing", "Failed"},
	statusRescueMode:               {"Rescue mode", "rescue_mode", "Rescue Mode"},
	statusEnteringRescueMode:       {"Entering rescue mode", "entering_rescue_mode", "Rescue Mode"},
	statusFailedEnteringRescueMode: {"Failed to enter rescue mode", "failed_entering_rescue_mode", "Failed"},
	statusExitingRescueMode:        {"Exiting rescue mode", "exiting_rescue_mode", "Rescue Mode"},
	statusFailedExitingRescueMode:  {"Failed to exit rescue mode", "failed_exiting_rescue_mode", "Failed"},
	statusTesting:                  {"Testing", "testing", "Testing"},
	statusFailedTesting:            {"Failed testing", "failed_testing", "Failed"},
}

func statusLabel(st int) string {
	if st < 0 || st >= len(statuses) {
		return fmt.Sprint(st)
	}
	return statuses[st].label
}

// statusByName resolves a ?status= filter value (constant name, label or number).
func statusByName(v string) (int, bool) {
	for i, s := range statuses {
		if strings.EqualFold(v, s.constant) || strings.EqualFold(v, s.label) || v == fmt.Sprint(i) {
			return i, true
		}
	}
	if strings.EqualFold(v, "default") {
		return statusNew, true
	}
	return 0, false
}

// transitions is MAAS's NODE_TRANSITIONS (maas_api.md §4.1).
var transitions = map[int][]int{
	statusNew: {statusCommissioning, statusTesting, statusMissing, statusReady, statusRetired, statusBroken,
		statusEnteringRescueMode},
	statusCommissioning: {statusFailedCommissioning, statusReady, statusRetired, statusMissing, statusNew,
		statusBroken, statusTesting},
	statusFailedCommissioning: {statusCommissioning, statusMissing, statusRetired, statusBroken,
		statusEnteringRescueMode, statusTesting},
	statusReady: {statusEnteringRescueMode, statusCommissioning, statusAllocated, statusReserved, statusRetired,
		statusMissing, statusBroken, statusTesting},
	statusReserved: {statusReady, statusAllocated, statusRetired, statusMissing, statusBroken, statusDiskErasing,
		statusReleasing, statusEnteringRescueMode, statusTesting},
	statusAllocated: {statusReady, statusRetired, statusMissing, statusBroken, statusDeploying, statusDiskErasing,
		statusReleasing, statusEnteringRescueMode, statusTesting},
	statusDeploying: {statusAllocated, statusMissing, statusBroken, statusFailedDeployment, statusDeployed,
		statusReady, statusDiskErasing, statusReleasing},
	statusFailedDeployment: {statusAllocated, statusMissing, statusBroken, statusReady, statusDiskErasing,
		statusReleasing, statusEnteringRescueMode, statusTesting},
	statusDeployed: {statusAllocated, statusMissing, statusBroken, statusReady, statusDiskErasing,
		statusReleasing, statusEnteringRescueMode, statusTesting},
	statusReleasing: {statusNew, statusAllocated, statusReserved, statusDeployed, statusReady, statusBroken,
		statusMissing, statusFailedDeployment, statusFailedDiskErasing, statusFailedReleasing},
	statusFailedReleasing: {statusReleasing, statusDiskErasing, statusReady, statusBroken, statusTesting},
	statusDiskErasing:     {statusBroken, statusFailedDiskErasing, statusReady, statusReleasing},
	statusFailedDiskErasing: {statusDiskErasing, statusReleasing, statusBroken, statusAllocated, statusReady,
		statusEnteringRescueMode, statusTesting},
	statusMissing: {statusNew, statusReady, statusAllocated, statusCommissioning, statusBroken,
		statusEnteringRescueMode, statusTesting},
	statusRetired: {statusNew, statusReady, statusMissing, statusBroken, statusEnteringRescueMode, statusTesting},
	statusBroken: {statusCommissioning, statusReady, statusDiskErasing, statusReleasing, statusEnteringRescueMode,
		statusTesting, statusDeployed},
	statusEnteringRescueMode: {statusReady, statusBroken, statusDeployed, statusRescueMode,
		statusFailedEnteringRescueMode, statusExitingRescueMode},
	statusFailedEnteringRescueMode: {statusBroken, statusEnteringRescueMode, statusExitingRescueMode, statusTesting},
	statusRescueMode:               {statusBroken, statusExitingRescueMode, statusTesting},
	statusExitingRescueMode: {statusNew, statusBroken, statusFailedCommissioning, statusReady, statusReserved,
		statusAllocated, statusFailedDeployment, statusDeployed, statusMissing, statusRetired, statusFailedReleasing,
		statusFailedDiskErasing, statusRescueMode, statusFailedEnteringRescueMode, statusFailedExitingRescueMode,
		statusFailedTesting},
	statusFailedExitingRescueMode: {statusBroken, statusExitingRescueMode, statusTesting},
	statusTesting: {statusBroken, statusNew, statusReady, statusReserved, statusAllocated, statusDeployed,
		statusCommissioning, statusFailedDeployment, statusMissing, statusRetired, statusFailedReleasing,
		statusFailedDiskErasing, statusFailedEnteringRescueMode, statusFailedExitingRescueMode, statusFailedTesting},
	statusFailedTesting: {statusCommissioning, statusBroken, statusMissing, statusEnteringRescueMode, statusTesting,
		statusReady, statusDeployed},
}

// transitionAllowed reports whether MAAS allows a status change (any change to the same
// status is allowed).
func transitionAllowed(from, to int) bool {
	if from == to {
		return true
	}
	for _, t := range transitions[from] {
		if t == to {
			return true
		}
	}
	return false
}

// errTransition is the generic refusal of the status machine.
func errTransition(from, to int) *apiError {
	return conflict("Invalid transition: %s -> %s.", statusLabel(from), statusLabel(to))
}

// Script and test status values (maas_api.md §4).
const (
	scriptUnknown = -1
	scriptPending = 0
	scriptRunning = 1
	scriptPassed  = 2
	scriptFailed  = 3
	scriptTimeout = 4
	scriptAborted = 5
)

var scriptStatusNames = map[int]string{
	-1: "Unknown", 0: "Pending", 1: "Running", 2: "Passed", 3: "Failed", 4: "Timed out", 5: "Aborted",
	6: "Degraded", 7: "Installing dependencies", 8: "Failed installing dependencies", 9: "Skipped",
	10: "Applying custom network configuration", 11: "Failed to apply custom network configuration",
}

// Node types.
const (
	nodeMachine    = 0
	nodeDevice     = 1
	nodeRack       = 2
	nodeRegion     = 3
	nodeRegionRack = 4
)

var nodeTypeNames = map[int]string{
	nodeMachine: "Machine", nodeDevice: "Device", nodeRack: "Rack controller",
	nodeRegion: "Region controller", nodeRegionRack: "Region and rack controller",
}
