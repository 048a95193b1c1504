package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/tenants"
)

// AlertInput is a monitor's alert thresholds: an alert (score.dropped) when a re-score falls by
// at least ScoreDropPoints points or GradeNotches grades, or its recommendation worsens.
type AlertInput struct {
	ScoreDropPoints *int `json:"score_drop_points"`
	GradeNotches    *int `json:"grade_notches"`
}

// decodeAlert reads the alert object of a body, naming its fields in errors.
func decodeAlert(raw json.RawMessage) (AlertInput, error) {
	var a AlertInput
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return a, nil
	}
	if err := httpx.DecodeBytes(raw, &a); err != nil {
		if pe := problem.As(err); pe != nil && len(pe.Fields) > 0 {
			f := pe.Fields[0]
			return a, problem.Field("alert."+f.Field, "%s", f.Message)
		}
		return a, problem.Field("alert", "must be an object with score_drop_points and grade_notches")
	}
	return a, nil
}

// apply sets the thresholds present in a, checking their range.
func (a AlertInput) apply(points, notches *int) error {
	if a.ScoreDropPoints != nil {
		if *a.ScoreDropPoints < 1 || *a.ScoreDropPoints > 1000 {
			return problem.Field("alert.score_drop_points", "must be from 1 to 1000 points")
		}
		*points = *a.ScoreDropPoints
	}
	if a.GradeNotches != nil {
		if *a.GradeNotches < 1 || *a.GradeNotches > 10 {
			return problem.Field("alert.grade_notches", "must be from 1 to 10 grades")
		}
		*notches = *a.GradeNotches
	}
	return nil
}

// Created is a new monitor and the answer of its first evaluation (a scoring call), and Body, the
// answer of POST /v1/monitors (CreatedView): the saved one when Replayed.
type Created struct {
	Monitor  Monitor
	Score    json.RawMessage
	Body     []byte
	Replayed bool
}

// Create puts a company under watch: its first evaluation is a scoring call, charged as one, and
// the monitor exists if and only if that call is charged. A company is monitored once per
// environment (409 naming the monitor); a trial tenant monitors at most TrialMonitors companies.
// c is POST /v1/monitors as the HTTP layer hands it over, a scoring call's fields.
func (s *Service) Create(ctx context.Context, c scores.Call) (Created, error) {
	var raw map[string]json.RawMessage
	if err := httpx.DecodeBytes(c.Body, &raw); err != nil {
		return Created{}, err
	}
	alert, err := decodeAlert(raw["alert"])
	if err != nil {
		return Created{}, err
	}
	delete(raw, "alert")
	points, notches := DefaultDropPoints, DefaultGradeNotches
	if err := alert.apply(&points, &notches); err != nil {
		return Created{}, err
	}
	if _, ok := raw["request"]; ok {
		return Created{}, problem.Field("request", "is not kept by a monitor: monitoring watches the company, not one credit request")
	}
	rest, err := json.Marshal(raw)
	if err != nil {
		return Created{}, fmt.Errorf("re-encode monitor body: %w", err)
	}
	p := c.Principal
	id := ids.New(ids.Monitor)
	var m Monitor
	// An Idempotency-Key is the scoring call's, kept apart from POST /v1/scores's keys; the alert
	// joins the fingerprint, and the saved answer is this route's.
	var created Created
	c.Body, c.MonitorID, c.Endpoint = rest, id, "monitors"
	c.Also = map[string]int{"score_drop_points": points, "grade_notches": notches}
	c.Render = func(score []byte) ([]byte, error) {
		created.Monitor, created.Score = m, score
		return httpx.Marshal(CreatedView{View: NewView(m), Decision: score})
	}
	c.Within = func(ctx context.Context, tx *gorm.DB, d scores.Decision, req scoring.Request) error {
		if err := s.admit(ctx, tx, p, req.Company.ID); err != nil {
			return err
		}
		data, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("encode monitor data: %w", err)
		}
		now := d.CreatedAt
		m = Monitor{ID: id, TenantID: p.TenantID, Environment: p.Environment, CompanyID: req.Company.ID,
			CompanyName: req.Company.Name, Request: string(data), ScoreDropPoints: points, GradeNotches: notches,
			Status: StatusActive, AlertState: AlertOK, LastDecisionID: d.ID, Score: d.Score, PD12m: d.PD12m,
			Grade: d.Grade, Recommendation: d.Recommendation, Language: d.Language, Metadata: d.Metadata,
			LastEvaluatedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&m).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return problem.New(problem.Conflict, "%s is already monitored; nothing was charged", req.Company.ID)
			}
			return fmt.Errorf("insert monitor: %w", err)
		}
		ch := p.Change("monitor.created", "monitor", m.ID)
		ch.After = map[string]any{"company_id": m.CompanyID, "score_drop_points": points, "grade_notches": notches}
		return audit.Record(ctx, tx, ch, now)
	}
	ans, err := s.scores.Score(ctx, c)
	if err != nil {
		return Created{}, err
	}
	created.Body, created.Replayed = ans.Body, ans.Replayed
	return created, nil
}

// admit checks, under the tenant's lock, that the company is not monitored yet and that the
// tenant may monitor one more.
func (s *Service) admit(ctx context.Context, tx *gorm.DB, p keys.Principal, companyID string) error {
	if err := database.LockName(ctx, tx, "monitors:"+p.TenantID); err != nil {
		return err
	}
	var existing Monitor
	err := tx.Where("tenant_id = ? AND environment = ? AND company_id = ? AND deleted_at IS NULL", p.TenantID, p.Environment, companyID).
		Limit(1).Find(&existing).Error
	if err != nil {
		return fmt.Errorf("find monitor of %s: %w", companyID, err)
	}
	if existing.ID != "" {
		return problem.New(problem.Conflict, "%s is already monitored by %s; nothing was charged", companyID, existing.ID)
	}
	var n int64
	if err := tx.Model(&Monitor{}).Where("tenant_id = ? AND environment = ? AND deleted_at IS NULL", p.TenantID, p.Environment).
		Count(&n).Error; err != nil {
		return fmt.Errorf("count monitors: %w", err)
	}
	limit := int64(MaxMonitors)
	if p.Environment == keys.Live {
		var status tenants.Status
		if err := tx.Raw("SELECT status FROM tenants WHERE id = ?", p.TenantID).Row().Scan(&status); err != nil {
			return fmt.Errorf("read tenant %s: %w", p.TenantID, err)
		}
		if status == tenants.StatusTrial {
			limit = TrialMonitors
		}
	}
	if n >= limit {
		during := ""
		if limit == TrialMonitors {
			during = " during the trial"
		}
		return problem.New(problem.Conflict, "this tenant already monitors %d companies, the most it may%s; delete a monitor first; nothing was charged",
			n, during)
	}
	return nil
}
