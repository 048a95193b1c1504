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
	set(FRetainedToNonCashFunding, math.Inf(-1), 100, "retained earnings above a hundred times the non-cash funding")
	return b
}()

// revenueFeatures divide by revenue: when revenue is found in another unit than the rest of the
// statement, all of them are scored as missing.
var revenueFeatures = []Feature{FEBITMargin, FNetMargin, FEBITDAMargin, FInterestToRevenue, FSizeRevenue,
	FReceivableDays, FInventoryDays, FCurrentLiabDays, FRevenueGrowth, FTurnoverNonCashFunding}

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
	if rules < 2 {
		return StatementFeatures(fin)
	}
	x := prudentFeatures(fin)
	if cur, _ := latestTwo(fin); cur >= 0 {
		implausible(&x, sanitized(figuresOf(&fin[cur])))
	}
	return x
}

// implausible sets every feature outside its plausible range, and every feature of a revenue
// found in another unit, to missing. It returns both sets of features as bit sets.
func implausible(x *FeatureVector, c figures) (bounds, revenue uint64) {
	for f, b := range plausible {
		if b != nil && !math.IsNaN(x[f]) && (x[f] < b.lo || x[f] > b.hi) {
			x[f] = math.NaN()
			bounds |= 1 << f
		}
	}
	if !math.IsNaN(c.rev) {
		// A non-positive capital (cash above liabilities plus equity) says nothing of revenue's
		// unit; absent liabilities or equity leave it unverifiable (NaN), which is doubt.
		capital := c.tl + c.eq - math.Max(orZero(c.cash), 0)
		if !(capital <= 0) && !(c.rev/capital >= minTurnover) {
			revenue = missingAll(x, revenueFeatures)
		}
	}
	return bounds, revenue
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

// LossTerm is the rules-2 loss term, in log-odds: it applies when the latest statement is not
// known to be profitable (a loss, or no net income at all) and no earlier statement (one with its
// revenue and total assets) is known to be profitable either. Unknown counts as a loss, so
// withholding a figure never removes it. The fitter adds it as a fixed offset, so the statement
// shapes are estimated around it.
func LossTerm(fin []Statement) float64 {
	cur, prev := latestTwo(fin)
	if cur >= 0 {
		if ni := fin[cur].NetIncome; ni != nil && *ni >= 0 {
			return 0
		}
	}
	if prev >= 0 {
		// An earlier profit counts from a statement that also shows its revenue and total assets,
		// not from a lone net income.
		p := &fin[prev]
		if p.NetIncome != nil && *p.NetIncome > 0 && p.Revenue != nil && p.TotalAssets != nil {
			return 0
		}
	}
	return consecutiveLosses
}

// prudentFeatures computes the rules-2 features from the most recent statement (and the previous
// one for growth), reading it the riskier way wherever it does not add up:
//
//   - a figure that cannot be negative (total and current assets, receivables, inventory, total and
//     current liabilities, revenue, interest expense, depreciation) but is, counts as absent;
//   - the total the ratios to assets divide by is the smaller of total assets and total
//     liabilities plus equity; when the two are more than 10% apart the statement does not
//     balance and every ratio to the total is missing; current assets or cash above the total
//     (by more than 1%) count as absent;
//   - features that fall with risk divide by liabilities plus equity ("funding"), which a total
//     assets typed in another unit leaves alone, or by funding less cash, which a cash loss leaves
//     alone.
//
// Every feature the rules-2 model reads is computed here; the others stay missing.
func prudentFeatures(fin []Statement) FeatureVector {
	x, ci, pi := allMissing(fin)
	if ci < 0 {
		return x
	}
	c := sanitized(figuresOf(&fin[ci]))
	cur := fin[ci].Currency
	funding := c.tl + c.eq
	total := math.Min(c.ta, funding) // NaN unless both are known
	if math.Abs(c.ta-funding) > balanceGap*math.Max(c.ta, funding) {
		// Assets and liabilities plus equity more than 10% apart: which total is right is
		// unknown, so every ratio to the total is scored as missing.
		total = math.NaN()
	}
	// A part above the whole it belongs to is not read at all: its true value is unknown.
	ca, cash := partOf(c.ca, total), partOf(c.cash, total)

	x[FLeveragePrudent] = ratio(c.tl, total)
	x[FCurrentLiabToAssets] = ratio(c.cl, total)
	x[FCurrentLiabDays] = 365 * ratio(c.cl, c.rev)
	x[FCurrentRatio] = ratio(ca, c.cl)
	x[FQuickRatio] = ratio(ca-c.inv, c.cl)
	x[FCashRatio] = ratio(cash, c.cl)
	x[FCashToFunding] = ratio(cash, funding)
	x[FWorkingCapitalToFunding] = ratio(ca-c.cl, funding)
	x[FEBITMargin] = ratio(c.ebit, c.rev)
	x[FNetMargin] = ratio(c.ni, c.rev)
	x[FEBITDAMargin] = ratio(c.ebit+c.dep, c.rev)
	x[FRetainedToNonCashFunding] = ratio(c.re, funding-c.cash)
	x[FInterestBurden] = ratio(c.interest, total)
	x[FInterestToRevenue] = ratio(c.interest, c.rev)
	x[FInterestCoverFloored] = coverFloored(c.ebit, c.interest)
	if t, ok := ToEUR(total, cur); ok {
		x[FSizeAssets] = log10Pos(t)
	}
	if rev, ok := ToEUR(c.rev, cur); ok {
		x[FSizeRevenue] = log10Pos(rev)
	}
	x[FReceivableDays] = 365 * ratio(c.rec, c.rev)
	x[FInventoryDays] = 365 * ratio(c.inv, c.rev)
	x[FTurnoverNonCashFunding] = ratio(c.rev, funding-c.cash)
	if pi >= 0 {
		prev := nonNegative(val(fin[pi].Revenue))
		if p, ok := convert(prev, fin[pi].Currency, cur); ok {
			x[FRevenueGrowth] = ratio(c.rev, p)
		}
	}
	return x
}

// balanceGap is how far apart, relative to the larger, total assets and total liabilities plus
// equity may be before the ratios to the total are scored as missing; within it the smaller total
// is read. A filing rounded line by line misses by far less than 1%, but one that shows provisions
// or other items apart from liabilities and equity misses by a few percent, and many do: beyond
// 1%, 30% of the training statements would lose their leverage, size and interest features and
// the cross-validated AUC would fall to 0.79; beyond 5%, 15% and 0.800–0.807; beyond 10%, 6.5% and
// 0.810–0.815. A total inflated tenfold, or typed in another unit, is far beyond any of them.
const balanceGap = 0.1

// partOf returns a part of a total, or NaN when the total is unknown or the part exceeds it by
// more than 1% (the rounding of a filing).
func partOf(part, total float64) float64 {
	if !(part <= total*1.01) {
		return math.NaN()
	}
	return part
}

// sanitized returns the figures with every negative one that cannot be negative made absent.
func sanitized(c figures) figures {
	for _, p := range []*float64{&c.ta, &c.ca, &c.rec, &c.inv, &c.tl, &c.cl, &c.rev, &c.interest, &c.dep} {
		*p = nonNegative(*p)
	}
	return c
}

func nonNegative(v float64) float64 {
	if v < 0 {
		return math.NaN()
	}
	return v
}
