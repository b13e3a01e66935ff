package manual

import (
	"context"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

func TestManualSaysWhatToDo(t *testing.T) {
	n := &design.Node{Name: "rack1-n07", OOBType: "manual", BootMAC: "52:54:00:aa:bb:cc"}
	c := driver.Call{Node: n}
	ctx := context.Background()
	var d Driver
	cases := []struct {
		r    driver.Result
		want []string
	}{
		{d.SetNextBoot(ctx, c, driver.BootPXE), []string{"MANUAL ACTION", "rack1-n07", "network (PXE)", "52:54:00:aa:bb:cc", "cannot check"}},
		{d.SetNextBoot(ctx, c, driver.BootDisk), []string{"rack1-n07", "from its disk"}},
		{d.Power(ctx, c, driver.PowerCycle), []string{"MANUAL ACTION", "power-cycle node rack1-n07", "cannot check"}},
		{d.Power(ctx, c, driver.PowerOn), []string{"power node rack1-n07 on"}},
		{d.Power(ctx, c, driver.PowerOff), []string{"power node rack1-n07 off"}},
		{d.Interrogate(ctx, c), []string{"rack1-n07", "cannot be read"}},
	}
	for i, tc := range cases {
		if tc.r.Outcome != driver.Done {
			t.Errorf("case %d: outcome %v", i, tc.r.Outcome)
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.r.Message, w) {
				t.Errorf("case %d: %q does not say %q", i, tc.r.Message, w)
			}
		}
		if tc.r.Data["manual"] != true || tc.r.Data["verified"] != false {
			t.Errorf("case %d: data %v does not record that nothing was verified", i, tc.r.Data)
		}
	}
	if r := d.Power(ctx, c, "reset"); r.Outcome != driver.Failed {
		t.Errorf("unknown action: %v", r.Outcome)
	}
	site := &design.Site{Nodes: []*design.Node{n, {Name: "x", OOBType: "ipmi"}}}
	if r := d.ValidateServices(ctx, site); r.Outcome != driver.Done || !strings.Contains(r.Message, "1 nodes") {
		t.Errorf("validate: %+v", r)
	}
}
