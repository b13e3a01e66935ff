// Package sitecache keeps the last few compiled designs, so that the callers that need the
// same design again (deploy_nodes after prepare_nodes; a thousand nodes fetching their boot
// action assets) compile it once. A compiled design is never modified, so callers share it.
//
// Written here rather than taken from a library: it is a dozen lines of LRU with single flight
// (concurrent requests for one key wait for one build), which no small maintained library
// offers with the "do not keep failures" rule the callers need.
package sitecache

import (
	"context"
	"sync"
)

// Cache holds up to Size values by key, most recently used last. The zero value holds 4.
type Cache[K comparable, V any] struct {
	Size int

	mu      sync.Mutex
	entries []*entry[K, V]
}

type entry[K comparable, V any] struct {
	key  K
	done chan struct{} // closed when val and err are set
	val  V
	err  error
}

// Get returns the value of key, calling build when it is not cached. Concurrent Gets of one
// key wait for a single build; a build that fails is not kept (the next Get builds again).
// The build runs without the caller's cancellation, since other callers may wait for it;
// ctx only bounds this caller's wait.
func (c *Cache[K, V]) Get(ctx context.Context, key K, build func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	for i, e := range c.entries {
		if e.key == key {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			c.mu.Unlock()
			select {
			case <-e.done:
				return e.val, e.err
			case <-ctx.Done():
				var zero V
				return zero, ctx.Err()
			}
		}
	}
	e := &entry[K, V]{key: key, done: make(chan struct{})}
	c.entries = append(c.entries, e)
	size := c.Size
	if size <= 0 {
		size = 4
	}
	if len(c.entries) > size {
		c.entries = c.entries[1:]
	}
	c.mu.Unlock()
	e.val, e.err = build(context.WithoutCancel(ctx))
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		for i, x := range c.entries {
			if x == e {
				c.entries = append(c.entries[:i], c.entries[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
	}
	return e.val, e.err
}
