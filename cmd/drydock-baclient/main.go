// Command drydock-baclient is the small static client a deployed node runs to report the
// status of a Drydock boot action (POST /api/v1.0/bootactions/{action_id}).
//
// It is shipped to nodes as a single static binary, so it depends on the Go standard library
// only (not even on this module's internal packages). See docs/baclient.md.
package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const progName = "drydock-baclient"

// Exit statuses. In exec mode a command that fails makes the client exit with the command's own
// status (126 when it cannot be executed, 127 when it is not found, 128+N when killed by signal N),
// once its failure has been reported.
const (
	exitOK       = 0
	exitAPI      = 1 // the status could not be posted (HTTP/API/network error, 409 already final)
	exitUsage    = 2 // invalid flags or configuration; no request was made
	exitNoExec   = 126
	exitNotFound = 127
)

// Environment variables read by the client.
const (
	envKey = "BOOTACTION_KEY" // overrides -key and -keyfile (compatible with the original client)
	envURL = "BOOTACTION_URL" // used only when -url is not given
)

// config is the validated command line.
type config struct {
	reportURL     string   // full URL of the action: <url>/<id>
	key           string   // lower-case hex, 64 characters
	actionID      string   // upper-case ULID
	msg           string   // detail message ("" = none)
	isError       bool     // the detail message is an error
	status        string   // "", "success" or "failure" (message mode only)
	command       []string // exec mode when non-empty
	noPassthrough bool     // run the command with an empty environment
	timeout       time.Duration
	retries       int
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes the client with the given arguments (without the program name) and returns the
// exit status. env looks up environment variables (BOOTACTION_KEY, BOOTACTION_URL); the wrapped
// command, when passthrough is on, inherits the real process environment.
func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, env, stderr)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\nRun '%s -h' for usage.\n", progName, err, progName)
		return exitUsage
	}
	c := newClient(cfg, stderr)
	defer c.close()
	if len(cfg.command) > 0 {
		return runExec(c, cfg, stdout, stderr)
	}
	return runMessage(c, cfg, stdout, stderr)
}

// runMessage posts one detail message, with the final status when -s or -f is given.
func runMessage(c *client, cfg *config, stdout, stderr io.Writer) int {
	msg := cfg.msg
	if msg == "" {
		msg = "Bootaction final status: " + cfg.status + "."
	}
	info, err := c.post(report{Status: cfg.status, Details: []detail{{Message: msg, Error: cfg.isError}}})
	if err != nil {
		printPostError(stderr, err)
		return exitAPI
	}
	fmt.Fprintf(stdout, "Bootaction status posted.%s\n", info.summary())
	return exitOK
}

// runExec reports the start of the command, runs it, and reports its outcome as the final status.
// The command is not run when its start cannot be reported (for example because the action is
// already final).
func runExec(c *client, cfg *config, stdout, stderr io.Writer) int {
	start := report{Details: []detail{{Message: "Bootaction starting execution."}}}
	if cfg.msg != "" {
		start.Details = append(start.Details, detail{Message: cfg.msg, Error: cfg.isError})
	}
	if _, err := c.post(start); err != nil {
		printPostError(stderr, err)
		fmt.Fprintf(stderr, "%s: command not run\n", progName)
		return exitAPI
	}

	code, runErr := runCommand(cfg.command, cfg.noPassthrough, stdout, stderr)

	final := report{Status: "success", Details: []detail{{Message: "Bootaction execution successful."}}}
	if runErr != nil {
		final = report{Status: "failure", Details: []detail{{
			Message: "Bootaction execution failed: " + runErr.Error(), Error: true}}}
	}
	info, err := c.post(final)
	if err != nil {
		if runErr != nil {
			fmt.Fprintf(stderr, "%s: command failed: %v\n", progName, runErr)
		}
		printPostError(stderr, err)
		return exitAPI
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "%s: command failed: %v; failure reported.%s\n", progName, runErr, info.summary())
		return code
	}
	fmt.Fprintf(stderr, "%s: command succeeded; success reported.%s\n", progName, info.summary())
	return exitOK
}

// printPostError explains a failed post. A 409 gets its own wording: nothing more can be posted.
func printPostError(stderr io.Writer, err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.code == 409 {
		fmt.Fprintf(stderr, "%s: action already final: %s\n", progName, ae.describe())
		return
	}
	fmt.Fprintf(stderr, "%s: %v\n", progName, err)
}

func newFlagSet() (*flag.FlagSet, *rawFlags) {
	fs := flag.NewFlagSet(progName, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	r := &rawFlags{}
	fs.StringVar(&r.url, "url", "", "boot action base URL, e.g. http://drydock:9000/api/v1.0/bootactions/ (default $"+envURL+")")
	fs.StringVar(&r.id, "id", "", "boot action id (26-character ULID)")
	fs.StringVar(&r.key, "key", "", "boot action key, 64 hex characters ($"+envKey+" overrides it)")
	fs.StringVar(&r.keyFile, "keyfile", "", "file whose first line is the key ($"+envKey+" overrides it)")
	fs.StringVar(&r.msg, "msg", "", "detail message (exec mode: an extra detail sent with the start report)")
	fs.BoolVar(&r.isError, "e", false, "the -msg detail is an error")
	fs.BoolVar(&r.success, "s", false, "message mode: set the final status to success")
	fs.BoolVar(&r.failure, "f", false, "message mode: set the final status to failure")
	fs.StringVar(&r.exec, "exec", "", "exec mode: run this command (shell-like quoting, no expansion) and report its result")
	fs.BoolVar(&r.noPass, "np", false, "no passthrough: run the command with an empty environment")
	fs.DurationVar(&r.timeout, "timeout", 60*time.Second, "timeout of each HTTP request")
	fs.IntVar(&r.retries, "retries", 3, "retries after connection errors and HTTP 5xx (never after 4xx)")
	return fs, r
}

type rawFlags struct {
	url, id, key, keyFile, msg, exec  string
	isError, success, failure, noPass bool
	timeout                           time.Duration
	retries                           int
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage:
  %[1]s -url URL -id ID (-key KEY | -keyfile FILE) -msg TEXT [-e] [-s | -f]
  %[1]s -url URL -id ID (-key KEY | -keyfile FILE) [-msg TEXT] [-np] -exec "CMD ARGS"
  %[1]s -url URL -id ID (-key KEY | -keyfile FILE) [-msg TEXT] [-np] -- CMD [ARGS...]

Reports the status of a Drydock boot action. Message mode posts one detail message (and the
final status with -s or -f). Exec mode posts a start message, runs the command with its output
passed through, then posts success or failure depending on its exit status.

Flags:
`, progName)
	fs, _ := newFlagSet()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintf(w, `
Exit status: 0 posted (and the command succeeded); 1 the status could not be posted (HTTP/API or
network error, 409 action already final); 2 invalid flags or configuration (nothing sent);
exec mode with a failed command (failure reported): the command's status (126 cannot execute,
127 not found, 128+N killed by signal N).
`)
}

// parseConfig parses and validates the command line. It returns flag.ErrHelp for -h.
func parseConfig(args []string, env func(string) string, stderr io.Writer) (*config, error) {
	fs, r := newFlagSet()
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := &config{msg: r.msg, isError: r.isError, noPassthrough: r.noPass, timeout: r.timeout, retries: r.retries}

	base := r.url
	if !set["url"] {
		base = env(envURL)
	}
	if strings.TrimSpace(base) == "" {
		return nil, fmt.Errorf("-url is required (or set %s)", envURL)
	}
	id := strings.ToUpper(strings.TrimSpace(r.id))
	if id == "" {
		return nil, errors.New("-id is required")
	}
	if !validULID(id) {
		return nil, fmt.Errorf("invalid -id %q: want a 26-character ULID (Crockford base32)", r.id)
	}
	cfg.actionID = id
	u, err := joinURL(base, id)
	if err != nil {
		return nil, err
	}
	cfg.reportURL = u

	key, err := resolveKey(r, set, env, stderr)
	if err != nil {
		return nil, err
	}
	cfg.key = key

	if r.success && r.failure {
		return nil, errors.New("-s and -f are mutually exclusive")
	}
	if r.success {
		cfg.status = "success"
	} else if r.failure {
		cfg.status = "failure"
	}
	if r.isError && r.msg == "" {
		return nil, errors.New("-e needs -msg")
	}
	if r.timeout <= 0 {
		return nil, fmt.Errorf("-timeout must be positive (got %s)", r.timeout)
	}
	if r.retries < 0 {
		return nil, fmt.Errorf("-retries must not be negative (got %d)", r.retries)
	}

	switch {
	case set["exec"] && fs.NArg() > 0:
		return nil, errors.New("give the command either with -exec or after --, not both")
	case set["exec"]:
		words, err := splitWords(r.exec)
		if err != nil {
			return nil, fmt.Errorf("-exec: %v", err)
		}
		if len(words) == 0 {
			return nil, errors.New("-exec: empty command")
		}
		cfg.command = words
	case fs.NArg() > 0:
		cfg.command = fs.Args()
	}
	if len(cfg.command) > 0 {
		if cfg.status != "" {
			return nil, errors.New("-s/-f cannot be used in exec mode: the command's exit status decides")
		}
	} else if r.msg == "" && cfg.status == "" {
		return nil, errors.New("message mode needs -msg, -s or -f (or give a command with -exec or after --)")
	}
	return cfg, nil
}

// resolveKey picks the key: $BOOTACTION_KEY when set, else -key, else the first line of -keyfile.
// Giving both -key and -keyfile is an error. The key itself never appears in messages.
func resolveKey(r *rawFlags, set map[string]bool, env func(string) string, stderr io.Writer) (string, error) {
	if set["key"] && set["keyfile"] {
		return "", errors.New("-key and -keyfile are mutually exclusive")
	}
	var key, source string
	if e := strings.TrimSpace(env(envKey)); e != "" {
		key, source = e, "$"+envKey
		if set["key"] || set["keyfile"] {
			fmt.Fprintf(stderr, "%s: note: $%s overrides -key/-keyfile\n", progName, envKey)
		}
	} else if set["key"] {
		key, source = strings.TrimSpace(r.key), "-key"
	} else if set["keyfile"] {
		k, err := readKeyFile(r.keyFile)
		if err != nil {
			return "", err
		}
		key, source = k, "-keyfile "+r.keyFile
	} else {
		return "", fmt.Errorf("a key is required: -key, -keyfile or $%s", envKey)
	}
	if len(key) != 64 {
		return "", fmt.Errorf("invalid key from %s: want 64 hex characters (32 bytes), got %d characters", source, len(key))
	}
	if _, err := hex.DecodeString(key); err != nil {
		return "", fmt.Errorf("invalid key from %s: not hexadecimal", source)
	}
	return strings.ToLower(key), nil
}

// readKeyFile returns the first line of the file, trimmed; a final newline is optional.
func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("-keyfile: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("-keyfile: %v", err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	first = strings.TrimSpace(first)
	if first == "" {
		return "", fmt.Errorf("-keyfile %s: the first line is empty", path)
	}
	return first, nil
}

// crockford is the ULID alphabet (Crockford base32 without I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// validULID reports whether s (upper case) is a canonical 26-character ULID. The first character
// is at most '7' because a ULID is 128 bits.
func validULID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(crockford, s[i]) < 0 {
			return false
		}
	}
	return true
}
