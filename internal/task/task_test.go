package task

import (
	"reflect"
	"testing"
	"time"
)

func TestResultSuccessFailureMerging(t *testing.T) {
	cases := []struct {
		calls []string // "s:node" or "f:node"
		want  ResultStatus
	}{
		{nil, ""},
		{[]string{"s:a"}, ResultSuccess},
		{[]string{"f:a"}, ResultFailure},
		{[]string{"s:a", "f:b"}, ResultPartialSuccess},
		{[]string{"f:a", "s:b"}, ResultPartialSuccess},
		{[]string{"s:a", "s:b"}, ResultSuccess},
		{[]string{"f:a", "f:b"}, ResultFailure},
		{[]string{"s:a", "f:b", "s:c"}, ResultPartialSuccess},
	}
	for _, c := range cases {
		r := Result{}
		for _, call := range c.calls {
			if call[0] == 's' {
				r.Success(call[2:])
			} else {
				r.Failure(call[2:])
			}
		}
		if r.Status != c.want {
			t.Errorf("%v: status %q, want %q", c.calls, r.Status, c.want)
		}
	}
	r := Result{Status: ResultIncomplete}
	r.Success("a")
	r.Success("a")
	r.Failure("b")
	r.Success("")
	if !reflect.DeepEqual(r.Successes, []string{"a"}) || !reflect.DeepEqual(r.Failures, []string{"b"}) {
		t.Errorf("entities are recorded once each: %+v", r)
	}
}

func TestNodeOutcomesAreUnambiguous(t *testing.T) {
	var r Result
	r.Success("n1") // a step succeeded for n1 ...
	r.Failure("n1") // ... and a later one failed: the original listed n1 in both
	r.NodeOutcomes([]string{"n1", "n2", "n3"}, map[string]bool{"n2": true})
	if !reflect.DeepEqual(r.Successes, []string{"n2"}) || !reflect.DeepEqual(r.Failures, []string{"n1", "n3"}) {
		t.Fatalf("each node in exactly one list: %+v", r)
	}
	if r.Status != ResultPartialSuccess {
		t.Fatalf("status %s", r.Status)
	}
	r.NodeOutcomes([]string{"a"}, map[string]bool{"a": true})
	if r.Status != ResultSuccess || len(r.Failures) != 0 {
		t.Fatalf("all succeeded: %+v", r)
	}
	r.NodeOutcomes([]string{"a", "b"}, nil)
	if r.Status != ResultFailure || len(r.Successes) != 0 {
		t.Fatalf("all failed: %+v", r)
	}
	r.NodeOutcomes(nil, nil)
	if r.Status != ResultSuccess {
		t.Fatalf("no nodes: %+v", r)
	}
}

func TestTransitions(t *testing.T) {
	legal := [][2]Status{
		{StatusRequested, StatusQueued}, {StatusQueued, StatusRunning}, {StatusRunning, StatusComplete},
		{StatusQueued, StatusTerminated}, {StatusRunning, StatusTerminating}, {StatusTerminating, StatusTerminated},
		{StatusRunning, StatusQueued},
	}
	for _, p := range legal {
		if !CanTransition(p[0], p[1]) {
			t.Errorf("%s -> %s must be legal", p[0], p[1])
		}
	}
	illegal := [][2]Status{
		{StatusComplete, StatusRunning}, {StatusTerminated, StatusQueued}, {StatusQueued, StatusComplete},
		{StatusTerminating, StatusRunning}, {StatusComplete, StatusQueued},
	}
	for _, p := range illegal {
		if CanTransition(p[0], p[1]) {
			t.Errorf("%s -> %s must be illegal", p[0], p[1])
		}
	}
	for _, s := range []Status{StatusComplete, StatusTerminated} {
		if !s.Final() || len(Transitions[s]) != 0 {
			t.Errorf("%s is final", s)
		}
	}
}

func TestStepStates(t *testing.T) {
	for s, want := range map[StepState][2]bool{
		StepPending: {false, false}, StepRunning: {false, false}, StepSucceeded: {true, true},
		StepSkipped: {true, true}, StepFailed: {true, false}, StepCancelled: {true, false},
	} {
		if s.Done() != want[0] || s.Passed() != want[1] {
			t.Errorf("%s: done %v passed %v", s, s.Done(), s.Passed())
		}
	}
}

func TestNewTask(t *testing.T) {
	now := time.Date(2026, 11, 26, 1, 2, 3, 0, time.FixedZone("x", 3600))
	tk := New(ActionDeployNodes, "file:///site", []byte(`{"filter_set_type":"union","filter_set":[]}`), "operator", now)
	if tk.Status != StatusRequested || tk.Result.Status != ResultIncomplete || tk.Created.Location() != time.UTC || tk.ID.String() == "" {
		t.Fatalf("%+v", tk)
	}
	if !IsTopLevel(ActionDeployNodes) || IsTopLevel("set_node_boot") {
		t.Fatal("top-level actions")
	}
	m := NodeError("n1", "boom %d", 1)
	if !m.Error || m.ContextType != ContextNode || m.Context != "n1" || m.Message != "boom 1" {
		t.Fatalf("%+v", m)
	}
	if m := NewMessage("x", false, "", ""); m.ContextType != ContextNone || m.Context != ContextNone {
		t.Fatalf("%+v", m)
	}
}
