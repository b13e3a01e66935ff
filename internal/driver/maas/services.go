package maas

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// ValidateServices checks that MAAS is reachable and accepts the key, that the boot images
// (and kernels) every node uses are synced and that a rack controller is healthy.
func (d *Driver) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	var version struct {
		Version string `json:"version"`
	}
	if err := d.c.get(ctx, "version/", "", nil, &version); err != nil {
		return d.siteErr("MAAS at "+d.c.base.String()+" is not reachable", err)
	}
	if err := d.c.get(ctx, "account/", "list_authorisation_tokens", nil, nil); err != nil {
		if s := statusOf(err); s == 401 || s == 403 {
			return driver.Fail("MAAS %s rejected the API key: %v", d.c.base, err)
		}
		return d.siteErr("checking the API key", err)
	}
	var problems, notes []string
	var resources []bootResource
	if err := d.c.get(ctx, "boot-resources/", "", nil, &resources); err != nil {
		return d.siteErr("listing boot resources", err)
	}
	var importing bool
	if err := d.c.get(ctx, "boot-resources/", "is_importing", nil, &importing); err != nil {
		return d.siteErr("asking whether boot resources are importing", err)
	}
	missing := missingImages(site, resources)
	switch {
	case len(resources) == 0 && importing:
		return driver.Unreach("MAAS is still importing boot resources; none is synced yet")
	case len(resources) == 0:
		problems = append(problems, "MAAS has no boot resources")
	case len(missing) > 0 && importing:
		return driver.Unreach("MAAS is still importing boot resources; not yet available: %s", strings.Join(missing, "; "))
	case len(missing) > 0:
		problems = append(problems, "boot resources missing in MAAS: "+strings.Join(missing, "; "))
	}
	var racks []machine
	if err := d.c.get(ctx, "rackcontrollers/", "", nil, &racks); err != nil {
		return d.siteErr("listing rack controllers", err)
	}
	healthy := 0
	for i := range racks {
		rk := &racks[i]
		if rk.ServiceSet == nil {
			var full machine
			if err := d.c.get(ctx, "rackcontrollers/"+url.PathEscape(rk.SystemID)+"/", "", nil, &full); err != nil {
				return d.siteErr("reading rack controller "+rk.SystemID, err)
			}
			rk.ServiceSet = full.ServiceSet
		}
		if bad := rackProblems(rk); len(bad) > 0 {
			notes = append(notes, fmt.Sprintf("rack controller %s (%s) is unhealthy: %s", rk.SystemID, rk.Hostname, strings.Join(bad, ", ")))
			continue
		}
		healthy++
	}
	if len(racks) == 0 {
		problems = append(problems, "MAAS has no rack controller")
	} else if healthy == 0 {
		problems = append(problems, "no healthy rack controller: "+strings.Join(notes, "; "))
		notes = nil
	}
	if len(problems) > 0 {
		return driver.Fail("MAAS %s (version %s): %s", d.c.base, version.Version, strings.Join(append(problems, notes...), "; "))
	}
	msg := fmt.Sprintf("MAAS %s (version %s) is reachable, accepts the API key, has the boot images the design uses and %d healthy rack controller(s)",
		d.c.base, version.Version, healthy)
	if len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	return driver.OK("%s", msg)
}

func (d *Driver) siteErr(doing string, err error) driver.Result {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || transient(err) {
		return driver.Unreach("%s: %s", doing, d.c.scrub(err.Error()))
	}
	return driver.Fail("%s: %s", doing, d.c.scrub(err.Error()))
}

// rackProblems lists the services of a rack controller that are not running (or off): http,
// dhcpd, rackd and tftp must each be running or off (drivers_spec §2.6).
func rackProblems(rk *machine) []string {
	var bad []string
	for _, name := range []string{"http", "dhcpd", "rackd", "tftp"} {
		st := ""
		for _, s := range rk.ServiceSet {
			if s.Name == name {
				st = s.Status
			}
		}
		switch st {
		case "running", "off":
		case "":
			bad = append(bad, name+" missing")
		default:
			bad = append(bad, name+" "+st)
		}
	}
	return bad
}

// missingImages lists the images and kernels nodes ask for that no boot resource provides.
// A resource "ubuntu/jammy" with architecture "amd64/ga-22.04" or subarches listing the kernel
// provides image jammy and that kernel.
func missingImages(site *design.Site, rs []bootResource) []string {
	if site == nil {
		return nil
	}
	type want struct{ image, kernel string }
	needs := map[want][]string{}
	for _, n := range site.Nodes {
		if n.Image == "" {
			continue
		}
		w := want{n.Image, n.Kernel}
		needs[w] = append(needs[w], n.Name)
	}
	var out []string
	for w, nodes := range needs {
		imageOK, kernelOK := false, w.kernel == ""
		for _, r := range rs {
			release := r.Name
			if i := strings.LastIndex(release, "/"); i >= 0 {
				release = release[i+1:]
			}
			if release != w.image && r.Name != w.image {
				continue
			}
			imageOK = true
			if _, sub, _ := strings.Cut(r.Architecture, "/"); sub == w.kernel {
				kernelOK = true
			}
			if contains(r.Subarches, w.kernel) {
				kernelOK = true
			}
		}
		switch {
		case !imageOK:
			out = append(out, fmt.Sprintf("image %s (nodes %s)", w.image, strings.Join(nodes, ", ")))
		case !kernelOK:
			out = append(out, fmt.Sprintf("kernel %s of image %s (nodes %s)", w.kernel, w.image, strings.Join(nodes, ", ")))
		}
	}
	sortStrings(out)
	return out
}

// Machines lists MAAS's machines.
func (d *Driver) Machines(ctx context.Context) ([]driver.Machine, error) {
	ms, err := d.c.machinesBy(ctx, nil)
	if err != nil {
		return nil, err
	}
	params, perr := d.c.allPowerParameters(ctx)
	out := make([]driver.Machine, 0, len(ms))
	for _, m := range ms {
		dm := driver.Machine{Hostname: m.Hostname, SystemID: m.SystemID, Status: m.StatusName, PowerState: m.PowerState,
			CPUCount: m.CPUCount, MemoryMiB: int64(m.Memory)}
		if b := m.BootInterface; b != nil {
			dm.BootMAC = b.MACAddress
			for _, l := range b.Links {
				if l.IPAddress != "" {
					dm.BootIP = l.IPAddress
					break
				}
			}
		}
		if perr == nil {
			if a, ok := params[m.SystemID]["power_address"].(string); ok {
				dm.PowerAddress = a
			}
		}
		out = append(out, dm)
	}
	return out, nil
}

// CheckHealth checks that MAAS answers and accepts the key; it changes nothing.
func (d *Driver) CheckHealth(ctx context.Context) error {
	if err := d.c.get(ctx, "version/", "", nil, nil); err != nil {
		return err
	}
	return d.c.get(ctx, "account/", "list_authorisation_tokens", nil, nil)
}
