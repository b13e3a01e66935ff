package main

import (
	"bufio"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binDir  string // removed by TestMain
	binPath string
	binErr  error
	binOut  []byte
)

// selfBinary builds the client once with CGO_ENABLED=0 and returns its path.
func selfBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "drydock-baclient-test")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "drydock-baclient")
		cmd := exec.Command(goBin, "build", "-trimpath", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		binOut, binErr = cmd.CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", binErr, binOut)
	}
	return binPath
}

func TestStaticBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ELF check on Linux only")
	}
	f, err := elf.Open(selfBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic"} {
		if f.Section(name) != nil {
			t.Errorf("section %s present: the binary is dynamically linked", name)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("imported libraries %v (%v)", libs, err)
	}
}

// TestStandardLibraryOnly: the client must not import anything but the standard library.
func TestStandardLibraryOnly(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/drydock-go/drydock/cmd/drydock-baclient" {
		t.Errorf("non-standard dependencies: %q", got)
	}
}

// TestBinarySignalForwarding runs the real binary: SIGTERM is forwarded to the command, whose
// death is reported as a failure; the exit status is 128+15.
func TestBinarySignalForwarding(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix signals")
	}
	bin := selfBinary(t)
	f := newFakeAPI(t)
	cmd := exec.Command(bin, "-url", f.base(), "-id", testID, "-retries", "0", "--",
		"/bin/sh", "-c", "echo ready; exec sleep 30")
	cmd.Env = append(os.Environ(), envKey+"="+testKey)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGTERM) {
		t.Fatalf("wait: %v, want exit status 143; stderr %s", err, stderr.String())
	}
	wantReports(t, f, startReport,
		report{Status: "failure", Details: msg("Bootaction execution failed: signal: terminated", true)})
	if strings.Contains(stderr.String(), testKey) {
		t.Error("the key leaked to stderr")
	}
}
