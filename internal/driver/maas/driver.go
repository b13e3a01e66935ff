package maas

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// Driver is the MAAS node driver.
type Driver struct {
	cfg Config
	c   *client

	cache siteCache

	mu      sync.Mutex
	started map[string]startMark // operations this driver started, by step key and attempt
}

var (
	_ driver.NodeDriver    = (*Driver)(nil)
	_ driver.MachineLister = (*Driver)(nil)
	_ driver.HealthChecker = (*Driver)(nil)
)

// New builds a driver. It checks the configuration (URL, key) but does not contact MAAS.
func New(cfg Config) (*Driver, error) {
	cfg = cfg.withDefaults()
	switch cfg.Erase {
	case EraseNone, EraseQuick, EraseSecure, EraseFull:
	default:
		return nil, fmt.Errorf("maas: erase mode %q is not one of none, quick, secure, full", cfg.Erase)
	}
	key, err := cfg.resolveKey()
	if err != nil {
		return nil, err
	}
	c, err := newClient(cfg, key)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, c: c, started: map[string]startMark{}}
	d.cache.ttl = cfg.CacheTTL
	return d, nil
}

// Requests is the number of HTTP requests the driver has sent to MAAS.
func (d *Driver) Requests() int64 { return d.c.Requests() }

// startMark records that this driver started a long operation for one attempt of one step,
// so that a failed end state seen later in the same attempt is this attempt's failure (and
// not an old one, which a new attempt starts over).
type startMark struct {
	op  string
	sid string
	at  time.Time
}

func markKey(c driver.Call) string { return fmt.Sprintf("%s#%d", c.Key, c.Attempt) }

func (d *Driver) markStarted(c driver.Call, op, sid string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if len(d.started) > 10000 {
		for k, m := range d.started {
			if now.Sub(m.at) > 24*time.Hour {
				delete(d.started, k)
			}
		}
	}
	d.started[markKey(c)] = startMark{op: op, sid: sid, at: now}
}

// startedHere reports whether this attempt of the step started op on the machine.
func (d *Driver) startedHere(c driver.Call, op, sid string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.started[markKey(c)]
	return ok && m.op == op && m.sid == sid
}

func (d *Driver) forget(c driver.Call) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.started, markKey(c))
}

// MAAS status labels (maas_api.md §4).
const (
	stNew                = "New"
	stCommissioning      = "Commissioning"
	stFailedCommission   = "Failed commissioning"
	stReady              = "Ready"
	stAllocated          = "Allocated"
	stDeploying          = "Deploying"
	stDeployed           = "Deployed"
	stBroken             = "Broken"
	stFailedDeployment   = "Failed deployment"
	stReleasing          = "Releasing"
	stFailedReleasing    = "Releasing failed"
	stDiskErasing        = "Disk erasing"
	stFailedDiskErasing  = "Failed disk erasing"
	stTesting            = "Testing"
	stFailedTesting      = "Failed testing"
	stReserved           = "Reserved"
	managedComment       = "Managed by Drydock"
	bootActionTagComment = "Drydock boot action key"
)

// nodeOp is one call for one node: the node, its machine once found, and result helpers that
// name the node and the machine.
type nodeOp struct {
	d    *Driver
	c    driver.Call
	node *design.Node
	what string // the step, for messages
	m    *machine
	via  string // how the machine was found
	// secrets are texts no message may carry (the BMC password sent to MAAS).
	secrets []string
}

func (o *nodeOp) sid() string { return o.m.SystemID }

func (o *nodeOp) prefix() string {
	if o.m != nil {
		return fmt.Sprintf("node %s (MAAS machine %s)", o.node.Name, o.m.SystemID)
	}
	return "node " + o.node.Name
}

func (o *nodeOp) state() *driver.NodeState {
	if o.m == nil {
		return nil
	}
	return &driver.NodeState{Provisioner: o.m.StatusName, SystemID: o.m.SystemID, Power: o.m.PowerState, Observed: time.Now()}
}

func (o *nodeOp) result(r driver.Result) driver.Result {
	if r.State == nil {
		r.State = o.state()
	}
	r.Message = o.d.scrubMessage(r.Message, o.c)
	for _, sec := range o.secrets {
		if len(sec) >= 3 {
			r.Message = strings.ReplaceAll(r.Message, sec, "xxxxx")
		}
	}
	return r
}

func (o *nodeOp) ok(format string, args ...any) driver.Result {
	return o.result(driver.OK("%s: %s", o.prefix(), fmt.Sprintf(format, args...)))
}

func (o *nodeOp) skip(format string, args ...any) driver.Result {
	r := o.ok(format, args...)
	r.Skipped = true
	return r
}

func (o *nodeOp) fail(format string, args ...any) driver.Result {
	return o.result(driver.Fail("%s: %s", o.prefix(), fmt.Sprintf(format, args...)))
}

func (o *nodeOp) wait(format string, args ...any) driver.Result {
	return o.result(driver.Pending(o.d.cfg.PollInterval, "%s: %s", o.prefix(), fmt.Sprintf(format, args...)))
}

// err turns a MAAS error into the node's outcome: transient (503, connection, timeout, an
// uncertain POST) → Unreachable, the next call reads the state again; anything MAAS refused
// → Failed.
func (o *nodeOp) err(doing string, err error) driver.Result {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || transient(err) {
		return o.result(driver.Unreach("%s: %s: %v", o.prefix(), doing, err))
	}
	return o.fail("%s: %v", doing, err)
}

var baidTagRE = regexp.MustCompile(`__baid__[0-9a-fA-F]+`)

// scrubMessage keeps boot action keys out of messages (they are in tag names).
func (d *Driver) scrubMessage(s string, c driver.Call) string {
	if c.BootActions != nil && len(c.BootActions.Key) > 0 {
		s = strings.ReplaceAll(s, c.BootActions.KeyHex(), "<key>")
	}
	s = baidTagRE.ReplaceAllString(s, "__baid__<key>")
	return d.c.scrub(s)
}

// begin finds the node's machine. It returns a result when the call cannot go on (the machine
// is not found, MAAS is unreachable).
func (d *Driver) begin(ctx context.Context, c driver.Call, what string) (*nodeOp, *driver.Result) {
	o := &nodeOp{d: d, c: c, node: c.Node, what: what}
	if c.Node == nil {
		r := driver.Fail("%s: no node given", what)
		return nil, &r
	}
	m, via, err := d.find(ctx, c)
	if err != nil {
		r := o.err("finding the machine in MAAS", err)
		return nil, &r
	}
	if m == nil {
		r := o.result(driver.Fail("node %s: not found in MAAS (no machine with hostname %s%s)", c.Node.Name, c.Node.Name, d.otherKeys(c.Node)))
		return nil, &r
	}
	o.m, o.via = m, via
	return o, nil
}

func (d *Driver) otherKeys(n *design.Node) string {
	var s string
	if addr := bmcAddress(n); addr != "" {
		s += ", BMC address " + addr
	}
	if n.BootMAC != "" {
		s += ", boot MAC " + n.BootMAC
	}
	return s
}

// find looks the node's machine up: by the system id last seen (checked against the
// hostname), by hostname, by BMC address (ipmi, redfish), by boot MAC. Several matches for
// one key are an error, never a guess.
func (d *Driver) find(ctx context.Context, c driver.Call) (*machine, string, error) {
	n := c.Node
	if c.Last != nil && c.Last.SystemID != "" {
		m, err := d.c.machine(ctx, c.Last.SystemID)
		switch {
		case err == nil && m.Hostname == n.Name:
			return m, "system id " + m.SystemID, nil
		case err != nil && !isNotFound(err):
			return nil, "", err
		}
	}
	ms, err := d.c.machinesBy(ctx, url.Values{"hostname": {n.Name}})
	if err != nil {
		return nil, "", err
	}
	ms = filterHostname(ms, n.Name)
	if m, err := only(ms, "hostname "+n.Name); m != nil || err != nil {
		return m, "hostname", err
	}
	if addr := bmcAddress(n); addr != "" {
		hits, err := d.byPowerAddress(ctx, addr)
		if err != nil {
			return nil, "", err
		}
		switch len(hits) {
		case 1:
			m, err := d.c.machine(ctx, hits[0])
			if !isNotFound(err) {
				return m, "BMC address " + addr, err
			}
			// Gone since the power parameters were read: go on with the boot MAC.
		case 0:
		default:
			return nil, "", &ambiguousError{fmt.Sprintf("machines %s all have BMC address %s", strings.Join(hits, ", "), addr)}
		}
	}
	if n.BootMAC != "" {
		ms, err := d.c.machinesBy(ctx, url.Values{"mac_address": {n.BootMAC}})
		if err != nil {
			return nil, "", err
		}
		if m, err := only(ms, "boot MAC "+n.BootMAC); m != nil || err != nil {
			return m, "boot MAC " + n.BootMAC, err
		}
	}
	return nil, "", nil
}

func filterHostname(ms []machine, name string) []machine {
	out := ms[:0]
	for _, m := range ms {
		if m.Hostname == name || strings.HasPrefix(m.FQDN, name+".") {
			out = append(out, m)
		}
	}
	return out
}

// ambiguousError is a lookup that matched several machines: a refusal, never a guess.
type ambiguousError struct{ msg string }

func (e *ambiguousError) Error() string { return e.msg }

func only(ms []machine, by string) (*machine, error) {
	switch len(ms) {
	case 0:
		return nil, nil
	case 1:
		return &ms[0], nil
	}
	ids := make([]string, len(ms))
	for i := range ms {
		ids[i] = ms[i].SystemID
	}
	return nil, &ambiguousError{fmt.Sprintf("several MAAS machines match %s: %s", by, strings.Join(ids, ", "))}
}

// refresh reads the machine again.
func (o *nodeOp) refresh(ctx context.Context) error {
	m, err := o.d.c.machine(ctx, o.sid())
	if err != nil {
		return err
	}
	o.m = m
	return nil
}

// statusDetail is MAAS's explanation of a failed state, when it gives one.
func statusDetail(m *machine) string {
	var parts []string
	for _, s := range []string{m.StatusMessage, m.ErrorDescription} {
		if s = strings.TrimSpace(s); s != "" && !contains(parts, s) {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// release starts a release (no erase) so that the machine can be configured again; used
// when a configuration step finds a failed deployment.
func (o *nodeOp) releaseForRework(ctx context.Context, why string) driver.Result {
	if _, err := o.d.c.machineOp(ctx, o.sid(), "release", form("comment", "Drydock: "+why)); err != nil {
		return o.err("releasing the machine ("+why+")", err)
	}
	if err := o.refresh(ctx); err != nil {
		return o.err("reading the machine after release", err)
	}
	return o.wait("%s: machine released (now %s)", why, o.m.StatusName)
}
