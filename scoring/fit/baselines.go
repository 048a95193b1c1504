package fit

import (
	"math"

	"github.com/rocketfin/rocketfin/scoring"
)

// ratios of the latest statement used by the published models; NaN where not computable.
type ratios struct{ wcTA, reTA, ebitTA, eqTL, tlTA, clCA, niTA, ffoTL, taEURm float64 }

func ratiosOf(fin []scoring.Statement) ratios {
	nan := math.NaN()
	r := ratios{nan, nan, nan, nan, nan, nan, nan, nan, nan}
	if len(fin) == 0 {
		return r
	}
	s := fin[0]
	for _, t := range fin[1:] {
		if t.PeriodEnd > s.PeriodEnd {
			s = t
		}
	}
	v := func(p *float64) float64 {
		if p == nil {
			return nan
		}
		return *p
	}
	div := func(a, b float64) float64 {
		if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
			return nan
		}
		return a / b
	}
	ta, tl, ca, cl := v(s.TotalAssets), v(s.TotalLiabilities), v(s.CurrentAssets), v(s.CurrentLiabilities)
	r.wcTA = div(ca-cl, ta)
	r.reTA = div(v(s.RetainedEarnings), ta)
	r.ebitTA = div(v(s.EBIT), ta)
	r.eqTL = div(v(s.Equity), tl)
	r.tlTA = div(tl, ta)
	r.clCA = div(cl, ca)
	r.niTA = div(v(s.NetIncome), ta)
	r.ffoTL = div(v(s.NetIncome)+v(s.Depreciation), tl)
	if eur, ok := scoring.ToEUR(ta, s.Currency); ok && eur > 0 {
		r.taEURm = eur / 1e6
	}
	return r
}

// zeroIfNaN drops a term that cannot be computed from a published formula.
func zeroIfNaN(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// AltmanZ2 returns Altman's Z” (non-manufacturers): 6.56 WC/TA + 3.26 RE/TA + 6.72 EBIT/TA +
// 1.05 BE/TL, with its published weights; a term that cannot be computed counts 0.
func AltmanZ2(fin []scoring.Statement) float64 {
	r := ratiosOf(fin)
	return 6.56*zeroIfNaN(r.wcTA) + 3.26*zeroIfNaN(r.reTA) + 6.72*zeroIfNaN(r.ebitTA) + 1.05*zeroIfNaN(r.eqTL)
}

// OhlsonO returns Ohlson's (1980) one-year O-score with its published weights and without the
// two-year terms; the size term takes total assets in millions of EUR over a price index of 1.
func OhlsonO(fin []scoring.Statement) float64 {
	r := ratiosOf(fin)
	x := 0.0
	if r.tlTA > 1 {
		x = 1
	}
	size := 0.0
	if r.taEURm > 0 {
		size = math.Log(r.taEURm)
	}
	return -1.32 - 0.407*size + 6.03*zeroIfNaN(r.tlTA) - 1.43*zeroIfNaN(r.wcTA) +
		0.0757*zeroIfNaN(r.clCA) - 1.72*x - 2.37*zeroIfNaN(r.niTA) - 1.83*zeroIfNaN(r.ffoTL)
}
