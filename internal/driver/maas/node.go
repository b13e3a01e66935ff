package maas

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

// bmcAddress is the node's BMC address for ipmi and redfish nodes (oob address, else its
// static address on the oob network), "" otherwise.
func bmcAddress(n *design.Node) string {
	if n.OOBType != "ipmi" && n.OOBType != "redfish" {
		return ""
	}
	if a, ok := n.OOBParams.Get("address"); ok && strings.TrimSpace(a) != "" {
		return strings.TrimSpace(a)
	}
	network, _ := n.OOBParams.Get("network")
	if network == "" {
		return ""
	}
	for _, a := range n.Addressing {
		if a.Network == network && a.Address != "" && a.Address != "dhcp" {
			return a.Address
		}
	}
	return ""
}

// sameHost compares a MAAS power_address (an address, host:port or a URL) with a BMC address.
func sameHost(powerAddress, addr string) bool {
	host := strings.TrimSpace(powerAddress)
	if i := strings.Index(host, "://"); i >= 0 {
		if u, err := url.Parse(host); err == nil {
			host = u.Hostname()
		}
	} else if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	want := strings.Trim(strings.TrimSpace(addr), "[]")
	if a, b := net.ParseIP(host), net.ParseIP(want); a != nil && b != nil {
		return a.Equal(b)
	}
	return strings.EqualFold(host, want)
}

// IdentifyNode finds the node's machine, renames it to the node's hostname and domain, and
// (with UseNodeOOBParams) sets its power parameters from the design.
//
// Failed means the node is not known to MAAS — or, when Data carries the machine's system_id,
// that MAAS has the machine but refused to update it (the message says why).
func (d *Driver) IdentifyNode(ctx context.Context, c driver.Call) driver.Result {
	o, r := d.begin(ctx, c, "identify")
	if r != nil {
		return *r
	}
	res := d.identify(ctx, o)
	if res.Outcome != driver.Done && o.m != nil {
		res.Data = map[string]any{"system_id": o.sid(), "status": o.m.StatusName, "found_by": o.via}
	}
	return res
}

func (d *Driver) identify(ctx context.Context, o *nodeOp) driver.Result {
	var changed []string
	f := url.Values{}
	if o.m.Hostname != o.node.Name {
		f.Set("hostname", o.node.Name)
		changed = append(changed, fmt.Sprintf("hostname %s → %s", o.m.Hostname, o.node.Name))
	}
	if dom := o.node.Domain; dom != "" && (o.m.Domain == nil || o.m.Domain.Name != dom) {
		if _, err := d.ensureDomain(ctx, dom); err != nil {
			return o.err("creating DNS domain "+dom, err)
		}
		f.Set("domain", dom)
		old := "(none)"
		if o.m.Domain != nil {
			old = o.m.Domain.Name
		}
		changed = append(changed, fmt.Sprintf("domain %s → %s", old, dom))
	}
	if d.cfg.UseNodeOOBParams {
		pf, what, res := o.powerUpdate(ctx)
		if res != nil {
			return *res
		}
		for k, v := range pf {
			f[k] = v
		}
		if what != "" {
			changed = append(changed, what)
		}
	}
	if len(f) > 0 {
		var m machine
		if err := d.c.put(ctx, machinePath(o.sid()), f, &m); err != nil {
			return o.err("updating the machine ("+strings.Join(changed, ", ")+")", err)
		}
		o.m = &m
	}
	msg := fmt.Sprintf("found by %s, status %s", o.via, o.m.StatusName)
	if len(changed) > 0 {
		msg += "; changed " + strings.Join(changed, ", ")
	}
	res := o.ok("%s", msg)
	res.Skipped = len(changed) == 0
	res.Data = map[string]any{"system_id": o.sid(), "status": o.m.StatusName, "found_by": o.via}
	if o.m.BootInterface != nil {
		res.Data["boot_mac"] = o.m.BootInterface.MACAddress
	}
	return res
}

// powerUpdate compares the machine's power settings with the node's oob settings and returns
// the form fields that change them (nil when they match).
func (o *nodeOp) powerUpdate(ctx context.Context) (url.Values, string, *driver.Result) {
	n := o.node
	want := map[string]string{}
	var ptype string
	switch n.OOBType {
	case "ipmi", "redfish":
		t, err := oob.ResolveTarget(n)
		if err != nil {
			r := o.fail("power parameters from the design: %v", err)
			return nil, "", &r
		}
		ptype = n.OOBType
		want["power_address"] = t.Host
		if t.Port != 0 && n.OOBType == "redfish" {
			want["power_address"] = net.JoinHostPort(t.Host, itoa(t.Port))
		}
		want["power_user"] = t.User
		want["power_pass"] = t.Pass.Reveal()
		o.secrets = append(o.secrets, t.Pass.Reveal())
		if n.OOBType == "ipmi" {
			want["power_driver"] = "LAN_2_0"
		} else if id := t.Params["system_id"]; id != "" {
			want["node_id"] = id
		}
	case "libvirt":
		uri, _ := n.OOBParams.Get("libvirt_uri")
		if uri == "" {
			r := o.fail("oob type libvirt needs oob libvirt_uri for MAAS's virsh power driver")
			return nil, "", &r
		}
		ptype = "virsh"
		want["power_address"] = uri
		want["power_id"] = n.Name
	default:
		return nil, "", nil
	}
	cur, err := o.d.c.powerParameters(ctx, o.sid())
	if err != nil {
		r := o.err("reading power parameters", err)
		return nil, "", &r
	}
	same := o.m.PowerType == ptype
	for k, v := range want {
		if s, _ := cur[k].(string); s != v {
			same = false
		}
	}
	if same {
		return nil, "", nil
	}
	f := url.Values{"power_type": {ptype}}
	for k, v := range want {
		f.Set("power_parameters_"+k, v)
	}
	return f, fmt.Sprintf("power type %s with the design's BMC parameters", ptype), nil
}

// ConfigureHardware commissions the machine: InProgress while it commissions and tests, Done
// at Ready with the commissioning facts as build data.
func (d *Driver) ConfigureHardware(ctx context.Context, c driver.Call) driver.Result {
	o, r := d.begin(ctx, c, "commission")
	if r != nil {
		return *r
	}
	switch st := o.m.StatusName; st {
	case stReady:
		here := d.startedHere(c, "commission", o.sid())
		d.forget(c)
		res := o.ok("commissioned: Ready")
		if !here {
			res = o.skip("already commissioned (Ready)")
		}
		return o.withCommissionData(ctx, res, true)
	case stAllocated, stDeploying, stDeployed:
		return o.withCommissionData(ctx, o.skip("already commissioned (%s)", st), true)
	case stCommissioning, stTesting:
		return o.wait("%s", st)
	case stFailedCommission, stFailedTesting:
		if d.startedHere(c, "commission", o.sid()) {
			d.forget(c)
			return o.withCommissionData(ctx, o.fail("commissioning failed: %s%s", st, statusDetail(o.m)), false)
		}
		if st == stFailedTesting {
			// MAAS does not commission a machine that failed its tests; it tests it again.
			return o.retest(ctx)
		}
		return o.commission(ctx)
	case stNew, stBroken:
		return o.commission(ctx)
	}
	return o.fail("cannot commission a machine that is %s", o.m.StatusName)
}

func (o *nodeOp) commission(ctx context.Context) driver.Result {
	from := o.m.StatusName
	o.d.markStarted(o.c, "commission", o.sid())
	skip := "0"
	if o.d.cfg.SkipBMCConfig {
		skip = "1"
	}
	m, err := o.d.c.machineOp(ctx, o.sid(), "commission", form("enable_ssh", "0", "skip_bmc_config", skip))
	if err != nil {
		return o.err("starting commissioning (from "+from+")", err)
	}
	o.m = m
	return o.wait("commissioning started (from %s)", from)
}

func (o *nodeOp) retest(ctx context.Context) driver.Result {
	o.d.markStarted(o.c, "commission", o.sid())
	m, err := o.d.c.machineOp(ctx, o.sid(), "test", form("enable_ssh", "0"))
	if err != nil {
		return o.err("testing the machine again (from Failed testing)", err)
	}
	o.m = m
	return o.wait("testing started again (from Failed testing)")
}

// withCommissionData adds the machine's details (lshw, lldp) when details is set, and its
// commissioning and testing script results, as build data. A failure to read them is noted in
// the message; it does not change the outcome (the commissioning itself is what the step
// reports).
func (o *nodeOp) withCommissionData(ctx context.Context, r driver.Result, details bool) driver.Result {
	var notes []string
	if details {
		ds, err := o.d.c.details(ctx, o.sid())
		if err != nil {
			notes = append(notes, "details not read: "+err.Error())
		}
		for _, k := range sortedKeys(ds) {
			format := "text/plain"
			if k == "lshw" || k == "lldp" || strings.HasPrefix(strings.TrimSpace(string(ds[k])), "<?xml") {
				format = "text/xml"
			}
			r.BuildData = append(r.BuildData, driver.BuildData{Generator: k, Format: format, Data: ds[k]})
		}
	}
	bd, failed, err := o.scriptData(ctx, resultCommissioning, resultTesting)
	if err != nil {
		notes = append(notes, "script results not read: "+err.Error())
	}
	r.BuildData = append(r.BuildData, bd...)
	if r.Outcome == driver.Failed && len(failed) > 0 {
		r.Message += "; failed scripts: " + strings.Join(failed, ", ")
	}
	if len(notes) > 0 {
		r.Message += " (build data incomplete: " + o.d.c.scrub(strings.Join(notes, "; ")) + ")"
	}
	return r
}

// scriptData reads script results as build data: commission:<name>, testing:<name>,
// deploy:<name>; failed lists the scripts that exited non-zero.
func (o *nodeOp) scriptData(ctx context.Context, types ...int) (out []driver.BuildData, failed []string, err error) {
	rs, err := o.d.c.scriptResults(ctx, o.sid(), types...)
	if err != nil {
		return nil, nil, err
	}
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].ResultType != rs[j].ResultType {
			return rs[i].ResultType < rs[j].ResultType
		}
		return rs[i].Name < rs[j].Name
	})
	for _, r := range rs {
		prefix := map[int]string{resultCommissioning: "commission:", resultInstallation: "deploy:", resultTesting: "testing:"}[r.ResultType]
		if r.ScriptResult != 0 {
			failed = append(failed, fmt.Sprintf("%s%s (exit %d)", prefix, r.Name, r.ScriptResult))
		}
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			data = []byte(r.Data)
		}
		out = append(out, driver.BuildData{Generator: prefix + r.Name, Format: "text/plain", Data: data, Collected: parseMAASTime(r.Updated)})
	}
	return out, failed, nil
}

// parseMAASTime reads MAAS's zone-less timestamps (UTC); zero when unreadable.
func parseMAASTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t
		}
	}
	return time.Time{}
}

// eraseMode is the erase the node asks for (owner_data erase_disks), else the configured one.
func (d *Driver) eraseMode(n *design.Node) (string, error) {
	mode := d.cfg.Erase
	if v, ok := n.OwnerData.Get(EraseOwnerDataKey); ok && v != "" {
		mode = strings.ToLower(v)
	}
	switch mode {
	case EraseNone, EraseQuick, EraseSecure, EraseFull:
		return mode, nil
	}
	return "", fmt.Errorf("owner_data %s=%q is not one of none, quick, secure, full", EraseOwnerDataKey, mode)
}

// Destroy releases the machine (erasing its disks when asked) and waits for Ready; with
// DeleteOnDestroy it then deletes it from MAAS.
func (d *Driver) Destroy(ctx context.Context, c driver.Call) driver.Result {
	o, r := d.begin(ctx, c, "release")
	if r != nil {
		if r.Outcome == driver.Failed && strings.Contains(r.Message, "not found in MAAS") {
			res := driver.OK("node %s: not in MAAS; nothing to release", c.Node.Name)
			res.Skipped = true
			return res
		}
		return *r
	}
	mode, err := d.eraseMode(o.node)
	if err != nil {
		return o.fail("%v", err)
	}
	switch st := o.m.StatusName; st {
	case stReady:
		here := d.startedHere(c, "release", o.sid())
		d.forget(c)
		if d.cfg.DeleteOnDestroy {
			return o.deleteMachine(ctx, here)
		}
		if here {
			return o.ok("released: Ready")
		}
		return o.skip("nothing deployed (Ready)")
	case stNew, stCommissioning, stFailedCommission, stTesting, stFailedTesting:
		if d.cfg.DeleteOnDestroy {
			return o.deleteMachine(ctx, false)
		}
		return o.skip("nothing deployed (%s)", st)
	case stReleasing, stDiskErasing:
		return o.wait("%s", st)
	case stFailedReleasing, stFailedDiskErasing:
		if d.startedHere(c, "release", o.sid()) {
			d.forget(c)
			return o.fail("release failed: %s%s", st, statusDetail(o.m))
		}
	case stAllocated, stDeploying, stDeployed, stFailedDeployment, stBroken, stReserved:
	default:
		return o.fail("cannot release a machine that is %s", st)
	}
	f := form("comment", "Released by Drydock")
	switch mode {
	case EraseQuick:
		f = form("comment", "Released by Drydock", "erase", "true", "quick_erase", "true", "secure_erase", "false")
	case EraseSecure:
		f = form("comment", "Released by Drydock", "erase", "true", "quick_erase", "false", "secure_erase", "true")
	case EraseFull:
		f = form("comment", "Released by Drydock", "erase", "true", "quick_erase", "false", "secure_erase", "false")
	}
	from := o.m.StatusName
	d.markStarted(c, "release", o.sid())
	m, err := d.c.machineOp(ctx, o.sid(), "release", f)
	if err != nil {
		return o.err("releasing (from "+from+")", err)
	}
	o.m = m
	if m.StatusName == stReady {
		// Nothing to power off or erase: MAAS released it at once.
		return d.Destroy(ctx, c)
	}
	erase := ""
	if mode != EraseNone {
		erase = ", " + mode + " disk erase"
	}
	return o.wait("release started (from %s%s)", from, erase)
}

func (o *nodeOp) deleteMachine(ctx context.Context, released bool) driver.Result {
	if err := o.d.c.del(ctx, machinePath(o.sid())); err != nil && !isNotFound(err) {
		return o.err("deleting the machine", err)
	}
	if released {
		return o.ok("released and deleted from MAAS")
	}
	return o.ok("deleted from MAAS (%s; nothing was deployed)", o.m.StatusName)
}

func sortStrings(s []string) { sort.Strings(s) }
