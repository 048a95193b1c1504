package metering

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/tenants"
)

// Meter spends credits and records usage.
type Meter struct {
	db    *gorm.DB
	price money.Money
	// monitoringPrice is what a monitored company day costs (WithMonitoringPrice).
	monitoringPrice money.Money
	clock           clock.Clock
	accounts        *tenants.Store
}

// NewMeter returns a meter charging price per metered analysis; clk says what today is for the
// usage summary's default range.
func NewMeter(db *gorm.DB, price money.Money, clk clock.Clock) *Meter {
	return &Meter{db: db, price: price, monitoringPrice: money.Money{Currency: price.Currency}, clock: clk, accounts: tenants.NewStore(db)}
}

// Price is what one metered analysis costs.
func (m *Meter) Price() money.Money { return m.price }

// Analysis is one successful scoring call, as usage records it.
type Analysis struct {
	TenantID       string
	Environment    string
	ScoreID        string
	KeyID          string
	RequestID      string
	IdempotencyKey string
	At             time.Time
}

// NewUsageEvent builds the usage event of a call, without writing it.
func NewUsageEvent(c Analysis, charge Charge) UsageEvent {
	return UsageEvent{
		ID:             ids.New(ids.Usage),
		TenantID:       c.TenantID,
		Environment:    c.Environment,
		Metric:         MetricAnalysis,
		Quantity:       1,
		ScoreID:        c.ScoreID,
		KeyID:          c.KeyID,
		RequestID:      c.RequestID,
		IdempotencyKey: c.IdempotencyKey,
		BillingState:   charge.BillingState,
		Amount:         charge.Amount,
		Currency:       charge.Currency,
		UsageDate:      c.At.UTC().Format("2006-01-02"),
		Period:         money.PeriodOf(c.At),
		CreatedAt:      c.At,
	}
}

// OutboxFor returns the outbox row that reports a metered usage event to
// Stripe, or nil when the event is not billed through Stripe (trial
// credits, sandbox).
func OutboxFor(ev UsageEvent) (*OutboxRow, error) {
	if ev.BillingState != StatePending {
		return nil, nil
	}
	payload, err := json.Marshal(MeterEvent{
		UsageEventID: ev.ID, TenantID: ev.TenantID, ScoreID: ev.ScoreID, Quantity: ev.Quantity, Timestamp: ev.CreatedAt.Unix(),
		Metric: eventMetric(ev),
	})
	if err != nil {
		return nil, fmt.Errorf("encode outbox payload: %w", err)
	}
	id := ev.ID
	return &OutboxRow{ID: ids.New(ids.Event), TenantID: ev.TenantID, Topic: TopicMeterEvent, UsageEventID: &id,
		Payload: string(payload), State: OutboxPending, AvailableAt: ev.CreatedAt, CreatedAt: ev.CreatedAt}, nil
}

// OutboxInsert is the INSERT statement of outbox rows, to run with the calls they report.
func OutboxInsert(rows []*OutboxRow) database.Statement {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO outbox (id, tenant_id, topic, usage_event_id, payload, state, attempts, available_at, created_at) VALUES `)
	args := make([]any, 0, len(rows)*8)
	for i, o := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?,0,?,?)")
		args = append(args, o.ID, o.TenantID, o.Topic, o.UsageEventID, o.Payload, o.State, o.AvailableAt, o.CreatedAt)
	}
	return database.Statement{SQL: sb.String(), Args: args}
}

// UsageInsert is the INSERT statement of usage events, to run with the calls they count.
func UsageInsert(evs []UsageEvent) database.Statement {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO usage_events (id, tenant_id, environment, metric, quantity, score_id, key_id, request_id,
		idempotency_key, billing_state, amount, currency, usage_date, period, created_at) VALUES `)
	args := make([]any, 0, len(evs)*15)
	for i := range evs {
		e := &evs[i]
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
		args = append(args, e.ID, e.TenantID, e.Environment, e.Metric, e.Quantity, e.ScoreID, e.KeyID, e.RequestID,
			e.IdempotencyKey, e.BillingState, e.Amount, e.Currency, e.UsageDate, e.Period, e.CreatedAt)
	}
	return database.Statement{SQL: sb.String(), Args: args}
}

// IdempotencyConflict is the error of a usage event whose idempotency key
// was already charged.
func IdempotencyConflict(key string) error {
	return problem.New(problem.IdempotencyConflict, "the Idempotency-Key %q was already used for another charged call", key)
}
