package kube

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// testConfig keeps retries short.
var testConfig = Config{Attempts: 3, Backoff: 50 * time.Millisecond, RequestTimeout: 10 * time.Second, PollInterval: 100 * time.Millisecond}

func newDriver(t testing.TB, rc *rest.Config, cfg Config) *Driver {
	t.Helper()
	d, err := NewForConfig(rc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// node is a design node with owner_data from key/value pairs.
func node(name string, kv ...string) *design.Node {
	n := &design.Node{Name: name, OwnerData: design.KV{}}
	for i := 0; i+1 < len(kv); i += 2 {
		n.OwnerData = append(n.OwnerData, design.KVPair{Key: kv[i], Value: kv[i+1]})
	}
	return n
}

func call(n *design.Node) driver.Call { return driver.Call{Node: n, Attempt: 1} }

// createNode registers a Node as the kubelet would (its own labels, field manager "kubelet"),
// deleted when the test ends. It may be called from any goroutine (it reports with Errorf).
func (c *cluster) createNode(t testing.TB, name string, labels map[string]string) bool {
	t.Helper()
	if labels == nil {
		labels = map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
	}
	_, err := c.adminCS.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}},
		metav1.CreateOptions{FieldManager: "kubelet"})
	if err != nil {
		t.Errorf("creating node %s: %v", name, err)
		return false
	}
	t.Cleanup(func() { _ = c.adminCS.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return true
}

func (c *cluster) labels(t testing.TB, name string) map[string]string {
	t.Helper()
	n, err := c.adminCS.CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading node %s: %v", name, err)
	}
	return n.Labels
}

func wantOutcome(t testing.TB, r driver.Result, o driver.Outcome, contains ...string) {
	t.Helper()
	if r.Outcome != o {
		t.Fatalf("outcome %v, want %v: %s", r.Outcome, o, r.Message)
	}
	for _, s := range contains {
		if !strings.Contains(r.Message, s) {
			t.Errorf("message %q does not contain %q", r.Message, s)
		}
	}
}

func wantLabels(t testing.TB, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("labels\n got %v\nwant %v", got, want)
	}
}

// Labels are added, changed and removed across design versions; the kubelet's labels stay.
func TestRelabelAcrossDesignVersions(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	d := newDriver(t, c.drydock, testConfig)
	ctx := t.Context()
	name := "versions-n1"
	c.createNode(t, name, nil)
	kubelet := map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}

	// v1
	r := d.Relabel(ctx, call(node(name, "drydock.example/role", "compute", "drydock.example/rack", "rack01", "tier", "gold")))
	wantOutcome(t, r, driver.Done, "added drydock.example/rack=rack01, drydock.example/role=compute, tier=gold")
	want := maps.Clone(kubelet)
	maps.Copy(want, map[string]string{"drydock.example/role": "compute", "drydock.example/rack": "rack01", "tier": "gold"})
	wantLabels(t, c.labels(t, name), want)

	// v1 again: nothing to do, and no request but the read.
	r = d.Relabel(ctx, call(node(name, "drydock.example/role", "compute", "drydock.example/rack", "rack01", "tier", "gold")))
	wantOutcome(t, r, driver.Done, "already match")
	if !r.Skipped {
		t.Error("an unchanged relabel is not marked Skipped")
	}

	// v2: role changed, rack removed, zone added, tier kept.
	r = d.Relabel(ctx, call(node(name, "drydock.example/role", "storage", "tier", "gold", "topology.kubernetes.io/zone", "z1")))
	wantOutcome(t, r, driver.Done, "added topology.kubernetes.io/zone=z1", "changed drydock.example/role=storage (was compute)", "removed drydock.example/rack")
	want = maps.Clone(kubelet)
	maps.Copy(want, map[string]string{"drydock.example/role": "storage", "tier": "gold", "topology.kubernetes.io/zone": "z1"})
	wantLabels(t, c.labels(t, name), want)
	if got := r.Data["removed"]; fmt.Sprint(got) != "[drydock.example/rack]" {
		t.Errorf("Data[removed] = %v", got)
	}

	// v3: no owner_data at all: every label Drydock set goes, the kubelet's stay.
	r = d.Relabel(ctx, call(node(name)))
	wantOutcome(t, r, driver.Done, "removed drydock.example/role, tier, topology.kubernetes.io/zone")
	wantLabels(t, c.labels(t, name), kubelet)
}

// The design's rack and tags become labels only when DesignLabels is set.
func TestDesignLabels(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	cfg := testConfig
	cfg.DesignLabels = true
	d := newDriver(t, c.drydock, cfg)
	name := "designlabels-n1"
	c.createNode(t, name, map[string]string{})
	n := node(name, "role", "compute")
	n.Rack, n.Tags = "rack07", []string{"gpu", "ssd"}
	wantOutcome(t, d.Relabel(t.Context(), call(n)), driver.Done)
	wantLabels(t, c.labels(t, name), map[string]string{"role": "compute", LabelRack: "rack07", LabelTagPrefix + "gpu": "true", LabelTagPrefix + "ssd": "true"})
}

// Labels set by other field managers are never touched, whether they were applied (SSA) or
// written with a plain update (kubectl label); nor is a label Drydock set that another manager
// changed since.
func TestOtherManagersLabelsSurvive(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	d := newDriver(t, c.drydock, testConfig)
	ctx := t.Context()
	name := "others-n1"
	c.createNode(t, name, map[string]string{"kubernetes.io/hostname": name})
	nodes := c.adminCS.CoreV1().Nodes()

	// "other" applies zone; "kubectl-label" updates team.
	if _, err := nodes.Apply(ctx, corev1ac.Node(name).WithLabels(map[string]string{"zone": "z1"}), metav1.ApplyOptions{FieldManager: "other"}); err != nil {
		t.Fatal(err)
	}
	setLabel(t, c.adminCS, name, "kubectl-label", "team", "blue")

	wantOutcome(t, d.Relabel(ctx, call(node(name, "role", "compute", "shared", "x"))), driver.Done)
	wantLabels(t, c.labels(t, name), map[string]string{"kubernetes.io/hostname": name, "zone": "z1", "team": "blue", "role": "compute", "shared": "x"})

	// Someone else changes a label Drydock set: ownership moves to them, so when the design
	// drops it, it stays with their value.
	setLabel(t, c.adminCS, name, "kubectl-label", "shared", "theirs")
	wantOutcome(t, d.Relabel(ctx, call(node(name, "role", "compute"))), driver.Done)
	wantLabels(t, c.labels(t, name), map[string]string{"kubernetes.io/hostname": name, "zone": "z1", "team": "blue", "role": "compute", "shared": "theirs"})

	// The design drops everything: only Drydock's own label goes.
	r := d.Relabel(ctx, call(node(name)))
	wantOutcome(t, r, driver.Done, "removed role")
	wantLabels(t, c.labels(t, name), map[string]string{"kubernetes.io/hostname": name, "zone": "z1", "team": "blue", "shared": "theirs"})
}

// setLabel sets one label with a plain update under a field manager, as kubectl label does.
func setLabel(t testing.TB, cs kubernetes.Interface, name, manager, k, v string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[k] = v
		_, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: manager})
		if apierrors.IsConflict(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("setting %s=%s on %s: %v", k, v, name, err)
	}
}

// A label the design sets that another manager owns with another value is a conflict: the node
// fails naming the label and the manager, and nothing changes on it. ForceConflicts lets the
// design win. The same value is no conflict.
func TestConflicts(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	d := newDriver(t, c.drydock, testConfig)
	ctx := t.Context()
	nodes := c.adminCS.CoreV1().Nodes()

	t.Run("applied by another manager", func(t *testing.T) {
		name := "conflict-n1"
		c.createNode(t, name, map[string]string{})
		if _, err := nodes.Apply(ctx, corev1ac.Node(name).WithLabels(map[string]string{"zone": "z1"}), metav1.ApplyOptions{FieldManager: "other"}); err != nil {
			t.Fatal(err)
		}
		r := d.Relabel(ctx, call(node(name, "zone", "z2", "role", "compute")))
		wantOutcome(t, r, driver.Failed, "node "+name+": conflict", `label zone is "z1" but the design wants "z2"`, `conflict with "other"`, "nothing was changed")
		wantLabels(t, c.labels(t, name), map[string]string{"zone": "z1"})

		// The same value: shared ownership, no conflict.
		wantOutcome(t, d.Relabel(ctx, call(node(name, "zone", "z1", "role", "compute"))), driver.Done)
		wantLabels(t, c.labels(t, name), map[string]string{"zone": "z1", "role": "compute"})
		// Dropping a shared label from the design leaves it to the other manager.
		r = d.Relabel(ctx, call(node(name, "role", "compute")))
		wantOutcome(t, r, driver.Done, "left zone=z1")
		wantLabels(t, c.labels(t, name), map[string]string{"zone": "z1", "role": "compute"})
	})

	t.Run("updated by kubectl label", func(t *testing.T) {
		name := "conflict-n2"
		c.createNode(t, name, map[string]string{"kubernetes.io/hostname": name})
		setLabel(t, c.adminCS, name, "kubectl-label", "zone", "z1")
		r := d.Relabel(ctx, call(node(name, "zone", "z2")))
		wantOutcome(t, r, driver.Failed, `conflict with "kubectl-label"`)
		wantLabels(t, c.labels(t, name), map[string]string{"kubernetes.io/hostname": name, "zone": "z1"})
	})

	// A node created without any field the API server tracks (no labels, no status) has no
	// managed fields; updates to it are not tracked until the first apply, which attributes
	// everything already there to "before-first-apply". The message says what that means.
	t.Run("set before the first apply", func(t *testing.T) {
		name := "conflict-n4"
		c.createNode(t, name, map[string]string{})
		setLabel(t, c.adminCS, name, "kubectl-label", "zone", "z1")
		r := d.Relabel(ctx, call(node(name, "zone", "z2")))
		wantOutcome(t, r, driver.Failed, `conflict with "before-first-apply"`, "set before anyone used server-side apply on this node")
		wantLabels(t, c.labels(t, name), map[string]string{"zone": "z1"})
	})

	t.Run("forced", func(t *testing.T) {
		name := "conflict-n3"
		c.createNode(t, name, map[string]string{})
		if _, err := nodes.Apply(ctx, corev1ac.Node(name).WithLabels(map[string]string{"zone": "z1", "team": "a"}), metav1.ApplyOptions{FieldManager: "other"}); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig
		cfg.ForceConflicts = true
		fd := newDriver(t, c.drydock, cfg)
		wantOutcome(t, fd.Relabel(ctx, call(node(name, "zone", "z2"))), driver.Done, "changed zone=z2 (was z1)")
		wantLabels(t, c.labels(t, name), map[string]string{"zone": "z2", "team": "a"})
		// Drydock now owns zone alone; dropping it from the design removes it.
		wantOutcome(t, fd.Relabel(ctx, call(node(name))), driver.Done, "removed zone")
		wantLabels(t, c.labels(t, name), map[string]string{"team": "a"})
	})
}

// A node that is not registered fails at once, or is waited for up to NodeWait.
func TestMissingNode(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	ctx := t.Context()

	t.Run("fails at once", func(t *testing.T) {
		t.Parallel()
		d := newDriver(t, c.drydock, testConfig)
		start := time.Now()
		r := d.Relabel(ctx, call(node("missing-n1", "role", "compute")))
		wantOutcome(t, r, driver.Failed, "node missing-n1 is not registered in the cluster")
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("took %s; NodeWait 0 should fail at once", el)
		}
		if _, err := c.adminCS.CoreV1().Nodes().Get(ctx, "missing-n1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the driver created the node: %v", err)
		}
	})

	t.Run("gives up after NodeWait", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig
		cfg.NodeWait = 700 * time.Millisecond
		d := newDriver(t, c.drydock, cfg)
		start := time.Now()
		r := d.Relabel(ctx, call(node("missing-n2", "role", "compute")))
		wantOutcome(t, r, driver.Failed, "node missing-n2 is not registered in the cluster (waited 700ms for it to join)")
		if el := time.Since(start); el < 700*time.Millisecond {
			t.Errorf("gave up after %s", el)
		}
	})

	t.Run("joins during the wait", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig
		cfg.NodeWait = 20 * time.Second
		d := newDriver(t, c.drydock, cfg)
		name := "missing-n3"
		go func() {
			time.Sleep(time.Second)
			c.createNode(t, name, map[string]string{"kubernetes.io/hostname": name})
		}()
		start := time.Now()
		r := d.Relabel(ctx, call(node(name, "role", "compute")))
		wantOutcome(t, r, driver.Done, "added role=compute")
		if el := time.Since(start); el < time.Second {
			t.Errorf("succeeded after %s, before the node existed", el)
		}
		wantLabels(t, c.labels(t, name), map[string]string{"kubernetes.io/hostname": name, "role": "compute"})
	})

	t.Run("under the orchestrator: InProgress while waiting", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig
		cfg.NodeWait = 20 * time.Second
		d := newDriver(t, c.drydock, cfg)
		name := "missing-n4"
		cl := call(node(name, "role", "compute"))
		cl.Since = time.Now()
		r := d.Relabel(ctx, cl)
		wantOutcome(t, r, driver.InProgress, "node missing-n4 is not registered in the cluster yet; waiting up to 20s")
		if r.RetryAfter <= 0 || r.RetryAfter > cfg.PollInterval {
			t.Errorf("RetryAfter %s", r.RetryAfter)
		}
		c.createNode(t, name, map[string]string{})
		wantOutcome(t, d.Relabel(ctx, cl), driver.Done)
		// Past the wait: fails.
		cl = call(node("missing-n5"))
		cl.Since = time.Now().Add(-time.Minute)
		wantOutcome(t, d.Relabel(ctx, cl), driver.Failed, "node missing-n5 is not registered in the cluster (waited 20s for it to join)")
	})
}

// Credentials without permission on nodes: the node fails as forbidden (RBAC), and
// verify_site's check fails naming the user. With get but not patch, the apply is refused.
func TestForbidden(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	ctx := t.Context()
	name := "forbidden-n1"
	c.createNode(t, name, nil)
	d := newDriver(t, c.nobody, testConfig)

	r := d.Relabel(ctx, call(node(name, "role", "compute")))
	wantOutcome(t, r, driver.Failed, "node "+name+": reading the node: forbidden: the credentials cannot get nodes (RBAC)", `User "nobody" cannot get resource "nodes"`)
	v := d.ValidateServices(ctx, nil)
	wantOutcome(t, v, driver.Failed, `forbidden: user "nobody" may not get nodes`, "patch nodes")

	// Grant get only.
	rbac := c.adminCS.RbacV1()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "test-nodes-get-only"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get"}}}}
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rbac.ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{}) })
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "test-nodes-get-only"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "nobody"}}}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rbac.ClusterRoleBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
	})
	// RBAC changes reach the authorizer through an informer: wait until get is allowed.
	var last driver.Result
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		last = d.ValidateServices(ctx, nil)
		return !strings.Contains(last.Message, "may not get"), nil
	}); err != nil {
		t.Fatalf("the get-only role never took effect: %s", last.Message)
	}
	wantOutcome(t, last, driver.Failed, `forbidden: user "nobody" may not patch nodes`)
	r = d.Relabel(ctx, call(node(name, "role", "compute")))
	wantOutcome(t, r, driver.Failed, "node "+name+": applying labels: forbidden: the credentials cannot patch nodes (RBAC)")
	if _, ok := c.labels(t, name)["role"]; ok {
		t.Error("a forbidden relabel changed the node")
	}
}

// The ClusterRole in testdata/kube/clusterrole.yaml is all Drydock needs; and with it, an apply
// that would create a Node is refused.
func TestDrydockClusterRoleSuffices(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	ctx := t.Context()
	d := newDriver(t, c.drydock, testConfig)
	v := d.ValidateServices(ctx, nil)
	wantOutcome(t, v, driver.Done, `authenticated as "drydock", allowed to get and patch nodes`, "v1.37.2", c.url)
	if err := d.CheckHealth(ctx); err != nil {
		t.Errorf("CheckHealth: %v", err)
	}
	name := "role-n1"
	c.createNode(t, name, nil)
	wantOutcome(t, d.Relabel(ctx, call(node(name, "role", "compute"))), driver.Done)

	// A bare apply of a missing node (what a race with a node's deletion would send, minus the
	// UID precondition) needs create, which the role does not grant.
	cs, err := kubernetes.NewForConfig(c.drydock)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().Nodes().Apply(ctx, corev1ac.Node("role-ghost").WithLabels(map[string]string{"a": "b"}), metav1.ApplyOptions{FieldManager: FieldManager})
	if !apierrors.IsForbidden(err) {
		t.Errorf("apply of a missing node with the drydock role: %v, want forbidden", err)
	}
}

// The UID precondition: an apply for a node that was deleted (and possibly re-registered) after
// the driver read it never creates or rewrites a node, even with credentials that may create.
func TestApplyUIDPrecondition(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	ctx := t.Context()
	name := "uid-n1"
	c.createNode(t, name, map[string]string{})
	old, err := c.adminCS.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodes := c.adminCS.CoreV1().Nodes()
	if err := nodes.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ac := corev1ac.Node(name).WithUID(old.UID).WithLabels(map[string]string{"a": "b"})
	_, err = nodes.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager})
	t.Logf("apply with the old UID to a deleted node: %v", err)
	if err == nil {
		t.Fatal("the apply created a node")
	}
	if _, gerr := nodes.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
		t.Fatalf("node exists after the refused apply: %v", gerr)
	}
	// Re-registered with a new UID.
	c.createNode(t, name, map[string]string{})
	_, err = nodes.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager})
	t.Logf("apply with the old UID to the re-registered node: %v", err)
	if err == nil {
		t.Fatal("the apply changed a node with another UID")
	}
}

// Relabel 200 nodes at once through one driver: all succeed, each with its own labels.
func TestConcurrentRelabel200(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	ctx := t.Context()
	const n = 200
	names := make([]string, n)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		names[i] = fmt.Sprintf("bulk-%03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c.createNode(t, names[i], nil)
		}()
	}
	wg.Wait()
	t.Logf("created %d nodes in %s", n, time.Since(start).Round(time.Millisecond))

	var requests atomic.Int64
	rc := rest.CopyConfig(c.drydock)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { requests.Add(1); return rt.RoundTrip(r) })
	})
	d := newDriver(t, rc, testConfig)
	results := make([]driver.Result, n)
	start = time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = d.Relabel(ctx, call(node(names[i], "drydock.example/index", fmt.Sprint(i), "drydock.example/role", "compute")))
		}()
	}
	wg.Wait()
	el := time.Since(start)
	t.Logf("relabelled %d nodes concurrently in %s (%d requests)", n, el.Round(time.Millisecond), requests.Load())
	for i, r := range results {
		if r.Outcome != driver.Done {
			t.Errorf("%s: %v: %s", names[i], r.Outcome, r.Message)
		}
	}
	list, err := c.adminCS.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "drydock.example/role=compute"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, nd := range list.Items {
		if strings.HasPrefix(nd.Name, "bulk-") {
			got[nd.Name] = nd.Labels["drydock.example/index"]
		}
	}
	if len(got) != n {
		t.Fatalf("%d bulk nodes carry the label, want %d", len(got), n)
	}
	for i, name := range names {
		if got[name] != fmt.Sprint(i) {
			t.Errorf("%s: index label %q, want %d", name, got[name], i)
		}
	}
	if requests.Load() != 2*n {
		t.Errorf("%d requests for %d nodes, want 2 per node (read + apply)", requests.Load(), n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Invalid label keys or values fail the node before any API call, naming node and label. This
// needs no API server: any request would be counted.
func TestInvalidLabelsMakeNoRequest(t *testing.T) {
	var requests atomic.Int64
	rc := &rest.Config{Host: "https://127.0.0.1:1", BearerToken: "x"}
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { requests.Add(1); return rt.RoundTrip(r) })
	})
	d := newDriver(t, rc, testConfig)
	r := d.Relabel(t.Context(), call(node("bad-n1", "bad key", "x", "role", "has space", "ok", "fine", "-lead", "v")))
	wantOutcome(t, r, driver.Failed,
		`node bad-n1: label key "-lead" is not a valid Kubernetes label key`,
		`node bad-n1: label key "bad key" is not a valid Kubernetes label key`,
		`node bad-n1: label "role": value "has space" is not a valid Kubernetes label value`,
		"nothing was sent to the cluster")
	if strings.Contains(r.Message, `"ok"`) {
		t.Errorf("a valid label is reported: %s", r.Message)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests were made", n)
	}
}

// Wrong credentials: the node fails as unauthorized and verify_site says the credentials were
// rejected.
func TestUnauthorized(t *testing.T) {
	c := sharedCluster(t)
	t.Parallel()
	rc := rest.CopyConfig(c.drydock)
	rc.BearerToken = "not-a-token"
	d := newDriver(t, rc, testConfig)
	name := "unauth-n1"
	c.createNode(t, name, nil)
	wantOutcome(t, d.Relabel(t.Context(), call(node(name, "a", "b"))), driver.Failed, "unauthorized: the Kubernetes API at "+c.url+" rejected the credentials")
	wantOutcome(t, d.ValidateServices(t.Context(), nil), driver.Failed, "rejected the credentials")
}

// An API server that stops answering: nodes are Unreachable (after the driver's retries), as is
// verify_site's check.
func TestAPIServerStopped(t *testing.T) {
	c := ownCluster(t)
	t.Parallel()
	ctx := t.Context()
	d := newDriver(t, c.drydock, testConfig)
	name := "stopped-n1"
	c.createNode(t, name, nil)
	wantOutcome(t, d.Relabel(ctx, call(node(name, "a", "b"))), driver.Done)
	c.stop()
	start := time.Now()
	r := d.Relabel(ctx, call(node(name, "a", "c")))
	wantOutcome(t, r, driver.Unreachable, "node "+name+": reading the node: the Kubernetes API at "+c.url+" is unreachable or failing (3 attempts)")
	t.Logf("unreachable after %s: %s", time.Since(start).Round(time.Millisecond), r.Message)
	wantOutcome(t, d.ValidateServices(ctx, nil), driver.Unreachable, "is unreachable")
	if err := d.CheckHealth(ctx); err == nil {
		t.Error("CheckHealth succeeded against a stopped server")
	}
}

// The kubeconfig is found by path, by $KUBECONFIG (with a context), and its absence says what
// to do.
func TestKubeconfigLoading(t *testing.T) {
	c := sharedCluster(t)
	ctx := t.Context()
	d, err := New(Config{Kubeconfig: c.kubeconfig("drydock")})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, d.ValidateServices(ctx, nil), driver.Done, `"drydock"`)

	t.Setenv("KUBECONFIG", c.kubeconfig("nobody")+string(os.PathListSeparator)+c.kubeconfig("admin"))
	d, err = New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, d.ValidateServices(ctx, nil), driver.Failed, `"nobody"`) // the first file's context
	d, err = New(Config{Context: "admin@drydock-test"})
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, d.ValidateServices(ctx, nil), driver.Done, `"admin"`)

	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "no kubeconfig given") {
		t.Errorf("no configuration at all: %v", err)
	}
	if _, err := New(Config{Kubeconfig: "/nonexistent/kubeconfig"}); err == nil {
		t.Error("a missing kubeconfig file loaded")
	}
}
