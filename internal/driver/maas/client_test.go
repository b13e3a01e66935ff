package maas

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

const testKey = "consumerKEY1:tokenKEY22:secretSECRET333"

// fakeMAAS answers with the handler and checks the OAuth header on every request.
func fakeMAAS(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) (*client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		for _, want := range []string{`oauth_signature_method="PLAINTEXT"`, `oauth_consumer_key="consumerKEY1"`,
			`oauth_token="tokenKEY22"`, `oauth_signature="%26secretSECRET333"`, `oauth_nonce="`, `oauth_timestamp="`} {
			if !strings.Contains(auth, want) {
				t.Errorf("Authorization %q lacks %s", auth, want)
			}
		}
		h(w, r, int(n.Add(1)))
	}))
	t.Cleanup(srv.Close)
	cfg := Config{URL: srv.URL + "/MAAS", APIKey: oob.NewSecret(testKey), Backoff: time.Millisecond, Attempts: 3,
		Timeout: 2 * time.Second}.withDefaults()
	key, err := cfg.resolveKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := newClient(cfg, key)
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

func TestClientOpInQueryAndFormBody(t *testing.T) {
	c, _ := fakeMAAS(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path != "/MAAS/api/2.0/machines/abc/" || r.URL.Query().Get("op") != "deploy" {
			t.Errorf("got %s %s", r.Method, r.URL)
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("distro_series") != "jammy" {
			t.Errorf("form %v %v", r.PostForm, err)
		}
		w.Write([]byte(`{"system_id":"abc","status_name":"Deploying","memory":8192.0}`))
	})
	m, err := c.machineOp(context.Background(), "abc", "deploy", form("distro_series", "jammy"))
	if err != nil || m.StatusName != "Deploying" || m.Memory != 8192 {
		t.Fatalf("%+v %v", m, err)
	}
}

func TestClientRetriesIdempotentOn503(t *testing.T) {
	c, n := fakeMAAS(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n < 3 {
			w.Header().Set("Retry-After", "10")
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`[]`))
	})
	if _, err := c.machinesBy(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Fatalf("%d requests, want 3", n.Load())
	}
}

func TestClientNeverRepeatsPOST(t *testing.T) {
	c, n := fakeMAAS(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	_, err := c.machineOp(context.Background(), "abc", "commission", nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !ae.Transient() || ae.Op != "commission" {
		t.Fatalf("err %v", err)
	}
	if n.Load() != 1 {
		t.Fatalf("POST sent %d times", n.Load())
	}
}

func TestClientUncertainPOST(t *testing.T) {
	c, n := fakeMAAS(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// The request arrived; the connection is dropped without an answer.
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	})
	_, err := c.machineOp(context.Background(), "abc", "deploy", nil)
	var ue *UncertainError
	if !errors.As(err, &ue) || !transient(err) {
		t.Fatalf("err %v, want an UncertainError", err)
	}
	if n.Load() != 1 {
		t.Fatalf("POST sent %d times", n.Load())
	}
}

func TestClientRetriesPOSTNotSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connection refused
	cfg := Config{URL: "http://" + addr + "/MAAS", APIKey: oob.NewSecret(testKey), Backoff: time.Millisecond, Attempts: 3}.withDefaults()
	key, _ := cfg.resolveKey()
	c, _ := newClient(cfg, key)
	_, err = c.machineOp(context.Background(), "abc", "deploy", nil)
	if err == nil || c.Requests() != 3 {
		t.Fatalf("err %v after %d tries (want 3: a refused connection never reached MAAS)", err, c.Requests())
	}
	if strings.Contains(err.Error(), "secretSECRET333") {
		t.Fatal("key in error")
	}
}

func TestClientErrorsKeepStatusAndText(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		text   string
	}{
		{400, `{"mode": ["Select a valid choice. secretSECRET333"]}`, "mode: Select a valid choice."},
		{403, "User is not allowed access to this API.", "not allowed"},
		{404, "No Machine matches the given query.", "No Machine matches"},
		{409, "Can't deploy a machine that is in the 'Deployed' state", "Deployed"},
	} {
		c, n := fakeMAAS(t, func(w http.ResponseWriter, r *http.Request, n int) {
			body := tc.body
			if !strings.Contains(body, "secretSECRET333") {
				body += " secretSECRET333"
			}
			http.Error(w, body, tc.status)
		})
		_, err := c.machine(context.Background(), "abc")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(ae.Error(), tc.text) {
			t.Errorf("%d: err %v", tc.status, err)
		}
		if strings.Contains(err.Error(), "secretSECRET333") {
			t.Errorf("%d: the key's secret is in the error: %v", tc.status, err)
		}
		if n.Load() != 1 {
			t.Errorf("%d: %d requests, a refusal is not retried", tc.status, n.Load())
		}
	}
}

func TestClientContextEndsRetries(t *testing.T) {
	c, _ := fakeMAAS(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	c.cfg.Backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.machinesBy(ctx, nil); err == nil {
		t.Fatal("no error")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the context did not end the backoff")
	}
}

func TestConfigKeySources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	os.WriteFile(file, []byte(testKey+"\n"), 0o600)
	t.Setenv("MAAS_TEST_KEY", testKey)
	for _, cfg := range []Config{{APIKey: oob.NewSecret(testKey)}, {APIKeyFile: file}, {APIKeyEnv: "MAAS_TEST_KEY"}} {
		k, err := cfg.resolveKey()
		if err != nil || k.secret != "secretSECRET333" {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	for _, cfg := range []Config{{}, {APIKey: oob.NewSecret("a:b")}, {APIKeyEnv: "MAAS_TEST_NOPE"},
		{APIKeyFile: filepath.Join(dir, "nope")}, {APIKey: oob.NewSecret(testKey), APIKeyEnv: "MAAS_TEST_KEY"}} {
		_, err := cfg.resolveKey()
		if err == nil {
			t.Errorf("%+v: no error", cfg)
		} else if strings.Contains(err.Error(), "secret") && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("key in error %v", err)
		}
	}
	if _, err := New(Config{URL: "http://maas:5240/MAAS", APIKey: oob.NewSecret("bad")}); err == nil || strings.Contains(err.Error(), "bad") {
		t.Errorf("New with a bad key: %v", err)
	}
}

func TestAPIBase(t *testing.T) {
	for in, want := range map[string]string{
		"http://maas:5240/MAAS":            "http://maas:5240/MAAS/api/2.0/",
		"http://maas:5240/MAAS/":           "http://maas:5240/MAAS/api/2.0/",
		"https://maas/MAAS/api/2.0":        "https://maas/MAAS/api/2.0/",
		"https://maas/MAAS/api/2.0/?x=y#z": "https://maas/MAAS/api/2.0/",
	} {
		u, err := apiBase(in)
		if err != nil || u.String() != want {
			t.Errorf("%s: %v %v", in, u, err)
		}
	}
	for _, bad := range []string{"", "maas:5240", "ftp://maas/MAAS", "http://u:p@maas/MAAS"} {
		if _, err := apiBase(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func bsonDoc(elems ...[]byte) []byte {
	var body []byte
	for _, e := range elems {
		body = append(body, e...)
	}
	out := make([]byte, 4, 5+len(body))
	out = append(out, body...)
	out = append(out, 0)
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	return out
}

func bsonBinary(key string, data []byte) []byte {
	e := append([]byte{0x05}, key...)
	e = append(e, 0)
	e = binary.LittleEndian.AppendUint32(e, uint32(len(data)))
	e = append(e, 0)
	return append(e, data...)
}

func TestDecodeBSON(t *testing.T) {
	null := append([]byte{0x0A}, "lldp\x00"...)
	str := append([]byte{0x02}, "s\x00"...)
	str = binary.LittleEndian.AppendUint32(str, 3)
	str = append(str, "hi\x00"...)
	doc := bsonDoc(bsonBinary("lshw", []byte("<list/>")), null, str, append([]byte{0x10}, "n\x00\x01\x00\x00\x00"...))
	m, err := decodeBSONBinaries(doc)
	if err != nil || string(m["lshw"]) != "<list/>" || string(m["s"]) != "hi" || len(m) != 2 {
		t.Fatalf("%q %v", m, err)
	}
	for _, bad := range [][]byte{nil, doc[:len(doc)-3], append([]byte{5, 0, 0, 0, 0x05}, 0)} {
		if _, err := decodeBSONBinaries(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}

func TestPlanSizes(t *testing.T) {
	sz := func(s string) design.Size {
		v, err := design.ParseSize(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const g = uint64(1e9)
	out, err := planSizes([]design.Size{sz("20g"), sz("1g"), sz(">1g")}, 100*g, partOverhead, partAlign, "sda")
	if err != nil || out[0] != 20*g/partAlign*partAlign || out[2] != 0 {
		t.Fatalf("%v %v", out, err)
	}
	out, err = planSizes([]design.Size{sz(">1g"), sz("10g")}, 100*g, partOverhead, partAlign, "sda")
	if err != nil || out[0] == 0 || out[0]+out[1] > 100*g-partOverhead {
		t.Fatalf("%v %v", out, err)
	}
	if out, err = planSizes([]design.Size{sz("50%"), sz("50%")}, 100*g, partOverhead, partAlign, "sda"); err != nil || out[0]+out[1] > 100*g-partOverhead {
		t.Fatalf("%v %v", out, err)
	}
	for _, bad := range [][]design.Size{{sz("200g")}, {sz(">1g"), sz(">2g")}, {sz("90g"), sz(">20g")}} {
		if _, err := planSizes(bad, 100*g, partOverhead, partAlign, "sda"); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestSameHost(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"10.0.0.5", "10.0.0.5", true}, {"10.0.0.5:623", "10.0.0.5", true}, {"https://10.0.0.5/redfish/v1", "10.0.0.5", true},
		{"qemu+ssh://host/system", "host", true}, {"10.0.0.50", "10.0.0.5", false}, {"[::1]:443", "::1", true},
	} {
		if got := sameHost(tc.a, tc.b); got != tc.want {
			t.Errorf("sameHost(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestErrorText(t *testing.T) {
	if s := errorText([]byte("<html><body>oops</body></html>")); s != "(HTML error page)" {
		t.Error(s)
	}
}
