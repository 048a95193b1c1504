package fit

import (
	"math"
	"sort"

	"github.com/rocketfin/rocketfin/scoring"
)

// Logistic is the baseline scorecard: a ridge logistic regression on the same statement
// features, each winsorised at its 1st and 99th percentiles, passed through a signed logarithm
// and standardised, with missing values set to the median plus a missing indicator.
type Logistic struct {
	lo, hi, median, mean, sd []float64
	hasMissing               []bool
	w                        []float64 // intercept first
}

func slog(x float64) float64 {
	if x < 0 {
		return -math.Log1p(-x)
	}
	return math.Log1p(x)
}

// FitLogistic fits the baseline by Newton–Raphson (iteratively reweighted least squares).
func FitLogistic(x []scoring.FeatureVector, y []float64, l2 float64) *Logistic {
	nf := int(scoring.NumFeatures)
	m := &Logistic{lo: make([]float64, nf), hi: make([]float64, nf), median: make([]float64, nf),
		mean: make([]float64, nf), sd: make([]float64, nf), hasMissing: make([]bool, nf)}
	for j := 0; j < nf; j++ {
		var v []float64
		for i := range x {
			if !math.IsNaN(x[i][j]) {
				v = append(v, x[i][j])
			} else {
				m.hasMissing[j] = true
			}
		}
		sort.Float64s(v)
		if len(v) == 0 {
			v = []float64{0}
		}
		q := func(p float64) float64 { return v[int(p*float64(len(v)-1))] }
		m.lo[j], m.hi[j], m.median[j] = q(0.01), q(0.99), q(0.5)
		m.sd[j] = 1
		var s, ss float64
		for i := range x {
			t := m.raw(x[i][j], j)
			s += t
			ss += t * t
		}
		m.mean[j] = s / float64(len(x))
		m.sd[j] = math.Sqrt(math.Max(ss/float64(len(x))-m.mean[j]*m.mean[j], 1e-12))
	}
	rows := make([][]float64, len(x))
	for i := range x {
		rows[i] = m.design(&x[i])
	}
	k := len(rows[0])
	m.w = make([]float64, k)
	for it := 0; it < 30; it++ {
		grad := make([]float64, k)
		hess := make([][]float64, k)
		for a := range hess {
			hess[a] = make([]float64, k)
		}
		for i, r := range rows {
			p := sigmoid(dot(m.w, r))
			for a := 0; a < k; a++ {
				grad[a] += (p - y[i]) * r[a]
				wa := p * (1 - p) * r[a]
				for b := 0; b <= a; b++ {
					hess[a][b] += wa * r[b]
				}
			}
		}
		for a := 1; a < k; a++ {
			grad[a] += l2 * m.w[a]
			hess[a][a] += l2
		}
		for a := 0; a < k; a++ {
			for b := a + 1; b < k; b++ {
				hess[a][b] = hess[b][a]
			}
		}
		step := solve(hess, grad)
		var norm float64
		for a := range step {
			m.w[a] -= step[a]
			norm += step[a] * step[a]
		}
		if norm < 1e-16 {
			break
		}
	}
	return m
}

func (m *Logistic) raw(v float64, j int) float64 {
	if math.IsNaN(v) {
		v = m.median[j]
	}
	return slog(math.Min(math.Max(v, m.lo[j]), m.hi[j]))
}

func (m *Logistic) design(x *scoring.FeatureVector) []float64 {
	r := []float64{1}
	for j := range x {
		r = append(r, (m.raw(x[j], j)-m.mean[j])/m.sd[j])
	}
	for j := range x {
		if m.hasMissing[j] {
			miss := 0.0
			if math.IsNaN(x[j]) {
				miss = 1
			}
			r = append(r, miss)
		}
	}
	return r
}

// Predict returns the probability of the training label.
func (m *Logistic) Predict(x *scoring.FeatureVector) float64 { return sigmoid(dot(m.w, m.design(x))) }

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// solve returns A⁻¹b by Gaussian elimination with partial pivoting (A is small and positive
// definite here).
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(append([]float64(nil), a[i]...), b[i])
	}
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		if m[c][c] == 0 {
			continue
		}
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := m[i][n]
		for k := i + 1; k < n; k++ {
			s -= m[i][k] * x[k]
		}
		if m[i][i] != 0 {
			x[i] = s / m[i][i]
		}
	}
	return x
}
