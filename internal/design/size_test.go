package design

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
)

const (
	mb  = 1_000_000
	gb  = 1_000_000_000
	tb  = 1_000_000_000_000
	mib = 1 << 20
	gib = 1 << 30
	tib = 1 << 40
)

// TestResolveCalculateBytesTable is the table of test_maasdriver_calculate_bytes.py
// (design_spec 3.9b): absolute sizes on a device of 20 units whose size is all available.
func TestResolveCalculateBytesTable(t *testing.T) {
	type row struct {
		units []string
		unit  uint64
	}
	rows := []row{
		{[]string{"m", "mb", "M", "MB"}, mb},
		{[]string{"g", "gb", "G", "GB"}, gb},
		{[]string{"t", "tb", "T", "TB"}, tb},
		{[]string{"mi", "mib", "Mi", "MiB"}, mib},
		{[]string{"gi", "gib", "Gi", "GiB"}, gib},
		{[]string{"ti", "tib", "Ti", "TiB"}, tib},
	}
	for _, r := range rows {
		for _, u := range r.units {
			text := "15" + u
			t.Run(text, func(t *testing.T) {
				s, err := ParseSize(text)
				if err != nil {
					t.Fatalf("ParseSize(%q): %v", text, err)
				}
				want := 15 * r.unit
				if s.Bytes != want || s.Value != 15 || s.Min || s.Percent || s.Text != text {
					t.Errorf("ParseSize(%q) = %+v, want Bytes %d, Value 15", text, s, want)
				}
				total := 20 * r.unit
				got, err := s.Resolve(total, total)
				if err != nil || got != want {
					t.Errorf("Resolve(%d, %d) = %d, %v; want %d", total, total, got, err, want)
				}
				// Without a container an absolute size is just its bytes.
				got, err = s.Resolve(0, 0)
				if err != nil || got != want {
					t.Errorf("Resolve(0, 0) = %d, %v; want %d", got, err, want)
				}
			})
		}
	}
}

func TestResolvePercentAndMinimum(t *testing.T) {
	tests := []struct {
		size             string
		total, available uint64
		want             uint64
		notEnough        bool
	}{
		// 20% on a block device and on a volume group of 20e6 bytes.
		{"20%", 20 * mb, 20 * mb, 4_000_000, false},
		{"20%", 20 * mb, 20 * mb, 4_000_000, false},
		// 80% of a 20e6 VG with 10 bytes available.
		{"80%", 20 * mb, 10, 0, true},
		// >10% of a 20e6 VG with 15e6 available: available minus the 4 MiB reservation.
		{">10%", 20 * mb, 15 * mb, 10_805_696, false},
		// A minimum takes the rest of the container.
		{">1g", 100 * gb, 50 * gb, 50*gb - PartTableReservation, false},
		{">20g", 100 * gb, 10 * gb, 0, true},
		// The minimum must still fit once the reservation is taken.
		{">10m", 100 * mb, 10 * mb, 0, true},
		// Absolute sizes are checked against what is available.
		{"30g", 100 * gb, 20 * gb, 0, true},
		{"20g", 100 * gb, 20 * gb, 20 * gb, false},
		// Percentages round down.
		{"33%", 10, 10, 3, false},
		{"0%", 20 * mb, 20 * mb, 0, false},
		{"100%", 20 * mb, 20 * mb, 20 * mb, false},
		// Exact 128-bit arithmetic: no overflow and no float rounding on huge containers.
		{"50%", math.MaxUint64, math.MaxUint64, math.MaxUint64 / 2, false},
		{"99%", math.MaxUint64, math.MaxUint64, 18262276632972456098, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_of_%d_avail_%d", tt.size, tt.total, tt.available), func(t *testing.T) {
			s, err := ParseSize(tt.size)
			if err != nil {
				t.Fatalf("ParseSize(%q): %v", tt.size, err)
			}
			got, err := s.Resolve(tt.total, tt.available)
			if tt.notEnough {
				var ne *NotEnoughStorageError
				if !errors.As(err, &ne) {
					t.Fatalf("Resolve = %d, %v; want a NotEnoughStorageError", got, err)
				}
				if ne.Available != tt.available || ne.Size != tt.size {
					t.Errorf("error %+v does not name the size and the available bytes", ne)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Resolve(%d, %d) = %d, %v; want %d", tt.total, tt.available, got, err, tt.want)
			}
		})
	}
}

func TestResolveNeedsContainer(t *testing.T) {
	for _, text := range []string{"10%", ">10g", ">10%"} {
		s, err := ParseSize(text)
		if err != nil {
			t.Fatalf("ParseSize(%q): %v", text, err)
		}
		_, err = s.Resolve(0, 0)
		var se *SizeError
		if !errors.As(err, &se) {
			t.Errorf("%q without a container: got %v, want a SizeError", text, err)
		}
	}
}

func TestParseSizeFlags(t *testing.T) {
	tests := []struct {
		text         string
		min, percent bool
		value, bytes uint64
	}{
		{">10g", true, false, 10, 10 * gb},
		{"10%", false, true, 10, 0},
		{">10%", true, true, 10, 0},
		{"0m", false, false, 0, 0},
		{"007g", false, false, 7, 7 * gb},
		// Units are case-insensitive: "Gb" is gigabytes here, not bits.
		{"10Gb", false, false, 10, 10 * gb},
		{"10gB", false, false, 10, 10 * gb},
		{"10GIB", false, false, 10, 10 * gib},
		{"10tIb", false, false, 10, 10 * tib},
		{"10mI", false, false, 10, 10 * mib},
		// Exact integer arithmetic right up to the 64-bit limit.
		{"18446744073709m", false, false, 18446744073709, 18446744073709 * mb},
		{"17179869183gi", false, false, 17179869183, 17179869183 * gib},
		{"16777215ti", false, false, 16777215, 16777215 * tib},
	}
	for _, tt := range tests {
		s, err := ParseSize(tt.text)
		if err != nil {
			t.Errorf("ParseSize(%q): %v", tt.text, err)
			continue
		}
		want := Size{Min: tt.min, Percent: tt.percent, Value: tt.value, Bytes: tt.bytes, Text: tt.text}
		if s != want {
			t.Errorf("ParseSize(%q) = %+v, want %+v", tt.text, s, want)
		}
	}
}

func TestParseSizeErrors(t *testing.T) {
	tests := []struct {
		text   string
		reason string // a fragment of the reason
	}{
		{"-1g", "negative"},
		{">-1g", "negative"},
		{"1.5g", "unknown unit"},
		{"10", "missing unit"},
		{">10", "missing unit"},
		{"10b", "unknown unit"},
		{"10kb", "unknown unit"},
		{"10k", "unknown unit"},
		{"10pb", "unknown unit"},
		{"10mbb", "unknown unit"},
		{"10%%", "unknown unit"},
		{"%%", "whole number"},
		{"%", "whole number"},
		{"g", "whole number"},
		{"", "whole number"},
		{">", "whole number"},
		{">>10g", "whole number"},
		{" 10g", "whole number"},
		{"10g ", "unknown unit"},
		{"10 g", "unknown unit"},
		{"+10g", "whole number"},
		{"1e3g", "unknown unit"},
		{"10g\n", "unknown unit"},
		{"10\u0130b", "unknown unit"}, // Turkish dotted capital I does not fold to i
		// Overflow of the number itself and of number times unit.
		{"99999999999999999999g", "too large"},
		{"18446744073710m", "too large"},
		{"17179869184gi", "too large"},
		{"16777216ti", "too large"},
		{"18446744073709551615t", "too large"},
	}
	for _, tt := range tests {
		_, err := ParseSize(tt.text)
		var se *SizeError
		if !errors.As(err, &se) {
			t.Errorf("ParseSize(%q): got %v, want a SizeError", tt.text, err)
			continue
		}
		if se.Text != tt.text {
			t.Errorf("ParseSize(%q): error names %q", tt.text, se.Text)
		}
		if !strings.Contains(se.Error(), tt.reason) {
			t.Errorf("ParseSize(%q): error %q does not say %q", tt.text, se.Error(), tt.reason)
		}
	}
}

func TestMinimumBytes(t *testing.T) {
	tests := []struct {
		text  string
		want  uint64
		known bool
	}{
		{"20g", 20 * gb, true},
		{">10g", 10 * gb, true},
		{"512MiB", 512 * mib, true},
		{"0m", 0, true},
		{"10%", 0, false},
		{">10%", 0, false},
	}
	for _, tt := range tests {
		s, err := ParseSize(tt.text)
		if err != nil {
			t.Fatalf("ParseSize(%q): %v", tt.text, err)
		}
		got, known := s.MinimumBytes()
		if got != tt.want || known != tt.known {
			t.Errorf("%q.MinimumBytes() = %d, %v; want %d, %v", tt.text, got, known, tt.want, tt.known)
		}
	}
}

// sizeGrammar is the documented grammar, used as an independent oracle.
var sizeGrammar = regexp.MustCompile(`^(?i)(>?)(\d+)(m|mb|g|gb|t|tb|mi|mib|gi|gib|ti|tib|%)$`)

// renderSize writes a parsed size back in canonical form.
func renderSize(s Size) string {
	var b strings.Builder
	if s.Min {
		b.WriteByte('>')
	}
	fmt.Fprintf(&b, "%d", s.Value)
	if s.Percent {
		b.WriteByte('%')
		return b.String()
	}
	unit := "m"
	if s.Value != 0 {
		switch s.Bytes / s.Value {
		case mb:
			unit = "m"
		case gb:
			unit = "g"
		case tb:
			unit = "t"
		case mib:
			unit = "mi"
		case gib:
			unit = "gi"
		case tib:
			unit = "ti"
		default:
			unit = "?"
		}
	}
	b.WriteString(unit)
	return b.String()
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"15m", "15MB", "15GiB", ">10%", "20%", "100%", "0m", "-1g", "1.5g",
		"10", "10b", "%%", " 10g", "10g ", "18446744073709m", "17179869184gi", ">", "10Gb", "007t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSize(text)
		m := sizeGrammar.FindStringSubmatch(text)
		if err != nil {
			var se *SizeError
			if !errors.As(err, &se) {
				t.Fatalf("ParseSize(%q) returned %T, want *SizeError", text, err)
			}
			// Only numbers out of range may fail when the grammar matches.
			if m != nil && !strings.Contains(err.Error(), "too large") && !strings.Contains(err.Error(), "exceed 100%") {
				t.Fatalf("ParseSize(%q) rejected a grammatical size: %v", text, err)
			}
			return
		}
		if m == nil {
			t.Fatalf("ParseSize(%q) accepted a size outside the grammar: %+v", text, s)
		}
		if s.Text != text || s.Min != (m[1] == ">") || s.Percent != (m[3] == "%") {
			t.Fatalf("ParseSize(%q) = %+v disagrees with the grammar", text, s)
		}
		if s.Percent && s.Bytes != 0 {
			t.Fatalf("ParseSize(%q): a percentage has Bytes %d", text, s.Bytes)
		}
		out := renderSize(s)
		again, err := ParseSize(out)
		if err != nil {
			t.Fatalf("re-rendered %q as %q, which does not parse: %v", text, out, err)
		}
		again.Text = s.Text
		if again != s {
			t.Fatalf("round trip %q -> %q: %+v != %+v", text, out, again, s)
		}
		if renderSize(again) != out {
			t.Fatalf("rendering is not stable for %q", text)
		}
		// Resolving never panics, whatever the container.
		for _, c := range [][2]uint64{{0, 0}, {1, 1}, {100 * gb, 50 * gb}, {math.MaxUint64, math.MaxUint64}, {math.MaxUint64, PartTableReservation - 1}} {
			got, err := s.Resolve(c[0], c[1])
			if err == nil && c[0] != 0 && got > c[1] {
				t.Fatalf("%q.Resolve(%d, %d) = %d, more than is available", text, c[0], c[1], got)
			}
		}
		s.MinimumBytes()
	})
}

// A Size built by hand with a percentage above 100 used to make Resolve panic inside
// bits.Div64 (quotient overflow) on large containers.
func TestResolveHandBuiltPercentDoesNotPanic(t *testing.T) {
	s := Size{Percent: true, Value: 1000, Text: "1000%"}
	_, err := s.Resolve(math.MaxUint64, math.MaxUint64)
	var se *SizeError
	if !errors.As(err, &se) {
		t.Fatalf("Resolve = %v, want a SizeError", err)
	}
}
