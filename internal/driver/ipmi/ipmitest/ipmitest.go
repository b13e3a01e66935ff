// Package ipmitest runs OpenIPMI's ipmi_sim BMCs for tests (through scripts/ipmi-sim): a real,
// separate BMC process on a loopback UDP port whose chassis records every request it acts on.
// It is test support, imported only by tests.
package ipmitest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvRequire makes missing tools a failure instead of a skip.
const EnvRequire = "DRYDOCK_REQUIRE_IPMI"

// RequireTools skips the test (fails it when $DRYDOCK_REQUIRE_IPMI is 1) when a tool is missing.
func RequireTools(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			msg := fmt.Sprintf("%s is not installed (apt-get install -y --no-install-recommends openipmi ipmitool)", name)
			if os.Getenv(EnvRequire) == "1" {
				t.Fatalf("%s, and %s=1", msg, EnvRequire)
			}
			t.Skipf("SKIPPED: %s; set %s=1 to make this a failure", msg, EnvRequire)
		}
	}
}

// FreeUDPPort returns a loopback UDP port nothing listens on (at the time of the call).
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Sim is a running ipmi_sim BMC.
type Sim struct {
	Dir        string
	Port       int
	User, Pass string
}

// script is scripts/ipmi-sim of this repository.
func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "scripts", "ipmi-sim")
}

// Start starts an ipmi_sim BMC on 127.0.0.1 with one admin user; it is stopped when the test
// ends. Tests are skipped (or failed, see RequireTools) when ipmi_sim or ipmitool is missing.
func Start(t testing.TB, user, pass string) *Sim {
	t.Helper()
	RequireTools(t, "ipmi_sim", "ipmitool")
	dir := t.TempDir()
	var port int
	var out []byte
	var err error
	for try := 0; try < 3; try++ { // the free port may be taken between the probe and the start
		port = FreeUDPPort(t)
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		out, err = exec.CommandContext(ctx, script(), "start", dir, strconv.Itoa(port), user, pass).CombinedOutput()
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("scripts/ipmi-sim start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, script(), "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("scripts/ipmi-sim stop: %v\n%s", err, out)
		}
	})
	return &Sim{Dir: dir, Port: port, User: user, Pass: pass}
}

// Events returns what ipmi_sim asked its chassis to do ("set boot pxe", "set power 1", ...),
// oldest first; nil before the first request.
func (s *Sim) Events() []string {
	data, err := os.ReadFile(filepath.Join(s.Dir, "chassis", "events.log"))
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if _, rest, ok := strings.Cut(line, " "); ok { // drop the time stamp
			out = append(out, rest)
		}
	}
	return out
}
