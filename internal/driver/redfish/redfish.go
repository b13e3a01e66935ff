// Package redfish is the Redfish out-of-band protocol: an oob.Protocol (oob.type "redfish")
// over gofish, so oob.New(&redfish.Protocol{...}, cfg) is the node's OOB driver with the shared
// behaviour of package oob (verified power changes, retries, one operation per BMC).
//
// What it does on the wire (DSP0266; see shared/reference/redfish.md):
//
//   - Open reads the service root, logs in (a session by default: POST to the sessions
//     collection, X-Auth-Token afterwards; or HTTP Basic) and resolves the node's system once:
//     the only member of the Systems collection, or, when there are several, the one whose Id
//     is oob_parameters.system_id, else the one with an EthernetInterface whose MAC is the
//     node's boot MAC. A system_id that is set must match, even when the BMC has one system.
//   - PowerState reads the system's PowerState. A transition reports the state it has not yet
//     reached: PoweringOn is "off" and PoweringOff is "on", so verification keeps waiting;
//     Paused is "on"; anything else (Reset, Unknown, null) is a transient error, re-read later.
//   - SetPower posts ComputerSystem.Reset with a ResetType the system advertises (the action's
//     ResetType@Redfish.AllowableValues, else its @Redfish.ActionInfo; when it advertises
//     nothing, On and ForceOff are assumed): on = On, else ForceOn, else PushPowerButton; off =
//     ForceOff only — a graceful shutdown depends on the operating system and a power button
//     press may toggle the wrong way, so a BMC without ForceOff is refused with the values it
//     offers. When the system already is (or is heading to) the wanted state nothing is posted,
//     which keeps a retried request from toggling. 200, 201, 202 and 204 are success.
//   - SetNextBoot PATCHes Boot {BootSourceOverrideEnabled: Once, BootSourceOverrideTarget: Pxe
//     (pxe) or Hdd (disk)} (plus BootSourceOverrideMode when oob_parameters.boot_mode is set)
//     with If-Match set to the system's ETag; a 412 or 428 re-reads the system and tries once
//     more. A target the system does not list in BootSourceOverrideTarget@Redfish.AllowableValues
//     is refused naming the values it allows. When the system refuses the PATCH and advertises a
//     @Redfish.Settings object, the PATCH goes there (iDRAC10). The setting is then read back
//     and must show Once and the target.
//   - Inventory reads the system (manufacturer, model, serial, BIOS version, summaries) and its
//     Processors, Memory, EthernetInterfaces and Storage drives (SimpleStorage devices when
//     there is no Storage), skipping members whose Status.State is Absent: "processors"
//     (count of present CPUs, model), "memory" (total_gib from MemorySummary, else the sum of
//     the modules), "nics" and "macs" (physical interfaces, permanent MAC preferred),
//     "storage" (drives, total_bytes). A part the BMC refuses (404, malformed) is listed
//     under "problems" and the rest still reported.
//   - Close deletes the session (logout); errors are ignored.
//
// Errors the BMC answered with (4xx other than 408/409/425/429, bad credentials, a value it
// does not allow, a reply that is not JSON, an untrusted TLS certificate) wrap oob.ErrRefused;
// connection errors, timeouts and 5xx are transient and retried by package oob. Every request
// is bounded by the caller's context (and by Protocol.Timeout when set). No message carries
// the password.
package redfish

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stmcginnis/gofish"

	"github.com/drydock-go/drydock/internal/driver/oob"
	"github.com/drydock-go/drydock/internal/tlsconf"
)

// Protocol opens Redfish sessions. Build it with New for the defaults (HTTPS, session
// authentication). The zero value speaks plain HTTP with Basic authentication.
//
// Per node, oob_parameters may override: use_ssl (true/false), insecure (true/false), ca_file
// (a PEM bundle), auth (session/basic), system_id (which system of a multi-system BMC) and
// boot_mode (UEFI/Legacy, sent with the boot override).
type Protocol struct {
	// UseTLS selects https (default port 443) rather than http (port 80).
	UseTLS bool
	// CAFile is a PEM bundle of the CAs that sign the BMCs' certificates; empty: the system pool.
	CAFile string
	// Insecure skips certificate verification.
	Insecure bool
	// Session selects session authentication (X-Auth-Token, logged out on Close) rather than
	// HTTP Basic on every request.
	Session bool
	// Timeout bounds each HTTP request in addition to the caller's context (0: none).
	Timeout time.Duration
	// HTTPClient, when set, is used as is (tests): UseTLS still picks the scheme, but CAFile,
	// Insecure and Timeout are the client's business.
	HTTPClient *http.Client
}

// New returns a Protocol with the defaults: HTTPS with the system's CAs, session authentication.
func New() *Protocol { return &Protocol{UseTLS: true, Session: true} }

var _ oob.Protocol = Protocol{}

// Type is "redfish".
func (Protocol) Type() string { return "redfish" }

// logoutTimeout bounds the logout of Close (which has no context).
const logoutTimeout = 5 * time.Second

// settings are the effective connection settings for one node.
type settings struct {
	tls      bool
	insecure bool
	caFile   string
	session  bool
	systemID string
	bootMode string
}

func (p Protocol) settings(t oob.Target) (settings, error) {
	s := settings{tls: p.UseTLS, insecure: p.Insecure, caFile: p.CAFile, session: p.Session}
	boolParam := func(key string, dst *bool) error {
		v, ok := t.Params[key]
		if !ok || strings.TrimSpace(v) == "" {
			return nil
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("oob_parameters.%s %q is not true or false", key, v)
		}
		*dst = b
		return nil
	}
	if err := boolParam("use_ssl", &s.tls); err != nil {
		return s, err
	}
	if err := boolParam("insecure", &s.insecure); err != nil {
		return s, err
	}
	if v := strings.TrimSpace(t.Params["ca_file"]); v != "" {
		s.caFile = v
	}
	switch a := strings.ToLower(strings.TrimSpace(t.Params["auth"])); a {
	case "":
	case "session":
		s.session = true
	case "basic":
		s.session = false
	default:
		return s, fmt.Errorf("oob_parameters.auth %q is neither session nor basic", t.Params["auth"])
	}
	s.systemID = strings.TrimSpace(t.Params["system_id"])
	switch m := strings.TrimSpace(t.Params["boot_mode"]); strings.ToLower(m) {
	case "":
	case "uefi":
		s.bootMode = "UEFI"
	case "legacy", "bios":
		s.bootMode = "Legacy"
	default:
		return s, fmt.Errorf("oob_parameters.boot_mode %q is neither UEFI nor Legacy", m)
	}
	return s, nil
}

// httpClient builds the HTTP client for one session: TLS verified against the CA bundle (or
// the system pool) unless insecure; no proxy (BMC networks are reached directly).
func (p Protocol) httpClient(s settings) (*http.Client, error) {
	if p.HTTPClient != nil {
		return p.HTTPClient, nil
	}
	tc, err := tlsconf.Client(s.caFile, s.insecure)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   15 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, Timeout: p.Timeout}, nil
}

// Open connects, logs in and resolves the node's system.
func (p Protocol) Open(ctx context.Context, t oob.Target) (oob.Session, error) {
	st, err := p.settings(t)
	if err != nil {
		return nil, oob.Refused(err)
	}
	scheme, port := "http", 80
	if st.tls {
		scheme, port = "https", 443
	}
	endpoint := scheme + "://" + t.Addr(port)
	hc, err := p.httpClient(st)
	if err != nil {
		return nil, oob.Refused(err)
	}
	s := &session{t: t, st: st, endpoint: endpoint, hc: hc, pass: t.Pass.Reveal()}
	c, err := gofish.ConnectContext(ctx, gofish.ClientConfig{
		Endpoint:          endpoint,
		Username:          t.User,
		Password:          t.Pass.Reveal(),
		HTTPClient:        hc,
		NoModifyTransport: true,
		ReuseConnections:  true,
		BasicAuth:         !st.session,
	})
	if err != nil {
		s.closeIdle()
		return nil, s.classify(err, s.loginWhat())
	}
	s.client = c
	if st.session {
		if gs, err := c.GetSession(); err == nil && gs.Token == "" {
			s.logout(ctx)
			return nil, oob.Refused(s.errorf("%s: the BMC created a session but sent no X-Auth-Token", s.loginWhat()))
		}
	}
	if err := s.resolveSystem(ctx); err != nil {
		s.logout(ctx)
		return nil, err
	}
	return s, nil
}

func (s *session) loginWhat() string {
	if s.st.session {
		return fmt.Sprintf("logging in to %s as %q (session)", s.endpoint, s.t.User)
	}
	return fmt.Sprintf("connecting to %s as %q (basic auth)", s.endpoint, s.t.User)
}

// session is an open Redfish session to one BMC, with the node's system resolved.
type session struct {
	t        oob.Target
	st       settings
	endpoint string
	hc       *http.Client
	client   *gofish.APIClient
	pass     string
	sysURI   string // the system's @odata.id
	sysID    string
}

// c is the client bound to ctx: every request it makes ends when ctx does.
func (s *session) c(ctx context.Context) *gofish.APIClient { return s.client.WithContext(ctx) }

// Close logs out (session auth) and drops idle connections; errors are ignored.
func (s *session) Close() error {
	if s.client != nil {
		s.logout(context.Background())
		s.client = nil
	}
	return nil
}

// logout deletes the session, within a short bound of its own so that a session opened under
// a context that has since ended is still logged out (a BMC has few session slots); when ctx
// has ended (the BMC is slow or hung) the bound is one second.
func (s *session) logout(ctx context.Context) {
	if s.client == nil {
		return
	}
	if s.st.session {
		d := logoutTimeout
		if ctx.Err() != nil {
			d = time.Second
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
		defer cancel()
		s.client.WithContext(lctx).Logout()
	}
	s.closeIdle()
}

func (s *session) closeIdle() {
	if s.hc != nil {
		s.hc.CloseIdleConnections()
	}
}

// errorf formats an error message without the password.
func (s *session) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if len(s.pass) >= 3 {
		msg = strings.ReplaceAll(msg, s.pass, "xxxxx")
	}
	return errors.New(msg)
}
