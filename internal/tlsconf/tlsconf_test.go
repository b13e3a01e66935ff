package tlsconf

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	get := func(tc *tls.Config) error {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	tc, err := Client(ca, false)
	if err != nil || get(tc) != nil {
		t.Fatalf("with the CA: %v %v", err, get(tc))
	}
	tc, _ = Client("", false)
	if err := get(tc); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v", err)
	}
	tc, _ = Client("", true)
	if err := get(tc); err != nil {
		t.Errorf("insecure: %v", err)
	}
	if tc.MinVersion != tls.VersionTLS12 {
		t.Error("TLS below 1.2 allowed")
	}
	if _, err := Client(filepath.Join(dir, "missing.pem"), false); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing bundle: %v", err)
	}
	empty := filepath.Join(dir, "empty.pem")
	_ = os.WriteFile(empty, []byte("not a certificate"), 0o600)
	if _, err := Client(empty, false); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("empty bundle: %v", err)
	}
}
