package redfishsim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a simulated Redfish service. The zero value is usable: one
// system "1", user admin / password "password", instant power changes, Basic
// and session authentication both accepted.
type Config struct {
	// Systems is the number of systems when IDs is empty (default 1); their ids
	// are "1".."N".
	Systems int
	// IDs are explicit system ids (URI segments, e.g. "System.Embedded.1").
	// When set, Systems is ignored.
	IDs []string
	// MACs sets the MAC address of a system's first physical NIC
	// (EthernetInterfaces/12446A3B0411, MACAddress and PermanentMACAddress),
	// keyed by system id. Systems without an entry get a generated, unique
	// 52:54:00:AA:xx:xx address.
	MACs map[string]string
	// Machines backs systems with the caller's machines, keyed by system id
	// (see Machine). Systems without an entry keep their state in memory.
	Machines map[string]Machine

	// User and Password are the only valid credentials (default "admin" and
	// "password").
	User, Password string
	// RequireSession refuses HTTP Basic authentication: only X-Auth-Token
	// sessions are accepted (like iDRAC10). By default Basic is allowed.
	RequireSession bool
	// SessionTimeout is the idle timeout of a session (default 30 minutes;
	// advertised as SessionService.SessionTimeout).
	SessionTimeout time.Duration
	// MaxSessions limits the number of open sessions (0: no limit); a login
	// beyond it is refused with 503 SessionLimitExceeded.
	MaxSessions int

	// PowerDelay is how long a Reset takes to change PowerState. During the
	// delay PowerState reads PoweringOn / PoweringOff; a restart takes two
	// delays (off, then on). 0 applies the change before the Reset is answered.
	PowerDelay time.Duration
	// ResetTypes overrides the advertised (and accepted)
	// ResetType@Redfish.AllowableValues. Default: the mockup's On, ForceOff,
	// GracefulShutdown, GracefulRestart, ForceRestart, Nmi, ForceOn,
	// PushPowerButton.
	ResetTypes []string
	// BootTargets overrides the advertised (and accepted)
	// BootSourceOverrideTarget@Redfish.AllowableValues. Default: the mockup's
	// None, Pxe, Cd, Usb, Hdd, BiosSetup, Utilities, Diags, SDCard, UefiTarget.
	BootTargets []string
	// ResetStatus is the status of a successful Reset: 204 (default) or 200
	// (with a Success message body).
	ResetStatus int
	// PatchStatus is the status of a successful PATCH: 200 with the updated
	// resource (default; the original Drydock client needs it) or 204.
	PatchStatus int
	// AlreadyInStateConflict answers On/ForceOn while On and
	// ForceOff/GracefulShutdown while Off with 409 (iDRAC's PSU501/PSU502)
	// instead of a successful no-op.
	AlreadyInStateConflict bool
	// RequireIfMatch answers a PATCH without If-Match with 428.
	RequireIfMatch bool

	// Logf, when set, receives one line per request.
	Logf func(format string, args ...any)
}

// Validate reports a configuration New would reject.
func (c Config) Validate() error {
	if c.Systems < 0 {
		return fmt.Errorf("redfishsim: Systems = %d", c.Systems)
	}
	seen := map[string]bool{}
	for _, id := range c.IDs {
		if id == "" || strings.ContainsAny(id, "/?#% ") {
			return fmt.Errorf("redfishsim: invalid system id %q", id)
		}
		if seen[id] {
			return fmt.Errorf("redfishsim: duplicate system id %q", id)
		}
		seen[id] = true
	}
	macs := map[string]string{}
	for id, m := range c.MACs {
		hw, err := net.ParseMAC(m)
		if err != nil || len(hw) != 6 {
			return fmt.Errorf("redfishsim: system %s: invalid MAC %q", id, m)
		}
		n := strings.ToUpper(hw.String())
		if other, ok := macs[n]; ok {
			return fmt.Errorf("redfishsim: systems %s and %s have the same MAC %s", other, id, n)
		}
		macs[n] = id
	}
	for _, s := range []int{c.ResetStatus, c.PatchStatus} {
		if s != 0 && s != http.StatusOK && s != http.StatusNoContent {
			return fmt.Errorf("redfishsim: success status %d (want 200 or 204)", s)
		}
	}
	return nil
}

// Faults are injected failures. The zero value injects nothing. Request
// faults (all but StuckPower) apply to every request in scope: all requests for
// Server.SetFaults, requests under /redfish/v1/Systems/<id> for
// System.SetFaults.
type Faults struct {
	// Slow delays every answer by this long (or until the request ends).
	Slow time.Duration
	// Fail5xx answers every request with this status (500: InternalError,
	// 503: ServiceTemporarilyUnavailable with Retry-After: 1).
	Fail5xx int
	// Hang never answers: the handler blocks until the request's context ends
	// (client timeout or disconnect) or the server closes.
	Hang bool
	// Drop closes the connection without an answer.
	Drop bool
	// Malformed truncates JSON bodies so they do not parse.
	Malformed bool
	// FailAuth refuses every credential with 401 (the login too).
	FailAuth bool
	// StuckPower accepts Resets (recording them) but never changes PowerState.
	StuckPower bool
	// Count, when > 0, limits the request faults to the next Count requests
	// in scope; then they clear by themselves (StuckPower stays).
	Count int
}

func (f Faults) requestFaults() bool {
	return f.Slow > 0 || f.Fail5xx != 0 || f.Hang || f.Drop || f.Malformed || f.FailAuth
}

// Server is a simulated Redfish service.
type Server struct {
	cfg   Config
	tree  map[string][]byte // static resources by normalised URI
	posts map[string]bool   // static action targets answered 204
	order []string          // system ids in order
	sys   map[string]*System

	mu       sync.Mutex
	faults   Faults
	sessions map[string]*session // by token
	nextSess int
	certPEM  []byte
	tlsCert  *tls.Certificate
	closed   chan struct{}
	closeMu  sync.Once
}

// New builds a service from cfg. It panics if cfg.Validate fails.
func New(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.User == "" && cfg.Password == "" {
		cfg.User, cfg.Password = "admin", "password"
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 30 * time.Minute
	}
	if cfg.ResetStatus == 0 {
		cfg.ResetStatus = http.StatusNoContent
	}
	if cfg.PatchStatus == 0 {
		cfg.PatchStatus = http.StatusOK
	}
	if len(cfg.IDs) == 0 {
		n := cfg.Systems
		if n == 0 {
			n = 1
		}
		for i := 1; i <= n; i++ {
			cfg.IDs = append(cfg.IDs, strconv.Itoa(i))
		}
	}
	s := &Server{
		cfg:      cfg,
		sys:      map[string]*System{},
		sessions: map[string]*session{},
		closed:   make(chan struct{}),
	}
	if err := s.build(); err != nil {
		panic(fmt.Sprintf("redfishsim: embedded mockup: %v", err))
	}
	return s
}

// SystemIDs returns the system ids in collection order.
func (s *Server) SystemIDs() []string { return append([]string(nil), s.order...) }

// System returns the system with that id, or nil.
func (s *Server) System(id string) *System { return s.sys[id] }

// SystemByMAC returns the system one of whose physical NICs has that MAC
// (any notation net.ParseMAC accepts), or nil.
func (s *Server) SystemByMAC(mac string) *System {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil
	}
	want := strings.ToUpper(hw.String())
	for _, id := range s.order {
		for _, m := range s.sys[id].macs {
			if m == want {
				return s.sys[id]
			}
		}
	}
	return nil
}

// SetFaults replaces the global faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the global faults.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Sessions returns the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireSessionsLocked(time.Now())
	return len(s.sessions)
}

// Handler returns the service's HTTP handler (serve it over TLS or plain HTTP,
// e.g. with httptest.NewTLSServer).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Close stops pending power transitions and releases hanging requests. The
// listeners of Start are closed by the function Start returned.
func (s *Server) Close() {
	s.closeMu.Do(func() { close(s.closed) })
	for _, sys := range s.sys {
		sys.mu.Lock()
		sys.cancelLocked()
		sys.mu.Unlock()
	}
}

// Start serves the handler on addr ("127.0.0.1:0" for a free port), over
// HTTPS with a self-signed certificate when useTLS (see CertPEM), and returns
// the base URL (e.g. https://127.0.0.1:40123) and a function that stops the
// listener and the server (Close). HTTP/2 is not offered, like most BMCs.
func (s *Server) Start(addr string, useTLS bool) (url string, closeFn func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	scheme := "http"
	if useTLS {
		cert, err := s.certificate(addr)
		if err != nil {
			ln.Close()
			return "", nil, err
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	go func() { _ = srv.Serve(ln) }()
	url = scheme + "://" + net.JoinHostPort(host, port)
	var once sync.Once
	closeFn = func() {
		once.Do(func() {
			s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
		})
	}
	return url, closeFn, nil
}

// CertPEM returns the PEM of the self-signed certificate Start serves with
// TLS (a CA certificate for 127.0.0.1, ::1, localhost and the listen host), or
// nil before such a Start. Clients trust it as their only root.
func (s *Server) CertPEM() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.certPEM...)
}

// Client returns an HTTP client that trusts CertPEM (if any), with a 30 s
// timeout.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if pemBytes := s.CertPEM(); pemBytes != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemBytes)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func (s *Server) certificate(addr string) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsCert != nil {
		return s.tlsCert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "redfishsim", Organization: []string{"drydock redfishsim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h, _, err := net.SplitHostPort(addr); err == nil && h != "" {
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() && !ip.IsLoopback() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	s.certPEM, s.tlsCert = certPEM, &cert
	return &cert, nil
}
