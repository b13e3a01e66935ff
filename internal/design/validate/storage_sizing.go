package validate

import (
	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD1003",
		Slug:    "storage.sizing",
		Name:    "Storage Sizing",
		Summary: "Every partition and logical volume has a valid size (see the size grammar); percentages on one device or volume group add up to at most 100%, and when they reach 100% nothing else shares it; at most one size per container takes the rest (>).",
		Example: "Cumulative sizes on device sda of BaremetalNode compute01 is greater than 100% (120%)",
		Check:   checkSizing,
	})
}

type sized struct {
	kind, name, size string
}

func checkSizing(c *Context) {
	for _, n := range c.nodes() {
		for _, d := range n.Devices {
			items := make([]sized, 0, len(d.Partitions))
			for _, p := range d.Partitions {
				items = append(items, sized{"Partition", p.Name, p.Size})
			}
			checkContainer(c, n, "device "+d.Name, items)
		}
		for _, vg := range n.VolumeGroups {
			items := make([]sized, 0, len(vg.LogicalVolumes))
			for _, lv := range vg.LogicalVolumes {
				items = append(items, sized{"Logical volume", lv.Name, lv.Size})
			}
			checkContainer(c, n, "volume group "+vg.Name, items)
		}
	}
}

func checkContainer(c *Context, n *design.Node, container string, items []sized) {
	var percent uint64
	others, rest := 0, 0
	for _, it := range items {
		if it.size == "" {
			c.Errorf("Give every partition and logical volume a size such as 30g, 512mib, 10% or >100g.", docs(n.Ref),
				"%s %s on %s of BaremetalNode %s has no size", it.kind, it.name, container, n.Name)
			continue
		}
		s, err := design.ParseSize(it.size)
		if err != nil {
			c.Errorf("Sizes are a whole number and a unit: m, g, t (decimal), mi, gi, ti (binary), % of the container, optionally after > for a minimum.", docs(n.Ref),
				"%s %s on %s of BaremetalNode %s: %v", it.kind, it.name, container, n.Name, err)
			continue
		}
		if s.Min {
			rest++
		}
		if s.Percent {
			percent += s.Value
		} else {
			others++
		}
	}
	if percent > 100 {
		c.Errorf("Percentage-based sizes must sum to 100% or less.", docs(n.Ref),
			"Cumulative sizes on %s of BaremetalNode %s is greater than 100%% (%d%%)", container, n.Name, percent)
	} else if percent == 100 && others > 0 {
		c.Errorf("Percentage-based sizes that reach 100% leave no room for the other partitions or volumes.", docs(n.Ref),
			"Sizes on %s of BaremetalNode %s take 100%% and %d more partitions or volumes need room too", container, n.Name, others)
	}
	if rest > 1 {
		c.Errorf("Only one partition or volume per container can take the remaining space with >.", docs(n.Ref),
			"%d sizes on %s of BaremetalNode %s use > to take the remaining space", rest, container, n.Name)
	}
}
