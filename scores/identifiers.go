package scores

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/valid"
	"github.com/rocketfin/rocketfin/scoring"
)

// checkIdentifiers applies the API's rules for codes and names on top of scoring's Validate: countries
// are ISO 3166-1, currencies ISO 4217 currencies of account, a SIREN passes its check digit, and
// names hold no control or invisible format characters (bidirectional overrides, zero-width
// spaces). The engine itself does not need them, so that answers of published model versions
// stay as they were; the scoring call applies them before the engine.
// maxRequestAmount is the largest credit a request may ask for, in major units: beyond it the
// figure is a unit mistake (minor units sent as major ones), not a trade credit.
const maxRequestAmount = 1e10

func checkIdentifiers(r *scoring.Request) error {
	var errs []problem.FieldError
	add := func(field, msg string) { errs = append(errs, problem.FieldError{Field: field, Message: msg}) }
	c := r.Company
	if d := sirenDigits(c.ID); c.IDType == "siren" && len(d) == 9 && !valid.SIREN(d) {
		add("company.id", "fails the SIREN check digit: check the number")
	}
	if c.Country != "" && !valid.Country(c.Country) {
		add("company.country", "must be an ISO 3166-1 alpha-2 code such as FR")
	}
	for _, f := range [...]struct{ field, text string }{{"company.id", c.ID}, {"company.name", c.Name}, {"company.legal_form", c.LegalForm}} {
		if msg := valid.TextProblem(f.text); msg != "" {
			add(f.field, msg)
		}
	}
	currency := func(field, code string) {
		if len(code) == 3 && strings.ToUpper(code) == code && !valid.Currency(code) {
			add(field, "must be an ISO 4217 currency such as EUR")
		}
	}
	for i := range r.Financials {
		currency("financials["+strconv.Itoa(i)+"].currency", r.Financials[i].Currency)
	}
	if r.Bank != nil {
		currency("bank.currency", r.Bank.Currency)
	}
	if r.Request != nil {
		currency("request.currency", r.Request.Currency)
		switch a := r.Request.Amount; {
		case a == nil:
		case *a <= 0:
			add("request.amount", "must be above 0 (major units of request.currency); leave it out to get the limit RocketFin proposes")
		case *a > maxRequestAmount:
			add("request.amount", fmt.Sprintf("%.0f is not a plausible credit request: at most %.0f major units", *a, maxRequestAmount))
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return problem.Fields(errs)
	}
	return nil
}

// sirenDigits keeps the digits of a SIREN written with spaces or dots.
func sirenDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
