package maassim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeBMC records the calls MAAS makes.
type fakeBMC struct {
	mu    sync.Mutex
	on    bool
	boot  string
	calls []string
}

func (b *fakeBMC) PowerOn() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.on
}

func (b *fakeBMC) SetPower(_ context.Context, on bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.on = on
	if on {
		b.calls = append(b.calls, "on")
	} else {
		b.calls = append(b.calls, "off")
	}
	return nil
}

func (b *fakeBMC) SetNextBoot(_ context.Context, dev string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.boot = dev
	b.calls = append(b.calls, "boot "+dev)
	return nil
}

func (b *fakeBMC) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *fakeBMC) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = nil
}

// client signs requests with OAuth PLAINTEXT and encodes bodies as a client would.
type client struct {
	t    testing.TB
	base string
	key  string
	hc   *http.Client
}

type resp struct {
	status int
	hdr    http.Header
	body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (r resp) json(t testing.TB) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.body)
	}
	return v
}

func (r resp) obj(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("response is not a JSON object: %s", r.body)
	}
	return m
}

func (r resp) list(t testing.TB) []any {
	t.Helper()
	l, ok := r.json(t).([]any)
	if !ok {
		t.Fatalf("response is not a JSON array: %s", r.body)
	}
	return l
}

func nonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// authHeader builds the Authorization header; mode bends it for the auth tests.
func authHeader(key, mode string) string {
	parts := strings.SplitN(key, ":", 3)
	ck, tk, ts := parts[0], parts[1], parts[2]
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	sig := "&" + ts
	switch mode {
	case "badkey":
		ck = "nosuchconsumer"
	case "badtoken":
		tk = "nosuchtoken"
	case "badsig":
		sig = "&wrong"
	case "oldts":
		stamp = strconv.FormatInt(time.Now().Unix()-3600, 10)
	case "badts":
		stamp = "yesterday"
	}
	p := map[string]string{"oauth_version": "1.0", "oauth_signature_method": "PLAINTEXT", "oauth_consumer_key": ck,
		"oauth_token": tk, "oauth_signature": sig, "oauth_nonce": nonce(), "oauth_timestamp": stamp}
	var out []string
	for _, k := range sortedKeys(p) {
		out = append(out, fmt.Sprintf(`%s="%s"`, k, url.QueryEscape(p[k])))
	}
	return `OAuth realm="OAuth", ` + strings.Join(out, ", ")
}

// encodings of POST/PUT bodies.
const (
	encDrydock   = "drydock"   // multipart, every part base64 with Content-Transfer-Encoding (default)
	encForm      = "form"      // application/x-www-form-urlencoded
	encMultipart = "multipart" // plain multipart
)

func encodeBody(params url.Values, enc string) (io.Reader, string) {
	if enc == encForm {
		return strings.NewReader(params.Encode()), "application/x-www-form-urlencoded"
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range params[k] {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, k))
			if enc == encMultipart {
				w, _ := mw.CreatePart(h)
				_, _ = io.WriteString(w, v)
				continue
			}
			h.Set("Content-Type", `text/plain; charset="utf-8"`)
			h.Set("Content-Transfer-Encoding", "base64")
			w, _ := mw.CreatePart(h)
			_, _ = io.WriteString(w, base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// call sends a request; path is relative to the API prefix and may carry a query string.
// GET and DELETE put params in the query; POST and PUT in the body.
func (c *client) call(method, path string, params url.Values, enc, auth string) resp {
	c.t.Helper()
	u := c.base + Prefix + path
	var body io.Reader
	ctype := ""
	if method == http.MethodGet || method == http.MethodDelete {
		if len(params) > 0 {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + params.Encode()
		}
	} else if params != nil {
		body, ctype = encodeBody(params, enc)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if auth != "none" {
		req.Header.Set("Authorization", authHeader(c.key, auth))
	}
	hc := c.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, hdr: res.Header, body: b}
}

func (c *client) get(path string, params url.Values) resp { return c.call("GET", path, params, "", "") }
func (c *client) post(path string, params url.Values) resp {
	return c.call("POST", path, params, encDrydock, "")
}
func (c *client) put(path string, params url.Values) resp {
	return c.call("PUT", path, params, encDrydock, "")
}
func (c *client) del(path string) resp { return c.call("DELETE", path, nil, "", "") }

// must fails the test unless the response has the status.
func must(t testing.TB, r resp, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// fixture is a MAAS with a subnet, a dynamic range, a tagged VLAN, and machines in several
// statuses, all reached through the API with a fake clock.
type fixture struct {
	t     testing.TB
	clock *fakeClock
	srv   *Server
	http  *httptest.Server
	c     *client
	bmcs  map[string]*fakeBMC
	ids   map[string]string // placeholder → value
}

var testDelays = Delays{Commissioning: time.Second, Testing: time.Second, Deploying: time.Second,
	Releasing: time.Second, DiskErasing: time.Second}

func newServer(t testing.TB, cfg Config) (*Server, *httptest.Server, *client) {
	t.Helper()
	s := New(cfg)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs, &client{t: t, base: hs.URL, key: s.APIKey()}
}

func machineSpec(name string, bmc BMC) MachineSpec {
	return MachineSpec{Hostname: name, PowerType: "ipmi",
		PowerParams: map[string]string{"power_address": "10.1.0." + strconv.Itoa(len(name)), "power_user": "admin",
			"power_pass": "secret"},
		BMC:        bmc,
		Interfaces: []NICSpec{{Name: "eth0", MAC: "", Subnet: "10.0.0.0/24"}, {Name: "eth1"}},
		Disks: []DiskSpec{{Name: "sda", Size: 100 << 30, Model: "SAMSUNG MZ7LH480", Serial: "S" + name},
			{Name: "sdb", Size: 200 << 30}}}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: newClock(), bmcs: map[string]*fakeBMC{}, ids: map[string]string{}}
	f.srv, f.http, f.c = newServer(t, Config{Now: f.clock.Now, Delays: testDelays})
	c := f.c
	sn := must(t, c.post("subnets/", vals("cidr", "10.0.0.0/24", "gateway_ip", "10.0.0.1", "vlan", "5001")), 200).obj(t)
	f.ids["subnet"] = fmt.Sprint(sn["id"])
	rg := must(t, c.post("ipranges/", vals("type", "dynamic", "start_ip", "10.0.0.100", "end_ip", "10.0.0.150",
		"subnet", f.ids["subnet"])), 200).obj(t)
	f.ids["range"] = fmt.Sprint(rg["id"])
	v := must(t, c.post("fabrics/0/vlans/", vals("vid", "100", "name", "storage")), 200).obj(t)
	f.ids["vlan100"] = fmt.Sprint(v["id"])
	must(t, c.post("tags/", vals("name", "t1", "kernel_opts", "console=ttyS0")), 200)
	for _, name := range []string{"new", "ready", "alloc", "deployed"} {
		b := &fakeBMC{}
		f.bmcs[name] = b
		f.ids[name] = f.srv.AddMachine(machineSpec("m-"+name, b))
	}
	nopower := machineSpec("m-nopower", nil)
	nopower.PowerType, nopower.PowerParams = "", nil
	f.ids["nopower"] = f.srv.AddMachine(nopower)
	for _, name := range []string{"ready", "alloc", "deployed"} {
		must(t, c.post("machines/"+f.ids[name]+"/?op=commission", vals("enable_ssh", "0")), 200)
	}
	f.clock.Advance(3 * time.Second)
	for _, name := range []string{"alloc", "deployed"} {
		must(t, c.post("machines/?op=allocate", vals("system_id", f.ids[name])), 200)
	}
	must(t, c.post("machines/"+f.ids["deployed"]+"/?op=deploy", vals("distro_series", "jammy")), 200)
	f.clock.Advance(2 * time.Second)
	for _, name := range []string{"ready", "deployed", "alloc"} {
		sid := f.ids[name]
		for _, d := range must(t, c.get("nodes/"+sid+"/blockdevices/", nil), 200).list(t) {
			dm := d.(map[string]any)
			f.ids[name+"_"+dm["name"].(string)] = fmt.Sprint(dm["id"])
			for _, p := range dm["partitions"].([]any) {
				f.ids[name+"_"+dm["name"].(string)+"_part"] = fmt.Sprint(p.(map[string]any)["id"])
			}
		}
		for _, i := range must(t, c.get("nodes/"+sid+"/interfaces/", nil), 200).list(t) {
			im := i.(map[string]any)
			f.ids[name+"_"+im["name"].(string)] = fmt.Sprint(im["id"])
		}
	}
	racks := must(t, c.get("rackcontrollers/", nil), 200).list(t)
	f.ids["rack"] = racks[0].(map[string]any)["system_id"].(string)
	for name, want := range map[string]string{"new": "New", "ready": "Ready", "alloc": "Allocated", "deployed": "Deployed"} {
		if ms, _ := f.srv.Snapshot(f.ids[name]); ms.StatusName != want {
			t.Fatalf("fixture machine %s is %s, want %s", name, ms.StatusName, want)
		}
	}
	return f
}

// expand replaces {placeholders} with fixture ids.
func (f *fixture) expand(s string) string {
	for k, v := range f.ids {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// decodeBSON decodes a BSON document of binaries and nulls (what op=details sends).
func decodeBSON(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if len(b) < 5 || int(binary.LittleEndian.Uint32(b)) != len(b) || b[len(b)-1] != 0 {
		t.Fatalf("bad BSON document length: % x", b[:min(len(b), 16)])
	}
	i := 4
	for i < len(b)-1 {
		typ := b[i]
		i++
		end := bytes.IndexByte(b[i:], 0)
		name := string(b[i : i+end])
		i += end + 1
		switch typ {
		case 0x05:
			n := int(binary.LittleEndian.Uint32(b[i:]))
			if b[i+4] != 0 {
				t.Fatalf("binary subtype %d", b[i+4])
			}
			out[name] = b[i+5 : i+5+n]
			i += 5 + n
		case 0x0A:
			out[name] = nil
		default:
			t.Fatalf("unexpected BSON type %#x", typ)
		}
	}
	return out
}
