package scoring

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ModelName is the version of the current model, the one New loads: the name of its file in
// model/, without ".json". Every earlier model stays embedded (NewVersion loads one), so a stored
// decision can be replayed with the model that made it.
const ModelName = "rf-ebm-2.0.0"

//go:embed model/*.json
var modelFiles embed.FS

// Model is the content of a model file: the statement module as one piecewise-constant shape
// function per feature, on the log-odds of the training label (default within five years), and,
// from rules generation 2 on, its calibration and master scale.
type Model struct {
	Version          string  `json:"version"`
	Rules            int     `json:"rules,omitempty"` // the engine rules the model was fitted for; 0 means 1
	Method           string  `json:"method"`
	Data             string  `json:"data"`
	RatesVersion     string  `json:"rates_version"`
	TrainingRows     int     `json:"training_rows"`
	TrainingDefaults int     `json:"training_defaults"`
	TrainingBaseRate float64 `json:"training_base_rate"`
	Intercept        float64 `json:"intercept"`
	// Calibration maps the model's log-odds to the 12-month PD (rules 2).
	Calibration *Calibration `json:"calibration,omitempty"`
	// Grades is the master scale (rules 2); rules 1 models use LegacyGrades.
	Grades []Grade `json:"grades,omitempty"`
	// Decision holds the recommendation thresholds (rules 2); rules 1 models use legacyDecision.
	Decision *Decision `json:"decision,omitempty"`
	// Validation holds the cross-validated measures of the fit (rules 2).
	Validation *Validation `json:"validation,omitempty"`
	Shapes     []Shape     `json:"shapes"`
	index      []Feature   // Shapes[i] reads feature index[i]
}

// Calibration maps the model's log-odds z (intercept, shapes and offsets) to the 12-month PD:
//
//	logit(PD 12m) = Intercept + Slope × z
//
// Slope and LabelIntercept are a logistic recalibration of z on the training label, fitted on
// out-of-fold predictions; Intercept is LabelIntercept moved by the one constant that makes the
// mean PD of the training population equal AnchorPD12m, a published 12-month default rate.
type Calibration struct {
	Intercept      float64 `json:"intercept"`
	Slope          float64 `json:"slope"`
	LabelIntercept float64 `json:"label_intercept"`
	AnchorPD12m    float64 `json:"anchor_pd_12m"`
	AnchorSource   string  `json:"anchor_source"`
}

// Validation is what the stratified cross-validation of the fit measured, on the out-of-fold
// predictions the calibration was fitted on.
type Validation struct {
	Folds       int     `json:"folds"`
	ShuffleSeed uint64  `json:"shuffle_seed"`
	AUC         float64 `json:"cv_auc"`    // mean of the folds' AUC
	AUCSD       float64 `json:"cv_auc_sd"` // their standard deviation
	// SlopeBefore is the calibration slope of the raw out-of-fold log-odds; SlopeAfter that of
	// the recalibrated ones, each fold recalibrated on the others (1 is perfect).
	SlopeBefore float64 `json:"calibration_slope_before"`
	SlopeAfter  float64 `json:"calibration_slope_after"`
	// Grades are the out-of-fold firms of each grade and the share that went bankrupt within
	// five years; Ordered tells whether that share strictly rises from grade to grade.
	Grades  []GradeCheck `json:"grades"`
	Ordered bool         `json:"grades_strictly_ordered"`
}

// GradeCheck is one grade of the validation.
type GradeCheck struct {
	Grade    string  `json:"grade"`
	Firms    int     `json:"firms"`
	Bankrupt int     `json:"bankrupt"`
	Observed float64 `json:"observed_rate"`
}

// Shape is one feature's contribution to the log-odds: Scores[i] for values in bin i, where bin 0
// holds x < Edges[0], bin i holds Edges[i-1] <= x < Edges[i] and the last bin x >= the last edge.
// Missing is the contribution of a missing value. Group, in rules 2, is the reason code the
// feature's contribution is reported under.
type Shape struct {
	Feature  string    `json:"feature"`
	Group    string    `json:"group,omitempty"`
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

// Check verifies that a model matches this engine: known features, ascending edges, one score
// per bin, finite numbers, the declared monotone directions and, from rules 2 on, a missing value
// never better than the riskiest bin, a positive calibration slope and a master scale.
func (m *Model) Check() error {
	if m.Rules == 0 {
		m.Rules = 1
	}
	if m.Rules > 2 {
		return fmt.Errorf("model %s: rules %d unknown to this engine", m.Version, m.Rules)
	}
	if !(m.TrainingBaseRate > 0 && m.TrainingBaseRate < 1) || !isFinite(m.Intercept) {
		return fmt.Errorf("model %s: bad base rate or intercept", m.Version)
	}
	m.index = make([]Feature, len(m.Shapes))
	for i := range m.Shapes {
		s := &m.Shapes[i]
		f, ok := FeatureByName(s.Feature)
		if !ok {
			return fmt.Errorf("model %s: shape %d reads unknown feature %q", m.Version, i, s.Feature)
		}
		m.index[i] = f
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
			if m.Rules >= 2 && s.Scores[j] > s.Missing {
				return fmt.Errorf("model %s: shape %s: bin %d is riskier than a missing value", m.Version, s.Feature, j)
			}
		}
	}
	if m.Rules == 1 {
		if len(m.Shapes) != 28 {
			return fmt.Errorf("model %s: %d shapes, want the 28 of rules 1", m.Version, len(m.Shapes))
		}
		return nil
	}
	c := m.Calibration
	if c == nil || !(c.Slope > 0) || !isFinite(c.Intercept) || !(c.AnchorPD12m > 0 && c.AnchorPD12m < 1) {
		return fmt.Errorf("model %s: rules 2 needs a calibration with a positive slope and an anchor", m.Version)
	}
	if err := checkScale(m.Grades); err != nil {
		return fmt.Errorf("model %s: %w", m.Version, err)
	}
	if d := m.Decision; d == nil || !(d.GuaranteePD > PDFloor && d.DeclinePD > d.GuaranteePD && d.DeclinePD < 1 && d.IncidentFloorPD > 0 && d.IncidentFloorPD < d.DeclinePD) {
		return fmt.Errorf("model %s: rules 2 needs decision thresholds with floor < guarantees < decline < 1", m.Version)
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

// Versions lists the embedded model versions, oldest first.
func Versions() []string {
	entries, _ := modelFiles.ReadDir("model")
	var out []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".json") {
			out = append(out, strings.TrimSuffix(n, ".json"))
		}
	}
	slices.SortFunc(out, compareVersions)
	return out
}

// compareVersions orders "rf-ebm-1.0.0" before "rf-ebm-2.0.0" and "rf-ebm-1.10.0" after
// "rf-ebm-1.9.0": numerically part by part after the common "rf-ebm-" prefix.
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "rf-ebm-"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "rf-ebm-"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, errX := strconv.Atoi(pa[i])
		y, errY := strconv.Atoi(pb[i])
		switch {
		case errX != nil || errY != nil:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		case x != y:
			return x - y
		}
	}
	return len(pa) - len(pb)
}

// ModelFile returns the bytes of an embedded model file.
func ModelFile(version string) ([]byte, error) {
	b, err := modelFiles.ReadFile("model/" + version + ".json")
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", version, err)
	}
	return b, nil
}

// LogOdds is the statement module's log-odds of the training label for a feature vector: the
// intercept plus every shape's contribution (offsets and calibration not included).
func (m *Model) LogOdds(x *FeatureVector) float64 {
	z := m.Intercept
	for i := range m.Shapes {
		z += m.Shapes[i].Contribution(x[m.index[i]])
	}
	return z
}

// Feature returns the feature that shape i reads.
func (m *Model) Feature(i int) Feature { return m.index[i] }
