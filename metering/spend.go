package metering

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/tenants"
)

// Ask is what one tenant's live calls ask to spend: N analyses.
type Ask struct {
	TenantID string
	N        int
}

// Spent is what a tenant's calls got: the charges granted, in order (fewer than asked when
// credits or the cap run out), and Refusal, the error of the calls beyond them (nil when all
// were granted).
type Spent struct {
	Granted []Charge
	Refusal error
}

// SpendAll charges the live analyses of several tenants inside tx (a group commit's calls; one
// Ask a tenant), as calls made one after another would be charged: trial credits while they
// last, or the price against the monthly cap of a subscribed tenant while it has room, or a
// metered charge each. It runs a few statements whatever the number of tenants: one read of
// their accounts, a locked read and an update of the trials' credits, one upsert and one update
// of the capped tenants' spends. Credits and caps are spent under their rows' locks, rows taken in the order of
// tenant ids, so concurrent transactions never spend what is not there nor wait for each other
// in a circle. err is a failure of the database.
func (m *Meter) SpendAll(ctx context.Context, tx *gorm.DB, asks []Ask, now time.Time) ([]Spent, error) {
	tx = tx.WithContext(ctx)
	order := make([]int, len(asks))
	ids := make([]string, len(asks))
	for i, a := range asks {
		order[i], ids[i] = i, a.TenantID
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(asks[a].TenantID, asks[b].TenantID) })
	accounts, err := m.accounts.Accounts(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Spent, len(asks))
	var trials, capped []int
	metered := Charge{BillingState: StatePending, Amount: m.price.Amount, Currency: m.price.Currency}
	for _, i := range order {
		a, ok := accounts[asks[i].TenantID]
		switch {
		case !ok:
			out[i].Refusal = problem.New(problem.NotFound, "no tenant %s", asks[i].TenantID)
		case a.Status == tenants.StatusTrial:
			trials = append(trials, i)
		case !a.Status.Metered():
			out[i].Refusal = a.LiveRefusal(now, false)
		case a.MonthlyCapAmount != nil:
			capped = append(capped, i)
		default:
			out[i].Granted = repeat(metered, asks[i].N)
		}
	}
	if err := m.spendTrials(ctx, tx, asks, accounts, trials, now, out); err != nil {
		return nil, err
	}
	if err := m.spendCaps(ctx, tx, asks, accounts, capped, now, out); err != nil {
		return nil, err
	}
	return out, nil
}

func repeat(c Charge, n int) []Charge {
	out := make([]Charge, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// spendTrials spends the trial tenants' credits, under their rows' locks (tenants.SpendCredits):
// each tenant's calls get what its trial has left, in order.
func (m *Meter) spendTrials(ctx context.Context, tx *gorm.DB, asks []Ask, accounts map[string]tenants.Account, trials []int, now time.Time, out []Spent) error {
	var want []tenants.CreditAsk
	var wantBy []int
	for _, i := range trials {
		a := accounts[asks[i].TenantID]
		if refusal := a.LiveRefusal(now, false); refusal != nil {
			out[i].Refusal = refusal
			continue
		}
		want = append(want, tenants.CreditAsk{TenantID: a.ID, N: int64(asks[i].N)})
		wantBy = append(wantBy, i)
	}
	took, err := m.accounts.SpendCredits(ctx, tx, want, now)
	if err != nil {
		return err
	}
	for _, i := range wantBy {
		id := asks[i].TenantID
		c := took[id]
		for k := range c.Spent {
			remaining := c.Left + c.Spent - 1 - k
			out[i].Granted = append(out[i].Granted, Charge{BillingState: StateTrialCredit, CreditsRemaining: &remaining, Currency: m.price.Currency})
		}
		if int(c.Spent) < asks[i].N {
			a := accounts[id]
			a.CreditsRemaining = 0
			if out[i].Refusal = a.LiveRefusal(now, false); out[i].Refusal == nil {
				out[i].Refusal = problem.New(problem.CreditsExhausted, "the trial's analysis credits are spent; subscribe to keep scoring live")
			}
		}
	}
	return nil
}

// spendCaps adds what the capped tenants' calls cost to their spends of the month without passing
// their caps. The upsert that opens the month's rows also locks them and reads their amounts, so
// the update that follows writes what no concurrent transaction can change meanwhile.
func (m *Meter) spendCaps(ctx context.Context, tx *gorm.DB, asks []Ask, accounts map[string]tenants.Account, capped []int, now time.Time, out []Spent) error {
	if len(capped) == 0 {
		return nil
	}
	period := money.PeriodOf(now)
	var open strings.Builder
	args := make([]any, 0, 2*len(capped))
	open.WriteString("INSERT INTO monthly_spend (tenant_id, period, amount) VALUES ")
	for j, i := range capped {
		if j > 0 {
			open.WriteByte(',')
		}
		open.WriteString("(?, ?, 0)")
		args = append(args, asks[i].TenantID, period)
	}
	open.WriteString(" ON CONFLICT (tenant_id, period) DO UPDATE SET amount = monthly_spend.amount RETURNING tenant_id, amount")
	var rows []struct {
		TenantID string
		Amount   int64
	}
	if err := tx.Raw(open.String(), args...).Scan(&rows).Error; err != nil {
		return fmt.Errorf("open the monthly spend of %d tenants: %w", len(capped), err)
	}
	spent := make(map[string]int64, len(rows))
	for _, r := range rows {
		spent[r.TenantID] = r.Amount
	}
	price := m.price.Amount
	metered := Charge{BillingState: StatePending, Amount: price, Currency: m.price.Currency}
	var set strings.Builder
	var setArgs []any
	var ids []string
	set.WriteString("CASE tenant_id")
	for _, i := range capped {
		a := accounts[asks[i].TenantID]
		have, ok := spent[a.ID]
		if !ok {
			return fmt.Errorf("open the monthly spend of %s: no row", a.ID)
		}
		fit := int64(asks[i].N)
		if price > 0 {
			fit = min(fit, max(0, (*a.MonthlyCapAmount-have)/price))
		}
		out[i].Granted = repeat(metered, int(fit))
		if int(fit) < asks[i].N {
			out[i].Refusal = a.CapRefusal()
		}
		if fit > 0 && price > 0 {
			set.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
			setArgs = append(setArgs, a.ID, have+fit*price)
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	set.WriteString(" END")
	if err := tx.Exec(`UPDATE monthly_spend SET amount = `+set.String()+` WHERE period = ? AND tenant_id IN ?`,
		append(setArgs, period, ids)...).Error; err != nil {
		return fmt.Errorf("spend against the caps of %d tenants: %w", len(ids), err)
	}
	return nil
}
