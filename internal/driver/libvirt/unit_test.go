package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	lv "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

func TestParseURI(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	ok := []struct {
		uri  string
		want endpoint
	}{
		{"qemu:///system", endpoint{transport: "unix", socket: DefaultSocket, remote: "qemu:///system"}},
		{"qemu:///session", endpoint{transport: "unix", socket: "/run/user/1000/libvirt/libvirt-sock", remote: "qemu:///session"}},
		{"qemu:///system?socket=/tmp/x/libvirt-sock", endpoint{transport: "unix", socket: "/tmp/x/libvirt-sock", remote: "qemu:///system"}},
		{"qemu+unix:///system", endpoint{transport: "unix", socket: DefaultSocket, remote: "qemu:///system"}},
		{"test+unix:///default?socket=/s", endpoint{transport: "unix", socket: "/s", remote: "test:///default"}},
		{"qemu+tcp://10.0.0.5/system", endpoint{transport: "tcp", host: "10.0.0.5", port: "16509", remote: "qemu:///system"}},
		{"qemu+tcp://[fd00::5]:16600/system", endpoint{transport: "tcp", host: "fd00::5", port: "16600", remote: "qemu:///system"}},
		{"qemu+ssh://root@kvm1.example.com/system", endpoint{transport: "ssh", host: "kvm1.example.com", port: "22", user: "root", socket: DefaultSocket, remote: "qemu:///system"}},
		{"qemu+ssh://ops@kvm1:2222/system?keyfile=/etc/drydock/id_ed25519&socket=/run/x/sock&no_verify=0",
			endpoint{transport: "ssh", host: "kvm1", port: "2222", user: "ops", keyFile: "/etc/drydock/id_ed25519", socket: "/run/x/sock", remote: "qemu:///system"}},
		{"qemu+ssh://kvm1/system?name=qemu:///embed&mode=legacy", endpoint{transport: "ssh", host: "kvm1", port: "22", socket: DefaultSocket, remote: "qemu:///embed"}},
		{"QEMU+SSH://kvm1/system", endpoint{transport: "ssh", host: "kvm1", port: "22", socket: DefaultSocket, remote: "qemu:///system"}},
	}
	for _, c := range ok {
		got, err := parseURI(c.uri)
		if err != nil {
			t.Errorf("%s: %v", c.uri, err)
			continue
		}
		c.want.uri = c.uri
		if got != c.want {
			t.Errorf("%s:\n got  %+v\n want %+v", c.uri, got, c.want)
		}
	}
	bad := []struct{ uri, msg string }{
		{"", "no libvirt_uri"},
		{"qemu://kvm1/system", "TLS"},
		{"qemu+tls://kvm1/system", "not supported"},
		{"qemu+libssh://kvm1/system", "not supported"},
		{"qemu+ssh:///system", "needs a host"},
		{"qemu+tcp:///system", "needs a host"},
		{"qemu+unix://kvm1/system", "no host"},
		{"qemu+ssh://kvm1", "no path"},
		{"qemu:///", "no path"},
		{"kvm1", "not a libvirt URI"},
		{"qemu:system", "not a libvirt URI"},
		{"qemu+ssh://kvm1/system?no_verify=1", "no_verify is refused"},
		{"qemu+ssh://kvm1/system?known_hosts=/x", `"known_hosts" is not supported`},
		{"qemu+ssh://kvm1/system?socket=relative", "absolute"},
		{"qemu+tcp://kvm1/system?socket=/x", "tcp transport"},
		{"qemu:///system?keyfile=/x", "only to the ssh"},
		{"qemu+ssh://kvm1/system?mode=direct", "mode=direct"},
		{"qemu+ssh://kvm1/system?name=", "name= is empty"},
		{"qemu+ssh://u:pa%zz@kvm1/system", "not a valid URI"},
	}
	for _, c := range bad {
		_, err := parseURI(c.uri)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: error %v, want one containing %q", c.uri, err, c.msg)
		}
	}
	// A password in the URI never shows in messages.
	_, err := parseURI("qemu+ssh://root:hunter22@kvm1/system?no_verify=1")
	if err == nil || strings.Contains(err.Error(), "hunter22") {
		t.Errorf("password in message: %v", err)
	}
	_, err = parseURI("qemu+ssh://root:hun%zzter22@kvm1/system")
	if err == nil || strings.Contains(err.Error(), "hun") {
		t.Errorf("password in message: %v", err)
	}
	e, err := parseURI("qemu+ssh://root:hunter22@kvm1/system")
	if err != nil || e.password != "hunter22" || strings.Contains(e.String(), "hunter22") {
		t.Errorf("password URI: %+v %v", e, err)
	}
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "libvirt", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bootSettings lists every boot setting of a definition: <os><boot> devs and per-device orders.
func bootSettings(t *testing.T, x string) (osBoot []string, perDevice map[string]uint, kernel string) {
	t.Helper()
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	perDevice = map[string]uint{}
	if d.OS != nil {
		for _, b := range d.OS.BootDevices {
			osBoot = append(osBoot, b.Dev)
		}
		kernel = d.OS.Kernel
	}
	if d.Devices == nil {
		return
	}
	for i, dk := range d.Devices.Disks {
		if dk.Boot != nil {
			perDevice[describe(&d, bootRef{kind: "disk", i: i})] = dk.Boot.Order
		}
	}
	for i, n := range d.Devices.Interfaces {
		if n.Boot != nil {
			perDevice[describe(&d, bootRef{kind: "interface", i: i})] = n.Boot.Order
		}
	}
	for i, h := range d.Devices.Hostdevs {
		if h.Boot != nil {
			perDevice[describe(&d, bootRef{kind: "hostdev", i: i})] = h.Boot.Order
		}
	}
	return
}

func TestOneTimeDefinition(t *testing.T) {
	cases := []struct {
		file, dev, mac string
		want           []string
	}{
		// <os><boot dev='hd'/><boot dev='network'/>: hd is the first disk (vda, not the CD-ROM),
		// network the first NIC; the boot MAC is the second NIC.
		{"os-boot.xml", devNetwork, "52:54:00:10:00:02", []string{"NIC 52:54:00:10:00:02", "disk vda", "NIC 52:54:00:10:00:01"}},
		{"os-boot.xml", devNetwork, "52:54:00:10:00:01", []string{"NIC 52:54:00:10:00:01", "disk vda"}},
		{"os-boot.xml", devNetwork, "", []string{"NIC 52:54:00:10:00:01", "disk vda"}},
		{"os-boot.xml", devDisk, "", []string{"disk vda", "NIC 52:54:00:10:00:01"}},
		// per-device orders: cdrom 1, vda 2, NIC 1 3, hostdev 4.
		{"per-device.xml", devNetwork, "52:54:00:20:00:02", []string{"NIC 52:54:00:20:00:02", "cdrom hdc", "disk vda", "NIC 52:54:00:20:00:01", "hostdev #1"}},
		{"per-device.xml", devNetwork, "52:54:00:20:00:01", []string{"NIC 52:54:00:20:00:01", "cdrom hdc", "disk vda", "hostdev #1"}},
		{"per-device.xml", devDisk, "", []string{"disk vda", "cdrom hdc", "NIC 52:54:00:20:00:01", "hostdev #1"}},
		// nothing said: hd.
		{"no-boot.xml", devNetwork, "52:54:00:30:00:01", []string{"NIC 52:54:00:30:00:01", "disk sda"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s", c.file, c.dev, c.mac), func(t *testing.T) {
			in := readFixture(t, c.file)
			out, described, err := oneTimeDefinition(in, c.dev, strings.ToUpper(c.mac))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(described, c.want) {
				t.Errorf("order %q, want %q", described, c.want)
			}
			osBoot, per, kernel := bootSettings(t, out)
			if len(osBoot) != 0 || kernel != "" {
				t.Errorf("os boot %q and kernel %q left in the one-time definition", osBoot, kernel)
			}
			wantPer := map[string]uint{}
			for i, d := range c.want {
				wantPer[d] = uint(i + 1)
			}
			if !reflect.DeepEqual(per, wantPer) {
				t.Errorf("per-device orders %v, want %v", per, wantPer)
			}
			// Everything else is kept: name, UUID, the qemu namespace, other metadata, secrets.
			var a, b libvirtxml.Domain
			_ = a.Unmarshal(in)
			_ = b.Unmarshal(out)
			if a.Name != b.Name || a.UUID != b.UUID || !reflect.DeepEqual(a.QEMUCommandline, b.QEMUCommandline) ||
				!reflect.DeepEqual(a.Memory, b.Memory) || len(a.Devices.Graphics) != len(b.Devices.Graphics) {
				t.Errorf("the one-time definition lost more than the boot order:\n%s", out)
			}
			if strings.Contains(in, "passwd='s3cret'") && !strings.Contains(out, `passwd="s3cret"`) {
				t.Errorf("graphics password lost:\n%s", out)
			}
			if strings.Contains(out, "boot-once") {
				t.Errorf("the pending request stays in the one-time definition:\n%s", out)
			}
			if strings.Contains(in, "other:thing") && !strings.Contains(out, "other:thing") {
				t.Errorf("another application's metadata was lost:\n%s", out)
			}
		})
	}
	for _, c := range []struct{ file, dev, mac, msg string }{
		{"os-boot.xml", devNetwork, "52:54:00:99:99:99", "no network interface with the boot MAC 52:54:00:99:99:99 (it has 52:54:00:10:00:01, 52:54:00:10:00:02)"},
		{"os-boot.xml", "cdrom", "", "not supported"},
		{"no-boot.xml", devDisk, "", ""},
	} {
		_, _, err := oneTimeDefinition(readFixture(t, c.file), c.dev, c.mac)
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s %s: %v", c.file, c.dev, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s %s %s: error %v, want %q", c.file, c.dev, c.mac, err, c.msg)
		}
	}
	noNIC := `<domain type='qemu'><name>x</name><os><type>hvm</type></os><devices/></domain>`
	if _, _, err := oneTimeDefinition(noNIC, devNetwork, ""); err == nil || !strings.Contains(err.Error(), "no network interface") {
		t.Errorf("no NIC: %v", err)
	}
	if _, _, err := oneTimeDefinition(noNIC, devDisk, ""); err == nil || !strings.Contains(err.Error(), "no disk") {
		t.Errorf("no disk: %v", err)
	}
	if _, _, err := oneTimeDefinition("<domain", devDisk, ""); err == nil {
		t.Error("broken XML accepted")
	}
}

func TestBootRequest(t *testing.T) {
	r := bootRequest{Dev: devNetwork, MAC: "52:54:00:00:00:01", Requested: "2026-11-26T04:00:00Z"}
	got, err := parseBootRequest(r.marshal())
	if err != nil || got.Dev != r.Dev || got.MAC != r.MAC || got.Requested != r.Requested {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	// As libvirt gives it back (virDomainGetMetadata drops the prefix, keeps the namespace).
	got, err = parseBootRequest(`<boot-once xmlns="` + MetadataNS + `" dev="hd"/>`)
	if err != nil || got.Dev != devDisk {
		t.Fatalf("libvirt form: %+v %v", got, err)
	}
	if _, err := parseBootRequest(`<boot-once dev="floppy"/>`); err == nil {
		t.Error("unknown device accepted")
	}
	if _, err := parseBootRequest(`<boot-once`); err == nil {
		t.Error("broken XML accepted")
	}
}

func TestInventoryFromDefinition(t *testing.T) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(readFixture(t, "os-boot.xml")); err != nil {
		t.Fatal(err)
	}
	inv := inventory(&d)
	if inv["cpu_count"] != 2 || inv["memory_mib"] != int64(4096) || inv["domain"] != "node-os" || inv["hypervisor"] != "kvm" {
		t.Errorf("inventory %v", inv)
	}
	nics := inv["nics"].([]map[string]any)
	if len(nics) != 2 || nics[0]["mac"] != "52:54:00:10:00:01" || nics[0]["network"] != "default" || nics[0]["type"] != "network" ||
		nics[1]["network"] != "br-pxe" || nics[1]["type"] != "bridge" || nics[1]["model"] != "e1000" {
		t.Errorf("nics %v", nics)
	}
	disks := inv["disks"].([]map[string]any)
	if len(disks) != 3 || disks[0]["device"] != "cdrom" || disks[0]["source"] != nil || disks[1]["source"] != "/var/lib/libvirt/images/node-os.qcow2" ||
		disks[1]["bus"] != "virtio" || disks[2]["source"] != "default/node-os-data" {
		t.Errorf("disks %v", disks)
	}
	if got := describeOrder(&d); !reflect.DeepEqual(got, []string{"disk vda", "NIC 52:54:00:10:00:01"}) {
		t.Errorf("boot order %q", got)
	}
	for _, c := range []struct {
		v    uint
		unit string
		want int64
	}{{131072, "", 128}, {131072, "KiB", 128}, {128, "M", 128}, {2, "GiB", 2048}, {1 << 30, "bytes", 1024}, {1, "T", 1 << 20}, {1000000, "KB", 953}} {
		if got := toMiB(c.v, c.unit); got != c.want {
			t.Errorf("toMiB(%d %s) = %d, want %d", c.v, c.unit, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	if classify("x", nil) != nil {
		t.Error("nil error classified")
	}
	for _, c := range []struct {
		err     error
		refused bool
	}{
		{lv.Error{Code: uint32(lv.ErrNoDomain), Message: "Domain not found"}, true},
		{lv.Error{Code: uint32(lv.ErrAccessDenied), Message: "access denied"}, true},
		{lv.Error{Code: uint32(lv.ErrXMLError), Message: "invalid XML"}, true},
		{lv.Error{Code: uint32(lv.ErrOperationInvalid), Message: "domain is already running"}, true},
		{fmt.Errorf("wrapped: %w", lv.Error{Code: uint32(lv.ErrAuthFailed)}), true},
		{lv.ErrUnsupported, true},
		{lv.Error{Code: uint32(lv.ErrOperationTimeout), Message: "cannot acquire state change lock"}, false},
		{lv.Error{Code: uint32(lv.ErrRPC)}, false},
		{lv.ErrInterrupted, false},
		{context.DeadlineExceeded, false},
		{errors.New("dial unix /x: connect: no such file or directory"), false},
	} {
		got := classify("doing", c.err)
		if errors.Is(got, oob.ErrRefused) != c.refused || !strings.HasPrefix(got.Error(), "doing: ") {
			t.Errorf("%v: refused %v, want %v (%v)", c.err, errors.Is(got, oob.ErrRefused), c.refused, got)
		}
	}
}

func TestOpenRefusesBadConfiguration(t *testing.T) {
	p := &Protocol{}
	for _, c := range []struct {
		params map[string]string
		msg    string
	}{
		{map[string]string{}, "no libvirt_uri"},
		{map[string]string{"libvirt_uri": "qemu+ssh://kvm1/system?no_verify=1"}, "no_verify"},
		{map[string]string{"libvirt_uri": "qemu+ssh://root@127.0.0.1:1/system?keyfile=/nonexistent/key"}, "SSH key"},
	} {
		_, err := p.Open(context.Background(), oob.Target{Node: "n1", Type: "libvirt", Params: c.params})
		if !errors.Is(err, oob.ErrRefused) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: %v, want a refusal with %q", c.params, err, c.msg)
		}
	}
	// Host keys are checked unless told otherwise: a missing known_hosts file is a refusal.
	dir := t.TempDir()
	key := writeTestKey(t, dir)
	p = &Protocol{SSHKeyFile: key, SSHKnownHosts: filepath.Join(dir, "known_hosts")}
	_, err := p.Open(context.Background(), oob.Target{Node: "n1", Type: "libvirt", Params: map[string]string{"libvirt_uri": "qemu+ssh://root@127.0.0.1:1/system"}})
	if !errors.Is(err, oob.ErrRefused) || !strings.Contains(err.Error(), "known_hosts") {
		t.Errorf("missing known_hosts: %v", err)
	}
}

func TestMetadataMarkerPattern(t *testing.T) {
	md := `
    <drydock:boot-once xmlns:drydock="` + MetadataNS + `" dev="network" mac="52:54:00:aa:00:01"/>
    <other:boot-once xmlns:other="http://example.com/other" dev="x"/>
    <drydock:boot-once xmlns:drydock="` + MetadataNS + `" dev="hd"></drydock:boot-once>
`
	got := markerRE.ReplaceAllString(md, "")
	if strings.Contains(got, MetadataNS) || !strings.Contains(got, "http://example.com/other") {
		t.Errorf("stripped metadata: %q", got)
	}
}

// A libvirtd that accepts the connection but never answers: Open gives up at the context's
// end (or the Protocol's timeout) with a transient error.
func TestOpenGivesUpOnASilentServer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	target := oob.Target{Node: "n1", Type: "libvirt", Params: map[string]string{"libvirt_uri": "qemu:///system"}}
	for _, c := range []struct {
		p       *Protocol
		timeout time.Duration
	}{
		{&Protocol{Socket: sock}, 300 * time.Millisecond},
		{&Protocol{Socket: sock, Timeout: 300 * time.Millisecond}, time.Minute},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		t0 := time.Now()
		_, err := c.p.Open(ctx, target)
		cancel()
		if err == nil || errors.Is(err, oob.ErrRefused) || time.Since(t0) > 5*time.Second {
			t.Errorf("Open against a silent server: %v after %s", err, time.Since(t0))
		}
	}
}
