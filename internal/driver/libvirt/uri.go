package libvirt

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Default ports and sockets.
const (
	DefaultSocket  = "/run/libvirt/libvirt-sock"
	DefaultTCPPort = "16509"
	DefaultSSHPort = "22"
)

// endpoint is a parsed libvirt URI: how to reach libvirtd and what to ask it to open.
type endpoint struct {
	uri       string // as written in the design (for messages)
	transport string // unix, tcp or ssh
	host      string // tcp, ssh
	port      string // tcp, ssh
	user      string // ssh: the URI's user; empty for the default
	password  string // ssh: the URI's password, if it has one (discouraged)
	socket    string // unix: the local socket; ssh: the remote socket
	keyFile   string // ssh: keyfile=
	// remote is the URI libvirtd opens once connected (e.g. qemu:///system).
	remote string
}

// addr is host:port for tcp and ssh.
func (e endpoint) addr() string { return net.JoinHostPort(e.host, e.port) }

// String is the URI without its password, for messages.
func (e endpoint) String() string { return e.uri }

// parseURI reads a libvirt connection URI. It accepts qemu:///system (or another path, and
// another hypervisor driver name), DRIVER+unix:///…, DRIVER+tcp://host[:port]/…,
// DRIVER+ssh://[user@]host[:port]/…, and the parameters socket, keyfile (ssh), name (the
// URI libvirtd opens) and mode (auto or legacy, ignored). no_verify is refused unless 0:
// host key checking is turned off by the driver's configuration (Protocol.SSHInsecure),
// not by a design. Other parameters, TLS (qemu://host/) and libssh are refused.
func parseURI(raw string) (endpoint, error) {
	e := endpoint{uri: raw}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return e, fmt.Errorf("no libvirt_uri in oob_parameters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The url.Error repeats the URI, which may hold a password: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		e.uri = "(unparsable)"
		return e, fmt.Errorf("libvirt_uri is not a valid URI: %v", err)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			e.uri = scrubURI(raw)
		}
	}
	bad := func(format string, args ...any) (endpoint, error) {
		return e, fmt.Errorf("libvirt_uri %q: %s", e.uri, fmt.Sprintf(format, args...))
	}
	if u.Opaque != "" || u.Scheme == "" {
		return bad("not a libvirt URI (want e.g. qemu:///system, qemu+tcp://host/system or qemu+ssh://user@host/system)")
	}
	driverName, transport, _ := strings.Cut(strings.ToLower(u.Scheme), "+")
	if driverName == "" {
		return bad("no hypervisor driver in the scheme")
	}
	switch transport {
	case "":
		if u.Host != "" {
			return bad("TLS transport (a host without +tcp or +ssh) is not supported; use qemu+ssh://")
		}
		transport = "unix"
	case "unix":
		if u.Host != "" {
			return bad("the unix transport takes no host")
		}
	case "tcp", "ssh":
		if u.Hostname() == "" {
			return bad("the %s transport needs a host", transport)
		}
	default:
		return bad("transport %q is not supported (unix, tcp or ssh)", transport)
	}
	e.transport = transport
	if u.Path == "" || u.Path == "/" {
		return bad("no path: say which libvirtd instance to open, e.g. /system")
	}
	q := u.Query()
	for k, vs := range q {
		v := ""
		if len(vs) > 0 {
			v = vs[len(vs)-1]
		}
		switch k {
		case "socket":
			if transport == "tcp" {
				return bad("socket= does not apply to the tcp transport")
			}
			if !strings.HasPrefix(v, "/") {
				return bad("socket= must be an absolute path")
			}
		case "keyfile":
			if transport != "ssh" {
				return bad("keyfile= applies only to the ssh transport")
			}
		case "no_verify":
			if v != "0" {
				return bad("no_verify is refused: host key checking can only be turned off in the driver's configuration")
			}
		case "name":
			if v == "" {
				return bad("name= is empty")
			}
		case "mode":
			if m := strings.ToLower(v); m != "auto" && m != "legacy" {
				return bad("mode=%s is not supported (auto or legacy)", v)
			}
		default:
			return bad("parameter %q is not supported (socket, keyfile, name, mode)", k)
		}
	}
	e.socket = q.Get("socket")
	e.keyFile = q.Get("keyfile")
	switch transport {
	case "unix":
		if e.socket == "" {
			e.socket = DefaultSocket
			if u.Path == "/session" {
				if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
					e.socket = filepath.Join(d, "libvirt", "libvirt-sock")
				}
			}
		}
	case "tcp":
		e.host, e.port = u.Hostname(), u.Port()
		if e.port == "" {
			e.port = DefaultTCPPort
		}
	case "ssh":
		e.host, e.port = u.Hostname(), u.Port()
		if e.port == "" {
			e.port = DefaultSSHPort
		}
		if u.User != nil {
			e.user = u.User.Username()
			e.password, _ = u.User.Password()
		}
		if e.socket == "" {
			e.socket = DefaultSocket
		}
	}
	e.remote = (&url.URL{Scheme: driverName, Path: u.Path}).String()
	if n := q.Get("name"); n != "" {
		e.remote = n
	}
	return e, nil
}

// scrubURI hides a password in a URI.
func scrubURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	return u.String()
}
