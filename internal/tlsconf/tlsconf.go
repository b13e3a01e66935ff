// Package tlsconf builds the TLS client settings Drydock uses towards the services it talks to
// (Keystone, Promenade, Redfish BMCs): TLS 1.2 or newer, the system's CAs or a PEM bundle
// given by the operator, and certificate checks off only when explicitly asked for.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Client returns a TLS client configuration trusting the PEM bundle at caFile (the system's
// CAs when empty); insecure skips certificate verification (an explicit opt-in, for labs).
func Client(caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // explicit opt-in
	if caFile == "" || insecure {
		return tc, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			err = u
		}
		return nil, fmt.Errorf("CA bundle %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}
