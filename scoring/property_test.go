package scoring

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"
)

// randomRequest draws a valid request: any block may be absent, figures range from sound to
// distressed and odd (unbalanced, negative equity or cash), liabilities and assets stay positive.
func randomRequest(rng *rand.Rand) Request {
	maybe := func(p float64) bool { return rng.Float64() < p }
	amount := func(lo, hi float64) *float64 {
		if maybe(0.08) {
			return nil
		}
		return num(lo + (hi-lo)*rng.Float64())
	}
	r := Request{Company: Company{ID: "R-" + itoa(rng.IntN(1e6)), Name: "Random company"}}
	if maybe(0.6) {
		r.Company.IncorporatedOn = time.Date(1960+rng.IntN(66), 1+time.Month(rng.IntN(12)), 1, 0, 0, 0, 0, time.UTC).Format(dateLayout)
	}
	if maybe(0.6) {
		r.Company.NACE = []string{"62.01", "41.20", "56.10", "47.11", "86.21", "10.71", "6820"}[rng.IntN(7)]
	}
	if maybe(0.6) {
		r.Company.LegalForm = []string{"SAS", "SARL", "EI", "SA", "GmbH", "Ltd", "Coop"}[rng.IntN(7)]
	}
	if maybe(0.9) {
		ta := 1e4 + 1e8*rng.Float64()*rng.Float64()
		s := Statement{PeriodEnd: []string{"2024-12-31", "2023-06-30", "2016-12-31"}[rng.IntN(3)],
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
		r.Financials = []Statement{s}
		if maybe(0.5) {
			r.Financials = append(r.Financials, Statement{PeriodEnd: "2010-12-31", Currency: s.Currency,
				Revenue: amount(0, 4*ta), NetIncome: amount(-0.2*ta, 0.2*ta)})
		}
	}
	if maybe(0.5) {
		in := 1e3 + 1e6*rng.Float64()
		r.Bank = &Bank{Months: months(1+rng.IntN(24), in, in*(0.7+0.6*rng.Float64()), -5e4+1e5*rng.Float64())}
	}
	if maybe(0.5) {
		r.Payments = &Payments{DaysBeyondTermsAvg: amount(-5, 120), LateInvoiceRatio: amount(0, 1)}
		if maybe(0.8) {
			r.Payments.Incidents12m = count(rng.IntN(6))
		}
	}
	for maybe(0.3) {
		types := []string{EventPaymentIncident, EventCourtJudgment, EventTaxLien, EventCollectiveProceeding, "director_change"}
		e := LegalEvent{Type: types[rng.IntN(len(types))], Date: testDate.AddDate(0, -rng.IntN(72), 0).Format(dateLayout)}
		if e.Type == EventCollectiveProceeding && maybe(0.7) {
			e.EndedOn = testDate.AddDate(0, -rng.IntN(12), 0).Format(dateLayout)
		}
		r.LegalEvents = append(r.LegalEvents, e)
	}
	if maybe(0.7) {
		r.Request = &CreditRequest{Amount: amount(0, 1e6)}
		if maybe(0.5) {
			r.Request.TermsDays = count(rng.IntN(120))
		}
	}
	return r
}

const propertyRuns = 3000

func TestResultsStayInRange(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < propertyRuns; i++ {
		req := randomRequest(rng)
		r := evaluate(t, e, req)
		if !(r.PD12m > 0 && r.PD12m <= 1) || r.Score < 0 || r.Score > 1000 {
			t.Fatalf("request %d: pd %v score %d, want pd in (0,1] and score in 0..1000", i, r.PD12m, r.Score)
		}
		if len(r.Reasons) > MaxReasons || r.CreditLimit.Amount < 0 || GradeOf(r.PD12m) != r.Grade {
			t.Fatalf("request %d: %d reasons, limit %d, grade %s for pd %v", i, len(r.Reasons), r.CreditLimit.Amount, r.Grade, r.PD12m)
		}
		if r.Recommendation == Decline && r.CreditLimit.Amount != 0 {
			t.Fatalf("request %d: declined with a limit of %d", i, r.CreditLimit.Amount)
		}
	}
}

func TestScoreNeverRisesWithPD(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(3, 4))
	rs := make([]Result, 0, propertyRuns)
	for i := 0; i < propertyRuns; i++ {
		rs = append(rs, evaluate(t, e, randomRequest(rng)))
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].PD12m < rs[b].PD12m })
	for i := 1; i < len(rs); i++ {
		if rs[i].Score > rs[i-1].Score {
			t.Fatalf("pd %v scores %d but lower pd %v scores %d", rs[i].PD12m, rs[i].Score, rs[i-1].PD12m, rs[i-1].Score)
		}
	}
}

func TestMoreDebtNeverRaisesTheScore(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < propertyRuns; i++ {
		req := randomRequest(rng)
		if len(req.Financials) == 0 {
			continue
		}
		before := evaluate(t, e, req)
		// Debt replaces equity: liabilities (short-term ones too) grow, equity shrinks, assets stay.
		more := deepCopy(req)
		s := &more.Financials[0]
		d := (0.01 + rng.Float64()) * *s.TotalAssets
		for _, p := range []**float64{&s.TotalLiabilities, &s.CurrentLiabilities} {
			if *p != nil {
				*p = num(**p + d)
			}
		}
		if s.Equity != nil {
			s.Equity = num(*s.Equity - d)
		}
		after := evaluate(t, e, more)
		if after.Score > before.Score {
			t.Fatalf("request %d: %.0f more debt raised the score from %d to %d", i, d, before.Score, after.Score)
		}
	}
}

func TestAnAddedIncidentNeverRaisesTheScore(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < propertyRuns; i++ {
		req := randomRequest(rng)
		before := evaluate(t, e, req)
		withEvent := deepCopy(req)
		withEvent.LegalEvents = append(withEvent.LegalEvents, LegalEvent{Type: EventPaymentIncident,
			Date: testDate.AddDate(0, -rng.IntN(40), 0).Format(dateLayout)})
		if r := evaluate(t, e, withEvent); r.Score > before.Score {
			t.Fatalf("request %d: a payment incident raised the score from %d to %d", i, before.Score, r.Score)
		}
		withCount := deepCopy(req)
		if withCount.Payments == nil {
			withCount.Payments = &Payments{}
		}
		n := 0
		if withCount.Payments.Incidents12m != nil {
			n = *withCount.Payments.Incidents12m
		}
		withCount.Payments.Incidents12m = count(n + 1)
		if r := evaluate(t, e, withCount); r.Score > before.Score {
			t.Fatalf("request %d: one more supplier incident raised the score from %d to %d", i, before.Score, r.Score)
		}
	}
}

func TestCompanyIdentityNeverChangesTheResult(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 500; i++ {
		req := randomRequest(rng)
		a := evaluate(t, e, req)
		other := deepCopy(req)
		other.Company.ID, other.Company.Name = "Z-999999", "Another name entirely"
		if b := evaluate(t, e, other); !reflect.DeepEqual(a, b) {
			t.Fatalf("request %d: changing id and name changed the result:\n%+v\n%+v", i, a, b)
		}
	}
}

func TestSameInputSameOutput(t *testing.T) {
	e := newEngine(t)
	req := healthyRequest()
	a, b := evaluate(t, e, req), evaluate(t, e, req)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two evaluations differ:\n%+v\n%+v", a, b)
	}
}

func deepCopy(r Request) Request {
	c := r
	c.Financials = append([]Statement(nil), r.Financials...)
	c.LegalEvents = append([]LegalEvent(nil), r.LegalEvents...)
	if r.Bank != nil {
		b := *r.Bank
		b.Months = append([]BankMonth(nil), r.Bank.Months...)
		c.Bank = &b
	}
	if r.Payments != nil {
		p := *r.Payments
		c.Payments = &p
	}
	if r.Request != nil {
		q := *r.Request
		c.Request = &q
	}
	return c
}

func TestConcurrentEvaluationsAgree(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(11, 12))
	reqs := make([]Request, 64)
	want := make([]Result, len(reqs))
	for i := range reqs {
		reqs[i] = randomRequest(rng)
		want[i] = evaluate(t, e, reqs[i])
	}
	errs := make(chan string, 8)
	done := make(chan struct{})
	for w := 0; w < 8; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			for k := range reqs {
				i := (k + w*7) % len(reqs)
				got, err := e.Evaluate(&reqs[i], Options{AsOf: testDate})
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					errs <- "request " + itoa(i) + " gave a different result under concurrency"
					return
				}
			}
		}(w)
	}
	for w := 0; w < 8; w++ {
		<-done
	}
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
