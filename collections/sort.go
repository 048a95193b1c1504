package collections

import (
	"cmp"
	"slices"
)

func sortRanked(rs []Ranked) {
	slices.SortStableFunc(rs, func(a, b Ranked) int {
		if c := cmp.Compare(b.ExpectedLoss, a.ExpectedLoss); c != 0 {
			return c
		}
		if c := cmp.Compare(b.DaysPastDue, a.DaysPastDue); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Amount, a.Amount); c != 0 {
			return c
		}
		return cmp.Compare(a.order, b.order)
	})
}
