// Package benchrun holds what the benchmark programs under bench/ share: running the program
// again as a child process with a JSON spec, the peak resident set size and CPU time of a
// process (getrusage), the load average, the node counts and work directory of the flags, a
// store and a fresh PostgreSQL schema per run, CPU profiles, the peak number of goroutines and
// running the orchestrator in the background.
package benchrun

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Usage is what a process used: its peak resident set size and its CPU time.
type Usage struct {
	MaxRSSKB int64         // getrusage ru_maxrss: kilobytes on Linux
	CPU      time.Duration // user + system
}

func usageOf(ru *syscall.Rusage) Usage {
	return Usage{MaxRSSKB: ru.Maxrss, CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// ChildUsage is the usage of a child process that has exited.
func ChildUsage(ps *os.ProcessState) Usage {
	return usageOf(ps.SysUsage().(*syscall.Rusage))
}

// SelfUsage is this process's usage so far (zero if getrusage fails).
func SelfUsage() Usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}
	}
	return usageOf(&ru)
}

// LoadAvg is the 1, 5 and 15 minute load averages ("0.52 0.58 0.59"), or "?".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Load1 is the 1 minute load average, or "?".
func Load1() string {
	return strings.Fields(LoadAvg())[0]
}

// Command is this program run again as a child: with -flag and spec as JSON, its standard
// error going to this process's.
func Command(flag string, spec any) (*exec.Cmd, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(os.Args[0], "-"+flag, string(js))
	cmd.Stderr = os.Stderr
	return cmd, nil
}

// RunChild runs the child of Command(flag, spec) to its end, decodes its standard output (JSON)
// into result and returns what the child used. Errors start with name ("child failed
// (figures withheld): …", "child output: …").
func RunChild(name, flag string, spec, result any) (Usage, error) {
	cmd, err := Command(flag, spec)
	if err != nil {
		return Usage{}, err
	}
	out, err := cmd.Output()
	if err != nil {
		return Usage{}, fmt.Errorf("%s failed (figures withheld): %w", name, err)
	}
	if err := json.Unmarshal(out, result); err != nil {
		return Usage{}, fmt.Errorf("%s output: %w", name, err)
	}
	return ChildUsage(cmd.ProcessState), nil
}

// Piped is a running child of Command that the parent talks to: it writes to the child's
// standard input and reads lines from its standard output.
type Piped struct {
	*exec.Cmd
	In  io.WriteCloser
	Out *bufio.Reader
}

// StartPiped starts the child of Command(flag, spec) with pipes to its standard input and
// output.
func StartPiped(flag string, spec any) (*Piped, error) {
	cmd, err := Command(flag, spec)
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &Piped{Cmd: cmd, In: in, Out: bufio.NewReader(out)}, nil
}
