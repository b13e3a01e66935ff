package sim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// Log operation names (Op.Operation). Starts are named after the action; completions and
// failures of asynchronous operations have their own names.
const (
	LogCreate           = "create"            // machine materialised from the design
	LogPowerOn          = "power_on"          // detail says what it booted (PXE boot → enlisting)
	LogPowerOff         = "power_off"         //
	LogPowerCycle       = "power_cycle"       // off then on; detail as power_on
	LogSetBoot          = "set_boot"          // one-time next boot device
	LogEnlisted         = "enlisted"          // PXE-booted machine is now New
	LogEnlistFailed     = "enlist_failed"     //
	LogCommission       = "commission"        // commissioning started
	LogCommissioned     = "commissioned"      // Ready
	LogCommissionFailed = "commission_failed" // Failed commissioning
	LogApplyNetworking  = "apply_networking"  // detail: digest of the applied networking model
	LogApplyStorage     = "apply_storage"     //
	LogApplyPlatform    = "apply_platform"    //
	LogDeploy           = "deploy"            // deployment started
	LogDeployed         = "deployed"          //
	LogDeployFailed     = "deploy_failed"     // Failed deployment
	LogRelease          = "release"           // release started
	LogReleased         = "released"          // Ready
	LogReleaseFailed    = "release_failed"    // Releasing failed
	LogPrepareSite      = "prepare_site"      // node "": a prepare_site step applied
)

// Op is one entry of the operation log: a state change of a machine (or of the site, with an
// empty Node), recorded in the same transaction as the change itself.
type Op struct {
	Seq       int64 // order of recording
	Time      time.Time
	Node      string
	Operation string // one of the Log* names
	Detail    string
}

// Site is a simulated data centre: machines with BMCs, and a provisioner that behaves like
// MAAS at the level the orchestrator sees. Its state lives in its own SQLite database.
type Site struct {
	cfg   Config
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	db    *db

	closeMu sync.RWMutex // held shared by every commit, exclusively by Close
	closed  bool

	mu       sync.RWMutex // guards machines and sysIDs
	machines map[string]*entry
	sysIDs   map[string]string // system id → node name

	ensureMu sync.Mutex // serialises machine creation

	siteMu    sync.Mutex // one site-wide operation at a time
	siteSteps map[string]string
	siteCalls atomic.Int64

	sysID func(node string, try int) string // systemID; tests force collisions with it
	sh    sharedState                       // shared mode only (shared.go)
}

// entry is the cached machine: the last committed state, and the lock that lets one
// operation at a time work on it. In shared mode only the lock and the counter are used.
type entry struct {
	lock  chan struct{}
	snap  atomic.Pointer[Machine]
	calls atomic.Int64 // calls received, for fault decisions (not persisted)
}

// Open opens (or creates) the simulated site stored at path; "" keeps it in memory. The
// machines are loaded into memory; every change is written through to the database before
// the call that made it returns. With Config.Shared nothing is loaded: every call reads the
// database.
func Open(path string, cfg Config) (*Site, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Site{cfg: cfg, now: cfg.Now, sleep: cfg.Sleep, machines: map[string]*entry{}, sysIDs: map[string]string{},
		sysID: systemID}
	if s.now == nil {
		s.now = time.Now
		if s.sleep == nil {
			s.sleep = realSleep
		}
	}
	if s.sleep == nil {
		s.sleep = noSleep
	}
	d, err := openDB(path, cfg.ReadOnly, cfg.Shared)
	if err != nil {
		return nil, err
	}
	s.db = d
	if cfg.Shared {
		s.sh = newSharedState(cfg)
		return s, nil
	}
	ctx := context.Background()
	ms, err := d.loadMachines(ctx)
	if err != nil {
		d.close()
		return nil, err
	}
	for i := range ms {
		m := ms[i]
		s.machines[m.Name] = newEntry(&m)
		if m.SystemID != "" {
			s.sysIDs[m.SystemID] = m.Name
		}
	}
	if s.siteSteps, err = d.loadSite(ctx); err != nil {
		d.close()
		return nil, err
	}
	return s, nil
}

func newEntry(m *Machine) *entry {
	e := &entry{lock: make(chan struct{}, 1)}
	e.snap.Store(m)
	return e
}

// Close waits for operations being recorded, then closes the database. Calls made after
// Close answer Unreachable.
func (s *Site) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	if s.cfg.Shared && !s.cfg.ReadOnly {
		// No transaction runs now, and the operations waiting under these claims can no
		// longer record anything: let the other processes have the machines at once.
		s.releaseAll()
	}
	s.closeMu.Unlock()
	return s.db.close()
}

var errClosed = errors.New("simulator closed")
var errReadOnly = errors.New("simulator opened read-only")

// commit makes w durable. It fails without effect when the site is closed or read-only.
func (s *Site) commit(w *write) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return errClosed
	}
	if s.cfg.ReadOnly {
		return errReadOnly
	}
	return s.db.commit(w)
}

// Ensure materialises a machine for every node not seen before (idempotent: known machines
// are left as they are, whatever the design says now). All new machines are created in one
// transaction.
func (s *Site) Ensure(nodes ...*design.Node) error {
	if s.cfg.Shared {
		return s.ensureShared(nodes)
	}
	_, err := s.ensure(nodes)
	return err
}

func (s *Site) ensure(nodes []*design.Node) ([]*entry, error) {
	out := make([]*entry, len(nodes))
	missing := false
	s.mu.RLock()
	for i, n := range nodes {
		if n == nil || n.Name == "" {
			s.mu.RUnlock()
			return nil, errors.New("sim: a node without a name")
		}
		if out[i] = s.machines[n.Name]; out[i] == nil {
			missing = true
		}
	}
	s.mu.RUnlock()
	if !missing {
		return out, nil
	}

	s.ensureMu.Lock()
	defer s.ensureMu.Unlock()
	now := s.now()
	w := &write{}
	fresh := map[string]*Machine{}
	s.mu.RLock()
	for _, n := range nodes {
		if s.machines[n.Name] != nil || fresh[n.Name] != nil {
			continue
		}
		m := newMachine(n, now)
		fresh[n.Name] = &m
		w.create = append(w.create, &m)
		w.ops = append(w.ops, createOp(&m, now))
	}
	s.mu.RUnlock()
	if len(w.create) > 0 {
		if err := s.commit(w); err != nil {
			return nil, err
		}
		s.mu.Lock()
		for name, m := range fresh {
			s.machines[name] = newEntry(m)
		}
		s.mu.Unlock()
	}
	s.mu.RLock()
	for i, n := range nodes {
		out[i] = s.machines[n.Name]
	}
	s.mu.RUnlock()
	return out, nil
}

// createOp is the log entry of a machine's creation.
func createOp(m *Machine, now time.Time) Op {
	return Op{Time: now, Node: m.Name, Operation: LogCreate,
		Detail: fmt.Sprintf("boot MAC %s; %d NICs, %d disks; power off; next boot disk", m.BootMAC, len(m.NICs), len(m.Disks))}
}

// Machines returns every machine as it is now, sorted by name: time-based transitions that
// are due are shown completed (they are recorded by the next call that touches the machine).
func (s *Site) Machines(ctx context.Context) ([]Machine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.cfg.Shared {
		return s.machinesShared(ctx)
	}
	s.mu.RLock()
	out := make([]Machine, 0, len(s.machines))
	for _, e := range s.machines {
		out = append(out, *e.snap.Load())
	}
	s.mu.RUnlock()
	return settled(out, s.now()), nil
}

// settled completes the machines' due timed operations as of now (for display; nothing is
// written) and sorts them by name.
func settled(ms []Machine, now time.Time) []Machine {
	for i := range ms {
		ms[i].settle(now)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms
}

// Machine returns one machine as it is now (see Machines); false when it does not exist.
func (s *Site) Machine(name string) (Machine, bool) {
	if s.cfg.Shared {
		return s.machineShared(name)
	}
	s.mu.RLock()
	e := s.machines[name]
	s.mu.RUnlock()
	if e == nil {
		return Machine{}, false
	}
	m := *e.snap.Load()
	m.settle(s.now())
	return m, true
}

// Log returns the operation log of one node, or of the whole site (node ""), in time order.
func (s *Site) Log(ctx context.Context, node string) ([]Op, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	return s.db.log(ctx, node)
}

// allocSystemID reserves a system id for a node: the same one every time for the same node
// unless another node took it first.
func (s *Site) allocSystemID(node string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for try := 0; ; try++ {
		id := s.sysID(node, try)
		if owner, ok := s.sysIDs[id]; !ok || owner == node {
			s.sysIDs[id] = node
			return id
		}
	}
}

// call is one driver call working on one locked machine. Changes go to m and ops; they are
// committed together when the call ends.
type call struct {
	s       *Site
	c       driver.Call
	kind    Kind
	m       *Machine
	ops     []Op
	now     time.Time
	calls   int64
	settled []Kind // operations whose completion this call recorded

	// Shared mode (shared.go): the phase, the wait the decide phase asks for, the transaction
	// the call runs in, and a database error that must abort it.
	phase int
	need  *pending
	tx    *sql.Tx
	txCtx context.Context
	err   error
}

// with runs fn on the machine of c.Node: it drops the call when the fault odds say it flaps,
// takes the machine's lock, evaluates due transitions, runs fn, records what fn (and the
// evaluation) changed in one transaction, and fills in the observed state.
func (s *Site) with(ctx context.Context, c driver.Call, k Kind, fn func(t *call) driver.Result) driver.Result {
	if c.Node == nil || c.Node.Name == "" {
		return driver.Fail("simulator: call without a node")
	}
	if s.isClosed() {
		return driver.Unreach("simulator: %v", errClosed)
	}
	if s.cfg.ReadOnly {
		return driver.Unreach("simulator: %v", errReadOnly)
	}
	if s.cfg.Shared {
		return s.withShared(ctx, c, k, fn)
	}
	es, err := s.ensure([]*design.Node{c.Node})
	if err != nil {
		return driver.Unreach("simulator: materialise machine %s: %v", c.Node.Name, err)
	}
	e := es[0]
	name := c.Node.Name
	n := e.calls.Add(1)
	odds := s.cfg.odds(name, k)
	if odds.Flap > 0 && roll(s.cfg.Seed, name, k, "flap", n, 0) < odds.Flap {
		return driver.Unreach("simulated %s: no answer (connection timed out)", k)
	}
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return driver.Unreach("simulated %s: %v while waiting for another operation on %s", k, ctx.Err(), name)
	}
	defer func() { <-e.lock }()

	m := *e.snap.Load()
	t := &call{s: s, c: c, kind: k, m: &m, now: s.now(), calls: n}
	t.settle()
	res := fn(t)
	if len(t.ops) > 0 {
		m.Updated = t.now
		if err := s.commit(&write{update: []*Machine{&m}, ops: t.ops}); err != nil {
			// Not recorded, so it did not happen: the cached state stays as it was.
			return driver.Unreach("simulator: record %s of %s: %v", k, name, err)
		}
		e.snap.Store(&m)
		if odds.Lost > 0 && roll(s.cfg.Seed, name, k, "lost", m.Seq, n) < odds.Lost {
			return driver.Unreach("simulated %s: answer lost (connection reset)", k)
		}
	}
	if res.State == nil {
		res.State = m.State(t.now)
	}
	return res
}

func (s *Site) isClosed() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	return s.closed
}

// settle records the completion of the machine's operation if it is due.
func (t *call) settle() {
	before := t.m.Op
	if ops := t.m.settle(t.now); len(ops) > 0 {
		t.ops = append(t.ops, ops...)
		t.settled = append(t.settled, before)
	}
}

// log records a state change made by this call, at the call's current time.
func (t *call) log(name, detail string) {
	t.m.Seq++
	t.ops = append(t.ops, Op{Time: t.now, Node: t.m.Name, Operation: name, Detail: detail})
}

// latency is the latency of k for this machine now, with jitter.
func (t *call) latency(k Kind) time.Duration {
	d := t.s.cfg.latency(k)
	if j := t.s.cfg.Jitter; j > 0 && d > 0 {
		u := roll(t.s.cfg.Seed, t.m.Name, k, "jitter", t.m.Seq, 0)
		d = time.Duration(float64(d) * (1 + j*(2*u-1)))
	}
	return d
}

// wait sleeps for the latency of a synchronous operation (n times), then moves the call's
// clock on and evaluates transitions that came due meanwhile. In shared mode the decide phase
// does not sleep (unless there is nothing to wait): it asks for the wait and answers
// errDeferred, and the finish phase, which runs after the wait, does not wait again. Whatever
// a call changed before a deferred wait is discarded, so a call must wait before it changes
// the machine (every synchronous operation does).
func (t *call) wait(ctx context.Context, k Kind, n int) error {
	d := time.Duration(n) * t.latency(k)
	switch {
	case t.phase == phaseFinish:
		return nil
	case t.phase == phaseDecide && d > 0:
		t.need = &pending{d: d}
		return errDeferred
	}
	if err := t.s.sleep(ctx, d); err != nil {
		return err
	}
	if now := t.s.now(); now.After(t.now) {
		t.now = now
	}
	t.settle()
	return nil
}

// outcome decides how an operation of kind k that starts now will end.
func (t *call) outcome(k Kind) string {
	o := t.s.cfg.odds(t.m.Name, k)
	if o.Fail > 0 && roll(t.s.cfg.Seed, t.m.Name, k, "fail", t.m.Seq, t.calls) < o.Fail {
		return OutcomeFail
	}
	if o.Hang > 0 && roll(t.s.cfg.Seed, t.m.Name, k, "hang", t.m.Seq, t.calls) < o.Hang {
		return OutcomeHang
	}
	return OutcomeOK
}

// syncFault applies the Fail and Hang odds of a synchronous operation: a failure answers
// Failed, a hang blocks until ctx ends and answers Unreachable. Neither changes anything.
//
// In shared mode the decide phase makes the decision and defers a hang (the machine is claimed
// and the hang happens outside the transaction); the finish phase does not decide again.
func (t *call) syncFault(ctx context.Context, k Kind) (driver.Result, bool) {
	if t.phase == phaseFinish {
		return driver.Result{}, false
	}
	switch t.outcome(k) {
	case OutcomeFail:
		return driver.Fail("simulated %s failed: the %s answered with an error", k, target(k)), true
	case OutcomeHang:
		if t.phase == phaseDecide {
			t.need = &pending{hang: true}
			return driver.Unreach("simulated %s: hang deferred", k), true
		}
		<-ctx.Done()
		return driver.Unreach("simulated %s: no answer before %v", k, ctx.Err()), true
	}
	return driver.Result{}, false
}

func target(k Kind) string {
	switch k {
	case Power, SetBoot, Interrogate:
		return "BMC"
	}
	return "provisioner"
}

// start begins an asynchronous operation: its duration and outcome are decided now and stored
// with the machine, so that it completes on time even if nobody is watching.
func (t *call) start(k Kind) {
	t.m.Op = k
	t.m.OpStarted = t.now
	t.m.OpDuration = t.latency(k)
	t.m.OpOutcome = t.outcome(k)
	t.m.OpKey = t.c.Key
	t.m.OpDone = false
}

// fresh reports whether the last operation of kind k belongs to this step: this call recorded
// its completion, or the step (same non-empty Call.Key) started it.
func (t *call) fresh(k Kind) bool {
	for _, s := range t.settled {
		if s == k {
			return true
		}
	}
	return t.sameStep(k)
}

// sameStep reports whether the last operation of kind k was started by this step.
func (t *call) sameStep(k Kind) bool {
	return t.m.Op == k && t.c.Key != "" && t.m.OpKey == t.c.Key
}

// interrupted is the answer of a call whose wait was cut short: nothing was done.
func interrupted(k Kind, err error) driver.Result {
	return driver.Unreach("simulated %s interrupted: %v", k, err)
}

// siteFlap applies the Flap odds of a site-wide call; it returns the call's number.
func (s *Site) siteFlap(k Kind) (int64, driver.Result, bool) {
	if s.isClosed() {
		return 0, driver.Unreach("simulator: %v", errClosed), true
	}
	n := s.siteCalls.Add(1)
	if o := s.cfg.odds("", k); o.Flap > 0 && roll(s.cfg.Seed, "", k, "flap", n, 0) < o.Flap {
		return n, driver.Unreach("simulated %s: no answer (connection timed out)", k), true
	}
	return n, driver.Result{}, false
}

// siteFault applies the Fail and Hang odds of site-wide call number n.
func (s *Site) siteFault(ctx context.Context, k Kind, n int64) (driver.Result, bool) {
	switch s.siteOutcome(k, n) {
	case OutcomeFail:
		return driver.Fail("simulated %s failed: the provisioner answered with an error", k), true
	case OutcomeHang:
		<-ctx.Done()
		return driver.Unreach("simulated %s: no answer before %v", k, ctx.Err()), true
	}
	return driver.Result{}, false
}

// siteOutcome decides how site-wide call number n ends.
func (s *Site) siteOutcome(k Kind, n int64) string {
	o := s.cfg.odds("", k)
	if o.Fail > 0 && roll(s.cfg.Seed, "", k, "fail", n, 0) < o.Fail {
		return OutcomeFail
	}
	if o.Hang > 0 && roll(s.cfg.Seed, "", k, "hang", n, 0) < o.Hang {
		return OutcomeHang
	}
	return OutcomeOK
}

// allocSystemID reserves a system id for the call's machine: in shared mode in the database,
// inside the call's transaction.
func (t *call) allocSystemID() string {
	if t.tx == nil {
		return t.s.allocSystemID(t.m.Name)
	}
	id, err := t.s.db.reserveSystemID(t.txCtx, t.tx, t.m.Name, t.s.sysID)
	if err != nil && t.err == nil {
		t.err = err
	}
	return id
}
