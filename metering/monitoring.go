package metering

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/money"
)

// MetricMonitoredCompanyDays counts the days a company is under watch (monitoring), billed on a
// Stripe meter of its own.
const MetricMonitoredCompanyDays = "monitored_company_days"

// WithMonitoringPrice sets what one monitored company day costs a subscribed tenant.
func (m *Meter) WithMonitoringPrice(p money.Money) *Meter {
	m.monitoringPrice = p
	return m
}

// MonitoringPrice is what one monitored company day costs.
func (m *Meter) MonitoringPrice() money.Money { return m.monitoringPrice }

// MonitoredDay is one live monitor under watch on one UTC day.
type MonitoredDay struct {
	TenantID  string
	MonitorID string
	// DecisionID is the monitor's last decision (usage events name a decision).
	DecisionID string
	// Metered: the tenant is subscribed (billed); otherwise the day is counted, free.
	Metered bool
	At      time.Time
}

// ChargeMonitoredDays records each monitored day inside tx, once: the usage event's idempotency key
// is the monitor and the date, so a sweep run twice the same day (or a part of it rescued after a
// crash) counts nothing twice. A metered day gets its outbox row for Stripe, written only with the
// event that is new. It returns how many days were new.
func (m *Meter) ChargeMonitoredDays(ctx context.Context, tx *gorm.DB, days []MonitoredDay) (int, error) {
	if len(days) == 0 {
		return 0, nil
	}
	evs := make([]UsageEvent, len(days))
	for i, d := range days {
		state, amount := StateFree, int64(0)
		if d.Metered {
			state, amount = StatePending, m.monitoringPrice.Amount
		}
		date := d.At.UTC().Format("2006-01-02")
		evs[i] = UsageEvent{ID: ids.New(ids.Usage), TenantID: d.TenantID, Environment: "live", Metric: MetricMonitoredCompanyDays,
			Quantity: 1, ScoreID: d.DecisionID, KeyID: "monitor", RequestID: d.MonitorID, IdempotencyKey: d.MonitorID + ":" + date,
			BillingState: state, Amount: amount, Currency: m.monitoringPrice.Currency, UsageDate: date, Period: money.PeriodOf(d.At),
			CreatedAt: d.At.UTC()}
	}
	st := UsageInsert(evs)
	var inserted []string
	if err := tx.WithContext(ctx).Raw(st.SQL+" ON CONFLICT (tenant_id, environment, idempotency_key) DO NOTHING RETURNING id", st.Args...).
		Scan(&inserted).Error; err != nil {
		return 0, fmt.Errorf("record %d monitored days: %w", len(days), err)
	}
	isNew := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
	}
	var rows []*OutboxRow
	for _, ev := range evs {
		if !isNew[ev.ID] || ev.BillingState != StatePending {
			continue
		}
		o, err := OutboxFor(ev)
		if err != nil {
			return 0, err
		}
		rows = append(rows, o)
	}
	if len(rows) > 0 {
		st := OutboxInsert(rows)
		if err := tx.WithContext(ctx).Exec(st.SQL, st.Args...).Error; err != nil {
			return 0, fmt.Errorf("queue %d monitored days for Stripe: %w", len(rows), err)
		}
	}
	return len(inserted), nil
}

// eventMetric is the metric a meter event reports ("" for analyses, as rows written before
// monitoring existed say).
func eventMetric(ev UsageEvent) string {
	if ev.Metric == MetricAnalysis {
		return ""
	}
	return ev.Metric
}
