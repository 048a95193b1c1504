package scoring

import (
	"math"
)

// Feature is the index of a financial-statement feature. The same function, StatementFeatures,
// computes them for training and for serving.
type Feature int

// The financial-statement features. Ratios whose denominator is missing, zero or negative are
// missing (NaN); the model gives every feature a learned value for "missing", never better than
// the population average. Extreme values need no winsorising: shape functions are constant beyond
// their outermost bins.
const (
	FLeverage                Feature = iota // total liabilities / total assets
	FEquityRatio                            // equity / total assets
	FCurrentRatio                           // current assets / current liabilities
	FQuickRatio                             // (current assets − inventory) / current liabilities
	FCashRatio                              // cash / current liabilities
	FWorkingCapital                         // (current assets − current liabilities) / total assets
	FReturnOnAssets                         // net income / total assets
	FEBITToAssets                           // EBIT / total assets
	FRetainedToAssets                       // retained earnings / total assets
	FAssetTurnover                          // revenue / total assets
	FEBITMargin                             // EBIT / revenue
	FNetMargin                              // net income / revenue
	FInterestCover                          // EBIT / interest expense
	FInterestBurden                         // interest expense / total assets
	FSizeAssets                             // log10 of total assets in EUR
	FSizeRevenue                            // log10 of revenue in EUR
	FReceivableDays                         // receivables / revenue × 365
	FInventoryDays                          // inventory / revenue × 365
	FCurrentLiabDays                        // current liabilities / revenue × 365
	FEBITDAToAssets                         // (EBIT + depreciation) / total assets
	FShortTermDebtShare                     // current liabilities / total liabilities
	FCurrentLiabToAssets                    // current liabilities / total assets
	FDepreciationToAssets                   // depreciation / total assets
	FBalanceGap                             // |total assets − total liabilities − equity| / total assets
	FRevenueGrowth                          // revenue / revenue of the previous statement
	FCashToAssets                           // cash / total assets
	FInterestToRevenue                      // interest expense / revenue
	FWorkingCapitalToRevenue                // (current assets − current liabilities) / revenue

	// Added for rf-ebm-2.0.0, computed by prudentFeatures only.
	FLeveragePrudent          // total liabilities / min(total assets, total liabilities + equity)
	FInterestCoverFloored     // max(EBIT, 0) / interest expense; coverCap without interest
	FEBITDAMargin             // (EBIT + depreciation) / revenue
	FCashToFunding            // cash / (total liabilities + equity)
	FWorkingCapitalToFunding  // (current assets − current liabilities) / (total liabilities + equity)
	FRetainedToNonCashFunding // retained earnings / (total liabilities + equity − cash)
	FTurnoverNonCashFunding   // revenue / (total liabilities + equity − cash)

	NumFeatures // number of statement features
)

// coverCap is the interest cover of a firm that pays no interest: better than any finite cover.
const coverCap = 1e6

// coverFloored is max(EBIT, 0) / interest expense, coverCap without interest expense, missing
// when either figure is.
func coverFloored(ebit, interest float64) float64 {
	if interest == 0 && !math.IsNaN(ebit) {
		return coverCap
	}
	return math.Min(ratio(math.Max(ebit, 0), interest), coverCap)
}

// FeatureInfo describes a statement feature: its stable name (the model file's key), its
// rules-1 reason code and its definition. A model file declares, per shape, the feature's monotone direction.
type FeatureInfo struct {
	Name       string
	Code       string
	Definition string
}

// Features lists the statement features in index order.
var Features = [NumFeatures]FeatureInfo{
	FLeverage:                 {"leverage", "FIN_LEVERAGE", "total liabilities / total assets"},
	FEquityRatio:              {"equity_ratio", "FIN_EQUITY_RATIO", "equity / total assets"},
	FCurrentRatio:             {"current_ratio", "FIN_CURRENT_RATIO", "current assets / current liabilities"},
	FQuickRatio:               {"quick_ratio", "FIN_QUICK_RATIO", "(current assets − inventory) / current liabilities"},
	FCashRatio:                {"cash_ratio", "FIN_CASH_RATIO", "cash / current liabilities"},
	FWorkingCapital:           {"working_capital_to_assets", "FIN_WORKING_CAPITAL", "(current assets − current liabilities) / total assets"},
	FReturnOnAssets:           {"return_on_assets", "FIN_RETURN_ON_ASSETS", "net income / total assets"},
	FEBITToAssets:             {"ebit_to_assets", "FIN_OPERATING_RETURN", "EBIT / total assets"},
	FRetainedToAssets:         {"retained_earnings_to_assets", "FIN_RETAINED_EARNINGS", "retained earnings / total assets"},
	FAssetTurnover:            {"asset_turnover", "FIN_ASSET_TURNOVER", "revenue / total assets"},
	FEBITMargin:               {"ebit_margin", "FIN_OPERATING_MARGIN", "EBIT / revenue"},
	FNetMargin:                {"net_margin", "FIN_NET_MARGIN", "net income / revenue"},
	FInterestCover:            {"interest_cover", "FIN_INTEREST_COVER", "EBIT / interest expense"},
	FInterestBurden:           {"interest_to_assets", "FIN_INTEREST_BURDEN", "interest expense / total assets"},
	FSizeAssets:               {"log_assets_eur", "FIN_SIZE_ASSETS", "log10 of total assets in EUR (reference rates)"},
	FSizeRevenue:              {"log_revenue_eur", "FIN_SIZE_REVENUE", "log10 of revenue in EUR (reference rates)"},
	FReceivableDays:           {"receivable_days", "FIN_RECEIVABLE_DAYS", "receivables / revenue × 365"},
	FInventoryDays:            {"inventory_days", "FIN_INVENTORY_DAYS", "inventory / revenue × 365"},
	FCurrentLiabDays:          {"current_liability_days", "FIN_PAYABLE_DAYS", "current liabilities / revenue × 365"},
	FEBITDAToAssets:           {"ebitda_to_assets", "FIN_EBITDA_TO_ASSETS", "(EBIT + depreciation) / total assets"},
	FShortTermDebtShare:       {"short_term_debt_share", "FIN_SHORT_TERM_DEBT", "current liabilities / total liabilities, at most 1"},
	FCurrentLiabToAssets:      {"current_liabilities_to_assets", "FIN_CURRENT_LIABILITIES", "current liabilities / total assets"},
	FDepreciationToAssets:     {"depreciation_to_assets", "FIN_DEPRECIATION", "depreciation / total assets"},
	FBalanceGap:               {"balance_gap", "FIN_BALANCE_GAP", "|total assets − total liabilities − equity| / total assets"},
	FRevenueGrowth:            {"revenue_growth", "FIN_REVENUE_GROWTH", "revenue / revenue of the previous statement"},
	FCashToAssets:             {"cash_to_assets", "FIN_CASH_TO_ASSETS", "cash / total assets"},
	FInterestToRevenue:        {"interest_to_revenue", "FIN_INTEREST_TO_REVENUE", "interest expense / revenue"},
	FWorkingCapitalToRevenue:  {"working_capital_to_revenue", "FIN_WORKING_CAPITAL_TO_REVENUE", "(current assets − current liabilities) / revenue"},
	FLeveragePrudent:          {"leverage_prudent", "FIN_LEVERAGE", "total liabilities / the smaller of total assets and total liabilities + equity: a statement that does not balance is read the riskier way"},
	FInterestCoverFloored:     {"interest_cover_floored", "FIN_INTEREST_COVER", "max(EBIT, 0) / interest expense; 1,000,000 without interest expense"},
	FEBITDAMargin:             {"ebitda_margin", "FIN_EBITDA_MARGIN", "(EBIT + depreciation) / revenue"},
	FCashToFunding:            {"cash_to_funding", "FIN_CASH_TO_ASSETS", "cash / (total liabilities + equity)"},
	FWorkingCapitalToFunding:  {"working_capital_to_funding", "FIN_WORKING_CAPITAL", "(current assets − current liabilities) / (total liabilities + equity)"},
	FRetainedToNonCashFunding: {"retained_earnings_to_noncash_funding", "FIN_RETAINED_EARNINGS", "retained earnings / (total liabilities + equity − cash)"},
	FTurnoverNonCashFunding:   {"turnover_noncash_funding", "FIN_ASSET_TURNOVER", "revenue / (total liabilities + equity − cash)"},
}

// FeatureByName returns the index of a feature name.
func FeatureByName(name string) (Feature, bool) {
	for i := range Features {
		if Features[i].Name == name {
			return Feature(i), true
		}
	}
	return 0, false
}

// FeatureVector holds one value per statement feature; NaN marks a missing value.
type FeatureVector [NumFeatures]float64

// balanceTolerance is the relative gap below which a statement balances.
const balanceTolerance = 1e-6

// figures are one statement's amounts with NaN for absent fields.
type figures struct {
	ta, ca, cash, rec, inv, tl, cl, eq, re, rev, ebit, ni, interest, dep float64
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func figuresOf(s *Statement) figures {
	return figures{
		ta: val(s.TotalAssets), ca: val(s.CurrentAssets), cash: val(s.Cash), rec: val(s.Receivables),
		inv: val(s.Inventory), tl: val(s.TotalLiabilities), cl: val(s.CurrentLiabilities),
		eq: val(s.Equity), re: val(s.RetainedEarnings), rev: val(s.Revenue), ebit: val(s.EBIT),
		ni: val(s.NetIncome), interest: val(s.InterestExpense), dep: val(s.Depreciation),
	}
}

// latestTwo returns the indexes of the most recent statement and of the one before it (−1 when
// absent), by period_end; ties keep the first listed.
func latestTwo(fin []Statement) (cur, prev int) {
	cur, prev = -1, -1
	for i := range fin {
		switch {
		case cur < 0 || fin[i].PeriodEnd > fin[cur].PeriodEnd:
			prev, cur = cur, i
		case prev < 0 || fin[i].PeriodEnd > fin[prev].PeriodEnd:
			prev = i
		}
	}
	return cur, prev
}

// ratio is a/b when b is strictly positive and both are present, NaN otherwise.
func ratio(a, b float64) float64 {
	if !(b > 0) || math.IsNaN(a) {
		return math.NaN()
	}
	r := a / b
	if math.IsInf(r, 0) {
		return math.NaN()
	}
	return r
}

func log10Pos(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) {
		return math.NaN()
	}
	return math.Log10(x)
}

// allMissing returns a vector with every feature missing, and the indexes of the latest statement
// and the one before it (−1 when absent).
func allMissing(fin []Statement) (x FeatureVector, cur, prev int) {
	for i := range x {
		x[i] = math.NaN()
	}
	cur, prev = latestTwo(fin)
	return x, cur, prev
}

// StatementFeatures computes the features of rules-1 models from the most recent statement (and
// the previous one for growth), as the statement sends them; rules 2 reads them prudently
// (prudentFeatures). With no statement every feature is missing.
func StatementFeatures(fin []Statement) FeatureVector {
	x, ci, pi := allMissing(fin)
	if ci < 0 {
		return x
	}
	c := figuresOf(&fin[ci])
	cur := fin[ci].Currency

	x[FLeverage] = ratio(c.tl, c.ta)
	x[FEquityRatio] = ratio(c.eq, c.ta)
	x[FCurrentRatio] = ratio(c.ca, c.cl)
	x[FQuickRatio] = ratio(c.ca-c.inv, c.cl)
	x[FCashRatio] = ratio(c.cash, c.cl)
	x[FWorkingCapital] = ratio(c.ca-c.cl, c.ta)
	x[FReturnOnAssets] = ratio(c.ni, c.ta)
	x[FEBITToAssets] = ratio(c.ebit, c.ta)
	x[FRetainedToAssets] = ratio(c.re, c.ta)
	x[FAssetTurnover] = ratio(c.rev, c.ta)
	x[FEBITMargin] = ratio(c.ebit, c.rev)
	x[FNetMargin] = ratio(c.ni, c.rev)
	x[FInterestCover] = ratio(c.ebit, c.interest)
	x[FInterestBurden] = ratio(c.interest, c.ta)
	if ta, ok := ToEUR(c.ta, cur); ok {
		x[FSizeAssets] = log10Pos(ta)
	}
	if rev, ok := ToEUR(c.rev, cur); ok {
		x[FSizeRevenue] = log10Pos(rev)
	}
	x[FReceivableDays] = 365 * ratio(c.rec, c.rev)
	x[FInventoryDays] = 365 * ratio(c.inv, c.rev)
	x[FCurrentLiabDays] = 365 * ratio(c.cl, c.rev)
	x[FEBITDAToAssets] = ratio(c.ebit+c.dep, c.ta)
	x[FShortTermDebtShare] = math.Min(ratio(c.cl, c.tl), 1) // above 1 only when the statement is inconsistent
	x[FCurrentLiabToAssets] = ratio(c.cl, c.ta)
	x[FDepreciationToAssets] = ratio(c.dep, c.ta)
	x[FBalanceGap] = ratio(math.Abs(c.ta-c.tl-c.eq), c.ta)
	if x[FBalanceGap] < balanceTolerance {
		x[FBalanceGap] = 0 // rounding noise of the figures, not a gap
	}
	x[FCashToAssets] = ratio(c.cash, c.ta)
	x[FInterestToRevenue] = ratio(c.interest, c.rev)
	x[FWorkingCapitalToRevenue] = ratio(c.ca-c.cl, c.rev)
	if pi >= 0 {
		prev := val(fin[pi].Revenue)
		if p, ok := convert(prev, fin[pi].Currency, cur); ok {
			x[FRevenueGrowth] = ratio(c.rev, p)
		}
	}
	return x
}
