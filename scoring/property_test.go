package scoring_test

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoring/scoringtest"
)

// These tests see the engine from outside, on a random population of firms.

var testDate = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

func num(v float64) *float64 { return &v }
func count(v int) *int       { return &v }

func newEngine(t testing.TB) *scoring.Engine {
	t.Helper()
	e, err := scoring.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func evaluate(t testing.TB, e *scoring.Engine, req scoring.Request) scoring.Result {
	t.Helper()
	r, err := e.Evaluate(&req, scoring.Options{AsOf: testDate})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return r
}

const propertyRuns = 3000

func TestResultsStayInRange(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < propertyRuns; i++ {
		req := scoringtest.RandomRequest(rng, testDate)
		r := evaluate(t, e, req)
		if !(r.PD12m > 0 && r.PD12m <= 1) || r.Score < 0 || r.Score > 1000 {
			t.Fatalf("request %d: pd %v score %d, want pd in (0,1] and score in 0..1000", i, r.PD12m, r.Score)
		}
		if len(r.Reasons) > scoring.MaxReasons || r.CreditLimit.Amount < 0 || e.Grade(r.PD12m) != r.Grade {
			t.Fatalf("request %d: %d reasons, limit %d, grade %s for pd %v", i, len(r.Reasons), r.CreditLimit.Amount, r.Grade, r.PD12m)
		}
		if r.Recommendation == scoring.Decline && r.CreditLimit.Amount != 0 {
			t.Fatalf("request %d: declined with a limit of %d", i, r.CreditLimit.Amount)
		}
	}
}

func TestScoreNeverRisesWithPD(t *testing.T) {
	e := newEngine(t)
	rng := rand.New(rand.NewPCG(3, 4))
	rs := make([]scoring.Result, 0, propertyRuns)
	for i := 0; i < propertyRuns; i++ {
		rs = append(rs, evaluate(t, e, scoringtest.RandomRequest(rng, testDate)))
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
		req := scoringtest.RandomRequest(rng, testDate)
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
		req := scoringtest.RandomRequest(rng, testDate)
		before := evaluate(t, e, req)
		withEvent := deepCopy(req)
		withEvent.LegalEvents = append(withEvent.LegalEvents, scoring.LegalEvent{Type: scoring.EventPaymentIncident,
			Date: testDate.AddDate(0, -rng.IntN(40), 0).Format(time.DateOnly)})
		if r := evaluate(t, e, withEvent); r.Score > before.Score {
			t.Fatalf("request %d: a payment incident raised the score from %d to %d", i, before.Score, r.Score)
		}
		withCount := deepCopy(req)
		if withCount.Payments == nil {
			withCount.Payments = &scoring.Payments{}
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
		req := scoringtest.RandomRequest(rng, testDate)
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
	req := scoringtest.RandomRequest(rand.New(rand.NewPCG(13, 14)), testDate)
	a, b := evaluate(t, e, req), evaluate(t, e, req)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two evaluations differ:\n%+v\n%+v", a, b)
	}
}

func deepCopy(r scoring.Request) scoring.Request {
	c := r
	c.Financials = append([]scoring.Statement(nil), r.Financials...)
	c.LegalEvents = append([]scoring.LegalEvent(nil), r.LegalEvents...)
	if r.Bank != nil {
		b := *r.Bank
		b.Months = append([]scoring.BankMonth(nil), r.Bank.Months...)
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
	reqs := make([]scoring.Request, 64)
	want := make([]scoring.Result, len(reqs))
	for i := range reqs {
		reqs[i] = scoringtest.RandomRequest(rng, testDate)
		want[i] = evaluate(t, e, reqs[i])
	}
	errs := make(chan string, 8)
	done := make(chan struct{})
	for w := 0; w < 8; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			for k := range reqs {
				i := (k + w*7) % len(reqs)
				got, err := e.Evaluate(&reqs[i], scoring.Options{AsOf: testDate})
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					errs <- "request " + strconv.Itoa(i) + " gave a different result under concurrency"
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
