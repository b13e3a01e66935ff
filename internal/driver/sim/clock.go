package sim

import (
	"context"
	"sync"
	"time"
)

// FakeClock is a manual clock for tests and benchmarks: Config{Now: c.Now, Sleep: c.Sleep}.
// It only moves when told to, and is safe for concurrent use.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a clock standing at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *FakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// AdvanceTo moves the clock to t unless it is already later; it never goes back, so many
// goroutines may each push it to the time they wait for.
func (c *FakeClock) AdvanceTo(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
	return c.t
}

// Sleep returns at once (the latency of a synchronous operation does not move a fake clock);
// it reports a cancelled context like a real sleep would.
func (c *FakeClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
