package sandbox

import (
	"math"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
)

// accounts are one year's figures in major units; NaN leaves a field absent. When equity is NaN
// and both totals are present it is set to assets minus liabilities, so statements balance
// unless a company is meant not to.
type accounts struct {
	ta, ca, cash, rec, inv, tl, cl, eq, re, rev, ebit, ni, interest, dep float64
}

var absent = math.NaN()

func amount(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func (a accounts) statement(period, currency string) scoring.Statement {
	eq := a.eq
	if eq == 0 && !math.IsNaN(a.ta) && !math.IsNaN(a.tl) {
		eq = a.ta - a.tl
	}
	return scoring.Statement{
		PeriodEnd: period, Currency: currency,
		TotalAssets: amount(a.ta), CurrentAssets: amount(a.ca), Cash: amount(a.cash),
		Receivables: amount(a.rec), Inventory: amount(a.inv), TotalLiabilities: amount(a.tl),
		CurrentLiabilities: amount(a.cl), Equity: amount(eq), RetainedEarnings: amount(a.re),
		Revenue: amount(a.rev), EBIT: amount(a.ebit), NetIncome: amount(a.ni),
		InterestExpense: amount(a.interest), Depreciation: amount(a.dep),
	}
}

// grow returns last year's accounts of a firm whose size changed by the factor since then,
// with the given net income.
func (a accounts) grow(factor, netIncome float64) accounts {
	p := a
	for _, f := range []*float64{&p.ta, &p.ca, &p.cash, &p.rec, &p.inv, &p.tl, &p.cl, &p.rev, &p.ebit, &p.interest, &p.dep} {
		*f /= factor
	}
	p.eq, p.ni = 0, netIncome
	p.re = a.re - a.ni
	return p
}

// months builds n bank months ending in May 2026: inflows start at in and change by trend a
// month (a share of in), outflows are in × spend, the lowest balance starts at low and moves by
// drift a month. The pattern is deterministic.
func months(n int, in, trend, spend, low, drift float64) *scoring.Bank {
	b := &scoring.Bank{Currency: "EUR", Months: make([]scoring.BankMonth, n)}
	t := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1-n, 0)
	wobble := []float64{1, 0.94, 1.07, 0.98, 1.03, 0.96}
	for i := range b.Months {
		inflow := in * (1 + trend*float64(i)) * wobble[i%len(wobble)]
		minBal := low + drift*float64(i)
		b.Months[i] = scoring.BankMonth{
			Month: t.Format("2006-01"), Inflows: amount(math.Round(inflow)), Outflows: amount(math.Round(inflow * spend)),
			MinBalance: amount(math.Round(minBal)), EndBalance: amount(math.Round(minBal + 0.2*in)),
		}
		t = t.AddDate(0, 1, 0)
	}
	return b
}

func payments(daysLate float64, incidents int, lateRatio float64) *scoring.Payments {
	return &scoring.Payments{DaysBeyondTermsAvg: amount(daysLate), Incidents12m: &incidents, LateInvoiceRatio: amount(lateRatio)}
}

func credit(amountEUR float64, terms int) *scoring.CreditRequest {
	return &scoring.CreditRequest{Amount: amount(amountEUR), Currency: "EUR", TermsDays: &terms}
}

func company(legalForm, incorporated string) scoring.Company {
	return scoring.Company{LegalForm: legalForm, IncorporatedOn: incorporated}
}
