package scoring

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestEngineVersionNamesTheModelFile(t *testing.T) {
	e := newEngine(t)
	if e.Version() != ModelName {
		t.Fatalf("Version() = %q, want %q", e.Version(), ModelName)
	}
	if r := evaluate(t, e, healthyRequest()); r.ModelVersion != ModelName {
		t.Errorf("model_version = %q, want %q", r.ModelVersion, ModelName)
	}
}

func TestEvaluateRequiresAnEvaluationDate(t *testing.T) {
	req := healthyRequest()
	if _, err := newEngine(t).Evaluate(&req, Options{}); !errors.Is(err, ErrNoDate) {
		t.Fatalf("Evaluate without AsOf = %v, want ErrNoDate", err)
	}
}

func TestEvaluateRejectsMalformedInputWithFieldErrors(t *testing.T) {
	req := healthyRequest()
	req.Financials[0].Currency = "euro"
	_, err := newEngine(t).Evaluate(&req, Options{AsOf: testDate})
	var ve ValidationErrors
	if !errors.As(err, &ve) || ve[0].Field != "financials[0].currency" {
		t.Fatalf("Evaluate = %v, want ValidationErrors on financials[0].currency", err)
	}
}

func TestDecisions(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		name   string
		modify func(r *Request)
		rec    string
		grade  string // "" means any
		check  func(t *testing.T, r Result)
	}{
		{"a sound firm is accepted with the amount it asked", func(r *Request) {}, Accept, "", func(t *testing.T, r Result) {
			if r.CreditLimit != (Money{Amount: 5000000, Currency: "EUR"}) {
				t.Errorf("credit_limit = %+v, want the 50,000.00 EUR asked", r.CreditLimit)
			}
		}},
		{"an open collective proceeding is default and decline", func(r *Request) {
			r.LegalEvents = []LegalEvent{{Type: EventCollectiveProceeding, Date: "2025-04-02"}}
		}, Decline, DefaultGrade, func(t *testing.T, r Result) {
			if r.PD12m != 1 || r.Score != 0 || r.CreditLimit.Amount != 0 {
				t.Errorf("pd %v score %d limit %d, want 1, 0, 0", r.PD12m, r.Score, r.CreditLimit.Amount)
			}
			if r.Reasons[0].Code != codeLegalCollectiveProceeding {
				t.Errorf("first reason %s, want %s", r.Reasons[0].Code, codeLegalCollectiveProceeding)
			}
		}},
		{"a proceeding that ended is no default but costs points", func(r *Request) {
			r.LegalEvents = []LegalEvent{{Type: EventCollectiveProceeding, Date: "2021-01-10", EndedOn: "2022-06-30"}}
		}, "", "", func(t *testing.T, r Result) {
			if r.Grade == DefaultGrade || !hasReason(r, codeLegalPastProceeding) {
				t.Errorf("grade %s reasons %+v, want a non-default grade and %s", r.Grade, r.Reasons, codeLegalPastProceeding)
			}
		}},
		{"a recent payment incident floors the PD in R4", func(r *Request) {
			r.LegalEvents = []LegalEvent{{Type: EventPaymentIncident, Date: "2025-02-01"}}
		}, "", "", func(t *testing.T, r Result) {
			floor := e.decision.IncidentFloorPD
			if r.PD12m < floor || gradeRank(e, r.Grade) < gradeRank(e, "R4") {
				t.Errorf("pd %v grade %s, want at least %v and R4 or worse", r.PD12m, r.Grade, floor)
			}
			if !hasReason(r, codeLegalPaymentIncident) {
				t.Errorf("reasons %+v, want %s", r.Reasons, codeLegalPaymentIncident)
			}
		}},
		{"a need above what the firm supports asks for guarantees", func(r *Request) {
			r.Request.Amount = num(5e6)
		}, RequestGuarantees, "", func(t *testing.T, r Result) {
			if r.CreditLimit.Amount <= 0 || r.CreditLimit.Amount >= 5e8 {
				t.Errorf("credit_limit %d, want a positive limit below the need", r.CreditLimit.Amount)
			}
		}},
		{"a firm in distress is declined with no limit", func(r *Request) {
			s := &r.Financials[0]
			s.Equity, s.TotalLiabilities, s.CurrentLiabilities = num(-6e5), num(2.6e6), num(2.2e6)
			s.EBIT, s.NetIncome, s.RetainedEarnings, s.Cash = num(-4e5), num(-5e5), num(-9e5), num(1e3)
			r.Financials[1].NetIncome = num(-2e5)
			r.Payments = &Payments{DaysBeyondTermsAvg: num(75), Incidents12m: count(4), LateInvoiceRatio: num(0.7)}
			r.Bank.Months = months(12, 200000, 260000, -40000)
		}, Decline, "", func(t *testing.T, r Result) {
			if r.CreditLimit.Amount != 0 {
				t.Errorf("credit_limit %d, want 0 on decline", r.CreditLimit.Amount)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := healthyRequest()
			tt.modify(&req)
			r := evaluate(t, e, req)
			if tt.rec != "" && r.Recommendation != tt.rec {
				t.Errorf("recommendation %s (pd %v, limit %+v), want %s", r.Recommendation, r.PD12m, r.CreditLimit, tt.rec)
			}
			if tt.grade != "" && r.Grade != tt.grade {
				t.Errorf("grade %s, want %s", r.Grade, tt.grade)
			}
			tt.check(t, r)
		})
	}
}

func TestMissingStatementsLeanToCaution(t *testing.T) {
	e := newEngine(t)
	req := healthyRequest()
	req.Financials = nil
	r := evaluate(t, e, req)
	if !hasReason(r, codeNoFinancials) {
		t.Errorf("reasons %+v, want %s", r.Reasons, codeNoFinancials)
	}
	if item, ok := findItem(r.DataQuality.Missing, "financials"); !ok || item.ImpactPoints >= 0 {
		t.Errorf("data_quality.missing %+v, want financials with a negative impact", r.DataQuality.Missing)
	}
	if r.Recommendation == Accept {
		t.Errorf("recommendation accept without any statement, want at best %s", RequestGuarantees)
	}
	bare := evaluate(t, e, Request{Company: Company{ID: "bare"}})
	if bare.Recommendation != Decline {
		t.Errorf("a firm with no data at all: %s (pd %v), want decline", bare.Recommendation, bare.PD12m)
	}
}

func TestMissingFiguresNeverBeatTheRiskiestBin(t *testing.T) {
	e := newEngine(t)
	for _, s := range e.model.Shapes {
		for i, v := range s.Scores {
			if s.Missing < v {
				t.Errorf("shape %s: missing contributes %v, bin %d %v: a missing figure must never beat a present one", s.Feature, s.Missing, i, v)
			}
		}
	}
}

func TestStaleStatementsCostPointsAndAreReported(t *testing.T) {
	e := newEngine(t)
	fresh := evaluate(t, e, healthyRequest())
	req := healthyRequest()
	req.Financials[0].PeriodEnd, req.Financials[1].PeriodEnd = "2019-12-31", "2018-12-31"
	old := evaluate(t, e, req)
	if old.Score >= fresh.Score {
		t.Errorf("statements five years old score %d, fresh ones %d: want lower", old.Score, fresh.Score)
	}
	if item, ok := findItem(old.DataQuality.Stale, "financials[0].period_end"); !ok || item.ImpactPoints >= 0 {
		t.Errorf("data_quality.stale %+v, want the period end with a negative impact", old.DataQuality.Stale)
	}
}

func TestInconsistentStatementsAreScoredAndReported(t *testing.T) {
	req := healthyRequest()
	req.Financials[0].Equity = num(100)
	req.Financials[0].Cash = num(-10)
	r := evaluate(t, newEngine(t), req)
	for _, f := range []string{"financials[0].equity", "financials[0].cash"} {
		if _, ok := findItem(r.DataQuality.Inconsistent, f); !ok {
			t.Errorf("data_quality.inconsistent %+v, want %s", r.DataQuality.Inconsistent, f)
		}
	}
}

func TestCreditLimitCurrency(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		name     string
		modify   func(r *Request)
		currency string
		unit     int64 // the amount is a whole number of major units
	}{
		{"the request's currency", func(r *Request) { r.Request.Currency = "USD" }, "USD", 100},
		{"yen have no minor unit", func(r *Request) { r.Request.Currency = "JPY"; r.Request.Amount = num(5e6) }, "JPY", 1},
		{"dinars have three decimals", func(r *Request) { r.Request.Currency = "KWD"; r.Request.Amount = num(9000) }, "KWD", 1000},
		{"else the statements' currency", func(r *Request) {
			r.Request = nil
			r.Financials[0].Currency, r.Financials[1].Currency = "PLN", "PLN"
		}, "PLN", 100},
		{"else EUR", func(r *Request) { r.Request, r.Financials = nil, nil }, "EUR", 100},
		{"an unknown but well-formed currency is scored", func(r *Request) {
			r.Request = nil
			r.Financials[0].Currency, r.Financials[1].Currency = "XBT", "XBT"
		}, "XBT", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := healthyRequest()
			tt.modify(&req)
			r := evaluate(t, e, req)
			if r.CreditLimit.Currency != tt.currency || r.CreditLimit.Amount%tt.unit != 0 || r.CreditLimit.Amount < 0 {
				t.Errorf("credit_limit %+v, want a whole number of %s in minor units (multiple of %d)", r.CreditLimit, tt.currency, tt.unit)
			}
		})
	}
}

func TestUnknownCurrencyScoresWithoutSizeAndSaysSo(t *testing.T) {
	req := healthyRequest()
	req.Financials[0].Currency, req.Financials[1].Currency = "XBT", "XBT"
	r := evaluate(t, newEngine(t), req)
	if _, ok := findItem(r.DataQuality.Missing, "financials[0].currency"); !ok {
		t.Errorf("data_quality.missing %+v, want financials[0].currency", r.DataQuality.Missing)
	}
	if _, ok := findItem(r.DataQuality.Missing, "financials.log_assets_eur"); !ok {
		t.Errorf("data_quality.missing %+v, want the size feature", r.DataQuality.Missing)
	}
}

func TestReasonsAreTheCostliestTermsFirst(t *testing.T) {
	req := healthyRequest()
	req.Payments = &Payments{DaysBeyondTermsAvg: num(45), Incidents12m: count(2), LateInvoiceRatio: num(0.5)}
	r := evaluate(t, newEngine(t), req)
	if len(r.Reasons) == 0 || len(r.Reasons) > MaxReasons {
		t.Fatalf("%d reasons, want 1 to %d", len(r.Reasons), MaxReasons)
	}
	for i := 1; i < len(r.Reasons); i++ {
		a, b := r.Reasons[i-1].Impact, r.Reasons[i].Impact
		if a < 0 && b < 0 && a > b {
			t.Errorf("reasons %+v: costs must come most costly first", r.Reasons)
		}
	}
	want := points(curve(daysBeyondTermsCurve, 45))
	var found bool
	for _, rs := range r.Reasons {
		if rs.Code == codePayDaysBeyondTerms {
			found = true
			if rs.Impact != want {
				t.Errorf("impact of %s %d, want the exact term %d", rs.Code, rs.Impact, want)
			}
		}
	}
	if !found {
		t.Errorf("reasons %+v, want %s among them (45 days late costs %d points)", r.Reasons, codePayDaysBeyondTerms, want)
	}
}

func TestJustificationFollowsTheLanguageAsked(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		lang, want, reason string
	}{
		{"", "Recommendation: accept", "the risk"},
		{"en-GB", "Recommendation: accept", "the risk"},
		{"pt-PT", "Recomendação: aceitar", "o risco"},
		{"fr-CH, fr;q=0.9, en;q=0.8", "Recommandation : accepter", "le risque"},
		{"de-DE, pt;q=0.5, en;q=0.4", "Recomendação", "o risco"},
		{"de-DE", "Recommendation", "the risk"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			req := healthyRequest()
			r, err := e.Evaluate(&req, Options{AsOf: testDate, Language: tt.lang})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Justification, tt.want) {
				t.Errorf("justification %q, want it to contain %q", r.Justification, tt.want)
			}
			if !strings.Contains(r.Reasons[0].Text, tt.reason) {
				t.Errorf("reason text %q, want it to contain %q", r.Reasons[0].Text, tt.reason)
			}
		})
	}
}

func TestEveryReasonCodeHasTextInEveryLanguage(t *testing.T) {
	codes := []string{codePayDaysBeyondTerms, codePayIncidents, codePayLateRatio, codeBankNegativeBalance,
		codeBankNetFlow, codeBankFlowTrend, codeBankVolatility, codeCompanyAge, codeCompanyLegalForm,
		codeCompanySector, codeLegalCollectiveProceeding, codeLegalPastProceeding, codeLegalPaymentIncident,
		codeLegalCourtJudgment, codeLegalTaxLien, codeConsecutiveLosses, codeNoFinancials, codeStaleStatements}
	for _, f := range Features {
		codes = append(codes, f.Code)
	}
	for _, s := range newEngine(t).model.Shapes {
		codes = append(codes, s.Group)
	}
	codes = append(codes, codeLosses)
	for _, c := range codes {
		l, ok := labels[c]
		if !ok {
			t.Errorf("code %s has no label", c)
			continue
		}
		for i, s := range l {
			if s == "" {
				t.Errorf("code %s has no label in language %d", c, i)
			}
		}
	}
}

func TestScoreScale(t *testing.T) {
	grades := newEngine(t).grades
	tests := []struct {
		pd           float64
		score        int
		legacy, rule string
	}{
		{PDFloor, 919, "AAA", "R1"},
		{1.0 / 51, 600, "B", "R4"},
		{0.01, 659, "BB", "R3"},
		{0.05, 516, "CCC", "R5"},
		{0.5, 261, "CC", "R7"},
		{1, 0, DefaultGrade, DefaultGrade},
	}
	for _, tt := range tests {
		s, l, g := ScoreOf(tt.pd), gradeOf(LegacyGrades, tt.pd), gradeOf(grades, tt.pd)
		if s != tt.score || l != tt.legacy || g != tt.rule {
			t.Errorf("PD %v: score %d grades %s and %s, want %d, %s (rules 1) and %s (rules 2)", tt.pd, s, l, g, tt.score, tt.legacy, tt.rule)
		}
	}
}

func TestCompleteRequestReportsNoGaps(t *testing.T) {
	req := healthyRequest()
	r := evaluate(t, newEngine(t), req)
	if r.DataQuality.Completeness != 1 || len(r.DataQuality.Missing) != 0 {
		t.Errorf("data_quality %+v, want complete with nothing missing", r.DataQuality)
	}
}

func hasReason(r Result, code string) bool {
	for _, x := range r.Reasons {
		if x.Code == code {
			return true
		}
	}
	return false
}

func findItem(items []QualityItem, field string) (QualityItem, bool) {
	for _, it := range items {
		if it.Field == field {
			return it, true
		}
	}
	return QualityItem{}, false
}

func gradeRank(e *Engine, g string) int {
	for i, x := range e.grades {
		if x.Name == g {
			return i
		}
	}
	return len(e.grades)
}

func TestAUnitMistakeIsSaidAndNeverPays(t *testing.T) {
	e := newEngine(t)
	base := evaluate(t, e, healthyRequest())
	for _, tt := range []struct {
		name, field string
		modify      func(s *Statement)
	}{
		{"total assets in thousands", "financials[0].total_assets", func(s *Statement) { s.TotalAssets = num(*s.TotalAssets / 1000) }},
		{"revenue in thousands", "financials[0].revenue", func(s *Statement) { s.Revenue = num(*s.Revenue / 1000) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := healthyRequest()
			tt.modify(&req.Financials[0])
			r := evaluate(t, e, req)
			if r.PD12m < base.PD12m || r.Score > base.Score {
				t.Errorf("pd %v score %d, want no better than the correct statement's pd %v score %d", r.PD12m, r.Score, base.PD12m, base.Score)
			}
			item, ok := findItem(r.DataQuality.Inconsistent, tt.field)
			if !ok || !strings.Contains(item.Message, "another unit") || item.ImpactPoints >= 0 {
				t.Errorf("data_quality.inconsistent %+v, want %s said to be in another unit, at a cost", r.DataQuality.Inconsistent, tt.field)
			}
		})
	}
}

func TestImplausibleRatiosAreScoredAsMissing(t *testing.T) {
	e := newEngine(t)
	req := healthyRequest()
	req.Financials[0].EBIT = num(2 * *req.Financials[0].Revenue) // EBIT twice the revenue
	r := evaluate(t, e, req)
	item, ok := findItem(r.DataQuality.Inconsistent, "financials[0].ebit")
	if !ok || !strings.Contains(item.Message, "ebit_margin scored as missing") {
		t.Errorf("data_quality.inconsistent %+v, want the EBIT margin scored as missing", r.DataQuality.Inconsistent)
	}
	x := ModelFeatures(req.Financials, 2)
	if !math.IsNaN(x[FEBITMargin]) || !math.IsNaN(x[FEBITDAMargin]) {
		t.Errorf("ebit margin %v, ebitda margin %v: want both missing", x[FEBITMargin], x[FEBITDAMargin])
	}
}

func TestAnUnbalancedStatementIsReadPrudently(t *testing.T) {
	req := healthyRequest()
	s := &req.Financials[0]
	s.Equity = num(4e5) // assets 2.0M, liabilities 1.1M: equity should be 0.9M
	x := ModelFeatures(req.Financials, 2)
	if got, want := x[FLeveragePrudent], 1.1e6/(1.1e6+4e5); math.Abs(got-want) > 1e-12 {
		t.Errorf("leverage %v, want %v: liabilities over liabilities plus equity, the smaller total", got, want)
	}
	r := evaluate(t, newEngine(t), req)
	if item, ok := findItem(r.DataQuality.Inconsistent, "financials[0].equity"); !ok || !strings.Contains(item.Message, "25%") {
		t.Errorf("data_quality.inconsistent %+v, want the 25%% gap reported", r.DataQuality.Inconsistent)
	}
}

func TestReasonsStrengthsAndTheShareTheyExplain(t *testing.T) {
	e := newEngine(t)
	req := healthyRequest()
	req.Payments = &Payments{DaysBeyondTermsAvg: num(45), Incidents12m: count(2), LateInvoiceRatio: num(0.5)}
	r := evaluate(t, e, req)
	if len(r.Reasons) == 0 || len(r.Reasons) > MaxReasons || len(r.Strengths) == 0 || len(r.Strengths) > MaxStrengths {
		t.Fatalf("%d reasons and %d strengths, want 1–%d and 1–%d", len(r.Reasons), len(r.Strengths), MaxReasons, MaxStrengths)
	}
	for i, rs := range r.Reasons {
		if rs.Impact >= 0 || (i > 0 && rs.Impact < r.Reasons[i-1].Impact) {
			t.Errorf("reasons %+v: want only costs, most costly first", r.Reasons)
		}
	}
	for i, rs := range r.Strengths {
		if rs.Impact <= 0 || (i > 0 && rs.Impact > r.Strengths[i-1].Impact) {
			t.Errorf("strengths %+v: want only gains, most helpful first", r.Strengths)
		}
	}
	// The share is exact: the listed terms' absolute log-odds over every term's.
	ev := e.collect(&req, testDate, langEN)
	e.outcome(&ev)
	var total, listed float64
	for i := 0; i < ev.n; i++ {
		total += math.Abs(ev.terms[i].logOdds)
		for _, rs := range append(append([]Reason(nil), r.Reasons...), r.Strengths...) {
			if rs.Code == ev.terms[i].code {
				listed += math.Abs(ev.terms[i].logOdds)
			}
		}
	}
	if want := math.Round(1000*listed/total) / 1000; !r.ExplainedShare.Set || r.ExplainedShare.Value != want {
		t.Errorf("explained_share %+v, want %v", r.ExplainedShare, want)
	}
	if !strings.Contains(r.Justification, "lowered it") {
		t.Errorf("justification %q, want the strengths named too", r.Justification)
	}
}

func TestPathToAcceptReachesAcceptExactly(t *testing.T) {
	e := newEngine(t)
	req := strainedRequest()
	r := evaluate(t, e, req)
	if r.Recommendation == Accept {
		t.Fatalf("the strained firm is accepted (pd %v); the test needs one that is not", r.PD12m)
	}
	p := r.PathToAccept
	if p == nil || len(p.Changes) == 0 {
		t.Fatalf("path_to_accept %+v, want a way to accept", p)
	}
	for _, o := range append([]Option{p.Option}, p.Alternatives...) {
		// Applied exactly as written: every listed figure set to its "to" value.
		changed := copyForPath(&req)
		for _, c := range o.Changes {
			setField(t, &changed, c.Field, c.To)
		}
		got := evaluate(t, e, changed)
		if got.Recommendation != Accept || got.Score != o.Score || got.PD12m != o.PD12m {
			t.Errorf("option %+v: applying it gives %s, score %d, pd %v; want accept with the score and pd it announces", o, got.Recommendation, got.Score, got.PD12m)
		}
	}
	if accepted := evaluate(t, e, healthyRequest()); accepted.PathToAccept != nil {
		t.Errorf("an accepted firm has a path to accept: %+v", accepted.PathToAccept)
	}
}

// setField sets a request figure named as path_to_accept names it.
func setField(t *testing.T, r *Request, field string, v float64) {
	t.Helper()
	if field == "payments.days_beyond_terms_avg" {
		r.Payments.DaysBeyondTermsAvg = num(v)
		return
	}
	var i int
	var name string
	if _, err := fmt.Sscanf(strings.Replace(field, "].", "] ", 1), "financials[%d] %s", &i, &name); err != nil {
		t.Fatalf("field %q: %v", field, err)
	}
	s := &r.Financials[i]
	ptrs := map[string]**float64{"equity": &s.Equity, "total_assets": &s.TotalAssets, "cash": &s.Cash,
		"current_assets": &s.CurrentAssets, "receivables": &s.Receivables, "total_liabilities": &s.TotalLiabilities,
		"current_liabilities": &s.CurrentLiabilities}
	p, ok := ptrs[name]
	if !ok {
		t.Fatalf("field %q: not one path_to_accept moves", field)
	}
	*p = num(v)
}

func TestAnIncorporationAfterAStatementIsReportedAndNeverHelps(t *testing.T) {
	e := newEngine(t)
	base := evaluate(t, e, healthyRequest())
	req := healthyRequest()
	req.Company.IncorporatedOn = "2024-06-01" // after the 2023 statement's period
	r := evaluate(t, e, req)
	item, ok := findItem(r.DataQuality.Inconsistent, "company.incorporated_on")
	if !ok || !strings.Contains(item.Message, "financials[1]") {
		t.Fatalf("data_quality.inconsistent %+v, want company.incorporated_on naming financials[1]", r.DataQuality.Inconsistent)
	}
	if r.PD12m < base.PD12m {
		t.Fatalf("the contradiction lowered the PD: %v < %v", r.PD12m, base.PD12m)
	}
	if _, ok := findItem(base.DataQuality.Inconsistent, "company.incorporated_on"); ok {
		t.Fatal("consistent dates were flagged")
	}
}
