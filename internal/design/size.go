package design

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Size is a parsed storage size expression. One grammar serves validation and drivers alike:
//
//	size   = [">"] digits unit
//	unit   = m | mb | g | gb | t | tb          (decimal: 10^6, 10^9, 10^12 bytes)
//	       | mi | mib | gi | gib | ti | tib    (binary: 2^20, 2^30, 2^40 bytes)
//	       | %                                 (percent of the device or volume group)
//
// Units are case-insensitive ("Gb" and "GB" both mean 10^9 bytes). ">" marks a minimum: the
// volume takes what is left of its device or volume group, and must get at least the given
// amount. Anything else — decimals, spaces, negative numbers, other units such as "k" or "b" —
// is rejected rather than guessed.
type Size struct {
	Min     bool   // written with ">"
	Percent bool   // relative to the containing device or volume group
	Value   uint64 // the number as written
	Bytes   uint64 // for absolute sizes: Value times the unit
	Text    string // the expression as written
}

// PartTableReservation is kept free on a device when a ">" size takes the rest of it.
const PartTableReservation = 4 * 1024 * 1024

var sizeUnits = map[string]uint64{
	"m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
}

// SizeError explains why a size expression was rejected.
type SizeError struct {
	Text   string
	Reason string
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("invalid size %q: %s", e.Text, e.Reason)
}

// ParseSize parses a size expression.
func ParseSize(s string) (Size, error) {
	out := Size{Text: s}
	t := s
	if strings.HasPrefix(t, ">") {
		out.Min = true
		t = t[1:]
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		if strings.HasPrefix(t, "-") {
			return out, &SizeError{s, "sizes cannot be negative"}
		}
		return out, &SizeError{s, "expected a whole number followed by a unit, such as 20g, 512MiB, 10% or >100g"}
	}
	v, err := strconv.ParseUint(t[:i], 10, 64)
	if err != nil {
		return out, &SizeError{s, "number too large"}
	}
	out.Value = v
	unit := strings.ToLower(t[i:])
	if unit == "%" {
		out.Percent = true
		if v > 100 {
			return out, &SizeError{s, "a percentage cannot exceed 100%"}
		}
		return out, nil
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		if unit == "" {
			return out, &SizeError{s, "missing unit (use m, g, t, mi, gi, ti or %)"}
		}
		return out, &SizeError{s, fmt.Sprintf("unknown unit %q (use m, mb, g, gb, t, tb, mi, mib, gi, gib, ti, tib or %%)", t[i:])}
	}
	hi, lo := bits.Mul64(v, mult)
	if hi != 0 {
		return out, &SizeError{s, "size too large"}
	}
	out.Bytes = lo
	return out, nil
}

// NotEnoughStorageError is returned by Resolve when a size does not fit.
type NotEnoughStorageError struct {
	Size      string
	Need      uint64
	Available uint64
}

func (e *NotEnoughStorageError) Error() string {
	return fmt.Sprintf("size %s needs %d bytes but only %d are available", e.Size, e.Need, e.Available)
}

// Resolve computes the size in bytes inside a container (a block device or volume group) of
// total size total with available bytes still free. Absolute sizes need no container (total
// and available may be 0 then, and are not checked); "%" and ">" sizes need one.
func (s Size) Resolve(total, available uint64) (uint64, error) {
	need := s.Bytes
	if s.Percent {
		if total == 0 {
			return 0, &SizeError{s.Text, "a % size needs the size of its device or volume group"}
		}
		if s.Value > 100 {
			// ParseSize never yields this, but a Size built by hand could, and bits.Div64
			// panics when the quotient does not fit in 64 bits.
			return 0, &SizeError{s.Text, "a percentage cannot exceed 100%"}
		}
		hi, lo := bits.Mul64(s.Value, total)
		need, _ = bits.Div64(hi, lo, 100)
	}
	if !s.Min && !s.Percent {
		if total != 0 && need > available {
			return 0, &NotEnoughStorageError{s.Text, need, available}
		}
		return need, nil
	}
	if total == 0 {
		return 0, &SizeError{s.Text, "a > size needs the size of its device or volume group"}
	}
	if need > available {
		return 0, &NotEnoughStorageError{s.Text, need, available}
	}
	if s.Min {
		if available < PartTableReservation {
			return 0, &NotEnoughStorageError{s.Text, need + PartTableReservation, available}
		}
		rest := available - PartTableReservation
		if rest < need {
			return 0, &NotEnoughStorageError{s.Text, need + PartTableReservation, available}
		}
		return rest, nil
	}
	return need, nil
}

// MinimumBytes is the least number of bytes the size guarantees without knowing its container:
// the size itself, the stated minimum of a ">" size, and 0 (unknown) for a percentage.
func (s Size) MinimumBytes() (uint64, bool) {
	if s.Percent {
		return 0, false
	}
	return s.Bytes, true
}
