// Package fit trains RocketFin's statement model: a boosted generalised additive model in the
// manner of InterpretML's Explainable Boosting Machine (cyclic boosting of single-feature trees
// with bagging, collapsed into one piecewise-constant shape per feature, made monotone where
// economics demand), and the baselines it is measured against. Given the same rows and Config it
// produces the same model file, byte for byte.
package fit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/rocketfin/rocketfin/scoring"
)

// Config holds the hyper-parameters of the boosted additive model.
type Config struct {
	Bins         int     // at most this many bins a feature, by quantiles
	Bags         int     // subsamples boosted independently and averaged
	Subsample    float64 // share of rows in each bag, stratified by class
	Rounds       int     // cycles over all features
	LearningRate float64
	MaxLeaves    int     // leaves of each single-feature tree (plus one for missing)
	MinLeafRows  int     // rows a leaf must hold
	Lambda       float64 // L2 penalty on leaf values, in hessian units
	Seed         uint64
	Workers      int // bags boosted at once; does not change the result
}

// DefaultConfig is the configuration of the shipped model.
var DefaultConfig = Config{
	Bins: 32, Bags: 8, Subsample: 0.8, Rounds: 150, LearningRate: 0.03, MaxLeaves: 3,
	MinLeafRows: 40, Lambda: 1, Seed: 20161, Workers: 2,
}

// Data names the training file in the model.
const Data = "UCI Polish companies bankruptcy data, 1year.arff (Tomczak 2016, CC BY 4.0, doi 10.24432/C5F600), rows rebuilt into requests with the polish.ToRequest mapping, amounts rounded to 1,000 PLN"

// FeatureSpec is one feature of the statement model: which feature, its monotone direction
// (+1: a higher value never lowers the PD; −1: never raises it) and the reason code it is
// reported under.
type FeatureSpec struct {
	Feature  scoring.Feature
	Monotone int
	Group    string
}

// Spec is the statement model of rules 2: every feature has the direction a credit analyst
// would defend, and none measures the consistency of the data (that goes to data_quality).
var Spec = []FeatureSpec{
	{scoring.FLeveragePrudent, +1, "FIN_LEVERAGE"},
	{scoring.FCurrentLiabToAssets, +1, "FIN_CURRENT_LIABILITIES"},
	{scoring.FCurrentLiabDays, +1, "FIN_CURRENT_LIABILITIES"},
	{scoring.FCurrentRatio, -1, "FIN_LIQUIDITY"},
	{scoring.FQuickRatio, -1, "FIN_LIQUIDITY"},
	{scoring.FCashRatio, -1, "FIN_LIQUIDITY"},
	{scoring.FCashToFunding, -1, "FIN_LIQUIDITY"},
	{scoring.FWorkingCapitalToFunding, -1, "FIN_LIQUIDITY"},
	{scoring.FEBITMargin, -1, "FIN_PROFITABILITY"},
	{scoring.FNetMargin, -1, "FIN_PROFITABILITY"},
	{scoring.FEBITDAMargin, -1, "FIN_PROFITABILITY"},
	{scoring.FRetainedToNonCashFunding, -1, "FIN_RETAINED_EARNINGS"},
	{scoring.FInterestBurden, +1, "FIN_INTEREST"},
	{scoring.FInterestToRevenue, +1, "FIN_INTEREST"},
	{scoring.FInterestCoverFloored, -1, "FIN_INTEREST"},
	{scoring.FSizeAssets, -1, "FIN_SIZE"},
	{scoring.FSizeRevenue, -1, "FIN_SIZE"},
	{scoring.FReceivableDays, +1, "FIN_WORKING_CAPITAL_CYCLE"},
	{scoring.FInventoryDays, +1, "FIN_WORKING_CAPITAL_CYCLE"},
	{scoring.FRevenueGrowth, -1, "FIN_REVENUE_GROWTH"},
	{scoring.FTurnoverNonCashFunding, -1, "FIN_ASSET_TURNOVER"},
}

// Fit trains the statement model on feature vectors, 0/1 labels (1 = bankrupt within five
// years) and fixed per-row offsets (the rules-2 loss term), one shape per feature of spec. Every
// shape is monotone in its declared direction, centred on the training population (0 is the
// average firm) and its missing value is never better than its riskiest bin, also during
// boosting, so the other features adapt to that rule. The calibration and master scale are
// added by Build.
func Fit(x []scoring.FeatureVector, y, offset []float64, spec []FeatureSpec, cfg Config) (*scoring.Model, error) {
	if len(x) != len(y) || len(x) == 0 || len(offset) != len(y) {
		return nil, fmt.Errorf("fit: %d feature rows for %d labels and %d offsets", len(x), len(y), len(offset))
	}
	var defaults int
	for _, v := range y {
		if v == 1 {
			defaults++
		}
	}
	if defaults == 0 || defaults == len(y) {
		return nil, fmt.Errorf("fit: labels hold a single class")
	}
	rate := float64(defaults) / float64(len(y))
	d := binMatrix(x, spec, cfg.Bins)
	d.worstMissing = true
	rows := make([]int, len(y))
	for i := range rows {
		rows[i] = i
	}
	raw := boostBags(d, y, offset, rows, cfg, logit(rate))

	m := &scoring.Model{
		Version:          scoring.ModelName,
		Rules:            2,
		Method:           describe(cfg),
		Data:             Data,
		RatesVersion:     scoring.RatesVersion,
		TrainingRows:     len(y),
		TrainingDefaults: defaults,
		TrainingBaseRate: roundTo(rate, 6),
	}
	for j, fs := range spec {
		nb := len(d.edges[j]) + 1
		counts := make([]float64, nb+1)
		for _, b := range d.bins[j] {
			counts[b]++
		}
		scores := pav(raw[j][:nb], counts[:nb], fs.Monotone)
		missing := raw[j][nb]
		// Centre the shape on the training population: 0 is the average firm.
		var mean float64
		for b := 0; b < nb; b++ {
			mean += scores[b] * counts[b]
		}
		mean = (mean + missing*counts[nb]) / float64(len(y))
		worst := math.Inf(-1)
		for b := range scores {
			scores[b] = roundTo(scores[b]-mean, 5)
			worst = math.Max(worst, scores[b])
		}
		// A missing value is never better than the riskiest bin.
		missing = math.Max(roundTo(missing-mean, 5), worst)
		m.Shapes = append(m.Shapes, scoring.Shape{
			Feature: scoring.Features[fs.Feature].Name, Group: fs.Group, Monotone: fs.Monotone,
			Edges: d.edges[j], Scores: scores, Missing: missing,
		})
	}
	m.Calibration = &scoring.Calibration{Slope: 1, AnchorPD12m: rate}
	m.Grades = MasterScale
	dec := DefaultDecision
	m.Decision = &dec
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	m.Intercept = roundTo(fitIntercept(m, x, y, offset), 6)
	return m, nil
}

func describe(c Config) string {
	return fmt.Sprintf("boosted additive model (EBM-style): %d bags of %.0f%% stratified subsamples, %d cyclic rounds over single-feature trees of %d leaves, each shape projected after every tree onto its monotone direction (PAV) with its missing value kept at least as risky as its riskiest bin; learning rate %g, L2 %g, at least %d rows a leaf, %d quantile bins, seed %d; the loss term as a fixed offset; shapes averaged over bags and centred on the training population, intercept refitted",
		c.Bags, 100*c.Subsample, c.Rounds, c.MaxLeaves, c.LearningRate, c.Lambda, c.MinLeafRows, c.Bins, c.Seed)
}

// pav returns the weighted isotonic regression of v: non-decreasing for dir +1, non-increasing
// for dir −1, v itself for 0 (pool adjacent violators).
func pav(v, w []float64, dir int) []float64 {
	out := make([]float64, len(v))
	if dir == 0 {
		copy(out, v)
		return out
	}
	s := float64(dir)
	type block struct {
		sum, w float64
		n      int
	}
	var st []block
	for i := range v {
		wi := math.Max(w[i], 1e-9)
		st = append(st, block{s * v[i] * wi, wi, 1})
		for len(st) > 1 && st[len(st)-2].sum/st[len(st)-2].w > st[len(st)-1].sum/st[len(st)-1].w {
			a, b := st[len(st)-2], st[len(st)-1]
			st = append(st[:len(st)-2], block{a.sum + b.sum, a.w + b.w, a.n + b.n})
		}
	}
	i := 0
	for _, b := range st {
		for k := 0; k < b.n; k++ {
			out[i] = s * b.sum / b.w
			i++
		}
	}
	return out
}

// fitIntercept solves for the intercept that makes the mean predicted probability equal the
// observed default rate (Newton's method on one variable).
func fitIntercept(m *scoring.Model, x []scoring.FeatureVector, y, offset []float64) float64 {
	z := make([]float64, len(x))
	m.Intercept = 0
	var sy float64
	for i := range x {
		z[i] = m.LogOdds(&x[i]) + offset[i]
		sy += y[i]
	}
	return solveIntercept(z, y, logit(sy/float64(len(y))))
}

// solveIntercept returns b such that the mean of sigmoid(z + b) equals the mean of y.
func solveIntercept(z, y []float64, b float64) float64 {
	return solveMean(z, mean(y), b)
}

// solveMean returns b such that the mean of sigmoid(z + b) equals target (Newton's method from
// the starting point b).
func solveMean(z []float64, target, b float64) float64 {
	sy := target * float64(len(z))
	for it := 0; it < 50; it++ {
		var g, h float64
		for i := range z {
			p := sigmoid(z[i] + b)
			g += p
			h += p * (1 - p)
		}
		step := (g - sy) / h
		b -= step
		if math.Abs(step) < 1e-12 {
			break
		}
	}
	return b
}

// roundTo rounds x to a number of decimals through its decimal text, so the stored number is
// exactly the one the file prints.
func roundTo(x float64, decimals int) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', decimals, 64), 64)
	if err != nil || r == 0 {
		return 0 // also no negative zero in the file
	}
	return r
}

// Marshal encodes a model file: indented JSON with a final newline. encoding/json writes every
// float in its shortest round-trip form, so equal models give equal bytes.
func Marshal(m *scoring.Model) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	return buf.Bytes(), nil
}
