package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// The types of events. Each is stored (GET /v1/events) and sent to the endpoints subscribed to it.
const (
	// ScoreUpdated: a monitored company was scored again (new data, or time).
	ScoreUpdated = "score.updated"
	// ScoreDropped: the new score fell by the monitor's threshold in points or grade notches, or the
	// recommendation worsened.
	ScoreDropped = "score.dropped"
	// CriticalEvent: a collective proceeding or a payment incident appeared for a monitored company.
	CriticalEvent = "company.critical_event"
	// MonitorPaused: monitoring stopped (trial ended, subscription ended, consent needed).
	MonitorPaused = "monitor.paused"
	// EndpointDisabled: an endpoint was disabled after failing for three days or answering 410 Gone.
	EndpointDisabled = "webhook_endpoint.disabled"
)

// Types are every event type, in the order the documentation lists them.
var Types = []string{ScoreUpdated, ScoreDropped, CriticalEvent, MonitorPaused, EndpointDisabled}

// AllTypes subscribes an endpoint to every type, present and future.
const AllTypes = "*"

// Event is something that happened to a tenant, in one environment.
type Event struct {
	ID          string `gorm:"primaryKey"`
	TenantID    string
	Environment keys.Environment
	Type        string
	// CompanyID is the company the event is about (its registration id), when there is one.
	CompanyID *string
	// Data is the event's object, JSON.
	Data      string
	CreatedAt time.Time
}

// TableName is the events' table.
func (Event) TableName() string { return "events" }

// NewEvent is an event to emit: data is marshalled as its object.
type NewEvent struct {
	TenantID    string
	Environment keys.Environment
	Type        string
	CompanyID   string
	Data        any
}

// Emit stores an event inside tx and schedules its delivery to every enabled endpoint of the
// tenant's environment subscribed to its type: the event and its deliveries exist if and only if
// tx commits.
func (s *Service) Emit(ctx context.Context, tx *gorm.DB, now time.Time, in NewEvent) (Event, error) {
	data, err := json.Marshal(in.Data)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s event: %w", in.Type, err)
	}
	ev := Event{ID: ids.New(ids.Event), TenantID: in.TenantID, Environment: in.Environment, Type: in.Type,
		Data: string(data), CreatedAt: now.UTC()}
	if in.CompanyID != "" {
		ev.CompanyID = &in.CompanyID
	}
	tx = tx.WithContext(ctx)
	if err := tx.Create(&ev).Error; err != nil {
		return Event{}, fmt.Errorf("insert %s event: %w", in.Type, err)
	}
	var endpoints []Endpoint
	if err := tx.Where("tenant_id = ? AND environment = ? AND status = ? AND deleted_at IS NULL", in.TenantID, in.Environment, StatusEnabled).
		Find(&endpoints).Error; err != nil {
		return Event{}, fmt.Errorf("find endpoints for %s: %w", in.Type, err)
	}
	var targets []Endpoint
	for _, e := range endpoints {
		if e.Subscribed(in.Type) {
			targets = append(targets, e)
		}
	}
	_, err = s.schedule(ctx, tx, ev, targets, now)
	return ev, err
}

// schedule makes one pending delivery of ev per endpoint and the job of its first attempt.
func (s *Service) schedule(ctx context.Context, tx *gorm.DB, ev Event, endpoints []Endpoint, now time.Time) ([]Delivery, error) {
	if len(endpoints) == 0 {
		return nil, nil
	}
	out := make([]Delivery, len(endpoints))
	jobs := make([]river.InsertManyParams, len(endpoints))
	for i, e := range endpoints {
		next := now.UTC()
		out[i] = Delivery{ID: ids.New(ids.Delivery), TenantID: ev.TenantID, Environment: ev.Environment, EndpointID: e.ID,
			EventID: ev.ID, EventType: ev.Type, Status: DeliveryPending, NextAttemptAt: &next, AttemptLog: "[]", CreatedAt: now.UTC()}
		jobs[i] = river.InsertManyParams{Args: deliverArgs{DeliveryID: out[i].ID}, InsertOpts: &river.InsertOpts{
			Queue: Queue, MaxAttempts: len(Schedule) + 1}}
	}
	if err := tx.Create(&out).Error; err != nil {
		return nil, fmt.Errorf("insert deliveries of %s: %w", ev.ID, err)
	}
	if err := s.queue.InsertManyTx(ctx, tx, jobs); err != nil {
		return nil, err
	}
	return out, nil
}

// EventFilter narrows a list of events.
type EventFilter struct {
	Type      string
	CompanyID string
}

// ParseEventFilter reads ?type= (a known type) and ?company_id=.
func ParseEventFilter(typ, company string) (EventFilter, error) {
	if typ != "" && !slices.Contains(Types, typ) {
		return EventFilter{}, problem.Field("type", "must be one of %s", strings.Join(Types, ", "))
	}
	return EventFilter{Type: typ, CompanyID: company}, nil
}

// ListEvents returns the caller's events of its environment, newest first.
func (s *Service) ListEvents(ctx context.Context, p keys.Principal, page httpx.Page, f EventFilter) ([]Event, error) {
	q := s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ?", p.TenantID, p.Environment)
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.CompanyID != "" {
		q = q.Where("company_id = ?", f.CompanyID)
	}
	var out []Event
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return out, nil
}

// GetEvent returns one of the caller's events.
func (s *Service) GetEvent(ctx context.Context, p keys.Principal, id string) (Event, error) {
	return s.getEvent(ctx, s.db, p, id)
}

// getEvent reads one of the caller's events on db (a transaction, or the pool).
func (s *Service) getEvent(ctx context.Context, db *gorm.DB, p keys.Principal, id string) (Event, error) {
	var ev Event
	if !ids.Valid(ids.Event, id) {
		return ev, problem.New(problem.NotFound, "no event %s", id)
	}
	err := db.WithContext(ctx).Where("tenant_id = ? AND environment = ? AND id = ?", p.TenantID, p.Environment, id).Take(&ev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ev, problem.New(problem.NotFound, "no event %s", id)
	}
	if err != nil {
		return ev, fmt.Errorf("get event %s: %w", id, err)
	}
	return ev, nil
}

// Redeliver sends an event again, as a new delivery with the same webhook-id, to one endpoint
// (endpointID) or to every enabled endpoint subscribed to its type.
func (s *Service) Redeliver(ctx context.Context, p keys.Principal, eventID, endpointID string) ([]Delivery, error) {
	var out []Delivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ev, err := s.getEvent(ctx, tx, p, eventID)
		if err != nil {
			return err
		}
		var targets []Endpoint
		if endpointID != "" {
			e, err := s.get(ctx, tx, p, endpointID)
			if err != nil {
				return err
			}
			if e.Status != StatusEnabled {
				return problem.New(problem.Conflict, "endpoint %s is disabled; enable it (PATCH status: enabled) first", e.ID)
			}
			targets = []Endpoint{e}
		} else {
			var all []Endpoint
			if err := tx.Where("tenant_id = ? AND environment = ? AND status = ? AND deleted_at IS NULL", p.TenantID, p.Environment, StatusEnabled).
				Find(&all).Error; err != nil {
				return fmt.Errorf("find endpoints: %w", err)
			}
			for _, e := range all {
				if e.Subscribed(ev.Type) {
					targets = append(targets, e)
				}
			}
			if len(targets) == 0 {
				return problem.New(problem.Conflict, "no enabled endpoint is subscribed to %s events", ev.Type)
			}
		}
		now := s.clock.Now()
		out, err = s.schedule(ctx, tx, ev, targets, now)
		if err != nil {
			return err
		}
		ch := p.Change("event.redelivered", "event", ev.ID)
		ch.After = map[string]any{"deliveries": len(out)}
		return s.audit(ctx, tx, ch, now)
	})
	return out, err
}
