package scoring

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
)

// ModelName is the version of the shipped model: the name of its file in model/, without ".json".
const ModelName = "rf-ebm-1.0.0"

//go:embed model/*.json
var modelFiles embed.FS

// Model is the content of a model file: the statement module as one piecewise-constant shape
// function per feature, on the log-odds of default within five years (the training label).
type Model struct {
	Version          string  `json:"version"`
	Method           string  `json:"method"`
	Data             string  `json:"data"`
	RatesVersion     string  `json:"rates_version"`
	TrainingRows     int     `json:"training_rows"`
	TrainingDefaults int     `json:"training_defaults"`
	TrainingBaseRate float64 `json:"training_base_rate"`
	Intercept        float64 `json:"intercept"`
	Shapes           []Shape `json:"shapes"`
}

// Shape is one feature's contribution to the log-odds: Scores[i] for values in bin i, where bin 0
// holds x < Edges[0], bin i holds Edges[i-1] <= x < Edges[i] and the last bin x >= the last edge.
// Missing is the contribution of a missing value.
type Shape struct {
	Feature  string    `json:"feature"`
	Monotone int       `json:"monotone"`
	Edges    []float64 `json:"edges"`
	Scores   []float64 `json:"scores"`
	Missing  float64   `json:"missing"`
}

// Contribution returns the shape's log-odds term for x (NaN for missing).
func (s *Shape) Contribution(x float64) float64 {
	if math.IsNaN(x) {
		return s.Missing
	}
	return s.Scores[Bin(s.Edges, x)]
}

// Bin returns the index of the bin holding x (not NaN): the number of edges <= x.
func Bin(edges []float64, x float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Check verifies that a model matches this engine: one shape per statement feature in order,
// ascending edges, one score per bin, finite numbers and the declared monotone directions.
func (m *Model) Check() error {
	if len(m.Shapes) != int(NumFeatures) {
		return fmt.Errorf("model %s: %d shapes, want %d", m.Version, len(m.Shapes), NumFeatures)
	}
	if !(m.TrainingBaseRate > 0 && m.TrainingBaseRate < 1) || !isFinite(m.Intercept) {
		return fmt.Errorf("model %s: bad base rate or intercept", m.Version)
	}
	for i := range m.Shapes {
		s := &m.Shapes[i]
		f := Features[i]
		if s.Feature != f.Name || s.Monotone != f.Monotone {
			return fmt.Errorf("model %s: shape %d is %q (monotone %d), want %q (monotone %d)",
				m.Version, i, s.Feature, s.Monotone, f.Name, f.Monotone)
		}
		if len(s.Scores) != len(s.Edges)+1 || !isFinite(s.Missing) {
			return fmt.Errorf("model %s: shape %s: %d scores for %d edges", m.Version, s.Feature, len(s.Scores), len(s.Edges))
		}
		for j := range s.Edges {
			if !isFinite(s.Edges[j]) || (j > 0 && !(s.Edges[j] > s.Edges[j-1])) {
				return fmt.Errorf("model %s: shape %s: edges not finite and ascending", m.Version, s.Feature)
			}
		}
		for j := range s.Scores {
			if !isFinite(s.Scores[j]) {
				return fmt.Errorf("model %s: shape %s: score %d not finite", m.Version, s.Feature, j)
			}
			if j > 0 && float64(s.Monotone)*(s.Scores[j]-s.Scores[j-1]) < 0 {
				return fmt.Errorf("model %s: shape %s breaks its monotone constraint at bin %d", m.Version, s.Feature, j)
			}
		}
	}
	return nil
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func loadModel(name string) (*Model, error) {
	b, err := modelFiles.ReadFile("model/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", name, err)
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode model %s: %w", name, err)
	}
	if m.Version != name {
		return nil, fmt.Errorf("model file %s holds version %q", name, m.Version)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// ModelFile returns the bytes of the shipped model file, for the test that a refit reproduces it.
func ModelFile() ([]byte, error) {
	b, err := modelFiles.ReadFile("model/" + ModelName + ".json")
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", ModelName, err)
	}
	return b, nil
}

// LogOdds is the statement module's log-odds of default at the training horizon for a feature
// vector: the intercept plus every shape's contribution.
func (m *Model) LogOdds(x *FeatureVector) float64 {
	z := m.Intercept
	for i := range m.Shapes {
		z += m.Shapes[i].Contribution(x[i])
	}
	return z
}
