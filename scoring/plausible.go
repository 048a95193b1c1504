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
	set(FCashToAssets, math.Inf(-1), 1.01, "cash above total assets")
	set(FRetainedToAssets, math.Inf(-1), 1.01, "retained earnings above total assets")
	set(FRetainedToNonCash, math.Inf(-1), 100, "retained earnings above a hundred times the non-cash assets")
	set(FTurnoverNonCash, math.Inf(-1), 100, "revenue above a hundred times the non-cash assets")
	set(FAssetTurnover, math.Inf(-1), 50, "revenue above fifty times total assets")
	set(FEBITMargin, math.Inf(-1), 1, "EBIT above revenue")
	set(FNetMargin, math.Inf(-1), 1, "net income above revenue")
	set(FEBITDAMargin, math.Inf(-1), 1, "EBITDA above revenue")
	return b
}()

// Features that divide by total assets, and those that divide by revenue: when a check finds
// one of these totals in another unit than the rest of the statement, all of its features are
// scored as missing.
var (
	assetFeatures = []Feature{FLeveragePrudent, FEquityRatioPrudent, FCurrentLiabToAssets, FCashToAssets,
		FWorkingCapital, FRetainedToAssets, FInterestBurden, FSizeAssets, FTurnoverNonCash, FRetainedToNonCash}
	revenueFeatures = []Feature{FEBITMargin, FNetMargin, FEBITDAMargin, FInterestToRevenue, FSizeRevenue,
		FReceivableDays, FInventoryDays, FCurrentLiabDays, FRevenueGrowth, FTurnoverNonCash}
)

// Scale checks of rules 2. Total assets are in another unit than the statement when current
// assets or cash exceed them twice over (a part cannot be larger than the whole). Revenue is
// checked against total assets less cash (total assets are the one figure every usable statement
// has): revenue below 1% of them is no trading firm's (revenue far above assets is left alone: dividing it by a
// thousand must never be rewarded), and revenue cannot be checked at all when
// total assets are absent or themselves in doubt, so it then counts as unverified too. A check
// that withholding a figure could silence would reward withholding it: these use only total
// assets, whose absence already leaves every ratio to assets missing, and current assets and cash,
// which no training, sandbox or fuzzed statement exceeds twice.
const (
	partOverTotal  = 2
	minTurnover    = 0.01
	flagAssetScale = 1 << iota
	flagRevenueScale
)

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

// implausible sets every feature outside its plausible range, and every feature of a total found
// in another unit, to missing. It returns the features it set as a bit set and the scale flags.
func implausible(x *FeatureVector, c figures) (mask uint64, flags int) {
	for f, b := range plausible {
		if b != nil && !math.IsNaN(x[f]) && (x[f] < b.lo || x[f] > b.hi) {
			x[f] = math.NaN()
			mask |= 1 << f
		}
	}
	assetsOK := c.ta > 0 && !(c.ca > partOverTotal*c.ta) && !(c.cash > partOverTotal*c.ta)
	if !assetsOK && !math.IsNaN(c.ta) {
		flags |= flagAssetScale
		mask |= missingAll(x, assetFeatures)
	}
	if !math.IsNaN(c.rev) {
		// Against the assets other than cash, so that spending cash neither raises nor lowers
		// doubt; an absent cash figure counts as none, which can only raise doubt.
		turnover := c.rev / (c.ta - math.Max(orZero(c.cash), 0))
		if !assetsOK || !(turnover >= minTurnover) {
			flags |= flagRevenueScale
			mask |= missingAll(x, revenueFeatures)
		}
	}
	return mask, flags
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
