package validate

import (
	"regexp"

	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD4002",
		Slug:    "bootaction.pkg-list",
		Name:    "Bootaction pkg_list Validation",
		Summary: "A pkg_list asset lists packages (or a location to fetch them from), and each version given is a Debian version with a revision ([epoch:]upstream-revision); a null version means any.",
		Example: "Version specifier :) is not a valid format. (package foo, boot action invalid_pkg_list)",
		Check:   checkPkgList,
	})
}

var debVersion = regexp.MustCompile(`^(\d+:)?([a-zA-Z0-9.+~-]+)(-[a-zA-Z0-9.+~]+)$`)

func checkPkgList(c *Context) {
	for _, ba := range c.Site.BootActions {
		for _, a := range ba.Assets {
			if a.Type != design.AssetPkgList {
				continue
			}
			if a.Location == "" && len(a.PackageList) == 0 {
				c.Errorf("pkg_list bootaction assets must specify a list of packages.", docs(ba.Ref),
					"Bootaction %s has asset of type 'pkg_list' but no valid package data", ba.Name)
				continue
			}
			for _, p := range a.PackageList {
				if p.Version != "" && !debVersion.MatchString(p.Version) {
					c.Errorf("pkg_list version specifications must be in a valid format.", docs(ba.Ref),
						"Version specifier %s is not a valid format. (package %s, boot action %s)", p.Version, p.Name, ba.Name)
				}
			}
		}
	}
}
