package api

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/store/sqlite"
	"github.com/drydock-go/drydock/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json from internal/api/openapi.json")

// oaDoc decodes the embedded document.
func oaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(OpenAPI()))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("internal/api/openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// oaHTTPMethods are the methods an OpenAPI path item may define.
var oaHTTPMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaOperations lists the document's operations as "METHOD /path/{template}".
func oaOperations(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range oaHTTPMethods {
			if o, ok := item[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+p] = o
			}
		}
	}
	return out
}

func oaOpenStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "drydock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := oaDoc(t)
	s := &Server{Store: oaOpenStore(t, t.TempDir())}
	routes := s.Routes()
	if len(routes) == 0 {
		t.Fatal("the server registers no routes")
	}
	ops := oaOperations(doc)
	for _, r := range routes {
		if _, ok := ops[r]; !ok {
			t.Errorf("route %s is not documented in openapi.json", r)
		}
	}
	for k, o := range ops {
		if !slices.Contains(routes, k) {
			t.Errorf("openapi.json documents %s, which the server does not route (HEAD and OPTIONS are implicit)", k)
			continue
		}
		method, pattern, _ := strings.Cut(k, " ")
		rule := s.routes[pattern].methods[method].rule
		// The policy rule and the security requirement must say what the server does.
		docRule, present := o["x-drydock-policy-rule"]
		if !present {
			t.Errorf("%s: no x-drydock-policy-rule", k)
		}
		sec, hasSec := o["security"].([]any)
		if rule == "" {
			if docRule != nil {
				t.Errorf("%s is public, but x-drydock-policy-rule is %v (want null)", k, docRule)
			}
			// The node-facing boot action endpoints check the node's key instead of a token.
			keyed := strings.Contains(pattern, "/bootactions/") && !strings.HasSuffix(pattern, "/baclient")
			switch {
			case keyed && (len(sec) != 1 || fmt.Sprint(sec[0]) != "map[bootactionKey:[]]"):
				t.Errorf("%s checks the boot action key, but its security is %v", k, sec)
			case !keyed && (!hasSec || len(sec) != 0):
				t.Errorf("%s is public, but its security is not []", k)
			}
		} else {
			if docRule != rule {
				t.Errorf("%s: x-drydock-policy-rule is %v, the server checks %s", k, docRule, rule)
			}
			if hasSec {
				t.Errorf("%s is protected, but overrides the document's security requirement", k)
			}
		}
		// Every path placeholder is a documented path parameter, and vice versa.
		var want []string
		for _, seg := range strings.Split(pattern, "/") {
			if strings.HasPrefix(seg, "{") {
				want = append(want, strings.Trim(seg, "{}"))
			}
		}
		var got []string
		item := doc["paths"].(map[string]any)[pattern].(map[string]any)
		for _, list := range []any{item["parameters"], o["parameters"]} {
			ps, _ := list.([]any)
			for _, p := range ps {
				pm := oaResolveRef(t, doc, p)
				if pm["in"] == "path" {
					got = append(got, pm["name"].(string))
					if pm["required"] != true {
						t.Errorf("%s: path parameter %v is not required", k, pm["name"])
					}
				}
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: path parameters %v are documented, the pattern has %v", k, got, want)
		}
	}
}

// oaResolveRef follows a local $ref (to any depth) and returns the object it names.
func oaResolveRef(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("not an object: %v", v)
		}
		r, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := oaLookupPointer(doc, r)
		if err != nil {
			t.Fatal(err)
		}
		v = target
	}
	t.Fatalf("$ref chain too long at %v", v)
	return nil
}

// oaLookupPointer resolves a local reference "#/a/b~1c".
func oaLookupPointer(doc any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	ptr, err := url.PathUnescape(ptr)
	if err != nil {
		return nil, fmt.Errorf("$ref %q: %v", ref, err)
	}
	if ptr == "" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("$ref %q is not a JSON pointer", ref)
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("$ref %q does not resolve: no %q", ref, tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("$ref %q does not resolve: bad index %q", ref, tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("$ref %q does not resolve: %q is inside a scalar", ref, tok)
		}
	}
	return cur, nil
}

// oaPointerTokens splits a local reference "#/a/b~1c" into its unescaped tokens.
func oaPointerTokens(ref string) []string {
	var out []string
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		out = append(out, strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~"))
	}
	return out
}

// oaPointerFragment renders JSON pointer tokens as a URI fragment.
func oaPointerFragment(tokens ...string) string {
	var sb strings.Builder
	sb.WriteByte('#')
	for _, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
		sb.WriteByte('/')
		sb.WriteString(url.PathEscape(tok))
	}
	return sb.String()
}

func TestOpenAPIPublishedCopy(t *testing.T) {
	published := filepath.Join(testutil.ModuleDir(t), "docs", "openapi.json")
	if *update {
		if err := os.WriteFile(published, OpenAPI(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(published)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/api -run OpenAPIPublishedCopy -update)", err)
	}
	if !bytes.Equal(data, OpenAPI()) {
		t.Errorf("docs/openapi.json differs from internal/api/openapi.json; run go test ./internal/api -run OpenAPIPublishedCopy -update")
	}
}

// oaSchemaBase is the (never fetched) URL the document is registered under in the compiler.
const oaSchemaBase = "https://drydock.invalid/openapi.json"

// oaCompiler loads the whole document as one resource.
func oaCompiler(t *testing.T, assertFormat bool) *jsonschema.Compiler {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if assertFormat {
		c.AssertFormat()
	}
	if err := c.AddResource(oaSchemaBase, doc); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpenAPIValid(t *testing.T) {
	doc := oaDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi is %q, want 3.1.x", doc["openapi"])
	}
	// Pretty-printed with a 2-space indent and a final newline, as published.
	var indented bytes.Buffer
	if err := json.Indent(&indented, OpenAPI(), "", "  "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimRight(indented.Bytes(), "\n"), bytes.TrimRight(OpenAPI(), "\n")) || !bytes.HasSuffix(OpenAPI(), []byte("}\n")) {
		t.Error("openapi.json is not pretty-printed with a 2-space indent and a final newline")
	}
	// Every $ref resolves.
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, err := oaLookupPointer(doc, r); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, e := range v {
				walk(at+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(at+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("", doc)
	// Operation ids are unique, and every operation answers something.
	ids := map[string]string{}
	for k, o := range oaOperations(doc) {
		id, _ := o["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", k)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("operationId %s is used by %s and %s", id, prev, k)
		}
		ids[id] = k
		if rs, _ := o["responses"].(map[string]any); len(rs) == 0 {
			t.Errorf("%s documents no responses", k)
		}
	}
	// Every component schema compiles (draft 2020-12; the metaschema checks each).
	schemas, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"Task", "Result", "Message", "SubtaskError", "StepRun", "BuildData", "Machine",
		"CreateTask", "NodeFilter", "ValidateDesign", "Versions", "Status", "TaskLayers"} {
		if _, ok := schemas[name]; !ok {
			t.Errorf("components/schemas/%s is missing", name)
		}
	}
	c := oaCompiler(t, false)
	for name := range schemas {
		if _, err := c.Compile(oaSchemaBase + oaPointerFragment("components", "schemas", name)); err != nil {
			t.Errorf("components/schemas/%s: %v", name, err)
		}
	}
}
