package fit

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
)

// ReportFolds and ReportSeed fix the cross-validation of the report.
const (
	ReportFolds = 5
	ReportSeed  = 7
)

// ExtraSeeds are further shuffles for the repeated cross-validation of the report.
var ExtraSeeds = []uint64{11, 23, 42}

// Report measures the model and its baselines on the training rows and writes a Markdown
// report: in-sample and stratified cross-validated AUC, Gini and Brier score, calibration tables,
// and the engine's own pd_12m on the same requests.
func Report(w io.Writer, reqs []scoring.Request, y []float64, cfg Config, asOf time.Time) error {
	x := make([]scoring.FeatureVector, len(reqs))
	for i := range reqs {
		x[i] = scoring.StatementFeatures(reqs[i].Financials)
	}
	m, err := Fit(x, y, cfg)
	if err != nil {
		return err
	}
	inEBM := make([]float64, len(y))
	for i := range x {
		inEBM[i] = sigmoid(m.LogOdds(&x[i]))
	}
	lg := FitLogistic(x, y, 1)
	inLog := make([]float64, len(y))
	for i := range x {
		inLog[i] = lg.Predict(&x[i])
	}
	fold := Folds(y, ReportFolds, ReportSeed)
	cvEBM, aucEBM, err := CrossValidate(x, y, fold, ReportFolds, EBMTrainer(cfg))
	if err != nil {
		return err
	}
	cvLog, aucLog, err := CrossValidate(x, y, fold, ReportFolds, LogisticTrainer(1))
	if err != nil {
		return err
	}
	z2 := make([]float64, len(y))
	oScore := make([]float64, len(y))
	oProb := make([]float64, len(y))
	for i := range reqs {
		z2[i] = -AltmanZ2(reqs[i].Financials)
		oScore[i] = OhlsonO(reqs[i].Financials)
		oProb[i] = sigmoid(oScore[i])
	}
	zFold, oFold := foldAUCs(z2, y, fold), foldAUCs(oScore, y, fold)

	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	defaults := 0
	for _, v := range y {
		defaults += int(v)
	}
	p("Rows: %d firm-years, %d bankrupt within five years (%.2f%%). Stratified %d-fold cross-validation, shuffle seed %d.\n\n",
		len(y), defaults, 100*float64(defaults)/float64(len(y)), ReportFolds, ReportSeed)
	p("| model | in-sample AUC | CV AUC (mean ± sd of folds) | CV Gini | in-sample Brier | CV Brier |\n|---|---|---|---|---|---|\n")
	row := func(name string, in, oof, folds []float64, brier bool) {
		mean, sd := meanStd(folds)
		b1, b2 := "n/a", "n/a"
		if brier {
			b1, b2 = fmt.Sprintf("%.4f", Brier(in, y)), fmt.Sprintf("%.4f", Brier(oof, y))
		}
		p("| %s | %.4f | %.4f ± %.4f | %.4f | %s | %s |\n", name, AUC(in, y), mean, sd, 2*mean-1, b1, b2)
	}
	row("boosted additive model (shipped, "+m.Version+")", inEBM, cvEBM, aucEBM, true)
	row("logistic scorecard, same features", inLog, cvLog, aucLog, true)
	row("Altman Z'' (published weights, no fit)", z2, z2, zFold, false)
	row("Ohlson O-score (published weights, no two-year terms, no fit)", oProb, oProb, oFold, true)
	p("\nBrier scores are on the training label (bankrupt within five years). Altman Z'' is a score, not a probability.\n\n")

	p("Per fold AUC:\n\n| fold | boosted additive | logistic | difference |\n|---|---|---|---|\n")
	diffs := make([]float64, ReportFolds)
	for f := 0; f < ReportFolds; f++ {
		diffs[f] = aucEBM[f] - aucLog[f]
		p("| %d | %.4f | %.4f | %+.4f |\n", f+1, aucEBM[f], aucLog[f], diffs[f])
	}
	dm, ds := meanStd(diffs)
	_, sdEBM := meanStd(aucEBM)
	p("\nMean gain over the logistic scorecard: %+.4f AUC (sd of the paired differences %.4f; fold-to-fold sd of the boosted model %.4f).\n\n", dm, ds, sdEBM)

	p("The same cross-validation with other shuffles, so that no single split flatters the model:\n\n")
	p("| shuffle seed | boosted additive CV AUC | logistic CV AUC | mean paired gain | sd of paired gains | folds won |\n|---|---|---|---|---|---|\n")
	for _, seed := range ExtraSeeds {
		fs := Folds(y, ReportFolds, seed)
		_, ae, err := CrossValidate(x, y, fs, ReportFolds, EBMTrainer(cfg))
		if err != nil {
			return err
		}
		_, al, err := CrossValidate(x, y, fs, ReportFolds, LogisticTrainer(1))
		if err != nil {
			return err
		}
		me, se := meanStd(ae)
		ml, sl := meanStd(al)
		d := make([]float64, ReportFolds)
		won := 0
		for f := range d {
			d[f] = ae[f] - al[f]
			if d[f] > 0 {
				won++
			}
		}
		md, sd := meanStd(d)
		p("| %d | %.4f ± %.4f | %.4f ± %.4f | %+.4f | %.4f | %d of %d |\n", seed, me, se, ml, sl, md, sd, won, ReportFolds)
	}
	p("\n")

	calib := func(title string, pr []float64) {
		p("%s\n\n| band | rows | PD range | mean PD | observed | defaults |\n|---|---|---|---|---|---|\n", title)
		for b, r := range Calibration(pr, y, 10) {
			p("| %d | %d | %.4f–%.4f | %.4f | %.4f | %d |\n", b+1, r.Rows, r.MinPD, r.MaxPD, r.MeanPD, r.Observed, r.Defaulted)
		}
		p("\n")
	}
	calib("Calibration of the boosted model, cross-validated (out-of-fold) predictions, deciles:", cvEBM)
	calib("Calibration of the boosted model, in-sample:", inEBM)
	calib("Calibration of the logistic scorecard, cross-validated:", cvLog)

	eng, err := scoring.New()
	if err != nil {
		return err
	}
	pd := make([]float64, len(reqs))
	type band struct{ rows, bankrupt int }
	grades := map[string]*band{}
	recs := map[string]*band{}
	for i := range reqs {
		res, err := eng.Evaluate(&reqs[i], scoring.Options{AsOf: asOf})
		if err != nil {
			return fmt.Errorf("evaluate row %d: %w", i, err)
		}
		pd[i] = res.PD12m
		for _, b := range []*band{bandOf(grades, res.Grade), bandOf(recs, res.Recommendation)} {
			b.rows++
			b.bankrupt += int(y[i])
		}
	}
	p("The engine itself (`Engine.Evaluate`, shipped model, as of %s, so every statement is stale and carries the 0.40 cap) on the same %d requests: AUC of pd_12m %.4f, mean pd_12m %.4f.\n\n",
		asOf.Format("2006-01-02"), len(reqs), AUC(pd, y), mean(pd))
	p("| grade or recommendation | rows | bankrupt within five years | share bankrupt |\n|---|---|---|---|\n")
	for _, g := range scoring.Grades {
		if b, ok := grades[g.Name]; ok {
			p("| %s | %d | %d | %.3f |\n", g.Name, b.rows, b.bankrupt, float64(b.bankrupt)/float64(b.rows))
		}
	}
	for _, r := range []string{scoring.Accept, scoring.RequestGuarantees, scoring.Decline} {
		if b, ok := recs[r]; ok {
			p("| %s | %d | %d | %.3f |\n", r, b.rows, b.bankrupt, float64(b.bankrupt)/float64(b.rows))
		}
	}
	p("\n")

	p("Shape importance (mean absolute contribution to the log-odds on the training rows):\n\n| feature | monotone | importance |\n|---|---|---|\n")
	type imp struct {
		name string
		mono int
		v    float64
	}
	var imps []imp
	for j, s := range m.Shapes {
		var t float64
		for i := range x {
			t += math.Abs(s.Contribution(x[i][j]))
		}
		imps = append(imps, imp{s.Feature, s.Monotone, t / float64(len(x))})
	}
	sort.SliceStable(imps, func(a, b int) bool { return imps[a].v > imps[b].v })
	for _, v := range imps {
		p("| %s | %+d | %.3f |\n", v.name, v.mono, v.v)
	}
	return nil
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

func mean(v []float64) float64 {
	m, _ := meanStd(v)
	return m
}
