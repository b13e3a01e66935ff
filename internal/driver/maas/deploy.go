package maas

import (
	"context"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/driver"
)

// Deploy allocates the machine, sets its workload annotations (owner_data) and its boot action
// key tag, and deploys it with the node's image, kernel and user data: InProgress while it
// deploys, Done at Deployed (with the installation script results as build data), Failed at
// Failed deployment with MAAS's message. A failed deployment found by a later attempt is
// released and deployed again.
func (d *Driver) Deploy(ctx context.Context, c driver.Call) driver.Result {
	o, r := d.begin(ctx, c, "deploy")
	if r != nil {
		return *r
	}
	switch st := o.m.StatusName; st {
	case stDeployed:
		here := d.startedHere(c, "deploy", o.sid())
		d.forget(c)
		res := o.ok("deployed (%s)", o.m.DistroSeries)
		if !here {
			res = o.skip("already deployed")
		}
		return o.withDeployData(ctx, res)
	case stDeploying:
		return o.wait("Deploying")
	case stFailedDeployment:
		if d.startedHere(c, "deploy", o.sid()) {
			d.forget(c)
			return o.withDeployData(ctx, o.fail("deployment failed: %s%s", st, statusDetail(o.m)))
		}
		return o.releaseForRework(ctx, "releasing the machine after a failed deployment, to deploy it again")
	case stReleasing, stDiskErasing:
		return o.wait("%s", st)
	case stReady:
		var m machine
		if err := d.c.post(ctx, "machines/", "allocate", form("system_id", o.sid()), &m); err != nil {
			return o.err("allocating the machine", err)
		}
		if m.SystemID != o.sid() {
			// MAAS allocated another machine: give it back and stop.
			if m.SystemID != "" {
				_, _ = d.c.machineOp(ctx, m.SystemID, "release", form("comment", "Drydock: allocated by mistake"))
			}
			return o.fail("allocating the machine: MAAS allocated machine %q instead", m.SystemID)
		}
		o.m = &m
		fallthrough
	case stAllocated:
		return o.deploy(ctx)
	}
	return o.fail("cannot deploy a machine that is %s (it must be Ready)", o.m.StatusName)
}

func (o *nodeOp) deploy(ctx context.Context) driver.Result {
	d, c := o.d, o.c
	// Workload annotations: the design's owner_data, and no others.
	have := o.m.annotations()
	f := url.Values{}
	for _, kv := range o.node.OwnerData {
		if have[kv.Key] != kv.Value {
			f.Set(kv.Key, kv.Value)
		}
	}
	for k := range have {
		if !o.node.OwnerData.Has(k) {
			f.Set(k, "")
		}
	}
	var notes []string
	if len(f) > 0 {
		m, err := d.c.machineOp(ctx, o.sid(), "set_workload_annotations", f)
		if err != nil {
			return o.err("setting workload annotations "+strings.Join(sortedKeys(f), ", "), err)
		}
		if m.SystemID != "" {
			o.m = m
		}
		notes = append(notes, "workload annotations "+strings.Join(sortedKeys(f), ", "))
	}
	// The boot action key tag replaces every older one of the node.
	prefix := bootActionTagPrefix(o.node)
	want := ""
	if c.BootActions != nil && len(c.BootActions.Key) > 0 {
		want = prefix + c.BootActions.KeyHex()
	}
	tags, err := d.tagList(ctx, false)
	if err != nil {
		return o.err("reading tags", err)
	}
	var old []string
	for name := range tags {
		if strings.HasPrefix(name, prefix) && name != want {
			old = append(old, name)
		}
	}
	for _, name := range o.m.TagNames {
		if strings.HasPrefix(name, prefix) && name != want && !contains(old, name) {
			old = append(old, name)
		}
	}
	sort.Strings(old)
	for _, name := range old {
		if err := d.deleteTag(ctx, name); err != nil {
			return o.err("deleting an older boot action key tag", err)
		}
	}
	if len(old) > 0 {
		notes = append(notes, "removed older boot action key tags")
	}
	if want != "" && !o.m.hasTag(want) {
		if _, ok := tags[want]; !ok {
			if err := d.createTag(ctx, tag{Name: want, Comment: bootActionTagComment}); err != nil {
				return o.err("creating the boot action key tag", err)
			}
		}
		if err := o.tagMachine(ctx, want, "", true); err != nil {
			return o.err("applying the boot action key tag", err)
		}
		notes = append(notes, "boot action key tag")
	}
	df := url.Values{}
	if o.node.Image != "" {
		df.Set("distro_series", o.node.Image)
	}
	if o.node.Kernel != "" {
		df.Set("hwe_kernel", o.node.Kernel)
	}
	if c.BootActions != nil && c.BootActions.UserData != "" {
		df.Set("user_data", base64.StdEncoding.EncodeToString([]byte(c.BootActions.UserData)))
		notes = append(notes, "user data")
	}
	d.markStarted(c, "deploy", o.sid())
	m, err := d.c.machineOp(ctx, o.sid(), "deploy", df)
	if err != nil {
		return o.err("starting the deployment", err)
	}
	o.m = m
	msg := "deployment started"
	if img := o.node.Image; img != "" {
		msg += " (image " + img
		if o.node.Kernel != "" {
			msg += ", kernel " + o.node.Kernel
		}
		msg += ")"
	}
	if len(notes) > 0 {
		msg += "; set " + strings.Join(notes, ", ")
	}
	return o.wait("%s", msg)
}

// withDeployData adds the installation script results as deploy:<name> build data.
func (o *nodeOp) withDeployData(ctx context.Context, r driver.Result) driver.Result {
	bd, failed, err := o.scriptData(ctx, resultInstallation)
	if err != nil {
		r.Message += " (build data not read: " + o.d.scrubMessage(err.Error(), o.c) + ")"
	}
	r.BuildData = append(r.BuildData, bd...)
	if r.Outcome == driver.Failed && len(failed) > 0 {
		r.Message += "; failed scripts: " + strings.Join(failed, ", ")
	}
	return r
}
