package billing

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/tenants"
)

// PlanMetered is the plan of a tenant with a metered subscription.
const PlanMetered = "metered"

// subscriptionRank orders Stripe subscription statuses so that two events
// created in the same second resolve the same way in any order: the one
// further along the lifecycle wins.
func subscriptionRank(status string) int {
	switch status {
	case "trialing", "active":
		return 1
	case "past_due":
		return 2
	case "unpaid", "paused":
		return 3
	case "canceled", "incomplete_expired":
		return 4
	}
	return 0 // incomplete and anything new
}

func healthy(status string) bool { return status == "active" || status == "trialing" }

// terminal statuses end a subscription for good.
func terminal(status string) bool { return status == "canceled" || status == "incomplete_expired" }

// applySubscription records what an event created at said of a
// subscription, unless a newer event already spoke. It reports whether
// the account changed.
func (a *Account) applySubscription(id, status string, at time.Time) bool {
	// An event about another subscription than the one on record replaces
	// it only when the recorded one is over: the end of an abandoned
	// subscription must not cancel the tenant's live one.
	if a.SubscriptionID != nil && *a.SubscriptionID != id && a.SubscriptionStatus != nil && !terminal(*a.SubscriptionStatus) {
		if terminal(status) || status == "incomplete" {
			return false
		}
	}
	if a.SubscriptionAt != nil && a.SubscriptionStatus != nil && a.SubscriptionID != nil && *a.SubscriptionID == id {
		if at.Before(*a.SubscriptionAt) {
			return false
		}
		if at.Equal(*a.SubscriptionAt) && subscriptionRank(status) <= subscriptionRank(*a.SubscriptionStatus) {
			return false
		}
	}
	a.SubscriptionID, a.SubscriptionStatus, a.SubscriptionAt = &id, &status, &at
	return true
}

// later keeps the later of a recorded time and at.
func later(p *time.Time, at time.Time) *time.Time {
	if p == nil || at.After(*p) {
		return &at
	}
	return p
}

// delinquentSince says whether the account owes a failed payment, and
// since when: a payment failure no later payment (or healthy subscription)
// cleared, or a past_due/unpaid subscription no later payment cleared.
func (a Account) delinquentSince() (time.Time, bool) {
	var paid time.Time
	if a.PaymentSucceededAt != nil {
		paid = *a.PaymentSucceededAt
	}
	status, subAt := "", time.Time{}
	if a.SubscriptionStatus != nil && a.SubscriptionAt != nil {
		status, subAt = *a.SubscriptionStatus, *a.SubscriptionAt
	}
	if f := a.PaymentFailedAt; f != nil && f.After(paid) && !(healthy(status) && subAt.After(*f)) {
		return *f, true
	}
	if (status == "past_due" || status == "unpaid") && subAt.After(paid) {
		return subAt, true
	}
	return time.Time{}, false
}

// TenantStatus is the lifecycle state the account implies at now, or ""
// when it implies none yet (no subscription, or one still incomplete):
// active while paid up, past_due from a failed payment until grace has
// passed, suspended after, canceled once the subscription is.
func (a Account) TenantStatus(now time.Time, grace time.Duration) tenants.Status {
	if a.SubscriptionStatus == nil {
		return ""
	}
	switch *a.SubscriptionStatus {
	case "canceled":
		return tenants.StatusCanceled
	case "incomplete", "incomplete_expired":
		return ""
	case "paused":
		// Nothing to collect from: the tenant is not served.
		return tenants.StatusSuspended
	}
	since, owes := a.delinquentSince()
	switch {
	case !owes:
		return tenants.StatusActive
	case now.Sub(since) >= grace:
		return tenants.StatusSuspended
	default:
		return tenants.StatusPastDue
	}
}

// setTenantStatus moves a tenant to status (a no-op when it is there); active brings the
// metered plan.
func setTenantStatus(ctx context.Context, tx *gorm.DB, tenantID string, status tenants.Status, now time.Time) (bool, error) {
	plan := ""
	if status == tenants.StatusActive {
		plan = PlanMetered
	}
	moved, err := tenants.NewStore(tx).SetStatus(ctx, tx, tenantID, "", status, plan, now)
	if err != nil || !moved {
		return moved, err
	}
	return true, audit.Record(ctx, tx, audit.Change{TenantID: tenantID, ActorType: audit.ActorStripe, ActorID: "webhook",
		Action: "tenant.status_changed", TargetType: "tenant", TargetID: tenantID, After: map[string]any{"status": status}}, now)
}

// Sweep suspends the past_due tenants whose grace has run out, and
// returns how many.
func (w *Worker) Sweep(ctx context.Context) (int, error) {
	return SuspendOverdue(ctx, w.db, w.clock.Now(), w.grace)
}

// SuspendOverdue suspends the past_due tenants whose grace has run out.
func SuspendOverdue(ctx context.Context, db *gorm.DB, now time.Time, grace time.Duration) (int, error) {
	store := tenants.NewStore(db)
	pastDue, err := store.IDsWithStatus(ctx, db, tenants.StatusPastDue)
	if err != nil || len(pastDue) == 0 {
		return 0, err
	}
	var accounts []Account
	if err := db.WithContext(ctx).Where("tenant_id IN ?", pastDue).Find(&accounts).Error; err != nil {
		return 0, fmt.Errorf("read billing accounts of past_due tenants: %w", err)
	}
	n := 0
	for _, a := range accounts {
		if a.TenantStatus(now, grace) != tenants.StatusSuspended {
			continue
		}
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			moved, err := store.SetStatus(ctx, tx, a.TenantID, tenants.StatusPastDue, tenants.StatusSuspended, "", now)
			if err != nil || !moved {
				return err
			}
			n++
			return audit.Record(ctx, tx, audit.Change{TenantID: a.TenantID, ActorType: audit.ActorSystem, ActorID: "past_due_grace",
				Action: "tenant.status_changed", TargetType: "tenant", TargetID: a.TenantID, After: map[string]any{"status": tenants.StatusSuspended}}, now)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
