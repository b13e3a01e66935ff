// Package kube holds Drydock's Kubernetes drivers (driver.KubeDriver), which make a deployed
// node's labels in the cluster match the design (the relabel_nodes action) and check the
// cluster's API in verify_site.
//
// Driver talks to the Kubernetes API with client-go. A node's desired labels are its owner_data
// from the applied model (plus, only when Config.DesignLabels is set, drydock.io/rack and
// drydock.io/tag-<tag>). They are applied with server-side apply under the field manager
// "drydock", so that
//   - a label Drydock applied earlier and the design no longer has is removed (the API server
//     drops fields a manager stops applying when no other manager owns them);
//   - labels set by anyone else (the kubelet, kubectl, other controllers) are never touched;
//   - a label the design sets that another manager owns with a different value is a conflict: by
//     default the node fails with a message naming the label and the other manager, and nothing
//     is changed on that node; Config.ForceConflicts makes the design win instead.
//
// Label keys and values are checked (ValidateLabels) before any API call. The driver never
// creates a Node object: a node that has not registered fails at once, or is waited for up to
// Config.NodeWait.
//
// Promenade is the "promenade" mode for Airship sites: it keeps the original driver's contract
// (a Keystone token, the kubernetesprovisioner endpoint from the service catalog, PUT
// node-labels/{node} with the owner_data as a JSON object), with the original's defects fixed.
//
// Both report each node's outcome as a driver.Result, never a Go error: Failed when retrying
// will not help (forbidden, conflict, not registered, invalid labels), Unreachable when the API
// could not be reached or answered with a transient error after the driver's own retries.
package kube
