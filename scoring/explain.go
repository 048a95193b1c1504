package scoring

import "math"

// MaxReasons is the number of reasons a result gives at most; MaxStrengths the number of
// strengths (rules 2).
const (
	MaxReasons   = 4
	MaxStrengths = 3
)

// The reference company, against which reasons are measured, is the average firm of the training
// population with no payment, bank, company or legal information: every statement shape is
// centred on the training population (its average contribution is 0) and every expert term is 0
// when its input is absent. A term's impact in points is therefore −term × 60 / ln 2, exact on the
// score's log-odds scale.

// reasons returns the terms that cost the most points, most costly first, then, while fewer than
// MaxReasons, the terms that earn the most. Terms worth less than one point are left out.
func (ev *evaluation) reasons() []Reason {
	var idx [maxTerms]int
	var pts [maxTerms]int
	k := 0
	for i := 0; i < ev.n; i++ {
		if p := points(ev.terms[i].logOdds); p != 0 {
			idx[k], pts[k] = i, p
			k++
		}
	}
	// Select the first MaxReasons in order: costs first (most negative), then gains (most
	// positive); ties keep the order of the terms.
	before := func(a, b int) bool {
		if (a < 0) != (b < 0) {
			return a < 0
		}
		if a < 0 {
			return a < b
		}
		return a > b
	}
	sel := min(k, MaxReasons)
	for i := 0; i < sel; i++ {
		best := i
		for j := i + 1; j < k; j++ {
			if before(pts[j], pts[best]) {
				best = j
			}
		}
		// Shift rather than swap, so the unselected terms keep their order for ties.
		bi, bp := idx[best], pts[best]
		copy(idx[i+1:best+1], idx[i:best])
		copy(pts[i+1:best+1], pts[i:best])
		idx[i], pts[i] = bi, bp
	}
	k = sel
	out := make([]Reason, k)
	for i := 0; i < k; i++ {
		code := ev.terms[idx[i]].code
		out[i] = Reason{Code: code, Impact: pts[i], Text: reasonText(code, ev.lang, pts[i] < 0)}
	}
	return out
}

// reasonsRules2 returns, for rules 2, the terms that cost the most points (at most MaxReasons,
// most costly first), those that earn the most (at most MaxStrengths, most helpful first) and the
// share of the score's total movement against the reference company (the sum of every term's
// absolute points) that the listed ones carry. Terms worth less than one point are not listed.
func (ev *evaluation) reasonsRules2() (reasons, strengths []Reason, share Share) {
	var cost, gain [maxTerms]int // term indexes
	nc, ng := 0, 0
	var total float64
	for i := 0; i < ev.n; i++ {
		total += math.Abs(ev.terms[i].logOdds)
		switch p := points(ev.terms[i].logOdds); {
		case p < 0:
			cost[nc] = i
			nc++
		case p > 0:
			gain[ng] = i
			ng++
		}
	}
	// Largest absolute log-odds first; ties keep the order of the terms.
	pick := func(idx []int, n int, sign float64) []int {
		n = min(n, len(idx))
		for a := 0; a < n; a++ {
			best := a
			for b := a + 1; b < len(idx); b++ {
				if sign*ev.terms[idx[b]].logOdds > sign*ev.terms[idx[best]].logOdds {
					best = b
				}
			}
			v := idx[best]
			copy(idx[a+1:best+1], idx[a:best])
			idx[a] = v
		}
		return idx[:n]
	}
	costs, gains := pick(cost[:nc], MaxReasons, +1), pick(gain[:ng], MaxStrengths, -1)
	all := make([]Reason, len(costs)+len(gains)) // one allocation for both lists
	var covered float64
	for k := range all {
		i := 0
		if k < len(costs) {
			i = costs[k]
		} else {
			i = gains[k-len(costs)]
		}
		t := ev.terms[i]
		covered += math.Abs(t.logOdds)
		p := points(t.logOdds)
		all[k] = Reason{Code: t.code, Impact: p, Text: reasonText(t.code, ev.lang, p < 0)}
	}
	share = Share{Value: 1, Set: true}
	if total > 0 {
		share.Value = math.Round(1000*covered/total) / 1000
	}
	return all[:len(costs):len(costs)], all[len(costs):], share
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
