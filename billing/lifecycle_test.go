package billing

import (
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/tenants"
)

func TestTheEndOfAnAbandonedSubscriptionDoesNotCancelTheLiveOne(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var a Account
	if !a.applySubscription("sub_A", "incomplete", t0) {
		t.Fatal("the first subscription event was ignored")
	}
	if !a.applySubscription("sub_B", "active", t0.Add(time.Hour)) {
		t.Fatal("a new active subscription did not replace an incomplete one")
	}
	for _, late := range []string{"incomplete_expired", "canceled", "incomplete"} {
		if a.applySubscription("sub_A", late, t0.Add(23*time.Hour)) {
			t.Fatalf("sub_A %s replaced the live sub_B", late)
		}
	}
	if got := a.TenantStatus(t0.Add(24*time.Hour), 7*24*time.Hour); got != tenants.StatusActive {
		t.Fatalf("tenant status %q, want active", got)
	}
	// The live subscription's own end does count.
	if !a.applySubscription("sub_B", "canceled", t0.Add(48*time.Hour)) {
		t.Fatal("sub_B's cancellation was ignored")
	}
	if got := a.TenantStatus(t0.Add(49*time.Hour), 7*24*time.Hour); got != tenants.StatusCanceled {
		t.Fatalf("tenant status %q, want canceled", got)
	}
}

func TestAPausedSubscriptionSuspendsTheTenant(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var a Account
	a.applySubscription("sub_A", "active", t0)
	a.applySubscription("sub_A", "paused", t0.Add(time.Hour))
	if got := a.TenantStatus(t0.Add(2*time.Hour), 7*24*time.Hour); got != tenants.StatusSuspended {
		t.Fatalf("tenant status %q for a paused subscription, want suspended", got)
	}
}
