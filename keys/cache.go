package keys

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// cache remembers lookups by secret hash for a short TTL, so that a warm
// key costs no database round trip. A revocation or rotation in this
// process drops the entry at once; other replicas see it when the TTL
// (at most one second) runs out. Unknown hashes are cached too, so that a
// repeated unknown key does not reach the database, but apart, in a
// bounded LRU: a flood of forged keys evicts older forgeries, never a key
// that exists.
type cache struct {
	ttl   time.Duration
	group singleflight.Group

	mu        sync.RWMutex
	entries   map[string]cacheEntry // keys that exist
	negatives *lru.Cache[string, time.Time]
	byID      map[string]string
	// gen counts forgets: a load that began before one must not store
	// what it read, which may be the key as it was before a revocation.
	gen uint64
}

type cacheEntry struct {
	key     Key
	found   bool
	fetched time.Time
}

// cacheMaxEntries bounds the keys that exist kept in memory (far above any real count);
// DefaultNegativeEntries the unknown hashes remembered.
const (
	cacheMaxEntries        = 100_000
	DefaultNegativeEntries = 50_000
)

func newCache(ttl time.Duration, negatives int) *cache {
	if negatives <= 0 {
		negatives = DefaultNegativeEntries
	}
	neg, _ := lru.New[string, time.Time](negatives) // only fails for a size below 1
	return &cache{ttl: ttl, entries: map[string]cacheEntry{}, negatives: neg, byID: map[string]string{}}
}

// get returns the key for hash, from memory while fresh at now, otherwise
// from load (one load per hash at a time).
func (c *cache) get(ctx context.Context, hash string, now time.Time, load func(context.Context, string) (Key, bool, error)) (Key, bool, error) {
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if ok && c.fresh(e.fetched, now) {
		return e.key, e.found, nil
	}
	if at, ok := c.negatives.Get(hash); ok && c.fresh(at, now) {
		return Key{}, false, nil
	}
	v, err, _ := c.group.Do(hash, func() (any, error) {
		c.mu.RLock()
		gen := c.gen
		c.mu.RUnlock()
		// The load serves every caller waiting on this hash: one of them
		// going away must not fail the others.
		loadCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		k, found, err := load(loadCtx, hash)
		if err != nil {
			return nil, err
		}
		e := cacheEntry{key: k, found: found, fetched: now}
		c.mu.Lock()
		if c.gen != gen {
			c.mu.Unlock()
			return e, nil
		}
		if !found {
			c.mu.Unlock()
			c.negatives.Add(hash, now)
			return e, nil
		}
		c.negatives.Remove(hash)
		if len(c.entries) >= cacheMaxEntries {
			c.entries = map[string]cacheEntry{}
			c.byID = map[string]string{}
		}
		c.entries[hash] = e
		c.byID[k.ID] = hash
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		return Key{}, false, err
	}
	e = v.(cacheEntry)
	return e.key, e.found, nil
}

func (c *cache) fresh(fetched, now time.Time) bool {
	return now.Sub(fetched) < c.ttl && !now.Before(fetched)
}

// forget drops what is cached about a key.
func (c *cache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if hash, ok := c.byID[id]; ok {
		delete(c.entries, hash)
		delete(c.byID, id)
	}
}
