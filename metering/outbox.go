package metering

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
)

// OutboxState is the state of an outbox row.
type OutboxState string

// States of an outbox row, and the billing state each gives its usage event.
const (
	// OutboxPending waits for (another) delivery attempt.
	OutboxPending OutboxState = "pending"
	// OutboxDelivered was accepted by Stripe; reference holds the identifier.
	OutboxDelivered OutboxState = "delivered"
	// OutboxStale is older than Stripe accepts: kept for finance, never sent.
	OutboxStale OutboxState = "stale"
	// OutboxFailed was refused by Stripe for good (Stripe-Should-Retry: false).
	OutboxFailed OutboxState = "failed"
)

// usageState is the billing state an ended outbox row gives its usage event.
func (s OutboxState) usageState() string {
	switch s {
	case OutboxDelivered:
		return StateReported
	case OutboxStale:
		return StateStale
	case OutboxFailed:
		return StateFailed
	}
	return StatePending
}

// MeterEvent is the payload of a TopicMeterEvent row: one metered analysis to report.
type MeterEvent struct {
	UsageEventID string `json:"usage_event_id"`
	TenantID     string `json:"tenant_id"`
	ScoreID      string `json:"score_id"`
	Quantity     int    `json:"quantity"`
	Timestamp    int64  `json:"timestamp"`
	// Metric is the usage metric reported: empty for analyses, monitored_company_days for
	// monitoring (each has its own Stripe meter).
	Metric string `json:"metric,omitempty"`
}

// Claimed is an outbox row a worker holds until its lease ends.
type Claimed struct {
	ID           string
	TenantID     string
	UsageEventID *string
	Payload      string
	Attempts     int
	CreatedAt    time.Time
}

// MeterEvent decodes the row's payload.
func (c Claimed) MeterEvent() (MeterEvent, error) {
	var e MeterEvent
	if err := json.Unmarshal([]byte(c.Payload), &e); err != nil {
		return e, fmt.Errorf("unreadable payload: %w", err)
	}
	return e, nil
}

// Outbox is the queue of meter events as the reporting worker drains it: metering writes the rows
// with the calls they report and keeps their usage events in step with them.
type Outbox struct{ db *gorm.DB }

// NewOutbox returns the outbox on db.
func NewOutbox(db *gorm.DB) *Outbox { return &Outbox{db: db} }

// Claim takes up to batch due pending rows: their available_at moves to now+lease, so no other
// worker sees them meanwhile (on PostgreSQL concurrent claims skip each other's locked rows).
func (o *Outbox) Claim(ctx context.Context, now time.Time, lease time.Duration, batch int) ([]Claimed, error) {
	var rows []Claimed
	err := o.db.WithContext(ctx).Raw(`UPDATE outbox SET available_at = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE topic = ? AND state = ? AND available_at <= ?
			ORDER BY available_at, id LIMIT ?`+database.SkipLocked(o.db)+`)
		RETURNING id, tenant_id, usage_event_id, payload, attempts, created_at`,
		now.Add(lease), TopicMeterEvent, OutboxPending, now, batch).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	return rows, nil
}

// End closes a claimed row in state (delivered with Stripe's reference, or stale or failed with
// the reason) and gives its usage event the matching billing state, in one transaction. A row
// that is no longer pending is left as it is.
func (o *Outbox) End(ctx context.Context, c Claimed, state OutboxState, reference, reason string, now time.Time) error {
	err := o.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cols := map[string]any{"state": state}
		if state == OutboxDelivered {
			cols["delivered_at"], cols["reference"], cols["last_error"] = now, reference, nil
		} else {
			cols["last_error"] = reason
		}
		res := tx.Table("outbox").Where("id = ? AND tenant_id = ? AND state = ?", c.ID, c.TenantID, OutboxPending).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 || c.UsageEventID == nil {
			return nil
		}
		return tx.Exec(`UPDATE usage_events SET billing_state = ? WHERE id = ? AND tenant_id = ? AND billing_state = ?`,
			state.usageState(), *c.UsageEventID, c.TenantID, StatePending).Error
	})
	if err != nil {
		return fmt.Errorf("mark outbox row %s %s: %w", c.ID, state, err)
	}
	return nil
}

// Reschedule leaves a claimed row pending until next, with the reason of the failed attempt.
func (o *Outbox) Reschedule(ctx context.Context, c Claimed, next time.Time, reason string) error {
	err := o.db.WithContext(ctx).Exec(`UPDATE outbox SET available_at = ?, last_error = ? WHERE id = ? AND tenant_id = ? AND state = ?`,
		next, reason, c.ID, c.TenantID, OutboxPending).Error
	if err != nil {
		return fmt.Errorf("reschedule outbox row %s: %w", c.ID, err)
	}
	return nil
}

// OldestPending is when the oldest row still waiting was written, if any.
func (o *Outbox) OldestPending(ctx context.Context) (time.Time, bool, error) {
	var oldest struct{ CreatedAt time.Time }
	res := o.db.WithContext(ctx).Raw(`SELECT created_at FROM outbox WHERE topic = ? AND state = ? ORDER BY created_at LIMIT 1`,
		TopicMeterEvent, OutboxPending).Scan(&oldest)
	if res.Error != nil {
		return time.Time{}, false, fmt.Errorf("read the oldest unreported usage event: %w", res.Error)
	}
	return oldest.CreatedAt, res.RowsAffected > 0, nil
}
