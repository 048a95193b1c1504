// Package scores is the scoring call: the chain of checks in front of the
// scoring core (rate limit, idempotency, sandbox catalog, consent, quota),
// the core itself (in-process or remote), and the one transaction that
// spends the credit and writes the immutable decision record, the usage
// event and the outbox rows together, or nothing at all. It also serves the
// decision records back (GET /v1/scores).
package scores

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/scoring"
)

// Scorer is the scoring core as the scoring call uses it.
type Scorer interface {
	Evaluate(ctx context.Context, req *scoring.Request, opt scoring.Options) (scoring.Result, error)
}

// Local runs the engine in this process.
type Local struct{ Engine *scoring.Engine }

// Evaluate scores req in-process.
func (l Local) Evaluate(ctx context.Context, req *scoring.Request, opt scoring.Options) (scoring.Result, error) {
	if err := ctx.Err(); err != nil {
		return scoring.Result{}, err
	}
	return l.Engine.Evaluate(req, opt)
}

// Catalog is the sandbox's fictitious companies.
type Catalog interface {
	// Lookup returns the full request of a catalog company.
	Lookup(companyID string) (scoring.Request, bool)
	// EvaluationDate is the fixed date sandbox calls are evaluated at, so
	// that their answers never drift.
	EvaluationDate() time.Time
}

// Decision is the immutable record of one scoring call.
type Decision struct {
	ID             string `gorm:"primaryKey"`
	TenantID       string
	Environment    string
	KeyID          string
	RequestID      string
	CompanyID      string
	ConsentID      *string
	ModelVersion   string
	Score          int
	PD12m          float64 `gorm:"column:pd_12m"`
	Grade          string
	Recommendation string
	Input          string
	InputSHA256    string `gorm:"column:input_sha256"`
	Output         string
	LatencyUS      int64 `gorm:"column:latency_us"`
	// AsOf is the evaluation date the engine used (the sandbox uses a fixed one).
	AsOf      time.Time
	CreatedAt time.Time
	// Language is the language of the texts (en, pt or fr); empty on records made before it was
	// kept.
	Language string
	// Metadata are the client's pairs, JSON text (internal/metadata).
	Metadata string
	// MonitorID is the monitor a decision was made for (its first evaluation or a re-score);
	// PreviousDecisionID the monitor's decision it follows; Cause what made it (monitor_created,
	// data_added, daily_sweep, simulated).
	MonitorID          *string
	PreviousDecisionID *string
	Cause              *string
}

// CompanyRef names the company scored.
type CompanyRef struct {
	ID     string `json:"id"`
	IDType string `json:"id_type,omitempty"`
	Name   string `json:"name,omitempty"`
}

// scoreHead is what a score shows before its scoring result, in the answer and in the record.
type scoreHead struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Environment string            `json:"environment"`
	CreatedAt   time.Time         `json:"created_at"`
	Company     CompanyRef        `json:"company"`
	Metadata    metadata.Metadata `json:"metadata"`
}

// ScoreView is the answer of POST /v1/scores.
type ScoreView struct {
	scoreHead
	scoring.Result
	CreditsRemaining *int64 `json:"credits_remaining"`
}

// DecisionView is a decision record as GET /v1/scores/{id} shows it.
type DecisionView struct {
	scoreHead
	scoring.Result
	KeyID       string    `json:"key_id"`
	RequestID   string    `json:"request_id"`
	ConsentID   *string   `json:"consent_id"`
	LatencyMS   float64   `json:"latency_ms"`
	AsOf        time.Time `json:"evaluated_as_of"`
	InputSHA256 string    `json:"input_sha256"`
	// Input is the request as scored: always on GET /v1/scores/{id}, in lists with expand[]=input.
	Input json.RawMessage `json:"input,omitempty"`
}
