// Package collections ranks a tenant's overdue and upcoming receivables by expected loss, so that
// a credit manager chases first what would cost most: expected loss = PD × exposure × LGD, the PD
// the debtor's (its monitor's last decision, a recent decision, or a scoring call made now and
// charged as one), the exposure the amount owed, and the LGD (loss given default) by days past
// due, as recoveries fall with age. Each receivable gets the action its age and its debtor's risk
// call for, and the reason in words.
package collections

import (
	"math"
	"time"
)

// LGDBand is the loss given default of receivables up to MaxDays past due.
type LGDBand struct {
	MaxDays int // inclusive; the last band has no upper bound
	LGD     float64
}

// LGDByDaysPastDue: an invoice not yet due loses little if its debtor defaults (it is often
// still covered by goods and set-off); the older an unpaid invoice, the less is recovered.
var LGDByDaysPastDue = []LGDBand{
	{0, 0.10}, {30, 0.20}, {90, 0.35}, {180, 0.55}, {365, 0.75}, {math.MaxInt, 0.90},
}

// LGD is the loss given default of a receivable dpd days past due (dpd ≤ 0: not yet due).
func LGD(dpd int) float64 {
	for _, b := range LGDByDaysPastDue {
		if dpd <= b.MaxDays {
			return b.LGD
		}
	}
	return LGDByDaysPastDue[len(LGDByDaysPastDue)-1].LGD
}

// The actions, mildest first.
const (
	ActionReminder         = "reminder"
	ActionCall             = "call"
	ActionFormalNotice     = "formal_notice"
	ActionCollectionAgency = "collection_agency"
	ActionLegal            = "legal"
)

var actions = []string{ActionReminder, ActionCall, ActionFormalNotice, ActionCollectionAgency, ActionLegal}

// actionByAge is the action for a receivable dpd days past due, before the debtor's risk.
func actionByAge(dpd int) int {
	switch {
	case dpd <= 15:
		return 0 // not yet due, or just late: a reminder
	case dpd <= 45:
		return 1
	case dpd <= 90:
		return 2
	case dpd <= 180:
		return 3
	default:
		return 4
	}
}

// Debtor is what the ranking knows of a debtor.
type Debtor struct {
	CompanyID      string
	DecisionID     string
	Score          int
	PD12m          float64
	Grade          string
	Recommendation string
	// Proceeding is an open collective proceeding: the claim must be filed with the administrator.
	Proceeding bool
	// Source says where the PD came from: monitor, decision (recent) or scored (now).
	Source string
}

// Receivable is one amount owed, in major units of Currency.
type Receivable struct {
	ID       string
	Amount   float64
	Currency string
	Due      time.Time
	Debtor   Debtor
	order    int
}

// Ranked is a receivable with its rank, expected loss and action.
type Ranked struct {
	Receivable
	Rank         int
	DaysPastDue  int
	LGD          float64
	ExpectedLoss float64 // major units of Currency
	Action       string
	Escalated    bool
}

// Rank orders receivables by expected loss, largest first (ties: older, then larger, then as
// given), as of asOf, with each one's action: by age, one step further for a debtor RocketFin
// would decline (PD above declinePD), and legal at once for a debtor in collective proceedings.
func Rank(rs []Receivable, asOf time.Time, declinePD float64) []Ranked {
	day := asOf.UTC().Truncate(24 * time.Hour)
	out := make([]Ranked, len(rs))
	for i, r := range rs {
		r.order = i
		dpd := int(day.Sub(r.Due.UTC().Truncate(24*time.Hour)).Hours() / 24)
		lgd := LGD(dpd)
		pd := r.Debtor.PD12m
		if r.Debtor.Proceeding {
			pd = 1
		}
		a := actionByAge(dpd)
		escalated := false
		switch {
		case r.Debtor.Proceeding:
			a, escalated = len(actions)-1, a != len(actions)-1
		case pd > declinePD && dpd > 0 && a < len(actions)-1:
			a, escalated = a+1, true
		}
		out[i] = Ranked{Receivable: r, DaysPastDue: dpd, LGD: lgd, ExpectedLoss: math.Round(pd*r.Amount*lgd*1e6) / 1e6, Action: actions[a], Escalated: escalated}
	}
	sortRanked(out)
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}
