package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// FieldManager is the server-side apply field manager Drydock applies node labels as.
const FieldManager = "drydock"

// Config tunes a Driver. Zero values take the defaults.
type Config struct {
	// Kubeconfig is the kubeconfig file. Empty: $KUBECONFIG, else the in-cluster configuration
	// (a pod's service account). ~/.kube/config is never read implicitly.
	Kubeconfig string
	// Context is the kubeconfig context to use (default: its current-context).
	Context string
	// NodeWait is how long a node that is not (yet) registered in the cluster is waited for
	// before it fails (default 0: it fails at once). Under the orchestrator the wait is a series
	// of InProgress results, so no driver call is held while waiting; keep it below the
	// relabel_node step timeout.
	NodeWait time.Duration
	// PollInterval is the wait between checks for an unregistered node (default 2s).
	PollInterval time.Duration
	// Attempts bounds the tries of a request that fails transiently (default 3).
	Attempts int
	// Backoff is the first wait between tries, doubled each time (default 1s), with jitter.
	Backoff time.Duration
	// RequestTimeout bounds each request (default 30s).
	RequestTimeout time.Duration
	// ForceConflicts lets the design take over labels it sets that another field manager owns
	// with a different value. Default false: such a node fails, naming the label and the other
	// manager, and nothing is changed on it.
	ForceConflicts bool
	// DesignLabels adds drydock.io/rack and drydock.io/tag-<tag> to the owner_data labels.
	DesignLabels bool
	// QPS and Burst bound the client's request rate (default 50 and 100; client-go's own
	// defaults, 5 and 10, would make relabelling hundreds of nodes take minutes).
	QPS   float32
	Burst int
}

func (c Config) withDefaults() Config {
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.QPS <= 0 {
		c.QPS = 50
	}
	if c.Burst <= 0 {
		c.Burst = 100
	}
	return c
}

// Driver is the Kubernetes driver (driver.KubeDriver) over client-go.
type Driver struct {
	cfg  Config
	cs   kubernetes.Interface
	host string
}

var (
	_ driver.KubeDriver    = (*Driver)(nil)
	_ driver.HealthChecker = (*Driver)(nil)
	_ driver.KubeDriver    = (*Promenade)(nil)
	_ driver.HealthChecker = (*Promenade)(nil)
)

// RESTConfig loads the client configuration: the kubeconfig file at path (with the named
// context, or its current one), else the files in $KUBECONFIG, else the in-cluster
// configuration.
func RESTConfig(path, kubeContext string) (*rest.Config, error) {
	var rules *clientcmd.ClientConfigLoadingRules
	switch env := os.Getenv("KUBECONFIG"); {
	case path != "":
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	case env != "":
		rules = &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(env)}
	default:
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes: no kubeconfig given (set the kubeconfig path or $KUBECONFIG) and not running in a cluster: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes: loading kubeconfig: %w", err)
	}
	return rc, nil
}

// New loads the client configuration (see RESTConfig) and builds a driver. It makes no request.
func New(cfg Config) (*Driver, error) {
	rc, err := RESTConfig(cfg.Kubeconfig, cfg.Context)
	if err != nil {
		return nil, err
	}
	return NewForConfig(rc, cfg)
}

// NewForConfig builds a driver over a client configuration (copied; QPS, Burst and the user
// agent are set from cfg). It makes no request.
func NewForConfig(rc *rest.Config, cfg Config) (*Driver, error) {
	cfg = cfg.withDefaults()
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = cfg.QPS, cfg.Burst
	if rc.UserAgent == "" {
		rc.UserAgent = "drydock"
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return &Driver{cfg: cfg, cs: cs, host: rc.Host}, nil
}

// Host is the API server's URL.
func (d *Driver) Host() string { return d.host }

// Relabel makes the node's labels in the cluster match the design (see the package comment).
func (d *Driver) Relabel(ctx context.Context, c driver.Call) driver.Result {
	n := c.Node
	if n == nil {
		return driver.Fail("relabel: no node given")
	}
	want := DesiredLabels(n, d.cfg.DesignLabels)
	if problems := ValidateLabels(n.Name, want); len(problems) > 0 {
		return driver.Fail("%s (nothing was sent to the cluster)", strings.Join(problems, "; "))
	}
	node, res, ok := d.waitForNode(ctx, c)
	if !ok {
		return res
	}

	// The labels Drydock applied before: its field manager's share of the node.
	mine, err := corev1ac.ExtractNode(node, FieldManager)
	if err != nil {
		return driver.Fail("node %s: reading Drydock's managed fields: %v", n.Name, err)
	}
	var owned map[string]string
	if mine.ObjectMetaApplyConfiguration != nil {
		owned = mine.Labels
	}
	if len(owned) == len(want) && maps.Equal(owned, want) && subset(want, node.Labels) {
		r := driver.OK("node %s: labels already match the design (%d labels); nothing changed", n.Name, len(want))
		r.Skipped = true
		r.Data = map[string]any{"labels": want}
		return r
	}

	// The UID makes the apply a precondition on this very Node: it never creates a Node object
	// (a node deleted meanwhile fails instead of being recreated by the apply).
	// With no labels wanted, the apply names none: Drydock then owns none, and the server
	// removes those it owned alone.
	ac := corev1ac.Node(n.Name).WithUID(node.UID).WithLabels(want)
	var got *corev1.Node
	err = d.retry(ctx, func(ctx context.Context) error {
		var err error
		got, err = d.cs.CoreV1().Nodes().Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: d.cfg.ForceConflicts})
		return err
	})
	switch {
	case err == nil:
	case apierrors.IsConflict(err) && fieldConflicts(err) != nil:
		return d.conflict(n.Name, want, node.Labels, err)
	case apierrors.IsNotFound(err),
		apierrors.IsConflict(err) && strings.Contains(err.Error(), "uid mismatch"), // deleted
		apierrors.IsInvalid(err) && strings.Contains(err.Error(), "metadata.uid"):  // re-registered
		return driver.Fail("node %s was deleted from the cluster while being relabelled (its labels were not changed): %v", n.Name, apiMessage(err))
	default:
		return d.failure(n.Name, "applying labels", "patch", err)
	}
	return d.applied(n.Name, want, node.Labels, owned, got.Labels)
}

// applied describes what an apply changed.
func (d *Driver) applied(name string, want, before, owned, after map[string]string) driver.Result {
	var added, changed, removed, kept []string
	for _, k := range sortedKeys(want) {
		old, had := before[k]
		switch {
		case !had:
			added = append(added, fmt.Sprintf("%s=%s", k, want[k]))
		case old != want[k]:
			changed = append(changed, fmt.Sprintf("%s=%s (was %s)", k, want[k], old))
		}
	}
	for _, k := range sortedKeys(owned) {
		if _, still := want[k]; still {
			continue
		}
		if v, present := after[k]; present {
			kept = append(kept, fmt.Sprintf("%s=%s", k, v))
		} else {
			removed = append(removed, k)
		}
	}
	for k, v := range want {
		if after[k] != v {
			return driver.Fail("node %s: the API server accepted the labels but the node has %s=%q, not %q", name, k, after[k], v)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added "+strings.Join(added, ", "))
	}
	if len(changed) > 0 {
		parts = append(parts, "changed "+strings.Join(changed, ", "))
	}
	if len(removed) > 0 {
		parts = append(parts, "removed "+strings.Join(removed, ", "))
	}
	if len(kept) > 0 {
		parts = append(parts, "left "+strings.Join(kept, ", ")+" (no longer in the design, but another field manager also owns it)")
	}
	if len(parts) == 0 {
		parts = append(parts, "Drydock now manages labels that already had the design's values")
	}
	r := driver.OK("node %s: labels applied (%d from the design): %s", name, len(want), strings.Join(parts, "; "))
	r.Data = map[string]any{"labels": want}
	for k, v := range map[string][]string{"added": added, "changed": changed, "removed": removed, "kept": kept} {
		if len(v) > 0 {
			r.Data[k] = v
		}
	}
	return r
}

// waitForNode reads the node; when it is not registered it fails, or waits up to NodeWait for
// it: inline when c.Since is zero, else (under the orchestrator, which calls again after
// RetryAfter with the same Since) by returning InProgress.
func (d *Driver) waitForNode(ctx context.Context, c driver.Call) (*corev1.Node, driver.Result, bool) {
	name := c.Node.Name
	var deadline time.Time
	for {
		var node *corev1.Node
		err := d.retry(ctx, func(ctx context.Context) error {
			var err error
			node, err = d.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			return err
		})
		if err == nil {
			return node, driver.Result{}, true
		}
		if !apierrors.IsNotFound(err) {
			return nil, d.failure(name, "reading the node", "get", err), false
		}
		if d.cfg.NodeWait <= 0 {
			return nil, driver.Fail("node %s is not registered in the cluster", name), false
		}
		if !c.Since.IsZero() {
			waited := time.Since(c.Since)
			if waited >= d.cfg.NodeWait {
				return nil, driver.Fail("node %s is not registered in the cluster (waited %s for it to join)", name, d.cfg.NodeWait), false
			}
			return nil, driver.Pending(min(d.cfg.PollInterval, d.cfg.NodeWait-waited),
				"node %s is not registered in the cluster yet; waiting up to %s for it to join", name, d.cfg.NodeWait), false
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(d.cfg.NodeWait)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, driver.Fail("node %s is not registered in the cluster (waited %s for it to join)", name, d.cfg.NodeWait), false
		}
		t := time.NewTimer(min(d.cfg.PollInterval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, driver.Unreach("node %s: interrupted while waiting for it to register in the cluster: %v", name, context.Cause(ctx)), false
		case <-t.C:
		}
	}
}

// retry runs a request with a per-request timeout, retrying transient failures with
// exponential backoff and jitter.
func (d *Driver) retry(ctx context.Context, req func(context.Context) error) error {
	return retry(ctx, d.cfg.Attempts, d.cfg.Backoff, d.cfg.RequestTimeout, transient, req)
}

func retry(ctx context.Context, attempts int, backoff, timeout time.Duration, transient func(error) bool, req func(context.Context) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		err = req(rctx)
		cancel()
		if err == nil || !transient(err) || attempt >= attempts || ctx.Err() != nil {
			return err
		}
		wait := backoff << min(attempt-1, 8)
		wait = wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// transient reports whether an error may go away on its own: no answer at all (connection
// refused or reset, a timeout) or an answer that says so (5xx, 429, 408). A certificate that
// does not verify is not transient.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || certError(err) {
		return false
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		code := st.Status().Code
		return code >= 500 || code == 429 || code == 408 || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)
	}
	return true
}

// failure turns a request's error into a node's Result.
func (d *Driver) failure(node, what, verb string, err error) driver.Result {
	switch {
	case apierrors.IsForbidden(err):
		return driver.Fail("node %s: %s: forbidden: the credentials cannot %s nodes (RBAC): %v", node, what, verb, apiMessage(err))
	case apierrors.IsUnauthorized(err):
		return driver.Fail("node %s: %s: unauthorized: the Kubernetes API at %s rejected the credentials: %v", node, what, d.host, apiMessage(err))
	case certError(err):
		return driver.Fail("node %s: %s: the Kubernetes API at %s: TLS: %v", node, what, d.host, err)
	case transient(err):
		return driver.Unreach("node %s: %s: the Kubernetes API at %s is unreachable or failing (%d attempts): %v", node, what, d.host, d.cfg.Attempts, err)
	}
	return driver.Fail("node %s: %s: %v", node, what, err)
}

// certError reports a server certificate that does not verify (unknown authority, wrong host
// name, expired): a configuration problem that retrying will not fix.
func certError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ie)
}

func apiMessage(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		return st.Status().Message
	}
	return err.Error()
}

// fieldConflicts returns the field-manager conflicts of an apply's 409.
func fieldConflicts(err error) []metav1.StatusCause {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil {
		return nil
	}
	var out []metav1.StatusCause
	for _, c := range st.Status().Details.Causes {
		if c.Type == metav1.CauseTypeFieldManagerConflict {
			out = append(out, c)
		}
	}
	return out
}

// conflict reports labels the design sets that other field managers own with other values.
func (d *Driver) conflict(node string, want, current map[string]string, err error) driver.Result {
	var parts []string
	var labels []string
	for _, c := range fieldConflicts(err) {
		// c.Field is ".metadata.labels.<key>"; c.Message is `conflict with "<manager>"[ using v1]`.
		key, ok := strings.CutPrefix(c.Field, ".metadata.labels.")
		if !ok {
			parts = append(parts, fmt.Sprintf("%s: %s", c.Field, c.Message))
			continue
		}
		labels = append(labels, key)
		msg := c.Message
		if strings.Contains(msg, `"before-first-apply"`) {
			msg += ", i.e. set before anyone used server-side apply on this node"
		}
		parts = append(parts, fmt.Sprintf("label %s is %q but the design wants %q (%s)", key, current[key], want[key], msg))
	}
	sort.Strings(parts)
	r := driver.Fail("node %s: conflict: labels the design sets are owned by another field manager, so nothing was changed on this node: %s. "+
		"Change the design to the current values, remove the labels from the design or from the other manager, "+
		"or enable force_conflicts to let the design take them over", node, strings.Join(parts, "; "))
	r.Data = map[string]any{"labels": want, "conflicts": labels}
	return r
}

// ValidateServices checks that the Kubernetes API is reachable, that it accepts the credentials,
// and that they allow reading and patching nodes (verify_site).
func (d *Driver) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	var info version.Info
	err := d.retry(ctx, func(ctx context.Context) error {
		raw, err := d.cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &info)
	})
	if err != nil {
		if certError(err) {
			return driver.Fail("Kubernetes API at %s: TLS: %v", d.host, err)
		}
		switch {
		case apierrors.IsUnauthorized(err): // a bad token is refused even where anonymous requests are allowed
			return driver.Fail("Kubernetes API at %s rejected the credentials: %v", d.host, apiMessage(err))
		case transient(err):
			return driver.Unreach("Kubernetes API at %s is unreachable (%d attempts): %v", d.host, d.cfg.Attempts, err)
		}
		return driver.Fail("Kubernetes API at %s: reading its version: %v", d.host, apiMessage(err))
	}

	var who *authnv1.SelfSubjectReview
	err = d.retry(ctx, func(ctx context.Context) error {
		var err error
		who, err = d.cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		switch {
		case apierrors.IsUnauthorized(err):
			return driver.Fail("Kubernetes API at %s (%s) rejected the credentials: %v", d.host, info.GitVersion, apiMessage(err))
		case transient(err):
			return driver.Unreach("Kubernetes API at %s: checking the credentials: %v", d.host, err)
		}
		return driver.Fail("Kubernetes API at %s (%s): checking the credentials: %v", d.host, info.GitVersion, apiMessage(err))
	}
	user := who.Status.UserInfo.Username

	var denied []string
	for _, verb := range []string{"get", "patch"} {
		var rev *authzv1.SelfSubjectAccessReview
		err := d.retry(ctx, func(ctx context.Context) error {
			var err error
			rev, err = d.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
				Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{Verb: verb, Resource: "nodes"}},
			}, metav1.CreateOptions{})
			return err
		})
		if err != nil {
			if transient(err) {
				return driver.Unreach("Kubernetes API at %s: checking permissions: %v", d.host, err)
			}
			return driver.Fail("Kubernetes API at %s: checking whether %s may %s nodes: %v", d.host, user, verb, apiMessage(err))
		}
		if !rev.Status.Allowed {
			why := rev.Status.Reason
			if why == "" {
				why = "no RBAC rule allows it"
			}
			denied = append(denied, fmt.Sprintf("%s nodes (%s)", verb, why))
		}
	}
	if len(denied) > 0 {
		return driver.Fail("Kubernetes API at %s (%s): forbidden: user %q may not %s; grant the drydock ClusterRole (docs/kubernetes.md)",
			d.host, info.GitVersion, user, strings.Join(denied, " or "))
	}
	return driver.OK("Kubernetes API at %s (%s) is reachable; authenticated as %q, allowed to get and patch nodes", d.host, info.GitVersion, user)
}

// CheckHealth asks the API server whether it is ready (GET /readyz, which RBAC allows anyone).
func (d *Driver) CheckHealth(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.RequestTimeout)
	defer cancel()
	if _, err := d.cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw(); err != nil {
		return fmt.Errorf("kubernetes API at %s: %w", d.host, err)
	}
	return nil
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
