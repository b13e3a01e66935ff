package sim

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
)

// Shared mode (Config.Shared): several processes drive one site file. See the package
// documentation, "Shared mode", for the protocol; this file implements it.

// Phases of a call. In the default mode a call runs start to end holding its machine
// (phaseAll). In shared mode it runs first in one transaction (phaseDecide); if it has to wait
// out a latency it stops there, claims the machine, waits outside any transaction, and runs
// again from the start in a second transaction (phaseFinish), on the machine read afresh.
const (
	phaseAll = iota
	phaseDecide
	phaseFinish
)

// pending is what a decide phase left to do outside the transaction: wait d, or hang (wait
// until the call's context ends).
type pending struct {
	d    time.Duration
	hang bool
}

var (
	// errDeferred is what call.wait answers in the decide phase: the wait happens later.
	errDeferred = errors.New("wait deferred until the machine is claimed")
	// errHeld: the claim belongs to another live operation (not a failure: wait and retry).
	errHeld = errors.New("claimed by another operation")
	// errClaimLost: the claim expired and another operation took it over while this one
	// waited, so this one must not record anything.
	errClaimLost = errors.New("claim lost: the wait outlasted ClaimTTL and another operation took the machine over")
)

// waitError is a call that gave up (its context ended) while another operation held the
// machine.
type waitError struct{ err error }

func (e waitError) Error() string { return e.err.Error() }

// sharedState is the part of a Site that only shared mode uses.
type sharedState struct {
	id     string        // this Site's identity, prefix of its claim tokens
	ttl    time.Duration // Config.ClaimTTL or the default
	tokens sync.Mutex
	seq    int64
	held   sync.Map // claim key → token: claims this Site holds now (released by Close)
	locks  map[string]*entry
}

func newSharedState(cfg Config) sharedState {
	var b [6]byte
	rand.Read(b[:])
	ttl := cfg.ClaimTTL
	if ttl == 0 {
		ttl = DefaultClaimTTL
	}
	host, _ := os.Hostname()
	return sharedState{id: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])), ttl: ttl,
		locks: map[string]*entry{}}
}

func (s *Site) newToken() string {
	s.sh.tokens.Lock()
	defer s.sh.tokens.Unlock()
	s.sh.seq++
	return fmt.Sprintf("%s/%d", s.sh.id, s.sh.seq)
}

// lockOf returns the in-process lock (and call counter) of a machine. The claim in the
// database serialises operations across processes; this lock keeps the operations of one
// process from polling each other's claims.
func (s *Site) lockOf(name string) *entry {
	s.mu.RLock()
	e := s.sh.locks[name]
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e = s.sh.locks[name]; e == nil {
		e = &entry{lock: make(chan struct{}, 1)}
		s.sh.locks[name] = e
	}
	return e
}

// tx runs fn in one BEGIN IMMEDIATE transaction, unless the site is closed or read-only.
func (s *Site) tx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return errClosed
	}
	if s.cfg.ReadOnly {
		return errReadOnly
	}
	return s.db.immediate(ctx, fn)
}

// claimed runs one shared-mode operation on key (a machine name; "" for the site). body runs
// inside a write transaction, first with finish false (decide). When it returns no pending
// wait, that transaction commits what body wrote and the operation is over. When it returns
// one, the transaction commits what body wrote plus a claim on key (expiring ClaimTTL from
// now on the real clock), the wait happens outside any transaction while a heartbeat renews
// the claim every ClaimTTL/3, and body runs again with finish true in a second transaction
// that first checks the claim is still this operation's, and drops it. body must write only
// what already happened when it returns a wait (the caller discards the rest).
//
// A claim held by another operation that has not expired makes the operation wait (polling
// the claim outside any transaction) until it is dropped or expires; an expired claim is taken
// over. cut is the context error that cut the wait short (the claim is then dropped and
// nothing more is written); err reports an operation that did not complete: a waitError when
// ctx ended while waiting for another operation's claim, errClaimLost, or a database error.
func (s *Site) claimed(ctx context.Context, key string, k Kind,
	body func(ctx context.Context, tx *sql.Tx, finish bool) (*pending, error)) (p *pending, cut, err error) {
	token := s.newToken()
	for {
		var until int64
		err = s.tx(ctx, func(tctx context.Context, tx *sql.Tx) error {
			owner, u, err := s.db.claimOf(tctx, tx, key)
			if err != nil {
				return err
			}
			if owner != "" && time.Now().UnixNano() < u {
				until = u
				return errHeld
			}
			if p, err = body(tctx, tx, false); err != nil {
				return err
			}
			if p == nil {
				if owner != "" { // expired: its holder died or stalled; tidy up
					return s.db.dropClaim(tctx, tx, key, owner)
				}
				return nil
			}
			// A stale claim is overwritten. The claim is registered before the commit, so that
			// Close, which waits for running transactions, knows it.
			if err := s.db.putClaim(tctx, tx, key, token, k, time.Now().Add(s.sh.ttl)); err != nil {
				return err
			}
			s.sh.held.Store(key, token)
			return nil
		})
		if errors.Is(err, errHeld) {
			if err := s.awaitClaim(ctx, key, until); err != nil {
				return nil, nil, waitError{err}
			}
			continue
		}
		if err != nil || p == nil {
			s.sh.held.Delete(key)
			if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				err = waitError{err}
			}
			return p, nil, err
		}
		break
	}
	defer s.sh.held.Delete(key)
	stop := s.heartbeat(key, token)
	if p.hang {
		<-ctx.Done()
		cut = ctx.Err()
	} else {
		cut = s.sleep(ctx, p.d)
	}
	stop()
	if cut != nil {
		s.release(key, token)
		return p, cut, nil
	}
	err = s.tx(context.Background(), func(tctx context.Context, tx *sql.Tx) error {
		owner, _, err := s.db.claimOf(tctx, tx, key)
		if err != nil {
			return err
		}
		if owner != token {
			return errClaimLost
		}
		if _, err := body(tctx, tx, true); err != nil {
			return err
		}
		return s.db.dropClaim(tctx, tx, key, token)
	})
	if err != nil && !errors.Is(err, errClaimLost) {
		s.release(key, token)
	}
	return p, nil, err
}

// awaitClaim waits until the claim on key, held by another operation until the given time
// (Unix ns, real clock), is dropped or expires. It polls through the read connections (no
// write lock), quickly at first.
func (s *Site) awaitClaim(ctx context.Context, key string, until int64) error {
	backoff := time.Millisecond
	for {
		d := time.Until(time.Unix(0, until))
		d = max(min(d, backoff), 0)
		backoff = min(2*backoff, 20*time.Millisecond)
		if err := realSleep(ctx, d); err != nil {
			return err
		}
		owner, u, err := s.db.peekClaim(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // the transaction that follows will tell
		}
		if owner == "" || time.Now().UnixNano() >= u {
			return nil
		}
		until = u
	}
}

// heartbeat renews the claim on key every ClaimTTL/3 until stop is called (or the claim is
// found lost: the finish transaction then refuses to record anything).
func (s *Site) heartbeat(key, token string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(s.sh.ttl / 3)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				held := true
				err := s.tx(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
					var err error
					held, err = s.db.renewClaim(ctx, tx, key, token, time.Now().Add(s.sh.ttl))
					return err
				})
				if errors.Is(err, errClosed) || (err == nil && !held) {
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// release drops a claim this operation holds (best effort: if it fails, the claim expires).
func (s *Site) release(key, token string) {
	s.tx(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		return s.db.dropClaim(ctx, tx, key, token)
	})
}

// releaseAll drops the claims this Site holds; Close calls it with closeMu held exclusively,
// after which the operations that held them can no longer record anything.
func (s *Site) releaseAll() {
	s.sh.held.Range(func(k, v any) bool {
		s.db.immediate(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			return s.db.dropClaim(ctx, tx, k.(string), v.(string))
		})
		return true
	})
}

// withShared is Site.with in shared mode (see claimed): the machine is read (created on first
// sight) and settled inside the transaction, fn runs on it, and what fn changed is written
// with its log entries in that same transaction. When fn has to wait, its first run is
// discarded (only due completions are recorded), the machine is claimed, and fn runs again
// after the wait on the machine as it is then: it decides again on the state it will change.
func (s *Site) withShared(ctx context.Context, c driver.Call, k Kind, fn func(t *call) driver.Result) driver.Result {
	name := c.Node.Name
	e := s.lockOf(name)
	n := e.calls.Add(1)
	odds := s.cfg.odds(name, k)
	if odds.Flap > 0 && roll(s.cfg.Seed, name, k, "flap", n, 0) < odds.Flap {
		return driver.Unreach("simulated %s: no answer (connection timed out)", k)
	}
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		s.ensureShared([]*design.Node{c.Node}) // first sight, as in the default mode
		return driver.Unreach("simulated %s: %v while waiting for another operation on %s", k, ctx.Err(), name)
	}
	defer func() { <-e.lock }()

	var (
		res      driver.Result
		t        *call
		settled  []Kind
		recorded bool
	)
	p, cut, err := s.claimed(ctx, name, k, func(tctx context.Context, tx *sql.Tx, finish bool) (*pending, error) {
		now := s.now()
		m, err := s.db.loadOrCreate(tctx, tx, c.Node, now)
		if err != nil {
			return nil, err
		}
		t = &call{s: s, c: c, kind: k, m: &m, now: now, calls: n, phase: phaseDecide, tx: tx, txCtx: tctx}
		if finish {
			t.phase, t.settled = phaseFinish, settled
		}
		t.settle()
		base, settledOps := m, len(t.ops)
		res = fn(t)
		if t.err != nil {
			return nil, t.err
		}
		if t.need != nil {
			// Keep what happened (due completions); the operation itself has not, yet.
			m, t.ops = base, t.ops[:settledOps]
			settled = t.settled
		}
		if len(t.ops) > 0 {
			m.Updated = t.now
			if err := s.db.record(tctx, tx, &m, t.ops); err != nil {
				return nil, err
			}
			recorded = true
		}
		return t.need, nil
	})
	switch {
	case cut != nil && p.hang:
		return driver.Unreach("simulated %s: no answer before %v", k, cut)
	case cut != nil:
		return interrupted(k, cut)
	case err != nil:
		var w waitError
		if errors.As(err, &w) {
			// Nothing happened, but the machine was seen: it exists from now on, as in the
			// default mode (best effort).
			s.ensureShared([]*design.Node{c.Node})
			return driver.Unreach("simulated %s: %v while waiting for another operation on %s", k, w.err, name)
		}
		return driver.Unreach("simulator: record %s of %s: %v", k, name, err)
	}
	if recorded && odds.Lost > 0 && roll(s.cfg.Seed, name, k, "lost", t.m.Seq, n) < odds.Lost {
		return driver.Unreach("simulated %s: answer lost (connection reset)", k)
	}
	if res.State == nil {
		res.State = t.m.State(t.now)
	}
	return res
}

// ensureShared creates the machines of the nodes that have none, all in one transaction;
// INSERT OR IGNORE makes a machine another process creates at the same moment exist once.
func (s *Site) ensureShared(nodes []*design.Node) error {
	for _, n := range nodes {
		if n == nil || n.Name == "" {
			return errors.New("sim: a node without a name")
		}
	}
	if s.isClosed() {
		return errClosed
	}
	have, err := s.db.names(context.Background(), nodes)
	if err != nil {
		return err
	}
	var missing []*design.Node
	for _, n := range nodes {
		if !have[n.Name] {
			have[n.Name] = true
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return s.tx(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		for _, n := range missing {
			if err := s.db.create(ctx, tx, n, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// machinesShared reads every machine from the database.
func (s *Site) machinesShared(ctx context.Context) ([]Machine, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	out, err := s.db.loadMachines(ctx)
	if err != nil {
		return nil, err
	}
	return settled(out, s.now()), nil
}

func (s *Site) machineShared(name string) (Machine, bool) {
	if s.isClosed() {
		return Machine{}, false
	}
	m, ok, err := s.db.machineRO(context.Background(), name)
	if err != nil || !ok {
		return Machine{}, false
	}
	m.settle(s.now())
	return m, true
}

func (s *Site) countShared(ctx context.Context) (int, error) {
	var n int
	err := s.db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM machines`).Scan(&n)
	return n, err
}

// prepareShared is PrepareSite in shared mode: the site configuration is read and written in
// the transaction, and the site ("" in claims) is claimed while the latency is waited out.
func (s *Site) prepareShared(ctx context.Context, step, digest string, n int64) driver.Result {
	s.siteMu.Lock()
	defer s.siteMu.Unlock()
	var res driver.Result
	p, cut, err := s.claimed(ctx, "", PrepareSite, func(tctx context.Context, tx *sql.Tx, finish bool) (*pending, error) {
		cur, err := s.db.siteDigest(tctx, tx, step)
		if err != nil {
			return nil, err
		}
		if cur == digest {
			res = skipped("%s already applied (configuration %s)", step, digest)
			return nil, nil
		}
		if !finish {
			switch s.siteOutcome(PrepareSite, n) {
			case OutcomeFail:
				res = driver.Fail("simulated %s failed: the provisioner answered with an error", PrepareSite)
				return nil, nil
			case OutcomeHang:
				return &pending{hang: true}, nil
			}
			if d := s.cfg.latency(PrepareSite); d > 0 {
				return &pending{d: d}, nil
			}
			if err := s.sleep(ctx, 0); err != nil {
				res = interrupted(PrepareSite, err)
				return nil, nil
			}
		}
		now := s.now()
		if err := s.db.putSiteStep(tctx, tx, siteStep{step: step, digest: digest, at: now}); err != nil {
			return nil, err
		}
		if err := s.db.appendOps(tctx, tx, []Op{{Time: now, Operation: LogPrepareSite, Detail: step + " configuration " + digest}}); err != nil {
			return nil, err
		}
		res = driver.OK("%s applied (configuration %s)", step, digest)
		return nil, nil
	})
	switch {
	case cut != nil && p.hang:
		return driver.Unreach("simulated %s: no answer before %v", PrepareSite, cut)
	case cut != nil:
		return interrupted(PrepareSite, cut)
	case err != nil:
		var w waitError
		if errors.As(err, &w) {
			return driver.Unreach("simulated %s: %v while waiting for another site operation", PrepareSite, w.err)
		}
		return driver.Unreach("simulator: record %s: %v", step, err)
	}
	return res
}
