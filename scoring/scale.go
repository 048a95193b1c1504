package scoring

import "math"

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

// PD bounds and horizon. The training label is "bankrupt within five years" at the training
// file's rate; the engine re-scales the odds to BaseRate12m, a documented 12-month default rate
// for European SMEs (about 1% a year), by adding logit(BaseRate12m) − logit(training rate) to the
// log-odds (prior-shift correction).
const (
	BaseRate12m = 0.01
	PDFloor     = 0.0005 // Basel 3.1 floor for corporates
	pdCeiling   = 0.9999 // highest PD short of default
)

// Grade is one step of the master scale: a letter and the highest 12-month PD it holds.
type Grade struct {
	Name  string
	MaxPD float64
}

// Grades is the master scale: eight non-default grades by 12-month PD, and D for default (an
// open collective proceeding), which alone has PD 1.
var Grades = []Grade{
	{"AAA", 0.0010}, {"AA", 0.0020}, {"A", 0.0040}, {"BBB", 0.0080},
	{"BB", 0.0160}, {"B", 0.0320}, {"CCC", 0.0800}, {"CC", pdCeiling},
}

// DefaultGrade is the grade of a firm in default.
const DefaultGrade = "D"

// Decision thresholds on the 12-month PD: above DeclinePD the engine declines; above
// GuaranteePD (the middle band, grades B and CCC) it asks for guarantees.
const (
	GuaranteePD = 0.0160
	DeclinePD   = 0.0800
)

// incidentCapPD is the lowest PD of a firm with a payment incident in the last 12 months: its
// grade is capped at BB.
const incidentCapPD = 0.0081

// ScoreOf maps a PD to the 0–1000 score; it never increases as PD increases.
func ScoreOf(pd float64) int {
	if pd >= 1 {
		return 0
	}
	s := ScoreAnchor + pointsPerLogit*math.Log((1-pd)/pd/ScoreAnchorOdds)
	return int(math.Round(math.Max(0, math.Min(1000, s))))
}

// GradeOf maps a 12-month PD to its grade.
func GradeOf(pd float64) string {
	if pd >= 1 {
		return DefaultGrade
	}
	for _, g := range Grades {
		if pd <= g.MaxPD {
			return g.Name
		}
	}
	return Grades[len(Grades)-1].Name
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// points converts a log-odds term to score points (a positive term, more risk, costs points).
func points(logOdds float64) int { return int(math.Round(-logOdds * pointsPerLogit)) }
