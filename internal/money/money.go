// Package money holds the units of what RocketFin charges: amounts in integer minor units of an
// ISO 4217 currency, and the calendar month (UTC) usage is counted and billed in. It imports the
// standard library only, so that the scoring engine may use it too.
package money

import "time"

// Money is an amount in minor units of its ISO 4217 currency (cents for EUR, yen for JPY, fils
// for KWD).
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// PeriodLayout is how a billing period is written: "2006-01".
const PeriodLayout = "2006-01"

// PeriodOf is the billing period (calendar month in UTC) of t, as written.
func PeriodOf(t time.Time) string { return t.UTC().Format(PeriodLayout) }

// Period is a calendar month in UTC: [Start, End).
type Period struct {
	Start, End time.Time
}

// ParsePeriod reads a period written "YYYY-MM" (exactly seven characters).
func ParsePeriod(s string) (Period, bool) {
	t, err := time.Parse(PeriodLayout, s)
	if err != nil || len(s) != len(PeriodLayout) {
		return Period{}, false
	}
	return Period{Start: t, End: t.AddDate(0, 1, 0)}, true
}
