package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var startReport = report{Details: msg("Bootaction starting execution.", false)}

func TestExecSuccess(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	r := runClient(t, nil, args(f, "-exec", "/bin/sh -c 'echo out; echo err >&2'")...)
	wantCode(t, r, exitOK)
	wantReports(t, f, startReport, report{Status: "success", Details: msg("Bootaction execution successful.", false)})
	if r.stdout != "out\n" || !strings.HasPrefix(r.stderr, "err\n") {
		t.Errorf("output not passed through: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if f.action(testID).status != "success" {
		t.Errorf("status %q", f.action(testID).status)
	}
}

func TestExecFailureExitCode(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	r := runClient(t, nil, args(f, "--", "/bin/sh", "-c", "exit 3")...)
	wantCode(t, r, 3)
	wantReports(t, f, startReport, report{Status: "failure", Details: msg("Bootaction execution failed: exit status 3", true)})
	if !strings.Contains(r.stderr, "command failed: exit status 3; failure reported.") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestExecNotFound(t *testing.T) {
	cases := map[string][]string{
		"in PATH":  {"-exec", "drydock-no-such-command --flag"},
		"absolute": {"--", "/nonexistent/drydock-cmd"},
	}
	for name, flags := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			r := runClient(t, nil, args(f, flags...)...)
			wantCode(t, r, exitNotFound)
			reqs := f.reqs()
			if len(reqs) != 2 || reqs[1].body.Status != "failure" || !reqs[1].body.Details[0].Error ||
				!strings.HasPrefix(reqs[1].body.Details[0].Message, "Bootaction execution failed: ") {
				t.Fatalf("requests %+v", reqs)
			}
		})
	}
}

func TestExecNotExecutable(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFakeAPI(t)
	r := runClient(t, nil, args(f, "--", p)...)
	if os.Geteuid() == 0 {
		// root may still be refused (no x bit at all), which is what we check.
		t.Log("running as root")
	}
	wantCode(t, r, exitNoExec)
	if f.action(testID).status != "failure" {
		t.Errorf("status %q", f.action(testID).status)
	}
}

func TestExecExtraMessage(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	r := runClient(t, nil, args(f, "-msg", "running firmware update", "-e", "-exec", "true")...)
	wantCode(t, r, exitOK)
	wantReports(t, f,
		report{Details: []detail{{Message: "Bootaction starting execution."}, {Message: "running firmware update", Error: true}}},
		report{Status: "success", Details: msg("Bootaction execution successful.", false)})
}

// TestExecEnvironment: the environment passes through by default and is empty with -np.
// Not parallel: it sets a process environment variable.
func TestExecEnvironment(t *testing.T) {
	t.Setenv("BACLIENT_TEST_FOO", "bar baz")
	cases := []struct {
		name  string
		flags []string
		want  string
	}{
		{"passthrough", []string{"--", "/bin/sh", "-c", `echo "foo=$BACLIENT_TEST_FOO"`}, "foo=bar baz\n"},
		{"-np", []string{"-np", "--", "/bin/sh", "-c", `echo "foo=$BACLIENT_TEST_FOO"`}, "foo=\n"},
		{"-np env", []string{"-np", "-exec", "env"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			r := runClient(t, nil, args(f, tc.flags...)...)
			wantCode(t, r, exitOK)
			if r.stdout != tc.want {
				t.Errorf("stdout %q, want %q", r.stdout, tc.want)
			}
		})
	}
	f := newFakeAPI(t)
	r := runClient(t, nil, args(f, "-exec", "/usr/bin/env")...)
	if !strings.Contains(r.stdout, "BACLIENT_TEST_FOO=bar baz\n") {
		t.Errorf("env output lacks the variable: %q", r.stdout)
	}
}

func TestExecQuoting(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	r := runClient(t, nil, args(f, "-exec", `printf '[%s]' 'a b' "c \"d\" $HOME" e\ f '' g`)...)
	wantCode(t, r, exitOK)
	if want := `[a b][c "d" $HOME][e f][][g]`; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
}

func TestExecPositionalCommand(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	// Flags after the command belong to the command.
	r := runClient(t, nil, args(f, "--", "printf", "%s|", "-s", "a b")...)
	wantCode(t, r, exitOK)
	if r.stdout != "-s|a b|" {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestExecNotRunWhenStartFails: a final action (409) or an unreachable server means the
// command must not run.
func TestExecNotRunWhenStartFails(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	f.addAction(testID, testKey, "success")
	marker := filepath.Join(t.TempDir(), "ran")
	r := runClient(t, nil, args(f, "--", "touch", marker)...)
	wantCode(t, r, exitAPI)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran although its start could not be reported")
	}
	if !strings.Contains(r.stderr, "action already final") || !strings.Contains(r.stderr, "command not run") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// TestExecFinalReportFails: the command ran but its result could not be posted: exit 1.
func TestExecFinalReportFails(t *testing.T) {
	t.Parallel()
	// The command finalises the action itself (with the client binary), so the client's own
	// final post gets 409.
	g := newFakeAPI(t)
	r := runClient(t, nil, "-url", g.base(), "-id", testID, "-key", testKey, "-retries", "0", "--",
		"/bin/sh", "-c", `"$0" -url "$1" -id "$2" -key "$3" -f -msg inner >/dev/null`,
		selfBinary(t), g.base(), testID, testKey)
	wantCode(t, r, exitAPI)
	if !strings.Contains(r.stderr, "action already final") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestSplitWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"  a   b\tc\n", []string{"a", "b", "c"}, ""},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}, ""},
		{`'it''s' x"y"z`, []string{"its", "xyz"}, ""},
		{`"a\"b\\c\$d\e"`, []string{`a"b\c$d\e`}, ""},
		{`'no \escapes "here"'`, []string{`no \escapes "here"`}, ""},
		{`a\ b \'c\"`, []string{"a b", `'c"`}, ""},
		{`'' ""`, []string{"", ""}, ""},
		{"a\\\nb", []string{"ab"}, ""},
		{`$HOME *.txt | x`, []string{"$HOME", "*.txt", "|", "x"}, ""},
		{`'abc`, nil, "unterminated single quote"},
		{`"abc`, nil, "unterminated double quote"},
		{`abc\`, nil, "trailing backslash"},
	}
	for _, tc := range cases {
		got, err := splitWords(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("splitWords(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
