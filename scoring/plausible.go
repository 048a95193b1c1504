package scoring

import "math"

// Rules 2 reads a statement prudently: a feature whose value no sound statement can show (a cash
// balance above total assets, a margin above 100%) is implausible, most often a unit mistake
// (one figure typed in thousands), and is scored as missing, which in rules 2 is never better
// than the riskiest firm the model has seen. Only directions in which such a mistake would earn
// a better score need a bound: a unit mistake that moves a feature towards risk (leverage,
// interest burden, days of revenue) is left to the shape, which already scores it as risky.

// bound is the plausible range of a feature, inclusive.
type bound struct {
	lo, hi float64
	why    string // what a value beyond the bound means, for data_quality
}

// plausible holds the bounds of rules 2, by feature; features without one are unbounded.
var plausible = func() (b [NumFeatures]*bound) {
	set := func(f Feature, lo, hi float64, why string) { b[f] = &bound{lo, hi, why} }
	set(FCashToFunding, math.Inf(-1), 1.01, "cash above total liabilities plus equity")
	set(FEBITMargin, math.Inf(-1), 1, "EBIT above revenue")
	set(FNetMargin, math.Inf(-1), 1, "net income above revenue")
	set(FEBITDAMargin, math.Inf(-1), 1, "EBITDA above revenue")
	return b
}()

// revenueFeatures divide by revenue: when revenue is found in another unit than the rest of the
// statement, all of them are scored as missing.
var revenueFeatures = []Feature{FEBITMargin, FNetMargin, FEBITDAMargin, FInterestToRevenue, FSizeRevenue,
	FReceivableDays, FInventoryDays, FCurrentLiabDays, FRevenueGrowth, FTurnoverNonCash, FTurnoverNonCashFunding}

// The revenue check of rules 2. Revenue below 1% of the non-cash capital (total liabilities plus
// equity, less cash) is no trading firm's; it is most often revenue typed in thousands. Revenue
// cannot be checked without liabilities and equity, so it then counts as doubtful too; a capital
// that is not positive (cash above liabilities plus equity, an inconsistent statement) says
// nothing of revenue's unit. A check that withholding a figure could silence would reward
// withholding it: withholding liabilities or equity raises the doubt, and an absent cash figure
// counts as none, which can only raise the capital and with it the doubt.
//
// Total assets need no such check: every rules-2 feature that divides by them moves towards
// risk when they are typed in thousands (leverage, short-term debt and interest to assets rise,
// size falls), and those that would move the other way divide by total liabilities plus equity
// instead, the other side of the balance sheet. A likely unit mistake in total assets is still
// reported in data_quality.
const minTurnover = 0.01

// ModelFeatures is the feature function of a rules generation: StatementFeatures for rules 1;
// for rules 2 the same values with every implausible one set to missing. The fitter and the
// engine both call it, so training sees exactly what serving computes.
func ModelFeatures(fin []Statement, rules int) FeatureVector {
	x := StatementFeatures(fin)
	if rules >= 2 {
		if cur, _ := latestTwo(fin); cur >= 0 {
			implausible(&x, figuresOf(&fin[cur]))
		}
	}
	return x
}

// implausible sets every feature outside its plausible range, and every feature of a revenue
// found in another unit, to missing. It returns the features it set as a bit set.
func implausible(x *FeatureVector, c figures) (mask uint64) {
	for f, b := range plausible {
		if b != nil && !math.IsNaN(x[f]) && (x[f] < b.lo || x[f] > b.hi) {
			x[f] = math.NaN()
			mask |= 1 << f
		}
	}
	if !math.IsNaN(c.rev) {
		// A non-positive capital (cash above liabilities plus equity) says nothing of revenue's
		// unit; absent liabilities or equity leave it unverifiable (NaN), which is doubt.
		capital := c.tl + c.eq - math.Max(orZero(c.cash), 0)
		if !(capital <= 0) && !(c.rev/capital >= minTurnover) {
			mask |= missingAll(x, revenueFeatures)
		}
	}
	return mask
}

func missingAll(x *FeatureVector, fs []Feature) (mask uint64) {
	for _, f := range fs {
		if !math.IsNaN(x[f]) {
			x[f] = math.NaN()
			mask |= 1 << f
		}
	}
	return mask
}

// LossTerm is the rules-2 loss term, in log-odds: it applies when the latest statement is
// not known to be profitable (a loss, or no net income at all) and no earlier statement is known
// to be profitable either. Unknown counts as a loss, so withholding a figure never removes it.
// The fitter adds it as a fixed offset, so the statement shapes are estimated around it.
func LossTerm(fin []Statement) float64 {
	cur, prev := latestTwo(fin)
	if cur >= 0 {
		if ni := fin[cur].NetIncome; ni != nil && *ni >= 0 {
			return 0
		}
	}
	if prev >= 0 {
		if ni := fin[prev].NetIncome; ni != nil && *ni > 0 {
			return 0
		}
	}
	return consecutiveLosses
}
