package fit

import (
	"fmt"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
)

// Property is one economic property of the engine, checked by changing one request at a time:
// no variant of a request may get a lower PD than the request itself, except for at most
// MaxShare of the requests.
type Property struct {
	Name     string
	MaxShare float64
	// Variants returns the changed requests; none when the property does not apply.
	Variants func(r *scoring.Request) []scoring.Request
}

// Properties are the properties every model must hold on every training row, the sandbox catalog
// and a fuzzed population: debt replacing equity, a higher interest bill, a withheld figure, no
// statement at all and a figure typed in thousands never lower the PD; a cash loss lowers it for
// at most 15% of firms.
var Properties = []Property{
	{"debt replaces equity (total_liabilities +10%, equity −the same)", 0, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool {
			if s.TotalLiabilities == nil || s.Equity == nil {
				return false
			}
			d := 0.1 * *s.TotalLiabilities
			s.TotalLiabilities, s.Equity = ptr(*s.TotalLiabilities+d), ptr(*s.Equity-d)
			return d != 0
		})
	}},
	{"interest_expense +50%", 0, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool {
			if s.InterestExpense == nil || *s.InterestExpense == 0 {
				return false
			}
			s.InterestExpense = ptr(1.5 * *s.InterestExpense)
			return true
		})
	}},
	{"any one statement field removed", 0, removeEachField},
	{"every statement removed", 0, func(r *scoring.Request) []scoring.Request {
		if len(r.Financials) == 0 {
			return nil
		}
		c := *r
		c.Financials = nil
		return []scoring.Request{c}
	}},
	{"total_assets typed in thousands (÷1,000)", 0, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool { return scale(&s.TotalAssets, 1e-3) })
	}},
	{"revenue typed in thousands (÷1,000)", 0, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool { return scale(&s.Revenue, 1e-3) })
	}},
	{"cash loss (cash halved, the same off current assets, total assets and equity)", 0.15, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool {
			if s.Cash == nil || *s.Cash <= 0 {
				return false
			}
			d := *s.Cash / 2
			s.Cash = ptr(*s.Cash - d)
			for _, p := range []**float64{&s.CurrentAssets, &s.TotalAssets, &s.Equity} {
				if *p != nil {
					*p = ptr(**p - d)
				}
			}
			return true
		})
	}},
}

// Violations counts, for one property, the requests it applies to and those for which a variant
// gets a lower PD than the request, with the first few offenders described.
func (p Property) Violations(e *scoring.Engine, reqs []scoring.Request, asOf time.Time) (applied, violated int, examples []string, err error) {
	for i := range reqs {
		base, err := e.Evaluate(&reqs[i], scoring.Options{AsOf: asOf})
		if err != nil {
			return 0, 0, nil, fmt.Errorf("evaluate %s: %w", reqs[i].Company.ID, err)
		}
		vs := p.Variants(&reqs[i])
		if len(vs) == 0 {
			continue
		}
		applied++
		for k := range vs {
			r, err := e.Evaluate(&vs[k], scoring.Options{AsOf: asOf})
			if err != nil {
				return 0, 0, nil, fmt.Errorf("evaluate a variant of %s: %w", reqs[i].Company.ID, err)
			}
			if r.PD12m < base.PD12m {
				violated++
				if len(examples) < 5 {
					examples = append(examples, fmt.Sprintf("%s variant %d: pd %.6f → %.6f", reqs[i].Company.ID, k, base.PD12m, r.PD12m))
				}
				break
			}
		}
	}
	return applied, violated, examples, nil
}

// latestVariant copies the request and changes a copy of its latest statement.
func latestVariant(r *scoring.Request, change func(s *scoring.Statement) bool) []scoring.Request {
	cur := latest(r.Financials)
	if cur < 0 {
		return nil
	}
	c := *r
	c.Financials = append([]scoring.Statement(nil), r.Financials...)
	if !change(&c.Financials[cur]) {
		return nil
	}
	return []scoring.Request{c}
}

// removeEachField returns one variant per amount present in any statement, with that amount
// removed.
func removeEachField(r *scoring.Request) []scoring.Request {
	var out []scoring.Request
	for i := range r.Financials {
		for k := range amounts(&r.Financials[i]) {
			c := *r
			c.Financials = append([]scoring.Statement(nil), r.Financials...)
			if p := amounts(&c.Financials[i])[k]; *p != nil {
				*p = nil
				out = append(out, c)
			}
		}
	}
	return out
}

func amounts(s *scoring.Statement) []**float64 {
	return []**float64{&s.TotalAssets, &s.CurrentAssets, &s.Cash, &s.Receivables, &s.Inventory,
		&s.TotalLiabilities, &s.CurrentLiabilities, &s.Equity, &s.RetainedEarnings, &s.Revenue,
		&s.EBIT, &s.NetIncome, &s.InterestExpense, &s.Depreciation}
}

func latest(fin []scoring.Statement) int {
	cur := -1
	for i := range fin {
		if cur < 0 || fin[i].PeriodEnd > fin[cur].PeriodEnd {
			cur = i
		}
	}
	return cur
}

func scale(p **float64, k float64) bool {
	if *p == nil || **p == 0 {
		return false
	}
	*p = ptr(**p * k)
	return true
}

func ptr(v float64) *float64 { return &v }

// Manipulations are further changes that must never lower the PD: inconsistent, impossible or
// mis-dated data that a caller could send, by mistake or to get a better answer. They come from
// an adversarial review of the engine, and are checked on the same populations.
var Manipulations = []Property{
	{"total_assets inflated tenfold (the statement no longer balances)", 0, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool { return scale(&s.TotalAssets, 10) })
	}},
	{"current_assets twice total_assets", 0, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool {
			if s.TotalAssets == nil || s.CurrentAssets == nil {
				return false
			}
			s.CurrentAssets = ptr(2 * *s.TotalAssets)
			return true
		})
	}},
	{"a figure that cannot be negative sent negative", 0, func(r *scoring.Request) []scoring.Request {
		cur := latest(r.Financials)
		if cur < 0 {
			return nil
		}
		var out []scoring.Request
		for k := range amounts(&r.Financials[cur]) {
			c := *r
			c.Financials = append([]scoring.Statement(nil), r.Financials...)
			s := &c.Financials[cur]
			p := amounts(s)[k]
			if *p == nil || **p <= 0 || p == &s.Cash || p == &s.Equity || p == &s.RetainedEarnings || p == &s.EBIT || p == &s.NetIncome {
				continue
			}
			*p = ptr(-**p)
			out = append(out, c)
		}
		return out
	}},
	{"the latest statement dated in the future", 0, func(r *scoring.Request) []scoring.Request {
		return latestVariant(r, func(s *scoring.Statement) bool { s.PeriodEnd = "2091-12-31"; return true })
	}},
	{"an earlier statement relabelled as a future one", 0, func(r *scoring.Request) []scoring.Request {
		if len(r.Financials) < 2 {
			return nil
		}
		cur := latest(r.Financials)
		c := *r
		c.Financials = append([]scoring.Statement(nil), r.Financials...)
		for i := range c.Financials {
			if i != cur {
				c.Financials[i].PeriodEnd = "2091-12-31"
				return []scoring.Request{c}
			}
		}
		return nil
	}},
	{"a previous year showing nothing but a profit", 0, func(r *scoring.Request) []scoring.Request {
		cur := latest(r.Financials)
		if cur < 0 || len(r.Financials) >= 10 {
			return nil
		}
		c := *r
		c.Financials = append(append([]scoring.Statement(nil), r.Financials...),
			scoring.Statement{PeriodEnd: "1999-12-31", Currency: r.Financials[cur].Currency, NetIncome: ptr(1)})
		return []scoring.Request{c}
	}},
	{"a payment incident dated in the future rather than not sent", 0, func(r *scoring.Request) []scoring.Request {
		if len(r.LegalEvents) >= 100 {
			return nil
		}
		c := *r
		c.LegalEvents = append(append([]scoring.LegalEvent(nil), r.LegalEvents...),
			scoring.LegalEvent{Type: scoring.EventPaymentIncident, Date: "2091-01-01"})
		return []scoring.Request{c}
	}},
}
