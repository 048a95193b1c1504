package dbtest

import (
	"testing"
	"time"

	"gorm.io/gorm"
)

// Tenant is a tenant row a test needs; what it leaves out gets a default
// (status trial, 5 credits, a trial ending 2026-11-16).
type Tenant struct {
	ID          string
	Status      string
	Credits     *int64
	TrialEndsAt time.Time
	MonthlyCap  *int64
}

// InsertTenant writes t straight into the tenants table, for tests of the
// packages that only reference a tenant.
func InsertTenant(tb testing.TB, db *gorm.DB, t Tenant) {
	tb.Helper()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	if t.Status == "" {
		t.Status = "trial"
	}
	credits := int64(5)
	if t.Credits != nil {
		credits = *t.Credits
	}
	if t.TrialEndsAt.IsZero() {
		t.TrialEndsAt = now.Add(14 * 24 * time.Hour)
	}
	err := db.Exec(`INSERT INTO tenants (id, name, country, signup_email_lower, status, plan, trial_ends_at, credits_remaining,
			monthly_cap_amount, created_at, updated_at)
		VALUES (?, 'Test tenant', 'FR', ?, ?, 'trial', ?, ?, ?, ?, ?)`,
		t.ID, t.ID+"@example.com", t.Status, t.TrialEndsAt, credits, t.MonthlyCap, now, now).Error
	if err != nil {
		tb.Fatalf("insert tenant %s: %v", t.ID, err)
	}
}
