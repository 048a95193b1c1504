package scoring

import (
	"strconv"
	"strings"
)

// justify writes the justification paragraph in the language asked, and only that one.
func (ev *evaluation) justify(r *Result) string {
	l := ev.lang
	var b strings.Builder
	b.Grow(512)
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
		b.WriteString(" (")
		if rs.Impact > 0 {
			b.WriteByte('+')
		}
		b.Write(strconv.AppendInt(num[:0], int64(rs.Impact), 10))
		b.WriteString(wPoints[l])
		b.WriteByte(')')
	}
	if dq := r.DataQuality.ImpactPoints; dq != 0 {
		b.WriteString(wDataGaps[l])
		b.Write(strconv.AppendInt(num[:0], int64(dq), 10))
		b.WriteString(wPoints[l])
	}
	b.WriteString(wEnd[l])
	return b.String()
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
