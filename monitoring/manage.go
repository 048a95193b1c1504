package monitoring

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/tenants"
	"github.com/rocketfin/rocketfin/webhooks"
)

// UpdateInput is the body of PATCH /v1/monitors/{id}: what is present changes.
type UpdateInput struct {
	Alert *AlertInput `json:"alert"`
	// Status pauses (paused) or resumes (active) monitoring.
	Status *string `json:"status"`
	// AlertState "ok" acknowledges an alert.
	AlertState *string            `json:"alert_state"`
	Metadata   *metadata.Metadata `json:"metadata"`
}

// Update changes a monitor's thresholds, state or metadata.
func (s *Service) Update(ctx context.Context, p keys.Principal, id string, in UpdateInput) (Monitor, error) {
	if in.Status != nil && *in.Status != StatusActive && *in.Status != StatusPaused {
		return Monitor{}, problem.Field("status", "must be active or paused")
	}
	if in.AlertState != nil && *in.AlertState != AlertOK {
		return Monitor{}, problem.Field("alert_state", "can only be set to ok (acknowledging an alert)")
	}
	if in.Metadata != nil {
		if err := in.Metadata.Validate("metadata"); err != nil {
			return Monitor{}, err
		}
	}
	if in.Status != nil && *in.Status == StatusActive {
		// Checked before the transaction: scoring reads consents through the pool (on SQLite the
		// transaction would hold its one connection).
		cur, err := s.get(ctx, s.db, p, id)
		if err != nil {
			return Monitor{}, err
		}
		if cur.Status != StatusActive {
			if reason := s.unscorable(ctx, cur); reason != "" {
				return Monitor{}, problem.New(problem.Conflict, "monitoring cannot resume: %s", reason)
			}
		}
	}
	var m Monitor
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if m, err = s.get(ctx, tx, p, id); err != nil {
			return err
		}
		now := s.clock.Now()
		before := map[string]any{"status": m.Status, "score_drop_points": m.ScoreDropPoints, "grade_notches": m.GradeNotches}
		changes := map[string]any{"updated_at": now}
		if in.Alert != nil {
			points, notches := m.ScoreDropPoints, m.GradeNotches
			if err := in.Alert.apply(&points, &notches); err != nil {
				return err
			}
			changes["score_drop_points"], changes["grade_notches"] = points, notches
		}
		if in.AlertState != nil {
			changes["alert_state"] = AlertOK
		}
		if in.Metadata != nil {
			changes["metadata"] = in.Metadata.Encode()
		}
		if in.Status != nil && *in.Status != m.Status {
			if *in.Status == StatusActive {
				if reason, err := s.refusal(ctx, tx, m, now); err != nil {
					return err
				} else if reason != "" {
					return problem.New(problem.Conflict, "monitoring cannot resume: %s", reason)
				}
				changes["paused_reason"] = nil
			} else {
				changes["paused_reason"] = "paused by " + p.ActorType()
			}
			changes["status"] = *in.Status
		}
		if err := tx.Model(&Monitor{}).Where("id = ?", m.ID).Updates(changes).Error; err != nil {
			return fmt.Errorf("update monitor %s: %w", id, err)
		}
		if err := tx.Where("id = ?", m.ID).Take(&m).Error; err != nil {
			return fmt.Errorf("read monitor %s: %w", id, err)
		}
		if m.Status == StatusPaused && before["status"] == StatusActive {
			if err := s.emitPaused(ctx, tx, m, *m.PausedReason, now); err != nil {
				return err
			}
		}
		ch := p.Change("monitor.updated", "monitor", m.ID)
		ch.Before = before
		ch.After = map[string]any{"status": m.Status, "score_drop_points": m.ScoreDropPoints, "grade_notches": m.GradeNotches}
		return audit.Record(ctx, tx, ch, now)
	})
	return m, err
}

// Delete stops watching a company (its decisions stay).
func (s *Service) Delete(ctx context.Context, p keys.Principal, id string) (Monitor, error) {
	var m Monitor
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if m, err = s.get(ctx, tx, p, id); err != nil {
			return err
		}
		now := s.clock.Now()
		m.DeletedAt = &now
		if err := tx.Model(&Monitor{}).Where("id = ?", m.ID).Updates(map[string]any{"deleted_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("delete monitor %s: %w", id, err)
		}
		ch := p.Change("monitor.deleted", "monitor", m.ID)
		ch.Before = map[string]any{"company_id": m.CompanyID}
		return audit.Record(ctx, tx, ch, now)
	})
	return m, err
}

// unscorable is why m's data cannot be scored now ("" when it can): a consent missing for a sole
// trader, or nothing left to score. It reads consents through the pool, as the sweep would.
func (s *Service) unscorable(ctx context.Context, m Monitor) string {
	req, err := m.request()
	if err != nil {
		return err.Error()
	}
	_, err = s.scores.Reevaluate(ctx, scores.Rescore{TenantID: m.TenantID, Environment: m.Environment, MonitorID: m.ID,
		PreviousID: m.LastDecisionID, Language: m.Language, Request: req})
	if pe := problem.As(err); pe != nil {
		return pe.Detail
	}
	return ""
}

// refusal is why a live monitor may not run at now ("" when it may): a trial that ended, a
// suspended or canceled account. Sandbox monitors always run.
func (s *Service) refusal(ctx context.Context, tx *gorm.DB, m Monitor, now time.Time) (string, error) {
	if m.Environment != keys.Live {
		return "", nil
	}
	a, err := s.account(ctx, tx, m.TenantID, now)
	return a.refusal, err
}

// monitoringAccount is what monitoring needs of a tenant: whether it may monitor, and whether its
// monitored days are billed.
type monitoringAccount struct {
	refusal string
	metered bool
}

func (s *Service) account(ctx context.Context, tx *gorm.DB, tenantID string, now time.Time) (monitoringAccount, error) {
	var status tenants.Status
	var trialEnds time.Time
	if err := tx.WithContext(ctx).Raw("SELECT status, trial_ends_at FROM tenants WHERE id = ?", tenantID).Row().Scan(&status, &trialEnds); err != nil {
		return monitoringAccount{}, fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	return monitoringAccount{refusal: refusalOf(status, trialEnds, now), metered: status.Metered()}, nil
}

func refusalOf(status tenants.Status, trialEnds, now time.Time) string {
	switch {
	case status == tenants.StatusTrial && !now.Before(trialEnds):
		return "the trial ended; subscribe to keep monitoring"
	case status == tenants.StatusTrial, status.Metered():
		return ""
	default:
		return fmt.Sprintf("the account is %s", status)
	}
}

// pause stops a monitor for reason and emits monitor.paused.
func (s *Service) pause(ctx context.Context, tx *gorm.DB, m Monitor, reason string, now time.Time) error {
	res := tx.WithContext(ctx).Model(&Monitor{}).Where("id = ? AND status = ?", m.ID, StatusActive).
		Updates(map[string]any{"status": StatusPaused, "paused_reason": reason, "updated_at": now})
	if res.Error != nil {
		return fmt.Errorf("pause monitor %s: %w", m.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	m.Status, m.PausedReason, m.UpdatedAt = StatusPaused, &reason, now
	return s.emitPaused(ctx, tx, m, reason, now)
}

func (s *Service) emitPaused(ctx context.Context, tx *gorm.DB, m Monitor, reason string, now time.Time) error {
	_, err := s.webhooks.Emit(ctx, tx, now, webhooks.NewEvent{TenantID: m.TenantID, Environment: m.Environment,
		Type: webhooks.MonitorPaused, CompanyID: m.CompanyID, Data: Paused{Monitor: NewView(m), Reason: reason}})
	return err
}

// The events a sandbox simulation triggers.
const (
	SimulateCollectiveProceeding = "collective_proceeding"
	SimulatePaymentIncident      = "payment_incident"
	SimulateScoreDrop            = "score_drop"
)

// Simulate makes a sandbox monitor live through an event, as Stripe's test triggers do: a
// collective proceeding or a payment incident dated the sandbox's evaluation date (each emits
// company.critical_event, and the re-score its score events), or a deterioration of the payment
// behaviour large enough to cross the monitor's thresholds (score.dropped). The data change is
// real: the monitor keeps it.
func (s *Service) Simulate(ctx context.Context, p keys.Principal, id, event string, asOf time.Time) (Update, error) {
	if p.Environment != keys.Sandbox {
		return Update{}, problem.New(problem.Forbidden, "simulations run in the sandbox only: use a sandbox key")
	}
	date := asOf.Format("2006-01-02")
	switch event {
	case SimulateCollectiveProceeding, SimulatePaymentIncident:
		return s.change(ctx, p, id, scores.CauseSimulated, func(_ Monitor, r *scoring.Request) ([]scoring.LegalEvent, error) {
			return merge(r, DataInput{LegalEvents: []scoring.LegalEvent{{Type: event, Date: date}}}), nil
		})
	case SimulateScoreDrop:
		return s.change(ctx, p, id, scores.CauseSimulated, func(m Monitor, r *scoring.Request) ([]scoring.LegalEvent, error) {
			if m.Recommendation == scoring.Decline && m.Grade == s.grades[len(s.grades)-2] {
				return nil, problem.New(problem.Conflict, "monitor %s is already at the bottom of the scale: there is no drop to simulate", m.ID)
			}
			days, incidents, late := 120.0, 6, 0.9
			merge(r, DataInput{Payments: &scoring.Payments{DaysBeyondTermsAvg: &days, Incidents12m: &incidents, LateInvoiceRatio: &late}})
			return nil, nil
		})
	default:
		return Update{}, problem.Field("event", "must be collective_proceeding, payment_incident or score_drop")
	}
}
