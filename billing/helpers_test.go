package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/stripe/stripe-go/v76/client"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/billing/billingtest"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/metering"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const eventName = "rocketfin_analysis"

// newTenant writes a tenant in status and, when customer is not empty,
// its billing account.
func newTenant(t testing.TB, db *gorm.DB, status, customer string) string {
	t.Helper()
	id := ids.New(ids.Tenant)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: id, Status: status, TrialEndsAt: epoch.Add(14 * 24 * time.Hour)})
	if customer != "" {
		if err := db.Create(&billing.Account{TenantID: id, StripeCustomerID: customer, CreatedAt: epoch, UpdatedAt: epoch}).Error; err != nil {
			t.Fatalf("insert billing account: %v", err)
		}
	}
	return id
}

// meteredCalls writes n metered live calls of tenant at at as the scoring call
// does (decision, usage event in state pending, outbox row with the
// documented payload) and returns their usage event ids.
func meteredCalls(t testing.TB, db *gorm.DB, tenant string, n int, at time.Time) []string {
	t.Helper()
	var out []string
	err := db.Transaction(func(tx *gorm.DB) error {
		for i := range n {
			score, ev := ids.New(ids.Score), ids.New(ids.Usage)
			if err := tx.Exec(`INSERT INTO decisions (id, tenant_id, environment, key_id, request_id, company_id, model_version, score, pd_12m, grade,
				recommendation, input, input_sha256, output, latency_us, as_of, created_at)
				VALUES (?, ?, 'live', 'key_x', 'req', 'FR1', 'm1', 700, 0.01, 'A', 'accept', '{}', 'x', '{}', 1, ?, ?)`,
				score, tenant, at, at).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO usage_events (id, tenant_id, environment, metric, quantity, score_id, key_id, request_id,
				idempotency_key, billing_state, amount, currency, usage_date, period, created_at)
				VALUES (?, ?, 'live', ?, 1, ?, 'key_x', 'req', ?, ?, 150, 'EUR', ?, ?, ?)`,
				ev, tenant, metering.MetricAnalysis, score, fmt.Sprintf("%s-%d", score, i), metering.StatePending,
				at.Format("2006-01-02"), money.PeriodOf(at), at).Error; err != nil {
				return err
			}
			payload, _ := json.Marshal(map[string]any{"usage_event_id": ev, "tenant_id": tenant, "score_id": score, "quantity": 1, "timestamp": at.Unix()})
			if err := tx.Exec(`INSERT INTO outbox (id, tenant_id, topic, usage_event_id, payload, state, attempts, available_at, created_at)
				VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`, ids.New(ids.Event), tenant, metering.TopicMeterEvent, ev, string(payload), at, at).Error; err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("record %d metered calls: %v", n, err)
	}
	return out
}

// stripeVia is a Stripe client that goes through the recording proxy.
func stripeVia(p *billingtest.Proxy) *client.API {
	return billing.NewStripeClient(billing.StripeOptions{SecretKey: "sk_test_123", APIBase: p.URL})
}

func newWorker(db *gorm.DB, api *client.API, clk clock.Clock, batch, concurrency int) *billing.Worker {
	return billing.NewWorker(billing.WorkerOptions{
		DB: db, Stripe: api, Clock: clk, EventName: eventName, Batch: batch, Concurrency: concurrency,
		Jitter: func() float64 { return 0.5 },
	})
}

type outboxRow struct {
	ID           string
	UsageEventID string
	State        metering.OutboxState
	Attempts     int
	AvailableAt  time.Time
	Reference    *string
	LastError    *string
	BillingState string
}

// outbox reads a tenant's meter-event rows with their usage event's state.
func outbox(t testing.TB, db *gorm.DB, tenant string) map[string]outboxRow {
	t.Helper()
	var rows []outboxRow
	err := db.Raw(`SELECT o.id, o.usage_event_id, o.state, o.attempts, o.available_at, o.reference, o.last_error, u.billing_state
		FROM outbox o JOIN usage_events u ON u.id = o.usage_event_id
		WHERE o.tenant_id = ? AND o.topic = ?`, tenant, metering.TopicMeterEvent).Scan(&rows).Error
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	out := map[string]outboxRow{}
	for _, r := range rows {
		out[r.UsageEventID] = r
	}
	return out
}

// drain runs passes until one claims nothing.
func drain(t testing.TB, w *billing.Worker) billing.Pass {
	t.Helper()
	var total billing.Pass
	for {
		p, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if p.Claimed == 0 {
			total.Lag = p.Lag
			return total
		}
		total.Claimed += p.Claimed
		total.Delivered += p.Delivered
		total.Duplicates += p.Duplicates
		total.Retried += p.Retried
		total.Stale += p.Stale
		total.Failed += p.Failed
	}
}
