package ref

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// fetchPath reads a file, or every YAML file below a directory.
func (r *Resolver) fetchPath(ctx context.Context, red, path string) ([]Source, error) {
	s := r.settings()
	if err := ctx.Err(); err != nil {
		return nil, &Error{Ref: red, Kind: KindUnreachable, Err: err}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fileError(red, err)
	}
	if fi.IsDir() {
		return readDir(ctx, red, path, s.maxBytes)
	}
	// A path named on its own is read even when it is not a regular file,
	// so /dev/stdin works; the limit still bounds what is read.
	data, err := readFile(path, s.maxBytes)
	if err != nil {
		return nil, fileError(red, err)
	}
	return []Source{{Name: path, Data: data}}, nil
}

// readDir reads every *.yaml and *.yml file below root, skipping hidden
// entries, in byte-wise order of the slash-separated relative path.
func readDir(ctx context.Context, red, root string, limit int64) ([]Source, error) {
	type entry struct{ rel, path string }
	var files []entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isYAML(d.Name()) {
			return nil
		}
		if !d.Type().IsRegular() {
			fi, err := os.Stat(path) // follows a symbolic link
			if err != nil {
				return err
			}
			if fi.IsDir() {
				return nil // symbolic links to directories are not followed
			}
			if !fi.Mode().IsRegular() {
				return &fs.PathError{Op: "read", Path: path, Err: errNotRegular}
			}
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, entry{filepath.ToSlash(rel), path})
		return nil
	})
	if err != nil {
		return nil, fileError(red, err)
	}
	if len(files) == 0 {
		return nil, &Error{Ref: red, Kind: KindNotFound, Err: fmt.Errorf("directory %s holds no .yaml or .yml files", root)}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })

	sources := make([]Source, 0, len(files))
	var total int64
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, &Error{Ref: red, Kind: KindUnreachable, Err: err}
		}
		data, err := readFile(f.path, limit-total)
		if errors.Is(err, errTooLarge) {
			return nil, &Error{Ref: red, Kind: KindTooLarge,
				Err: fmt.Errorf("reading %s takes the directory total past the size limit of %s", f.path, formatSize(limit))}
		}
		if err != nil {
			return nil, fileError(red, err)
		}
		total += int64(len(data))
		sources = append(sources, Source{Name: f.path, Data: data})
	}
	return sources, nil
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = errors.New("size limit exceeded")
)

// tooLargeError reports that something exceeded limit; it matches errTooLarge.
type tooLargeError struct {
	what  string
	limit int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("%s exceeds the size limit of %s", e.what, formatSize(e.limit))
}

func (e *tooLargeError) Is(target error) bool { return target == errTooLarge }

// readFile reads at most limit bytes of path; a longer file gives an error
// matching errTooLarge, found without reading past the limit.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, &tooLargeError{what: "file " + path, limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &tooLargeError{what: "file " + path, limit: limit}
	}
	return data, nil
}

// fileError classifies a file system error.
func fileError(red string, err error) *Error {
	kind := KindUnreachable
	switch {
	case errors.Is(err, errTooLarge):
		kind = KindTooLarge
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		kind = KindNotFound
	case errors.Is(err, fs.ErrPermission), errors.Is(err, errNotRegular):
		kind = KindRejected
	}
	return &Error{Ref: red, Kind: kind, Err: err}
}

// formatSize writes n bytes for a human, keeping the exact count.
func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
