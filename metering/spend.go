package metering

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// account is what spending needs to know of a tenant.
type account struct {
	Status             string
	TrialEndsAt        time.Time
	CreditsRemaining   int64
	MonthlyCapAmount   *int64
	MonthlyCapCurrency *string
}

// refusal is the 402 a tenant in state a gets, or nil.
func refusal(a account, now time.Time, spent int64, price Price) error {
	switch a.Status {
	case "trial":
		if !now.Before(a.TrialEndsAt) {
			return problem.New(problem.TrialExpired, "the trial ended at %s; subscribe to keep scoring live", a.TrialEndsAt.UTC().Format(time.RFC3339))
		}
		if a.CreditsRemaining <= 0 {
			return problem.New(problem.CreditsExhausted, "the trial's analysis credits are spent; subscribe to keep scoring live")
		}
	case "active", "past_due":
		if a.MonthlyCapAmount != nil && spent+price.Amount > *a.MonthlyCapAmount {
			return problem.New(problem.CreditsExhausted, "the monthly spend cap of %d %s minor units is reached", *a.MonthlyCapAmount, price.Currency)
		}
	default:
		return problem.New(problem.AccountSuspended, "the account is %s; live calls are refused until it is reactivated", a.Status)
	}
	return nil
}

func (m *Meter) account(ctx context.Context, db *gorm.DB, tenantID string) (account, error) {
	var a account
	// Row().Scan: this read is on every metered call, and plain scanning
	// skips the ORM's reflection.
	err := db.WithContext(ctx).Raw(`SELECT status, trial_ends_at, credits_remaining, monthly_cap_amount, monthly_cap_currency
		FROM tenants WHERE id = ?`, tenantID).Row().
		Scan(&a.Status, &a.TrialEndsAt, &a.CreditsRemaining, &a.MonthlyCapAmount, &a.MonthlyCapCurrency)
	if errors.Is(err, sql.ErrNoRows) {
		return a, problem.New(problem.NotFound, "no tenant %s", tenantID)
	}
	if err != nil {
		return a, fmt.Errorf("read account %s: %w", tenantID, err)
	}
	return a, nil
}

// Spend charges one live analysis inside tx: a trial credit, or the price
// against the monthly cap of a subscribed tenant. Each is one conditional
// update, so concurrent calls can never spend what is not there. likelyTrial
// (from a cached read) only orders the statements: the database decides.
func (m *Meter) Spend(ctx context.Context, tx *gorm.DB, tenantID string, now time.Time, likelyTrial bool) (Charge, error) {
	tx = tx.WithContext(ctx)
	if likelyTrial {
		if c, ok, err := m.spendCredit(tx, tenantID, now); err != nil || ok {
			return c, err
		}
	}
	a, err := m.account(ctx, tx, tenantID)
	if err != nil {
		return Charge{}, err
	}
	if a.Status == "trial" {
		// Tried first when the hint said trial; tried (again) now that the
		// account says so: credits granted in between are then spent.
		if c, ok, err := m.spendCredit(tx, tenantID, now); err != nil || ok {
			return c, err
		}
		if err := refusal(a, now, 0, m.price); err != nil {
			return Charge{}, err
		}
		return Charge{}, problem.New(problem.CreditsExhausted, "the trial's credits changed during the call; retry")
	}
	if a.Status != "active" && a.Status != "past_due" {
		return Charge{}, refusal(a, now, 0, m.price)
	}
	charge := Charge{BillingState: StatePending, Amount: m.price.Amount, Currency: m.price.Currency}
	if a.MonthlyCapAmount == nil {
		return charge, nil
	}
	period := Period(now)
	if err := tx.Exec(`INSERT INTO monthly_spend (tenant_id, period, amount) VALUES (?, ?, 0)
		ON CONFLICT (tenant_id, period) DO NOTHING`, tenantID, period).Error; err != nil {
		return Charge{}, fmt.Errorf("open monthly spend of %s: %w", tenantID, err)
	}
	res := tx.Exec(`UPDATE monthly_spend SET amount = amount + ?
		WHERE tenant_id = ? AND period = ? AND amount + ? <= ?`,
		m.price.Amount, tenantID, period, m.price.Amount, *a.MonthlyCapAmount)
	if res.Error != nil {
		return Charge{}, fmt.Errorf("spend against the cap of %s: %w", tenantID, res.Error)
	}
	if res.RowsAffected == 0 {
		return Charge{}, refusal(a, now, *a.MonthlyCapAmount, m.price)
	}
	return charge, nil
}

// spendCredit takes one trial credit if the trial allows it.
func (m *Meter) spendCredit(tx *gorm.DB, tenantID string, now time.Time) (Charge, bool, error) {
	var remaining []int64
	err := tx.Raw(`UPDATE tenants SET credits_remaining = credits_remaining - 1
		WHERE id = ? AND status = 'trial' AND credits_remaining > 0 AND trial_ends_at > ?
		RETURNING credits_remaining`, tenantID, now).Scan(&remaining).Error
	if err != nil {
		return Charge{}, false, fmt.Errorf("spend a credit of %s: %w", tenantID, err)
	}
	if len(remaining) != 1 {
		return Charge{}, false, nil
	}
	left := remaining[0]
	return Charge{BillingState: StateTrialCredit, CreditsRemaining: &left, Currency: m.price.Currency}, true, nil
}
