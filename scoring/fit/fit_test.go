package fit

import (
	"math"
	"testing"
)

func TestAUCCountsTiesAsHalf(t *testing.T) {
	tests := []struct {
		score, y []float64
		want     float64
	}{
		{[]float64{0.1, 0.2, 0.3, 0.4}, []float64{0, 0, 1, 1}, 1},
		{[]float64{0.4, 0.3, 0.2, 0.1}, []float64{0, 0, 1, 1}, 0},
		{[]float64{0.5, 0.5, 0.5, 0.5}, []float64{0, 1, 0, 1}, 0.5},
		{[]float64{0.1, 0.3, 0.2, 0.4}, []float64{0, 0, 1, 1}, 0.75},
	}
	for _, tt := range tests {
		if got := AUC(tt.score, tt.y); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("AUC(%v, %v) = %v, want %v", tt.score, tt.y, got, tt.want)
		}
	}
}

func TestPAVMakesAShapeMonotoneWithLeastChange(t *testing.T) {
	got := pav([]float64{1, 3, 2, 4}, []float64{1, 1, 1, 1}, +1)
	want := []float64{1, 2.5, 2.5, 4}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("pav up = %v, want %v", got, want)
		}
	}
	got = pav([]float64{1, 3, 2}, []float64{3, 1, 1}, -1)
	want = []float64{1.6, 1.6, 1.6} // (1·3 + 3·1 + 2·1) / 5: all three pool
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("pav down = %v, want %v", got, want)
		}
	}
}

func TestQuantileEdgesAscendAndIgnoreMissing(t *testing.T) {
	v := []float64{math.NaN()}
	for i := 0; i < 1000; i++ {
		v = append(v, float64(i%100))
	}
	e := quantileEdges(v, 10)
	if len(e) != 9 {
		t.Fatalf("%d edges %v, want 9", len(e), e)
	}
	for i := 1; i < len(e); i++ {
		if !(e[i] > e[i-1]) {
			t.Fatalf("edges %v are not ascending", e)
		}
	}
}

func TestFoldsAreStratified(t *testing.T) {
	y := make([]float64, 1000)
	for i := 0; i < 100; i++ {
		y[i] = 1
	}
	fold := Folds(y, 5, 1)
	var pos [5]int
	for i, f := range fold {
		if y[i] == 1 {
			pos[f]++
		}
	}
	for f, n := range pos {
		if n != 20 {
			t.Errorf("fold %d holds %d defaults, want 20", f, n)
		}
	}
}
