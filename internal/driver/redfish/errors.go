package redfish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/stmcginnis/gofish/schemas"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

// errMalformed marks a reply that is not the JSON the request expects.
var errMalformed = errors.New("malformed reply")

// classify turns an error of a request into one that names what was being done and the cause,
// wrapped as a refusal when the BMC answered and retrying will not help:
//
//   - an HTTP error status: 401/403 (credentials, privileges) and other 4xx are refusals,
//     except 408, 409 (ResourceInUse: in transition), 425 and 429, which like 5xx are transient;
//   - an untrusted or invalid TLS certificate, or a port that does not speak TLS: refusal (the
//     configuration must change: ca_file, insecure or use_ssl);
//   - a reply that is not JSON (errMalformed, a JSON syntax or type error): refusal; a reply
//     that ends early (io.ErrUnexpectedEOF) is transient;
//   - anything else (connection refused or reset, timeouts, the context ending): transient.
func (s *session) classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, oob.ErrRefused) {
		return err
	}
	var rfErr *schemas.Error
	if errors.As(err, &rfErr) && rfErr.HTTPReturnedStatusCode != 0 {
		code := rfErr.HTTPReturnedStatusCode
		desc := describeHTTPError(rfErr)
		switch {
		case code == http.StatusUnauthorized:
			return oob.Refused(s.errorf("%s: the BMC rejected the credentials of user %q (%s)", what, s.t.User, desc))
		case code == http.StatusForbidden:
			return oob.Refused(s.errorf("%s: user %q lacks the privilege (%s)", what, s.t.User, desc))
		case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooEarly,
			code == http.StatusTooManyRequests, code >= 500:
			return s.errorf("%s: %s", what, desc)
		case code >= 400:
			return oob.Refused(s.errorf("%s: %s", what, desc))
		}
		return s.errorf("%s: %s", what, desc)
	}
	if msg, ok := tlsProblem(err); ok {
		return oob.Refused(s.errorf("%s: %s", what, msg))
	}
	if errors.Is(err, errMalformed) {
		return oob.Refused(s.errorf("%s: %v", what, err))
	}
	var (
		synErr  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	if errors.As(err, &synErr) || errors.As(err, &typeErr) {
		return oob.Refused(s.errorf("%s: %v: the BMC's reply is not the JSON expected: %v", what, errMalformed, err))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// A body cut short by the connection and a JSON document that ends early look the same
		// through a decoder: transient, so a retry can tell.
		return s.errorf("%s: the BMC's reply was cut short (truncated or malformed JSON): %v", what, err)
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return s.errorf("%s: the BMC did not answer in time (%v)", what, err)
	}
	return s.errorf("%s: %v", what, err)
}

// tlsProblem recognises certificate and handshake errors that configuration must fix.
func tlsProblem(err error) (string, bool) {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
		rerr tls.RecordHeaderError
	)
	const fix = "; give the CA bundle that signed it (oob_parameters.ca_file) or, if you must, insecure: true"
	switch {
	case errors.As(err, &uerr):
		return "the BMC's TLS certificate is signed by an unknown authority (certificate not trusted)" + fix, true
	case errors.As(err, &herr):
		return fmt.Sprintf("the BMC's TLS certificate is not valid for this address: %v", herr) + fix, true
	case errors.As(err, &cerr):
		return fmt.Sprintf("the BMC's TLS certificate is invalid: %v", cerr) + fix, true
	case errors.As(err, &verr):
		return fmt.Sprintf("the BMC's TLS certificate could not be verified: %v", verr.Err) + fix, true
	case errors.As(err, &rerr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the BMC does not speak TLS on this port (oob_parameters.use_ssl: false for plain HTTP?)", true
	}
	return "", false
}

// describeHTTPError summarises a Redfish error reply: status, MessageId and message, and the
// messages of @Message.ExtendedInfo; a body that is not a Redfish error is shown shortened.
func describeHTTPError(e *schemas.Error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.HTTPReturnedStatusCode)
	if t := http.StatusText(e.HTTPReturnedStatusCode); t != "" {
		fmt.Fprintf(&b, " %s", t)
	}
	var parts []string
	if e.Code != "" {
		parts = append(parts, e.Code+": "+oneLine(e.Message, 300))
	} else if m := oneLine(e.Message, 200); m != "" {
		parts = append(parts, m)
	}
	for _, x := range e.ExtendedInfos {
		m := oneLine(x.Message, 300)
		if x.MessageID != "" {
			m = x.MessageID + ": " + m
		}
		if m != "" && (len(parts) == 0 || !strings.Contains(parts[0], m)) {
			parts = append(parts, m)
		}
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, "; ") + ")")
	}
	return b.String()
}

// oneLine collapses whitespace and shortens s to at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
