package validate

import (
	"slices"
	"strings"
)

func init() {
	register(&Rule{
		Code:    "DD3001",
		Slug:    "platform.selection",
		Name:    "Platform Selection",
		Summary: "Each node's image and kernel are offered by the node driver; without a node driver that can list them, a Warning says they were not checked.",
		Example: "Platform Validation: invalid image ubuntu_16.04 (BaremetalNode controller01)",
		Check:   checkPlatform,
	})
}

func checkPlatform(c *Context) {
	diag := "Cannot validate platform selection without accessing the node provisioner."
	if c.Options.Platform == nil {
		c.Warnf(diag, nil, "Platform Validation: No enabled node driver, image and kernel selections not validated.")
		return
	}
	images, err := c.Options.Platform.Images(c.Ctx)
	if err != nil {
		c.Warnf(diag, nil, "Platform validation: could not load images from the node driver (%v); image and kernel selections not validated.", err)
		return
	}
	kernels := map[string][]string{}
	var names []string
	for _, im := range images {
		kernels[im.Name] = im.Kernels
		names = append(names, im.Name)
	}
	for _, n := range c.nodes() {
		if n.Image == "" {
			continue // no image chosen: the node driver deploys its default image
		}
		ks, ok := kernels[n.Image]
		if !ok {
			c.Errorf("Select a valid image from: "+strings.Join(names, ","), docs(n.Ref), "Platform Validation: invalid image %s (BaremetalNode %s)", n.Image, n.Name)
			continue
		}
		if n.Kernel != "" && !slices.Contains(ks, n.Kernel) {
			c.Errorf("Select a valid kernel from: "+strings.Join(ks, ","), docs(n.Ref), "Platform Validation: invalid kernel %s (BaremetalNode %s, image %s)", n.Kernel, n.Name, n.Image)
		}
	}
}
