package scores

import (
	"context"
	"fmt"
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
	Status             string
	TrialEndsAt        time.Time
	CreditsRemaining   int64
	RateLimitPerSecond *float64
	RateLimitBurst     *int
	EmailVerifiedAt    *time.Time
	SignupEmailLower   string
	fetched            time.Time
}

func (t tenantInfo) limit() ratelimit.Limit {
	if t.RateLimitPerSecond != nil && t.RateLimitBurst != nil && *t.RateLimitPerSecond > 0 && *t.RateLimitBurst > 0 {
		return ratelimit.Limit{PerSecond: *t.RateLimitPerSecond, Burst: *t.RateLimitBurst}
	}
	return DefaultLimit
}

// precheck refuses live calls that the transaction would refuse anyway, and, when
// requireEmail is set, those of a tenant whose signup email is not verified yet.
func (t tenantInfo) precheck(now time.Time, requireEmail bool) error {
	if err := tenants.EmailCheck(requireEmail, t.EmailVerifiedAt, t.SignupEmailLower); err != nil {
		return err
	}
	switch t.Status {
	case "trial":
		if !now.Before(t.TrialEndsAt) {
			return problem.New(problem.TrialExpired, "the trial ended at %s; subscribe to keep scoring live", t.TrialEndsAt.UTC().Format(time.RFC3339))
		}
		if t.CreditsRemaining <= 0 {
			return problem.New(problem.CreditsExhausted, "the trial's analysis credits are spent; subscribe to keep scoring live")
		}
	case "suspended", "canceled":
		return problem.New(problem.AccountSuspended, "the account is %s; live calls are refused until it is reactivated", t.Status)
	}
	return nil
}

type tenantCache struct {
	db  *gorm.DB
	ttl time.Duration

	mu      sync.RWMutex
	entries map[string]tenantInfo
}

func newTenantCache(db *gorm.DB, ttl time.Duration) *tenantCache {
	return &tenantCache{db: db, ttl: ttl, entries: map[string]tenantInfo{}}
}

func (c *tenantCache) get(ctx context.Context, id string, now time.Time) (tenantInfo, error) {
	c.mu.RLock()
	t, ok := c.entries[id]
	c.mu.RUnlock()
	if ok && now.Sub(t.fetched) < c.ttl && !now.Before(t.fetched) {
		return t, nil
	}
	res := c.db.WithContext(ctx).Raw(`SELECT status, trial_ends_at, credits_remaining, rate_limit_per_second, rate_limit_burst,
		email_verified_at, signup_email_lower FROM tenants WHERE id = ?`, id).Scan(&t)
	if res.Error != nil {
		return t, fmt.Errorf("read tenant %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return t, problem.New(problem.Unauthenticated, "the credential's tenant no longer exists")
	}
	t.fetched = now
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
