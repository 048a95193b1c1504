// Package ttlcache keeps what a loader read for a short while, one load per key at a time, so that
// a value read on every request (a tenant's account, an OAuth2 client) costs one database read per
// key and TTL. A Forget in this process drops a value at once; other replicas see a change when
// their TTL runs out, which bounds how long a revoked credential can still be honoured.
package ttlcache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache holds values of type V by string key.
type Cache[V any] struct {
	ttl   time.Duration
	max   int
	group singleflight.Group

	mu      sync.RWMutex
	entries map[string]entry[V]
	// gen counts forgets: a load that began before one must not store what it read.
	gen uint64
}

type entry[V any] struct {
	value   V
	fetched time.Time
}

// New returns a cache whose values live ttl; past max entries it starts afresh.
func New[V any](ttl time.Duration, max int) *Cache[V] {
	return &Cache[V]{ttl: ttl, max: max, entries: map[string]entry[V]{}}
}

// Get returns the value of key as of at most ttl before now, calling load when it has none (one
// load per key at a time; a caller going away does not fail the others waiting on it). Errors
// are not cached.
func (c *Cache[V]) Get(ctx context.Context, key string, now time.Time, load func(context.Context) (V, error)) (V, error) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && now.Sub(e.fetched) < c.ttl && !now.Before(e.fetched) {
		return e.value, nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		c.mu.RLock()
		gen := c.gen
		c.mu.RUnlock()
		loadCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		v, err := load(loadCtx)
		if err != nil {
			return v, err
		}
		c.mu.Lock()
		if c.gen == gen {
			if len(c.entries) >= c.max {
				c.entries = map[string]entry[V]{}
			}
			c.entries[key] = entry[V]{value: v, fetched: now}
		}
		c.mu.Unlock()
		return v, nil
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return v.(V), nil
}

// Update changes a cached value in place, keeping its age; absent keys stay absent.
func (c *Cache[V]) Update(key string, f func(V) V) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		e.value = f(e.value)
		c.entries[key] = e
	}
	c.mu.Unlock()
}

// Set caches v under key as read at now, in place of any value a load that began earlier reads.
func (c *Cache[V]) Set(key string, v V, now time.Time) {
	c.mu.Lock()
	c.gen++
	if len(c.entries) >= c.max {
		c.entries = map[string]entry[V]{}
	}
	c.entries[key] = entry[V]{value: v, fetched: now}
	c.mu.Unlock()
}

// Forget drops what is cached under key.
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	c.gen++
	delete(c.entries, key)
	c.mu.Unlock()
}
