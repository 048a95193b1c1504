package fit

import (
	"fmt"
	"math"

	"github.com/rocketfin/rocketfin/scoring"
)

// Anchor is the 12-month default rate the PD is calibrated to, and AnchorSource where it comes
// from: the yearly rate of business failures (collective proceedings opened) in France.
const (
	Anchor       = 0.013
	AnchorSource = "France, opening of collective proceedings (redressement or liquidation judiciaire) per company and year: 1 company in 77 (1.3%) in 2015, Coface, Panorama France, February 2016; 1 in 72 in 2017 (Coface, January 2017); INSEE measured 1.6% in 2004"
)

// MasterScale is the master scale of rules 2: seven non-default grades on the 12-month PD, each
// band twice as wide as the one before in odds (the first reaches down to the PD floor), plus D
// for default (an open collective proceeding). Each grade's representative PD is the geometric
// middle of its band. Seven, not more: the training file's 271 defaults cannot tell finer grades
// apart at the safe end (with eight, two neighbours' observed rates came within 0.01 point).
var MasterScale = []scoring.Grade{
	{Name: "R1", MaxPD: 0.0030, PD: 0.0012, Label: "minimal risk"},
	{Name: "R2", MaxPD: 0.0060, PD: 0.0042, Label: "low risk"},
	{Name: "R3", MaxPD: 0.0120, PD: 0.0085, Label: "moderate risk"},
	{Name: "R4", MaxPD: 0.0240, PD: 0.0170, Label: "elevated risk"},
	{Name: "R5", MaxPD: 0.0500, PD: 0.0346, Label: "high risk"},
	{Name: "R6", MaxPD: 0.1200, PD: 0.0775, Label: "very high risk"},
	{Name: "R7", MaxPD: 0.9999, PD: 0.2500, Label: "severe risk"},
}

// DefaultDecision accepts grades R1–R4, asks for guarantees in R5 and R6 and declines R7; a
// recent payment incident floors the PD at the bottom of R4.
var DefaultDecision = scoring.Decision{GuaranteePD: 0.0240, DeclinePD: 0.1200, IncidentFloorPD: 0.0121}

// CalibrationFolds and CalibrationSeed fix the cross-validation whose out-of-fold predictions
// the calibration is fitted on.
const (
	CalibrationFolds = 5
	CalibrationSeed  = 7
)

// Inputs computes what the model is fitted on for each request: the rules-2 feature vector and
// the fixed loss term.
func Inputs(reqs []scoring.Request) ([]scoring.FeatureVector, []float64) {
	x := make([]scoring.FeatureVector, len(reqs))
	off := make([]float64, len(reqs))
	for i := range reqs {
		x[i] = scoring.ModelFeatures(reqs[i].Financials, 2)
		off[i] = scoring.LossTerm(reqs[i].Financials)
	}
	return x, off
}

// OutOfFold fits the statement model on all folds but one and returns, for every row, the
// log-odds (offset included) of the model that did not see it.
func OutOfFold(x []scoring.FeatureVector, y, off []float64, fold []int, k int, cfg Config) ([]float64, error) {
	oof := make([]float64, len(y))
	for f := 0; f < k; f++ {
		var tx []scoring.FeatureVector
		var ty, to []float64
		for i := range y {
			if fold[i] != f {
				tx, ty, to = append(tx, x[i]), append(ty, y[i]), append(to, off[i])
			}
		}
		m, err := Fit(tx, ty, to, Spec, cfg)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		for i := range y {
			if fold[i] == f {
				oof[i] = m.LogOdds(&x[i]) + off[i]
			}
		}
	}
	return oof, nil
}

// Build fits the shipped rules-2 model: the statement model on every row, its calibration
// (intercept and slope) on the out-of-fold log-odds of a stratified cross-validation, the
// anchor, the master scale and the decision thresholds.
func Build(reqs []scoring.Request, y []float64, cfg Config) (*scoring.Model, error) {
	x, off := Inputs(reqs)
	oof, err := OutOfFold(x, y, off, Folds(y, CalibrationFolds, CalibrationSeed), CalibrationFolds, cfg)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	a, b := Calibrate(oof, y)
	m, err := Fit(x, y, off, Spec, cfg)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	m.Calibration = &scoring.Calibration{
		Intercept: roundTo(AnchorIntercept(oof, a, b), 6), Slope: roundTo(b, 6), LabelIntercept: roundTo(a, 6),
		AnchorPD12m: Anchor, AnchorSource: AnchorSource,
	}
	m.Grades = MasterScale
	d := DefaultDecision
	m.Decision = &d
	m.Validation = validate(oof, y, Folds(y, CalibrationFolds, CalibrationSeed), m.Calibration.Intercept-a)
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return m, nil
}

// validate measures out-of-fold log-odds: fold AUCs, calibration slopes before and after a
// cross-fitted recalibration, and the master scale against observed rates once the recalibrated
// log-odds are moved to the anchor by shift.
func validate(oof, y []float64, fold []int, shift float64) *scoring.Validation {
	aucMean, aucSD := meanStd(foldAUCs(oof, y, fold))
	_, before := Calibrate(oof, y)
	recal := crossFitted(oof, y, fold)
	_, after := Calibrate(recal, y)
	v := &scoring.Validation{
		Folds: CalibrationFolds, ShuffleSeed: CalibrationSeed, AUC: roundTo(aucMean, 4), AUCSD: roundTo(aucSD, 4),
		SlopeBefore: roundTo(before, 3), SlopeAfter: roundTo(after, 3), Ordered: true,
	}
	lo, prev := 0.0, -1.0
	for _, g := range MasterScale {
		c := scoring.GradeCheck{Grade: g.Name}
		for i, z := range recal {
			if pd := math.Max(sigmoid(z+shift), scoring.PDFloor); pd > lo && pd <= g.MaxPD {
				c.Firms++
				c.Bankrupt += int(y[i])
			}
		}
		rate := float64(c.Bankrupt) / math.Max(float64(c.Firms), 1)
		c.Observed = roundTo(rate, 4)
		if !(rate > prev) {
			v.Ordered = false
		}
		prev, lo = rate, g.MaxPD
		v.Grades = append(v.Grades, c)
	}
	return v
}

// Calibrate fits logit P(y = 1) = a + b·z by maximum likelihood (Newton's method): b is the
// calibration slope of the log-odds z (1 when they are neither too spread nor too flat).
func Calibrate(z, y []float64) (a, b float64) {
	b = 1
	for it := 0; it < 100; it++ {
		var ga, gb, haa, hab, hbb float64
		for i := range z {
			p := sigmoid(a + b*z[i])
			r := p - y[i]
			w := p * (1 - p)
			ga += r
			gb += r * z[i]
			haa += w
			hab += w * z[i]
			hbb += w * z[i] * z[i]
		}
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a, b = a-da, b-db
		if math.Abs(da)+math.Abs(db) < 1e-12 {
			break
		}
	}
	return a, b
}

// AnchorIntercept returns the intercept that, with slope b, makes the mean 12-month PD of the
// training population (its out-of-fold log-odds z) equal Anchor: the calibrated log-odds a + b·z
// of the training label moved by one constant, a prior shift to the published rate.
func AnchorIntercept(z []float64, a, b float64) float64 {
	zz := make([]float64, len(z))
	for i := range z {
		zz[i] = a + b*z[i]
	}
	return a + solveMean(zz, Anchor, logit(Anchor)-logit(mean(sigmoidAll(zz))))
}

func sigmoidAll(z []float64) []float64 {
	p := make([]float64, len(z))
	for i := range z {
		p[i] = sigmoid(z[i])
	}
	return p
}
