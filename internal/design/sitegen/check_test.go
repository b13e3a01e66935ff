package sitegen

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// checkSite decodes a generated site and checks it against the brief and the
// validation rules of design_spec.md section 4.
func checkSite(t *testing.T, o Options, b []byte) {
	docs := decodeAll(t, b)
	byKind := map[string][]doc{}
	seen := map[string]bool{}
	for _, d := range docs {
		key := d.kind + "/" + d.name
		if seen[key] {
			t.Fatalf("duplicate document %s", key)
		}
		seen[key] = true
		byKind[d.kind] = append(byKind[d.kind], d)
	}
	for _, k := range []string{"Region", "NetworkLink", "Network", "HardwareProfile", "HostProfile", "BaremetalNode", "BootAction"} {
		if len(byKind[k]) == 0 && (k != "BaremetalNode" || o.Nodes > 0) {
			t.Fatalf("no %s documents", k)
		}
	}
	if len(byKind["Region"]) != 1 {
		t.Fatalf("want 1 Region, got %d", len(byKind["Region"]))
	}
	region := byKind["Region"][0].data
	if td := list(t, region["tag_definitions"], "tag_definitions"); len(td) == 0 || mp(t, td[0], "tag_definition")["definition_type"] != "lshw_xpath" {
		t.Errorf("bad tag_definitions %v", td)
	}
	if keys := strs(t, region["authorized_keys"], "authorized_keys"); len(keys) != 1 || !strings.HasPrefix(keys[0], "ssh-ed25519 AAAA") {
		t.Errorf("bad authorized_keys %v", keys)
	}

	// IPs that belong to infrastructure: must not collide with anything.
	allIPs := map[netip.Addr]string{}
	claim := func(a netip.Addr, owner string) {
		if prev, ok := allIPs[a]; ok {
			t.Fatalf("duplicate IP %v: %s and %s", a, prev, owner)
		}
		allIPs[a] = owner
	}

	// Networks.
	nets := map[string]*netInfo{}
	for _, d := range byKind["Network"] {
		ni := &netInfo{}
		p, err := netip.ParsePrefix(str(t, d.data["cidr"], d.name+".cidr"))
		if err != nil || p.Masked() != p {
			t.Fatalf("network %s: bad CIDR %v (%v)", d.name, d.data["cidr"], err)
		}
		ni.prefix = p
		if v, ok := d.data["vlan"]; ok {
			ni.vlan = str(t, v, d.name+".vlan")
			if n, err := strconv.Atoi(ni.vlan); err != nil || n < 1 || n > 4094 {
				t.Errorf("network %s: bad vlan %q", d.name, ni.vlan)
			}
		}
		ni.mtu = num(t, d.data["mtu"], d.name+".mtu")
		if ni.mtu < 1280 || ni.mtu > 65536 {
			t.Errorf("network %s: mtu %d out of range", d.name, ni.mtu)
		}
		for k, r := range list(t, d.data["ranges"], d.name+".ranges") {
			rm := mp(t, r, fmt.Sprintf("%s.ranges[%d]", d.name, k))
			rg := ipRange{addr(t, rm["start"], d.name+" range start"), addr(t, rm["end"], d.name+" range end")}
			if rg.start.Compare(rg.end) > 0 || !p.Contains(rg.start) || !p.Contains(rg.end) {
				t.Errorf("network %s: range %v outside %v or reversed", d.name, rg, p)
			}
			for _, o := range ni.ranges {
				if o.contains(rg.start) || o.contains(rg.end) || rg.contains(o.start) {
					t.Errorf("network %s: ranges %v and %v overlap", d.name, o, rg)
				}
			}
			ni.ranges = append(ni.ranges, rg)
			switch rm["type"] {
			case "static":
				ni.static = append(ni.static, rg)
			case "dhcp":
				ni.dhcp = append(ni.dhcp, rg)
			case "reserved":
			default:
				t.Errorf("network %s: range type %v", d.name, rm["type"])
			}
		}
		if len(ni.static) == 0 {
			t.Errorf("network %s has no static range", d.name)
		}
		if routes, ok := d.data["routes"]; ok {
			for k, r := range list(t, routes, d.name+".routes") {
				rm := mp(t, r, fmt.Sprintf("%s.routes[%d]", d.name, k))
				gw := addr(t, rm["gateway"], d.name+" gateway")
				if !p.Contains(gw) {
					t.Errorf("network %s: gateway %v outside %v", d.name, gw, p)
				}
				if rm["subnet"] != "0.0.0.0/0" {
					t.Errorf("network %s: route subnet %v", d.name, rm["subnet"])
				}
				num(t, rm["metric"], d.name+" metric")
				claim(gw, "gateway of "+d.name)
			}
		}
		dns := mp(t, d.data["dns"], d.name+".dns")
		for _, l := range strings.Split(str(t, dns["domain"], d.name+".dns.domain"), ".") {
			if !labelRE.MatchString(l) {
				t.Errorf("network %s: bad domain label %q", d.name, l)
			}
		}
		for _, s := range strings.Split(str(t, dns["servers"], d.name+".dns.servers"), ",") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				t.Errorf("network %s: bad DNS server %q", d.name, s)
			}
			if p.Contains(a) {
				claim(a, "DNS server of "+d.name)
			}
		}
		nets[d.name] = ni
	}
	for _, want := range []string{"oob", "pxe", "mgmt", "private", "storage", "public"} {
		if nets[want] == nil {
			t.Fatalf("network %s missing", want)
		}
	}
	for a, na := range nets {
		for b, nb := range nets {
			if a < b && na.prefix.Overlaps(nb.prefix) {
				t.Errorf("networks %s and %s overlap", a, b)
			}
		}
	}
	if len(nets["pxe"].dhcp) == 0 {
		t.Errorf("pxe has no dhcp range")
	}

	// Network links.
	type linkInfo struct {
		allowed []string
		trunked bool
		native  string
		mtu     int
	}
	links := map[string]*linkInfo{}
	allowedOn := map[string]string{}
	for _, d := range byKind["NetworkLink"] {
		li := &linkInfo{mtu: num(t, d.data["mtu"], d.name+".mtu")}
		if li.mtu < 1280 || li.mtu > 65536 {
			t.Errorf("link %s: mtu %d", d.name, li.mtu)
		}
		li.allowed = strs(t, d.data["allowed_networks"], d.name+".allowed_networks")
		tr := mp(t, d.data["trunking"], d.name+".trunking")
		li.trunked = tr["mode"] == "802.1q"
		li.native = str(t, tr["default_network"], d.name+".default_network")
		if !contains(li.allowed, li.native) {
			t.Errorf("link %s: default network %s not allowed", d.name, li.native)
		}
		if !li.trunked {
			if tr["mode"] != "disabled" || len(li.allowed) != 1 {
				t.Errorf("link %s: untrunked with %v", d.name, li.allowed)
			}
			if nets[li.native].vlan != "" {
				t.Errorf("link %s: native network %s of untrunked link has a vlan", d.name, li.native)
			}
		}
		bond := mp(t, d.data["bonding"], d.name+".bonding")
		switch bond["mode"] {
		case "disabled":
			if len(bond) != 1 {
				t.Errorf("link %s: bond options with mode disabled: %v", d.name, bond)
			}
		case "802.3ad":
			mon := num(t, bond["mon_rate"], "mon_rate")
			if num(t, bond["up_delay"], "up_delay") < mon || num(t, bond["down_delay"], "down_delay") < mon {
				t.Errorf("link %s: delays below mon_rate: %v", d.name, bond)
			}
		default:
			t.Errorf("link %s: bonding mode %v", d.name, bond["mode"])
		}
		for _, n := range li.allowed {
			if prev, ok := allowedOn[n]; ok {
				t.Errorf("network %s allowed on links %s and %s", n, prev, d.name)
			}
			allowedOn[n] = d.name
			ni := nets[n]
			if ni == nil {
				t.Fatalf("link %s allows undefined network %s", d.name, n)
			}
			if ni.mtu > li.mtu {
				t.Errorf("network %s mtu %d > link %s mtu %d", n, ni.mtu, d.name, li.mtu)
			}
		}
		links[d.name] = li
	}
	for n := range nets {
		if allowedOn[n] == "" {
			t.Errorf("network %s is on no link", n)
		}
	}

	// Hardware profile.
	hw := map[string]map[string]any{}
	for _, d := range byKind["HardwareProfile"] {
		hw[d.name] = d.data
		pci := 0
		for alias, v := range mp(t, d.data["device_aliases"], "device_aliases") {
			am := mp(t, v, alias)
			str(t, am["address"], alias+".address")
			str(t, am["dev_type"], alias+".dev_type")
			if str(t, am["bus_type"], alias+".bus_type") == "pci" {
				pci++
			}
		}
		if pci != 2 {
			t.Errorf("hardware profile %s: %d pci aliases", d.name, pci)
		}
	}

	// Host profiles, flattened the way inheritance does it.
	type profile struct {
		parent, hardware string
		ifaces           map[string][]string // interface -> networks
		ifaceLink        map[string]string
		kparams          map[string]string
		storage          map[string]any
		oob              map[string]any
	}
	profiles := map[string]*profile{}
	readHost := func(d doc) *profile {
		pr := &profile{ifaces: map[string][]string{}, ifaceLink: map[string]string{}, kparams: map[string]string{}}
		if v, ok := d.data["host_profile"]; ok {
			pr.parent = str(t, v, d.name+".host_profile")
		}
		if v, ok := d.data["hardware_profile"]; ok {
			pr.hardware = str(t, v, d.name+".hardware_profile")
		}
		if v, ok := d.data["interfaces"]; ok {
			for name, iv := range mp(t, v, d.name+".interfaces") {
				im := mp(t, iv, d.name+"."+name)
				if nv, ok := im["networks"]; ok {
					pr.ifaces[name] = strs(t, nv, d.name+"."+name+".networks")
				} else {
					pr.ifaces[name] = nil
				}
				if l, ok := im["device_link"]; ok {
					pr.ifaceLink[name] = str(t, l, d.name+"."+name+".device_link")
				}
			}
		}
		if v, ok := d.data["platform"]; ok {
			if kp, ok := mp(t, v, "platform")["kernel_params"]; ok {
				for k, v := range mp(t, kp, "kernel_params") {
					pr.kparams[k] = fmt.Sprint(v)
				}
			}
		}
		if v, ok := d.data["storage"]; ok {
			pr.storage = mp(t, v, d.name+".storage")
		}
		if v, ok := d.data["oob"]; ok {
			pr.oob = mp(t, v, d.name+".oob")
		}
		return pr
	}
	for _, d := range byKind["HostProfile"] {
		profiles[d.name] = readHost(d)
	}
	var flatten func(pr *profile, depth int) *profile
	flatten = func(pr *profile, depth int) *profile {
		if pr.parent == "" {
			return pr
		}
		if depth > 10 {
			t.Fatalf("profile inheritance too deep")
		}
		pp := profiles[pr.parent]
		if pp == nil {
			t.Fatalf("unknown host profile %s", pr.parent)
		}
		par := flatten(pp, depth+1)
		out := &profile{hardware: pr.hardware, ifaces: map[string][]string{}, ifaceLink: map[string]string{}, kparams: map[string]string{}, storage: pr.storage, oob: pr.oob}
		if out.hardware == "" {
			out.hardware = par.hardware
		}
		if out.storage == nil {
			out.storage = par.storage
		} else if par.storage != nil {
			t.Errorf("storage declared on a child of a profile with storage (hits reference bug B-S1)")
		}
		if out.oob == nil {
			out.oob = par.oob
		}
		for k, v := range par.ifaces {
			out.ifaces[k] = v
			out.ifaceLink[k] = par.ifaceLink[k]
		}
		for k, v := range pr.ifaces {
			if strings.HasPrefix(k, "!") {
				delete(out.ifaces, k[1:])
				continue
			}
			if _, ok := par.ifaces[k]; !ok && pr.ifaceLink[k] == "" {
				t.Errorf("new interface %s without a link", k)
			}
			out.ifaces[k] = merge(v, par.ifaces[k])
			if l := pr.ifaceLink[k]; l != "" {
				out.ifaceLink[k] = l
			}
		}
		for k, v := range par.kparams {
			out.kparams[k] = v
		}
		for k, v := range pr.kparams {
			out.kparams[k] = v
		}
		return out
	}
	// The root profile's storage satisfies the boot-storage, partitioning and
	// mountpoint rules.
	def := profiles["defaults"]
	if def == nil || def.parent != "" {
		t.Fatalf("no root profile defaults")
	}
	checkStorage(t, def.storage)
	if def.oob["type"] != "ipmi" || def.oob["network"] != "oob" || def.oob["account"] == nil || def.oob["credential"] == nil {
		t.Errorf("bad oob %v", def.oob)
	}

	// Racks.
	rackDocs := map[string]bool{}
	for _, d := range byKind["Rack"] {
		rackDocs[d.name] = true
		for sw, v := range mp(t, d.data["tor_switches"], d.name+".tor_switches") {
			claim(addr(t, mp(t, v, sw)["mgmt_ip"], sw+".mgmt_ip"), "switch "+sw)
		}
		str(t, mp(t, d.data["labels"], d.name+".labels")["zone"], d.name+".zone")
		mp(t, d.data["location"], d.name+".location")
	}

	// Nodes.
	nodes := byKind["BaremetalNode"]
	if len(nodes) != o.Nodes {
		t.Fatalf("want %d BaremetalNode documents, got %d", o.Nodes, len(nodes))
	}
	width := max(5, len(strconv.Itoa(o.Nodes)))
	racksUsed := map[string]int{}
	roles := map[string]int{}
	labelsUsed := map[string]bool{}
	control := 0
	overridden := 0
	for k, d := range nodes {
		if want := fmt.Sprintf("node%0*d", width, k+1); d.name != want {
			t.Fatalf("node %d named %s, want %s", k, d.name, want)
		}
		pr := flatten(readHost(d), 0)
		if pr.hardware == "" || hw[pr.hardware] == nil {
			t.Fatalf("node %s: hardware profile %q", d.name, pr.hardware)
		}
		if len(d.data) > 3 {
			overridden++
		}
		// Kernel parameters: hugepages pair and references resolvable.
		_, hp := pr.kparams["hugepages"]
		_, hpsz := pr.kparams["hugepagesz"]
		if hp != hpsz {
			t.Errorf("node %s: hugepages without hugepagesz", d.name)
		}
		for k, v := range pr.kparams {
			if ref, ok := strings.CutPrefix(v, "hardwareprofile:"); ok {
				checkRef(t, hw[pr.hardware], d.name+" "+k, ref)
			}
		}
		// Interfaces.
		carried := map[string]bool{}
		for ifname, networks := range pr.ifaces {
			li := links[pr.ifaceLink[ifname]]
			if li == nil {
				t.Fatalf("node %s: interface %s on unknown link %q", d.name, ifname, pr.ifaceLink[ifname])
			}
			for _, n := range networks {
				if !contains(li.allowed, n) {
					t.Errorf("node %s: interface %s carries %s, not allowed on %s", d.name, ifname, n, pr.ifaceLink[ifname])
				}
				carried[n] = true
			}
		}
		// Addressing.
		hasOOB := false
		for j, a := range list(t, d.data["addressing"], d.name+".addressing") {
			am := mp(t, a, fmt.Sprintf("%s.addressing[%d]", d.name, j))
			netName := str(t, am["network"], "network")
			ni := nets[netName]
			if ni == nil {
				t.Fatalf("node %s: address on unknown network %s", d.name, netName)
			}
			if netName != pr.oob["network"] && !carried[netName] {
				t.Errorf("node %s: address on %s, which no interface carries", d.name, netName)
			}
			if am["address"] == "dhcp" {
				if len(ni.dhcp) == 0 {
					t.Errorf("node %s: dhcp on %s without dhcp range", d.name, netName)
				}
				continue
			}
			ip := addr(t, am["address"], d.name+" address")
			claim(ip, d.name+" on "+netName)
			if !ni.prefix.Contains(ip) {
				t.Errorf("node %s: %v outside %s %v", d.name, ip, netName, ni.prefix)
			}
			inStatic := false
			for _, r := range ni.static {
				inStatic = inStatic || r.contains(ip)
			}
			if !inStatic {
				t.Errorf("node %s: %v not in a static range of %s", d.name, ip, netName)
			}
			for n2, other := range nets {
				for _, r := range other.dhcp {
					if r.contains(ip) {
						t.Errorf("node %s: %v inside dhcp range of %s", d.name, ip, n2)
					}
				}
			}
			if netName == pr.oob["network"] {
				hasOOB = true
			}
		}
		if !hasOOB {
			t.Errorf("node %s: no static OOB address", d.name)
		}
		md := mp(t, d.data["metadata"], d.name+".metadata")
		rack := str(t, md["rack"], d.name+".rack")
		racksUsed[rack]++
		strs(t, md["tags"], d.name+".tags")
		od := mp(t, md["owner_data"], d.name+".owner_data")
		role := str(t, od["role"], d.name+".role")
		roles[role]++
		for k, v := range od {
			labelsUsed[k+"="+str(t, v, "owner_data value")] = true
		}
		if pp := str(t, d.data["host_profile"], "host_profile"); pp != role {
			t.Errorf("node %s: profile %s but role %s", d.name, pp, role)
		}
		if role == "control" {
			control++
		}
		// DD3003: FQDN labels (the primary network is mgmt).
		for _, l := range strings.Split(d.name+".mgmt.synthsite.example.com", ".") {
			if !labelRE.MatchString(l) {
				t.Errorf("node %s: bad FQDN label %q", d.name, l)
			}
		}
	}
	if o.Nodes >= 100 {
		if control < o.Nodes/25 || control > o.Nodes/15 {
			t.Errorf("%d control nodes of %d", control, o.Nodes)
		}
		if overridden < o.Nodes/12 || overridden > o.Nodes/8 {
			t.Errorf("%d overriding nodes of %d", overridden, o.Nodes)
		}
	}
	for r := range rackDocs {
		if racksUsed[r] == 0 {
			t.Errorf("Rack document %s holds no node", r)
		}
	}
	perRack := o.NodesPerRack
	if perRack == 0 {
		perRack = DefaultNodesPerRack
	}
	wantRacks := (o.Nodes + perRack - 1) / perRack
	if len(racksUsed) != wantRacks {
		t.Errorf("nodes name %d racks, want %d", len(racksUsed), wantRacks)
	}
	for r, n := range racksUsed {
		if n > perRack {
			t.Errorf("rack %s holds %d nodes", r, n)
		}
	}
	if missing := len(racksUsed) - len(rackDocs); wantRacks >= 3 && (missing < 1 || missing > wantRacks/5+1) {
		t.Errorf("%d of %d racks without a Rack document", missing, wantRacks)
	}

	// Boot actions.
	unfiltered := 0
	for _, d := range byKind["BootAction"] {
		f, ok := d.data["node_filter"]
		if !ok {
			unfiltered++
		} else {
			fm := mp(t, f, d.name+".node_filter")
			if fm["filter_set_type"] != "union" && fm["filter_set_type"] != "intersection" {
				t.Errorf("bootaction %s: filter_set_type %v", d.name, fm["filter_set_type"])
			}
			for _, fs := range list(t, fm["filter_set"], d.name+".filter_set") {
				fsm := mp(t, fs, "filter")
				if fsm["filter_type"] != "union" && fsm["filter_type"] != "intersection" {
					t.Errorf("bootaction %s: filter_type %v", d.name, fsm["filter_type"])
				}
				if v, ok := fsm["rack_names"]; ok && o.Nodes > 0 {
					matched := false
					for _, r := range strs(t, v, "rack_names") {
						matched = matched || racksUsed[r] > 0
					}
					if !matched {
						t.Errorf("bootaction %s: rack filter matches no node", d.name)
					}
				}
				if v, ok := fsm["node_labels"]; ok && o.Nodes > 1 {
					for k, lv := range mp(t, v, "node_labels") {
						if !labelsUsed[k+"="+str(t, lv, "label")] {
							t.Errorf("bootaction %s: label %s=%v matches no node", d.name, k, lv)
						}
					}
				}
			}
		}
		for j, a := range list(t, d.data["assets"], d.name+".assets") {
			am := mp(t, a, fmt.Sprintf("%s.assets[%d]", d.name, j))
			switch am["type"] {
			case "file", "unit":
				if p := str(t, am["path"], "path"); !strings.HasPrefix(p, "/") {
					t.Errorf("bootaction %s: path %q", d.name, p)
				}
				perm := str(t, am["permissions"], "permissions")
				if _, err := strconv.ParseUint(perm, 8, 12); err != nil || len(perm) != 3 {
					t.Errorf("bootaction %s: permissions %q", d.name, perm)
				}
				str(t, am["data"], "data")
				for _, p := range strs(t, am["data_pipeline"], "data_pipeline") {
					if !contains([]string{"base64_encode", "base64_decode", "utf8_encode", "utf8_decode", "template"}, p) {
						t.Errorf("bootaction %s: pipeline segment %q", d.name, p)
					}
				}
			case "pkg_list":
				pkgs := mp(t, am["data"], "pkg_list data")
				versions, nulls := 0, 0
				for pkg, v := range pkgs {
					if v == nil {
						nulls++
						continue
					}
					if s := str(t, v, pkg); !versionRE.MatchString(s) {
						t.Errorf("bootaction %s: version %q of %s", d.name, s, pkg)
					}
					versions++
				}
				if versions == 0 || nulls == 0 {
					t.Errorf("bootaction %s: want a versioned and a null package, got %v", d.name, pkgs)
				}
			default:
				t.Errorf("bootaction %s: asset type %v", d.name, am["type"])
			}
		}
	}
	if unfiltered != 1 || len(byKind["BootAction"]) != 3 {
		t.Errorf("want 3 bootactions, one unfiltered; got %d, %d unfiltered", len(byKind["BootAction"]), unfiltered)
	}
}

func checkRef(t *testing.T, hw map[string]any, what, ref string) {
	t.Helper()
	typ, rest, ok := strings.Cut(ref, ".")
	if !ok {
		t.Errorf("%s: bad reference %q", what, ref)
		return
	}
	switch typ {
	case "cpuset":
		if _, ok := mp(t, hw["cpu_sets"], "cpu_sets")[rest].(string); !ok {
			t.Errorf("%s: unknown cpuset %q", what, rest)
		}
	case "hugepages":
		conf, field, ok := strings.Cut(rest, ".")
		c, found := mp(t, hw["hugepages"], "hugepages")[conf]
		if !ok || !found || (field != "size" && field != "count") || mp(t, c, conf)[field] == nil {
			t.Errorf("%s: bad hugepages reference %q", what, ref)
		}
	default:
		t.Errorf("%s: unknown reference type %q", what, ref)
	}
}

func checkStorage(t *testing.T, st map[string]any) {
	t.Helper()
	mounts := map[string]bool{}
	mount := func(fs any) {
		mpnt := str(t, mp(t, fs, "filesystem")["mountpoint"], "mountpoint")
		if mounts[mpnt] {
			t.Errorf("duplicate mountpoint %s", mpnt)
		}
		mounts[mpnt] = true
	}
	sizeOf := func(v any) int {
		m := sizeRE.FindStringSubmatch(str(t, v, "size"))
		if m == nil {
			t.Fatalf("size %v not in whole gigabytes", v)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	usedVGs := map[string]bool{}
	rootSeen := false
	for dev, v := range mp(t, st["physical_devices"], "physical_devices") {
		dm := mp(t, v, dev)
		vg, hasVG := dm["volume_group"]
		parts, hasParts := dm["partitions"]
		if hasVG == hasParts {
			t.Errorf("device %s: want exactly one of volume_group and partitions", dev)
		}
		if hasVG {
			usedVGs[str(t, vg, dev+".volume_group")] = true
			continue
		}
		for _, p := range list(t, parts, dev+".partitions") {
			pm := mp(t, p, "partition")
			switch pm["name"] {
			case "root":
				rootSeen = true
				if sizeOf(pm["size"]) < 20 {
					t.Errorf("root smaller than 20g")
				}
			case "boot":
				if !rootSeen || sizeOf(pm["size"]) < 1 {
					t.Errorf("boot before root or smaller than 1g")
				}
			}
			mount(pm["filesystem"])
		}
	}
	if !rootSeen || !mounts["/"] || !mounts["/boot"] {
		t.Errorf("no root or boot partition")
	}
	for vg, v := range mp(t, st["volume_groups"], "volume_groups") {
		if !usedVGs[vg] {
			t.Errorf("volume group %s has no physical volume", vg)
		}
		for _, lv := range list(t, mp(t, v, vg)["logical_volumes"], vg+".logical_volumes") {
			lm := mp(t, lv, "logical volume")
			sizeOf(lm["size"])
			mount(lm["filesystem"])
		}
	}
	if !mounts["/var/log"] {
		t.Errorf("no /var/log volume")
	}
}
