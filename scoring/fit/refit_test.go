package fit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoring/polish"
)

// trainingData is the Polish file, relative to this package: ../shared/data from the repository.
var trainingData = filepath.Join("..", "..", "..", "shared", "data", "polish-bankruptcy", "1year.arff")

// TestRefitReproducesTheShippedModel refits the statement model from the data file and demands
// the embedded model file byte for byte: the shipped model is exactly what the code in this
// repository computes.
func TestRefitReproducesTheShippedModel(t *testing.T) {
	if _, err := os.Stat(trainingData); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("training data %s is required in CI: %v", trainingData, err)
		}
		t.Skipf("training data %s not present, cannot refit: %v", trainingData, err)
	}
	d, err := polish.ReadFile(trainingData)
	if err != nil {
		t.Fatal(err)
	}
	reqs := d.Requests()
	x := make([]scoring.FeatureVector, len(reqs))
	for i := range reqs {
		x[i] = scoring.StatementFeatures(reqs[i].Financials)
	}
	m, err := Fit(x, d.Labels(), DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := scoring.ModelFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("refit gives %d bytes that differ from the shipped %s.json (%d bytes); run `go run ./cmd/fitmodel` and commit the file if the change is intended",
			len(got), scoring.ModelName, len(want))
	}
}
