package design

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readLshw(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nodeProfile returns the hardware profile of a compiled sample's node.
func nodeProfile(t testing.TB, s *Site, node string) *HardwareProfile {
	t.Helper()
	n := s.Node(node)
	if n == nil {
		t.Fatalf("no node %s", node)
	}
	hw := s.Design.HardwareProfile(n.HardwareProfile)
	if hw == nil {
		t.Fatalf("node %s: no hardware profile %q", node, n.HardwareProfile)
	}
	return hw
}

func wantNames(t testing.TB, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("logical names: got %v, want %v", got, want)
	}
}

// design_spec 3.4.2, deckhand_fullsite.yaml: eno1 at pci@0000:00:03.0 and /dev/sda at
// scsi@2:0.0.0; prim_nic02 (0000:00:04.0) is not in the inventory, so it is absent (the
// caller falls back to the alias).
func TestLogicalNamesFullsite(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	if s.Nodes[0].Name != "controller01" {
		t.Fatalf("nodes[0] is %s", s.Nodes[0].Name)
	}
	got, err := LogicalNames(nodeProfile(t, s, "controller01"), readLshw(t, "lshw-fullsite.xml"))
	if err != nil {
		t.Fatal(err)
	}
	wantNames(t, got, map[string]string{"primary_boot": "sda", "prim_nic01": "eno1"})
}

// Only the node's own profile counts: HPGen9v3-duplicate swaps the two NIC addresses, so with
// it the answer would differ.
func TestLogicalNamesOwnProfileOnly(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite.yaml")
	lshw := readLshw(t, "lshw-fullsite.xml")
	for _, n := range s.Nodes {
		if n.HardwareProfile != "HPGen9v3" {
			t.Fatalf("node %s has hardware profile %q", n.Name, n.HardwareProfile)
		}
	}
	dup := s.Design.HardwareProfile("HPGen9v3-duplicate")
	if dup == nil {
		t.Fatal("no HPGen9v3-duplicate")
	}
	got, err := LogicalNames(dup, lshw)
	if err != nil {
		t.Fatal(err)
	}
	wantNames(t, got, map[string]string{"primary_boot": "sda", "prim_nic02": "eno1"})
	got, err = LogicalNames(nodeProfile(t, s, "controller01"), lshw)
	if err != nil {
		t.Fatal(err)
	}
	if got["prim_nic01"] != "eno1" || got["prim_nic02"] != "" {
		t.Fatalf("the node's profile: %v", got)
	}
}

// design_spec 3.4.2, deckhand_fullsite_nic_autodetect.yaml: prim_nic01 is
// regexp:0000:(19|01):00\.0 and takes the first network node that matches in document order,
// eno3 at 0000:19:00.0, although it is disabled; prim_nic02 is eno4 at 0000:01:00.0;
// prim_nic03 (0000:00:03.0) is absent.
func TestLogicalNamesNICAutodetect(t *testing.T) {
	s := compileSample(t, "deckhand_fullsite_nic_autodetect.yaml")
	if s.Nodes[0].Name != "controller01" {
		t.Fatalf("nodes[0] is %s", s.Nodes[0].Name)
	}
	hw := nodeProfile(t, s, "controller01")
	if a := hw.Alias("prim_nic01"); a == nil || !strings.HasPrefix(a.Address, "regexp:") {
		t.Fatalf("prim_nic01 is %+v", a)
	}
	got, err := LogicalNames(hw, readLshw(t, "lshw-nic-autodetect.xml"))
	if err != nil {
		t.Fatal(err)
	}
	wantNames(t, got, map[string]string{"primary_boot": "sda", "prim_nic01": "eno3", "prim_nic02": "eno4"})
}

func TestLogicalNamesNoBuildData(t *testing.T) {
	hw := &HardwareProfile{Name: "hw", DeviceAliases: []DeviceAlias{{Alias: "nic", BusType: "pci", Address: "0000:00:03.0"}}}
	for _, data := range [][]byte{nil, []byte(" \n")} {
		got, err := LogicalNames(hw, data)
		if err != nil || len(got) != 0 {
			t.Fatalf("%q: got %v, %v; want an empty map", data, got, err)
		}
	}
	got, err := LogicalNames(nil, readLshw(t, "lshw-fullsite.xml"))
	if err != nil || len(got) != 0 {
		t.Fatalf("no profile: got %v, %v", got, err)
	}
}

// A network node without businfo is skipped by the regexp search (the original crashes), and
// by the plain one; nodes without a logicalname never answer; the first of several
// logicalnames is the one used; bus types other than pci and scsi work the same way.
func TestLogicalNamesEdgeCases(t *testing.T) {
	const lshw = `<?xml version="1.0" standalone="yes" ?>
<list>
<node id="sys" class="system">
  <node id="network:0" class="network" claimed="true"><logicalname>virbr0</logicalname></node>
  <node id="network:1" class="network" disabled="true"><businfo>pci@0000:3b:00.0</businfo></node>
  <node id="network:2" class="network"><businfo> pci@0000:3b:00.1 </businfo><logicalname>ens3f1</logicalname></node>
  <node id="usb" class="bus"><businfo>usb@1:2</businfo><logicalname>/dev/bus/usb/001/002</logicalname></node>
  <node id="volume" class="volume"><businfo>scsi@0:0.0.0,1</businfo><logicalname>/dev/sdb1</logicalname><logicalname>/boot</logicalname></node>
  <node id="nvme" class="storage"><businfo>pci@0000:5e:00.0</businfo><logicalname>/dev/nvme0</logicalname>
    <node id="namespace" class="disk"><businfo>nvme@0:1</businfo><logicalname>/dev/nvme0n1</logicalname></node>
  </node>
</node>
</list>`
	hw := &HardwareProfile{Name: "hw", DeviceAliases: []DeviceAlias{
		{Alias: "any", BusType: "pci", Address: "regexp:0000:3b"},
		{Alias: "first", BusType: "pci", Address: "0000:3b:00.0"}, // no logicalname
		{Alias: "second", BusType: "pci", Address: "0000:3b:00.1"},
		{Alias: "inner", BusType: "pci", Address: "regexp:00:00"}, // anchored: no match
		{Alias: "usbkey", BusType: "usb", Address: "1:2"},
		{Alias: "part", BusType: "scsi", Address: "0:0.0.0,1"},
		{Alias: "nvme", BusType: "pci", Address: "0000:5e:00.0"},
		{Alias: "ns", BusType: "nvme", Address: "0:1"},
		{Alias: "nvmere", BusType: "nvme", Address: "regexp:0000:5e"}, // regexp: network nodes only
		{Alias: "wrongbus", BusType: "scsi", Address: "0000:3b:00.1"},
	}}
	got, err := LogicalNames(hw, []byte(lshw))
	if err != nil {
		t.Fatal(err)
	}
	wantNames(t, got, map[string]string{"any": "ens3f1", "second": "ens3f1", "usbkey": "002",
		"part": "sdb1", "nvme": "nvme0", "ns": "nvme0n1"})
}

func TestLogicalNamesMalformed(t *testing.T) {
	hw := &HardwareProfile{Name: "hw", DeviceAliases: []DeviceAlias{{Alias: "nic", BusType: "pci", Address: "0000:00:03.0"}}}
	full := string(readLshw(t, "lshw-fullsite.xml"))
	for name, data := range map[string]string{
		"truncated":  full[:len(full)/2],
		"mismatched": `<list><node class="network"><businfo>pci@0000:00:03.0</node></list>`,
		"not xml":    `lshw: command not found`,
		"two roots":  `<list></list><list></list>`,
		"bad entity": `<list><node>&nbsp;</node></list>`,
	} {
		got, err := LogicalNames(hw, []byte(data))
		if err == nil || !strings.Contains(err.Error(), "malformed XML") {
			t.Errorf("%s: got %v, %v; want a malformed XML error", name, got, err)
		}
	}
}

func TestLogicalNamesBadRegexp(t *testing.T) {
	hw := &HardwareProfile{Name: "hw", DeviceAliases: []DeviceAlias{
		{Alias: "ok", BusType: "pci", Address: "0000:00:03.0"},
		{Alias: "broken_nic", BusType: "pci", Address: "regexp:0000:(19|01:00\\.0"},
	}}
	_, err := LogicalNames(hw, readLshw(t, "lshw-fullsite.xml"))
	if err == nil || !strings.Contains(err.Error(), "broken_nic") || !strings.Contains(err.Error(), "hw") {
		t.Fatalf("got %v; want an error naming the alias and the profile", err)
	}
}
