package scoring

// MaxRequestBytes is the largest body of POST /v1/scores a server should read (64 KiB): the
// largest valid request (ten statements with every figure, sixty bank months, a hundred legal
// events, the longest texts), indented, stays well below it, which a test checks.
const MaxRequestBytes = 64 << 10

// Request is the body of POST /v1/scores. Optional numbers are pointers so that an absent figure
// is never mistaken for zero. Dates are strings ("2006-01-02"; a bank month "2006-01") checked by
// Validate.
type Request struct {
	Company     Company        `json:"company"`
	Financials  []Statement    `json:"financials,omitempty"`
	Bank        *Bank          `json:"bank,omitempty"`
	Payments    *Payments      `json:"payments,omitempty"`
	LegalEvents []LegalEvent   `json:"legal_events,omitempty"`
	Request     *CreditRequest `json:"request,omitempty"`
}

// Company identifies the firm being scored. Only ID is required; its ID and name never change the
// result.
type Company struct {
	ID             string `json:"id"`
	IDType         string `json:"id_type,omitempty"`
	Name           string `json:"name,omitempty"`
	Country        string `json:"country,omitempty"`
	NACE           string `json:"nace,omitempty"`
	LegalForm      string `json:"legal_form,omitempty"`
	IncorporatedOn string `json:"incorporated_on,omitempty"`
}

// Statement is one yearly financial statement. Amounts are in major units of Currency.
type Statement struct {
	PeriodEnd          string   `json:"period_end"`
	Currency           string   `json:"currency"`
	TotalAssets        *float64 `json:"total_assets,omitempty"`
	CurrentAssets      *float64 `json:"current_assets,omitempty"`
	Cash               *float64 `json:"cash,omitempty"`
	Receivables        *float64 `json:"receivables,omitempty"`
	Inventory          *float64 `json:"inventory,omitempty"`
	TotalLiabilities   *float64 `json:"total_liabilities,omitempty"`
	CurrentLiabilities *float64 `json:"current_liabilities,omitempty"`
	Equity             *float64 `json:"equity,omitempty"`
	RetainedEarnings   *float64 `json:"retained_earnings,omitempty"`
	Revenue            *float64 `json:"revenue,omitempty"`
	EBIT               *float64 `json:"ebit,omitempty"`
	NetIncome          *float64 `json:"net_income,omitempty"`
	InterestExpense    *float64 `json:"interest_expense,omitempty"`
	Depreciation       *float64 `json:"depreciation,omitempty"`
}

// Bank holds monthly account aggregates, in major units of Currency (EUR when empty).
type Bank struct {
	Currency string      `json:"currency,omitempty"`
	Months   []BankMonth `json:"months"`
}

// BankMonth is one calendar month of account flows ("2006-01").
type BankMonth struct {
	Month      string   `json:"month"`
	Inflows    *float64 `json:"inflows,omitempty"`
	Outflows   *float64 `json:"outflows,omitempty"`
	MinBalance *float64 `json:"min_balance,omitempty"`
	EndBalance *float64 `json:"end_balance,omitempty"`
}

// Payments summarises how the company pays its suppliers.
type Payments struct {
	DaysBeyondTermsAvg *float64 `json:"days_beyond_terms_avg,omitempty"`
	Incidents12m       *int     `json:"incidents_12m,omitempty"`
	LateInvoiceRatio   *float64 `json:"late_invoice_ratio,omitempty"`
}

// LegalEvent is a dated event from a registry. A collective_proceeding (insolvency, receivership,
// safeguard) is open unless EndedOn is set; payment_incident is a formal payment default.
type LegalEvent struct {
	Type    string `json:"type"`
	Date    string `json:"date"`
	EndedOn string `json:"ended_on,omitempty"`
}

// Known legal event types. Other well-formed types are accepted, reported in data quality and
// otherwise ignored.
const (
	EventCollectiveProceeding = "collective_proceeding"
	EventPaymentIncident      = "payment_incident"
	EventCourtJudgment        = "court_judgment"
	EventTaxLien              = "tax_lien"
)

// CreditRequest is the credit asked for: by default trade credit (an amount and payment terms);
// Product names a partner operation that assesses the company another way (see products.go):
// factoring (Amount is the receivable's face value, TermsDays the days to its due date), leasing
// (Amount is the asset's value, TermMonths the lease's term) or credit insurance (Amount is the
// cover asked on the company as a buyer, TermsDays the payment terms).
type CreditRequest struct {
	Amount     *float64 `json:"amount,omitempty"`
	Currency   string   `json:"currency,omitempty"`
	TermsDays  *int     `json:"terms_days,omitempty"`
	Product    string   `json:"product,omitempty"`
	TermMonths *int     `json:"term_months,omitempty"`
}
