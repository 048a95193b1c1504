package keys

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
)

// failureLog aggregates failed authentications of credentials that name a tenant (a revoked or
// expired key, an expired token, a deleted client's token, an ended session) into one audit event
// per credential and reason per flush, with how many there were, when, and from which addresses
// (at most five): the trail shows a leaked revoked key being tried without growing by a row per
// attempt. Unknown credentials name no tenant: they are counted in metrics only. No secret is
// kept.
type failureLog struct {
	mu      sync.Mutex
	pending map[failureKey]*failureCount
}

type failureKey struct {
	tenantID, environment, actorType, credentialID, reason string
}

type failureCount struct {
	count       int
	first, last time.Time
	addresses   []string
}

// maxFailureAddresses bounds the addresses an aggregated event lists; maxFailureKeys the
// credentials remembered between flushes.
const (
	maxFailureAddresses = 5
	maxFailureKeys      = 10_000
)

func newFailureLog() *failureLog { return &failureLog{pending: map[failureKey]*failureCount{}} }

func (f *failureLog) add(p Principal, reason, addr string, now time.Time) {
	k := failureKey{p.TenantID, string(p.Environment), p.ActorType(), p.CredentialID, reason}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.pending[k]
	if !ok {
		if len(f.pending) >= maxFailureKeys {
			return
		}
		c = &failureCount{first: now}
		f.pending[k] = c
	}
	c.count++
	c.last = now
	if len(c.addresses) < maxFailureAddresses && !slices.Contains(c.addresses, addr) {
		c.addresses = append(c.addresses, addr)
	}
}

func (f *failureLog) take() map[failureKey]*failureCount {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.pending
	f.pending = map[failureKey]*failureCount{}
	return out
}

// flushFailures appends the aggregated failures to the audit trail, in one transaction.
func (s *Service) flushFailures(ctx context.Context) error {
	pending := s.failures.take()
	if len(pending) == 0 {
		return nil
	}
	keys := make([]failureKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return pending[keys[i]].first.Before(pending[keys[j]].first) })
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range keys {
			c := pending[k]
			err := audit.Record(ctx, tx, audit.Change{TenantID: k.tenantID, Environment: k.environment, ActorType: k.actorType,
				ActorID: k.credentialID, Action: "auth.failed", TargetType: k.actorType, TargetID: k.credentialID,
				After: map[string]any{"reason": k.reason, "count": c.count, "first_at": c.first.UTC(), "last_at": c.last.UTC(), "addresses": c.addresses}}, c.last)
			if err != nil {
				return fmt.Errorf("record failed authentications: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		s.failures.restore(pending)
	}
	return err
}

// restore puts back failures that could not be written.
func (f *failureLog) restore(pending map[failureKey]*failureCount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, c := range pending {
		cur, ok := f.pending[k]
		if !ok {
			f.pending[k] = c
			continue
		}
		cur.count += c.count
		if c.first.Before(cur.first) {
			cur.first = c.first
		}
	}
}
