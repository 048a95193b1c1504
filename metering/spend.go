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

// Spend charges n live analyses of one tenant inside tx, as n calls made one after another
// would be charged: trial credits while they last, or the price against the monthly cap of a
// subscribed tenant while it has room, or a metered charge each. It returns the charges granted,
// in order (fewer than n when credits or the cap run out), and refusal, the error of the calls
// beyond them (nil when all n are granted); err is a failure of the database. Every spend locks
// the tenant's credit or cap row before it writes, so concurrent transactions never spend what
// is not there. likelyTrial (from a cached read) only orders the statements: the database
// decides.
func (m *Meter) Spend(ctx context.Context, tx *gorm.DB, tenantID string, now time.Time, likelyTrial bool, n int) (granted []Charge, refusal, err error) {
	tx = tx.WithContext(ctx)
	granted = make([]Charge, 0, n)
	if likelyTrial {
		if granted, err = m.spendCredits(ctx, tx, tenantID, now, granted, n); err != nil || len(granted) == n {
			return granted, nil, err
		}
	}
	a, err := m.accounts.Account(ctx, tx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	if a.Status == tenants.StatusTrial {
		// Tried first when the hint said trial; tried (again) now that the account says so:
		// credits granted in between are then spent.
		if granted, err = m.spendCredits(ctx, tx, tenantID, now, granted, n-len(granted)); err != nil || len(granted) == n {
			return granted, nil, err
		}
		if refusal = a.LiveRefusal(now, false); refusal == nil {
			refusal = problem.New(problem.CreditsExhausted, "the trial's analysis credits are spent; subscribe to keep scoring live")
		}
		return granted, refusal, nil
	}
	if !a.Status.Metered() {
		return granted, a.LiveRefusal(now, false), nil
	}
	charge := Charge{BillingState: StatePending, Amount: m.price.Amount, Currency: m.price.Currency}
	room := int64(n)
	if a.MonthlyCapAmount != nil {
		if room, err = m.spendCap(ctx, tx, tenantID, *a.MonthlyCapAmount, now, room); err != nil {
			return nil, nil, err
		}
	}
	for range room {
		granted = append(granted, charge)
	}
	if len(granted) < n {
		refusal = a.CapRefusal()
	}
	return granted, refusal, nil
}

// spendCredits takes up to n trial credits if the trial allows it and appends their charges to
// granted, each with the credits left after it as if the calls had come one by one.
func (m *Meter) spendCredits(ctx context.Context, tx *gorm.DB, tenantID string, now time.Time, granted []Charge, n int) ([]Charge, error) {
	if n <= 0 {
		return granted, nil
	}
	left, spent, err := m.accounts.SpendCredits(ctx, tx, tenantID, now, int64(n))
	if err != nil {
		return granted, err
	}
	for i := range spent {
		remaining := left + spent - 1 - i
		granted = append(granted, Charge{BillingState: StateTrialCredit, CreditsRemaining: &remaining, Currency: m.price.Currency})
	}
	return granted, nil
}

// spendCap adds up to n prices to the tenant's spend of the month without passing capAmount and
// returns how many fit. The upsert that opens the month's row also locks it and reads its amount,
// so the update that follows writes what no concurrent transaction can change meanwhile.
func (m *Meter) spendCap(ctx context.Context, tx *gorm.DB, tenantID string, capAmount int64, now time.Time, n int64) (int64, error) {
	period := money.PeriodOf(now)
	var spent []int64
	if err := tx.Raw(`INSERT INTO monthly_spend (tenant_id, period, amount) VALUES (?, ?, 0)
		ON CONFLICT (tenant_id, period) DO UPDATE SET amount = monthly_spend.amount RETURNING amount`, tenantID, period).
		Scan(&spent).Error; err != nil || len(spent) != 1 {
		return 0, fmt.Errorf("open monthly spend of %s: %w (%d rows)", tenantID, err, len(spent))
	}
	price := m.price.Amount
	fit := n
	if price > 0 {
		fit = min(n, max(0, (capAmount-spent[0])/price))
	}
	if fit == 0 {
		return 0, nil
	}
	if err := tx.Exec(`UPDATE monthly_spend SET amount = ? WHERE tenant_id = ? AND period = ?`,
		spent[0]+fit*price, tenantID, period).Error; err != nil {
		return 0, fmt.Errorf("spend against the cap of %s: %w", tenantID, err)
	}
	return fit, nil
}
