package design

import (
	"math"
	"strconv"
	"strings"

	"github.com/drydock-go/drydock/internal/design/yaml11"
	"github.com/drydock-go/drydock/internal/nodefilter"
)

// decoder turns a schema-checked document body into its typed model. The schema has already
// checked types, so problems here are rare; each one is reported with the field path and line.
type decoder struct {
	c *docCtx
}

type node = yaml11.Node

// obj is a mapping being decoded.
type obj struct {
	d     *decoder
	n     *node
	path  string
	pairs []yaml11.Pair
}

func (d *decoder) obj(n *node, path string) obj {
	o := obj{d: d, n: n, path: path}
	if n == nil || yaml11.IsNull(n) {
		return o
	}
	ps, err := yaml11.Pairs(n)
	if err != nil {
		d.c.failErr(n, path, err)
		return o
	}
	o.pairs = ps
	return o
}

func (o obj) sub(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

func (o obj) node(key string) *node {
	for _, p := range o.pairs {
		if p.Key == key {
			if yaml11.IsNull(p.Value) {
				return nil
			}
			return p.Value
		}
	}
	return nil
}

func (o obj) has(key string) bool { return o.node(key) != nil }

func (o obj) child(key string) obj { return o.d.obj(o.node(key), o.sub(key)) }

func (d *decoder) text(n *node, path string) string {
	s, err := yaml11.Text(n)
	if err != nil {
		d.c.failErr(n, path, err)
		return ""
	}
	return s
}

func (o obj) str(key string) string {
	n := o.node(key)
	if n == nil {
		return ""
	}
	return o.d.text(n, o.sub(key))
}

func (o obj) optStr(key string) *string {
	n := o.node(key)
	if n == nil {
		return nil
	}
	s := o.d.text(n, o.sub(key))
	return &s
}

func (o obj) optInt(key string) *int {
	n := o.node(key)
	if n == nil {
		return nil
	}
	v, err := yaml11.Scalar(n)
	if err != nil {
		o.d.c.fail(n, o.sub(key), "%v", err)
		return nil
	}
	switch x := v.(type) {
	case int64:
		i := int(x)
		return &i
	case float64:
		// An integral float such as 1e22 passes the schema's "integer"; converting one
		// outside the int range would silently give a garbage value.
		if x == math.Trunc(x) && x >= math.MinInt && x < math.MaxInt {
			i := int(x)
			return &i
		}
	case string:
		if i, err := strconv.Atoi(x); err == nil {
			return &i
		}
	}
	o.d.c.fail(n, o.sub(key), "expected an integer")
	return nil
}

func (o obj) optBool(key string) *bool {
	n := o.node(key)
	if n == nil {
		return nil
	}
	v, err := yaml11.Scalar(n)
	if b, ok := v.(bool); ok && err == nil {
		return &b
	}
	o.d.c.fail(n, o.sub(key), "expected true or false")
	return nil
}

func (o obj) strList(key string) []string {
	n := o.node(key)
	if n == nil {
		return nil
	}
	items, err := yaml11.Items(n)
	if err != nil {
		o.d.c.fail(n, o.sub(key), "%v", err)
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		out = append(out, o.d.text(it, o.sub(key)+"["+strconv.Itoa(i)+"]"))
	}
	return out
}

func (o obj) kv(key string) KV {
	c := o.child(key)
	if c.pairs == nil {
		return nil
	}
	out := make(KV, 0, len(c.pairs))
	for _, p := range c.pairs {
		out = append(out, KVPair{p.Key, o.d.text(p.Value, c.sub(p.Key))})
	}
	return out
}

func (o obj) each(fn func(key string, v obj)) {
	for _, p := range o.pairs {
		fn(p.Key, o.d.obj(p.Value, o.sub(p.Key)))
	}
}

func (o obj) list(key string) []obj {
	n := o.node(key)
	if n == nil {
		return nil
	}
	items, err := yaml11.Items(n)
	if err != nil {
		o.d.c.fail(n, o.sub(key), "%v", err)
		return nil
	}
	out := make([]obj, len(items))
	for i, it := range items {
		out[i] = o.d.obj(it, o.sub(key)+"["+strconv.Itoa(i)+"]")
	}
	return out
}

// any converts a value to plain Go values (for keys kept as they are).
func (d *decoder) any(n *node, path string) any {
	v, err := yaml11.Value(n)
	if err != nil {
		d.c.failErr(n, path, err)
	}
	return v
}

func (d *decoder) decode(kind string, body *node) bool {
	ref := d.c.ref
	o := d.obj(body, d.c.field)
	des := d.c.in.Design
	switch kind {
	case KindRegion:
		des.Regions = append(des.Regions, d.region(ref, o))
	case KindRack:
		des.Racks = append(des.Racks, d.rack(ref, o))
	case KindNetworkLink:
		des.NetworkLinks = append(des.NetworkLinks, d.link(ref, o))
	case KindNetwork:
		des.Networks = append(des.Networks, d.network(ref, o))
	case KindHardwareProfile:
		des.HardwareProfiles = append(des.HardwareProfiles, d.hwprofile(ref, o))
	case KindHostProfile:
		des.HostProfiles = append(des.HostProfiles, d.host(ref, o, false))
	case KindBaremetalNode:
		des.Nodes = append(des.Nodes, d.host(ref, o, true))
	case KindBootAction:
		des.BootActions = append(des.BootActions, d.bootAction(ref, o))
	default:
		return false
	}
	if d.c.failed {
		// Take the half-decoded model back out.
		switch kind {
		case KindRegion:
			des.Regions = des.Regions[:len(des.Regions)-1]
		case KindRack:
			des.Racks = des.Racks[:len(des.Racks)-1]
		case KindNetworkLink:
			des.NetworkLinks = des.NetworkLinks[:len(des.NetworkLinks)-1]
		case KindNetwork:
			des.Networks = des.Networks[:len(des.Networks)-1]
		case KindHardwareProfile:
			des.HardwareProfiles = des.HardwareProfiles[:len(des.HardwareProfiles)-1]
		case KindHostProfile:
			des.HostProfiles = des.HostProfiles[:len(des.HostProfiles)-1]
		case KindBaremetalNode:
			des.Nodes = des.Nodes[:len(des.Nodes)-1]
		case KindBootAction:
			des.BootActions = des.BootActions[:len(des.BootActions)-1]
		}
		return false
	}
	return true
}

func (d *decoder) region(ref DocRef, o obj) *Region {
	r := &Region{Ref: ref, Name: ref.Name, AuthorizedKeys: o.strList("authorized_keys")}
	for _, t := range o.list("tag_definitions") {
		r.TagDefinitions = append(r.TagDefinitions, TagDefinition{Tag: t.str("tag"), DefinitionType: t.str("definition_type"), Definition: t.str("definition")})
	}
	if o.has("repositories") {
		rl := &RepositoryList{}
		repos := o.child("repositories")
		for _, p := range repos.pairs {
			if p.Key == "remove_unlisted" {
				if b := repos.optBool(p.Key); b != nil {
					rl.RemoveUnlisted = *b
				}
				continue
			}
			v := d.obj(p.Value, repos.sub(p.Key))
			repo := Repository{Name: p.Key, URL: v.str("url"), RepoType: v.str("repo_type"), GPGKey: v.str("gpgkey"),
				Distributions: v.strList("distributions"), Subrepos: v.strList("subrepos"),
				Components: v.strList("components"), Arches: v.strList("arches"), Options: v.kv("options")}
			if repo.Arches == nil {
				repo.Arches = []string{"amd64"}
			}
			rl.Repositories = append(rl.Repositories, repo)
		}
		r.Repositories = rl
	}
	return r
}

func (d *decoder) rack(ref DocRef, o obj) *Rack {
	r := &Rack{Ref: ref, Name: ref.Name, Location: o.kv("location"), LocalNetworks: o.strList("local_networks"), Labels: o.kv("labels")}
	o.child("tor_switches").each(func(name string, v obj) {
		r.TorSwitches = append(r.TorSwitches, TorSwitch{Name: name, MgmtIP: v.str("mgmt_ip"), SDNAPIURI: v.str("sdn_api_uri")})
	})
	return r
}

func (d *decoder) link(ref DocRef, o obj) *NetworkLink {
	l := &NetworkLink{Ref: ref, Name: ref.Name, Labels: o.kv("labels"), MTU: 1500, LinkSpeed: "auto",
		BondingMode: BondDisabled, TrunkMode: TrunkDisabled}
	b := o.child("bonding")
	if m := b.str("mode"); m != "" {
		l.BondingMode = m
	}
	l.MonRate, l.UpDelay, l.DownDelay = b.optInt("mon_rate"), b.optInt("up_delay"), b.optInt("down_delay")
	l.Hash, l.PeerRate = b.optStr("hash"), b.optStr("peer_rate")
	if m := o.optInt("mtu"); m != nil {
		l.MTU, l.MTUSet = *m, true
	}
	if s := o.str("linkspeed"); s != "" {
		l.LinkSpeed = s
	}
	t := o.child("trunking")
	if m := t.str("mode"); m != "" {
		l.TrunkMode = m
	}
	l.NativeNetwork = t.str("default_network")
	l.AllowedNetworks = o.strList("allowed_networks")
	return l
}

func (d *decoder) network(ref DocRef, o obj) *Network {
	n := &Network{Ref: ref, Name: ref.Name, Labels: o.kv("labels"), CIDR: o.str("cidr"), VLAN: o.str("vlan"),
		RouteDomain: o.str("routedomain"), DNSDomain: "local"}
	if m := o.optInt("mtu"); m != nil {
		n.MTU = *m
	}
	dns := o.child("dns")
	if s := dns.str("domain"); s != "" {
		n.DNSDomain = s
	}
	n.DNSServers = dns.str("servers")
	for _, r := range o.list("ranges") {
		n.Ranges = append(n.Ranges, AddressRange{Type: r.str("type"), Start: r.str("start"), End: r.str("end")})
	}
	for _, r := range o.list("routes") {
		n.Routes = append(n.Routes, Route{Subnet: r.str("subnet"), Gateway: r.str("gateway"), Metric: r.optInt("metric"), RouteDomain: r.str("routedomain")})
	}
	relay := o.child("dhcp_relay")
	n.DHCPRelaySelfIP, n.DHCPRelayUpstreamTarget = relay.str("self_ip"), relay.str("upstream_target")
	return n
}

func (d *decoder) hwprofile(ref DocRef, o obj) *HardwareProfile {
	h := &HardwareProfile{Ref: ref, Name: ref.Name, Vendor: o.str("vendor"), Generation: o.str("generation"),
		HWVersion: o.str("hw_version"), BIOSVersion: o.str("bios_version"), BootMode: o.str("boot_mode"),
		BootstrapProtocol: o.str("bootstrap_protocol"), PXEInterface: o.optInt("pxe_interface"), CPUSets: o.kv("cpu_sets")}
	o.child("device_aliases").each(func(name string, v obj) {
		h.DeviceAliases = append(h.DeviceAliases, DeviceAlias{Alias: name, Address: v.str("address"), BusType: v.str("bus_type"), DevType: v.str("dev_type")})
	})
	o.child("hugepages").each(func(name string, v obj) {
		c := HugepagesConf{Name: name, Size: v.str("size")}
		if n := v.optInt("count"); n != nil {
			c.Count = int64(*n)
		}
		h.Hugepages = append(h.Hugepages, c)
	})
	return h
}

// removal splits a "!name" key into its name and the removal flag.
func removal(key string) (string, bool) {
	if strings.HasPrefix(key, "!") {
		return key[1:], true
	}
	return key, false
}

func (d *decoder) host(ref DocRef, o obj, isNode bool) *HostProfile {
	h := &HostProfile{Ref: ref, Name: ref.Name, IsNode: isNode,
		ParentProfile: o.str("host_profile"), HardwareProfile: o.optStr("hardware_profile"),
		PrimaryNetwork: o.optStr("primary_network")}
	if oob := o.child("oob"); oob.pairs != nil {
		h.OOBType = oob.optStr("type")
		h.OOBParams = KV{}
		for _, p := range oob.pairs {
			if p.Key == "type" {
				continue
			}
			h.OOBParams = append(h.OOBParams, KVPair{p.Key, d.text(p.Value, oob.sub(p.Key))})
		}
	}
	plat := o.child("platform")
	h.Image, h.Kernel, h.KernelParams = plat.optStr("image"), plat.optStr("kernel"), plat.kv("kernel_params")
	md := o.child("metadata")
	h.Tags, h.OwnerData, h.Rack = md.strList("tags"), md.kv("owner_data"), md.optStr("rack")
	if isNode {
		h.BootMAC = md.str("boot_mac")
	}
	if o.has("interfaces") {
		h.Interfaces = []Interface{}
		ifs := o.child("interfaces")
		for _, p := range ifs.pairs {
			name, remove := removal(p.Key)
			it := Interface{Name: name, Remove: remove || yaml11.IsNull(p.Value), Line: p.KeyNode.Line}
			if !it.Remove {
				v := d.obj(p.Value, ifs.sub(p.Key))
				it.DeviceLink = v.optStr("device_link")
				it.Slaves = v.strList("slaves")
				it.Networks = v.strList("networks")
				for _, q := range v.pairs {
					switch q.Key {
					case "device_link", "slaves", "networks":
					case "sriov":
						s := &SRIOV{}
						sv := v.child("sriov")
						if n := sv.optInt("vf_count"); n != nil {
							s.VFCount = *n
						}
						if b := sv.optBool("trustedmode"); b != nil {
							s.TrustedMode = *b
						}
						for _, r := range sv.pairs {
							if r.Key != "vf_count" && r.Key != "trustedmode" {
								if s.Extra == nil {
									s.Extra = map[string]any{}
								}
								s.Extra[r.Key] = d.any(r.Value, sv.sub(r.Key))
							}
						}
						it.SRIOV = s
					default:
						if it.Extra == nil {
							it.Extra = map[string]any{}
						}
						it.Extra[q.Key] = d.any(q.Value, v.sub(q.Key))
					}
				}
			}
			h.Interfaces = append(h.Interfaces, it)
		}
	}
	if st := o.child("storage"); st.pairs != nil {
		if st.has("physical_devices") {
			h.Devices = []Device{}
			st.child("physical_devices").each(func(key string, v obj) {
				name, remove := removal(key)
				dev := Device{Name: name, Remove: remove}
				if !remove {
					dev.Labels = v.kv("labels")
					dev.VolumeGroup = v.optStr("volume_group")
					if v.has("partitions") {
						dev.Partitions = []Partition{}
						for _, p := range v.list("partitions") {
							dev.Partitions = append(dev.Partitions, d.partition(p))
						}
					}
				}
				h.Devices = append(h.Devices, dev)
			})
		}
		if st.has("volume_groups") {
			h.VolumeGroups = []VolumeGroup{}
			st.child("volume_groups").each(func(key string, v obj) {
				name, remove := removal(key)
				vg := VolumeGroup{Name: name, Remove: remove}
				if !remove {
					vg.VGUUID = v.optStr("vg_uuid")
					if v.has("logical_volumes") {
						vg.LogicalVolumes = []LogicalVolume{}
						for _, l := range v.list("logical_volumes") {
							lname, lremove := removal(l.str("name"))
							vg.LogicalVolumes = append(vg.LogicalVolumes, LogicalVolume{Name: lname, Remove: lremove,
								Size: l.optStr("size"), LVUUID: l.optStr("lv_uuid"), Filesystem: filesystem(l.child("filesystem"))})
						}
					}
				}
				h.VolumeGroups = append(h.VolumeGroups, vg)
			})
		}
	}
	if isNode {
		for _, a := range o.list("addressing") {
			addr := Address{Network: a.str("network"), Address: a.str("address"), Type: "static"}
			if strings.EqualFold(addr.Address, "dhcp") {
				addr.Type, addr.Address = "dhcp", ""
			}
			h.Addressing = append(h.Addressing, addr)
		}
	}
	return h
}

func (d *decoder) partition(p obj) Partition {
	name, remove := removal(p.str("name"))
	return Partition{Name: name, Remove: remove, Size: p.optStr("size"), PartUUID: p.optStr("part_uuid"),
		Bootable: p.optBool("bootable"), Labels: p.kv("labels"), VolumeGroup: p.optStr("volume_group"),
		Filesystem: filesystem(p.child("filesystem"))}
}

func filesystem(o obj) *Filesystem {
	if o.pairs == nil {
		return nil
	}
	return &Filesystem{Mountpoint: o.optStr("mountpoint"), FSType: o.optStr("fstype"), MountOptions: o.optStr("mount_options"),
		FSUUID: o.optStr("fs_uuid"), FSLabel: o.optStr("fs_label")}
}

func (d *decoder) bootAction(ref DocRef, o obj) *BootAction {
	b := &BootAction{Ref: ref, Name: ref.Name, Signaling: true}
	if s := o.optBool("signaling"); s != nil {
		b.Signaling = *s
	}
	for _, a := range o.list("assets") {
		as := Asset{Type: a.str("type"), Path: a.str("path"), Location: a.str("location"),
			LocationPipeline: a.strList("location_pipeline"), DataPipeline: a.strList("data_pipeline")}
		if dn := a.node("data"); dn != nil {
			if dn := yaml11.Deref(dn); dn.Kind == yaml11.MappingNode {
				as.DataIsMap = true
				dm := a.child("data")
				for _, p := range dm.pairs {
					as.PackageList = append(as.PackageList, Pkg{Name: p.Key, Version: d.text(p.Value, dm.sub(p.Key))})
				}
			} else {
				as.Data = a.str("data")
			}
		}
		if perm := a.str("permissions"); perm != "" {
			m, err := strconv.ParseUint(perm, 8, 32)
			if err != nil {
				d.c.fail(a.node("permissions"), a.sub("permissions"), "%q is not an octal file mode", perm)
			} else {
				mode := uint32(m)
				as.Permissions = &mode
			}
		}
		b.Assets = append(b.Assets, as)
	}
	if o.has("node_filter") {
		nf := o.child("node_filter")
		fs := &nodefilter.FilterSet{FilterSetType: nf.str("filter_set_type")}
		for _, f := range nf.list("filter_set") {
			fs.FilterSet = append(fs.FilterSet, nodefilter.Filter{FilterType: f.str("filter_type"),
				NodeNames: f.strList("node_names"), NodeTags: f.strList("node_tags"), RackNames: f.strList("rack_names"),
				NodeLabels: f.kv("node_labels").Map(), RackLabels: f.kv("rack_labels").Map()})
		}
		if err := fs.Validate(); err != nil {
			d.c.fail(nf.n, nf.path, "%v", err)
		}
		b.NodeFilter = fs
	}
	return b
}
