// Package valid holds the identifier and text rules that several domains
// share: ISO 3166-1 country codes, ISO 4217 currency codes, the check digit
// of a French SIREN, and names free of invisible format characters.
package valid

import (
	"fmt"
	"strings"
	"unicode"
)

// countries are the ISO 3166-1 alpha-2 codes (249), and XK, the user-assigned code the
// European Commission and the IMF use for Kosovo.
var countries = set(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
XK`)

// currencies are the ISO 4217 codes of money a company keeps its accounts in: the currencies in
// circulation, and those withdrawn recently enough that a statement may still be drawn up in
// them (HRK until 2023, BGN until 2026, …). Fund, metal and testing codes (CHE, XAU, XTS, …) are
// not currencies of account and are refused.
var currencies = set(`
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD
KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN
NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP
SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES
VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
ANG BYR CUC EEK HRK LTL LVL MRO SKK SLL STD VEF ZWL`)

func set(list string) map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(list) {
		m[c] = true
	}
	return m
}

// Country reports whether code is an ISO 3166-1 alpha-2 country code (upper case).
func Country(code string) bool { return countries[code] }

// Currency reports whether code is an ISO 4217 currency a company may keep its accounts in.
func Currency(code string) bool { return currencies[code] }

// SIREN reports whether nine digits pass the SIREN check digit (the Luhn algorithm).
func SIREN(digits string) bool {
	if len(digits) != 9 {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		d := int(digits[8-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// TextProblem is what is wrong with a name or identifier that holds a character FormatChar
// refuses, or "" when nothing is.
func TextProblem(s string) string {
	if ch, bad := FormatChar(s); bad {
		return fmt.Sprintf("must not hold control or invisible format characters (U+%04X)", ch)
	}
	return ""
}

// FormatChar returns the first character of s that a name must not hold: a control character, or
// an invisible format character (Unicode category Cf: the bidirectional overrides and isolates
// that can make a name display as another, zero-width spaces, the byte-order mark), except the
// zero-width non-joiner and joiner that Persian, Indic scripts and emoji need.
func FormatChar(s string) (rune, bool) {
	for _, r := range s {
		if unicode.IsControl(r) || (unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d') {
			return r, true
		}
	}
	return 0, false
}
