package scoring

import "math"

// Card is a model's card, as GET /v1/models/{version} serves it: what the model was fitted on,
// what it is for and not for, its features and their directions, how it was validated and
// calibrated, its master scale and its limitations. Everything but the prose comes from the
// embedded model file, so the card cannot drift from the model.
type Card struct {
	Object      string       `json:"object"`
	Version     string       `json:"version"`
	Current     bool         `json:"current"`
	Status      string       `json:"status"`
	Summary     string       `json:"summary"`
	Method      string       `json:"method"`
	Data        CardData     `json:"data"`
	IntendedUse string       `json:"intended_use"`
	OutOfScope  []string     `json:"out_of_scope"`
	Features    []CardFeat   `json:"features"`
	Validation  *Validation  `json:"validation"`
	Calibration *Calibration `json:"calibration"`
	PDMeaning   string       `json:"pd_meaning"`
	MasterScale []Grade      `json:"master_scale"`
	Decision    Decision     `json:"decision"`
	Limitations []string     `json:"limitations"`
}

// CardData describes the training data.
type CardData struct {
	Source     string  `json:"source"`
	Licence    string  `json:"licence"`
	Population string  `json:"population"`
	Period     string  `json:"period"`
	Label      string  `json:"default_definition"`
	Rows       int     `json:"rows"`
	Defaults   int     `json:"defaults"`
	BaseRate   float64 `json:"default_rate"`
	Rebuilt    string  `json:"rebuilt_as"`
}

// CardFeat is one statement feature of the model.
type CardFeat struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
	// Direction is risk_up (a higher value never lowers the PD), risk_down (never raises it) or
	// free (no constraint; rules-1 models only).
	Direction  string  `json:"direction"`
	ReasonCode string  `json:"reason_code"`
	Missing    float64 `json:"missing_log_odds"`  // what a missing value adds to the log-odds
	Riskiest   float64 `json:"riskiest_log_odds"` // what the riskiest present value adds

}

// cardText is the prose of a card: what the model file cannot say.
type cardText struct {
	status, summary, population, period, rebuilt, intended, pdMeaning string
	outOfScope, limitations                                           []string
}

const (
	cardPopulation = "Polish companies (manufacturing, trade and services), as collected by Tomczak (2016): bankrupt firms' statements and those of firms still operating"
	cardPeriod     = "statements of 2000–2012; label: bankruptcy within the following five years"
	cardSource     = "UCI Machine Learning Repository, \"Polish companies bankruptcy data\", Sebastian Tomczak, 2016, doi 10.24432/C5F600, first-year file (1year.arff); Zieba, Tomczak & Tomczak (2016), Expert Systems with Applications 58, 93–101"
	cardIntended   = "Trade-credit decisions on companies (B2B): ranking prospects and customers by their risk of entering a collective proceeding within twelve months, choosing between accept, guarantees and decline, and sizing a credit limit, with a person able to review the answer and its reasons."
)

var cardOutOfScope = []string{
	"Consumer credit and any decision on a natural person alone (sole traders are scored as businesses, with their consent, and the decision stays reviewable by a person).",
	"Regulatory capital (Basel IRB) PDs, pricing loans, or provisioning (IFRS 9) without recalibration on your own portfolio.",
	"Banks, insurers and other financial companies, public bodies, holding companies whose revenue is not their activity, and firms without any statement (they are declined by construction).",
}

var cards = map[string]cardText{
	"rf-ebm-1.0.0": {
		status:  "retired: kept embedded so that its decisions replay identically; new calls use the current model",
		summary: "The first statement model: a boosted additive model on 28 ratios of unrounded rebuilt statements, with a 12-month PD asserted by a prior shift to a 1% base rate and agency-style letter grades.",
		rebuilt: "each row rebuilt into a POST /v1/scores body without rounding", intended: cardIntended,
		pdMeaning:  "A ranking on the training label, shifted to an asserted 1% yearly base rate (not estimated, no default definition behind it).",
		population: cardPopulation, period: cardPeriod, outOfScope: cardOutOfScope,
		limitations: []string{
			"An independent validation found much of its rank came from quirks of the file: interest expense scored backwards, a balance-gap shape reading the rounding errors of the stored ratios, the short-term share of debt making debt replacing equity raise the score for a third of firms.",
			"Withheld figures often earned a better score; a total typed in thousands could earn the best grade.",
			"Its letter grades borrow agency names without matching their bands.",
		},
	},
	"rf-ebm-2.0.0": {
		status:  "current: scores every new call",
		summary: "A boosted additive model on 21 statement features, each constrained in the direction a credit analyst would defend, reading the statement the riskier way wherever it is missing, implausible or inconsistent; calibrated on out-of-fold predictions and anchored to the yearly rate of collective proceedings among French companies.",
		rebuilt: "each row rebuilt into a POST /v1/scores body by polish.ToRequest, every amount rounded to 1,000 PLN (the source's precision)", intended: cardIntended,
		pdMeaning:  "The probability of entering a collective proceeding within twelve months. The ranking is learned on Polish firms and a five-year bankruptcy label; the level is set so that the training population's mean PD is the anchor, the yearly share of French companies entering collective proceedings. It is not estimated from observed twelve-month defaults of RocketFin's customers, and not a regulatory PD.",
		population: cardPopulation, period: cardPeriod, outOfScope: cardOutOfScope,
		limitations: []string{
			"The ranking comes from Polish firms of 2000–2012 and a five-year label; the level from French yearly failure rates. Neither is yet measured on RocketFin's customers.",
			"The constraints cost in-sample rank on purpose: with free directions the same features reach a CV AUC of about 0.84, by reading quirks of the file (interest backwards, a missing interest figure as a signal of its own).",
			"Payment, bank, company and legal terms are expert weights on the same scale, not estimated; an absent one counts as the reference, so leaving out bad payment history gives a better answer than sending it.",
			"A request without any statement is declined by construction: nothing distinguishes it from the riskiest firm the model knows.",
			"Seven grades, because the training file's 271 defaults cannot tell finer grades apart at the safe end.",
		},
	},
}

// Card returns the engine's model card.
func (e *Engine) Card() Card {
	m := e.model
	t := cards[m.Version]
	c := Card{
		Object: "model", Version: m.Version, Current: m.Version == ModelName, Status: t.status, Summary: t.summary,
		Method: m.Method, IntendedUse: t.intended, OutOfScope: t.outOfScope, Validation: m.Validation,
		Calibration: m.Calibration, PDMeaning: t.pdMeaning, MasterScale: e.grades, Decision: e.decision,
		Limitations: t.limitations,
		Data: CardData{
			Source: cardSource, Licence: "CC BY 4.0", Population: t.population, Period: t.period,
			Label: "bankrupt within five years of the statement", Rows: m.TrainingRows, Defaults: m.TrainingDefaults,
			BaseRate: m.TrainingBaseRate, Rebuilt: t.rebuilt,
		},
	}
	for i := range m.Shapes {
		s := &m.Shapes[i]
		info := Features[m.index[i]]
		f := CardFeat{Name: s.Feature, Definition: info.Definition, Direction: "free", ReasonCode: s.Group, Missing: s.Missing}
		if f.ReasonCode == "" {
			f.ReasonCode = info.Code
		}
		switch {
		case s.Monotone > 0:
			f.Direction = "risk_up"
		case s.Monotone < 0:
			f.Direction = "risk_down"
		}
		worst := math.Inf(-1)
		for _, v := range s.Scores {
			worst = math.Max(worst, v)
		}
		f.Riskiest = worst
		c.Features = append(c.Features, f)
	}
	return c
}
