package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	lv "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

// DefaultTimeout bounds connecting to libvirtd when Protocol.Timeout is zero.
const DefaultTimeout = 20 * time.Second

// Protocol is the oob.Protocol of oob.type libvirt. The zero value is usable.
type Protocol struct {
	// Socket, when set, is the local libvirtd socket for unix URIs (qemu:///system), in place
	// of the URI's socket= and of /run/libvirt/libvirt-sock (tests run a private libvirtd).
	Socket string
	// SSHKeyFile is the private key for qemu+ssh URIs that name no keyfile=; when empty,
	// ~/.ssh/id_ed25519, id_ecdsa and id_rsa are tried.
	SSHKeyFile string
	// SSHKnownHosts is the known_hosts file that qemu+ssh host keys are checked against
	// (default ~/.ssh/known_hosts).
	SSHKnownHosts string
	// SSHInsecure accepts any SSH host key. Only for tests and throwaway labs.
	SSHInsecure bool
	// Timeout bounds connecting: the dial, the SSH handshake and libvirt's connection open
	// (default DefaultTimeout). Every call is also bounded by its context.
	Timeout time.Duration
}

var _ oob.Protocol = (*Protocol)(nil)

// Type is "libvirt".
func (p *Protocol) Type() string { return "libvirt" }

// Open connects to the node's hypervisor and finds its domain. A bad URI, a refused SSH login
// or host key, and a domain that does not exist wrap oob.ErrRefused; a hypervisor that cannot
// be reached is a transient error.
func (p *Protocol) Open(ctx context.Context, t oob.Target) (oob.Session, error) {
	ep, err := parseURI(t.Params["libvirt_uri"])
	if err != nil {
		return nil, oob.Refused(err)
	}
	if ep.transport == "unix" && p.Socket != "" {
		ep.socket = p.Socket
	}
	name := t.Params["domain"]
	if name == "" {
		name = t.Node
	}
	s := &session{p: p, t: t, ep: ep, name: name}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (p *Protocol) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// conn is an open libvirt connection.
type conn struct {
	l   *lv.Libvirt
	raw net.Conn // closing it ends the connection and interrupts any call
}

// dial opens a connection to libvirtd and the remote URI, bounded by ctx and the timeout.
func (p *Protocol) dial(ctx context.Context, t oob.Target, ep endpoint) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	var raw net.Conn
	var err error
	var d net.Dialer
	switch ep.transport {
	case "unix":
		raw, err = d.DialContext(ctx, "unix", ep.socket)
		if err != nil {
			return nil, fmt.Errorf("libvirt %s: connecting to %s: %w", ep, ep.socket, err)
		}
	case "tcp":
		raw, err = d.DialContext(ctx, "tcp", ep.addr())
		if err != nil {
			return nil, fmt.Errorf("libvirt %s: connecting to %s: %w", ep, ep.addr(), err)
		}
	case "ssh":
		raw, err = p.dialSSH(ctx, t, ep)
		if err != nil {
			return nil, err
		}
	default:
		return nil, oob.Refused(fmt.Errorf("libvirt %s: transport %s is not supported", ep, ep.transport))
	}
	l := lv.NewWithDialer(dialers.NewAlreadyConnected(raw))
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	err = l.ConnectToURI(lv.ConnectURI(ep.remote))
	if !stop() {
		raw.Close()
		return nil, fmt.Errorf("libvirt %s: opening %s: %w", ep, ep.remote, context.Cause(ctx))
	}
	if err != nil {
		raw.Close()
		return nil, classify(fmt.Sprintf("libvirt %s: opening %s", ep, ep.remote), err)
	}
	return &conn{l: l, raw: raw}, nil
}

// close says goodbye to libvirtd (for at most a few seconds) and closes the connection.
func (c *conn) close() error {
	if c == nil {
		return nil
	}
	var err error
	if c.l.IsConnected() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		stop := context.AfterFunc(ctx, func() { c.raw.Close() })
		err = c.l.Disconnect()
		stop()
		cancel()
	}
	if cerr := c.raw.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// sshConn is the forwarded libvirtd socket; closing it closes the SSH connection too.
type sshConn struct {
	net.Conn
	client *ssh.Client
	once   sync.Once
}

func (c *sshConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.client.Close() })
	return err
}

// hostKeyError marks an SSH host key that was refused.
type hostKeyError struct{ err error }

func (e *hostKeyError) Error() string { return e.err.Error() }
func (e *hostKeyError) Unwrap() error { return e.err }

// dialSSH logs in over SSH and opens a stream to the remote libvirtd socket.
func (p *Protocol) dialSSH(ctx context.Context, t oob.Target, ep endpoint) (net.Conn, error) {
	what := fmt.Sprintf("libvirt %s: ssh to %s", ep, ep.addr())
	cfg, err := p.sshConfig(t, ep)
	if err != nil {
		return nil, oob.Refused(fmt.Errorf("%s: %w", what, err))
	}
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", ep.addr())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !p.SSHInsecure {
		// Ask for the host key types known_hosts has for this host, so that a host with
		// several keys is checked against the one we know.
		cfg.HostKeyAlgorithms = knownAlgorithms(cfg.HostKeyCallback, ep.addr(), tcp.RemoteAddr())
	}
	// The handshake and the channel open are bounded by the context through the deadline.
	if dl, ok := ctx.Deadline(); ok {
		_ = tcp.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = tcp.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(tcp, ep.addr(), cfg)
	if err != nil {
		tcp.Close()
		var hk *hostKeyError
		switch {
		case errors.As(err, &hk):
			return nil, oob.Refused(fmt.Errorf("%s: host key refused: %w", what, hk.err))
		case isSSHAuthError(err):
			return nil, oob.Refused(fmt.Errorf("%s as %s: %w", what, cfg.User, err))
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	stream, err := client.Dial("unix", ep.socket)
	if err != nil {
		client.Close()
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) && oce.Reason == ssh.Prohibited {
			return nil, oob.Refused(fmt.Errorf("%s: forwarding to %s refused (sshd must allow StreamLocal forwarding): %w", what, ep.socket, err))
		}
		return nil, fmt.Errorf("%s: connecting to the remote socket %s: %w", what, ep.socket, err)
	}
	_ = tcp.SetDeadline(time.Time{})
	return &sshConn{Conn: stream, client: client}, nil
}

func isSSHAuthError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "no supported methods remain")
}

// sshConfig builds the SSH client configuration: user, keys (and password), host key check.
func (p *Protocol) sshConfig(t oob.Target, ep endpoint) (*ssh.ClientConfig, error) {
	cfg := &ssh.ClientConfig{Timeout: p.timeout()}
	switch {
	case ep.user != "":
		cfg.User = ep.user
	case t.User != "":
		cfg.User = t.User
	default:
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("no SSH user in the URI or oob_parameters account, and the current user is unknown: %v", err)
		}
		cfg.User = u.Username
	}
	var signers []ssh.Signer
	keyFile := ep.keyFile
	if keyFile == "" {
		keyFile = p.SSHKeyFile
	}
	if keyFile != "" {
		s, err := loadKey(keyFile)
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
	} else if home, err := os.UserHomeDir(); err == nil {
		for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			path := filepath.Join(home, ".ssh", name)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			s, err := loadKey(path)
			if err != nil {
				return nil, err
			}
			signers = append(signers, s)
		}
	}
	if len(signers) > 0 {
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signers...))
	}
	pw := ep.password
	if pw == "" {
		pw = t.Pass.Reveal()
	}
	if pw != "" {
		cfg.Auth = append(cfg.Auth, ssh.Password(pw))
	}
	if len(cfg.Auth) == 0 {
		return nil, errors.New("no SSH key (keyfile= in the URI, the driver's SSH key file, or ~/.ssh/id_ed25519, id_ecdsa, id_rsa) and no password")
	}
	if p.SSHInsecure {
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // explicitly asked for
		return cfg, nil
	}
	kh := p.SSHKnownHosts
	if kh == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("no known_hosts file configured and no home directory: %v", err)
		}
		kh = filepath.Join(home, ".ssh", "known_hosts")
	}
	cb, err := knownhosts.New(kh)
	if err != nil {
		return nil, fmt.Errorf("host keys: %v (add the host's key to it, or configure another known_hosts file)", err)
	}
	cfg.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		if err := cb(host, remote, key); err != nil {
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) && len(ke.Want) == 0 {
				err = fmt.Errorf("%s is not in %s (%s key %s)", host, kh, key.Type(), ssh.FingerprintSHA256(key))
			} else if errors.As(err, &ke) {
				err = fmt.Errorf("%s presented %s key %s, which does not match %s: %w", host, key.Type(), ssh.FingerprintSHA256(key), kh, err)
			}
			return &hostKeyError{err}
		}
		return nil
	}
	return cfg, nil
}

func loadKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("SSH key: %v", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return nil, fmt.Errorf("SSH key %s is protected by a passphrase, which the driver cannot enter", path)
		}
		return nil, fmt.Errorf("SSH key %s: %v", path, err)
	}
	return s, nil
}

// knownAlgorithms returns the host key algorithms known_hosts accepts for addr, or nil (any)
// when it knows none.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string, remote net.Addr) []string {
	err := cb(addr, remote, probeKey{})
	var hk *hostKeyError
	if !errors.As(err, &hk) {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(hk.err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// probeKey is a host key no known_hosts file holds, to learn which keys it holds.
type probeKey struct{}

func (probeKey) Type() string                        { return "drydock-probe" }
func (probeKey) Marshal() []byte                     { return []byte("drydock-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }
