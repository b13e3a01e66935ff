package validate

import (
	"github.com/drydock-go/drydock/internal/bootaction"
)

func init() {
	register(&Rule{
		Code:    "DD4003",
		Slug:    "bootaction.template",
		Name:    "Bootaction Template Syntax",
		Summary: "Inline asset data and locations that go through a template segment parse as Go templates (the original's Jinja syntax must be translated: {{ node.hostname }} is written {{ .node.hostname }}). A Warning: the design is valid, but the asset cannot be delivered until the template is fixed.",
		Example: `boot action "hw_config" asset 0 (/var/tmp/hello.sh): data_pipeline segment 2 (template): template: /var/tmp/hello.sh:1: function "node" not defined (Go templates write {{ .node.x }} where Jinja wrote {{ node.x }}; see docs/bootactions.md)`,
		Check:   checkBootActionTemplates,
	})
}

func checkBootActionTemplates(c *Context) {
	for _, ba := range c.Site.BootActions {
		for _, err := range bootaction.CheckTemplates(ba.BootAction) {
			c.Warnf("Translate the template to Go's text/template syntax (docs/bootactions.md has a table); until then every node targeted fails to fetch its assets.",
				docs(ba.Ref), "%v", err)
		}
	}
}
