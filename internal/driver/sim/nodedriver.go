package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// NodeDriver returns the simulated provisioner.
func (s *Site) NodeDriver() driver.NodeDriver { return nodeDriver{s} }

type nodeDriver struct{ s *Site }

var _ driver.NodeDriver = nodeDriver{}

// The prepare_site steps.
var prepareSteps = map[string]bool{
	"create_network_template":    true,
	"configure_user_credentials": true,
	"configure_node_provisioner": true,
}

func (d nodeDriver) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	n, r, stop := d.s.siteFlap(ValidateServices)
	if stop {
		return r
	}
	if r, stop := d.s.siteFault(ctx, ValidateServices, n); stop {
		return r
	}
	if err := d.s.sleep(ctx, d.s.cfg.latency(ValidateServices)); err != nil {
		return interrupted(ValidateServices, err)
	}
	var count int
	if d.s.cfg.Shared {
		var err error
		if count, err = d.s.countShared(ctx); err != nil {
			return driver.Unreach("simulated %s: %v", ValidateServices, err)
		}
	} else {
		d.s.mu.RLock()
		count = len(d.s.machines)
		d.s.mu.RUnlock()
	}
	return driver.OK("simulated provisioner is up (%d machines)", count)
}

func (d nodeDriver) PrepareSite(ctx context.Context, step string, site *design.Site) driver.Result {
	if !prepareSteps[step] {
		return driver.Fail("unknown prepare_site step %q", step)
	}
	s := d.s
	if s.cfg.ReadOnly {
		return driver.Unreach("simulator: %v", errReadOnly)
	}
	n, r, stop := s.siteFlap(PrepareSite)
	if stop {
		return r
	}
	digest := digestOf(siteConfigFor(step, site))
	if s.cfg.Shared {
		return s.prepareShared(ctx, step, digest, n)
	}
	s.siteMu.Lock()
	defer s.siteMu.Unlock()
	if s.siteSteps[step] == digest {
		return skipped("%s already applied (configuration %s)", step, digest)
	}
	if r, stop := s.siteFault(ctx, PrepareSite, n); stop {
		return r
	}
	if err := s.sleep(ctx, s.cfg.latency(PrepareSite)); err != nil {
		return interrupted(PrepareSite, err)
	}
	now := s.now()
	w := &write{
		site: []siteStep{{step: step, digest: digest, at: now}},
		ops:  []Op{{Time: now, Operation: LogPrepareSite, Detail: step + " configuration " + digest}},
	}
	if err := s.commit(w); err != nil {
		return driver.Unreach("simulator: record %s: %v", step, err)
	}
	s.siteSteps[step] = digest
	return driver.OK("%s applied (configuration %s)", step, digest)
}

// siteConfigFor is the part of the site a prepare_site step writes to the provisioner.
func siteConfigFor(step string, site *design.Site) any {
	if site == nil {
		return nil
	}
	var region *design.Region
	if site.Design != nil {
		region = site.Design.Region()
	}
	switch step {
	case "create_network_template":
		var links []*design.NetworkLink
		if site.Design != nil {
			links = site.Design.NetworkLinks
		}
		return struct {
			Links    []*design.NetworkLink
			Networks []*design.Network
		}{links, site.Networks}
	case "configure_user_credentials":
		if region == nil {
			return nil
		}
		return region.AuthorizedKeys
	case "configure_node_provisioner":
		if region == nil {
			return nil
		}
		return region.Repositories
	}
	return nil
}

// digestOf is a short, stable digest of a value's JSON form (map keys are sorted by
// encoding/json, so equal models give equal digests).
func digestOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = fmt.Appendf(nil, "%#v", v)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

func networkingDigest(n *design.Node) string {
	return digestOf(struct {
		Primary    string
		Interfaces []design.NodeInterface
		Addressing []design.Address
	}{n.PrimaryNetwork, n.Interfaces, n.Addressing})
}

func storageDigest(n *design.Node) string {
	return digestOf(struct {
		Devices      []design.NodeDevice
		VolumeGroups []design.NodeVolumeGroup
	}{n.Devices, n.VolumeGroups})
}

func platformDigest(n *design.Node) string {
	return digestOf(struct {
		Image, Kernel string
		KernelParams  design.KV
		Tags          []string
		OwnerData     design.KV
	}{n.Image, n.Kernel, n.KernelParams, n.Tags, n.OwnerData})
}

// networkingDevices lists the NICs of each interface as the call resolves the hardware
// profile's aliases ("alias=kernel name"), for the operation log.
func networkingDevices(c driver.Call) string {
	parts := make([]string, 0, len(c.Node.Interfaces))
	for _, ifc := range c.Node.Interfaces {
		parts = append(parts, ifc.Name+" on "+strings.Join(resolved(c, ifc.Slaves), " "))
	}
	return "interfaces: " + strings.Join(parts, ", ")
}

// storageDevices lists the storage devices as the call resolves them, for the operation log.
func storageDevices(c driver.Call) string {
	names := make([]string, len(c.Node.Devices))
	for i, d := range c.Node.Devices {
		names[i] = d.Name
	}
	return "devices: " + strings.Join(resolved(c, names), " ")
}

func notFound(m *Machine) driver.Result {
	return driver.Fail("node %s not found in the provisioner (no machine with boot MAC %s)", m.Name, m.BootMAC)
}

func (d nodeDriver) IdentifyNode(ctx context.Context, c driver.Call) driver.Result {
	return d.s.with(ctx, c, Identify, func(t *call) driver.Result {
		if r, stop := t.syncFault(ctx, Identify); stop {
			return r
		}
		if err := t.wait(ctx, Identify, 1); err != nil {
			return interrupted(Identify, err)
		}
		m := t.m
		if !m.Known() {
			return notFound(m)
		}
		r := driver.OK("found machine %s (%s)", m.SystemID, m.Status)
		r.Data = map[string]any{"system_id": m.SystemID, "status": m.Status, "boot_mac": m.BootMAC}
		return r
	})
}

func (d nodeDriver) ConfigureHardware(ctx context.Context, c driver.Call) driver.Result {
	return d.s.with(ctx, c, Commission, func(t *call) driver.Result {
		m := t.m
		switch m.Status {
		case StatusReady, StatusAllocated, StatusDeploying, StatusDeployed:
			if m.Status == StatusReady && t.fresh(Commission) {
				r := driver.OK("commissioned: Ready")
				r.BuildData = commissionBuildData(m, c, true)
				return r
			}
			return skipped("already commissioned (%s)", m.Status)
		case StatusCommissioning:
			return inProgress(t, "commissioning")
		case StatusNew:
			return startCommission(t)
		case StatusFailedCommissioning:
			if t.sameStep(Commission) {
				r := driver.Fail("commissioning failed: Failed commissioning")
				r.BuildData = commissionBuildData(m, c, false)
				return r
			}
			return startCommission(t)
		case StatusUnknown:
			return notFound(m)
		}
		return driver.Fail("Commission is not available because of the current state of the node (%s)", m.Status)
	})
}

func startCommission(t *call) driver.Result {
	from := t.m.Status
	t.start(Commission)
	t.m.Status = StatusCommissioning
	t.m.Power = driver.PowerStateOn
	t.m.Networking, t.m.Storage = "", ""
	t.log(LogCommission, fmt.Sprintf("from %s; power on (PXE); %s", from, plan(t.m)))
	return driver.Pending(t.m.Remaining(t.now), "commissioning started")
}

// plan describes the decided duration of the running operation (not its outcome).
func plan(m *Machine) string {
	return "expected " + m.OpDuration.Round(time.Millisecond).String()
}

func inProgress(t *call, what string) driver.Result {
	m := t.m
	if left := m.Remaining(t.now); left > 0 {
		return driver.Pending(left, "%s, %s left", what, left.Round(time.Millisecond))
	}
	// A hung operation: no estimate, ask again at the orchestrator's poll interval.
	return driver.Pending(0, "%s since %s", what, m.OpStarted.Format(time.RFC3339))
}

func skipped(format string, args ...any) driver.Result {
	r := driver.OK(format, args...)
	r.Skipped = true
	return r
}

// apply records one configuration step from the applied model, when the machine can take it.
func (d nodeDriver) apply(ctx context.Context, c driver.Call, k Kind, label, logName string,
	digest func(*design.Node) string, devices func(driver.Call) string, field func(*Machine) *string) driver.Result {
	return d.s.with(ctx, c, k, func(t *call) driver.Result {
		m := t.m
		switch m.Status {
		case StatusDeployed, StatusDeploying:
			return skipped("machine is %s; %s configuration not changed", m.Status, label)
		case StatusReady, StatusAllocated:
		case StatusUnknown:
			return notFound(m)
		default:
			return driver.Fail("cannot apply %s configuration to a machine that is %s", label, m.Status)
		}
		want := digest(c.Node)
		if *field(m) == want {
			return skipped("%s configuration %s already applied", label, want)
		}
		if r, stop := t.syncFault(ctx, k); stop {
			return r
		}
		if err := t.wait(ctx, k, 1); err != nil {
			return interrupted(k, err)
		}
		*field(m) = want
		detail := "configuration " + want
		if devices != nil {
			detail += "; " + devices(c)
		}
		t.log(logName, detail)
		return driver.OK("%s configuration %s applied", label, want)
	})
}

func (d nodeDriver) ApplyNetworking(ctx context.Context, c driver.Call) driver.Result {
	return d.apply(ctx, c, ApplyNetworking, "networking", LogApplyNetworking, networkingDigest, networkingDevices,
		func(m *Machine) *string { return &m.Networking })
}

func (d nodeDriver) ApplyStorage(ctx context.Context, c driver.Call) driver.Result {
	return d.apply(ctx, c, ApplyStorage, "storage", LogApplyStorage, storageDigest, storageDevices,
		func(m *Machine) *string { return &m.Storage })
}

func (d nodeDriver) ApplyPlatform(ctx context.Context, c driver.Call) driver.Result {
	return d.apply(ctx, c, ApplyPlatform, "platform", LogApplyPlatform, platformDigest, nil,
		func(m *Machine) *string { return &m.Platform })
}

func (d nodeDriver) Deploy(ctx context.Context, c driver.Call) driver.Result {
	return d.s.with(ctx, c, Deploy, func(t *call) driver.Result {
		m := t.m
		switch m.Status {
		case StatusDeployed:
			if t.fresh(Deploy) {
				r := driver.OK("deployed")
				r.BuildData = deployBuildData(m, c, true)
				return r
			}
			return skipped("already deployed")
		case StatusDeploying:
			return inProgress(t, "deploying")
		case StatusReady, StatusAllocated:
			var missing []string
			for _, p := range []struct{ name, digest string }{
				{"networking", m.Networking}, {"storage", m.Storage}, {"platform", m.Platform}} {
				if p.digest == "" {
					missing = append(missing, p.name)
				}
			}
			if len(missing) > 0 {
				return driver.Fail("cannot deploy: %s configuration not applied", strings.Join(missing, ", "))
			}
			from := m.Status
			t.start(Deploy)
			m.Status = StatusDeploying
			m.Power = driver.PowerStateOn
			m.Deploys++
			image, kernel := c.Node.Image, c.Node.Kernel
			if image == "" {
				image = "default"
			}
			if kernel == "" {
				kernel = "default"
			}
			t.log(LogDeploy, fmt.Sprintf("from %s; image %s, kernel %s; networking %s, storage %s, platform %s; %s",
				from, image, kernel, m.Networking, m.Storage, m.Platform, plan(m)))
			return driver.Pending(m.Remaining(t.now), "deployment started")
		case StatusFailedDeployment:
			r := driver.Fail("deployment failed: Failed deployment (destroy the node to release it)")
			if t.fresh(Deploy) {
				r.BuildData = deployBuildData(m, c, false)
			}
			return r
		case StatusUnknown:
			return notFound(m)
		}
		return driver.Fail("Can't deploy a machine that is in the '%s' state", m.Status)
	})
}

func (d nodeDriver) Destroy(ctx context.Context, c driver.Call) driver.Result {
	return d.s.with(ctx, c, Release, func(t *call) driver.Result {
		m := t.m
		switch m.Status {
		case StatusUnknown:
			return skipped("node %s is not known to the provisioner; nothing to release", m.Name)
		case StatusReady:
			if t.fresh(Release) {
				return driver.OK("released: Ready")
			}
			return skipped("nothing deployed (Ready)")
		case StatusNew, StatusCommissioning, StatusFailedCommissioning:
			return skipped("nothing deployed (%s)", m.Status)
		case StatusReleasing:
			return inProgress(t, "releasing")
		case StatusReleasingFailed:
			if t.sameStep(Release) {
				return driver.Fail("release failed: Releasing failed")
			}
		case StatusAllocated, StatusDeploying, StatusDeployed, StatusFailedDeployment:
		default:
			return driver.Fail("Machine cannot be released in its current state ('%s').", m.Status)
		}
		from := m.Status
		t.start(Release)
		m.Status = StatusReleasing
		detail := "from " + from
		if from == StatusDeploying {
			detail += " (deployment aborted)"
		}
		t.log(LogRelease, detail+"; "+plan(m))
		return driver.Pending(m.Remaining(t.now), "release started")
	})
}

// Machines lists the simulated provisioner's machines (the API's GET /nodes).
func (d nodeDriver) Machines(ctx context.Context) ([]driver.Machine, error) {
	ms, err := d.s.Machines(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]driver.Machine, 0, len(ms))
	for _, m := range ms {
		dm := driver.Machine{Hostname: m.Name, Status: m.Status, PowerState: m.Power, BootMAC: m.BootMAC}
		if m.Known() {
			dm.SystemID = m.SystemID
		}
		out = append(out, dm)
	}
	return out, nil
}

// CheckHealth reports whether the simulated site's state can be read.
func (d nodeDriver) CheckHealth(ctx context.Context) error { return d.s.checkHealth(ctx) }

func (s *Site) checkHealth(ctx context.Context) error {
	if s.isClosed() {
		return fmt.Errorf("the simulated site is closed")
	}
	_, err := s.Machines(ctx)
	return err
}
