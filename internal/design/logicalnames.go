package design

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// LogicalNames maps the device aliases of a hardware profile to the kernel names a node's
// hardware inventory gives them (design_spec 3.4.2). lshw is the node's latest `lshw -xml`
// build data. Aliases that nothing matches are absent from the map: the caller falls back to
// the alias itself (driver.Call.DeviceName). Only the profile given is used, which must be the
// node's own.
//
// For an alias with a plain address, the answer is the first `node` element (at any depth, in
// document order) whose businfo is <bus_type>@<address> and that has a logicalname. For an
// address containing "regexp:", the marker is removed and the expression is matched, anchored
// at the start as Python's re.match does, against the businfo (without "pci@") of every
// network node in document order, disabled ones included, whatever the alias's bus type; the
// first match that has a logicalname wins, and network nodes without a businfo are skipped.
// The name is the last "/" component of the node's first logicalname (/dev/sda gives sda).
//
// Empty lshw (no build data) gives an empty map. Malformed XML is an error, and so is an
// invalid expression (the error names the alias).
func LogicalNames(hw *HardwareProfile, lshw []byte) (map[string]string, error) {
	out := map[string]string{}
	if hw == nil || len(bytes.TrimSpace(lshw)) == 0 {
		return out, nil
	}
	nodes, err := lshwNodes(lshw)
	if err != nil {
		return nil, err
	}
	for _, a := range hw.DeviceAliases {
		if a.Alias == "" {
			continue
		}
		if strings.Contains(a.Address, "regexp:") {
			expr := strings.ReplaceAll(a.Address, "regexp:", "")
			re, err := regexp.Compile(`^(?:` + expr + `)`)
			if err != nil {
				return nil, fmt.Errorf("hardware profile %s: device alias %s: invalid address expression %q: %v",
					hw.Name, a.Alias, expr, err)
			}
			for _, n := range nodes {
				if n.class != "network" || !n.hasBusinfo || len(n.logicalnames) == 0 {
					continue
				}
				if re.MatchString(strings.TrimPrefix(n.businfo, "pci@")) {
					out[a.Alias] = lastComponent(n.logicalnames[0])
					break
				}
			}
			continue
		}
		businfo := a.BusType + "@" + a.Address
		for _, n := range nodes {
			if n.hasBusinfo && n.businfo == businfo && len(n.logicalnames) > 0 {
				out[a.Alias] = lastComponent(n.logicalnames[0])
				break
			}
		}
	}
	return out, nil
}

// lshwNode is what alias resolution needs of one lshw `node` element: its class, its own
// businfo and logicalname children (not those of nested nodes).
type lshwNode struct {
	class        string
	businfo      string
	hasBusinfo   bool
	logicalnames []string
}

// lshwNodes lists every `node` element of an lshw XML document in document order (the order
// of their start tags). The document must be well-formed with a single root element.
func lshwNodes(data []byte) ([]*lshwNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		// lshw writes ASCII; accept the usual declarations of it rather than fail on them.
		switch strings.ToLower(label) {
		case "us-ascii", "ascii", "iso-8859-1", "latin1", "utf8":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var (
		all   []*lshwNode
		stack []*lshwNode // the enclosing node elements (nil for other elements)
		field *strings.Builder
		roots int
		depth int
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("lshw: malformed XML: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if roots++; roots > 1 {
					return nil, errors.New("lshw: malformed XML: more than one root element")
				}
			}
			depth++
			var cur *lshwNode
			if tok.Name.Local == "node" {
				cur = &lshwNode{}
				for _, a := range tok.Attr {
					if a.Name.Local == "class" {
						cur.class = a.Value
					}
				}
				all = append(all, cur)
			} else if len(stack) > 0 && stack[len(stack)-1] != nil &&
				(tok.Name.Local == "businfo" || tok.Name.Local == "logicalname") {
				field = &strings.Builder{}
			}
			stack = append(stack, cur)
		case xml.EndElement:
			depth--
			stack = stack[:len(stack)-1]
			if field != nil && len(stack) > 0 && stack[len(stack)-1] != nil {
				parent, text := stack[len(stack)-1], strings.TrimSpace(field.String())
				switch tok.Name.Local {
				case "businfo":
					if !parent.hasBusinfo {
						parent.businfo, parent.hasBusinfo = text, true
					}
				case "logicalname":
					if text != "" {
						parent.logicalnames = append(parent.logicalnames, text)
					}
				}
			}
			field = nil
		case xml.CharData:
			if field != nil {
				field.Write(tok)
			} else if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return nil, errors.New("lshw: malformed XML: text outside the root element")
			}
		}
	}
	if roots == 0 {
		return nil, errors.New("lshw: malformed XML: no root element")
	}
	return all, nil
}

// lastComponent is the last "/"-separated component of a logical name (/dev/sda → sda).
func lastComponent(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}
