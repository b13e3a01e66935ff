package bootaction

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-files.tar.gz")

const goldenPath = "testdata/golden-files.tar.gz"

// goldenFiles are the files of the golden archive: a script, a unit, an empty file, binary
// content and a path longer than 100 bytes (a GNU long-name entry).
func goldenFiles() []File {
	return []File{
		{Path: "/var/tmp/hello.sh", Mode: 0o555, Data: []byte("#!/bin/bash\n\necho 'Hello World! -from compute01'\n")},
		{Path: "/lib/systemd/system/hello.service", Mode: 0o600, Data: []byte("[Unit]\nDescription=Hello World\n\n[Service]\nType=oneshot\nExecStart=/var/tmp/hello.sh\n\n[Install]\nWantedBy=multi-user.target\n")},
		{Path: "/etc/empty", Mode: 0o644, Data: nil},
		{Path: "/opt/blob.bin", Mode: 0o400, Data: []byte{0, 1, 2, 0xff, 0xfe, '\n'}},
		{Path: "/opt/" + strings.Repeat("long-directory-name/", 6) + "file.conf", Mode: 0o640, Data: []byte("long = true\n")},
	}
}

type member struct {
	hdr  *tar.Header
	data []byte
}

// readTarball reads an archive made by Tarball, checking the gzip header on the way.
func readTarball(t *testing.T, b []byte) []member {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.Comment != "" || zr.Extra != nil {
		t.Errorf("gzip header: name %q, mtime %v, comment %q, extra %q", zr.Name, zr.ModTime, zr.Comment, zr.Extra)
	}
	tr := tar.NewReader(zr)
	var out []member
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) { // absolute names are the point
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{hdr, data})
	}
	return out
}

func TestTarballGolden(t *testing.T) {
	got, err := Tarball(goldenFiles())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", goldenPath, len(got))
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -run TestTarballGolden -update once to create it)", err)
	}
	if !bytes.Equal(got, want) {
		// Tell a change of the archive from a change of Go's deflate output.
		if tarBytes(t, got) == tarBytes(t, want) {
			t.Fatalf("the tar content matches the golden archive but the gzip bytes differ: compress/flate output changed; check and regenerate with -update")
		}
		t.Fatalf("Tarball output differs from %s (%d bytes, want %d)", goldenPath, len(got), len(want))
	}
}

func tarBytes(t *testing.T, gz []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTarballReproducible(t *testing.T) {
	a, err := Tarball(goldenFiles())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a timestamp leaking in would now differ
	b, err := Tarball(goldenFiles())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two calls gave different archives")
	}
}

func TestTarballMembers(t *testing.T) {
	files := goldenFiles()
	b, err := Tarball(files)
	if err != nil {
		t.Fatal(err)
	}
	members := readTarball(t, b)
	if len(members) != len(files) {
		t.Fatalf("%d members, want %d", len(members), len(files))
	}
	for i, m := range members {
		f, h := files[i], m.hdr
		checks := []struct {
			what      string
			got, want any
		}{
			{"name", h.Name, f.Path},
			{"typeflag", h.Typeflag, byte(tar.TypeReg)},
			{"mode", h.Mode, f.Mode},
			{"uid", h.Uid, 0},
			{"gid", h.Gid, 0},
			{"uname", h.Uname, ""},
			{"gname", h.Gname, ""},
			{"mtime", h.ModTime.Unix(), int64(0)},
			{"size", h.Size, int64(len(f.Data))},
			{"format", h.Format, tar.FormatGNU},
			{"data", string(m.data), string(f.Data)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("member %d (%s) %s: got %v, want %v", i, f.Path, c.what, c.got, c.want)
			}
		}
	}
	// An ordinary path is one 512-byte header: the first member's data starts at 512.
	raw := tarBytes(t, b)
	if !strings.HasPrefix(raw, "/var/tmp/hello.sh\x00") || !strings.HasPrefix(raw[512:], "#!/bin/bash") {
		t.Errorf("the first member is not a single header followed by its data")
	}
	if magic := raw[257:265]; magic != "ustar  \x00" {
		t.Errorf("magic %q, want the GNU magic", magic)
	}
}

func TestTarballEmpty(t *testing.T) {
	for _, files := range [][]File{nil, {}} {
		b, err := Tarball(files)
		if err != nil {
			t.Fatal(err)
		}
		if m := readTarball(t, b); len(m) != 0 {
			t.Errorf("%d members, want none", len(m))
		}
		if raw := tarBytes(t, b); raw != strings.Repeat("\x00", 1024) {
			t.Errorf("empty tar is %d bytes, want the 1024-byte end marker", len(raw))
		}
	}
}

func TestTarballErrors(t *testing.T) {
	_, err := Tarball([]File{{Path: "/a", Data: []byte("1")}, {Path: "/b"}, {Path: "/a", Data: []byte("2")}})
	wantErr(t, err, "two files have the path /a")
	_, err = Tarball([]File{{Path: ""}})
	wantErr(t, err, "no path")
}
