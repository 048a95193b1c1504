package metering

import (
	"context"
	"fmt"
	"time"

	"github.com/rocketfin/rocketfin/keys"
)

// DayUsage is one line of the usage summary.
type DayUsage struct {
	Date        string `json:"date"`
	Environment string `json:"environment"`
	Metric      string `json:"metric"`
	Quantity    int64  `json:"quantity"`
	Amount      int64  `json:"amount"`
}

// Summary is the answer of GET /v1/usage.
type Summary struct {
	Object   string     `json:"object"`
	From     string     `json:"from"`
	To       string     `json:"to"`
	Data     []DayUsage `json:"data"`
	Total    int64      `json:"total"`
	Amount   int64      `json:"amount"`
	Currency string     `json:"currency"`
}

// Summarize sums the caller's usage by day, environment and metric, from and to included.
func (m *Meter) Summarize(ctx context.Context, p keys.Principal, from, to time.Time) (Summary, error) {
	rows := []DayUsage{}
	err := m.db.WithContext(ctx).Raw(`SELECT usage_date AS date, environment, metric,
			SUM(quantity) AS quantity, SUM(amount) AS amount
		FROM usage_events
		WHERE tenant_id = ? AND environment = ? AND usage_date >= ? AND usage_date <= ?
		GROUP BY usage_date, environment, metric
		ORDER BY usage_date, environment, metric`,
		p.TenantID, string(p.Environment), from.Format(time.DateOnly), to.Format(time.DateOnly)).Scan(&rows).Error
	if err != nil {
		return Summary{}, fmt.Errorf("sum usage: %w", err)
	}
	out := Summary{Object: "usage_summary", From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Data: rows, Currency: m.price.Currency}
	for _, r := range rows {
		out.Total += r.Quantity
		out.Amount += r.Amount
	}
	return out, nil
}

// ExportedEvent is one usage event of the export, with where its report to Stripe stands.
type ExportedEvent struct {
	ID, Environment, Metric, ScoreID, KeyID, RequestID string
	IdempotencyKey, BillingState, Currency             string
	Reference, ReportingState                          string
	CreatedAt                                          time.Time
	Quantity                                           int
	Amount                                             int64
}

// exportPage is how many usage events the export reads at a time: the month is streamed page by
// page, holding a database connection only for the length of one page (on SQLite, the only
// connection).
const exportPage = 1000

// Export calls fn with each of the caller's usage events of a period, in id order, page by page;
// it stops at fn's first error.
func (m *Meter) Export(ctx context.Context, p keys.Principal, period string, fn func([]ExportedEvent) error) error {
	after := ""
	for {
		var page []ExportedEvent
		err := m.db.WithContext(ctx).Raw(`SELECT u.id, u.created_at, u.environment, u.metric, u.quantity,
				u.score_id, u.key_id, u.request_id, u.idempotency_key, u.billing_state, u.amount, u.currency,
				COALESCE(o.reference, '') AS reference, COALESCE(o.state, '') AS reporting_state
			FROM usage_events u LEFT JOIN outbox o ON o.usage_event_id = u.id
			WHERE u.tenant_id = ? AND u.environment = ? AND u.period = ? AND u.id > ?
			ORDER BY u.id LIMIT ?`, p.TenantID, string(p.Environment), period, after, exportPage).Scan(&page).Error
		if err != nil {
			return fmt.Errorf("export usage: %w", err)
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}
