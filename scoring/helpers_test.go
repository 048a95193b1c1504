package scoring

import (
	"testing"
	"time"
)

func num(v float64) *float64 { return &v }
func count(v int) *int       { return &v }

var testDate = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

// healthyRequest is a sound French software firm with every input present.
func healthyRequest() Request {
	return Request{
		Company: Company{ID: "732829320", IDType: "siren", Name: "Exemple Logiciels SAS", Country: "FR",
			NACE: "62.01", LegalForm: "SAS", IncorporatedOn: "2009-03-01"},
		Financials: []Statement{
			{PeriodEnd: "2024-12-31", Currency: "EUR", TotalAssets: num(2e6), CurrentAssets: num(1.2e6),
				Cash: num(3e5), Receivables: num(5e5), Inventory: num(2e5), TotalLiabilities: num(1.1e6),
				CurrentLiabilities: num(7e5), Equity: num(9e5), RetainedEarnings: num(4e5), Revenue: num(3.5e6),
				EBIT: num(2.5e5), NetIncome: num(1.6e5), InterestExpense: num(4e4), Depreciation: num(6e4)},
			{PeriodEnd: "2023-12-31", Currency: "EUR", TotalAssets: num(1.8e6), Revenue: num(3.2e6), NetIncome: num(1.2e5)},
		},
		Bank:     &Bank{Currency: "EUR", Months: months(12, 300000, 280000, 20000)},
		Payments: &Payments{DaysBeyondTermsAvg: num(2), Incidents12m: count(0), LateInvoiceRatio: num(0.05)},
		Request:  &CreditRequest{Amount: num(50000), Currency: "EUR", TermsDays: count(60)},
	}
}

// strainedRequest is healthyRequest with thin equity, heavy debt and suppliers paid two months
// late: not accepted, but within reach of accept.
func strainedRequest() Request {
	req := healthyRequest()
	req.Payments = &Payments{DaysBeyondTermsAvg: num(60), Incidents12m: count(0), LateInvoiceRatio: num(0.2)}
	s := &req.Financials[0]
	s.Equity, s.TotalLiabilities, s.CurrentLiabilities = num(2e5), num(1.8e6), num(1.1e6)
	return req
}

// months returns n bank months up to 2025-05 with steady flows.
func months(n int, in, out, minBalance float64) []BankMonth {
	ms := make([]BankMonth, n)
	t := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := n - 1; i >= 0; i-- {
		ms[i] = BankMonth{Month: t.Format("2006-01"), Inflows: num(in), Outflows: num(out), MinBalance: num(minBalance), EndBalance: num(minBalance + 10000)}
		t = t.AddDate(0, -1, 0)
	}
	return ms
}

func newEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func evaluate(t testing.TB, e *Engine, req Request) Result {
	t.Helper()
	r, err := e.Evaluate(&req, Options{AsOf: testDate})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return r
}
