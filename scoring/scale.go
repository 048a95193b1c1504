package scoring

import (
	"fmt"
	"math"
)

// The score scale: points to double the odds. Score = 600 + Factor·ln(odds / 50) with
// odds = (1 − PD) / PD and Factor = 60 / ln 2, rounded and bounded to 0–1000. A firm at odds
// 50:1 (PD 1.96%) scores 600; each halving of the odds of default adds 60 points. The PD floor
// (0.05%) gives the best possible score, 919; a defaulted firm (PD 100%) scores 0.
const (
	ScoreAnchor     = 600.0
	ScoreAnchorOdds = 50.0
	PointsToDouble  = 60.0
	pointsPerLogit  = PointsToDouble / math.Ln2
)

// PD bounds and, for rules 1, the horizon. The rules-1 training label is "bankrupt within five
// years" at the training file's rate; a rules-1 engine re-scales the odds to BaseRate12m (about
// 1% a year) by adding logit(BaseRate12m) − logit(training rate) to the log-odds (prior-shift
// correction). Rules 2 calibrates instead (Model.Calibration).
const (
	BaseRate12m = 0.01
	PDFloor     = 0.0005 // Basel 3.1 floor for corporates
	pdCeiling   = 0.9999 // highest PD short of default
)

// Grade is one step of a master scale: a name, the highest 12-month PD it holds and, from rules 2
// on, its representative PD and a label.
type Grade struct {
	Name  string  `json:"name"`
	MaxPD float64 `json:"max_pd"`
	PD    float64 `json:"pd,omitempty"`
	Label string  `json:"label,omitempty"`
}

// LegacyGrades is the master scale of rules-1 models: eight non-default grades by 12-month PD,
// and D for default (an open collective proceeding), which alone has PD 1.
var LegacyGrades = []Grade{
	{Name: "AAA", MaxPD: 0.0010}, {Name: "AA", MaxPD: 0.0020}, {Name: "A", MaxPD: 0.0040}, {Name: "BBB", MaxPD: 0.0080},
	{Name: "BB", MaxPD: 0.0160}, {Name: "B", MaxPD: 0.0320}, {Name: "CCC", MaxPD: 0.0800}, {Name: "CC", MaxPD: pdCeiling},
}

// DefaultGrade is the grade of a firm in default.
const DefaultGrade = "D"

// Decision holds the thresholds on the 12-month PD: above DeclinePD the engine declines; above
// GuaranteePD it asks for guarantees; a payment incident in the last 12 months raises the PD to
// at least IncidentFloorPD.
type Decision struct {
	GuaranteePD     float64 `json:"guarantee_above_pd"`
	DeclinePD       float64 `json:"decline_above_pd"`
	IncidentFloorPD float64 `json:"incident_floor_pd"`
}

// legacyDecision is the decision of rules-1 models: guarantees for grades B and CCC, decline from
// CC, and a recent payment incident caps the grade at BB.
var legacyDecision = Decision{GuaranteePD: 0.0160, DeclinePD: 0.0800, IncidentFloorPD: 0.0081}

// checkScale verifies a rules-2 master scale: at least seven non-default grades, bands in
// ascending order ending at the highest PD short of default, each with its representative PD
// inside its band.
func checkScale(g []Grade) error {
	if len(g) < 7 {
		return fmt.Errorf("master scale of %d grades, want at least 7 plus D", len(g))
	}
	lo := 0.0
	for i, gr := range g {
		if gr.Name == "" || gr.Name == DefaultGrade || !(gr.MaxPD > lo) || !(gr.PD > lo && gr.PD <= gr.MaxPD) {
			return fmt.Errorf("master scale: grade %d (%s) is not a band above the previous one with its PD inside", i, gr.Name)
		}
		lo = gr.MaxPD
	}
	if lo != pdCeiling {
		return fmt.Errorf("master scale ends at %v, want %v", lo, pdCeiling)
	}
	return nil
}

// ScoreOf maps a PD to the 0–1000 score; it never increases as PD increases.
func ScoreOf(pd float64) int {
	if pd >= 1 {
		return 0
	}
	s := ScoreAnchor + pointsPerLogit*math.Log((1-pd)/pd/ScoreAnchorOdds)
	return int(math.Round(math.Max(0, math.Min(1000, s))))
}

// gradeOf maps a 12-month PD to its grade on a master scale.
func gradeOf(grades []Grade, pd float64) string {
	if pd >= 1 {
		return DefaultGrade
	}
	for _, g := range grades {
		if pd <= g.MaxPD {
			return g.Name
		}
	}
	return grades[len(grades)-1].Name
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// points converts a log-odds term to score points (a positive term, more risk, costs points).
func points(logOdds float64) int { return int(math.Round(-logOdds * pointsPerLogit)) }
