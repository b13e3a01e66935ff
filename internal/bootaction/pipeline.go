package bootaction

import (
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Pipeline segments.
const (
	SegBase64Decode = "base64_decode"
	SegBase64Encode = "base64_encode"
	SegUTF8Decode   = "utf8_decode"
	SegUTF8Encode   = "utf8_encode"
	SegTemplate     = "template"
)

// Error is a failure to render one asset. Its text names the boot action, the asset (index
// from 0 and path, or type when there is no path) and the step that failed.
type Error struct {
	Action string // boot action document name
	Asset  int    // index in the action's assets
	Path   string // the asset's path, or its type when it has none
	Step   string // e.g. "data_pipeline segment 2 (template)", "location", "output"
	Err    error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("boot action %q asset %d (%s)", e.Action, e.Asset, e.Path)
	if e.Step != "" {
		s += ": " + e.Step
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTooLarge is in the chain of every error about a size limit.
var ErrTooLarge = errors.New("size limit exceeded")

// limitError says which limit was exceeded.
type limitError struct {
	what  string
	limit int64
}

func (e *limitError) Error() string {
	return fmt.Sprintf("%s exceeds the limit of %d bytes", e.what, e.limit)
}

func (e *limitError) Unwrap() error { return ErrTooLarge }

// segmentFunc transforms data; tmpl renders templates.
type segmentFunc func(data []byte, tmpl *templater) ([]byte, error)

var segments = map[string]segmentFunc{
	SegBase64Decode: func(b []byte, _ *templater) ([]byte, error) { return base64Decode(b) },
	SegBase64Encode: func(b []byte, t *templater) ([]byte, error) {
		if n := int64(base64.StdEncoding.EncodedLen(len(b))); n > t.max {
			return nil, &limitError{"the base64 encoding", t.max}
		}
		out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
		base64.StdEncoding.Encode(out, b)
		return out, nil
	},
	SegUTF8Decode: func(b []byte, _ *templater) ([]byte, error) { return b, checkUTF8(b) },
	SegUTF8Encode: func(b []byte, _ *templater) ([]byte, error) { return b, checkUTF8(b) },
	SegTemplate:   func(b []byte, t *templater) ([]byte, error) { return t.render(string(b)) },
}

// runPipeline runs the data pipeline; errors are wrapped by the caller with the asset.
func runPipeline(stage string, pipeline []string, data []byte, t *templater) ([]byte, string, error) {
	for i, seg := range pipeline {
		step := fmt.Sprintf("%s segment %d (%s)", stage, i, seg)
		f, ok := segments[seg]
		if !ok {
			return nil, step, fmt.Errorf("unknown segment %q (known: base64_decode, base64_encode, utf8_decode, utf8_encode, template)", seg)
		}
		out, err := f(data, t)
		if err != nil {
			return nil, step, err
		}
		data = out
	}
	return data, "", nil
}

// isSpace reports the bytes base64_decode ignores.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '='
}

// base64Decode decodes standard, padded base64, ignoring whitespace. An error names the offset
// of the offending byte in the input as given (whitespace included).
func base64Decode(b []byte) ([]byte, error) {
	clean := make([]byte, 0, len(b))
	pos := make([]int, 0, len(b)) // pos[i] is the input offset of clean[i]
	for i, c := range b {
		if !isSpace(c) {
			clean = append(clean, c)
			pos = append(pos, i)
		}
	}
	for k, c := range clean {
		if !isBase64Char(c) {
			return nil, fmt.Errorf("invalid base64 at byte offset %d (%q)", pos[k], c)
		}
	}
	if len(clean)%4 != 0 {
		return nil, fmt.Errorf("invalid base64: %d characters, not a multiple of 4 (standard padding with '=' is required)", len(clean))
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) && int(ce) < len(pos) {
			return nil, fmt.Errorf("invalid base64 at byte offset %d (%q)", pos[int(ce)], clean[int(ce)])
		}
		return nil, fmt.Errorf("invalid base64: %v", err)
	}
	return out[:n], nil
}

// checkUTF8 returns an error naming the offset of the first byte that is not valid UTF-8.
func checkUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("invalid UTF-8 at byte offset %d (0x%02x)", i, b[i])
		}
		i += size
	}
	return errors.New("invalid UTF-8")
}
