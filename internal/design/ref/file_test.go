package ref

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFile creates path (and its parents) with content.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fetchOne fetches ref and asserts a single Source.
func fetchOne(t *testing.T, r *Resolver, ref string) Source {
	t.Helper()
	got, err := r.Fetch(context.Background(), ref)
	if err != nil {
		t.Fatalf("Fetch(%q): %v", ref, err)
	}
	if len(got) != 1 {
		t.Fatalf("Fetch(%q) gave %d sources, want 1", ref, len(got))
	}
	return got[0]
}

func TestFileForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	writeFile(t, path, "schema: drydock/Region/v1\n")
	for _, ref := range []string{
		"file://" + path,
		"file://localhost" + path,
		"FILE://LOCALHOST" + path,
		"file:" + path,
		path,
	} {
		src := fetchOne(t, &Resolver{}, ref)
		if src.Name != path || string(src.Data) != "schema: drydock/Region/v1\n" {
			t.Errorf("Fetch(%q) = {%q, %q}", ref, src.Name, src.Data)
		}
	}
}

func TestFileURLEscapes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "my site#1.yaml")
	writeFile(t, path, "x: 1\n")
	src := fetchOne(t, &Resolver{}, "file://"+filepath.ToSlash(dir)+"/my%20site%231.yaml")
	if src.Name != path {
		t.Errorf("Name = %q, want %q", src.Name, path)
	}
	_, err := (&Resolver{}).Fetch(context.Background(), "file://"+dir+"/site.yaml?rev=1")
	wantKind(t, err, KindMalformed)
}

// Not parallel: changes the working directory.
func TestBareRelativePath(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "site.yaml"), "a: 1\n")
	writeFile(t, filepath.Join(dir, "x", "site.yaml"), "b: 2\n")
	t.Chdir(dir)
	for ref, want := range map[string]string{"site.yaml": "a: 1\n", "./x/site.yaml": "b: 2\n", "x/site.yaml": "b: 2\n"} {
		src := fetchOne(t, &Resolver{}, ref)
		if src.Name != ref || string(src.Data) != want {
			t.Errorf("Fetch(%q) = {%q, %q}, want {%q, %q}", ref, src.Name, src.Data, ref, want)
		}
	}
}

func TestFileURLWithHost(t *testing.T) {
	t.Parallel()
	_, err := (&Resolver{}).Fetch(context.Background(), "file://relative/x.yaml")
	wantKind(t, err, KindMalformed)
	msg := err.Error()
	for _, hint := range []string{`host "relative"`, "file:///relative/x.yaml", "relative/x.yaml for a path relative"} {
		if !strings.Contains(msg, hint) {
			t.Errorf("%q lacks the hint %q", msg, hint)
		}
	}
	for _, ref := range []string{"file:relative/x.yaml", "file://", "file://localhost"} {
		_, err := (&Resolver{}).Fetch(context.Background(), ref)
		wantKind(t, err, KindMalformed)
	}
}

func TestFileMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	for _, ref := range []string{missing, "file://" + missing, filepath.Join(dir, "nodir", "x.yaml")} {
		_, err := (&Resolver{}).Fetch(context.Background(), ref)
		wantKind(t, err, KindNotFound)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), ref) {
			t.Errorf("Fetch(%q): %v", ref, err)
		}
	}
	// A path through a regular file is not found either.
	file := filepath.Join(dir, "f.yaml")
	writeFile(t, file, "")
	_, err := (&Resolver{}).Fetch(context.Background(), filepath.Join(file, "x.yaml"))
	wantKind(t, err, KindNotFound)
}

func TestFileEmpty(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "empty.yaml")
	writeFile(t, path, "")
	src := fetchOne(t, &Resolver{}, path)
	if src.Name != path || len(src.Data) != 0 {
		t.Errorf("got {%q, %q}, want an empty source named %q", src.Name, src.Data, path)
	}
}

func TestFileTooLarge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.yaml")
	writeFile(t, path, strings.Repeat("x", 11))
	_, err := (&Resolver{MaxBytes: 10}).Fetch(context.Background(), path)
	wantKind(t, err, KindTooLarge)
	if !strings.Contains(err.Error(), "10 bytes") {
		t.Errorf("%q does not state the limit", err)
	}
	if src := fetchOne(t, &Resolver{MaxBytes: 11}, path); len(src.Data) != 11 {
		t.Errorf("exactly at the limit: got %d bytes", len(src.Data))
	}
}

func TestFileDeviceIsBounded(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := (&Resolver{MaxBytes: 1 << 10}).Fetch(context.Background(), "/dev/zero")
	wantKind(t, err, KindTooLarge)
	if !strings.Contains(err.Error(), "1 KiB (1024 bytes)") {
		t.Errorf("%q does not state the limit", err)
	}
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), ".site") // a hidden root is still read
	files := map[string]string{
		"b.yaml":              "b",
		"a.yaml":              "a",
		"a/x.yaml":            "ax",
		"a/y.yml":             "ay",
		"a/z.txt":             "skipped: not yaml",
		"d.YML":               "d",
		"c/deep/er/site.yaml": "cde",
		".hidden.yaml":        "skipped: hidden file",
		".git/config.yaml":    "skipped: hidden directory",
		"c/.secret/d.yaml":    "skipped: nested hidden directory",
		"README.md":           "skipped",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(name)), content)
	}
	for _, ref := range []string{root, "file://" + root, root + "/"} {
		got, err := (&Resolver{}).Fetch(context.Background(), ref)
		if err != nil {
			t.Fatalf("Fetch(%q): %v", ref, err)
		}
		var names, data []string
		for _, s := range got {
			rel, _ := filepath.Rel(root, s.Name)
			names = append(names, filepath.ToSlash(rel))
			data = append(data, string(s.Data))
		}
		// Byte-wise order of the relative path: "a.yaml" < "a/x.yaml" as '.' < '/'.
		wantNames := []string{"a.yaml", "a/x.yaml", "a/y.yml", "b.yaml", "c/deep/er/site.yaml", "d.YML"}
		wantData := []string{"a", "ax", "ay", "b", "cde", "d"}
		if !slices.Equal(names, wantNames) || !slices.Equal(data, wantData) {
			t.Errorf("Fetch(%q):\n names %q\n data  %q\nwant\n names %q\n data  %q", ref, names, data, wantNames, wantData)
		}
	}
}

func TestDirectorySymlinks(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "site")
	writeFile(t, filepath.Join(root, "a.yaml"), "a")
	writeFile(t, filepath.Join(base, "outside", "o.yaml"), "o")
	if err := os.Symlink(filepath.Join(base, "outside", "o.yaml"), filepath.Join(root, "link.yaml")); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	if err := os.Symlink(filepath.Join(base, "outside"), filepath.Join(root, "linkdir.yaml")); err != nil {
		t.Fatal(err)
	}
	got, err := (&Resolver{}).Fetch(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got[0].Data) != "a" || string(got[1].Data) != "o" {
		t.Fatalf("got %+v, want a.yaml and the linked file only", got)
	}
	if err := os.Symlink(filepath.Join(base, "gone.yaml"), filepath.Join(root, "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err = (&Resolver{}).Fetch(context.Background(), root)
	wantKind(t, err, KindNotFound)
}

func TestDirectoryLimits(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "1.yaml"), "123456")
	writeFile(t, filepath.Join(root, "2.yaml"), "123456")
	if got, err := (&Resolver{MaxBytes: 12}).Fetch(context.Background(), root); err != nil || len(got) != 2 {
		t.Fatalf("total at the limit: %v, %d sources", err, len(got))
	}
	_, err := (&Resolver{MaxBytes: 11}).Fetch(context.Background(), root)
	wantKind(t, err, KindTooLarge)
	if !strings.Contains(err.Error(), "11 bytes") || !strings.Contains(err.Error(), "2.yaml") {
		t.Errorf("%q should state the limit and the file", err)
	}
}

func TestDirectoryWithoutYAML(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "notes.txt"), "x")
	writeFile(t, filepath.Join(root, ".hidden", "x.yaml"), "x")
	_, err := (&Resolver{}).Fetch(context.Background(), root)
	wantKind(t, err, KindNotFound)
}

func TestFilePermissionDenied(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	path := filepath.Join(t.TempDir(), "locked.yaml")
	writeFile(t, path, "x")
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err := (&Resolver{}).Fetch(context.Background(), path)
	wantKind(t, err, KindRejected)
}

func TestFileCancelledContext(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.yaml"), "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Resolver{}).Fetch(ctx, root)
	wantKind(t, err, KindUnreachable)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not wrap context.Canceled", err)
	}
}
