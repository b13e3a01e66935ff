package validate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
)

// withMessage returns the messages whose text contains s.
func withMessage(msgs []design.Message, s string) []design.Message {
	var out []design.Message
	for _, m := range msgs {
		if strings.Contains(m.Message, s) {
			out = append(out, m)
		}
	}
	return out
}

// ---- node.references (DD3004) ----

func TestNodeReferences(t *testing.T) {
	t.Run("undefined host profile", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "host_profile", "nope").run()
		// Without its profile the node also has no hardware profile and no root filesystem.
		errs := wantErrorCounts(t, rep, map[string]int{"node.references": 2, "node.root-filesystem": 1})["node.references"]
		if len(errs) == 2 {
			checkMsg(t, errs[0], "node.references", expect{
				contains: []string{"BaremetalNode cmp01: its host_profile names host profile nope, which is not defined"},
				diag:     "Define the host profile or correct host_profile.",
				docs:     []string{"BaremetalNode/cmp01"},
			})
			checkMsg(t, errs[1], "node.references", expect{
				contains: []string{"BaremetalNode cmp01: no hardware profile is set"},
				docs:     []string{"BaremetalNode/cmp01"},
			})
		}
	})
	t.Run("undefined parent profile", func(t *testing.T) {
		// compute now adopts defaults2, a copy of defaults whose own parent is missing.
		v := loadBase(t).clone(kProfile, "defaults", "defaults2").
			set(kProfile, "defaults2", "host_profile", "nope").
			set(kProfile, "compute", "host_profile", "defaults2")
		rep := v.run()
		errs := wantErrors(t, rep, "node.references", 3)
		for i, node := range []string{"cmp01", "cmp02", "vm01"} {
			if i < len(errs) {
				checkMsg(t, errs[i], "node.references", expect{
					contains: []string{"BaremetalNode " + node + ": its host_profile of HostProfile defaults2 names host profile nope, which is not defined"},
					docs:     []string{"BaremetalNode/" + node},
				})
			}
		}
	})
	t.Run("inheritance cycle", func(t *testing.T) {
		rep := loadBase(t).set(kProfile, "defaults", "host_profile", "compute").run()
		errs := wantErrors(t, rep, "node.references", 3)
		for _, m := range errs {
			checkMsg(t, m, "node.references", expect{
				contains: []string{"host profile inheritance forms a cycle: compute -> defaults -> compute"},
				diag:     "Break the cycle",
			})
		}
	})
	t.Run("undefined hardware profile", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "hardware_profile", "nope").run()
		// The hardware-profile kernel parameters of cmp01 cannot be resolved either.
		errs := wantErrors(t, rep, "node.references", 4)
		if len(errs) == 4 {
			checkMsg(t, errs[0], "node.references", expect{
				contains: []string{"BaremetalNode cmp01: hardware profile nope is not defined"},
				docs:     []string{"BaremetalNode/cmp01"},
			})
			for _, m := range errs[1:] {
				checkMsg(t, m, "node.references", expect{
					contains: []string{"BaremetalNode cmp01: kernel parameter platform.kernel_params.", "the node has no hardware profile to resolve it against"},
					docs:     []string{"BaremetalNode/cmp01"},
				})
			}
		}
	})
	t.Run("unresolvable kernel parameters", func(t *testing.T) {
		rep := loadBase(t).
			set(kNode, "cmp01", "platform.kernel_params.isolcpus", "hardwareprofile:cpuset.nope").
			set(kNode, "cmp02", "platform.kernel_params.hugepages", "hardwareprofile:hugepages.dpdk.pages").
			run()
		errs := wantErrors(t, rep, "node.references", 2)
		if len(errs) == 2 {
			checkMsg(t, errs[0], "node.references", expect{
				contains: []string{`BaremetalNode cmp01: kernel parameter platform.kernel_params.isolcpus = hardwareprofile:cpuset.nope cannot be resolved: hardware profile dell-r640 has no cpu set "nope"`},
				diag:     "hardwareprofile:cpuset.<name>",
				docs:     []string{"BaremetalNode/cmp01"},
			})
			checkMsg(t, errs[1], "node.references", expect{
				contains: []string{"BaremetalNode cmp02: kernel parameter platform.kernel_params.hugepages", `unknown hugepages field "pages"`},
				docs:     []string{"BaremetalNode/cmp02"},
			})
		}
	})
	t.Run("undefined primary network", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "primary_network", "nope").run()
		one(t, rep, "node.references", expect{
			contains: []string{"BaremetalNode cmp01 has primary_network nope, which is not defined"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("undefined link", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "interfaces.bond0.device_link", "nope").run()
		// node.interface-networks leaves an undefined link to this rule.
		one(t, rep, "node.references", expect{
			contains: []string{"Interface bond0 of BaremetalNode cmp01 connected to undefined network link nope."},
			diag:     "Define the network link attached to this interface.",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("undefined interface network", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "interfaces.bond0.networks", y("[nope]")).run()
		errs := wantErrorCounts(t, rep, map[string]int{"node.references": 1, "node.interface-networks": 1})
		if m := errs["node.references"]; len(m) == 1 {
			checkMsg(t, m[0], "node.references", expect{
				contains: []string{"Interface bond0 of BaremetalNode cmp01 is attached to network nope, which is not defined"},
				docs:     []string{"BaremetalNode/cmp01"},
			})
		}
	})
	t.Run("undefined address network", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "addressing.5", y("{network: nope, address: 10.0.0.1}")).run()
		one(t, rep, "node.references", expect{
			contains: []string{"nope is not a valid network. (address 10.0.0.1 of BaremetalNode cmp01)"},
			diag:     "Define network or correct address definition.",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("undefined OOB network", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "oob.network", "nope").run()
		errs := wantErrorCounts(t, rep, map[string]int{"node.references": 1, "oob.ipmi": 1})
		if m := errs["node.references"]; len(m) == 1 {
			checkMsg(t, m[0], "node.references", expect{
				contains: []string{"The OOB network nope of BaremetalNode cmp01 is not defined"},
				docs:     []string{"BaremetalNode/cmp01"},
			})
		}
	})
	t.Run("unused profile: a warning", func(t *testing.T) {
		rep := loadBase(t).doc(kProfile, "spare", "{host_profile: nope, hardware_profile: hw-nope}").run()
		assertClean(t, rep)
		msgs := msgsOf(rep, "node.references")
		if len(msgs) != 3 {
			t.Fatalf("want two warnings and the success message, got:\n%s", dump(msgs))
		}
		checkMsg(t, msgs[0], "node.references", expect{
			level:    design.LevelWarning,
			contains: []string{"HostProfile spare (used by no node): its host_profile of HostProfile spare names host profile nope, which is not defined"},
			docs:     []string{"HostProfile/spare"},
		})
		checkMsg(t, msgs[1], "node.references", expect{
			level:    design.LevelWarning,
			contains: []string{"HostProfile spare (used by no node): hardware profile hw-nope is not defined"},
			docs:     []string{"HostProfile/spare"},
		})
		wantSuccess(t, rep, "node.references")
	})
	t.Run("near misses", func(t *testing.T) {
		// A rack without a Rack document, kernel device names, an unused valid profile.
		rep := loadBase(t).
			set(kNode, "cmp01", "metadata.rack", "rack99").
			set(kNode, "cmp01", "interfaces.ens3", y("{device_link: pxe, slaves: [ens3]}")).
			doc(kProfile, "spare", "{host_profile: defaults}").
			run()
		assertClean(t, rep)
		for _, m := range msgsOf(rep, "node.references") {
			if m.Level != design.LevelInfo {
				t.Errorf("want at most Info, got %s %s", m.Level, m.Message)
			}
		}
	})
}

// ---- node.interface-networks (DD1009) ----

func TestNodeInterfaceNetworks(t *testing.T) {
	t.Run("networks without a link", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "interfaces.ens3", y("{networks: [mgmt]}")).run()
		one(t, rep, "node.interface-networks", expect{
			contains: []string{"Interface ens3 of BaremetalNode cmp01 carries networks but has no device_link"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("network not allowed on the link", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", "interfaces.pxe.networks", y("[mgmt]")).run()
		one(t, rep, "node.interface-networks", expect{
			contains: []string{"Interface pxe of BaremetalNode cmp02 attached to network mgmt not allowed on interface link pxe"},
			diag:     "Interfaces can only be attached to networks allowed on the network link connected to the interface.",
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// An SR-IOV port with neither link nor networks; a network removed with '!name';
		// an address on a network the link allows but no interface lists.
		rep := loadBase(t).
			set(kNode, "cmp01", "interfaces.ens3f0", y("{sriov: {vf_count: 8, trustedmode: true}}")).
			set(kNode, "cmp01", "interfaces.bond0.networks", y("['!storage']")).
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "node.interface-networks")
		if nets := rep.Site.Node("cmp01").Interfaces[1].Networks; strings.Join(nets, ",") != "mgmt,private" {
			t.Errorf("cmp01 bond0 networks: %v", nets)
		}
	})
}

// ---- node.hostname (DD3003) ----

func TestNodeHostname(t *testing.T) {
	t.Run("invalid node name", func(t *testing.T) {
		rep := loadBase(t).clone(kNode, "vm01", "vm_01").drop(kNode, "vm01").run()
		one(t, rep, "node.hostname", expect{
			contains: []string{"Hostname vm_01 of BaremetalNode vm_01 is invalid"},
			diag:     "RFC 1035",
			docs:     []string{"BaremetalNode/vm_01"},
		})
	})
	t.Run("invalid DNS domain", func(t *testing.T) {
		rep := loadBase(t).set(kNet, "mgmt", "dns.domain", "mgmt_net.testsite.example.com").run()
		one(t, rep, "node.hostname", expect{
			contains: []string{"DNS domain mgmt_net.testsite.example.com of network mgmt is invalid - label 'mgmt_net' is invalid."},
			docs:     []string{"Network/mgmt"},
		})
	})
	t.Run("label too long", func(t *testing.T) {
		long := strings.Repeat("a", 64)
		rep := loadBase(t).set(kNet, "oob", "dns.domain", long+".example.com").run()
		one(t, rep, "node.hostname", expect{contains: []string{"label '" + long + "' is invalid."}, docs: []string{"Network/oob"}})
	})
	t.Run("FQDN too long", func(t *testing.T) {
		label := strings.Repeat("d", 62)
		domain := strings.Join([]string{label, label, label, label}, ".") // 251 characters
		rep := loadBase(t).
			set(kNet, "pxe", "dns.domain", domain).
			set(kNode, "cmp01", "primary_network", "pxe").
			run()
		one(t, rep, "node.hostname", expect{
			contains: []string{"FQDN cmp01." + domain + " is invalid, greater than 253 characters."},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// 63-character labels, inner hyphens, capitals, digits first, a trailing dot.
		name := "n" + strings.Repeat("0", 61) + "1"
		rep := loadBase(t).
			clone(kNode, "vm01", name).drop(kNode, "vm01").
			clone(kNode, name, "Cmp-03").drop(kNode, name).
			set(kNet, "mgmt", "dns.domain", "3rd-level."+strings.Repeat("x", 63)+".example.com.").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "node.hostname")
	})
}

// ---- node.root-filesystem (DD1005) ----

func TestNodeRootFilesystem(t *testing.T) {
	t.Run("no root", func(t *testing.T) {
		rep := loadBase(t).
			set(kNode, "cmp01", "storage.physical_devices.bootdisk.partitions", y("[{name: root, filesystem: {mountpoint: /srv}}]")).
			run()
		one(t, rep, "node.root-filesystem", expect{
			contains: []string{"BaremetalNode cmp01 has no root filesystem: no partition or logical volume is mounted at /"},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("near miss: root on a logical volume", func(t *testing.T) {
		rep := loadBase(t).
			set(kProfile, "defaults", "storage.physical_devices.bootdisk.partitions.0.filesystem.mountpoint", "/srv").
			set(kProfile, "defaults", "storage.volume_groups.data_vg.logical_volumes.2", y("{name: root_lv, size: 30g, filesystem: {mountpoint: /}}")).
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "node.root-filesystem")
	})
}

// ---- platform.hugepages (DD1008) ----

func TestPlatformHugepages(t *testing.T) {
	t.Run("hugepages without hugepagesz", func(t *testing.T) {
		// "!key" removes an inherited kernel parameter.
		rep := loadBase(t).set(kNode, "cmp01", "platform.kernel_params", y("{'!hugepagesz': ''}")).run()
		one(t, rep, "platform.hugepages", expect{
			contains: []string{"Invalid hugepages kernel configuration on BaremetalNode cmp01: hugepages is set without hugepagesz"},
			diag:     "hugepages and hugepagesz must be specified together",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("hugepagesz without hugepages", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", "platform.kernel_params", y("{'!hugepages': ''}")).run()
		one(t, rep, "platform.hugepages", expect{
			contains: []string{"Invalid hugepages kernel configuration on BaremetalNode cmp02: hugepagesz is set without hugepages"},
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("bad page size", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "platform.kernel_params.hugepagesz", "1GB").run()
		one(t, rep, "platform.hugepages", expect{
			contains: []string{`Invalid hugepagesz "1GB" on BaremetalNode cmp01`},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("bad page count", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "platform.kernel_params.hugepages", "lots").run()
		one(t, rep, "platform.hugepages", expect{
			contains: []string{`Invalid hugepages count "lots" on BaremetalNode cmp01`},
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// Literal values (a YAML integer count), neither parameter, and an unresolved
		// reference (node.references reports that one).
		rep := loadBase(t).
			set(kNode, "cmp01", "platform.kernel_params.hugepagesz", "2M").
			set(kNode, "cmp01", "platform.kernel_params.hugepages", 512).
			set(kNode, "cmp02", "platform.kernel_params", y("{'!hugepagesz': '', '!hugepages': ''}")).
			set(kNode, "vm01", "platform.kernel_params.hugepages", "hardwareprofile:hugepages.nope.count").
			run()
		wantErrors(t, rep, "node.references", 1)
		wantSuccess(t, rep, "platform.hugepages")
		if v, _ := rep.Site.Node("cmp01").KernelParams.Get("hugepages"); v != "512" {
			t.Errorf("hugepages: %q", v)
		}
	})
}

// ---- platform.selection (DD3001) ----

func TestPlatformSelection(t *testing.T) {
	only := []string{"platform.selection"}
	t.Run("invalid image", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "platform.image", "bionic").run(validate.Options{Platform: xenialCatalog()})
		one(t, rep, "platform.selection", expect{
			contains: []string{"Platform Validation: invalid image bionic (BaremetalNode cmp01)"},
			diag:     "Select a valid image from: xenial",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("invalid kernel", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", "platform.kernel", "lts").run(validate.Options{Platform: xenialCatalog()})
		one(t, rep, "platform.selection", expect{
			contains: []string{"invalid kernel lts", "BaremetalNode cmp02"},
			diag:     "Select a valid kernel from: ga-16.04,hwe-16.04",
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("catalogue error: a warning", func(t *testing.T) {
		cat := &platformCatalog{err: errors.New("MAAS is down")}
		rep := loadBase(t).set(kNode, "cmp01", "platform.image", "bionic").run(validate.Options{Platform: cat, Only: only})
		if len(rep.Messages) != 2 {
			t.Fatalf("want a warning and the success message, got:\n%s", dump(rep.Messages))
		}
		checkMsg(t, rep.Messages[0], "platform.selection", expect{
			level:    design.LevelWarning,
			contains: []string{"could not load images", "MAAS is down"},
			diag:     "Cannot validate platform selection without accessing the node provisioner.",
			noDocs:   true,
		})
		wantSuccess(t, rep, "platform.selection")
		if cat.calls != 1 {
			t.Errorf("catalogue asked %d times, want once per run", cat.calls)
		}
	})
	t.Run("no catalogue: one warning", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp01", "platform.image", "bionic").run(validate.Options{Only: only})
		if len(rep.Messages) != 2 {
			t.Fatalf("want a warning and the success message, got:\n%s", dump(rep.Messages))
		}
		checkMsg(t, rep.Messages[0], "platform.selection", expect{
			level:    design.LevelWarning,
			contains: []string{"No enabled node driver"},
			noDocs:   true,
		})
		wantSuccess(t, rep, "platform.selection")
	})
	t.Run("near misses", func(t *testing.T) {
		rep := loadBase(t).
			set(kNode, "cmp01", "platform.kernel", "hwe-16.04").
			set(kNode, "cmp02", "platform.kernel", "!"). // unset: the driver's default kernel
			run(validate.Options{Platform: xenialCatalog(), Only: only})
		if len(rep.Messages) != 1 {
			t.Errorf("want only the success message, got:\n%s", dump(rep.Messages))
		}
		wantSuccess(t, rep, "platform.selection")
	})
}

// ---- oob.ipmi (DD5001) and oob.redfish (DD5003) ----

func TestOOBIPMIAndRedfish(t *testing.T) {
	for _, p := range []string{"account", "credential"} {
		t.Run("IPMI without "+p, func(t *testing.T) {
			// cmp02 (redfish) sets its own account and credential; cmp01 inherits them.
			rep := loadBase(t).del(kProfile, "defaults", "oob."+p).run()
			one(t, rep, "oob.ipmi", expect{
				contains: []string{"OOB parameter " + p + " for IPMI node cmp01 missing."},
				diag:     "Define OOB parameter " + p,
				docs:     []string{"BaremetalNode/cmp01"},
			})
		})
	}
	t.Run("without network", func(t *testing.T) {
		rep := loadBase(t).del(kProfile, "defaults", "oob.network").run()
		errs := wantErrorCounts(t, rep, map[string]int{"oob.ipmi": 1, "oob.redfish": 1})
		if m := errs["oob.ipmi"]; len(m) == 1 {
			checkMsg(t, m[0], "oob.ipmi", expect{contains: []string{"OOB parameter network for IPMI node cmp01 missing."}, docs: []string{"BaremetalNode/cmp01"}})
		}
		if m := errs["oob.redfish"]; len(m) == 1 {
			checkMsg(t, m[0], "oob.redfish", expect{contains: []string{"OOB parameter network for Redfish node cmp02 missing."}, docs: []string{"BaremetalNode/cmp02"}})
		}
	})
	t.Run("redfish with an empty credential", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", "oob.credential", "").run()
		one(t, rep, "oob.redfish", expect{
			contains: []string{"OOB parameter credential for Redfish node cmp02 missing."},
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("IPMI without an address on the OOB network", func(t *testing.T) {
		rep := loadBase(t).del(kNode, "cmp01", "addressing.1").run()
		one(t, rep, "oob.ipmi", expect{
			contains: []string{"OOB address missing for IPMI node cmp01: it has no static address on its OOB network oob."},
			diag:     "Provide address to node OOB interface.",
			docs:     []string{"BaremetalNode/cmp01"},
		})
	})
	t.Run("redfish with a dhcp OOB address", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "cmp02", "addressing.1.address", "dhcp").run()
		one(t, rep, "oob.redfish", expect{
			contains: []string{"OOB address missing for Redfish node cmp02: it has no static address on its OOB network oob."},
			docs:     []string{"BaremetalNode/cmp02"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// A node that sets only its account keeps the profile's type, network and credential;
		// leftover libvirt keys on an IPMI node are ignored.
		rep := loadBase(t).
			set(kNode, "cmp01", "oob", y("{account: root}")).
			set(kNode, "cmp02", "oob.libvirt_uri", "qemu+ssh://virtuser@172.16.1.5/system").
			run()
		assertClean(t, rep)
		wantSuccess(t, rep, "oob.ipmi")
		wantSuccess(t, rep, "oob.redfish")
	})
}

func TestOOBCredentialFromFileOrEnvironment(t *testing.T) {
	for _, p := range []string{"credential_file", "credential_env"} {
		t.Run(p, func(t *testing.T) {
			rep := loadBase(t).set(kNode, "cmp02", "oob.credential", "").set(kNode, "cmp02", "oob."+p, "REDFISH_PW").run()
			assertClean(t, rep)
			wantSuccess(t, rep, "oob.redfish")
		})
	}
}

// ---- node.labels (DD3005) ----

func TestNodeLabels(t *testing.T) {
	rep := loadBase(t).set(kNode, "cmp01", "metadata.owner_data", y("{\"bad key!\": x, ok/role: \"not ok value!\", example.com/rack: r1}")).run()
	errs := wantErrorCounts(t, rep, map[string]int{"node.labels": 2})
	if m := errs["node.labels"]; len(m) == 2 {
		checkMsg(t, m[0], "node.labels", expect{contains: []string{`Label "bad key!" of node cmp01 (owner_data) is not a valid Kubernetes label key`}, docs: []string{"BaremetalNode/cmp01"}})
		checkMsg(t, m[1], "node.labels", expect{contains: []string{`Value "not ok value!" of label ok/role of node cmp01`}, docs: []string{"BaremetalNode/cmp01"}})
	}
	rep = loadBase(t).set(kNode, "cmp01", "metadata.owner_data", y("{example.com/rack: r1, role: compute, empty: \"\"}")).run()
	wantSuccess(t, rep, "node.labels")
}

// ---- oob.type (DD5004) ----

func TestOOBType(t *testing.T) {
	rep := loadBase(t).set(kNode, "cmp01", "oob.type", "idrac").run()
	one(t, rep, "oob.type", expect{
		contains: []string{"OOB type idrac of node cmp01 is not supported (supported: ipmi, libvirt, manual, redfish)."},
		docs:     []string{"BaremetalNode/cmp01"},
	})
	rep = loadBase(t).set(kNode, "cmp01", "oob", y("{type: manual}")).run()
	wantSuccess(t, rep, "oob.type")
}

// ---- oob.libvirt (DD5002) ----

func TestOOBLibvirt(t *testing.T) {
	t.Run("no URI", func(t *testing.T) {
		rep := loadBase(t).del(kNode, "vm01", "oob.libvirt_uri").run()
		one(t, rep, "oob.libvirt", expect{
			contains: []string{"OOB parameter libvirt_uri missing for node vm01."},
			diag:     "Provide libvirt URI to node hypervisor.",
			docs:     []string{"BaremetalNode/vm01"},
		})
	})
	t.Run("invalid scheme", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "vm01", "oob.libvirt_uri", "http://172.16.1.5/system").run()
		one(t, rep, "oob.libvirt", expect{
			contains: []string{"OOB parameter libvirt_uri has invalid scheme http (BaremetalNode vm01)."},
			docs:     []string{"BaremetalNode/vm01"},
		})
	})
	t.Run("no scheme at all", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "vm01", "oob.libvirt_uri", "virthost/system").run()
		one(t, rep, "oob.libvirt", expect{
			contains: []string{"OOB parameter libvirt_uri has invalid scheme virthost/system (BaremetalNode vm01)."},
			docs:     []string{"BaremetalNode/vm01"},
		})
	})
	t.Run("no boot MAC", func(t *testing.T) {
		rep := loadBase(t).del(kNode, "vm01", "metadata.boot_mac").run()
		one(t, rep, "oob.libvirt", expect{
			contains: []string{"libvirt-based node vm01 requires a defined boot MAC address."},
			diag:     "metadata.boot_mac",
			docs:     []string{"BaremetalNode/vm01"},
		})
	})
	t.Run("bad boot MAC", func(t *testing.T) {
		rep := loadBase(t).set(kNode, "vm01", "metadata.boot_mac", "52:54:00:a1:b2").run()
		one(t, rep, "oob.libvirt", expect{
			contains: []string{`Boot MAC address "52:54:00:a1:b2" of node vm01 is not a MAC address.`},
			docs:     []string{"BaremetalNode/vm01"},
		})
	})
	t.Run("near misses", func(t *testing.T) {
		// Other qemu schemes, capital hex digits, and IPMI keys left behind by a replaced
		// profile (account, credential, network) alongside libvirt_uri.
		for _, uri := range []string{"qemu:///system", "qemu+tls://virthost/system", "QEMU+SSH://virtuser@virthost/system"} {
			rep := loadBase(t).
				set(kNode, "vm01", "oob.libvirt_uri", uri).
				set(kNode, "vm01", "metadata.boot_mac", "52:54:00:A1:B2:C3").
				run()
			assertClean(t, rep)
			wantSuccess(t, rep, "oob.libvirt")
			if acct, _ := rep.Site.Node("vm01").OOBParams.Get("account"); acct != "admin" {
				t.Errorf("vm01 should keep the inherited account, got %q", acct)
			}
		}
	})
}

// The catalogue is optional: validate.Run works on a compiled site directly.
func TestRunOnCompiledSite(t *testing.T) {
	rep := loadBase(t).run()
	msgs := validate.Run(context.Background(), rep.Site, validate.Options{Platform: xenialCatalog()})
	if design.ErrorCount(msgs) != 0 || len(msgs) != len(validate.Rules()) {
		t.Errorf("want one success message per rule, got:\n%s", dump(msgs))
	}
}
