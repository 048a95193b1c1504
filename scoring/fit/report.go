package fit

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
)

// ReportFolds is the number of folds of every cross-validation of the report; ReportSeeds are
// its shuffles, the first being the calibration's own.
const ReportFolds = CalibrationFolds

// ReportSeeds are the shuffles of the report's cross-validations.
var ReportSeeds = []uint64{CalibrationSeed, 11, 23, 42}

// Report measures the shipped model (the embedded one, which a build picks up only once the
// model file is written) and its baselines on the training rows, and writes the Markdown report
// of scoring/README.md: cross-validated discrimination, calibration before and after
// recalibration, the master scale against observed rates, the engine's own answers and the
// economic properties.
func Report(w io.Writer, reqs []scoring.Request, y []float64, cfg Config, asOf time.Time) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	x, off := Inputs(reqs)
	defaults := int(mean(y)*float64(len(y)) + 0.5)
	p("Rows: %d firm-years, %d bankrupt within five years (%.2f%%), rebuilt with `polish.ToRequest` and rounded to 1,000 PLN. Stratified %d-fold cross-validation.\n\n",
		len(y), defaults, 100*mean(y), ReportFolds)

	// Discrimination, on every shuffle.
	p("| shuffle seed | boosted additive model: CV AUC (mean ± sd of folds) | pooled out-of-fold AUC | logistic scorecard, same features | Altman Z'' | Ohlson O |\n|---|---|---|---|---|---|\n")
	var firstOOF []float64
	var firstFold []int
	for k, seed := range ReportSeeds {
		fold := Folds(y, ReportFolds, seed)
		oof, err := OutOfFold(x, y, off, fold, ReportFolds, cfg)
		if err != nil {
			return err
		}
		lg, err := logisticOOF(x, y, fold)
		if err != nil {
			return err
		}
		z2, o := make([]float64, len(y)), make([]float64, len(y))
		for i := range reqs {
			z2[i], o[i] = -AltmanZ2(reqs[i].Financials), OhlsonO(reqs[i].Financials)
		}
		me, se := meanStd(foldAUCs(oof, y, fold))
		ml, sl := meanStd(foldAUCs(lg, y, fold))
		mz, sz := meanStd(foldAUCs(z2, y, fold))
		mo, so := meanStd(foldAUCs(o, y, fold))
		p("| %d | %.4f ± %.4f | %.4f | %.4f ± %.4f | %.4f ± %.4f | %.4f ± %.4f |\n", seed, me, se, AUC(oof, y), ml, sl, mz, sz, mo, so)
		if k == 0 {
			firstOOF, firstFold = oof, fold
		}
	}
	p("\nAltman Z'' and Ohlson O use their published weights (no fit, no two-year terms); the logistic scorecard is a ridge regression on the same rules-2 features, winsorised, signed-log and standardised, with missing indicators.\n\n")

	// Calibration.
	a, b := Calibrate(firstOOF, y)
	spread := "too spread: the raw model is over-confident"
	if b > 1 {
		spread = "too flat: the raw model is under-confident"
	}
	p("**Calibration** (seed %d). A logistic recalibration of the out-of-fold log-odds on the training label gives slope %.3f and intercept %+.3f (log-odds %s). Fitted on the out-of-fold predictions of four folds and applied to the fifth, in turn, the recalibrated predictions have these slopes (target 0.9–1.1):\n\n", CalibrationSeed, b, a, spread)
	p("| shuffle seed | slope before | slope after recalibration | intercept after | grades strictly ordered by observed rate |\n|---|---|---|---|---|\n")
	for _, seed := range ReportSeeds {
		fold := Folds(y, ReportFolds, seed)
		oof := firstOOF
		if seed != CalibrationSeed {
			var err error
			if oof, err = OutOfFold(x, y, off, fold, ReportFolds, cfg); err != nil {
				return err
			}
		}
		_, before := Calibrate(oof, y)
		recal := crossFitted(oof, y, fold)
		ia, after := Calibrate(recal, y)
		sa, sb := Calibrate(oof, y)
		ordered := validate(oof, y, fold, AnchorIntercept(oof, sa, sb)-sa).Ordered
		p("| %d | %.3f | %.3f | %+.3f | %v |\n", seed, before, after, ia, ordered)
	}

	// Master scale against observed rates.
	anchorB := AnchorIntercept(firstOOF, a, b) - a
	pd := make([]float64, len(y))
	for i, z := range crossFitted(firstOOF, y, firstFold) {
		pd[i] = math.Max(sigmoid(z+anchorB), scoring.PDFloor)
	}
	p("\n**Master scale.** 12-month PD from the cross-fitted calibration moved to the anchor (%.1f%%), each out-of-fold firm placed in its grade; observed is the share that went bankrupt within five years:\n\n", 100*Anchor)
	p("| grade | label | 12-month PD band | representative PD | firms | bankrupt | observed five-year rate |\n|---|---|---|---|---|---|---|\n")
	lo, prevRate, ordered := 0.0, -1.0, true
	for _, g := range MasterScale {
		n, k := 0, 0
		for i := range pd {
			if pd[i] > lo && pd[i] <= g.MaxPD {
				n++
				k += int(y[i])
			}
		}
		rate := float64(k) / math.Max(float64(n), 1)
		if !(rate > prevRate) {
			ordered = false
		}
		prevRate = rate
		p("| %s | %s | %.2f%%–%.2f%% | %.2f%% | %d | %d | %.2f%% |\n", g.Name, g.Label, 100*lo, 100*g.MaxPD, 100*g.PD, n, k, 100*rate)
		lo = g.MaxPD
	}
	p("| D | default | open collective proceeding | 100%% | | | |\n\nObserved rates strictly increase from grade to grade: %v.\n\n", ordered)

	// The engine itself.
	eng, err := scoring.New()
	if err != nil {
		return err
	}
	epd := make([]float64, len(reqs))
	type band struct{ rows, bankrupt int }
	grades, recs := map[string]*band{}, map[string]*band{}
	for i := range reqs {
		res, err := eng.Evaluate(&reqs[i], scoring.Options{AsOf: asOf})
		if err != nil {
			return fmt.Errorf("evaluate row %d: %w", i, err)
		}
		epd[i] = res.PD12m
		for _, bd := range []*band{bandOf(grades, res.Grade), bandOf(recs, res.Recommendation)} {
			bd.rows++
			bd.bankrupt += int(y[i])
		}
	}
	p("**The engine** (`Engine.Evaluate`, model %s, as of %s, so every statement is stale and carries the 0.40 cap) on the same %d requests, in sample: AUC of pd_12m %.4f, mean pd_12m %.4f.\n\n",
		eng.Version(), asOf.Format(time.DateOnly), len(reqs), AUC(epd, y), mean(epd))
	p("| grade or recommendation | firms | bankrupt within five years | share bankrupt |\n|---|---|---|---|\n")
	for _, g := range eng.Grades() {
		if bd, ok := grades[g.Name]; ok {
			p("| %s | %d | %d | %.3f |\n", g.Name, bd.rows, bd.bankrupt, float64(bd.bankrupt)/float64(bd.rows))
		}
	}
	for _, r := range []string{scoring.Accept, scoring.RequestGuarantees, scoring.Decline} {
		if bd, ok := recs[r]; ok {
			p("| %s | %d | %d | %.3f |\n", r, bd.rows, bd.bankrupt, float64(bd.bankrupt)/float64(bd.rows))
		}
	}

	// Properties.
	p("\n**Economic properties and manipulations** on every training row (the tests also check the sandbox catalog and 3,000 fuzzed firms):\n\n| change to one firm | firms it applies to | firms whose PD it lowers | allowed |\n|---|---|---|---|\n")
	for _, pr := range append(append([]Property(nil), Properties...), Manipulations...) {
		applied, violated, _, err := pr.Violations(eng, reqs, asOf)
		if err != nil {
			return err
		}
		p("| %s | %d | %d | %.0f%% |\n", pr.Name, applied, violated, 100*pr.MaxShare)
	}

	// Shapes.
	m := eng.Model()
	p("\n**Shape importance** (mean absolute contribution to the log-odds on the training rows, before the calibration slope):\n\n| feature | reason code | direction | importance | missing costs |\n|---|---|---|---|---|\n")
	type imp struct {
		s *scoring.Shape
		v float64
	}
	var imps []imp
	for j := range m.Shapes {
		s := &m.Shapes[j]
		var t float64
		for i := range x {
			t += math.Abs(s.Contribution(x[i][m.Feature(j)]))
		}
		imps = append(imps, imp{s, t / float64(len(x))})
	}
	sort.SliceStable(imps, func(a, b int) bool { return imps[a].v > imps[b].v })
	for _, v := range imps {
		dir := "risk up when higher"
		if v.s.Monotone < 0 {
			dir = "risk down when higher"
		}
		p("| %s | %s | %s | %.3f | %+.3f |\n", v.s.Feature, v.s.Group, dir, v.v, v.s.Missing)
	}
	return nil
}

// crossFitted recalibrates out-of-fold log-odds fold by fold: each fold with the calibration
// fitted on the other folds' out-of-fold log-odds.
func crossFitted(oof, y []float64, fold []int) []float64 {
	out := make([]float64, len(oof))
	for f := 0; f < ReportFolds; f++ {
		var zo, yo []float64
		for i := range y {
			if fold[i] != f {
				zo, yo = append(zo, oof[i]), append(yo, y[i])
			}
		}
		a, b := Calibrate(zo, yo)
		for i := range y {
			if fold[i] == f {
				out[i] = a + b*oof[i]
			}
		}
	}
	return out
}

// logisticOOF cross-validates the logistic scorecard on the rules-2 features of Spec only.
func logisticOOF(x []scoring.FeatureVector, y []float64, fold []int) ([]float64, error) {
	xs := make([]scoring.FeatureVector, len(x))
	for i := range x {
		for j := range xs[i] {
			xs[i][j] = math.NaN()
		}
		for _, fs := range Spec {
			xs[i][fs.Feature] = x[i][fs.Feature]
		}
	}
	oof, _, err := CrossValidate(xs, y, fold, ReportFolds, LogisticTrainer(1))
	return oof, err
}

func bandOf[T any](m map[string]*T, k string) *T {
	if m[k] == nil {
		m[k] = new(T)
	}
	return m[k]
}

func foldAUCs(score, y []float64, fold []int) []float64 {
	out := make([]float64, ReportFolds)
	for f := range out {
		var s, t []float64
		for i := range y {
			if fold[i] == f {
				s = append(s, score[i])
				t = append(t, y[i])
			}
		}
		out[f] = AUC(s, t)
	}
	return out
}
