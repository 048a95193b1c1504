package scoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateNamesTheMalformedField(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *Request)
		field  string
	}{
		{"missing company id", func(r *Request) { r.Company.ID = " " }, "company.id"},
		{"siren not nine digits", func(r *Request) { r.Company.ID = "12345" }, "company.id"},
		{"country not alpha-2", func(r *Request) { r.Company.Country = "France" }, "company.country"},
		{"nace not a code", func(r *Request) { r.Company.NACE = "software" }, "company.nace"},
		{"incorporation date unparseable", func(r *Request) { r.Company.IncorporatedOn = "2009-13-01" }, "company.incorporated_on"},
		{"currency lower case", func(r *Request) { r.Financials[0].Currency = "eur" }, "financials[0].currency"},
		{"currency missing", func(r *Request) { r.Financials[1].Currency = "" }, "financials[1].currency"},
		{"period end unparseable", func(r *Request) { r.Financials[0].PeriodEnd = "31/12/2024" }, "financials[0].period_end"},
		{"two statements for one period", func(r *Request) { r.Financials[1].PeriodEnd = r.Financials[0].PeriodEnd }, "financials[1].period_end"},
		{"amount beyond any balance sheet", func(r *Request) { r.Financials[0].Revenue = num(2e15) }, "financials[0].revenue"},
		{"too many statements", func(r *Request) {
			for len(r.Financials) <= MaxStatements {
				s := r.Financials[0]
				s.PeriodEnd = "19" + itoa(10+len(r.Financials)) + "-12-31"
				r.Financials = append(r.Financials, s)
			}
		}, "financials"},
		{"bank month unparseable", func(r *Request) { r.Bank.Months[0].Month = "2025-1" }, "bank.months[0].month"},
		{"bank month repeated", func(r *Request) { r.Bank.Months[1].Month = r.Bank.Months[0].Month }, "bank.months[1].month"},
		{"negative inflows", func(r *Request) { r.Bank.Months[2].Inflows = num(-1) }, "bank.months[2].inflows"},
		{"too many bank months", func(r *Request) { r.Bank.Months = months(MaxBankMonths+1, 1, 1, 1) }, "bank.months"},
		{"late ratio above one", func(r *Request) { r.Payments.LateInvoiceRatio = num(1.5) }, "payments.late_invoice_ratio"},
		{"negative incidents", func(r *Request) { r.Payments.Incidents12m = count(-1) }, "payments.incidents_12m"},
		{"event type with spaces", func(r *Request) { r.LegalEvents = []LegalEvent{{Type: "payment incident", Date: "2025-01-01"}} }, "legal_events[0].type"},
		{"event date missing", func(r *Request) { r.LegalEvents = []LegalEvent{{Type: EventPaymentIncident}} }, "legal_events[0].date"},
		{"negative terms", func(r *Request) { r.Request.TermsDays = count(-30) }, "request.terms_days"},
		{"negative amount", func(r *Request) { r.Request.Amount = num(-5) }, "request.amount"},
		{"request currency malformed", func(r *Request) { r.Request.Currency = "EURO" }, "request.currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := healthyRequest()
			tt.modify(&req)
			err := req.Validate()
			var ve ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want ValidationErrors naming %s", err, tt.field)
			}
			for _, fe := range ve {
				if fe.Field == tt.field {
					return
				}
			}
			t.Errorf("Validate() = %v, want an error on %s", err, tt.field)
		})
	}
}

func TestValidateAcceptsOddButRealStatements(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *Request)
	}{
		{"does not balance", func(r *Request) { r.Financials[0].Equity = num(100) }},
		{"negative cash", func(r *Request) { r.Financials[0].Cash = num(-5000) }},
		{"inventory above current assets", func(r *Request) { r.Financials[0].Inventory = num(5e6) }},
		{"years old", func(r *Request) { r.Financials[0].PeriodEnd = "2009-12-31" }},
		{"negative equity", func(r *Request) { r.Financials[0].Equity = num(-4e5) }},
		{"unknown but well-formed currency", func(r *Request) { r.Financials[0].Currency = "XYZ" }},
		{"zero-decimal currency", func(r *Request) { r.Financials[0].Currency = "JPY"; r.Request.Currency = "JPY" }},
		{"no optional block", func(r *Request) { *r = Request{Company: Company{ID: "PL-1"}} }},
		{"id type other", func(r *Request) { r.Company.IDType = "other"; r.Company.ID = "PL-0042" }},
		{"unknown event type", func(r *Request) { r.LegalEvents = []LegalEvent{{Type: "director_change", Date: "2024-01-01"}} }},
		{"paying early", func(r *Request) { r.Payments.DaysBeyondTermsAvg = num(-5) }},
		{"zero terms", func(r *Request) { r.Request.TermsDays = count(0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := healthyRequest()
			tt.modify(&req)
			if err := req.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil: odd but real input is scored, not rejected", err)
			}
		})
	}
}

func TestValidateAcceptsASirenWrittenWithSpacesOrDots(t *testing.T) {
	for _, id := range []string{"552100554", "552 100 554", "552.100.554"} {
		r := Request{Company: Company{ID: id, IDType: "siren"}}
		if err := r.Validate(); err != nil {
			t.Errorf("siren %q: %v", id, err)
		}
	}
	r := Request{Company: Company{ID: "552 100 55", IDType: "siren"}}
	if err := r.Validate(); err == nil {
		t.Error("an eight-digit siren passed")
	}
}

// TestTheLargestValidRequestFitsTheBodyLimit builds the largest request Validate accepts, with
// the longest texts and figures, indented, and checks it stays under MaxRequestBytes.
func TestTheLargestValidRequestFitsTheBodyLimit(t *testing.T) {
	big := -123456789012345.67 // 1e15 is refused: the longest figure below it
	long := strings.Repeat("é", maxTextLen/2)
	req := Request{Company: Company{ID: strings.Repeat("9", maxTextLen), IDType: "other", Name: long, Country: "FR",
		NACE: "62.01Z", LegalForm: strings.Repeat("x", 40), IncorporatedOn: "2001-01-01"}}
	for i := 0; i < MaxStatements; i++ {
		f := num(big)
		req.Financials = append(req.Financials, Statement{PeriodEnd: fmt.Sprintf("20%02d-12-31", i), Currency: "EUR",
			TotalAssets: f, CurrentAssets: f, Cash: f, Receivables: f, Inventory: f, TotalLiabilities: f, CurrentLiabilities: f,
			Equity: f, RetainedEarnings: f, Revenue: f, EBIT: f, NetIncome: f, InterestExpense: f, Depreciation: f})
	}
	req.Bank = &Bank{Currency: "EUR", Months: months(MaxBankMonths, 123456789012345.67, 123456789012345.67, big)}
	for i := 0; i < MaxLegalEvents; i++ {
		req.LegalEvents = append(req.LegalEvents, LegalEvent{Type: EventCollectiveProceeding, Date: "2020-01-01", EndedOn: "2021-01-01"})
	}
	req.Request = &CreditRequest{Amount: num(123456789012345.67), Currency: "EUR", TermsDays: count(3650)}
	if err := req.Validate(); err != nil {
		t.Fatalf("the largest request is refused: %v", err)
	}
	b, err := json.MarshalIndent(req, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxRequestBytes*3/4 {
		t.Errorf("the largest valid request is %d bytes indented, want well under the %d-byte limit", len(b), MaxRequestBytes)
	}
	t.Logf("largest valid request: %d bytes indented", len(b))
}
