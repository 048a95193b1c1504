package scoring

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Engine evaluates requests with one model. It is immutable and safe for concurrent use.
type Engine struct {
	model *Model
	shift float64 // logit(BaseRate12m) − logit(training base rate)
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

// New loads the model file embedded in the binary.
func New() (*Engine, error) {
	m, err := loadModel(ModelName)
	if err != nil {
		return nil, fmt.Errorf("new engine: %w", err)
	}
	return &Engine{model: m, shift: logit(BaseRate12m) - logit(m.TrainingBaseRate)}, nil
}

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
	ev := evaluation{req: req, asOf: opt.AsOf, lang: pickLanguage(opt.Language)}
	ev.statements(e.model)
	ev.payments()
	ev.bank()
	ev.company()
	ev.legal()
	return e.decide(&ev), nil
}

// decide turns the collected terms into PD, score, grade, recommendation, limit and texts.
func (e *Engine) decide(ev *evaluation) Result {
	z := ev.base + e.shift
	for i := 0; i < ev.n; i++ {
		z += ev.terms[i].logOdds
	}
	pd := math.Min(math.Max(sigmoid(z), PDFloor), pdCeiling)
	if ev.recentIncident && pd < incidentCapPD {
		// The grade cap is part of the incident's effect: add it to the incident's term.
		ev.addTo(codeLegalPaymentIncident, logit(incidentCapPD)-logit(pd))
		pd = incidentCapPD
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
	res.Grade = GradeOf(res.PD12m)
	lim := ev.limit(res.PD12m)
	res.CreditLimit = lim.money
	switch {
	case res.PD12m > DeclinePD:
		res.Recommendation = Decline
		res.CreditLimit.Amount = 0
	case res.PD12m > GuaranteePD || lim.short || lim.money.Amount == 0 || ev.latest < 0:
		// Without a statement the engine cannot check capacity: at best it asks for guarantees.
		res.Recommendation = RequestGuarantees
	default:
		res.Recommendation = Accept
	}
	res.Reasons = ev.reasons()
	res.DataQuality = ev.quality()
	res.Justification = ev.justify(&res)
	return res
}
