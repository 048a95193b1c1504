package scoring

import (
	"math"
	"strconv"
	"strings"
)

// Limits on the size of a request. Anything larger is malformed, not merely unusual.
const (
	MaxStatements  = 10
	MaxBankMonths  = 60
	MaxLegalEvents = 100
	maxAbsAmount   = 1e15 // larger than any balance sheet on earth, in any currency
	maxTermsDays   = 3650
	maxTextLen     = 200
)

const (
	dateLayout  = "2006-01-02"
	monthLayout = "2006-01"
)

// FieldError names a malformed field by its JSON path, e.g. "financials[0].currency".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationErrors lists every malformed field of a request.
type ValidationErrors []FieldError

// VisitFields calls fn with each field at fault and its message, in order.
func (v ValidationErrors) VisitFields(fn func(field, message string)) {
	for _, e := range v {
		fn(e.Field, e.Message)
	}
}

func (v ValidationErrors) Error() string {
	if len(v) == 0 {
		return "invalid request"
	}
	var b strings.Builder
	b.WriteString("invalid request: ")
	for i, e := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Field)
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Validate reports malformed input: a missing company id, a badly shaped currency code or date,
// negative terms, too many statements or months. Figures that are odd but real (statements that
// do not balance, negative cash, old periods) are not errors: the engine scores them and says so
// in data quality. The error, when not nil, is a ValidationErrors.
func (r *Request) Validate() error {
	var errs ValidationErrors
	add := func(field, msg string) { errs = append(errs, FieldError{Field: field, Message: msg}) }

	c := r.Company
	switch {
	case strings.TrimSpace(c.ID) == "":
		add("company.id", "is required")
	case len(c.ID) > maxTextLen:
		add("company.id", "is longer than 200 characters")
	}
	if len(c.Name) > maxTextLen {
		add("company.name", "is longer than 200 characters")
	}
	// A SIREN as people write it ("552 100 554") is still a SIREN.
	if c.IDType == "siren" && !isSiren(c.ID) {
		add("company.id", "a siren is 9 digits")
	}
	if c.Country != "" && !isUpperLetters(c.Country, 2) {
		add("company.country", "must be an ISO 3166-1 alpha-2 code such as FR")
	}
	if c.NACE != "" {
		if _, ok := naceDivision(c.NACE); !ok {
			add("company.nace", "must be a NACE code such as 62.01")
		}
	}
	if len(c.LegalForm) > 40 {
		add("company.legal_form", "is longer than 40 characters")
	}
	if c.IncorporatedOn != "" {
		if _, ok := parseDate(c.IncorporatedOn); !ok {
			add("company.incorporated_on", "must be a date YYYY-MM-DD")
		}
	}

	if len(r.Financials) > MaxStatements {
		add("financials", "holds more than "+strconv.Itoa(MaxStatements)+" statements")
	}
	for i := range r.Financials {
		if i >= MaxStatements {
			break
		}
		s := &r.Financials[i]
		p := func(field string) string { return "financials[" + strconv.Itoa(i) + "]" + field }
		if _, ok := parseDate(s.PeriodEnd); !ok {
			add(p(".period_end"), "must be a date YYYY-MM-DD")
		} else if repeatsStatement(r.Financials[:i], s.PeriodEnd) {
			add(p(".period_end"), "repeats the period of another statement")
		}
		if !isUpperLetters(s.Currency, 3) {
			add(p(".currency"), "must be an ISO 4217 code such as EUR")
		}
		if !s.amountsInRange() {
			for _, f := range s.amounts() {
				if f.v != nil && !(math.Abs(*f.v) < maxAbsAmount) {
					add(p("."+f.name), "must be a finite amount below 1e15 in absolute value")
				}
			}
		}
	}

	if b := r.Bank; b != nil {
		if b.Currency != "" && !isUpperLetters(b.Currency, 3) {
			add("bank.currency", "must be an ISO 4217 code such as EUR")
		}
		if len(b.Months) > MaxBankMonths {
			add("bank.months", "holds more than "+strconv.Itoa(MaxBankMonths)+" months")
		}
		for i := range b.Months {
			if i >= MaxBankMonths {
				break
			}
			m := &b.Months[i]
			p := func(field string) string { return "bank.months[" + strconv.Itoa(i) + "]" + field }
			if _, ok := parseMonth(m.Month); !ok {
				add(p(".month"), "must be a month YYYY-MM")
			} else if repeatsMonth(b.Months[:i], m.Month) {
				add(p(".month"), "repeats another month")
			}
			checkFlow := func(name string, v *float64, nonNegative bool) {
				switch {
				case v == nil:
				case !(math.Abs(*v) < maxAbsAmount):
					add(p("."+name), "must be a finite amount below 1e15 in absolute value")
				case nonNegative && *v < 0:
					add(p("."+name), "must not be negative")
				}
			}
			checkFlow("inflows", m.Inflows, true)
			checkFlow("outflows", m.Outflows, true)
			checkFlow("min_balance", m.MinBalance, false)
			checkFlow("end_balance", m.EndBalance, false)
		}
	}

	if pm := r.Payments; pm != nil {
		if v := pm.DaysBeyondTermsAvg; v != nil && !(math.Abs(*v) <= maxTermsDays) {
			add("payments.days_beyond_terms_avg", "must be between -3650 and 3650")
		}
		if v := pm.Incidents12m; v != nil && (*v < 0 || *v > 10000) {
			add("payments.incidents_12m", "must be between 0 and 10000")
		}
		if v := pm.LateInvoiceRatio; v != nil && !(*v >= 0 && *v <= 1) {
			add("payments.late_invoice_ratio", "must be between 0 and 1")
		}
	}

	if len(r.LegalEvents) > MaxLegalEvents {
		add("legal_events", "holds more than "+strconv.Itoa(MaxLegalEvents)+" events")
	}
	for i := range r.LegalEvents {
		if i >= MaxLegalEvents {
			break
		}
		e := &r.LegalEvents[i]
		p := func(field string) string { return "legal_events[" + strconv.Itoa(i) + "]" + field }
		if !isEventType(e.Type) {
			add(p(".type"), "must be a lower-case event type such as collective_proceeding")
		}
		if _, ok := parseDate(e.Date); !ok {
			add(p(".date"), "must be a date YYYY-MM-DD")
		}
		if e.EndedOn != "" {
			if _, ok := parseDate(e.EndedOn); !ok {
				add(p(".ended_on"), "must be a date YYYY-MM-DD")
			}
		}
	}

	if cr := r.Request; cr != nil {
		if v := cr.Amount; v != nil && !(*v >= 0 && *v < maxAbsAmount) {
			add("request.amount", "must be a non-negative amount below 1e15")
		}
		if cr.Currency != "" && !isUpperLetters(cr.Currency, 3) {
			add("request.currency", "must be an ISO 4217 code such as EUR")
		}
		if v := cr.TermsDays; v != nil && (*v < 0 || *v > maxTermsDays) {
			add("request.terms_days", "must be between 0 and 3650")
		}
		switch cr.Product {
		case "", ProductTradeCredit, ProductCreditInsurance:
		case ProductFactoring:
			if v := cr.TermsDays; v != nil && (*v < 1 || *v > maxFactoringDays) {
				add("request.terms_days", "must be between 1 and 180: the days to the receivable's due date")
			}
		case ProductLeasing:
			if v := cr.TermMonths; v != nil && (*v < minLeaseMonths || *v > maxLeaseMonths) {
				add("request.term_months", "must be between 12 and 84: the lease's term in months")
			}
		default:
			add("request.product", "must be trade_credit, factoring, leasing or credit_insurance")
		}
		if cr.TermMonths != nil && cr.Product != ProductLeasing {
			add("request.term_months", "goes with product leasing only")
		}
	}

	if len(errs) > 0 {
		return errs
	}
	return nil
}

// amountsInRange reports whether every present amount is finite and below the limit.
func (s *Statement) amountsInRange() bool {
	for _, v := range [...]*float64{s.TotalAssets, s.CurrentAssets, s.Cash, s.Receivables, s.Inventory,
		s.TotalLiabilities, s.CurrentLiabilities, s.Equity, s.RetainedEarnings, s.Revenue, s.EBIT,
		s.NetIncome, s.InterestExpense, s.Depreciation} {
		if v != nil && !(math.Abs(*v) < maxAbsAmount) {
			return false
		}
	}
	return true
}

type namedAmount struct {
	name string
	v    *float64
}

func (s *Statement) amounts() [14]namedAmount {
	return [14]namedAmount{
		{"total_assets", s.TotalAssets}, {"current_assets", s.CurrentAssets}, {"cash", s.Cash},
		{"receivables", s.Receivables}, {"inventory", s.Inventory},
		{"total_liabilities", s.TotalLiabilities}, {"current_liabilities", s.CurrentLiabilities},
		{"equity", s.Equity}, {"retained_earnings", s.RetainedEarnings}, {"revenue", s.Revenue},
		{"ebit", s.EBIT}, {"net_income", s.NetIncome}, {"interest_expense", s.InterestExpense},
		{"depreciation", s.Depreciation},
	}
}

func isUpperLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isSiren reports whether s is 9 digits once spaces, dots and no-break spaces are left out, as
// people write a SIREN ("552 100 554"), without allocating.
func isSiren(s string) bool {
	const nbsp = "\u00a0"
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '.':
		case strings.HasPrefix(s[i:], nbsp):
			i += len(nbsp) - 1
		case c >= '0' && c <= '9':
			n++
		default:
			return false
		}
	}
	return n == 9
}

func isEventType(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && c != '_' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func repeatsStatement(before []Statement, period string) bool {
	for i := range before {
		if before[i].PeriodEnd == period {
			return true
		}
	}
	return false
}

func repeatsMonth(before []BankMonth, month string) bool {
	for i := range before {
		if before[i].Month == month {
			return true
		}
	}
	return false
}
