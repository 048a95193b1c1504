package scoring

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Engine evaluates requests with one model. It is immutable and safe for concurrent use.
type Engine struct {
	model    *Model
	base     float64 // the log-odds of the reference company, before any term
	slope    float64 // calibration slope applied to the statement shapes and offsets
	grades   []Grade
	decision Decision
}

// Options are the per-call settings of Evaluate.
type Options struct {
	// Language of the reason texts and justification: "en" (default), "pt" or "fr", or an
	// Accept-Language header value from which the best supported language is picked.
	Language string
	// AsOf is the evaluation date for the age of statements, bank months, events and the
	// company. It is required: the same request, date and model always give the same result.
	AsOf time.Time
}

// ErrNoDate is returned when Options.AsOf is zero.
var ErrNoDate = errors.New("scoring: options.AsOf is required")

// New loads the current model, ModelName, embedded in the binary.
func New() (*Engine, error) { return NewVersion(ModelName) }

// NewVersion loads an embedded model by its version, for instance to replay a decision with the
// model that made it.
func NewVersion(version string) (*Engine, error) {
	m, err := loadModel(version)
	if err != nil {
		return nil, fmt.Errorf("new engine: %w", err)
	}
	e := &Engine{model: m, slope: 1, grades: LegacyGrades, decision: legacyDecision}
	if m.Rules == 1 {
		e.base = m.Intercept + logit(BaseRate12m) - logit(m.TrainingBaseRate)
		return e, nil
	}
	c := m.Calibration
	e.slope, e.grades, e.decision = c.Slope, m.Grades, *m.Decision
	e.base = c.Intercept + c.Slope*m.Intercept
	return e, nil
}

// Grade returns the grade of a 12-month PD on the engine's master scale.
func (e *Engine) Grade(pd float64) string { return gradeOf(e.grades, pd) }

// Grades returns the engine's master scale, best grade first, D not included. The caller must
// not change it.
func (e *Engine) Grades() []Grade { return e.grades }

// Model returns the engine's model. The caller must not change it.
func (e *Engine) Model() *Model { return e.model }

// Version is the model_version of every result: the name of the model file.
func (e *Engine) Version() string { return e.model.Version }

// Evaluate scores a request. The error is a ValidationErrors for malformed input, ErrNoDate
// without an evaluation date; anything merely odd is scored and reported in DataQuality.
func (e *Engine) Evaluate(req *Request, opt Options) (Result, error) {
	if opt.AsOf.IsZero() {
		return Result{}, ErrNoDate
	}
	if err := req.Validate(); err != nil {
		return Result{}, fmt.Errorf("evaluate: %w", err)
	}
	ev := e.collect(req, opt.AsOf, pickLanguage(opt.Language))
	res := e.decide(&ev)
	if e.model.Rules >= 2 && res.Recommendation != Accept && !ev.openProceeding {
		res.PathToAccept = e.pathToAccept(req, opt.AsOf)
	}
	return res, nil
}

// collect gathers the terms of a validated request.
func (e *Engine) collect(req *Request, asOf time.Time, lang language) evaluation {
	ev := evaluation{req: req, asOf: asOf, lang: lang, rules: e.model.Rules}
	if ev.rules == 1 {
		ev.statements(e.model)
	} else {
		ev.statementsRules2(e)
	}
	ev.payments()
	ev.bank()
	ev.company()
	ev.legal()
	return ev
}

// decide turns the collected terms into PD, score, grade, recommendation, limit and texts.
func (e *Engine) decide(ev *evaluation) Result {
	res := e.outcome(ev)
	if ev.rules == 1 {
		res.Reasons = ev.reasons()
	} else {
		res.Reasons, res.Strengths, res.ExplainedShare = ev.reasonsRules2()
	}
	res.DataQuality = ev.quality()
	res.Justification = ev.justify(&res)
	return res
}

// outcome computes PD, score, grade, limit and recommendation, without reasons or texts.
func (e *Engine) outcome(ev *evaluation) Result {
	z := e.base
	for i := 0; i < ev.n; i++ {
		z += ev.terms[i].logOdds
	}
	pd := math.Min(math.Max(sigmoid(z), PDFloor), pdCeiling)
	if floor := e.decision.IncidentFloorPD; ev.recentIncident && pd < floor {
		// The floor is part of the incident's effect: add it to the incident's term.
		ev.addTo(codeLegalPaymentIncident, logit(floor)-logit(pd))
		pd = floor
	}
	pd = math.Round(pd*1e6) / 1e6
	res := Result{ModelVersion: e.model.Version, PD12m: pd}
	if ev.openProceeding {
		res.Score = 0
		ev.add(codeLegalCollectiveProceeding, float64(ScoreOf(pd))/pointsPerLogit)
		res.PD12m = 1
	} else {
		res.Score = ScoreOf(pd)
	}
	res.Grade = gradeOf(e.grades, res.PD12m)
	lim := ev.limit(res.PD12m, e.decision.DeclinePD)
	res.CreditLimit = lim.money
	switch {
	case res.PD12m > e.decision.DeclinePD:
		res.Recommendation = Decline
		res.CreditLimit.Amount = 0
	case res.PD12m > e.decision.GuaranteePD || lim.short || lim.money.Amount == 0 || ev.latest < 0:
		// Without a statement the engine cannot check capacity: at best it asks for guarantees.
		res.Recommendation = RequestGuarantees
	default:
		res.Recommendation = Accept
	}
	e.product(ev, &res, lim)
	return res
}
