package scoring

import (
	"math"
	"sort"
	"time"
)

// PathToAccept is what would turn a request_guarantees or decline into accept under the same
// model: the preferred option (its changes and the result they give) and the alternatives. Each
// option changes one input, or, when no single input is enough, pays suppliers on time and
// changes one amount. Options that need no money come first; the others by the amount they need
// against total assets, smallest first. The model is additive and the search re-evaluates the
// whole engine, so each option reaches accept exactly, not by approximation.
type PathToAccept struct {
	Option
	Alternatives []Option `json:"alternatives"`
}

// Option is one way to accept: the changes, and the score, PD and grade they give.
type Option struct {
	Changes []Change `json:"changes"`
	Score   int      `json:"score"`
	PD12m   float64  `json:"pd_12m"`
	Grade   string   `json:"grade"`
}

// Change is one figure an actionable input moves, and the value it would need. An input moves
// every figure it touches (new equity paid in cash raises equity, cash, current assets and total
// assets alike), and each is listed, so that applying the changes as written gives exactly the
// announced result.
type Change struct {
	// Input is equity (new equity paid in cash), debt_to_equity (liabilities converted into
	// equity), collect_receivables (receivables collected into cash) or days_beyond_terms.
	Input string  `json:"input"`
	Field string  `json:"field"`
	From  float64 `json:"from"`
	To    float64 `json:"to"`
}

// The actionable inputs.
const (
	InputEquity          = "equity"
	InputDebtToEquity    = "debt_to_equity"
	InputCollect         = "collect_receivables"
	InputDaysBeyondTerms = "days_beyond_terms"
)

// lever is one actionable input: the most it can move (0 when it does not apply) and how a
// request changes when it moves by x (an amount in the statement's currency, or days).
type lever struct {
	input string
	max   func(r *Request, s int) float64
	apply func(r *Request, s int, x float64) []Change
}

var levers = []lever{
	{InputDaysBeyondTerms,
		func(r *Request, _ int) float64 {
			if r.Payments == nil || r.Payments.DaysBeyondTermsAvg == nil {
				return 0
			}
			return math.Max(*r.Payments.DaysBeyondTermsAvg, 0)
		},
		func(r *Request, _ int, x float64) []Change {
			p := *r.Payments
			from := *p.DaysBeyondTermsAvg
			to := math.Max(from-x, 0)
			p.DaysBeyondTermsAvg = &to
			r.Payments = &p
			return []Change{{Input: InputDaysBeyondTerms, Field: "payments.days_beyond_terms_avg", From: from, To: to}}
		}},
	{InputCollect,
		func(r *Request, s int) float64 {
			st := &r.Financials[s]
			if st.Cash == nil || st.Receivables == nil {
				return 0
			}
			return math.Max(*st.Receivables, 0)
		},
		func(r *Request, s int, x float64) []Change {
			st := &r.Financials[s]
			c := changes{input: InputCollect, s: s}
			c.move("cash", &st.Cash, x)
			c.move("receivables", &st.Receivables, -x)
			return c.list
		}},
	{InputDebtToEquity,
		func(r *Request, s int) float64 {
			st := &r.Financials[s]
			if st.TotalLiabilities == nil || st.Equity == nil {
				return 0
			}
			return math.Max(*st.TotalLiabilities, 0)
		},
		func(r *Request, s int, x float64) []Change {
			st := &r.Financials[s]
			c := changes{input: InputDebtToEquity, s: s}
			if st.CurrentLiabilities != nil {
				// Long-term debt is converted first; current liabilities only beyond it.
				longTerm := math.Max(*st.TotalLiabilities-*st.CurrentLiabilities, 0)
				c.move("current_liabilities", &st.CurrentLiabilities, -math.Max(x-longTerm, 0))
			}
			c.move("total_liabilities", &st.TotalLiabilities, -x)
			c.move("equity", &st.Equity, x)
			return c.list
		}},
	{InputEquity,
		func(r *Request, s int) float64 {
			st := &r.Financials[s]
			if st.Equity == nil || st.TotalAssets == nil || !(*st.TotalAssets > 0) {
				return 0
			}
			return 10 * *st.TotalAssets
		},
		func(r *Request, s int, x float64) []Change {
			st := &r.Financials[s]
			c := changes{input: InputEquity, s: s}
			c.move("equity", &st.Equity, x)
			c.move("total_assets", &st.TotalAssets, x)
			c.move("cash", &st.Cash, x)
			c.move("current_assets", &st.CurrentAssets, x)
			return c.list
		}},
}

// changes records, for one lever, every figure it moves.
type changes struct {
	input string
	s     int
	list  []Change
}

// move adds x to a present figure (an absent one stays absent) and records the change.
func (c *changes) move(name string, p **float64, x float64) {
	if *p == nil || x == 0 {
		return
	}
	from := **p
	to := from + x
	*p = &to
	c.list = append(c.list, Change{Input: c.input, Field: field(c.s, name), From: from, To: to})
}

func field(s int, name string) string { return "financials[" + itoa(s) + "]." + name }

// pathToAccept searches every lever, alone and then with suppliers paid on time, for the
// smallest move that reaches accept.
func (e *Engine) pathToAccept(req *Request, asOf time.Time) *PathToAccept {
	s, _ := latestTwo(req.Financials)
	var opts []Option
	var scale []float64 // the amount an option needs against total assets; 0 for days alone
	ta := math.NaN()
	if s >= 0 && req.Financials[s].TotalAssets != nil {
		ta = *req.Financials[s].TotalAssets
	}
	try := func(base *Request, pre []Change, l lever) bool {
		if l.input != InputDaysBeyondTerms && s < 0 {
			return false
		}
		hi := l.max(base, s)
		if !(hi > 0) {
			return false
		}
		accepts := func(x float64) (Result, []Change, bool) {
			r := copyForPath(base)
			c := l.apply(&r, s, x)
			ev := e.collect(&r, asOf, langEN)
			res := e.outcome(&ev)
			return res, append(append([]Change(nil), pre...), c...), res.Recommendation == Accept
		}
		if _, _, ok := accepts(hi); !ok {
			return false
		}
		lo := 0.0
		unit := 1.0 // days, or one unit of the statement's currency
		for hi-lo > unit {
			mid := lo + (hi-lo)/2
			if _, _, ok := accepts(mid); ok {
				hi = mid
			} else {
				lo = mid
			}
		}
		res, changes, ok := accepts(math.Ceil(hi))
		if !ok {
			return false
		}
		opts = append(opts, Option{Changes: changes, Score: res.Score, PD12m: res.PD12m, Grade: res.Grade})
		need := 0.0
		if l.input != InputDaysBeyondTerms {
			need = math.Ceil(hi) / ta
		}
		scale = append(scale, need)
		return true
	}
	for _, l := range levers {
		try(req, nil, l)
	}
	if len(opts) == 0 && levers[0].max(req, s) > 0 {
		// Suppliers paid on time, then the smallest amount that completes the way to accept.
		onTime := copyForPath(req)
		c := levers[0].apply(&onTime, s, levers[0].max(req, s))
		for _, l := range levers[1:] {
			try(&onTime, c, l)
		}
	}
	if len(opts) == 0 {
		return nil
	}
	idx := make([]int, len(opts))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return less(scale[idx[a]], scale[idx[b]]) })
	p := &PathToAccept{Option: opts[idx[0]], Alternatives: []Option{}}
	for _, i := range idx[1:] {
		p.Alternatives = append(p.Alternatives, opts[i])
	}
	return p
}

// less orders needs, a NaN (total assets unknown) last.
func less(a, b float64) bool {
	if math.IsNaN(b) {
		return !math.IsNaN(a)
	}
	return a < b
}

// copyForPath copies what a lever may change: the statements and the payments.
func copyForPath(r *Request) Request {
	c := *r
	c.Financials = append([]Statement(nil), r.Financials...)
	if r.Payments != nil {
		p := *r.Payments
		c.Payments = &p
	}
	return c
}
