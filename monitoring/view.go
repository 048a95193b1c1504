package monitoring

import (
	"time"

	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/scoring"
)

// View is a monitor as the API shows it.
type View struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	Environment     keys.Environment  `json:"environment"`
	Company         CompanyView       `json:"company"`
	Status          string            `json:"status"`
	PausedReason    *string           `json:"paused_reason"`
	AlertState      string            `json:"alert_state"`
	Alert           AlertView         `json:"alert"`
	LastDecisionID  string            `json:"last_decision_id"`
	Score           int               `json:"score"`
	PD12m           float64           `json:"pd_12m"`
	Grade           string            `json:"grade"`
	Recommendation  string            `json:"recommendation"`
	LastEvaluatedAt time.Time         `json:"last_evaluated_at"`
	Metadata        metadata.Metadata `json:"metadata"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	Deleted         bool              `json:"deleted,omitempty"`
}

// CompanyView names the company watched.
type CompanyView struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// AlertView is a monitor's thresholds.
type AlertView struct {
	ScoreDropPoints int `json:"score_drop_points"`
	GradeNotches    int `json:"grade_notches"`
}

// NewView shows m.
func NewView(m Monitor) View {
	return View{ID: m.ID, Object: "monitor", Environment: m.Environment, Company: CompanyView{ID: m.CompanyID, Name: m.CompanyName},
		Status: m.Status, PausedReason: m.PausedReason, AlertState: m.AlertState,
		Alert:          AlertView{ScoreDropPoints: m.ScoreDropPoints, GradeNotches: m.GradeNotches},
		LastDecisionID: m.LastDecisionID, Score: m.Score, PD12m: m.PD12m, Grade: m.Grade, Recommendation: m.Recommendation,
		LastEvaluatedAt: m.LastEvaluatedAt.UTC(), Metadata: metadata.Decode(m.Metadata), CreatedAt: m.CreatedAt.UTC(),
		UpdatedAt: m.UpdatedAt.UTC(), Deleted: m.DeletedAt != nil}
}

// DecisionRef sums up one decision of a monitor.
type DecisionRef struct {
	ID             string    `json:"id"`
	Score          int       `json:"score"`
	PD12m          float64   `json:"pd_12m"`
	Grade          string    `json:"grade"`
	Recommendation string    `json:"recommendation"`
	Cause          string    `json:"cause,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// ScoreChange is the data of score.updated and score.dropped: the monitor, its new decision and
// the one before.
type ScoreChange struct {
	Monitor  View         `json:"monitor"`
	Decision DecisionRef  `json:"decision"`
	Previous *DecisionRef `json:"previous_decision"`
	// Reason says which thresholds a drop crossed (score.dropped only).
	Reason string `json:"reason,omitempty"`
	// BankDropped says the bank data was left out: no consent in force.
	BankDropped bool `json:"bank_data_left_out,omitempty"`
}

// CriticalChange is the data of company.critical_event.
type CriticalChange struct {
	Monitor  View               `json:"monitor"`
	Event    scoring.LegalEvent `json:"event"`
	Decision DecisionRef        `json:"decision"`
}

// Paused is the data of monitor.paused.
type Paused struct {
	Monitor View   `json:"monitor"`
	Reason  string `json:"reason"`
}
