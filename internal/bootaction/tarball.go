package bootaction

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"time"
)

// Tarball packs files into a gzip-compressed tar archive, one regular-file member per file in
// the given order. It is reproducible: the same files give the same bytes.
//
//   - member name: the path as given (absolute, as the original wrote it);
//   - mode: File.Mode; uid and gid 0; user and group names empty; modification time the Unix
//     epoch (0);
//   - format: GNU tar, as the original's tarfile.GNU_FORMAT. A member with a name of at most
//     100 bytes is one 512-byte header (the GNU format needs no extended header for it); a
//     longer name gets a GNU long-name entry;
//   - gzip header: no file name, no modification time (0), default compression.
//
// Two files with the same path are an error. No files give a valid, empty tar.gz.
func Tarball(files []File) ([]byte, error) {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if f.Path == "" {
			return nil, fmt.Errorf("tarball: a file has no path")
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("tarball: two files have the path %s", f.Path)
		}
		seen[f.Path] = true
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // Header: Name "", ModTime zero → MTIME 0 in the gzip header
	tw := tar.NewWriter(zw)
	epoch := time.Unix(0, 0)
	for _, f := range files {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.Path,
			Mode:     f.Mode,
			Size:     int64(len(f.Data)),
			ModTime:  epoch,
			Format:   tar.FormatGNU,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tarball: %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("tarball: %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	return buf.Bytes(), nil
}
