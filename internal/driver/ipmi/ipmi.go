// Package ipmi is the out-of-band driver for BMCs that speak IPMI v2.0 over the LAN ("lanplus":
// RMCP+ on UDP, port 623 unless oob_parameters port says otherwise). It implements oob.Protocol
// and oob.Session with the pure-Go client github.com/bougou/go-ipmi (pkg/client); oob.New turns
// it into the driver.OOBDriver (verified power changes, retries, one operation per BMC).
//
// A session logs in with the node's oob_parameters account and password (administrator
// privilege) using RMCP+ cipher suite 3 (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128), or the
// suite in Protocol.CipherSuite, or the node's oob_parameters cipher_suite ("auto" lets the
// client negotiate, which costs seconds against BMCs without Get Channel Cipher Suites, such
// as OpenIPMI's ipmi_sim). Then:
//
//   - PowerState is Get Chassis Status;
//   - SetPower is Chassis Control power up / power down (hard);
//   - SetNextBoot is Set System Boot Options, parameter 5 (boot flags) alone with the valid bit
//     and "next boot only", device PXE or hard drive; the BIOS boot type is legacy unless the
//     node's oob_parameters boot_mode is "uefi". (go-ipmi's SetBootParamBootFlags also writes
//     "set in progress", which some BMCs, ipmi_sim among them, refuse.)
//   - Inventory is Get Device ID (firmware, manufacturer and product ids), Get Chassis Status
//     (power, restore policy, last power event, faults), the FRU inventory of device 0 (board,
//     product and chassis manufacturer, name, serial and part numbers) and the next boot device
//     when the BMC reports valid boot flags; a BMC without FRU or boot flags gives what it has.
//   - Close closes the session (errors ignored).
//
// Errors are classified for the oob framework. Refused (wrapped with oob.Refused, so the node
// fails at once): a failed login (RAKP authentication code mismatch; an RMCP+ status such as
// unauthorized name or role), a completion code other than node busy (0xC0), timeout (0xC3),
// cannot provide a response (0xCE) and BMC initializing (0xD2), an answer go-ipmi cannot decode
// (e.g. ipmi_sim's answer to cipher suite 17), and a bad cipher_suite or boot_mode parameter.
// Transient (a plain error, retried by the framework): no answer, a timeout, ICMP port
// unreachable, a cancelled context, those four completion codes, and the RMCP+ status "no
// resources to create a session". Messages are one line naming the request, the BMC address
// and the user, never the password.
//
// The tests run against OpenIPMI's ipmi_sim (scripts/ipmi-sim; skipped when it is not
// installed unless DRYDOCK_REQUIRE_IPMI=1) and against the in-process BMC of package ipmisim.
package ipmi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/chassis"
	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

// Defaults.
const (
	DefaultPort        = 623
	DefaultCipherSuite = 3
	DefaultTimeout     = time.Second
	// sends is how many times one request is sent when no answer comes (go-ipmi retries on
	// read timeouts only).
	sends = 4
)

// Protocol is the IPMI oob.Protocol.
type Protocol struct {
	// CipherSuite is the RMCP+ cipher suite to log in with (0: DefaultCipherSuite, 3). A node's
	// oob_parameters cipher_suite (a number, or "auto") overrides it.
	CipherSuite int
	// Timeout is how long to wait for each answer before sending the request again (0:
	// DefaultTimeout, 1s, like ipmitool); a request is sent up to 4 times and its context
	// bounds the whole exchange.
	Timeout time.Duration
}

var _ oob.Protocol = (*Protocol)(nil)

// Type is "ipmi".
func (p *Protocol) Type() string { return "ipmi" }

func (p *Protocol) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// cipherSuite is the suite to ask for, -1 for negotiation.
func (p *Protocol) cipherSuite(t oob.Target) (int, error) {
	if v, ok := t.Params["cipher_suite"]; ok && strings.TrimSpace(v) != "" {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, "auto") {
			return -1, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 19 {
			return 0, fmt.Errorf("oob_parameters cipher_suite %q is not an RMCP+ cipher suite (0-19 or auto)", v)
		}
		return n, nil
	}
	if p.CipherSuite > 0 {
		return p.CipherSuite, nil
	}
	return DefaultCipherSuite, nil
}

// Open logs in to the node's BMC.
func (p *Protocol) Open(ctx context.Context, t oob.Target) (oob.Session, error) {
	addr := t.Addr(DefaultPort)
	suite, err := p.cipherSuite(t)
	if err != nil {
		return nil, oob.Refused(fmt.Errorf("ipmi: %w", err))
	}
	efi, err := bootMode(t)
	if err != nil {
		return nil, oob.Refused(fmt.Errorf("ipmi: %w", err))
	}
	port := t.Port
	if port == 0 {
		port = DefaultPort
	}
	suiteName := "negotiated"
	if suite >= 0 {
		suiteName = strconv.Itoa(suite)
	}
	what := fmt.Sprintf("ipmi login to %s as %q (lanplus, cipher suite %s)", addr, t.User, suiteName)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	c, err := client.NewClient(t.Host, port, t.User, t.Pass.Reveal())
	if err != nil { // the user name is too long
		return nil, oob.Refused(fmt.Errorf("%s: %v", what, err))
	}
	c.WithTimeout(p.timeout()).WithRetry(sends - 1).WithMaxPrivilegeLevel(types.PrivilegeLevelAdministrator)
	if suite >= 0 {
		c.WithCipherSuiteID(types.CipherSuiteID(suite))
	}
	if err := c.Connect(ctx); err != nil {
		// Close what Connect opened (a half-open session, the socket) without making the
		// caller wait for the BMC.
		go func() {
			cctx, cancel := context.WithTimeout(context.Background(), p.timeout())
			defer cancel()
			_ = c.Close(cctx)
		}()
		return nil, classify(what, err)
	}
	return &session{c: c, addr: addr, efi: efi, closeTimeout: 2 * p.timeout()}, nil
}

// bootMode reads oob_parameters boot_mode: true for UEFI.
func bootMode(t oob.Target) (bool, error) {
	switch m := strings.ToLower(strings.TrimSpace(t.Params["boot_mode"])); m {
	case "", "bios", "legacy":
		return false, nil
	case "uefi", "efi":
		return true, nil
	default:
		return false, fmt.Errorf("oob_parameters boot_mode %q is not bios or uefi", m)
	}
}

// session is one logged-in RMCP+ session.
type session struct {
	c            *client.Client
	addr         string
	efi          bool
	closeTimeout time.Duration
	once         sync.Once
}

var _ oob.Session = (*session)(nil)

func (s *session) PowerState(ctx context.Context) (string, error) {
	st, err := s.c.GetChassisStatus(ctx)
	if err != nil {
		return "", classify("ipmi Get Chassis Status from "+s.addr, err)
	}
	if st.PowerIsOn {
		return oob.On, nil
	}
	return oob.Off, nil
}

func (s *session) SetPower(ctx context.Context, on bool) error {
	ctl, name := chassis.ChassisControlPowerDown, "power down"
	if on {
		ctl, name = chassis.ChassisControlPowerUp, "power up"
	}
	if _, err := s.c.ChassisControl(ctx, ctl); err != nil {
		return classify(fmt.Sprintf("ipmi Chassis Control (%s) to %s", name, s.addr), err)
	}
	return nil
}

func (s *session) SetNextBoot(ctx context.Context, dev driver.BootDevice) error {
	var sel types.BootDeviceSelector
	switch dev {
	case driver.BootPXE:
		sel = types.BootDeviceSelectorForcePXE
	case driver.BootDisk:
		sel = types.BootDeviceSelectorForceHardDrive
	default:
		return oob.Refused(fmt.Errorf("ipmi: boot device %q is not supported (pxe or disk)", dev))
	}
	bt := types.BIOSBootTypeLegacy
	if s.efi {
		bt = types.BIOSBootTypeEFI
	}
	if err := s.c.SetBootDevice(ctx, sel, bt, false); err != nil {
		return classify(fmt.Sprintf("ipmi Set System Boot Options (boot flags: %s, next boot only) to %s", dev, s.addr), err)
	}
	return nil
}

func (s *session) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.closeTimeout)
		defer cancel()
		_ = s.c.Close(ctx)
	})
	return nil
}

// ipmiError is an error with a one-line message of our own over the library's error.
type ipmiError struct {
	msg string
	err error
}

func (e *ipmiError) Error() string { return e.msg }
func (e *ipmiError) Unwrap() error { return e.err }

// transientCodes are the completion codes that say "try again later".
var transientCodes = map[types.CompletionCode]bool{
	types.CodeNodeBusy:                           true,
	types.CodeProcessTimeout:                     true,
	types.CodeCannotProvideResponse:              true,
	types.CodeCannotProvideResponseBMCInitialize: true,
}

// classify wraps a go-ipmi error: refusals by the BMC wrap oob.ErrRefused, the rest is
// transient. go-ipmi formats the per-cipher-suite errors of Connect with %v, which breaks the
// error chain, so the codes are also recognised in the message.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	text := oneLine(err.Error())
	e := &ipmiError{msg: what + ": " + text, err: err}
	var rs *types.RmcpStatusError
	var re *types.ResponseError
	status, cc := -1, -1
	switch {
	case errors.Is(err, client.ErrRAKPAuthentication) || strings.Contains(text, client.ErrRAKPAuthentication.Error()):
		e.msg = what + ": authentication failed (wrong user name or password?): " + text
		return oob.Refused(e)
	case errors.Is(err, types.ErrUnpackedDataTooShort) || strings.Contains(text, types.ErrUnpackedDataTooShort.Error()):
		e.msg = what + ": the BMC's answer could not be decoded: " + text
		return oob.Refused(e)
	case errors.As(err, &rs):
		status = int(rs.StatusCode())
	case errors.As(err, &re):
		cc = int(re.CompletionCode())
	default:
		if m := rmcpStatusRe.FindStringSubmatch(text); m != nil {
			status = parseByte(m[1])
		} else if m := completionCodeRe.FindStringSubmatch(text); m != nil {
			cc = parseByte(m[1])
		}
	}
	switch {
	case status >= 0:
		switch types.RmcpStatusCode(status) {
		case types.RmcpStatusCodeNoResToCreateSess, types.RmcpStatusCodeNoResToCreateSessAtRole:
			return e
		case types.RmcpStatusCodeUnauthorizedName, types.RmcpStatusCodeInvalidRole,
			types.RmcpStatusCodeUnauthorizedRoleOfPriLevel, types.RmcpStatusCodeInvalidIntegrityCheckValue,
			types.RmcpStatusCodeInvalidNameLength, types.RmcpStatusCodeUnauthorizedGUID:
			e.msg = what + ": authentication refused by the BMC: " + text
		}
		return oob.Refused(e)
	case cc >= 0:
		if transientCodes[types.CompletionCode(cc)] {
			return e
		}
		return oob.Refused(e)
	}
	return e
}

// rmcpStatusRe and completionCodeRe find the codes in go-ipmi's messages ("RMCP+ status 0x0d:
// ..." from types.RmcpStatusError, "cc: 0xcc, description: ..." from types.ResponseError).
var (
	rmcpStatusRe     = regexp.MustCompile(`RMCP\+ status (0x[0-9a-fA-F]{1,2})\b`)
	completionCodeRe = regexp.MustCompile(`\bcc: (0x[0-9a-fA-F]{1,2}), description`)
)

func parseByte(s string) int {
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return -1
	}
	return int(n)
}

// transport reports whether err is a failure to exchange datagrams (no answer, ICMP errors, a
// cancelled or expired context), as opposed to an answer that was refused or undecodable.
func transport(err error) bool {
	var ne net.Error
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) || strings.Contains(err.Error(), "IPMI LAN: ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
