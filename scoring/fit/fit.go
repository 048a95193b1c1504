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
const Data = "UCI Polish companies bankruptcy data, 1year.arff (Tomczak 2016, CC BY 4.0, doi 10.24432/C5F600), rows rebuilt into requests with the dataset README mapping"

// Fit trains the statement model on feature vectors and 0/1 labels (1 = bankrupt within five
// years).
func Fit(x []scoring.FeatureVector, y []float64, cfg Config) (*scoring.Model, error) {
	if len(x) != len(y) || len(x) == 0 {
		return nil, fmt.Errorf("fit: %d feature rows for %d labels", len(x), len(y))
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
	d := binMatrix(x, cfg.Bins)
	rows := make([]int, len(y))
	for i := range rows {
		rows[i] = i
	}
	raw := boostBags(d, y, rows, cfg, logit(rate))

	m := &scoring.Model{
		Version:          scoring.ModelName,
		Method:           describe(cfg),
		Data:             Data,
		RatesVersion:     scoring.RatesVersion,
		TrainingRows:     len(y),
		TrainingDefaults: defaults,
		TrainingBaseRate: roundTo(rate, 6),
	}
	for j, info := range scoring.Features {
		nb := len(d.edges[j]) + 1
		counts := make([]float64, nb+1)
		for _, b := range d.bins[j] {
			counts[b]++
		}
		scores := pav(raw[j][:nb], counts[:nb], info.Monotone)
		missing := raw[j][nb]
		// Centre the shape on the training population: 0 is the average firm.
		var mean float64
		for b := 0; b < nb; b++ {
			mean += scores[b] * counts[b]
		}
		mean = (mean + missing*counts[nb]) / float64(len(y))
		for b := range scores {
			scores[b] = roundTo(scores[b]-mean, 5)
		}
		// A missing value is never better than the average firm: it can only cost points.
		missing = roundTo(math.Max(missing-mean, 0), 5)
		m.Shapes = append(m.Shapes, scoring.Shape{
			Feature: info.Name, Monotone: info.Monotone, Edges: d.edges[j], Scores: scores, Missing: missing,
		})
	}
	m.Intercept = roundTo(fitIntercept(m, x, y), 6)
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	return m, nil
}

func describe(c Config) string {
	return fmt.Sprintf("boosted additive model (EBM-style): %d bags of %.0f%% stratified subsamples, %d cyclic rounds over single-feature trees of %d leaves (monotone features projected by PAV after every tree), learning rate %g, L2 %g, at least %d rows a leaf, %d quantile bins, seed %d; shapes averaged over bags, centred, missing floored at the average, intercept refitted",
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
func fitIntercept(m *scoring.Model, x []scoring.FeatureVector, y []float64) float64 {
	z := make([]float64, len(x))
	m.Intercept = 0
	var sy float64
	for i := range x {
		z[i] = m.LogOdds(&x[i])
		sy += y[i]
	}
	b := logit(sy / float64(len(y)))
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
