package tenants

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ttlcache"
)

// Cache keeps each tenant's Account for a short while: the checks in front of a live call and
// the pinned API version of every authenticated call read it from here, so that a busy tenant's
// row is read once per ttl. A cached account may be that old: the charging transaction's
// conditional updates decide.
type Cache struct {
	store   *Store
	entries *ttlcache.Cache[Account]
}

// NewCache returns a cache of the accounts of db kept for ttl.
func NewCache(db *gorm.DB, ttl time.Duration) *Cache {
	return &Cache{store: NewStore(db), entries: ttlcache.New[Account](ttl, 100_000)}
}

// Account is the tenant's account as of at most ttl ago; a tenant that no longer exists is
// unauthenticated (its credential outlived it).
func (c *Cache) Account(ctx context.Context, id string, now time.Time) (Account, error) {
	a, err := c.entries.Get(ctx, id, now, func(ctx context.Context) (Account, error) { return c.store.Account(ctx, nil, id) })
	if problem.CodeOf(err) == problem.NotFound {
		return a, problem.New(problem.Unauthenticated, "the credential's tenant no longer exists")
	}
	return a, err
}

// Fresh reads the tenant's account from the database and caches it: what a refusal is confirmed
// with, so that a change that lifts it (credits granted, a trial extended, an account reactivated
// or an email verified, on any replica) is seen at once.
func (c *Cache) Fresh(ctx context.Context, id string, now time.Time) (Account, error) {
	// Read here, not through the cache's shared load: one begun before this call could be older.
	a, err := c.store.Account(ctx, nil, id)
	if problem.CodeOf(err) == problem.NotFound {
		c.entries.Forget(id)
		return a, problem.New(problem.Unauthenticated, "the credential's tenant no longer exists")
	}
	if err != nil {
		return a, err
	}
	c.entries.Set(id, a, now)
	return a, nil
}

// SetCredits records the credits a trial has left after this process spent one, so that the
// next call's check sees it without a query.
func (c *Cache) SetCredits(id string, left int64) {
	c.entries.Update(id, func(a Account) Account {
		a.CreditsRemaining = left
		return a
	})
}
