// Package audit owns the audit trail: one append-only event per mutation of a tenant's keys,
// consents, settings and lifecycle, and per operator action, with who did it (actor), what
// (action, target), before and after where meaningful, the request id and the client address.
// Events are written in the transaction of the change they record, so that neither exists
// without the other; the table refuses UPDATE and DELETE (a trigger on both databases).
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
)

// Kinds of actors.
const (
	ActorKey      = "api_key"
	ActorClient   = "oauth_client"
	ActorMember   = "member"
	ActorOperator = "operator"
	ActorStripe   = "stripe"
	ActorSystem   = "system"
	// ActorEmailLink is whoever followed a verification link mailed to the signup address.
	ActorEmailLink = "email_link"
)

// Event is one row of the trail.
type Event struct {
	ID          string `gorm:"primaryKey"`
	TenantID    string
	Environment string // "" for what concerns the whole tenant
	ActorType   string
	ActorID     string
	Action      string
	TargetType  string
	TargetID    string
	Before      *string // JSON
	After       *string // JSON
	RequestID   string
	ClientIP    string
	CreatedAt   time.Time
}

// TableName is the trail's table.
func (Event) TableName() string { return "audit_events" }

// Change is what a mutation records; Before and After are encoded as JSON when set.
type Change struct {
	TenantID, Environment string
	ActorType, ActorID    string
	Action                string
	TargetType, TargetID  string
	Before, After         any
}

// Record appends the event of a change inside tx, at now, with the request id and client
// address of ctx.
func Record(ctx context.Context, tx *gorm.DB, c Change, now time.Time) error {
	e := Event{
		ID: ids.New(ids.Audit), TenantID: c.TenantID, Environment: c.Environment, ActorType: c.ActorType, ActorID: c.ActorID,
		Action: c.Action, TargetType: c.TargetType, TargetID: c.TargetID,
		RequestID: httpx.RequestIDFrom(ctx), ClientIP: httpx.ClientIPFrom(ctx), CreatedAt: now.UTC(),
	}
	var err error
	if e.Before, err = encode(c.Before); err != nil {
		return err
	}
	if e.After, err = encode(c.After); err != nil {
		return err
	}
	if err := tx.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("record audit event %s: %w", c.Action, err)
	}
	return nil
}

func encode(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit detail: %w", err)
	}
	s := string(b)
	return &s, nil
}

// Filter narrows a listing; empty fields match everything.
type Filter struct {
	ActorID, Action, TargetID string
	From, To                  *time.Time
}

// List returns a page of a tenant's events newest first: those of the environment and those
// of the whole tenant.
func List(ctx context.Context, db *gorm.DB, tenantID, environment string, f Filter, page httpx.Page) ([]Event, error) {
	q := db.WithContext(ctx).Where("tenant_id = ? AND environment IN (?, '')", tenantID, environment)
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.From != nil {
		q = q.Where("created_at >= ?", f.From.UTC())
	}
	if f.To != nil {
		q = q.Where("created_at <= ?", f.To.UTC())
	}
	var out []Event
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}
