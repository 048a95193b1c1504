package scoring

import (
	"math"
	"strconv"
	"strings"
)

// justify writes the justification paragraph in the language asked, and only that one.
func (ev *evaluation) justify(r *Result) string {
	l := ev.lang
	var b strings.Builder
	b.Grow(1024) // one allocation: rules-2 texts run to about 700 bytes
	var num [32]byte
	if ev.openProceeding {
		b.WriteString(wDefault[l])
	}
	b.WriteString(wScore[l])
	b.Write(strconv.AppendInt(num[:0], int64(r.Score), 10))
	b.WriteString(wOf1000[l])
	b.WriteString(r.Grade)
	b.WriteString(wPD[l])
	b.Write(decimal(num[:0], r.PD12m*100, 2, l))
	b.WriteString(wPercent[l])
	b.WriteString(wRecommend[l])
	b.WriteString(wRec[r.Recommendation][l])
	if r.CreditLimit.Amount > 0 {
		b.WriteString(wLimit[l])
		b.Write(money(num[:0], r.CreditLimit, l))
		b.WriteByte(' ')
		b.WriteString(r.CreditLimit.Currency)
	}
	if ev.rules >= 2 {
		ev.factorsRules2(&b, r, num[:0])
	} else {
		if len(r.Reasons) == 0 {
			b.WriteString(wNoFactors[l])
		} else {
			b.WriteString(wFactors[l])
		}
		for i, rs := range r.Reasons {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(rs.Text)
			writeImpact(&b, rs.Impact, l, num[:0])
		}
	}
	if dq := r.DataQuality.ImpactPoints; dq != 0 {
		b.WriteString(wDataGaps[l])
		b.Write(strconv.AppendInt(num[:0], int64(dq), 10))
		b.WriteString(wPoints[l])
	}
	b.WriteString(wEnd[l])
	return b.String()
}

// writeImpact writes " (−12 points)" or " (+7 points)".
func writeImpact(b *strings.Builder, impact int, l language, num []byte) {
	b.WriteString(" (")
	if impact > 0 {
		b.WriteByte('+')
	}
	b.Write(strconv.AppendInt(num, int64(impact), 10))
	b.WriteString(wPoints[l])
	b.WriteByte(')')
}

// factorsRules2 names what raised the risk, what lowered it and the share of the score's
// movement they explain.
func (ev *evaluation) factorsRules2(b *strings.Builder, r *Result, num []byte) {
	l := ev.lang
	if len(r.Reasons)+len(r.Strengths) == 0 {
		b.WriteString(wNoFactors[l])
		return
	}
	list := func(intro string, rs []Reason) {
		if len(rs) == 0 {
			return
		}
		b.WriteString(intro)
		for i, x := range rs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(label(x.Code, l))
			writeImpact(b, x.Impact, l, num)
		}
	}
	list(wRaised[l], r.Reasons)
	if len(r.Reasons) > 0 {
		list(wLoweredIt[l], r.Strengths)
	} else {
		list(wLowered[l], r.Strengths)
	}
	b.WriteString(wExplain[l])
	b.Write(strconv.AppendInt(num, int64(math.Round(100*r.ExplainedShare.Value)), 10))
	b.WriteString(wOfMovement[l])
}

// decimal appends x with the given decimals and the language's decimal separator.
func decimal(dst []byte, x float64, decimals int, l language) []byte {
	start := len(dst)
	dst = strconv.AppendFloat(dst, x, 'f', decimals, 64)
	for i := start; i < len(dst); i++ {
		if dst[i] == '.' {
			dst[i] = decimalSep[l]
		}
	}
	return dst
}

// money appends an amount in major units with thousands separators and the currency's decimals.
func money(dst []byte, m Money, l language) []byte {
	d := MinorUnits(m.Currency)
	p := pow10(d)
	major, minor := m.Amount/p, m.Amount%p
	var digits [24]byte
	ds := strconv.AppendInt(digits[:0], major, 10)
	for i, c := range ds {
		if i > 0 && (len(ds)-i)%3 == 0 {
			dst = append(dst, thousandSep[l]...)
		}
		dst = append(dst, c)
	}
	if d > 0 {
		dst = append(dst, decimalSep[l])
		var frac [8]byte
		fs := strconv.AppendInt(frac[:0], minor+p, 10)
		dst = append(dst, fs[1:]...)
	}
	return dst
}
