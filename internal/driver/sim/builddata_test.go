package sim

import (
	"bytes"
	"encoding/xml"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/testutil"
)

// compileFiles parses and compiles design files (no validation), failing on ingest errors.
func compileFiles(t testing.TB, paths ...string) *design.Site {
	t.Helper()
	var srcs []design.Source
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, design.Source{Name: filepath.Base(p), Data: b})
	}
	in := design.Parse(srcs...)
	if !in.OK() {
		t.Fatalf("%v does not ingest: %v", paths, in.Messages)
	}
	return design.Compile(in.Design)
}

func exampleSite(t testing.TB) *design.Site {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testutil.ExampleSite(t), "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("example site: %v %v", paths, err)
	}
	sort.Strings(paths)
	return compileFiles(t, paths...)
}

func sampleSite(t testing.TB, name string) *design.Site {
	t.Helper()
	return compileFiles(t, filepath.Join(testutil.ModuleDir(t), "testdata", "drydock-samples", name))
}

func siteNode(t testing.TB, s *design.Site, name string) *design.Node {
	t.Helper()
	n := s.Node(name)
	if n == nil {
		t.Fatalf("no node %s", name)
	}
	return n
}

// until repeats a call while it answers InProgress, moving the clock on as told; it returns
// the final result and fails the test when an InProgress result carries build data.
func (e *env) until(c driver.Call, f func(driver.Call) driver.Result) driver.Result {
	e.t.Helper()
	for range 100 {
		r := f(c)
		if r.Outcome != driver.InProgress {
			return r
		}
		if len(r.BuildData) > 0 {
			e.t.Fatalf("an InProgress result carries build data: %q", r.Message)
		}
		d := r.RetryAfter
		if d <= 0 {
			d = 100 * time.Millisecond
		}
		e.clk.Advance(d)
	}
	e.t.Fatal("no convergence")
	return driver.Result{}
}

// commissioned enlists the node and commissions it with the step key; it returns the Done
// result of ConfigureHardware.
func (e *env) commissioned(site *design.Site, n *design.Node, key string) driver.Result {
	e.t.Helper()
	c := driver.Call{Site: site, Node: n, Key: "enlist/" + n.Name}
	want(e.t, "set boot", e.oob.SetNextBoot(e.ctx, c, driver.BootPXE), driver.Done, false)
	want(e.t, "power", e.oob.Power(e.ctx, c, driver.PowerCycle), driver.Done, false)
	e.clk.Advance(time.Second)
	c.Key = key
	r := e.until(c, func(c driver.Call) driver.Result { return e.node.ConfigureHardware(e.ctx, c) })
	want(e.t, "commissioned", r, driver.Done, false)
	return r
}

func buildData(t testing.TB, r driver.Result, gen string) driver.BuildData {
	t.Helper()
	for _, bd := range r.BuildData {
		if bd.Generator == gen {
			return bd
		}
	}
	t.Fatalf("no %s build data in %q", gen, r.Message)
	return driver.BuildData{}
}

// xnode is an lshw node as a test reads it.
type xnode struct {
	ID          string   `xml:"id,attr"`
	Class       string   `xml:"class,attr"`
	Disabled    string   `xml:"disabled,attr"`
	BusInfo     string   `xml:"businfo"`
	LogicalName []string `xml:"logicalname"`
	Serial      string   `xml:"serial"`
	Nodes       []xnode  `xml:"node"`
}

// lshwByBus parses lshw XML (failing on malformed XML) and indexes its nodes by businfo.
func lshwByBus(t testing.TB, data []byte) map[string]xnode {
	t.Helper()
	var doc struct {
		XMLName xml.Name `xml:"list"`
		Node    xnode    `xml:"node"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("lshw XML: %v\n%s", err, data)
	}
	if doc.Node.Class != "system" {
		t.Fatalf("lshw root node class %q", doc.Node.Class)
	}
	out := map[string]xnode{}
	var walk func(xnode)
	walk = func(n xnode) {
		if n.BusInfo != "" {
			if _, dup := out[n.BusInfo]; dup {
				t.Fatalf("businfo %s twice", n.BusInfo)
			}
			out[n.BusInfo] = n
		}
		for _, c := range n.Nodes {
			walk(c)
		}
	}
	walk(doc.Node)
	return out
}

type lldpDoc struct {
	XMLName    xml.Name `xml:"lldp"`
	Interfaces []struct {
		Name    string `xml:"name,attr"`
		Chassis struct {
			Name string `xml:"name"`
		} `xml:"chassis"`
		Port struct {
			ID string `xml:"id"`
		} `xml:"port"`
	} `xml:"interface"`
}

func parseLLDP(t testing.TB, data []byte) lldpDoc {
	t.Helper()
	var doc lldpDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("lldp XML: %v\n%s", err, data)
	}
	return doc
}

// TestCommissionBuildData: commissioning a node of the example site reports lshw, LLDP and a
// script's output; the devices sit at the hardware profile's alias addresses, so the aliases
// resolve from the lshw the simulator generates.
func TestCommissionBuildData(t *testing.T) {
	e := newEnv(t, "", Config{})
	site := exampleSite(t)
	n := siteNode(t, site, "ctl01")
	r := e.commissioned(site, n, "t1/hw/ctl01")
	var gens []string
	for _, bd := range r.BuildData {
		gens = append(gens, bd.Generator+" "+bd.Format)
	}
	eq(t, "generators", gens, []string{"lshw text/xml", "lldp text/xml", "commission:00-maas-01-cpuinfo text/plain"})
	m := e.machine("ctl01")
	for _, bd := range r.BuildData {
		if !bd.Collected.Equal(opEnd(&m)) || bd.Collected.After(e.clk.Now()) {
			t.Fatalf("%s collected %v; commissioning ended %v", bd.Generator, bd.Collected, opEnd(&m))
		}
	}

	lshw := buildData(t, r, GenLshw).Data
	nodes := lshwByBus(t, lshw)
	mac := map[string]string{}
	for _, nic := range m.NICs {
		mac[nic.Name] = nic.MAC
	}
	for _, w := range []struct{ bus, class, kernel, serial string }{
		{"pci@0000:18:00.0", "network", "enp24s0", mac["nic-pxe"]},
		{"pci@0000:3b:00.0", "network", "enp59s0f0", mac["nic-data0"]},
		{"pci@0000:3b:00.1", "network", "enp59s0f1", mac["nic-data1"]},
		{"scsi@0:2.0.0", "disk", "/dev/sda", ""},
	} {
		got, ok := nodes[w.bus]
		if !ok {
			t.Fatalf("no node at %s in\n%s", w.bus, lshw)
		}
		if got.Class != w.class || len(got.LogicalName) != 1 || got.LogicalName[0] != w.kernel ||
			w.serial != "" && got.Serial != w.serial || got.Disabled != "" {
			t.Fatalf("%s: %+v, want class %s, logicalname %s, serial %s", w.bus, got, w.class, w.kernel, w.serial)
		}
	}
	names, err := design.LogicalNames(site.Design.HardwareProfile(n.HardwareProfile), lshw)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "resolved aliases", names, map[string]string{"nic-pxe": "enp24s0", "nic-data0": "enp59s0f0",
		"nic-data1": "enp59s0f1", "bootdisk": "sda"})

	lldp := parseLLDP(t, buildData(t, r, GenLLDP).Data)
	var seen []string
	for _, i := range lldp.Interfaces {
		seen = append(seen, i.Name+"@"+i.Chassis.Name)
		if !strings.HasPrefix(i.Port.ID, "Ethernet") {
			t.Fatalf("port %q", i.Port.ID)
		}
	}
	eq(t, "lldp neighbours", seen, []string{"enp24s0@tor01a", "enp59s0f0@tor01a", "enp59s0f1@tor01a"})
	if cpu := buildData(t, r, GenCPUInfo).Data; !bytes.Contains(cpu, []byte("Socket(s):           2")) {
		t.Fatalf("cpuinfo:\n%s", cpu)
	}

	// The same step again (its answer was lost, say) gets the same records; another task finds
	// the machine commissioned and reports none.
	again := e.node.ConfigureHardware(e.ctx, driver.Call{Site: site, Node: n, Key: "t1/hw/ctl01"})
	want(t, "same step", again, driver.Done, false)
	if !reflect.DeepEqual(again.BuildData, r.BuildData) {
		t.Fatal("a repeat of the step returned other build data")
	}
	other := e.node.ConfigureHardware(e.ctx, driver.Call{Site: site, Node: n, Key: "t2/hw/ctl01"})
	want(t, "other task", other, driver.Done, true)
	eq(t, "build data of a skip", len(other.BuildData), 0)
}

// TestBuildDataDeterministic: the same machine on two sites reports byte-identical records;
// two machines differ; a rack without a Rack document gets a switch named after it.
func TestBuildDataDeterministic(t *testing.T) {
	site := exampleSite(t)
	run := func(node string) driver.Result {
		e := newEnv(t, "", Config{})
		return e.commissioned(site, siteNode(t, site, node), "t/hw/"+node)
	}
	a, b := run("cmp02"), run("cmp02")
	if !reflect.DeepEqual(a.BuildData, b.BuildData) {
		t.Fatal("two commissionings of cmp02 report different build data")
	}
	c := run("cmp03")
	if bytes.Equal(buildData(t, a, GenLshw).Data, buildData(t, c, GenLshw).Data) {
		t.Fatal("cmp02 and cmp03 have the same lshw")
	}
	for _, i := range parseLLDP(t, buildData(t, a, GenLLDP).Data).Interfaces {
		eq(t, "switch of rack02", i.Chassis.Name, "rack02-tor")
	}
}

// TestCommissionBuildDataLostAnswer: the answer of the call that completes commissioning is
// lost; the step's next call still returns the records.
func TestCommissionBuildDataLostAnswer(t *testing.T) {
	e := newEnv(t, "", Config{Faults: map[string]Fault{"ctl01": {Commission: {Lost: 1}}}})
	site := exampleSite(t)
	n := siteNode(t, site, "ctl01")
	c := driver.Call{Site: site, Node: n, Key: "enlist"}
	e.oob.SetNextBoot(e.ctx, c, driver.BootPXE)
	e.oob.Power(e.ctx, c, driver.PowerCycle)
	e.clk.Advance(time.Second)
	c.Key = "t1/hw"
	want(t, "start, answer lost", e.node.ConfigureHardware(e.ctx, c), driver.Unreachable, false)
	want(t, "observe", e.node.ConfigureHardware(e.ctx, c), driver.InProgress, false)
	e.clk.Advance(time.Minute)
	want(t, "completion, answer lost", e.node.ConfigureHardware(e.ctx, c), driver.Unreachable, false)
	r := e.node.ConfigureHardware(e.ctx, c)
	want(t, "retry", r, driver.Done, false)
	eq(t, "records", len(r.BuildData), 3)
}

// TestCommissionFailedBuildData: a failed commissioning reports the script's output only.
func TestCommissionFailedBuildData(t *testing.T) {
	e := newEnv(t, "", Config{Fault: Fault{Commission: {Fail: 1}}})
	n := testNode("cmp01")
	e.oob.SetNextBoot(e.ctx, callFor(n, "a"), driver.BootPXE)
	e.oob.Power(e.ctx, callFor(n, "a"), driver.PowerCycle)
	e.clk.Advance(time.Second)
	r := e.until(callFor(n, "t1/hw"), func(c driver.Call) driver.Result { return e.node.ConfigureHardware(e.ctx, c) })
	want(t, "failed", r, driver.Failed, false)
	if len(r.BuildData) != 1 || r.BuildData[0].Generator != GenCPUInfo {
		t.Fatalf("build data of a failed commissioning: %+v", r.BuildData)
	}
}

// TestBuildDataWithoutProfile: without a site (no hardware profile) NICs and disks keep the
// design's names at generated addresses.
func TestBuildDataWithoutProfile(t *testing.T) {
	n := testNode("cmp01")
	m := newMachine(n, t0)
	r := driver.Result{BuildData: commissionBuildData(&m, driver.Call{Node: n}, true)}
	nodes := lshwByBus(t, buildData(t, r, GenLshw).Data)
	for bus, kernel := range map[string]string{"pci@0000:81:00.0": "eno1", "pci@0000:81:00.1": "eno2",
		"pci@0000:82:00.0": "eno3", "scsi@0:0.0.0": "/dev/sda", "scsi@0:0.1.0": "/dev/sdb"} {
		if got := nodes[bus].LogicalName; len(got) != 1 || got[0] != kernel {
			t.Fatalf("%s: logicalname %v, want %s", bus, got, kernel)
		}
	}
	lldp := parseLLDP(t, buildData(t, r, GenLLDP).Data)
	eq(t, "neighbours", len(lldp.Interfaces), 3)
	eq(t, "switch", lldp.Interfaces[0].Chassis.Name, "sim-tor")
}

// TestBuildDataSampleAliases: the original samples' profiles, including a regexp alias and an
// alias the node does not use, resolve on the simulated hardware; every resolved name is the
// logical name of the device at the alias's address.
func TestBuildDataSampleAliases(t *testing.T) {
	for _, tc := range []struct {
		sample string
		want   map[string]string
	}{
		// sda and sdb are the design's own kernel names; primary_boot is a third disk.
		{"deckhand_fullsite.yaml", map[string]string{"prim_nic01": "enp0s3", "prim_nic02": "enp0s4", "primary_boot": "sdc"}},
		// prim_nic01 is regexp:0000:(19|01):00\.0: it sits at 0000:19:00.0; prim_nic03 is not
		// used by the node but present (not cabled).
		{"deckhand_fullsite_nic_autodetect.yaml", map[string]string{"prim_nic01": "enp25s0", "prim_nic02": "enp1s0",
			"prim_nic03": "enp0s3", "primary_boot": "sdc"}},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			site := sampleSite(t, tc.sample)
			n := siteNode(t, site, "controller01")
			hw := site.Design.HardwareProfile(n.HardwareProfile)
			m := newMachine(n, t0)
			bds := commissionBuildData(&m, driver.Call{Site: site, Node: n}, true)
			lshw := buildData(t, driver.Result{BuildData: bds}, GenLshw).Data
			got, err := design.LogicalNames(hw, lshw)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("resolved %v, want %v\n%s", got, tc.want, lshw)
			}
			nodes := lshwByBus(t, lshw)
			for _, a := range hw.DeviceAliases {
				addr := strings.ReplaceAll(a.Address, "regexp:", "")
				if strings.Contains(a.Address, "regexp:") {
					addr, _ = exampleAddress(addr)
				}
				dev, ok := nodes[a.BusType+"@"+addr]
				if !ok || dev.LogicalName[0] != "/dev/"+got[a.Alias] && dev.LogicalName[0] != got[a.Alias] {
					t.Fatalf("alias %s: node %+v, resolved %q", a.Alias, dev, got[a.Alias])
				}
			}
		})
	}
}

// TestDeployBuildData: the deploy steps log the device names the call resolved, and the
// completed deployment reports the installer's output once per step.
func TestDeployBuildData(t *testing.T) {
	e := newEnv(t, "", Config{})
	site := exampleSite(t)
	n := siteNode(t, site, "ctl01")
	hw := e.commissioned(site, n, "t1/hw")
	names, err := design.LogicalNames(site.Design.HardwareProfile(n.HardwareProfile), buildData(t, hw, GenLshw).Data)
	if err != nil {
		t.Fatal(err)
	}
	c := driver.Call{Site: site, Node: n, DeviceNames: names}
	for _, step := range []func(driver.Call) driver.Result{
		func(c driver.Call) driver.Result { return e.node.ApplyNetworking(e.ctx, c) },
		func(c driver.Call) driver.Result { return e.node.ApplyStorage(e.ctx, c) },
		func(c driver.Call) driver.Result { return e.node.ApplyPlatform(e.ctx, c) },
	} {
		c.Key = "t2/apply"
		r := step(c)
		want(t, "apply", r, driver.Done, false)
		eq(t, "apply build data", len(r.BuildData), 0)
	}
	log, err := e.site.Log(e.ctx, "ctl01")
	if err != nil {
		t.Fatal(err)
	}
	details := map[string]string{}
	for _, o := range log {
		details[o.Operation] = o.Detail
	}
	for op, part := range map[string]string{
		LogApplyNetworking: "interfaces: pxe on nic-pxe=enp24s0, bond0 on nic-data0=enp59s0f0 nic-data1=enp59s0f1",
		LogApplyStorage:    "devices: bootdisk=sda",
	} {
		if !strings.Contains(details[op], part) {
			t.Fatalf("%s detail %q, want it to contain %q", op, details[op], part)
		}
	}

	c.Key = "t2/deploy"
	r := e.until(c, func(c driver.Call) driver.Result { return e.node.Deploy(e.ctx, c) })
	want(t, "deployed", r, driver.Done, false)
	if len(r.BuildData) != 1 {
		t.Fatalf("deploy build data: %+v", r.BuildData)
	}
	bd := r.BuildData[0]
	m := e.machine("ctl01")
	eq(t, "generator", bd.Generator+" "+bd.Format, GenCurtin+" text/plain")
	eq(t, "collected", bd.Collected, opEnd(&m))
	for _, part := range []string{"installing jammy (kernel ga-22.04)", "storage /dev/sda (bootdisk): root 50g / ext4",
		"network bond0 on nic-data0=enp59s0f0 nic-data1=enp59s0f1", "Installation finished."} {
		if !strings.Contains(string(bd.Data), part) {
			t.Fatalf("deploy record lacks %q:\n%s", part, bd.Data)
		}
	}
	again := e.node.Deploy(e.ctx, c)
	want(t, "same step", again, driver.Done, false)
	if !reflect.DeepEqual(again.BuildData, r.BuildData) {
		t.Fatal("a repeat of the deploy step returned other build data")
	}
	c.Key = "t3/deploy"
	skip := e.node.Deploy(e.ctx, c)
	want(t, "other task", skip, driver.Done, true)
	eq(t, "build data of a skip", len(skip.BuildData), 0)
}

func TestExampleAddress(t *testing.T) {
	for expr, want := range map[string]string{
		`0000:(19|01):00\.0`:               "0000:19:00.0",
		`0000:3b`:                          "0000:3b:00.0",
		`[0-9a-f]{4}:1[89]:00\.[01]`:       "0000:18:00.0",
		`0000:5E:00\.\d`:                   "0000:5E:00.0",
		`(?:0000|0001):af:0[0-3]\.[0-7]+$`: "0000:af:00.0",
		`(`:                                "",
		`eth.*`:                            "",
	} {
		got, ok := exampleAddress(expr)
		if got != want || ok != (want != "") {
			t.Errorf("%s: got %q, %v; want %q", expr, got, ok, want)
		}
	}
}

func TestDiskLetters(t *testing.T) {
	for i, want := range map[int]string{0: "a", 1: "b", 25: "z", 26: "aa", 27: "ab", 51: "az", 52: "ba", 701: "zz", 702: "aaa"} {
		if got := diskLetters(i); got != want {
			t.Errorf("diskLetters(%d) = %q, want %q", i, got, want)
		}
	}
}

// Hardware presents the machine exactly as its lshw build data does.
func TestHardwareMatchesLshw(t *testing.T) {
	s, err := Open("", Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	site := exampleSite(t)
	n := site.Nodes[0]
	if err := s.Ensure(n); err != nil {
		t.Fatal(err)
	}
	nics, disks, err := s.Hardware(site, n)
	if err != nil || len(nics) == 0 || len(disks) == 0 {
		t.Fatalf("hardware: %v %v %v", nics, disks, err)
	}
	m, _ := s.Machine(n.Name)
	lshw := string(inventoryOf(&m, profileOf(site, n)).lshw())
	for _, c := range nics {
		if !strings.Contains(lshw, "<businfo>pci@"+c.PCIAddress+"</businfo>") || !strings.Contains(lshw, "<logicalname>"+c.Name+"</logicalname>") ||
			!strings.Contains(lshw, c.MAC) {
			t.Errorf("NIC %+v is not in the lshw document", c)
		}
	}
	for _, d := range disks {
		if !strings.Contains(lshw, "<businfo>"+d.BusInfo+"</businfo>") || !strings.Contains(lshw, "/dev/"+d.Name) {
			t.Errorf("disk %+v is not in the lshw document", d)
		}
	}
	names, err := design.LogicalNames(profileOf(site, n), []byte(lshw))
	if err != nil || names["nic-pxe"] == "" {
		t.Fatalf("aliases: %v %v", names, err)
	}
	found := false
	for _, c := range nics {
		found = found || (c.Name == names["nic-pxe"] && c.Design == "nic-pxe")
	}
	if !found {
		t.Errorf("nic-pxe resolves to %s, which Hardware does not list as nic-pxe: %+v", names["nic-pxe"], nics)
	}
}
