package scoring

// Expert shape functions. The training file has no payment, bank, company or legal data, so
// these terms are set by hand on the same log-odds scale as the statement model. Each is a
// piecewise-linear curve through documented knots, flat beyond its first and last knot (its
// bounds), and monotone in the direction economics demand. An absent input contributes 0: the
// statement model is calibrated on firms whose behaviour is unknown, which is what "absent" means.

// knot is a point of a piecewise-linear shape: at x, the term adds y to the log-odds of default.
type knot struct{ x, y float64 }

// curve evaluates a piecewise-linear shape, flat outside its knots.
func curve(k []knot, x float64) float64 {
	if x <= k[0].x {
		return k[0].y
	}
	for i := 1; i < len(k); i++ {
		if x <= k[i].x {
			a, b := k[i-1], k[i]
			return a.y + (b.y-a.y)*(x-a.x)/(b.x-a.x)
		}
	}
	return k[len(k)-1].y
}

var (
	// Average days paid beyond terms: paying on time is slightly better than the unknown
	// average; a month late is a classic warning, three months late is near-default behaviour.
	daysBeyondTermsCurve = []knot{{-10, -0.15}, {0, -0.10}, {5, 0}, {15, 0.35}, {30, 0.80}, {60, 1.40}, {90, 1.80}, {180, 2.20}}
	// Payment incidents reported by suppliers in the last 12 months, by count.
	incidentsCurve = []knot{{0, -0.10}, {1, 0.50}, {2, 0.90}, {3, 1.20}, {5, 1.60}, {10, 2.00}}
	// Share of invoices paid late.
	lateRatioCurve = []knot{{0, -0.10}, {0.1, 0}, {0.3, 0.40}, {0.6, 0.90}, {1, 1.30}}

	// Share of bank months whose lowest balance went below zero.
	negativeMonthsCurve = []knot{{0, -0.10}, {0.25, 0.30}, {0.5, 0.70}, {1, 1.20}}
	// Net flow (inflows − outflows) over inflows across the months: burning cash is a warning.
	netFlowCurve = []knot{{-0.3, 0.70}, {-0.1, 0.30}, {0, 0.05}, {0.05, 0}, {0.15, -0.10}}
	// Trend of the monthly net flow, annualised, relative to average monthly inflows.
	flowTrendCurve = []knot{{-0.5, 0.60}, {-0.2, 0.30}, {0, 0}, {0.2, -0.10}}
	// Volatility: coefficient of variation of monthly inflows.
	volatilityCurve = []knot{{0, -0.05}, {0.2, 0}, {0.5, 0.20}, {1, 0.50}, {2, 0.70}}

	// Age of the company in years: young firms fail far more often (the "liability of newness").
	ageCurve = []knot{{0, 0.80}, {1, 0.60}, {2, 0.40}, {3, 0.25}, {5, 0.10}, {8, 0}, {15, -0.10}, {30, -0.20}}
)

// Fixed expert terms, in log-odds of default.
const (
	soleTraderLogOdds    = 0.15 // unlimited liability, thin capital, key-person risk
	publicCompanyOdds    = -0.05
	pastProceedingRecent = 1.20 // collective proceeding ended within 5 years
	pastProceedingOld    = 0.40
	incidentFirst        = 0.70 // formal payment incident within 12 months
	incidentNext         = 0.30
	incidentCap          = 1.50
	incidentOld          = 0.20 // 12 to 36 months old
	judgmentEach         = 0.40 // court judgment within 24 months
	judgmentCap          = 0.80
	taxLienEach          = 0.50 // tax or social-security lien within 24 months
	taxLienCap           = 1.00
	consecutiveLosses    = 0.30 // net loss in the last two statements (Ohlson's Y)
	noFinancialsMargin   = 0.50 // no statement at all: margin above the population default rate
	stalePerYear         = 0.10 // per year of statement age beyond 18 months
	staleCap             = 0.40
	minBankMonths        = 3 // fewer months say too little to use
)

// legalForms maps a normalised legal form (lower case, letters and digits only) to its term:
// sole traders carry unlimited liability, thin capital and key-person risk; public limited
// companies hold more capital; other limited companies and partnerships are the reference.
var legalForms = map[string]float64{
	"ei": soleTraderLogOdds, "eirl": soleTraderLogOdds, "soletrader": soleTraderLogOdds,
	"soleproprietorship": soleTraderLogOdds, "microentrepreneur": soleTraderLogOdds,
	"autoentrepreneur": soleTraderLogOdds, "eni": soleTraderLogOdds,
	"sa": publicCompanyOdds, "ag": publicCompanyOdds, "plc": publicCompanyOdds, "spa": publicCompanyOdds,
	"nv": publicCompanyOdds, "se": publicCompanyOdds, "sca": publicCompanyOdds,
	"sas": 0, "sasu": 0, "sarl": 0, "eurl": 0, "gmbh": 0, "ltd": 0, "llc": 0, "srl": 0, "bv": 0,
	"spzoo": 0, "lda": 0, "snc": 0, "sl": 0, "oy": 0, "ab": 0, "as": 0, "aps": 0, "kft": 0,
	"sro": 0, "inc": 0, "corp": 0, "scop": 0, "sci": 0, "other": 0,
}

// legalFormTerm returns the log-odds term of a legal form; ok is false for a form it does not
// know.
func legalFormTerm(form string) (float64, bool) {
	var b [40]byte
	n := 0
	for i := 0; i < len(form) && n < len(b); i++ {
		c := form[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b[n] = c + 'a' - 'A'
			n++
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b[n] = c
			n++
		}
	}
	t, ok := legalForms[string(b[:n])]
	return t, ok
}

// naceDivision reads the two-digit NACE division from codes such as "62.01", "6201", "62.01Z"
// (French NAF) or "J62.01".
func naceDivision(code string) (int, bool) {
	s := code
	if len(s) > 0 && s[0] >= 'A' && s[0] <= 'U' {
		s = s[1:]
	}
	if len(s) < 2 || len(s) > 7 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c != '.' && (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return 0, false
		}
	}
	d := int(s[0]-'0')*10 + int(s[1]-'0')
	if d < 1 || d > 99 {
		return 0, false
	}
	return d, true
}

// naceSection maps a division to its NACE Rev. 2 section letter.
func naceSection(div int) byte {
	switch {
	case div <= 3:
		return 'A'
	case div <= 9:
		return 'B'
	case div <= 33:
		return 'C'
	case div == 35:
		return 'D'
	case div <= 39:
		return 'E'
	case div <= 43:
		return 'F'
	case div <= 47:
		return 'G'
	case div <= 53:
		return 'H'
	case div <= 56:
		return 'I'
	case div <= 63:
		return 'J'
	case div <= 66:
		return 'K'
	case div == 68:
		return 'L'
	case div <= 75:
		return 'M'
	case div <= 82:
		return 'N'
	case div == 84:
		return 'O'
	case div == 85:
		return 'P'
	case div <= 88:
		return 'Q'
	case div <= 93:
		return 'R'
	case div <= 96:
		return 'S'
	case div <= 98:
		return 'T'
	}
	return 'U'
}

// sectorTerm is the log-odds term of a NACE section, set from the ordering of business
// insolvency rates by sector in EU statistics: construction and hospitality fail most, utilities,
// health and public bodies least.
func sectorTerm(section byte) float64 {
	switch section {
	case 'F', 'I':
		return 0.30
	case 'R':
		return 0.15
	case 'H', 'N':
		return 0.10
	case 'G', 'J', 'L', 'S':
		return 0.05
	case 'M', 'P':
		return -0.05
	case 'E':
		return -0.10
	case 'D', 'Q':
		return -0.15
	case 'O', 'U':
		return -0.20
	}
	return 0 // A, B, C, K, T
}
