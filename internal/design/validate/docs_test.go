package validate_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design/validate"
)

var update = flag.Bool("update", false, "rewrite docs/validation-rules.md from the rule registry")

const rulesDoc = "../../../docs/validation-rules.md"

// rulesMarkdown renders the rule reference from the registry, so the documentation cannot drift
// from the code.
func rulesMarkdown() []byte {
	var b bytes.Buffer
	b.WriteString(`# Validation rules

This file is generated from the rule registry (` + "`go test ./internal/design/validate -update`" + `);
edit the rules' Summary and Example in ` + "`internal/design/validate/*.go`" + `, not this file.

Every message carries a code (` + "`name`" + ` in JSON), a stable slug (` + "`rule`" + `), a level (Error,
Warning or Info), an error flag, the message, a diagnostic saying how to fix it, and the documents
involved. A rule that finds no error adds an Info message "Validation successful.". Errors make the
design invalid (` + "`drydock validate`" + ` exits 1); warnings and Info do not.

Messages about documents that could not be read are not rules; they stop validation before the
rules run:

| Code | Slug | Level | Meaning |
|---|---|---|---|
| DD000 | ` + "`doc.invalid`" + ` | Error (Warning for a document with neither schema nor apiVersion) | a document that cannot be used: no name, unknown kind or version, malformed schema string, a mapping key YAML 1.1 reads as a number or boolean |
| DD001 | ` + "`doc.schema`" + ` | Error | the document's data does not match its JSON Schema (docs/schemas) |
| DD002 | ` + "`doc.yaml`" + ` | Error | YAML syntax error; documents after it are not read |
| DD003 | ` + "`doc.duplicate`" + ` | Error | a second document of the same kind and name |
| DD004 | ` + "`doc.duplicate-key`" + ` | Warning | a key given twice in one mapping; the last value is used |

## Rules

| Code | Slug | Name |
|---|---|---|
`)
	for _, r := range validate.Rules() {
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", r.Code, r.Slug, r.Name)
	}
	for _, r := range validate.Rules() {
		fmt.Fprintf(&b, "\n### %s `%s` — %s\n\n%s\n\nExample: `%s`\n", r.Code, r.Slug, r.Name, r.Summary, r.Example)
	}
	return b.Bytes()
}

func TestRulesDocumented(t *testing.T) {
	want := rulesMarkdown()
	if *update {
		if err := os.WriteFile(rulesDoc, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(rulesDoc)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/design/validate -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./internal/design/validate -update", rulesDoc)
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range validate.Rules() {
		for _, s := range []string{r.Code, "`" + r.Slug + "`", r.Example} {
			if !strings.Contains(string(readme), s) {
				t.Errorf("README.md does not mention %q of rule %s", s, r.Slug)
			}
		}
	}
}
