package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/drydock-go/drydock/internal/design"
)

func TestDesiredLabels(t *testing.T) {
	n := &design.Node{Name: "n1", Rack: "rack01", Tags: []string{"gpu"},
		OwnerData: design.KV{{Key: "role", Value: "compute"}, {Key: LabelRack, Value: "override"}}}
	if got, want := DesiredLabels(n, false), map[string]string{"role": "compute", LabelRack: "override"}; !maps.Equal(got, want) {
		t.Errorf("owner_data only: %v, want %v", got, want)
	}
	// owner_data wins over the generated rack label.
	if got, want := DesiredLabels(n, true), map[string]string{"role": "compute", LabelRack: "override", LabelTagPrefix + "gpu": "true"}; !maps.Equal(got, want) {
		t.Errorf("with design labels: %v, want %v", got, want)
	}
	n.OwnerData = nil
	if got := DesiredLabels(n, true); got[LabelRack] != "rack01" {
		t.Errorf("rack label: %v", got)
	}
	if got := DesiredLabels(&design.Node{Name: "n2"}, true); got == nil || len(got) != 0 {
		t.Errorf("a bare node: %#v, want an empty map", got)
	}
}

func TestValidateLabels(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		labels map[string]string
		want   []string // substrings, one per problem, in order
	}{
		{map[string]string{"role": "compute", "example.com/rack": "r1", "empty": "", "a_b.c-d": "x_y.z-1"}, nil},
		{map[string]string{"bad key": "x"}, []string{`node n1: label key "bad key" is not a valid Kubernetes label key`}},
		{map[string]string{"ok": "bad value"}, []string{`node n1: label "ok": value "bad value" is not a valid Kubernetes label value`}},
		{map[string]string{"ok": long}, []string{`must be no more than 63`}},
		{map[string]string{"Bad_Domain/x": "v", "x/y/z": "v"}, []string{`"Bad_Domain/x"`, `"x/y/z"`}},
		{map[string]string{"": "v", "z": "-v"}, []string{`label key ""`, `label "z": value "-v"`}},
		{map[string]string{"k": long, long: "v"}, []string{`label key "` + long, `label "k": value`}},
	} {
		got := ValidateLabels("n1", tc.labels)
		if len(got) != len(tc.want) {
			t.Errorf("%v: %d problems %q, want %d", tc.labels, len(got), got, len(tc.want))
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tc.want[i]) {
				t.Errorf("%v: problem %d %q does not contain %q", tc.labels, i, got[i], tc.want[i])
			}
		}
	}
}

func TestTransient(t *testing.T) {
	gr := schema.GroupResource{Resource: "nodes"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{apierrors.NewInternalError(errors.New("x")), true},
		{apierrors.NewServiceUnavailable("x"), true},
		{apierrors.NewTooManyRequests("x", 1), true},
		{apierrors.NewTimeoutError("x", 1), true},
		{apierrors.NewServerTimeout(gr, "get", 1), true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("get: %w", context.Canceled), false},
		{apierrors.NewNotFound(gr, "n1"), false},
		{apierrors.NewForbidden(gr, "n1", errors.New("rbac")), false},
		{apierrors.NewUnauthorized("x"), false},
		{apierrors.NewConflict(gr, "n1", errors.New("x")), false},
		{apierrors.NewBadRequest("x"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
