package fit

import (
	"math"
	"sort"
)

// AUC is the area under the ROC curve of scores against 0/1 labels (higher score = more likely
// 1), with ties counted as one half: the Mann–Whitney statistic with mid-ranks.
func AUC(score, y []float64) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankSumPos, nPos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSumPos += mid
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(len(score)) - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSumPos - nPos*(nPos+1)/2) / (nPos * nNeg)
}

// Brier is the mean squared error of probabilities against 0/1 labels.
func Brier(p, y []float64) float64 {
	var s float64
	for i := range p {
		d := p[i] - y[i]
		s += d * d
	}
	return s / float64(len(p))
}

// CalibrationRow is one band of a calibration table.
type CalibrationRow struct {
	Rows      int
	MeanPD    float64
	Observed  float64
	MinPD     float64
	MaxPD     float64
	Defaulted int
}

// Calibration sorts rows by predicted probability and cuts them into bands of equal count,
// comparing the mean prediction with the observed default rate of each band.
func Calibration(p, y []float64, bands int) []CalibrationRow {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	out := make([]CalibrationRow, 0, bands)
	for b := 0; b < bands; b++ {
		lo, hi := b*len(idx)/bands, (b+1)*len(idx)/bands
		if hi <= lo {
			continue
		}
		r := CalibrationRow{Rows: hi - lo, MinPD: p[idx[lo]], MaxPD: p[idx[hi-1]]}
		var sp float64
		for _, i := range idx[lo:hi] {
			sp += p[i]
			if y[i] == 1 {
				r.Defaulted++
			}
		}
		r.MeanPD = sp / float64(r.Rows)
		r.Observed = float64(r.Defaulted) / float64(r.Rows)
		out = append(out, r)
	}
	return out
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		std = math.Sqrt(std / float64(len(v)-1))
	}
	return mean, std
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

func mean(v []float64) float64 {
	m, _ := meanStd(v)
	return m
}
