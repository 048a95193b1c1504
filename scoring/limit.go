package scoring

import "math"

// Credit limit, in the limit currency L (the request's currency, else the latest statement's,
// else EUR), with T = max(terms_days, 30) days (30 when no terms are given):
//
//	supported = min( 0.20 × equity⁺,
//	                 0.50 × working capital⁺ + 0.05 × revenue⁺,
//	                 0.50 × revenue⁺ × T / 365 )
//
// from the latest statement (a cap whose figures are absent is skipped); without any of them,
// 0.50 × average monthly bank inflows × T / 30; otherwise 0. The risk factor
// k = clamp((D − PD) / (D − 0.05%), 0, 1), D the model's decline threshold (8% in rules 1),
// scales it down as PD rises, to 0 at the decline threshold. The need is the requested amount, or the scaled supported amount when none is
// asked. limit = min(need, k × supported), rounded down to a whole unit of L, zero on decline.
// When the need exceeds k × supported the engine asks for guarantees.
const (
	limitEquityShare   = 0.20
	limitWCShare       = 0.50
	limitRevenueFloor  = 0.05
	limitTermShare     = 0.50
	limitBankShare     = 0.50
	defaultTermsDays   = 30
	maxLimitMajorUnits = 9e12 // keeps minor units within int64 for any exponent up to 4
)

type limitResult struct {
	money Money
	short bool // the need exceeds what the firm supports at its risk
	// supported is what the firm's figures support before risk, k the risk factor, in currency cur
	// (partner products build on them).
	supported, k float64
	cur          string
	// statementSilent: a statement exists but none of its figures capped the limit (the bank inflows
	// did). Partner products read that as nothing supported.
	statementSilent bool
}

func (ev *evaluation) limitCurrency() string {
	if r := ev.req.Request; r != nil && r.Currency != "" {
		return r.Currency
	}
	if ev.latest >= 0 {
		return ev.req.Financials[ev.latest].Currency
	}
	return "EUR"
}

func (ev *evaluation) limit(pd, declinePD float64) limitResult {
	cur := ev.limitCurrency()
	terms := float64(defaultTermsDays)
	if r := ev.req.Request; r != nil && r.TermsDays != nil {
		terms = math.Max(float64(*r.TermsDays), defaultTermsDays)
	}
	supported := math.Inf(1)
	capBy := func(v float64, from string) {
		if math.IsNaN(v) {
			return
		}
		if c, ok := convert(v, from, cur); ok {
			supported = math.Min(supported, c)
		} else {
			supported = 0 // figures that cannot be converted support nothing
		}
	}
	if ev.latest >= 0 {
		s := &ev.req.Financials[ev.latest]
		f := figuresOf(s)
		capBy(limitEquityShare*math.Max(f.eq, 0), s.Currency)
		wc := f.ca - f.cl
		if math.IsNaN(wc) && !math.IsNaN(f.rev) {
			wc = 0
		}
		capBy(limitWCShare*math.Max(wc, 0)+limitRevenueFloor*math.Max(orZero(f.rev), 0), s.Currency)
		capBy(limitTermShare*math.Max(f.rev, 0)*terms/365, s.Currency)
	}
	statementSilent := ev.latest >= 0 && math.IsInf(supported, 1)
	if math.IsInf(supported, 1) {
		if avg, from, ok := ev.averageInflows(cur); ok {
			capBy(limitBankShare*avg*terms/30, from)
		}
	}
	if math.IsInf(supported, 1) {
		supported = 0
	}
	k := math.Max(0, math.Min(1, (declinePD-pd)/(declinePD-PDFloor)))
	capacity := math.Min(k*supported, maxLimitMajorUnits)
	need := capacity
	if r := ev.req.Request; r != nil && r.Amount != nil {
		need = *r.Amount
	}
	amount := math.Floor(math.Min(need, capacity))
	res := limitResult{short: need > capacity+0.5, supported: supported, k: k, cur: cur, statementSilent: statementSilent}
	res.money = Money{Amount: int64(amount) * pow10(MinorUnits(cur)), Currency: cur}
	return res
}

// averageInflows is the average of the bank months' inflows and their currency (cur when the bank
// names none); ok is false without a month that gives its inflows.
func (ev *evaluation) averageInflows(cur string) (avg float64, currency string, ok bool) {
	b := ev.req.Bank
	if b == nil {
		return 0, "", false
	}
	var in float64
	var n int
	for i := range b.Months {
		if v := b.Months[i].Inflows; v != nil {
			in += *v
			n++
		}
	}
	if n == 0 {
		return 0, "", false
	}
	currency = b.Currency
	if currency == "" {
		currency = cur
	}
	return in / float64(n), currency, true
}

func orZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func pow10(n int) int64 {
	p := int64(1)
	for i := 0; i < n; i++ {
		p *= 10
	}
	return p
}
