package scores

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scoring"
)

// What made a monitor's decision.
const (
	CauseMonitorCreated = "monitor_created"
	CauseDataAdded      = "data_added"
	CauseDailySweep     = "daily_sweep"
	CauseSimulated      = "simulated"
)

// Rescore is a monitor's re-evaluation.
type Rescore struct {
	TenantID    string
	Environment keys.Environment
	MonitorID   string
	PreviousID  string
	Cause       string
	Language    string
	Metadata    string
	Request     scoring.Request
}

// Rescored is a re-evaluation's decision, and what it could not use.
type Rescored struct {
	Decision Decision
	Result   scoring.Result
	// BankDropped is true when the bank data was left out for want of a live consent.
	BankDropped bool
}

// Record writes a decision Reevaluate made, inside tx.
func (g *Service) Record(ctx context.Context, tx *gorm.DB, d Decision) error {
	return insertDecision(ctx, tx, d)
}

// Reevaluate evaluates a monitor's data again and returns the decision to record (with Record,
// inside the caller's transaction), linked to the previous one; nothing is charged (monitoring is
// metered by the day instead) and nothing is written, so it runs outside any transaction (it reads
// consents). Bank data without a consent in force is left out, as a scoring call would refuse it;
// a sole trader without one cannot be scored (403 consent_required, for the caller to pause the
// monitor).
func (g *Service) Reevaluate(ctx context.Context, in Rescore) (Rescored, error) {
	now := g.clock.Now()
	p := keys.Principal{TenantID: in.TenantID, Environment: in.Environment}
	req := in.Request
	out := Rescored{}
	scopes := neededScopes(&req)
	if in.Environment == keys.Sandbox && personalData(&req) && !slices.Contains(scopes, consents.ScopePersonalData) {
		scopes = append(scopes, consents.ScopePersonalData)
	}
	consentID, err := g.consents.Require(ctx, p, req.Company.ID, scopes)
	if problem.CodeOf(err) == problem.ConsentRequired && slices.Contains(scopes, consents.ScopeBankData) {
		req.Bank, out.BankDropped = nil, true
		scopes = slices.DeleteFunc(scopes, func(s string) bool { return s == consents.ScopeBankData })
		consentID, err = g.consents.Require(ctx, p, req.Company.ID, scopes)
	}
	if err != nil {
		return out, err
	}
	if !hasDataToScore(&req) {
		return out, problem.New(problem.InsufficientData, "nothing left to score for %s", req.Company.ID)
	}
	asOf := now
	if in.Environment == keys.Sandbox {
		asOf = g.catalog.EvaluationDate()
	}
	start := time.Now()
	result, err := g.scorer.Evaluate(ctx, &req, scoring.Options{Language: in.Language, AsOf: asOf})
	if err != nil {
		if problem.As(err) != nil {
			return out, err
		}
		return out, fmt.Errorf("re-score %s: %w", in.MonitorID, err)
	}
	ev := evaluated{req: req}
	if err := ev.encode(result); err != nil {
		return out, err
	}
	cause := in.Cause
	d := Decision{
		ID: ids.New(ids.Score), TenantID: in.TenantID, Environment: string(in.Environment), KeyID: "monitor", RequestID: "",
		CompanyID: req.Company.ID, ModelVersion: result.ModelVersion, Score: result.Score, PD12m: result.PD12m,
		Grade: result.Grade, Recommendation: result.Recommendation, Input: ev.input, InputSHA256: ev.inputSHA,
		Output: string(ev.output), AsOf: asOf, CreatedAt: now, Language: scoring.Language(in.Language),
		Metadata: in.Metadata, MonitorID: &in.MonitorID, Cause: &cause, LatencyUS: time.Since(start).Microseconds(),
	}
	if in.PreviousID != "" {
		d.PreviousDecisionID = &in.PreviousID
	}
	if consentID != "" {
		d.ConsentID = &consentID
	}
	out.Decision, out.Result = d, result
	return out, nil
}

func insertDecision(ctx context.Context, tx *gorm.DB, d Decision) error {
	st := decisionInsert([]Decision{d})
	if err := tx.WithContext(ctx).Exec(st.SQL, st.Args...).Error; err != nil {
		return fmt.Errorf("record decision %s: %w", d.ID, err)
	}
	return nil
}
