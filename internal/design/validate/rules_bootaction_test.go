package validate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
)

// ---- bootaction.definition (DD4001) ----

func TestBootactionDefinition(t *testing.T) {
	t.Run("asset without path", func(t *testing.T) {
		rep := loadBase(t).del(kBA, "site-setup", "assets.0.path").run()
		one(t, rep, "bootaction.definition", expect{
			contains: []string{"Asset 1 (file) of boot action site-setup has no path"},
			docs:     []string{"BootAction/site-setup"},
		})
	})
	t.Run("asset without data or location", func(t *testing.T) {
		rep := loadBase(t).del(kBA, "site-setup", "assets.1.data").run()
		one(t, rep, "bootaction.definition", expect{
			contains: []string{"Asset 2 (unit) of boot action site-setup has neither data nor a location"},
			docs:     []string{"BootAction/site-setup"},
		})
	})
	t.Run("data that is not base64", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "assets.0.data", "Hello {{ node.hostname }}").run()
		one(t, rep, "bootaction.definition", expect{
			contains: []string{"Asset 1 (file) of boot action site-setup: data is not valid base64"},
			diag:     "base64_decode",
			docs:     []string{"BootAction/site-setup"},
		})
	})
	t.Run("a Jinja template: a warning", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "assets.0.data", "V2VsY29tZSB0byB7eyBub2RlLmhvc3RuYW1lIH19Cg==").run()
		msgs := msgsOf(rep, "bootaction.template")
		if len(msgs) != 2 || !rep.Valid() {
			t.Fatalf("want warning + success, valid design, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "bootaction.template", expect{level: design.LevelWarning,
			contains: []string{`boot action "site-setup" asset 0 (/etc/motd): data_pipeline segment 2 (template)`, `function "node" not defined`, "{{ .node.x }}"},
			diag:     "Translate the template", docs: []string{"BootAction/site-setup"}})
	})
	t.Run("a Jinja statement in a Go template: a warning", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "assets.0.data_pipeline", []any{"template"}).
			set(kBA, "site-setup", "assets.0.data", "{% if x %}on{% endif %} {{ .node.hostname }}").run()
		msgs := msgsOf(rep, "bootaction.template")
		if len(msgs) != 2 {
			t.Fatalf("want warning + success, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "bootaction.template", expect{level: design.LevelWarning, contains: []string{"Jinja tag"}, docs: []string{"BootAction/site-setup"}})
	})
	t.Run("invalid node filter", func(t *testing.T) {
		// Reading the document already rejects a bad filter; the rule still reports a filter
		// the compiler could not apply.
		rep := loadBase(t).run()
		rep.Site.BootActions[0].FilterError = errors.New(`filter_set_type: "both" is not one of "union", "intersection"`)
		msgs := validate.Run(context.Background(), rep.Site, validate.Options{Only: []string{"bootaction.definition"}})
		errs := design.ErrorCount(msgs)
		if errs != 1 {
			t.Fatalf("want 1 error, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "bootaction.definition", expect{
			contains: []string{"Boot action site-setup has an invalid node_filter", `"both" is not one of`},
			docs:     []string{"BootAction/site-setup"},
		})
	})
	t.Run("filter that selects nothing: warnings", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "node_filter",
			y("{filter_set_type: union, filter_set: [{filter_type: union, node_names: [nope]}]}")).run()
		assertClean(t, rep)
		msgs := msgsOf(rep, "bootaction.definition")
		if len(msgs) != 5 {
			t.Fatalf("want 4 warnings and the success message, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "bootaction.definition", expect{
			level:    design.LevelWarning,
			contains: []string{"Boot action site-setup targets no nodes."},
			docs:     []string{"BootAction/site-setup"},
		})
		for i, node := range []string{"cmp01", "cmp02", "vm01"} {
			checkMsg(t, msgs[i+1], "bootaction.definition", expect{
				level:    design.LevelWarning,
				contains: []string{"Node " + node + " is not in scope for any bootactions."},
				diag:     "It is expected all nodes have at least one post-deploy action.",
				docs:     []string{"BaremetalNode/" + node},
			})
		}
		wantSuccess(t, rep, "bootaction.definition")
	})
	t.Run("node outside every boot action: a DD4001 warning", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "node_filter",
			y("{filter_set_type: union, filter_set: [{filter_type: union, node_names: [cmp01, vm01]}]}")).run()
		assertClean(t, rep)
		msgs := msgsOf(rep, "bootaction.definition")
		if len(msgs) != 2 {
			t.Fatalf("want 1 warning and the success message, got:\n%s", dump(msgs))
		}
		m := checkMsgCode(t, msgs[0], "DD4001")
		checkMsg(t, m, "bootaction.definition", expect{
			level:    design.LevelWarning,
			contains: []string{"Node cmp02 is not in scope for any bootactions."},
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// An asset fetched from a location; base64 data split over lines; no node_filter.
		rep := loadBase(t).
			del(kBA, "site-setup", "assets.1.data").
			set(kBA, "site-setup", "assets.1.location", "https://repo.testsite.example.com/site-setup.service").
			set(kBA, "site-setup", "assets.0.data", "V2VsY29tZSB0byB7eyBub2RlLmhv\nc3RuYW1lIH19Cg==\n").
			run()
		assertClean(t, rep)
		if msgs := msgsOf(rep, "bootaction.definition"); len(msgs) != 1 {
			t.Errorf("want only the success message, got:\n%s", dump(msgs))
		}
	})
}

func checkMsgCode(t *testing.T, m design.Message, code string) design.Message {
	t.Helper()
	if m.Code != code {
		t.Errorf("message %q: code %s, want %s", m.Message, m.Code, code)
	}
	return m
}

// ---- bootaction.pkg-list (DD4002) ----

func TestBootactionPkgList(t *testing.T) {
	t.Run("no packages", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "assets.2.data", y("{}")).run()
		one(t, rep, "bootaction.pkg-list", expect{
			contains: []string{"Bootaction site-setup has asset of type 'pkg_list' but no valid package data"},
			diag:     "pkg_list bootaction assets must specify a list of packages.",
			docs:     []string{"BootAction/site-setup"},
		})
	})
	t.Run("invalid version", func(t *testing.T) {
		rep := loadBase(t).set(kBA, "site-setup", "assets.2.data.foo", ":)").run()
		one(t, rep, "bootaction.pkg-list", expect{
			contains: []string{"Version specifier :) is not a valid format. (package foo, boot action site-setup)"},
			diag:     "pkg_list version specifications must be in a valid format.",
			docs:     []string{"BootAction/site-setup"},
		})
	})
	// The original's table of versions (design_spec.md 4.18).
	for _, c := range []struct {
		version string
		valid   bool
	}{
		{"3.2.1-1", true}, {"1:2.3-4ubuntu1", true}, {"1.0-1~bpo", true}, {"a-b-c", true},
		{"1.0", false}, {"1:1.0", false}, {"latest", false}, {">=1.0-1", false}, {":)", false},
	} {
		t.Run("version "+c.version, func(t *testing.T) {
			rep := loadBase(t).set(kBA, "site-setup", "assets.2.data.pkg", c.version).run()
			if c.valid {
				assertClean(t, rep)
				return
			}
			one(t, rep, "bootaction.pkg-list", expect{contains: []string{"Version specifier " + c.version + " is not a valid format."}})
		})
	}
	t.Run("near misses", func(t *testing.T) {
		// A null version means any version; a list fetched from a location needs no data.
		rep := loadBase(t).
			set(kBA, "site-setup", "assets.2.data.curl", nil).
			set(kBA, "site-setup", "assets.3", y("{type: pkg_list, location: 'https://repo.testsite.example.com/pkgs.yaml'}")).
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "bootaction.pkg-list")
		var found bool
		for _, a := range rep.Site.BootActions[0].Assets {
			for _, p := range a.PackageList {
				if p.Name == "curl" {
					found = p.Version == ""
				}
			}
		}
		if !found {
			t.Error("curl should be listed with no version")
		}
	})
}

// Messages never leak internal panics, whatever the variant.
func TestNoRuleFailsInternally(t *testing.T) {
	// A design that is broken in many ways at once.
	rep := loadBase(t).
		set(kNet, "oob", "cidr", "nonsense").
		set(kNet, "mgmt", "routes.0.gateway", "nonsense").
		set(kNet, "pxe", "ranges.0.start", "nonsense").
		set(kLink, "gp", "trunking.default_network", "nope").
		set(kLink, "gp", "bonding.mode", "active-backup").
		set(kNode, "cmp01", "addressing.2.address", "nonsense").
		set(kNode, "cmp01", "storage.physical_devices.sdc", y("{partitions: [{name: x}, {name: y, size: '>10%'}]}")).
		set(kNode, "cmp02", "host_profile", "nope").
		set(kProfile, "defaults", "host_profile", "compute").
		set(kNode, "vm01", "oob.libvirt_uri", "::").
		set(kBA, "site-setup", "assets.2.data", y("{}")).
		run()
	if rep.Valid() {
		t.Fatal("the design should be invalid")
	}
	if n := len(errorsOf(rep, "net.cidr")); n != 1 {
		t.Errorf("net.cidr: %d errors, want 1 (the oob CIDR)", n)
	}
	for _, m := range rep.Messages {
		if strings.Contains(m.Message, "failed internally") {
			t.Errorf("%s", m.Message)
		}
	}
	seen := map[string]bool{}
	for _, m := range rep.Messages {
		seen[m.Rule] = true
	}
	for _, r := range validate.Rules() {
		if !seen[r.Slug] {
			t.Errorf("rule %s reported nothing", r.Slug)
		}
	}
}
