package metering

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Meter spends credits and records usage.
type Meter struct {
	db    *gorm.DB
	price Price
}

// NewMeter returns a meter charging price per metered analysis.
func NewMeter(db *gorm.DB, price Price) *Meter { return &Meter{db: db, price: price} }

// Price is what one metered analysis costs.
func (m *Meter) Price() Price { return m.price }

// Call is one successful scoring call to record.
type Call struct {
	TenantID       string
	Environment    string
	ScoreID        string
	KeyID          string
	RequestID      string
	IdempotencyKey string
	At             time.Time
}

// NewUsageEvent builds the usage event of a call, without writing it.
func NewUsageEvent(c Call, charge Charge) UsageEvent {
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
		Period:         Period(c.At),
		CreatedAt:      c.At,
	}
}

// Record writes the usage event of a call inside tx, and for a metered
// live call the outbox row that reports it to Stripe. A second event with
// the same idempotency key is an idempotency_conflict.
func (m *Meter) Record(ctx context.Context, tx *gorm.DB, c Call, charge Charge) (UsageEvent, error) {
	ev := NewUsageEvent(c, charge)
	if err := tx.WithContext(ctx).Create(&ev).Error; err != nil {
		if database.IsUniqueViolation(err) {
			return ev, problem.New(problem.IdempotencyConflict, "the Idempotency-Key %q was already used for another charged call", c.IdempotencyKey)
		}
		return ev, fmt.Errorf("insert usage event: %w", err)
	}
	if charge.BillingState != StatePending {
		return ev, nil
	}
	payload, err := json.Marshal(map[string]any{
		"usage_event_id": ev.ID, "tenant_id": ev.TenantID, "score_id": ev.ScoreID,
		"quantity": ev.Quantity, "timestamp": ev.CreatedAt.Unix(),
	})
	if err != nil {
		return ev, fmt.Errorf("encode outbox payload: %w", err)
	}
	row := OutboxRow{
		ID: ids.New(ids.Event), TenantID: ev.TenantID, Topic: TopicMeterEvent, UsageEventID: &ev.ID,
		Payload: string(payload), State: "pending", AvailableAt: c.At, CreatedAt: c.At,
	}
	if err := tx.WithContext(ctx).Create(&row).Error; err != nil {
		return ev, fmt.Errorf("insert outbox row: %w", err)
	}
	return ev, nil
}
