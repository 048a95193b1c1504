package tenants

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// Cache keeps each tenant's Account for a short while: the checks in front of a live call and
// the pinned API version of every authenticated call read it from here, so that a busy tenant's
// row is read once per ttl. A cached account may be that old: the charging transaction's
// conditional updates decide.
type Cache struct {
	store *Store
	ttl   time.Duration

	mu      sync.RWMutex
	entries map[string]cachedAccount
}

type cachedAccount struct {
	Account
	fetched time.Time
}

// NewCache returns a cache of the accounts of db kept for ttl.
func NewCache(db *gorm.DB, ttl time.Duration) *Cache {
	return &Cache{store: NewStore(db), ttl: ttl, entries: map[string]cachedAccount{}}
}

// Account is the tenant's account as of at most ttl ago; a tenant that no longer exists is
// unauthenticated (its credential outlived it).
func (c *Cache) Account(ctx context.Context, id string, now time.Time) (Account, error) {
	c.mu.RLock()
	e, ok := c.entries[id]
	c.mu.RUnlock()
	if ok && now.Sub(e.fetched) < c.ttl && !now.Before(e.fetched) {
		return e.Account, nil
	}
	a, err := c.store.Account(ctx, nil, id)
	if problem.CodeOf(err) == problem.NotFound {
		return a, problem.New(problem.Unauthenticated, "the credential's tenant no longer exists")
	}
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	if len(c.entries) > 100_000 {
		c.entries = map[string]cachedAccount{}
	}
	c.entries[id] = cachedAccount{Account: a, fetched: now}
	c.mu.Unlock()
	return a, nil
}

// SetCredits records the credits a trial has left after this process spent one, so that the
// next call's check sees it without a query.
func (c *Cache) SetCredits(id string, left int64) {
	c.mu.Lock()
	if e, ok := c.entries[id]; ok {
		e.CreditsRemaining = left
		c.entries[id] = e
	}
	c.mu.Unlock()
}
