package scoring

// Result holds the scoring fields of the POST /v1/scores response.
type Result struct {
	Score          int         `json:"score"`
	PD12m          float64     `json:"pd_12m"`
	Grade          string      `json:"grade"`
	Recommendation string      `json:"recommendation"`
	CreditLimit    Money       `json:"credit_limit"`
	Reasons        []Reason    `json:"reasons"`
	Justification  string      `json:"justification"`
	ModelVersion   string      `json:"model_version"`
	DataQuality    DataQuality `json:"data_quality"`
}

// Money is an amount in minor units of its ISO 4217 currency (cents for EUR, yen for JPY, fils
// for KWD).
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

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
