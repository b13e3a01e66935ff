package ipmi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		refused bool
		says    string
	}{
		{"RAKP mismatch", fmt.Errorf("validate rakp2: %w", client.ErrRAKPAuthentication), true, "authentication failed"},
		{"RAKP mismatch in Connect's text", errors.New("connect20 failed after try all cipher suite ids ([3]), errs: \ncmd: rakp1 failed with cipher suite id (3), err: RAKP2 authentication code mismatch: RAKP authentication failed"), true, "authentication failed"},
		{"unauthorized name", types.NewRmcpStatusError(types.RmcpStatusCodeUnauthorizedName), true, "authentication refused"},
		{"unauthorized name in Connect's text", errors.New("connect20 failed, errs: \ncmd: rakp1 failed, err: RMCP+ status 0x0d: Unauthorized name"), true, "authentication refused"},
		{"no cipher suite match", types.NewRmcpStatusError(types.RmcpStatusCodeNoCipherSuiteMatch), true, "0x11"},
		{"no session slot", types.NewRmcpStatusError(types.RmcpStatusCodeNoResToCreateSess), false, "0x01"},
		{"no session slot in text", errors.New("connect20 failed, errs: \nOpen Session failed, err: RMCP+ status 0x01: no resources"), false, "0x01"},
		{"invalid data field", fmt.Errorf("SetSystemBootOptions failed, err: %w", types.NewResponseError(types.CodeRequestDataFieldInvalid, "invalid")), true, "0xcc"},
		{"insufficient privilege", types.NewResponseError(types.CodeInsufficientPrivilege, "priv"), true, "0xd4"},
		{"completion code in text", errors.New("SetSessionPrivilegeLevel failed, err: cc: 0xd4, description: insufficient privilege"), true, "0xd4"},
		{"node busy", types.NewResponseError(types.CodeNodeBusy, "busy"), false, "0xc0"},
		{"BMC initializing", types.NewResponseError(types.CodeCannotProvideResponseBMCInitialize, "init"), false, "0xd2"},
		{"undecodable answer", errors.New("unpack session setup response failed, err: unpacked data is too short (2/8)"), true, "could not be decoded"},
		{"timeout", fmt.Errorf("IPMI LAN: UDP read timed out: %w", &net.OpError{Op: "read", Net: "udp", Err: context.DeadlineExceeded}), false, "timed out"},
		{"deadline", fmt.Errorf("canceled from caller: %w", context.DeadlineExceeded), false, "deadline"},
		{"port unreachable", errors.New("IPMI LAN: UDP exchange error after 4 attempt(s): read: connection refused"), false, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := classify("ipmi thing to 10.0.0.1:623", tc.err)
			if got := errors.Is(err, oob.ErrRefused); got != tc.refused {
				t.Errorf("refused = %v, want %v: %v", got, tc.refused, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "ipmi thing to 10.0.0.1:623: ") || !strings.Contains(msg, tc.says) || strings.Contains(msg, "\n") {
				t.Errorf("message %q: want one line, what, and %q", msg, tc.says)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v does not wrap %v", err, tc.err)
			}
		})
	}
	if classify("x", nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

func TestTransport(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{context.Canceled, true},
		{fmt.Errorf("x: %w", &net.OpError{Op: "read", Err: errors.New("refused")}), true},
		{errors.New("GetFRU failed: IPMI LAN: no matching IPMI response before UDP read deadline"), true},
		{types.NewResponseError(types.CodeInvalidCommand, "invalid"), false},
		{errors.New("unknown FRU header version 0x02"), false},
	} {
		if got := transport(tc.err); got != tc.want {
			t.Errorf("transport(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestCipherSuite(t *testing.T) {
	for _, tc := range []struct {
		proto  Protocol
		param  string
		want   int
		wantOK bool
	}{
		{Protocol{}, "", 3, true},
		{Protocol{CipherSuite: 17}, "", 17, true},
		{Protocol{CipherSuite: 17}, "3", 3, true},
		{Protocol{}, " auto ", -1, true},
		{Protocol{}, "0", 0, true},
		{Protocol{}, "20", 0, false},
		{Protocol{}, "three", 0, false},
	} {
		tg := oob.Target{Params: map[string]string{}}
		if tc.param != "" {
			tg.Params["cipher_suite"] = tc.param
		}
		got, err := tc.proto.cipherSuite(tg)
		if (err == nil) != tc.wantOK || (err == nil && got != tc.want) {
			t.Errorf("%+v cipher_suite=%q: %d, %v; want %d, ok=%v", tc.proto, tc.param, got, err, tc.want, tc.wantOK)
		}
	}
}
