package scoring

import "math"

// Partner products: what request.product asks the engine to assess. Trade credit is the default;
// the others reuse the same PD and the same figures, with rules of their own:
//
// Let PD be the 12-month PD, k = clamp((D − PD) / (D − 0.05%), 0, 1) the risk factor of the trade
// credit limit (D the decline threshold), S what the latest statement supports before risk (the
// trade credit formula of limit.go), and PD over a term of t months 1 − (1 − PD)^(t/12).
//
//   - factoring: the company is the debtor of a receivable a factor buys. Tenor T = terms_days
//     (default 60, at most 180). Purchase limit = k × S (what the debtor can owe one creditor);
//     advance rate = 90 % × k, in whole percent; credit_limit = min(face value, purchase limit);
//     advance amount = advance rate × credit_limit. Decline above D; request_guarantees (buy with
//     recourse) above the guarantee threshold, when the face value exceeds the purchase limit,
//     when the advance rate is under 50 %, or without a statement; accept otherwise.
//   - leasing: the company is the lessee of an asset of value A over M = term_months (default 36,
//     12 to 84). Rent capacity R = 30 % of the latest EBITDA (EBIT + depreciation) a year (0 when
//     the statement gives no EBIT), or, without a statement, 10 % of the average monthly bank
//     inflows × 12. Maximum asset value =
//     k × R × M / 12; credit_limit = min(A, maximum). Decline above D, or when the PD over the
//     lease's term exceeds D (the cumulative risk of a long lease); request_guarantees above the
//     guarantee threshold, when A exceeds the maximum or without a statement; accept otherwise.
//   - credit_insurance: the company is a buyer an insurer would cover. Insurable limit = k² × S
//     (an insurer's cover shrinks faster with risk than a supplier's limit); credit_limit =
//     min(cover asked, insurable limit). No cover (decline) above D; partial cover
//     (request_guarantees) above the guarantee threshold, when the cover asked exceeds the
//     insurable limit or without a statement; accept otherwise.
//
// A statement whose figures cap nothing supports nothing for these products (S = 0): the trade
// credit rule falls back to bank inflows then, which partner products do not, so that leaving a
// statement's figures out never earns more than reporting poor ones. Every rule only tightens as PD
// rises or data goes missing.
const (
	ProductTradeCredit     = "trade_credit"
	ProductFactoring       = "factoring"
	ProductLeasing         = "leasing"
	ProductCreditInsurance = "credit_insurance"

	maxFactoringDays     = 180
	defaultFactoringDays = 60
	minLeaseMonths       = 12
	maxLeaseMonths       = 84
	defaultLeaseMonths   = 36
	maxAdvanceRate       = 0.90
	minAdvanceRate       = 0.50
	leaseEBITDAShare     = 0.30
	leaseBankShare       = 0.10
)

// ProductTerms are the terms of a partner operation.
type ProductTerms struct {
	Type string `json:"type"`
	// PDOverTerm is the probability of default over the exposure's term.
	PDOverTerm     float64  `json:"pd_over_term"`
	TermDays       *int     `json:"term_days,omitempty"`
	TermMonths     *int     `json:"term_months,omitempty"`
	AdvanceRate    *float64 `json:"advance_rate,omitempty"`
	PurchaseLimit  *Money   `json:"purchase_limit,omitempty"`
	AdvanceAmount  *Money   `json:"advance_amount,omitempty"`
	MaxAssetValue  *Money   `json:"max_asset_value,omitempty"`
	InsurableLimit *Money   `json:"insurable_limit,omitempty"`
}

// pdOver is the PD over months months, from the 12-month PD.
func pdOver(pd, months float64) float64 {
	return math.Round((1-math.Pow(1-pd, months/12))*1e6) / 1e6
}

// major turns an amount in major units of cur into Money, rounded down.
func major(v float64, cur string) Money {
	v = math.Max(0, math.Min(math.Floor(v), maxLimitMajorUnits))
	return Money{Amount: int64(v) * pow10(MinorUnits(cur)), Currency: cur}
}

// product applies the rules of request.product to res (PD, grade and trade credit limit set); a
// request without a product keeps the trade credit answer as it is, without product terms.
func (e *Engine) product(ev *evaluation, res *Result, lim limitResult) {
	cr := ev.req.Request
	if cr == nil || cr.Product == "" {
		return
	}
	pd, d, g := res.PD12m, e.decision.DeclinePD, e.decision.GuaranteePD
	noStatement := ev.latest < 0
	if lim.statementSilent {
		// A statement without the figures the limit needs supports nothing: leaving figures out
		// must never earn more than reporting poor ones.
		lim.supported = 0
	}
	asked := func(def float64) float64 {
		if cr.Amount != nil {
			return *cr.Amount
		}
		return def
	}
	switch cr.Product {
	case ProductTradeCredit:
		terms := defaultTermsDays
		if cr.TermsDays != nil {
			terms = max(*cr.TermsDays, defaultTermsDays)
		}
		res.Product = &ProductTerms{Type: ProductTradeCredit, PDOverTerm: pdOver(pd, float64(terms)/365*12), TermDays: &terms}
	case ProductFactoring:
		days := defaultFactoringDays
		if cr.TermsDays != nil {
			days = *cr.TermsDays
		}
		purchase := lim.k * lim.supported
		rate := math.Floor(maxAdvanceRate*lim.k*100) / 100
		face := asked(purchase)
		limit := math.Min(face, purchase)
		pl, cl := major(purchase, lim.cur), major(limit, lim.cur)
		adv := major(rate*float64(cl.Amount)/float64(pow10(MinorUnits(lim.cur))), lim.cur)
		res.CreditLimit = cl
		res.Product = &ProductTerms{Type: ProductFactoring, PDOverTerm: pdOver(pd, float64(days)/365*12), TermDays: &days,
			AdvanceRate: &rate, PurchaseLimit: &pl, AdvanceAmount: &adv}
		res.Recommendation = decide(pd > d, pd > g || face > purchase+0.5 || rate < minAdvanceRate || cl.Amount == 0 || noStatement)
	case ProductLeasing:
		months := defaultLeaseMonths
		if cr.TermMonths != nil {
			months = *cr.TermMonths
		}
		rent := ev.rentCapacity(lim.cur)
		maxAsset := lim.k * rent * float64(months) / 12
		asset := asked(maxAsset)
		limit := math.Min(asset, maxAsset)
		ma, cl := major(maxAsset, lim.cur), major(limit, lim.cur)
		over := pdOver(pd, float64(months))
		res.CreditLimit = cl
		res.Product = &ProductTerms{Type: ProductLeasing, PDOverTerm: over, TermMonths: &months, MaxAssetValue: &ma}
		res.Recommendation = decide(pd > d || over > d, pd > g || asset > maxAsset+0.5 || cl.Amount == 0 || noStatement)
	case ProductCreditInsurance:
		terms := defaultTermsDays
		if cr.TermsDays != nil {
			terms = max(*cr.TermsDays, defaultTermsDays)
		}
		insurable := lim.k * lim.k * lim.supported
		cover := asked(insurable)
		il, cl := major(insurable, lim.cur), major(math.Min(cover, insurable), lim.cur)
		res.CreditLimit = cl
		res.Product = &ProductTerms{Type: ProductCreditInsurance, PDOverTerm: pdOver(pd, float64(terms)/365*12), TermDays: &terms,
			InsurableLimit: &il}
		res.Recommendation = decide(pd > d, pd > g || cover > insurable+0.5 || cl.Amount == 0 || noStatement)
	}
	if res.Recommendation == Decline {
		res.CreditLimit.Amount = 0
		if p := res.Product; p.AdvanceAmount != nil {
			p.AdvanceAmount.Amount = 0
		}
	}
}

func decide(decline, guarantees bool) string {
	switch {
	case decline:
		return Decline
	case guarantees:
		return RequestGuarantees
	default:
		return Accept
	}
}

// rentCapacity is what the lessee can pay in rent a year, in cur: a share of the latest EBITDA;
// without a statement, of its bank inflows; 0 when the statement has no EBIT (leaving it out must
// never earn more than reporting a loss) or nothing is known or convertible.
func (ev *evaluation) rentCapacity(cur string) float64 {
	if ev.latest >= 0 {
		s := &ev.req.Financials[ev.latest]
		f := figuresOf(s)
		if math.IsNaN(f.ebit) {
			return 0
		}
		ebitda := f.ebit + orZero(f.dep)
		if c, ok := convert(leaseEBITDAShare*math.Max(ebitda, 0), s.Currency, cur); ok {
			return c
		}
		return 0
	}
	if avg, from, ok := ev.averageInflows(cur); ok {
		if c, ok := convert(leaseBankShare*math.Max(avg, 0)*12, from, cur); ok {
			return c
		}
	}
	return 0
}
