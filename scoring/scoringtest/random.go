// Package scoringtest draws requests for tests of the scoring engine and its callers: a random
// population that covers sound, distressed, odd and sparse firms.
package scoringtest

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
)

// RandomRequest draws a valid request: any block may be absent, figures range from sound to
// distressed and odd (unbalanced, negative equity or cash), liabilities and assets stay positive.
func RandomRequest(rng *rand.Rand, asOf time.Time) scoring.Request {
	maybe := func(p float64) bool { return rng.Float64() < p }
	amount := func(lo, hi float64) *float64 {
		if maybe(0.08) {
			return nil
		}
		return num(lo + (hi-lo)*rng.Float64())
	}
	r := scoring.Request{Company: scoring.Company{ID: "R-" + strconv.Itoa(rng.IntN(1e6)), Name: "Random company"}}
	if maybe(0.6) {
		r.Company.IncorporatedOn = time.Date(1960+rng.IntN(66), 1+time.Month(rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	if maybe(0.6) {
		r.Company.NACE = []string{"62.01", "41.20", "56.10", "47.11", "86.21", "10.71", "6820"}[rng.IntN(7)]
	}
	if maybe(0.6) {
		r.Company.LegalForm = []string{"SAS", "SARL", "EI", "SA", "GmbH", "Ltd", "Coop"}[rng.IntN(7)]
	}
	if maybe(0.9) {
		ta := 1e4 + 1e8*rng.Float64()*rng.Float64()
		s := scoring.Statement{PeriodEnd: []string{"2024-12-31", "2023-06-30", "2016-12-31"}[rng.IntN(3)],
			Currency: []string{"EUR", "EUR", "PLN", "JPY", "XBT"}[rng.IntN(5)]}
		s.TotalAssets = num(ta)
		s.TotalLiabilities = amount(0.05*ta, 1.6*ta)
		s.CurrentLiabilities = amount(0.01*ta, 1.1*ta)
		s.Equity = amount(-0.5*ta, 0.9*ta)
		s.CurrentAssets = amount(0.05*ta, 1.1*ta)
		s.Cash = amount(-0.01*ta, 0.4*ta)
		s.Receivables = amount(0, 0.5*ta)
		s.Inventory = amount(0, 0.5*ta)
		s.RetainedEarnings = amount(-0.6*ta, 0.6*ta)
		s.Revenue = amount(0, 4*ta)
		s.EBIT = amount(-0.3*ta, 0.3*ta)
		s.NetIncome = amount(-0.3*ta, 0.25*ta)
		s.InterestExpense = amount(0, 0.1*ta)
		s.Depreciation = amount(0, 0.1*ta)
		r.Financials = []scoring.Statement{s}
		if maybe(0.5) {
			r.Financials = append(r.Financials, scoring.Statement{PeriodEnd: "2010-12-31", Currency: s.Currency,
				Revenue: amount(0, 4*ta), NetIncome: amount(-0.2*ta, 0.2*ta)})
		}
	}
	if maybe(0.5) {
		in := 1e3 + 1e6*rng.Float64()
		r.Bank = &scoring.Bank{Months: months(asOf, 1+rng.IntN(24), in, in*(0.7+0.6*rng.Float64()), -5e4+1e5*rng.Float64())}
	}
	if maybe(0.5) {
		r.Payments = &scoring.Payments{DaysBeyondTermsAvg: amount(-5, 120), LateInvoiceRatio: amount(0, 1)}
		if maybe(0.8) {
			r.Payments.Incidents12m = count(rng.IntN(6))
		}
	}
	for maybe(0.3) {
		types := []string{scoring.EventPaymentIncident, scoring.EventCourtJudgment, scoring.EventTaxLien, scoring.EventCollectiveProceeding, "director_change"}
		e := scoring.LegalEvent{Type: types[rng.IntN(len(types))], Date: asOf.AddDate(0, -rng.IntN(72), 0).Format(time.DateOnly)}
		if e.Type == scoring.EventCollectiveProceeding && maybe(0.7) {
			e.EndedOn = asOf.AddDate(0, -rng.IntN(12), 0).Format(time.DateOnly)
		}
		r.LegalEvents = append(r.LegalEvents, e)
	}
	if maybe(0.7) {
		r.Request = &scoring.CreditRequest{Amount: amount(0, 1e6)}
		if maybe(0.5) {
			r.Request.TermsDays = count(rng.IntN(120))
		}
	}
	return r
}

// months returns n bank months of steady flows, the last one the month of asOf minus one (May
// for a date in June), oldest first.
func months(asOf time.Time, n int, in, out, minBalance float64) []scoring.BankMonth {
	first := time.Date(asOf.Year(), asOf.Month()-1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1-n, 0)
	ms := make([]scoring.BankMonth, 0, n)
	for k := 0; k < n; k++ {
		ms = append(ms, scoring.BankMonth{Month: first.AddDate(0, k, 0).Format("2006-01"), Inflows: num(in), Outflows: num(out),
			MinBalance: num(minBalance), EndBalance: num(minBalance + 10000)})
	}
	return ms
}

func num(v float64) *float64 { return &v }
func count(v int) *int       { return &v }

// EdgeRequest draws a valid request whose latest statement is extreme rather than plausible:
// each figure, relative to total assets, anywhere from a millionth to a thousand times, zero, or
// (for those that can be) negative; total assets themselves from one unit to ten billion; any
// figure may be absent. It is the population on which a property that only holds for sound
// statements fails.
func EdgeRequest(rng *rand.Rand, asOf time.Time) scoring.Request {
	ta := math.Pow(10, 10*rng.Float64())
	amount := func(signed bool) *float64 {
		switch u := rng.Float64(); {
		case u < 0.12:
			return nil
		case u < 0.2:
			return num(0)
		}
		v := ta * math.Pow(10, -6+9*rng.Float64())
		if signed && rng.Float64() < 0.3 {
			v = -v
		}
		return num(math.Round(v))
	}
	s := scoring.Statement{PeriodEnd: "2024-12-31", Currency: []string{"EUR", "PLN", "JPY", "XBT"}[rng.IntN(4)]}
	s.TotalAssets = num(math.Round(ta))
	if rng.Float64() < 0.05 {
		s.TotalAssets = nil
	}
	s.CurrentAssets, s.Cash, s.Receivables, s.Inventory = amount(false), amount(true), amount(false), amount(false)
	s.TotalLiabilities, s.CurrentLiabilities, s.Equity = amount(false), amount(false), amount(true)
	s.RetainedEarnings, s.Revenue, s.EBIT, s.NetIncome = amount(true), amount(false), amount(true), amount(true)
	s.InterestExpense, s.Depreciation = amount(false), amount(false)
	r := scoring.Request{Company: scoring.Company{ID: "E-" + strconv.Itoa(rng.IntN(1e6)), Name: "Edge company"},
		Financials: []scoring.Statement{s}}
	if rng.Float64() < 0.5 {
		r.Financials = append(r.Financials, scoring.Statement{PeriodEnd: "2023-12-31", Currency: s.Currency,
			Revenue: amount(false), NetIncome: amount(true)})
	}
	if rng.Float64() < 0.3 {
		r.Payments = &scoring.Payments{DaysBeyondTermsAvg: num(float64(rng.IntN(120))), Incidents12m: count(rng.IntN(4))}
	}
	return r
}
