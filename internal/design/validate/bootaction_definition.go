package validate

import (
	"encoding/base64"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD4001",
		Slug:    "bootaction.definition",
		Name:    "Bootaction Definition",
		Summary: "Boot action assets are complete (file and unit assets have a path and data or a location; base64 data decodes), node filters are valid, and every node is in scope of at least one boot action (a Warning otherwise).",
		Example: "Node compute01 is not in scope for any bootactions.",
		Check:   checkBootActionDefinition,
	})
}

func checkBootActionDefinition(c *Context) {
	targeted := map[string]bool{}
	for _, ba := range c.Site.BootActions {
		if ba.FilterError != nil {
			c.Errorf("Correct the node_filter of the boot action.", docs(ba.Ref), "Boot action %s has an invalid node_filter: %v", ba.Name, ba.FilterError)
		}
		for i, a := range ba.Assets {
			checkAsset(c, ba.BootAction, i, a)
		}
		for _, t := range ba.Targets {
			targeted[t] = true
		}
		if ba.FilterError == nil && len(ba.Targets) == 0 && len(c.nodes()) > 0 {
			c.Warnf("Check the node_filter; as written the boot action is never delivered.", docs(ba.Ref), "Boot action %s targets no nodes.", ba.Name)
		}
	}
	for _, n := range c.nodes() {
		if !targeted[n.Name] {
			c.Warnf("It is expected all nodes have at least one post-deploy action.", docs(n.Ref), "Node %s is not in scope for any bootactions.", n.Name)
		}
	}
}

func checkAsset(c *Context, ba *design.BootAction, i int, a design.Asset) {
	if a.Type == design.AssetPkgList {
		return // bootaction.pkg-list checks these
	}
	if a.Path == "" {
		c.Errorf("Give file and unit assets an absolute path.", docs(ba.Ref), "Asset %d (%s) of boot action %s has no path", i+1, a.Type, ba.Name)
	}
	if a.Data == "" && a.Location == "" {
		c.Errorf("Give the asset its content in data, or a location to fetch it from.", docs(ba.Ref), "Asset %d (%s) of boot action %s has neither data nor a location", i+1, a.Type, ba.Name)
	}
	if a.Data != "" && len(a.DataPipeline) > 0 && a.DataPipeline[0] == "base64_decode" {
		clean := strings.Join(strings.Fields(a.Data), "")
		if _, err := base64.StdEncoding.DecodeString(clean); err != nil {
			c.Errorf("The data pipeline starts with base64_decode, so data must be base64.", docs(ba.Ref),
				"Asset %d (%s) of boot action %s: data is not valid base64: %v", i+1, a.Type, ba.Name, err)
		}
	}
}
