package fit

import (
	"math"
	"sort"
	"strconv"
)

// quantileEdges returns at most maxBins−1 ascending cut points splitting the present values of
// one feature into bins of about equal count. A cut sits halfway between two neighbouring
// distinct values, rounded to three significant digits so that the model file stays readable and
// bins do not hinge on the last digit of a ratio.
func quantileEdges(values []float64, maxBins int) []float64 {
	v := make([]float64, 0, len(values))
	for _, x := range values {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) < 2 {
		return nil
	}
	sort.Float64s(v)
	var edges []float64
	for k := 1; k < maxBins; k++ {
		i := k * len(v) / maxBins
		if i <= 0 || i >= len(v) || v[i] == v[i-1] {
			continue
		}
		e := round3(v[i-1] + (v[i]-v[i-1])/2)
		if e <= v[i-1] || e > v[i] {
			e = v[i-1] + (v[i]-v[i-1])/2 // rounding crossed a value: keep the exact midpoint
		}
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

func round3(x float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
	if err != nil {
		return x
	}
	return r
}
