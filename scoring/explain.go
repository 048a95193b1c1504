package scoring

import (
	"math"
	"sort"
)

// MaxReasons is the number of reasons a result gives at most.
const MaxReasons = 4

// The reference company, against which reasons are measured, is the average firm of the training
// population with no payment, bank, company or legal information: every statement shape is
// centred on the training population (its average contribution is 0) and every expert term is 0
// when its input is absent. A term's impact in points is therefore −term × 60 / ln 2, exact on the
// score's log-odds scale.

// reasons returns the terms that cost the most points, most costly first, then, while fewer than
// MaxReasons, the terms that earn the most. Terms worth less than one point are left out.
func (ev *evaluation) reasons() []Reason {
	var idx [maxTerms]int
	k := 0
	for i := 0; i < ev.n; i++ {
		if points(ev.terms[i].logOdds) != 0 {
			idx[k] = i
			k++
		}
	}
	sel := idx[:k]
	sort.SliceStable(sel, func(a, b int) bool {
		pa, pb := points(ev.terms[sel[a]].logOdds), points(ev.terms[sel[b]].logOdds)
		if (pa < 0) != (pb < 0) {
			return pa < 0
		}
		if pa < 0 {
			return pa < pb
		}
		return pa > pb
	})
	if len(sel) > MaxReasons {
		sel = sel[:MaxReasons]
	}
	out := make([]Reason, len(sel))
	for i, t := range sel {
		p := points(ev.terms[t].logOdds)
		out[i] = Reason{Code: ev.terms[t].code, Impact: p, Text: reasonText(ev.terms[t].code, ev.lang, p < 0)}
	}
	return out
}

// quality assembles the data-quality block.
func (ev *evaluation) quality() DataQuality {
	q := DataQuality{
		Missing: ev.missing, Stale: ev.stale, Inconsistent: ev.inconsistent,
		Completeness: math.Round(1000*float64(ev.present)/float64(ev.expected)) / 1000,
	}
	for _, l := range [][]QualityItem{q.Missing, q.Stale, q.Inconsistent} {
		for _, it := range l {
			q.ImpactPoints += it.ImpactPoints
		}
	}
	if q.Missing == nil {
		q.Missing = []QualityItem{}
	}
	if q.Stale == nil {
		q.Stale = []QualityItem{}
	}
	if q.Inconsistent == nil {
		q.Inconsistent = []QualityItem{}
	}
	return q
}
