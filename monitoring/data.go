package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/webhooks"
)

// DataInput is new data about a monitored company: what is present is merged into its data (a
// statement replaces the one of the same period, a bank month the same month, payment figures the
// figures given; legal events are added, or update the event of the same type and date).
type DataInput struct {
	Financials  []scoring.Statement  `json:"financials"`
	Bank        *scoring.Bank        `json:"bank"`
	Payments    *scoring.Payments    `json:"payments"`
	LegalEvents []scoring.LegalEvent `json:"legal_events"`
}

func (in DataInput) empty() bool {
	p := in.Payments
	return len(in.Financials) == 0 && (in.Bank == nil || len(in.Bank.Months) == 0) && len(in.LegalEvents) == 0 &&
		(p == nil || (p.DaysBeyondTermsAvg == nil && p.Incidents12m == nil && p.LateInvoiceRatio == nil))
}

// validate checks the new data alone, so that errors name the fields of the body sent.
func (in DataInput) validate(company scoring.Company) error {
	if in.empty() {
		return problem.Field("body", "send at least one of financials, bank.months, payments or legal_events")
	}
	r := scoring.Request{Company: company, Financials: in.Financials, Bank: in.Bank, Payments: in.Payments, LegalEvents: in.LegalEvents}
	if err := r.Validate(); err != nil {
		return err
	}
	return nil
}

// merge adds in to r; it returns the critical legal events that are new.
func merge(r *scoring.Request, in DataInput) []scoring.LegalEvent {
	for _, st := range in.Financials {
		if i := slices.IndexFunc(r.Financials, func(x scoring.Statement) bool { return x.PeriodEnd == st.PeriodEnd }); i >= 0 {
			r.Financials[i] = st
		} else {
			r.Financials = append(r.Financials, st)
		}
	}
	sort.SliceStable(r.Financials, func(i, j int) bool { return r.Financials[i].PeriodEnd > r.Financials[j].PeriodEnd })
	if len(r.Financials) > scoring.MaxStatements {
		r.Financials = r.Financials[:scoring.MaxStatements]
	}
	if in.Bank != nil && len(in.Bank.Months) > 0 {
		if r.Bank == nil || (in.Bank.Currency != "" && in.Bank.Currency != r.Bank.Currency) {
			// Months in another currency replace the old ones rather than mix with them.
			r.Bank = &scoring.Bank{Currency: in.Bank.Currency}
		}
		for _, m := range in.Bank.Months {
			if i := slices.IndexFunc(r.Bank.Months, func(x scoring.BankMonth) bool { return x.Month == m.Month }); i >= 0 {
				r.Bank.Months[i] = m
			} else {
				r.Bank.Months = append(r.Bank.Months, m)
			}
		}
		sort.SliceStable(r.Bank.Months, func(i, j int) bool { return r.Bank.Months[i].Month > r.Bank.Months[j].Month })
		if len(r.Bank.Months) > scoring.MaxBankMonths {
			r.Bank.Months = r.Bank.Months[:scoring.MaxBankMonths]
		}
	}
	if p := in.Payments; p != nil {
		if r.Payments == nil {
			r.Payments = &scoring.Payments{}
		}
		if p.DaysBeyondTermsAvg != nil {
			r.Payments.DaysBeyondTermsAvg = p.DaysBeyondTermsAvg
		}
		if p.Incidents12m != nil {
			r.Payments.Incidents12m = p.Incidents12m
		}
		if p.LateInvoiceRatio != nil {
			r.Payments.LateInvoiceRatio = p.LateInvoiceRatio
		}
	}
	var critical []scoring.LegalEvent
	for _, e := range in.LegalEvents {
		i := slices.IndexFunc(r.LegalEvents, func(x scoring.LegalEvent) bool { return x.Type == e.Type && x.Date == e.Date })
		if i >= 0 {
			r.LegalEvents[i] = e
			continue
		}
		r.LegalEvents = append(r.LegalEvents, e)
		if (e.Type == scoring.EventCollectiveProceeding || e.Type == scoring.EventPaymentIncident) && e.EndedOn == "" {
			critical = append(critical, e)
		}
	}
	if n := len(r.LegalEvents); n > scoring.MaxLegalEvents {
		r.LegalEvents = r.LegalEvents[n-scoring.MaxLegalEvents:]
	}
	return critical
}

// Update is a monitor's re-score: its decision, the monitor after it, and the events emitted.
type Update struct {
	Monitor  Monitor
	Decision scores.Decision
	Events   []webhooks.Event
}

// AddData merges new data into a monitor, re-scores it at once and emits its events.
func (s *Service) AddData(ctx context.Context, p keys.Principal, id string, in DataInput) (Update, error) {
	return s.change(ctx, p, id, scores.CauseDataAdded, func(m Monitor, r *scoring.Request) ([]scoring.LegalEvent, error) {
		if err := in.validate(r.Company); err != nil {
			return nil, err
		}
		return merge(r, in), nil
	})
}

// change applies edit to a live, active monitor's data and re-scores it: the evaluation runs
// outside any transaction (it reads consents), then the outcome is recorded under the monitor's row
// lock if nothing changed the monitor meanwhile; a concurrent change makes it start over (three
// times at most, then 409).
func (s *Service) change(ctx context.Context, p keys.Principal, id, cause string,
	edit func(m Monitor, r *scoring.Request) ([]scoring.LegalEvent, error)) (Update, error) {
	for range 3 {
		m, err := s.get(ctx, s.db, p, id)
		if err != nil {
			return Update{}, err
		}
		if m.Status != StatusActive {
			return Update{}, problem.New(problem.Conflict, "monitor %s is paused (%s); resume it (PATCH status: active) first", m.ID, deref(m.PausedReason))
		}
		req, err := m.request()
		if err != nil {
			return Update{}, err
		}
		critical, err := edit(m, &req)
		if err != nil {
			return Update{}, err
		}
		res, err := s.scores.Reevaluate(ctx, scores.Rescore{TenantID: m.TenantID, Environment: m.Environment, MonitorID: m.ID,
			PreviousID: m.LastDecisionID, Cause: cause, Language: m.Language, Metadata: m.Metadata, Request: req})
		if err != nil {
			return Update{}, err
		}
		var out Update
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			locked, err := s.get(ctx, tx, p, id)
			if err != nil {
				return err
			}
			if locked.LastDecisionID != m.LastDecisionID || locked.Status != StatusActive || locked.DeletedAt != nil {
				return errRaced
			}
			if err := s.scores.Record(ctx, tx, res.Decision); err != nil {
				return err
			}
			out, err = s.record(ctx, tx, locked, req, res, cause, critical)
			return err
		})
		if errors.Is(err, errRaced) {
			continue
		}
		return out, err
	}
	return Update{}, problem.New(problem.Conflict, "monitor %s changed while this data was scored; send it again", id)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// record stores a re-score's outcome on the monitor and emits its events.
func (s *Service) record(ctx context.Context, tx *gorm.DB, m Monitor, req scoring.Request, res scores.Rescored, cause string, critical []scoring.LegalEvent) (Update, error) {
	d := res.Decision
	now := d.CreatedAt
	prev := m
	data, err := json.Marshal(req)
	if err != nil {
		return Update{}, fmt.Errorf("encode monitor data: %w", err)
	}
	dropped, why := s.dropped(prev, d)
	if dropped || len(critical) > 0 {
		m.AlertState = AlertAlerting
	}
	m.Request, m.LastDecisionID, m.Score, m.PD12m, m.Grade, m.Recommendation = string(data), d.ID, d.Score, d.PD12m, d.Grade, d.Recommendation
	m.LastEvaluatedAt, m.UpdatedAt = now, now
	if err := tx.Model(&Monitor{}).Where("id = ?", m.ID).Updates(map[string]any{
		"request": m.Request, "last_decision_id": d.ID, "score": d.Score, "pd_12m": d.PD12m, "grade": d.Grade,
		"recommendation": d.Recommendation, "alert_state": m.AlertState, "last_evaluated_at": now, "updated_at": now,
	}).Error; err != nil {
		return Update{}, fmt.Errorf("update monitor %s: %w", m.ID, err)
	}
	out := Update{Monitor: m, Decision: d}
	change := ScoreChange{Monitor: NewView(m), Decision: DecisionRef{ID: d.ID, Score: d.Score, PD12m: d.PD12m, Grade: d.Grade,
		Recommendation: d.Recommendation, Cause: cause, CreatedAt: now},
		Previous:    &DecisionRef{ID: prev.LastDecisionID, Score: prev.Score, PD12m: prev.PD12m, Grade: prev.Grade, Recommendation: prev.Recommendation, CreatedAt: prev.LastEvaluatedAt},
		BankDropped: res.BankDropped}
	emit := func(typ string, data any) error {
		ev, err := s.webhooks.Emit(ctx, tx, now, webhooks.NewEvent{TenantID: m.TenantID, Environment: m.Environment, Type: typ,
			CompanyID: m.CompanyID, Data: data})
		out.Events = append(out.Events, ev)
		return err
	}
	if err := emit(webhooks.ScoreUpdated, change); err != nil {
		return out, err
	}
	if dropped {
		change.Reason = why
		if err := emit(webhooks.ScoreDropped, change); err != nil {
			return out, err
		}
	}
	for _, e := range critical {
		if err := emit(webhooks.CriticalEvent, CriticalChange{Monitor: NewView(m), Event: e, Decision: change.Decision}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// dropped reports whether d is a drop past m's thresholds from m's last decision, and why.
func (s *Service) dropped(m Monitor, d scores.Decision) (bool, string) {
	var why []string
	if pts := m.Score - d.Score; pts >= m.ScoreDropPoints {
		why = append(why, fmt.Sprintf("the score fell %d points (threshold %d)", pts, m.ScoreDropPoints))
	}
	if n := s.notches(m.Grade, d.Grade); n >= m.GradeNotches {
		why = append(why, fmt.Sprintf("the grade fell %d notches, %s to %s (threshold %d)", n, m.Grade, d.Grade, m.GradeNotches))
	}
	if recommendationRank(d.Recommendation) > recommendationRank(m.Recommendation) {
		why = append(why, fmt.Sprintf("the recommendation worsened from %s to %s", m.Recommendation, d.Recommendation))
	}
	if len(why) == 0 {
		return false, ""
	}
	return true, strings.Join(why, "; ")
}
