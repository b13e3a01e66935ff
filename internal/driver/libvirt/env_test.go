package libvirt

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	lv "github.com/digitalocean/go-libvirt"
	"golang.org/x/crypto/ssh"
)

// requireEnv makes the libvirt tests fail, instead of skipping, when they cannot run.
const requireEnv = "DRYDOCK_REQUIRE_LIBVIRT"

// skipOrFail skips the test loudly, or fails it when requireEnv=1.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, requireEnv)
	}
	t.Logf("SKIPPING the libvirt tests: %s; set %s=1 to make this a failure", msg, requireEnv)
	t.SkipNow()
}

// testEnv is a private libvirtd run by scripts/libvirt-test-env, and a loopback HTTP server
// that the test VMs' iPXE scripts report to.
type testEnv struct {
	dir     string
	script  string
	sock    string
	tcpPort int
	boots   *bootRecorder
}

// startEnv starts libvirtd (with qemu+tcp on a free loopback port) and the HTTP server; both
// are stopped, and every domain defined through the env is destroyed and undefined, when the
// test ends.
func startEnv(t *testing.T) *testEnv {
	t.Helper()
	if runtime.GOOS != "linux" {
		skipOrFail(t, "libvirtd tests need Linux")
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "libvirtd tests need root (a privileged libvirtd runs the QEMU driver)")
	}
	for _, bin := range []string{"libvirtd", "virsh", "qemu-system-x86_64"} {
		if _, err := exec.LookPath(bin); err != nil {
			skipOrFail(t, "%s is not installed (apt-get install --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 ipxe-qemu)", bin)
		}
	}
	if _, err := os.Stat("/usr/lib/ipxe/qemu/efi-virtio.rom"); err != nil {
		skipOrFail(t, "the iPXE ROMs for QEMU are not installed (apt-get install ipxe-qemu)")
	}
	lockLibvirtd(t)
	if out, _ := exec.Command("pgrep", "-x", "libvirtd").Output(); len(bytes.TrimSpace(out)) > 0 {
		skipOrFail(t, "another libvirtd (pid %s) is running, and only one privileged libvirtd can run at a time", strings.Fields(string(out))[0])
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "..", "scripts", "libvirt-test-env"))
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{dir: t.TempDir(), script: script, tcpPort: freePort(t)}
	e.sock = filepath.Join(e.dir, "run", "libvirt-sock")
	t.Cleanup(func() {
		out, err := exec.Command(script, "stop", e.dir).CombinedOutput()
		t.Logf("libvirt-test-env stop: %s", strings.TrimSpace(string(out)))
		if err != nil {
			t.Errorf("stopping libvirtd: %v", err)
		}
	})
	t0 := time.Now()
	e.run(t, 4*time.Minute, "start", e.dir, fmt.Sprint(e.tcpPort))
	t.Logf("libvirtd started and answering after %.1fs", time.Since(t0).Seconds())
	e.boots = startBootRecorder(t)
	return e
}

// libvirtdLock is held (flock) by every test process that runs a private libvirtd (this
// package's and internal/app's), so that go test running packages in parallel makes them wait
// for each other instead of failing.
const libvirtdLock = "/tmp/drydock-libvirt-test.lock"

// lockLibvirtd takes libvirtdLock, waiting up to five minutes, until the test ends (the lock is
// released after the libvirtd's own clean-up, which was registered later and runs first).
func lockLibvirtd(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(libvirtdLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			skipOrFail(t, "another test has held %s for more than five minutes", libvirtdLock)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() })
}

// run runs the env script and logs its output.
func (e *testEnv) run(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.script, args...)
	out, err := cmd.CombinedOutput()
	t.Logf("libvirt-test-env %s:\n%s", strings.Join(args, " "), strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("libvirt-test-env %s: %v", args[0], err)
	}
}

// vm defines a PXE-capable test domain (see scripts/libvirt-test-env vm).
func (e *testEnv) vm(t *testing.T, name, mac string, opts ...string) {
	t.Helper()
	args := append([]string{"vm", e.dir, name, mac, "--port", fmt.Sprint(e.boots.port)}, opts...)
	e.run(t, time.Minute, args...)
}

// unixURI is the URI of the private libvirtd as libvirt clients write it.
func (e *testEnv) unixURI() string { return "qemu:///system?socket=" + e.sock }

// admin opens a direct go-libvirt connection, for the checks the driver does not offer.
func (e *testEnv) admin(t *testing.T) *lv.Libvirt {
	t.Helper()
	u, _ := url.Parse(e.unixURI())
	l, err := lv.ConnectToURI(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Disconnect() })
	return l
}

// domainXML reads a domain's definition (the persistent one when inactive is set).
func domainXML(t *testing.T, l *lv.Libvirt, name string, inactive bool) string {
	t.Helper()
	d, err := l.DomainLookupByName(name)
	if err != nil {
		t.Fatal(err)
	}
	var flags lv.DomainXMLFlags
	if inactive {
		flags = lv.DomainXMLInactive
	}
	x, err := l.DomainGetXMLDesc(d, flags)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// bootRecorder is the HTTP server the test VMs' iPXE scripts fetch /booted?mac=… from.
type bootRecorder struct {
	port int
	mu   sync.Mutex
	hits []bootHit
	seen chan struct{} // receives (without blocking) on every hit
}

type bootHit struct {
	mac string
	at  time.Time
}

func startBootRecorder(t *testing.T) *bootRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &bootRecorder{port: ln.Addr().(*net.TCPAddr).Port, seen: make(chan struct{}, 1)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/booted" {
			http.NotFound(w, req)
			return
		}
		r.mu.Lock()
		r.hits = append(r.hits, bootHit{strings.ToLower(req.URL.Query().Get("mac")), time.Now()})
		r.mu.Unlock()
		select {
		case r.seen <- struct{}{}:
		default:
		}
		// Keep the VM idle in iPXE until the test powers it off.
		fmt.Fprint(w, "#!ipxe\necho drydock test: boot recorded\nsleep 3600\n")
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

// since returns the MACs that booted after t0.
func (r *bootRecorder) since(t0 time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, h := range r.hits {
		if !h.at.Before(t0) {
			out = append(out, h.mac)
		}
	}
	return out
}

// wait waits until mac has booted after t0, and returns when.
func (r *bootRecorder) wait(mac string, t0 time.Time, timeout time.Duration) (time.Time, bool) {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		for _, h := range r.hits {
			if h.mac == strings.ToLower(mac) && !h.at.Before(t0) {
				r.mu.Unlock()
				return h.at, true
			}
		}
		r.mu.Unlock()
		select {
		case <-r.seen:
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			return time.Time{}, false
		}
	}
}

// writeTestKey writes a new ed25519 private key in OpenSSH format and returns its path.
func writeTestKey(t *testing.T, dir string) string {
	t.Helper()
	path, _ := writeKey(t, dir, "id_ed25519")
	return path
}

func writeKey(t *testing.T, dir, name string) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return path, signer.PublicKey()
}

// sshEnv is a private sshd on loopback that lets root in with a test key.
type sshEnv struct {
	port       int
	key        string // the client's private key
	knownHosts string // holds the sshd's host key for [127.0.0.1]:port
	otherKey   string // a key sshd does not accept
	wrongHosts string // holds another key for [127.0.0.1]:port
}

// startSSHD runs /usr/sbin/sshd -D on 127.0.0.1 with its own host key and authorized_keys;
// it is killed when the test ends.
func startSSHD(t *testing.T) *sshEnv {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/sshd"); serr != nil {
			skipOrFail(t, "sshd is not installed (apt-get install --no-install-recommends openssh-server)")
		}
		sshd = "/usr/sbin/sshd"
	}
	dir := t.TempDir()
	s := &sshEnv{port: freePort(t)}
	hostKey, hostPub := writeKey(t, dir, "hostkey")
	var clientPub ssh.PublicKey
	s.key, clientPub = writeKey(t, dir, "id_ed25519")
	s.otherKey, _ = writeKey(t, dir, "id_other")
	_, otherHostPub := writeKey(t, dir, "otherhost")
	host := fmt.Sprintf("[127.0.0.1]:%d", s.port)
	s.knownHosts = filepath.Join(dir, "known_hosts")
	s.wrongHosts = filepath.Join(dir, "wrong_known_hosts")
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "authorized_keys"), string(ssh.MarshalAuthorizedKey(clientPub)))
	write(s.knownHosts, host+" "+string(ssh.MarshalAuthorizedKey(hostPub)))
	write(s.wrongHosts, host+" "+string(ssh.MarshalAuthorizedKey(otherHostPub)))
	cfg := filepath.Join(dir, "sshd_config")
	write(cfg, fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
`, s.port, hostKey, filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys")))
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("sshd log:\n%s", b)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("sshd does not listen on 127.0.0.1:%d: %v\n%s", s.port, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}
