package fit

import (
	"math/rand/v2"

	"github.com/rocketfin/rocketfin/scoring"
)

// Folds assigns each row to one of k folds, stratified by class, after shuffling each class
// with a fixed seed (the data file is sorted by class).
func Folds(y []float64, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0xf01d))
	fold := make([]int, len(y))
	for _, class := range []float64{0, 1} {
		var idx []int
		for i, v := range y {
			if v == class {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for n, i := range idx {
			fold[i] = n % k
		}
	}
	return fold
}

// Predictor turns a feature vector into a probability of the training label.
type Predictor func(x *scoring.FeatureVector) float64

// Trainer fits a predictor on rows.
type Trainer func(x []scoring.FeatureVector, y []float64) (Predictor, error)

// CrossValidate fits on all folds but one and predicts the held-out fold, for every fold. It
// returns the out-of-fold predictions and the AUC of each fold.
func CrossValidate(x []scoring.FeatureVector, y []float64, fold []int, k int, train Trainer) ([]float64, []float64, error) {
	oof := make([]float64, len(y))
	aucs := make([]float64, k)
	for f := 0; f < k; f++ {
		var tx []scoring.FeatureVector
		var ty []float64
		for i := range y {
			if fold[i] != f {
				tx = append(tx, x[i])
				ty = append(ty, y[i])
			}
		}
		pred, err := train(tx, ty)
		if err != nil {
			return nil, nil, err
		}
		var fp, fy []float64
		for i := range y {
			if fold[i] == f {
				oof[i] = pred(&x[i])
				fp = append(fp, oof[i])
				fy = append(fy, y[i])
			}
		}
		aucs[f] = AUC(fp, fy)
	}
	return oof, aucs, nil
}

// LogisticTrainer fits the baseline scorecard.
func LogisticTrainer(l2 float64) Trainer {
	return func(x []scoring.FeatureVector, y []float64) (Predictor, error) {
		m := FitLogistic(x, y, l2)
		return m.Predict, nil
	}
}
