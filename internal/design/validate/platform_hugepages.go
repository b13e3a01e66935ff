package validate

import (
	"regexp"
	"strings"
)

func init() {
	register(&Rule{
		Code:    "DD1008",
		Slug:    "platform.hugepages",
		Name:    "Hugepages",
		Summary: "The kernel parameters hugepages and hugepagesz are given together; once resolved, hugepagesz is a page size such as 2M or 1G and hugepages a page count.",
		Example: "Invalid hugepages kernel configuration on BaremetalNode compute01: hugepages is set without hugepagesz",
		Check:   checkHugepages,
	})
}

var (
	pageSize  = regexp.MustCompile(`^[0-9]+[KMGkmg]$`)
	pageCount = regexp.MustCompile(`^[0-9]+$`)
)

func checkHugepages(c *Context) {
	diag := "hugepages and hugepagesz must be specified together"
	for _, n := range c.nodes() {
		size, hasSize := n.KernelParams.Get("hugepagesz")
		count, hasCount := n.KernelParams.Get("hugepages")
		switch {
		case hasCount && !hasSize:
			c.Errorf(diag, docs(n.Ref), "Invalid hugepages kernel configuration on BaremetalNode %s: hugepages is set without hugepagesz", n.Name)
		case hasSize && !hasCount:
			c.Errorf(diag, docs(n.Ref), "Invalid hugepages kernel configuration on BaremetalNode %s: hugepagesz is set without hugepages", n.Name)
		}
		if hasSize && !strings.HasPrefix(size, "hardwareprofile:") && !pageSize.MatchString(size) {
			c.Errorf("Use a page size such as 2M or 1G.", docs(n.Ref), "Invalid hugepagesz %q on BaremetalNode %s", size, n.Name)
		}
		if hasCount && !strings.HasPrefix(count, "hardwareprofile:") && !pageCount.MatchString(count) {
			c.Errorf("Use a whole number of pages.", docs(n.Ref), "Invalid hugepages count %q on BaremetalNode %s", count, n.Name)
		}
	}
}
