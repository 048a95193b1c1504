package scoring

import (
	"fmt"
	"strconv"

	units "github.com/rocketfin/rocketfin/internal/money"
)

// Result holds the scoring fields of the POST /v1/scores response.
type Result struct {
	Score          int     `json:"score"`
	PD12m          float64 `json:"pd_12m"`
	Grade          string  `json:"grade"`
	Recommendation string  `json:"recommendation"`
	CreditLimit    Money   `json:"credit_limit"`
	// Product holds the terms of a partner operation when request.product names one.
	Product *ProductTerms `json:"product,omitempty"`
	Reasons []Reason      `json:"reasons"`
	// Strengths (rules 2) are up to three factors that lowered the risk, most helpful first.
	Strengths []Reason `json:"strengths,omitzero"`
	// ExplainedShare (rules 2) is the share of the score's total movement against the reference
	// company, in absolute points, that the reasons and strengths listed carry.
	ExplainedShare Share `json:"explained_share,omitzero"`
	// PathToAccept (rules 2), for request_guarantees and decline, is the smallest change in one or
	// two actionable inputs that reaches accept under the same model; absent when none does.
	PathToAccept  *PathToAccept `json:"path_to_accept,omitempty"`
	Justification string        `json:"justification"`
	ModelVersion  string        `json:"model_version"`
	DataQuality   DataQuality   `json:"data_quality"`
}

// Money is an amount in minor units of its ISO 4217 currency: RocketFin's one money type.
type Money = units.Money

// Reason is one principal reason for the result: a stable code, its signed impact in score points
// against the reference company (negative costs points) and a sentence in the language asked.
type Reason struct {
	Code   string `json:"code"`
	Impact int    `json:"impact"`
	Text   string `json:"text"`
}

// Recommendations.
const (
	Accept            = "accept"
	RequestGuarantees = "request_guarantees"
	Decline           = "decline"
)

// DataQuality says what was missing, stale or inconsistent and how the engine's handling of it
// moved the result. ImpactPoints is the total of the items' impacts: negative means the gaps cost
// points (the engine leans to caution), it is never used to improve a score.
type DataQuality struct {
	Completeness float64       `json:"completeness"`
	ImpactPoints int           `json:"impact_points"`
	Missing      []QualityItem `json:"missing"`
	Stale        []QualityItem `json:"stale"`
	Inconsistent []QualityItem `json:"inconsistent"`
}

// QualityItem is one data-quality finding with its effect on the score in points.
type QualityItem struct {
	Field        string `json:"field"`
	Message      string `json:"message"`
	ImpactPoints int    `json:"impact_points"`
}

// Share is a number between 0 and 1 that a result may leave out (Set false): rules-1 models give
// no explained share. It is a value, so that a result costs no allocation for it.
type Share struct {
	Value float64
	Set   bool
}

// IsZero reports whether the share is absent, so that `omitzero` leaves it out.
func (s Share) IsZero() bool { return !s.Set }

// MarshalJSON writes the share as a JSON number.
func (s Share) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, s.Value, 'g', -1, 64), nil
}

// UnmarshalJSON reads a JSON number (or null, for an absent share).
func (s *Share) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Share{}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("explained_share: %w", err)
	}
	*s = Share{Value: v, Set: true}
	return nil
}
