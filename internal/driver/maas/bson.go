package maas

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// decodeBSONBinaries reads a flat BSON document (the answer of op=details) and returns its
// binary and string values by key; null values are left out, other types are skipped. It
// needs no BSON library: the document is a length, elements (type, key, value) and a NUL.
func decodeBSONBinaries(b []byte) (map[string][]byte, error) {
	if len(b) < 5 {
		return nil, errors.New("details: BSON document too short")
	}
	total := int(binary.LittleEndian.Uint32(b))
	if total > len(b) || total < 5 || b[total-1] != 0 {
		return nil, fmt.Errorf("details: BSON document length %d does not match its %d bytes", total, len(b))
	}
	out := map[string][]byte{}
	p := 4
	end := total - 1
	for p < end {
		typ := b[p]
		p++
		k := p
		for k < end && b[k] != 0 {
			k++
		}
		if k >= end {
			return nil, errors.New("details: BSON key not terminated")
		}
		key := string(b[p:k])
		p = k + 1
		need := func(n int) error {
			if n < 0 || p+n > end {
				return fmt.Errorf("details: BSON value of %q runs past the document", key)
			}
			return nil
		}
		i32 := func() (int, error) {
			if err := need(4); err != nil {
				return 0, err
			}
			return int(int32(binary.LittleEndian.Uint32(b[p:]))), nil
		}
		switch typ {
		case 0x05: // binary: length, subtype, bytes
			n, err := i32()
			if err != nil {
				return nil, err
			}
			p += 4
			if err := need(n + 1); err != nil {
				return nil, err
			}
			out[key] = append([]byte(nil), b[p+1:p+1+n]...)
			p += 1 + n
		case 0x02: // string: length (with NUL), bytes
			n, err := i32()
			if err != nil {
				return nil, err
			}
			p += 4
			if n < 1 {
				return nil, fmt.Errorf("details: BSON string %q has length %d", key, n)
			}
			if err := need(n); err != nil {
				return nil, err
			}
			out[key] = append([]byte(nil), b[p:p+n-1]...)
			p += n
		case 0x0A, 0x06, 0xFF, 0x7F: // null, undefined, min/max key: no value
		case 0x08: // bool
			p++
		case 0x10: // int32
			p += 4
		case 0x01, 0x09, 0x11, 0x12: // double, datetime, timestamp, int64
			p += 8
		case 0x07: // object id
			p += 12
		case 0x13: // decimal128
			p += 16
		case 0x03, 0x04: // embedded document, array: length includes itself
			n, err := i32()
			if err != nil {
				return nil, err
			}
			if err := need(n); err != nil {
				return nil, err
			}
			p += n
		default:
			return nil, fmt.Errorf("details: unsupported BSON type 0x%02x for %q", typ, key)
		}
		if p > end {
			return nil, fmt.Errorf("details: BSON value of %q runs past the document", key)
		}
	}
	return out, nil
}
