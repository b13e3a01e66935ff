package design

import (
	"errors"
	"fmt"
	"strings"

	"github.com/drydock-go/drydock/internal/design/schema"
	"github.com/drydock-go/drydock/internal/design/yaml11"
)

// Source is a named stream of YAML documents (a file, a URL response).
type Source struct {
	Name string
	Data []byte
}

// Ingested is the outcome of reading sources: the documents that were read and the problems
// found. A design with any error message must not be compiled or used.
type Ingested struct {
	Design    *Design
	Messages  []Message
	Documents int // drydock documents read successfully
	Ignored   int // documents of other namespaces (Deckhand, Promenade, ...) that were skipped
}

// OK reports whether every document was read without error.
func (in *Ingested) OK() bool { return ErrorCount(in.Messages) == 0 }

// Parse reads every document of the sources. Documents are processed in order; a document
// that fails is reported and left out, and the others are still read, so that one run reports
// every problem. Parse never panics on bad input.
func Parse(sources ...Source) *Ingested {
	in := &Ingested{Design: &Design{}}
	seen := map[string]DocRef{}
	for _, src := range sources {
		err := yaml11.Stream(src.Data, func(doc yaml11.Document) {
			in.document(src.Name, doc, seen)
		})
		if err != nil {
			line := 0
			if se, ok := err.(*yaml11.SyntaxError); ok {
				line = se.Line
			}
			in.Messages = append(in.Messages, NewMessage(CodeDocYAML, RuleDocYAML, LevelError,
				fmt.Sprintf("%s: YAML syntax error: %v", src.Name, err),
				"Fix the YAML syntax at the position shown; documents after it were not read.",
				DocRef{Schema: "yaml", Name: src.Name, Source: src.Name, Line: line}))
		}
	}
	in.Design.index()
	return in
}

// docCtx carries what every message about one document needs.
type docCtx struct {
	in     *Ingested
	ref    DocRef
	field  string // "data" or "spec"
	failed bool
}

func (c *docCtx) where(n *yaml11.Node) string {
	if n == nil || n.Line == 0 {
		return c.ref.Source
	}
	return fmt.Sprintf("%s:%d", c.ref.Source, n.Line)
}

func (c *docCtx) fail(n *yaml11.Node, path, format string, args ...any) {
	c.failed = true
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	c.in.Messages = append(c.in.Messages, NewMessage(CodeDocInvalid, RuleDocInvalid, LevelError,
		fmt.Sprintf("%s (%s): %s", c.title(), c.where(n), msg),
		"Correct the document; it was left out of the design.", c.ref))
}

// failErr reports an error from the YAML layer, using its own position when it has one.
func (c *docCtx) failErr(n *yaml11.Node, path string, err error) {
	var ye *yaml11.Error
	if errors.As(err, &ye) {
		c.fail(&yaml11.Node{Line: ye.Line}, path, "%s", ye.Msg)
		return
	}
	c.fail(n, path, "%v", err)
}

// title names the document in messages: its schema and name, or its position in the stream.
func (c *docCtx) title() string {
	if c.ref.Schema == "unknown" {
		return c.ref.Name
	}
	return c.ref.Schema + " " + c.ref.Name
}

func (in *Ingested) document(source string, doc yaml11.Document, seen map[string]DocRef) {
	ref := DocRef{Schema: "unknown", Name: fmt.Sprintf("document %d", doc.Index+1), Source: source, Line: doc.Line}
	c := &docCtx{in: in, ref: ref}
	top, err := yaml11.Pairs(doc.Root)
	if err != nil {
		c.failErr(doc.Root, "", err)
		return
	}
	get := func(k string) *yaml11.Node {
		for _, p := range top {
			if p.Key == k {
				return p.Value
			}
		}
		return nil
	}
	var kind, version string
	var body, malformed *yaml11.Node
	if sn := get("schema"); sn != nil {
		s, ok := scalarString(sn)
		if !ok {
			c.fail(sn, "schema", "must be a string such as drydock/Network/v1")
			return
		}
		parts := strings.Split(s, "/")
		if parts[0] != "drydock" {
			in.Ignored++
			return
		}
		c.ref.Schema = s
		if len(parts) != 3 {
			// Reported once the document's name is known, so the message names it.
			malformed = sn
		} else {
			kind, version = parts[1], parts[2]
		}
		body = get("data")
		c.field = "data"
	} else if an := get("apiVersion"); an != nil {
		s, _ := scalarString(an)
		if !strings.HasPrefix(s, "drydock/") {
			in.Ignored++
			return
		}
		kn := get("kind")
		kind, _ = scalarString(kn)
		version = "v1"
		c.ref.Schema = SchemaFor(kind)
		body = get("spec")
		c.field = "spec"
	} else {
		in.Messages = append(in.Messages, NewMessage(CodeDocInvalid, RuleDocInvalid, LevelWarning,
			fmt.Sprintf("%s: the document at line %d has neither a schema nor an apiVersion key and was ignored", source, doc.Line),
			"Give the document a schema such as drydock/Network/v1, or remove it.", c.ref))
		return
	}
	// Duplicate keys are reported wherever they are: at the top level and in metadata too
	// (a second metadata.name silently renaming the document), not only inside the body.
	var dups []yaml11.Pair
	for _, p := range top {
		if p.Duplicate != 0 {
			dups = append(dups, p)
		}
	}
	named := false
	if md := get("metadata"); md != nil && !yaml11.IsNull(md) {
		mp, err := yaml11.Pairs(md)
		if err != nil {
			// e.g. an unquoted "on:" key: say so rather than "metadata.name is missing".
			c.failErr(md, "metadata", err)
			return
		}
		for _, p := range mp {
			if p.Duplicate != 0 {
				dups = append(dups, p)
			}
			if p.Key == "name" {
				// A name that YAML reads as a number (name: 12) is taken as its text, as the
				// original did; null, booleans and non-scalars are not names.
				if v, err := yaml11.Scalar(p.Value); err == nil {
					switch v.(type) {
					case string, int64, float64:
						if s := yaml11.FormatScalar(v); s != "" {
							c.ref.Name, named = s, true
						}
					}
				}
			}
		}
	}
	if !named {
		at := get("metadata")
		if at == nil {
			at = doc.Root // no metadata at all: point at the document itself
		}
		c.fail(at, "metadata.name", "is missing; every document needs a name")
		return
	}
	if malformed != nil {
		c.fail(malformed, "schema", "%q is not of the form drydock/<Kind>/<version>", c.ref.Schema)
		return
	}
	if !knownKind(kind) || version != "v1" {
		c.fail(doc.Root, "schema", "unknown document kind %s version %s (known kinds: %s, all v1)", kind, version, strings.Join(AllKinds, ", "))
		return
	}
	// Schema check, on the body converted with YAML 1.1 rules.
	value, err := yaml11.ValueReport(body, func(p yaml11.Pair) { dups = append(dups, p) })
	if body == nil {
		value = nil
	} else if err != nil {
		c.failErr(body, "", err)
		return
	}
	violations, err := schema.Validate(kind, value)
	if err != nil {
		c.fail(body, "", "%v", err)
		return
	}
	for _, v := range violations {
		n := body
		if body != nil {
			n = yaml11.Lookup(body, v.Path)
		}
		path := c.field
		for _, seg := range v.Path {
			path += "." + seg
		}
		in.Messages = append(in.Messages, NewMessage(CodeDocSchema, RuleDocSchema, LevelError,
			fmt.Sprintf("%s (%s): %s: %s", c.title(), c.where(n), path, v.Message),
			"Correct the field so the document matches its schema (docs/schemas/"+kind+".v1.json).", c.ref))
	}
	if len(violations) > 0 {
		return
	}
	for _, p := range dups {
		in.Messages = append(in.Messages, NewMessage(CodeDocDupKey, RuleDocDupKey, LevelWarning,
			fmt.Sprintf("%s (%s:%d): key %q is given twice (first at line %d); the last value is used", c.title(), source, p.Value.Line, p.Key, p.Duplicate),
			"Remove one of the two entries.", c.ref))
	}
	key := kind + "\x00" + c.ref.Name
	if first, dup := seen[key]; dup {
		in.Messages = append(in.Messages, NewMessage(CodeDocDuplicate, RuleDocDuplicate, LevelError,
			fmt.Sprintf("%s %s is defined twice (%s:%d and %s:%d); the second definition was ignored", c.ref.Schema, c.ref.Name, first.Source, first.Line, source, doc.Line),
			"Give each document of a kind a unique name, or remove the duplicate.", c.ref))
		return
	}
	d := &decoder{c: c}
	if !d.decode(kind, body) || c.failed {
		return
	}
	seen[key] = c.ref
	in.Documents++
}

func knownKind(k string) bool {
	for _, x := range AllKinds {
		if x == k {
			return true
		}
	}
	return false
}

func scalarString(n *yaml11.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	v, err := yaml11.Scalar(n)
	if err != nil {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}
