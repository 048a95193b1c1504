package scores

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/tenants"
)

// tenantInfo is what the checks in front of the core read of a tenant.
// It may be a second old: the transaction's conditional updates decide.
type tenantInfo struct {
	tenants.Account
	fetched time.Time
}

func (t tenantInfo) limit() ratelimit.Limit {
	if t.RateLimitPerSecond != nil && t.RateLimitBurst != nil && *t.RateLimitPerSecond > 0 && *t.RateLimitBurst > 0 {
		return ratelimit.Limit{PerSecond: *t.RateLimitPerSecond, Burst: *t.RateLimitBurst}
	}
	return DefaultLimit
}

type tenantCache struct {
	store *tenants.Store
	ttl   time.Duration

	mu      sync.RWMutex
	entries map[string]tenantInfo
}

func newTenantCache(db *gorm.DB, ttl time.Duration) *tenantCache {
	return &tenantCache{store: tenants.NewStore(db), ttl: ttl, entries: map[string]tenantInfo{}}
}

func (c *tenantCache) get(ctx context.Context, id string, now time.Time) (tenantInfo, error) {
	c.mu.RLock()
	t, ok := c.entries[id]
	c.mu.RUnlock()
	if ok && now.Sub(t.fetched) < c.ttl && !now.Before(t.fetched) {
		return t, nil
	}
	a, err := c.store.Account(ctx, nil, id)
	if problem.CodeOf(err) == problem.NotFound {
		return t, problem.New(problem.Unauthenticated, "the credential's tenant no longer exists")
	}
	if err != nil {
		return t, err
	}
	t = tenantInfo{Account: a, fetched: now}
	c.mu.Lock()
	if len(c.entries) > 100_000 {
		c.entries = map[string]tenantInfo{}
	}
	c.entries[id] = t
	c.mu.Unlock()
	return t, nil
}

// setCredits records the credits a trial has left after this process
// spent one, so that the next call's precheck sees it without a query.
func (c *tenantCache) setCredits(id string, left int64) {
	c.mu.Lock()
	if t, ok := c.entries[id]; ok {
		t.CreditsRemaining = left
		c.entries[id] = t
	}
	c.mu.Unlock()
}
