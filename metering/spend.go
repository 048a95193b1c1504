package metering

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/tenants"
)

// Spend charges one live analysis inside tx: a trial credit, or the price
// against the monthly cap of a subscribed tenant. Each is one conditional
// update, so concurrent calls can never spend what is not there. likelyTrial
// (from a cached read) only orders the statements: the database decides.
func (m *Meter) Spend(ctx context.Context, tx *gorm.DB, tenantID string, now time.Time, likelyTrial bool) (Charge, error) {
	tx = tx.WithContext(ctx)
	if likelyTrial {
		if c, ok, err := m.spendCredit(ctx, tx, tenantID, now); err != nil || ok {
			return c, err
		}
	}
	a, err := m.accounts.Account(ctx, tx, tenantID)
	if err != nil {
		return Charge{}, err
	}
	if a.Status == tenants.StatusTrial {
		// Tried first when the hint said trial; tried (again) now that the
		// account says so: credits granted in between are then spent.
		if c, ok, err := m.spendCredit(ctx, tx, tenantID, now); err != nil || ok {
			return c, err
		}
		if err := a.LiveRefusal(now, false); err != nil {
			return Charge{}, err
		}
		return Charge{}, problem.New(problem.CreditsExhausted, "the trial's credits changed during the call; retry")
	}
	if !a.Status.Metered() {
		return Charge{}, a.LiveRefusal(now, false)
	}
	charge := Charge{BillingState: StatePending, Amount: m.price.Amount, Currency: m.price.Currency}
	if a.MonthlyCapAmount == nil {
		return charge, nil
	}
	period := money.PeriodOf(now)
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
		return Charge{}, a.CapRefusal()
	}
	return charge, nil
}

// spendCredit takes one trial credit if the trial allows it.
func (m *Meter) spendCredit(ctx context.Context, tx *gorm.DB, tenantID string, now time.Time) (Charge, bool, error) {
	left, ok, err := m.accounts.SpendCredit(ctx, tx, tenantID, now)
	if err != nil || !ok {
		return Charge{}, false, err
	}
	return Charge{BillingState: StateTrialCredit, CreditsRemaining: &left, Currency: m.price.Currency}, true, nil
}
