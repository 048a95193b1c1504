package fit

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoring/polish"
)

// trainingData is the Polish file, relative to this package.
var trainingData = filepath.Join("..", "polish", "testdata", "1year.arff")

// TestRefitReproducesTheShippedModel refits the current model from the data file (its
// cross-validated calibration included) and demands the embedded model file byte for byte: the
// shipped model is exactly what the code in this repository computes.
func TestRefitReproducesTheShippedModel(t *testing.T) {
	d, err := polish.ReadFile(trainingData)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(d.Requests(), d.Labels(), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := scoring.ModelFile(scoring.ModelName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("refit gives %d bytes that differ from the shipped %s.json (%d bytes); run `go run ./cmd/fitmodel` and commit the file if the change is intended",
			len(got), scoring.ModelName, len(want))
	}
}

// TestEngineRanksTheTrainingRows scores every row through the public engine, as an outside check
// would: each request must be answered, and pd_12m must rank the bankrupt firms first.
func TestEngineRanksTheTrainingRows(t *testing.T) {
	d, err := polish.ReadFile(trainingData)
	if err != nil {
		t.Fatal(err)
	}
	e, err := scoring.New()
	if err != nil {
		t.Fatal(err)
	}
	reqs := d.Requests()
	pd := make([]float64, len(reqs))
	for i := range reqs {
		r, err := e.Evaluate(&reqs[i], scoring.Options{AsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatalf("row %d (%s): %v", i, reqs[i].Company.ID, err)
		}
		pd[i] = r.PD12m
	}
	if auc := AUC(pd, d.Labels()); auc < 0.80 {
		t.Errorf("in-sample AUC of pd_12m %.4f, want at least 0.80", auc)
	}
}
