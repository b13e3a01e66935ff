package oob

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// Power states a Session reports.
const (
	On  = driver.PowerStateOn
	Off = driver.PowerStateOff
)

// Session is an open connection to one BMC. Each method is one request (or a few) and returns
// when the BMC answered; errors wrap ErrRefused when the BMC refused, and are transient
// otherwise. A Session is used by one goroutine at a time.
type Session interface {
	// PowerState reads the power state: On or Off.
	PowerState(ctx context.Context) (string, error)
	// SetPower asks for power on or off (hard); it does not wait for the change.
	SetPower(ctx context.Context, on bool) error
	// SetNextBoot sets a one-time boot device for the next boot.
	SetNextBoot(ctx context.Context, dev driver.BootDevice) error
	// Inventory reads what the BMC knows of the machine (processors, memory, NICs, ...); nil
	// when it offers nothing.
	Inventory(ctx context.Context) (map[string]any, error)
	Close() error
}

// Protocol opens sessions to BMCs of one oob.type.
type Protocol interface {
	// Type is the oob.type it serves.
	Type() string
	// Open connects and logs in. A refused login wraps ErrRefused.
	Open(ctx context.Context, t Target) (Session, error)
}

// ErrRefused marks an error the BMC answered with: retrying the same request will not help.
var ErrRefused = errors.New("refused by the BMC")

// Refused wraps err as a refusal.
func Refused(err error) error {
	if err == nil || errors.Is(err, ErrRefused) {
		return err
	}
	return &refusedError{err}
}

type refusedError struct{ err error }

func (e *refusedError) Error() string   { return e.err.Error() }
func (e *refusedError) Unwrap() []error { return []error{e.err, ErrRefused} }

// Config tunes a Driver. Zero values take the defaults.
type Config struct {
	// PowerTimeout bounds the wait for a power change to show (default 3m).
	PowerTimeout time.Duration
	// PollInterval is the wait between power state reads (default 2s).
	PollInterval time.Duration
	// Attempts bounds the tries of a request that fails transiently (default 3).
	Attempts int
	// Backoff is the first wait between tries, doubled each time up to 8 times (default 1s).
	Backoff time.Duration
	// RequestTimeout bounds each request (default 30s).
	RequestTimeout time.Duration
	// MaxConcurrent bounds the operations in flight across all BMCs (default 64).
	MaxConcurrent int
}

func (c Config) withDefaults() Config {
	if c.PowerTimeout <= 0 {
		c.PowerTimeout = 3 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 64
	}
	return c
}

// Driver is a driver.OOBDriver over a Protocol.
type Driver struct {
	proto Protocol
	cfg   Config
	pool  chan struct{}

	mu    sync.Mutex
	locks map[string]*bmcLock
	// inFlight and peak count concurrent operations (for benchmarks).
	inFlight, peak int
}

type bmcLock struct {
	ch   chan struct{}
	refs int
}

// New builds a driver.
func New(p Protocol, cfg Config) *Driver {
	cfg = cfg.withDefaults()
	return &Driver{proto: p, cfg: cfg, pool: make(chan struct{}, cfg.MaxConcurrent), locks: map[string]*bmcLock{}}
}

var _ driver.OOBDriver = (*Driver)(nil)

// PeakConcurrency is the most operations that were in flight at once.
func (d *Driver) PeakConcurrency() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.peak
}

// acquire takes a global slot and the BMC's lock, waiting as long as ctx allows.
func (d *Driver) acquire(ctx context.Context, key string) (release func(), err error) {
	select {
	case d.pool <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	d.mu.Lock()
	l := d.locks[key]
	if l == nil {
		l = &bmcLock{ch: make(chan struct{}, 1)}
		d.locks[key] = l
	}
	l.refs++
	d.mu.Unlock()
	drop := func() {
		d.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(d.locks, key)
		}
		d.mu.Unlock()
		<-d.pool
	}
	select {
	case l.ch <- struct{}{}:
	case <-ctx.Done():
		drop()
		return nil, ctx.Err()
	}
	d.mu.Lock()
	d.inFlight++
	d.peak = max(d.peak, d.inFlight)
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		d.inFlight--
		d.mu.Unlock()
		<-l.ch
		drop()
	}, nil
}

// op is one operation on one node's BMC: the target, the open session, and the messages.
type op struct {
	d    *Driver
	t    Target
	sess Session
}

// with resolves the node's target, takes its BMC, opens a session (retrying transient
// failures) and runs fn. Every failure becomes a Result that names the node and the cause.
func (d *Driver) with(ctx context.Context, n *design.Node, what string, fn func(o *op) driver.Result) driver.Result {
	t, err := ResolveTarget(n)
	if err != nil {
		return driver.Fail("%s: %v", what, err)
	}
	if t.Type != d.proto.Type() {
		return driver.Fail("node %s has oob type %s, not %s", n.Name, t.Type, d.proto.Type())
	}
	release, err := d.acquire(ctx, t.Key())
	if err != nil {
		return d.scrub(t, driver.Unreach("node %s: %s: gave up waiting for the BMC: %v", n.Name, what, err))
	}
	defer release()
	var sess Session
	err = d.retry(ctx, func(ctx context.Context) error {
		var err error
		sess, err = d.proto.Open(ctx, t)
		return err
	})
	if err != nil {
		return d.scrub(t, d.failure(t, what+": connecting to the BMC", err))
	}
	defer sess.Close()
	return d.scrub(t, fn(&op{d: d, t: t, sess: sess}))
}

// retry runs a request with a per-request timeout, retrying transient failures with
// exponential backoff and jitter.
func (d *Driver) retry(ctx context.Context, req func(context.Context) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, d.cfg.RequestTimeout)
		err = req(rctx)
		cancel()
		if err == nil || errors.Is(err, ErrRefused) || attempt >= d.cfg.Attempts || ctx.Err() != nil {
			return err
		}
		wait := d.cfg.Backoff << min(attempt-1, 8)
		wait = wait/2 + rand.N(wait/2+1)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// failure turns an error into a Result: refused → Failed, anything else → Unreachable.
func (d *Driver) failure(t Target, what string, err error) driver.Result {
	if errors.Is(err, ErrRefused) {
		return driver.Fail("node %s: %s: the BMC refused: %v", t.Node, what, err)
	}
	return driver.Unreach("node %s: %s: %v", t.Node, what, err)
}

// scrub removes the password from a result's message, in case a library put it there.
func (d *Driver) scrub(t Target, r driver.Result) driver.Result {
	if pw := t.Pass.Reveal(); len(pw) >= 3 {
		r.Message = strings.ReplaceAll(r.Message, pw, "xxxxx")
	}
	return r
}

// call runs one request with retries.
func (o *op) call(ctx context.Context, req func(context.Context) error) error {
	return o.d.retry(ctx, req)
}

// power reads the power state.
func (o *op) power(ctx context.Context) (string, error) {
	var st string
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		st, err = o.sess.PowerState(ctx)
		return err
	})
	return st, err
}

// setPower asks for a power state and waits until the BMC reports it.
func (o *op) setPower(ctx context.Context, on bool) driver.Result {
	want, verb := Off, "power off"
	if on {
		want, verb = On, "power on"
	}
	if err := o.call(ctx, func(ctx context.Context) error { return o.sess.SetPower(ctx, on) }); err != nil {
		return o.d.failure(o.t, verb, err)
	}
	deadline := time.Now().Add(o.d.cfg.PowerTimeout)
	for {
		st, err := o.power(ctx)
		if err == nil && st == want {
			return driver.Result{Outcome: driver.Done, Message: fmt.Sprintf("node %s: %s verified", o.t.Node, verb),
				State: &driver.NodeState{Power: st, Observed: time.Now()}}
		}
		if err != nil && errors.Is(err, ErrRefused) {
			return o.d.failure(o.t, "reading power state after "+verb, err)
		}
		if time.Now().After(deadline) {
			if err != nil {
				return o.d.failure(o.t, fmt.Sprintf("%s: power state unreadable for %s", verb, o.d.cfg.PowerTimeout), err)
			}
			return driver.Fail("node %s: %s was accepted but the BMC still reports power %s after %s", o.t.Node, verb, st, o.d.cfg.PowerTimeout)
		}
		select {
		case <-ctx.Done():
			return driver.Unreach("node %s: %s: %v while waiting for the power state", o.t.Node, verb, context.Cause(ctx))
		case <-time.After(o.d.cfg.PollInterval):
		}
	}
}

// ValidateServices has nothing site-wide to check for BMCs: it checks that every node of this
// type has a usable target (address, account, password source).
func (d *Driver) ValidateServices(ctx context.Context, site *design.Site) driver.Result {
	var problems []string
	n := 0
	for _, node := range site.Nodes {
		if node.OOBType != d.proto.Type() {
			continue
		}
		n++
		if _, err := ResolveTarget(node); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return driver.Fail("%s", strings.Join(problems, "; "))
	}
	return driver.OK("%s: %d nodes have BMC parameters", d.proto.Type(), n)
}

// SetNextBoot sets a one-time boot device.
func (d *Driver) SetNextBoot(ctx context.Context, c driver.Call, dev driver.BootDevice) driver.Result {
	return d.with(ctx, c.Node, "set next boot", func(o *op) driver.Result {
		if err := o.call(ctx, func(ctx context.Context) error { return o.sess.SetNextBoot(ctx, dev) }); err != nil {
			return d.failure(o.t, "set next boot to "+string(dev), err)
		}
		return driver.Result{Outcome: driver.Done, Message: fmt.Sprintf("node %s: next boot set to %s (once)", c.Node.Name, dev),
			State: &driver.NodeState{BootDevice: string(dev), Observed: time.Now()}}
	})
}

// Power changes the power state, verified; a cycle is off then on.
func (d *Driver) Power(ctx context.Context, c driver.Call, a driver.PowerAction) driver.Result {
	return d.with(ctx, c.Node, "power "+string(a), func(o *op) driver.Result {
		st, err := o.power(ctx)
		if err != nil {
			return d.failure(o.t, "reading power state", err)
		}
		switch a {
		case driver.PowerOn, driver.PowerOff:
			want := string(a)
			if st == want {
				r := driver.OK("node %s: already powered %s; nothing done", c.Node.Name, want)
				r.Skipped = true
				r.State = &driver.NodeState{Power: st, Observed: time.Now()}
				return r
			}
			return o.setPower(ctx, a == driver.PowerOn)
		case driver.PowerCycle:
			if st == On {
				if r := o.setPower(ctx, false); r.Outcome != driver.Done {
					return r
				}
			}
			r := o.setPower(ctx, true)
			if r.Outcome == driver.Done {
				if st == On {
					r.Message = fmt.Sprintf("node %s: power cycled (off, then on; both verified)", c.Node.Name)
				} else {
					r.Message = fmt.Sprintf("node %s: was off; powered on (verified)", c.Node.Name)
				}
			}
			return r
		}
		return driver.Fail("node %s: unknown power action %q", c.Node.Name, a)
	})
}

// Interrogate reads the power state and the inventory.
func (d *Driver) Interrogate(ctx context.Context, c driver.Call) driver.Result {
	return d.with(ctx, c.Node, "interrogate", func(o *op) driver.Result {
		st, err := o.power(ctx)
		if err != nil {
			return d.failure(o.t, "reading power state", err)
		}
		var inv map[string]any
		if err := o.call(ctx, func(ctx context.Context) error {
			var err error
			inv, err = o.sess.Inventory(ctx)
			return err
		}); err != nil {
			return d.failure(o.t, "reading inventory", err)
		}
		r := driver.OK("node %s: BMC reachable, power %s", c.Node.Name, st)
		r.State = &driver.NodeState{Power: st, Observed: time.Now()}
		if inv != nil {
			r.Data = map[string]any{"inventory": inv}
		}
		return r
	})
}
