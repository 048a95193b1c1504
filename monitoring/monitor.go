// Package monitoring keeps companies under watch: a monitor holds a company's data as of now (the
// scoring request the engine re-scores), its alert thresholds and its last decision. New data
// (POST /v1/monitors/{id}/data) re-scores it at once; a daily sweep re-scores what time alone
// changes and pauses the monitors of tenants that may no longer monitor. Each re-score writes a
// decision linked to the previous one and emits events (webhooks): score.updated,
// score.dropped (by the monitor's thresholds, or a worse recommendation),
// company.critical_event (a collective proceeding or payment incident appears) and
// monitor.paused, in the same transaction. The first evaluation is a scoring call, charged as
// one; re-scores are not charged as analyses.
package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/jobs"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/webhooks"
)

// The states of a monitor.
const (
	StatusActive = "active"
	StatusPaused = "paused"
)

// The alert states: ok, or alerting since a drop or a critical event, until acknowledged.
const (
	AlertOK       = "ok"
	AlertAlerting = "alerting"
)

// Default thresholds of an alert.
const (
	DefaultDropPoints   = 50
	DefaultGradeNotches = 2
)

// TrialMonitors is the most companies a trial tenant may monitor (live); MaxMonitors the most any
// tenant may monitor in one environment.
const (
	TrialMonitors = 5
	MaxMonitors   = 100_000
)

// Monitor is a company under watch.
type Monitor struct {
	ID              string `gorm:"primaryKey"`
	TenantID        string
	Environment     keys.Environment
	CompanyID       string
	CompanyName     string
	Request         string // scoring.Request JSON: the data as of now
	ScoreDropPoints int
	GradeNotches    int
	Status          string
	PausedReason    *string
	AlertState      string
	LastDecisionID  string
	Score           int
	PD12m           float64 `gorm:"column:pd_12m"`
	Grade           string
	Recommendation  string
	Language        string
	Metadata        string
	LastEvaluatedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DeletedAt       *time.Time
}

// TableName is the monitors' table.
func (Monitor) TableName() string { return "monitors" }

// request decodes the monitor's data.
func (m Monitor) request() (scoring.Request, error) {
	var r scoring.Request
	if err := json.Unmarshal([]byte(m.Request), &r); err != nil {
		return r, fmt.Errorf("read data of %s: %w", m.ID, err)
	}
	return r, nil
}

// Options wire the service.
type Options struct {
	DB       *gorm.DB
	Clock    clock.Clock
	Scores   *scores.Service
	Webhooks *webhooks.Service
	Queue    *jobs.Queue
	// Grades are the master scale, best first (the current model's), for grade notches.
	Grades []string
	// Meter counts monitored company days (nil: not counted, in tests of other things).
	Meter  *metering.Meter
	Logger *slog.Logger
}

// Service keeps monitors.
type Service struct {
	db       *gorm.DB
	clock    clock.Clock
	scores   *scores.Service
	webhooks *webhooks.Service
	queue    *jobs.Queue
	grades   []string
	meter    *metering.Meter
	log      *slog.Logger
}

// New returns the service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	grades := append(slices.Clone(o.Grades), scoring.DefaultGrade)
	return &Service{db: o.DB, clock: o.Clock, scores: o.Scores, webhooks: o.Webhooks, queue: o.Queue, grades: grades, meter: o.Meter, log: o.Logger}
}

// notches is how many grades worse b is than a (negative when better); 0 when either is unknown.
func (s *Service) notches(a, b string) int {
	i, j := slices.Index(s.grades, a), slices.Index(s.grades, b)
	if i < 0 || j < 0 {
		return 0
	}
	return j - i
}

// recommendationRank orders recommendations from best to worst.
func recommendationRank(r string) int {
	return slices.Index([]string{scoring.Accept, scoring.RequestGuarantees, scoring.Decline}, r)
}

// get reads one live monitor of the caller, locked for update inside tx.
func (s *Service) get(ctx context.Context, tx *gorm.DB, p keys.Principal, id string) (Monitor, error) {
	var m Monitor
	if !ids.Valid(ids.Monitor, id) {
		return m, problem.New(problem.NotFound, "no monitor %s", id)
	}
	q := tx.WithContext(ctx)
	if tx != s.db {
		q = database.ForUpdate(q)
	}
	err := q.Where("tenant_id = ? AND environment = ? AND id = ? AND deleted_at IS NULL", p.TenantID, p.Environment, id).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, problem.New(problem.NotFound, "no monitor %s", id)
	}
	if err != nil {
		return m, fmt.Errorf("get monitor %s: %w", id, err)
	}
	return m, nil
}

// Get returns one of the caller's monitors.
func (s *Service) Get(ctx context.Context, p keys.Principal, id string) (Monitor, error) {
	return s.get(ctx, s.db, p, id)
}

// Filter narrows a list of monitors.
type Filter struct {
	Grade, Recommendation, AlertState, Status string
}

// List returns the caller's monitors, newest first.
func (s *Service) List(ctx context.Context, p keys.Principal, page httpx.Page, f Filter) ([]Monitor, error) {
	q := s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ? AND deleted_at IS NULL", p.TenantID, p.Environment)
	for col, v := range map[string]string{"grade": f.Grade, "recommendation": f.Recommendation, "alert_state": f.AlertState,
		"status": f.Status, "company_id": page.CompanyID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	var out []Monitor
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	return out, nil
}
