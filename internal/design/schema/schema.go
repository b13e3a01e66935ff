// Package schema holds the JSON Schemas that check the data body of every
// Drydock document kind (Region, Rack, NetworkLink, Network, HardwareProfile,
// HostProfile, BaremetalNode and BootAction) and validates decoded documents
// against them.
//
// The schemas are plain JSON Schema (draft 2020-12) files embedded in the
// binary, so the very same text can be published (docs/schemas) and served by
// the API, and users can check their site designs with any standard tool.
// Validation is delegated to github.com/santhosh-tekuri/jsonschema rather than
// hand-written checks: a conforming validator keeps the published files and
// the behaviour of this package from drifting apart. This package only turns
// the library's error tree into a flat, sorted list of Violations with
// messages written for people editing YAML.
//
// The schemas follow the original Drydock schemas with their typos and
// nesting bugs fixed. They are strict about structure (unknown keys, wrong
// types, unknown enum values) but deliberately lenient where real sites
// differ from the original schemas (integer VLAN ids, null interfaces,
// driver-specific OOB keys, scalar kernel parameters). `format` keywords are
// not used: addresses are checked later by the design validation rules,
// which can give better messages.
package schema

import (
	"bytes"
	"embed"
	"fmt"
	"slices"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed *.v1.json
var files embed.FS

// kinds lists the document kinds with a schema, in the order Kinds reports.
var kinds = []string{
	"Region",
	"Rack",
	"NetworkLink",
	"Network",
	"HardwareProfile",
	"HostProfile",
	"BaremetalNode",
	"BootAction",
}

// schemaBaseURL is the (never fetched) location the schemas are registered
// under inside the compiler. The .invalid top-level domain cannot resolve.
const schemaBaseURL = "https://schemas.drydock-go.invalid/"

// fileName returns the name of the schema file for kind.
func fileName(kind string) string { return kind + ".v1.json" }

// Kinds returns the kinds that have a schema, in a fixed order.
func Kinds() []string { return slices.Clone(kinds) }

// Has reports whether kind (e.g. "Network") has a schema.
func Has(kind string) bool { return slices.Contains(kinds, kind) }

// Source returns the raw JSON text of the schema for kind (for publishing and
// the API). The returned slice is a copy the caller may keep or modify.
func Source(kind string) ([]byte, bool) {
	if !Has(kind) {
		return nil, false
	}
	b, err := files.ReadFile(fileName(kind))
	if err != nil {
		return nil, false
	}
	return b, true
}

// Violation is one schema failure.
type Violation struct {
	// Path is the instance location inside `data`, e.g.
	// ["interfaces","bond0","slaves","1"]; empty for the root.
	Path []string
	// Message is human readable, says what is wrong and what was expected,
	// and does not repeat the path.
	Message string
}

// String renders the violation as "path: message", with the path written as
// a JSON-pointer-like string ("/" for the root).
func (v Violation) String() string {
	p := ""
	for _, s := range v.Path {
		p += "/" + s
	}
	if p == "" {
		p = "/"
	}
	return p + ": " + v.Message
}

// compiled is one kind's compiled schema together with what the message
// builder needs to know about it.
type compiled struct {
	schema *jsonschema.Schema
	info   schemaInfo
}

var (
	compileOnce sync.Once
	compiledSet map[string]*compiled
	compileErr  error
)

// load compiles every schema once. The compiled schemas are read-only
// afterwards, which makes Validate safe for concurrent use.
func load() (map[string]*compiled, error) {
	compileOnce.Do(func() {
		compiledSet, compileErr = compileAll()
	})
	return compiledSet, compileErr
}

func compileAll() (map[string]*compiled, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Format assertions stay off (the draft 2020-12 default); the schemas do
	// not use `format` anyway.
	docs := make(map[string]any, len(kinds))
	for _, k := range kinds {
		src, ok := Source(k)
		if !ok {
			return nil, fmt.Errorf("schema: missing embedded file %s", fileName(k))
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
		if err != nil {
			return nil, fmt.Errorf("schema: parsing %s: %w", fileName(k), err)
		}
		if err := c.AddResource(schemaBaseURL+fileName(k), doc); err != nil {
			return nil, fmt.Errorf("schema: registering %s: %w", fileName(k), err)
		}
		docs[k] = doc
	}
	out := make(map[string]*compiled, len(kinds))
	for _, k := range kinds {
		url := schemaBaseURL + fileName(k)
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema: compiling %s: %w", fileName(k), err)
		}
		info := schemaInfo{closed: map[string][]string{}, hints: map[string]string{}}
		inspectSchema(docs[k], "", false, &info)
		out[k] = &compiled{schema: sch, info: info}
	}
	return out, nil
}

// Validate checks a decoded `data` body (values as produced by decoding
// YAML/JSON into `any`: map[string]any, []any, string, bool, int, int64,
// uint64, float64, nil) against the kind's schema. It returns nil when valid.
// Unknown kind: returns an error.
//
// Violations are the leaf causes of the failure, sorted by path and then
// message, without duplicates. A nil data gives a single violation at the
// root. Values a JSON document cannot hold are reported too: mapping keys
// that are not strings (e.g. an unquoted 0xffff decoded as an integer) and
// NaN or infinite numbers. YAML timestamps decoded as time.Time are checked
// as strings.
func Validate(kind string, data any) ([]Violation, error) {
	if !Has(kind) {
		return nil, fmt.Errorf("schema: no schema for document kind %q", kind)
	}
	set, err := load()
	if err != nil {
		return nil, err
	}
	c := set[kind]
	if data == nil {
		return []Violation{{Path: []string{}, Message: "the document has no data; an object is required"}}, nil
	}

	var vs []Violation
	inst := normalize(data, nil, &vs)
	if err := c.schema.Validate(inst); err != nil {
		verr, ok := err.(*jsonschema.ValidationError)
		if !ok {
			return nil, fmt.Errorf("schema: validating %s: %w", kind, err)
		}
		vs = flatten(verr, c, inst, vs)
	}
	if len(vs) == 0 {
		return nil, nil
	}
	return sortViolations(vs), nil
}
