package sandbox

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketfin/rocketfin/scoring"
)

// productCases are the golden partner-product cases: an accepted, a guaranteed and a declined
// catalog company, each assessed for every product with a modest amount and a large one.
var productCases = []struct {
	product    string
	amount     float64
	termsDays  int
	termMonths int
}{
	{scoring.ProductTradeCredit, 50_000, 60, 0},
	{scoring.ProductFactoring, 40_000, 90, 0},
	{scoring.ProductFactoring, 5_000_000, 90, 0},
	{scoring.ProductLeasing, 60_000, 0, 48},
	{scoring.ProductLeasing, 3_000_000, 0, 84},
	{scoring.ProductCreditInsurance, 30_000, 60, 0},
	{scoring.ProductCreditInsurance, 2_000_000, 60, 0},
}

func productRequest(t *testing.T, id string, c struct {
	product    string
	amount     float64
	termsDays  int
	termMonths int
}) scoring.Request {
	req, ok := Lookup(id)
	if !ok {
		t.Fatalf("no catalog company %s", id)
	}
	amount := c.amount
	req.Request = &scoring.CreditRequest{Product: c.product, Amount: &amount, Currency: "EUR"}
	if c.termsDays > 0 {
		d := c.termsDays
		req.Request.TermsDays = &d
	}
	if c.termMonths > 0 {
		m := c.termMonths
		req.Request.TermMonths = &m
	}
	return req
}

// TestPartnerProductsMatchTheGoldenFiles: the partner products' answers for the current model
// change only on purpose (go test ./sandbox -update rewrites them).
func TestPartnerProductsMatchTheGoldenFiles(t *testing.T) {
	e := engine(t)
	picks := map[string]string{}
	for _, c := range Companies() {
		if _, ok := picks[c.Recommendation]; !ok {
			picks[c.Recommendation] = c.ID
		}
	}
	for _, rec := range []string{scoring.Accept, scoring.RequestGuarantees, scoring.Decline} {
		id := picks[rec]
		for _, c := range productCases {
			name := id + "-" + c.product + "-" + jsonNumber(c.amount)
			t.Run(name, func(t *testing.T) {
				req := productRequest(t, id, c)
				res, err := e.Evaluate(&req, scoring.Options{AsOf: EvaluationDate(), Language: "en"})
				if err != nil {
					t.Fatal(err)
				}
				if res.Product == nil || res.Product.Type != c.product {
					t.Fatalf("product terms %+v", res.Product)
				}
				got, _ := json.MarshalIndent(res, "", "  ")
				got = append(got, '\n')
				path := filepath.Join("testdata", "products", name+".golden.json")
				if *update {
					_ = os.MkdirAll(filepath.Dir(path), 0o755)
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("read golden file (go test ./sandbox -update): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s; if intended, go test ./sandbox -update\ngot:\n%s", name, path, got)
				}
			})
		}
	}
}

func jsonNumber(v float64) string { b, _ := json.Marshal(v); return string(b) }

// TestPartnerProductsOnlyTightenWithRisk: for every catalog company and product, the same request
// with worse payment behaviour (a higher PD) never gets a larger limit, advance, purchase limit,
// asset value or cover, nor a better recommendation; without statements it is never accepted.
func TestPartnerProductsOnlyTightenWithRisk(t *testing.T) {
	e := engine(t)
	rank := map[string]int{scoring.Accept: 0, scoring.RequestGuarantees: 1, scoring.Decline: 2}
	for _, co := range Companies() {
		for _, c := range productCases {
			base := productRequest(t, co.ID, c)
			worse := productRequest(t, co.ID, c)
			days, incidents, late := 75.0, 4, 0.8
			worse.Payments = &scoring.Payments{DaysBeyondTermsAvg: &days, Incidents12m: &incidents, LateInvoiceRatio: &late}
			a, err := e.Evaluate(&base, scoring.Options{AsOf: EvaluationDate()})
			if err != nil {
				t.Fatal(err)
			}
			b, err := e.Evaluate(&worse, scoring.Options{AsOf: EvaluationDate()})
			if err != nil {
				t.Fatal(err)
			}
			if b.PD12m < a.PD12m {
				continue // the deterioration did not raise the PD (already at the floor or in default)
			}
			pa, pb := a.Product, b.Product
			if b.CreditLimit.Amount > a.CreditLimit.Amount || rank[b.Recommendation] < rank[a.Recommendation] ||
				termAmount(pb.PurchaseLimit) > termAmount(pa.PurchaseLimit) || termAmount(pb.AdvanceAmount) > termAmount(pa.AdvanceAmount) ||
				termAmount(pb.MaxAssetValue) > termAmount(pa.MaxAssetValue) || termAmount(pb.InsurableLimit) > termAmount(pa.InsurableLimit) ||
				(pa.AdvanceRate != nil && *pb.AdvanceRate > *pa.AdvanceRate) {
				t.Errorf("%s %s: a higher PD (%v > %v) loosened the terms: %+v then %+v", co.ID, c.product, b.PD12m, a.PD12m, pa, pb)
			}
			noStatements := productRequest(t, co.ID, c)
			noStatements.Financials = nil
			if !(len(noStatements.LegalEvents) > 0 || noStatements.Payments != nil || noStatements.Bank != nil) {
				continue
			}
			r, err := e.Evaluate(&noStatements, scoring.Options{AsOf: EvaluationDate()})
			if err != nil {
				t.Fatal(err)
			}
			if r.Recommendation == scoring.Accept {
				t.Errorf("%s %s without statements is accepted", co.ID, c.product)
			}
		}
	}
}

// TestWithheldFiguresNeverEarnAPartnerProductMore: the same request with the latest statement's
// figures left out never gets a larger limit, purchase limit, asset value or cover.
func TestWithheldFiguresNeverEarnAPartnerProductMore(t *testing.T) {
	e := engine(t)
	for _, co := range Companies() {
		for _, c := range productCases {
			if c.product == scoring.ProductTradeCredit {
				continue // the trade credit limit of the embedded models is the scoring core's own rule
			}
			base := productRequest(t, co.ID, c)
			if len(base.Financials) == 0 {
				continue
			}
			blind := productRequest(t, co.ID, c)
			latest := 0
			for i := range blind.Financials {
				if blind.Financials[i].PeriodEnd > blind.Financials[latest].PeriodEnd {
					latest = i
				}
			}
			st := &blind.Financials[latest]
			blind.Financials[latest] = scoring.Statement{PeriodEnd: st.PeriodEnd, Currency: st.Currency}
			a, err := e.Evaluate(&base, scoring.Options{AsOf: EvaluationDate()})
			if err != nil {
				t.Fatal(err)
			}
			b, err := e.Evaluate(&blind, scoring.Options{AsOf: EvaluationDate()})
			if err != nil {
				t.Fatal(err)
			}
			pa, pb := a.Product, b.Product
			if b.CreditLimit.Amount > a.CreditLimit.Amount || termAmount(pb.PurchaseLimit) > termAmount(pa.PurchaseLimit) ||
				termAmount(pb.MaxAssetValue) > termAmount(pa.MaxAssetValue) || termAmount(pb.InsurableLimit) > termAmount(pa.InsurableLimit) {
				t.Errorf("%s %s: withholding the statement's figures loosened the terms: %+v then %+v", co.ID, c.product, pa, pb)
			}
		}
	}
}

// termAmount is a product term's amount, 0 when the product has no such term.
func termAmount(m *scoring.Money) int64 {
	if m == nil {
		return 0
	}
	return m.Amount
}
