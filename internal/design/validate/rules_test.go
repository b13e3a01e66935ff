package validate_test

import (
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
)

// The base design is valid: every rule reports only its Info success message, except
// platform.selection, which warns first that no node driver checked images and kernels.
func TestBaseIsClean(t *testing.T) {
	rep := loadBase(t).run()
	assertClean(t, rep)
	for _, r := range validate.Rules() {
		msgs := msgsOf(rep, r.Slug)
		if r.Slug == "platform.selection" {
			if len(msgs) != 2 || msgs[0].Level != design.LevelWarning {
				t.Errorf("%s: want a warning and the success message, got:\n%s", r.Slug, dump(msgs))
			}
			wantSuccess(t, rep, r.Slug)
			continue
		}
		if len(msgs) != 1 {
			t.Errorf("%s: want only the success message, got:\n%s", r.Slug, dump(msgs))
		}
		wantSuccess(t, rep, r.Slug)
	}
	// With the catalogue the original's tests used, platform.selection is silent too.
	rep = loadBase(t).run(validate.Options{Platform: xenialCatalog()})
	if msgs := msgsOf(rep, "platform.selection"); len(msgs) != 1 {
		t.Errorf("platform.selection with a catalogue: %s", dump(msgs))
	}
	if len(rep.Messages) != len(validate.Rules()) {
		t.Errorf("want exactly one message per rule, got:\n%s", dump(rep.Messages))
	}
}

// The model the rules read is what base.yaml means: this guards the base file itself.
func TestBaseModel(t *testing.T) {
	rep := loadBase(t).run()
	s := rep.Site
	if len(s.Nodes) != 3 {
		t.Fatalf("nodes: %d", len(s.Nodes))
	}
	want := map[string]string{"cmp01": "ipmi", "cmp02": "redfish", "vm01": "libvirt"}
	for _, n := range s.Nodes {
		if n.OOBType != want[n.Name] {
			t.Errorf("%s: oob type %q, want %q", n.Name, n.OOBType, want[n.Name])
		}
		if got := n.ProfileChain; len(got) != 2 || got[0] != "compute" || got[1] != "defaults" {
			t.Errorf("%s: profile chain %v", n.Name, got)
		}
		if n.FQDN != n.Name+".mgmt.testsite.example.com" {
			t.Errorf("%s: fqdn %s", n.Name, n.FQDN)
		}
		if v, _ := n.KernelParams.Get("hugepagesz"); v != "1G" {
			t.Errorf("%s: hugepagesz %q", n.Name, v)
		}
		if len(n.Interfaces) != 2 {
			t.Errorf("%s: interfaces %+v", n.Name, n.Interfaces)
		}
	}
	if cmp02 := s.Node("cmp02"); cmp02 != nil {
		if v, _ := cmp02.OOBParams.Get("network"); v != "oob" {
			t.Errorf("cmp02 lost its inherited oob network: %v", cmp02.OOBParams)
		}
	}
	if len(s.BootActions) != 1 || len(s.BootActions[0].Targets) != 3 {
		t.Errorf("boot action targets: %+v", s.BootActions)
	}
}
