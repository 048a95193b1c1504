package scoring

// RatesVersion names the table of reference rates used to convert amounts to EUR for the size
// features and across currencies for the credit limit. Changing a rate changes the size features,
// so the table is part of the model: a new table means a new model version.
const RatesVersion = "eur-ref-2025-06-30"

// eurRates holds units of each currency per 1 EUR, rounded from the euro foreign exchange
// reference rates around 30 June 2025 (ECB where it publishes the currency; public central-bank
// or market rates otherwise). They serve size bands and limit conversion, not accounting.
var eurRates = map[string]float64{
	"EUR": 1, "AED": 4.31, "ARS": 1400, "AUD": 1.79, "BGN": 1.9558, "BHD": 0.442, "BRL": 6.44,
	"CAD": 1.60, "CHF": 0.934, "CLP": 1095, "CNY": 8.40, "COP": 4790, "CZK": 24.75, "DKK": 7.46,
	"EGP": 58.2, "GBP": 0.855, "HKD": 9.21, "HUF": 400.0, "IDR": 19040, "ILS": 3.95, "INR": 100.6,
	"ISK": 142.6, "JOD": 0.832, "JPY": 169.2, "KES": 151.6, "KRW": 1588, "KWD": 0.358, "MAD": 10.57,
	"MXN": 22.09, "MYR": 4.95, "NGN": 1795, "NOK": 11.84, "NZD": 1.93, "OMR": 0.451, "PEN": 4.17,
	"PHP": 66.2, "PKR": 333, "PLN": 4.24, "QAR": 4.27, "RON": 5.08, "RSD": 117.2, "SAR": 4.40,
	"SEK": 11.15, "SGD": 1.49, "THB": 38.2, "TND": 3.41, "TRY": 46.6, "TWD": 34.2, "UAH": 48.8,
	"USD": 1.172, "VND": 30600, "XAF": 655.957, "XOF": 655.957, "XPF": 119.332, "ZAR": 20.84,
}

// minorUnitExceptions lists the ISO 4217 currencies whose minor unit is not two digits. Any other
// well-formed code, known or not, is taken to have two.
var minorUnitExceptions = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorUnits is the number of decimals of a currency's minor unit (ISO 4217): 0 for JPY, 2 for
// EUR, 3 for KWD.
func MinorUnits(currency string) int {
	if d, ok := minorUnitExceptions[currency]; ok {
		return d
	}
	return 2
}

// ToEUR converts an amount to EUR; ok is false for a currency absent from the rate table.
func ToEUR(amount float64, currency string) (float64, bool) {
	r, ok := eurRates[currency]
	if !ok {
		return 0, false
	}
	return amount / r, true
}

// convert changes currency through EUR; ok is false when either currency has no reference rate
// (the same currency always converts).
func convert(amount float64, from, to string) (float64, bool) {
	if from == to {
		return amount, true
	}
	rf, ok1 := eurRates[from]
	rt, ok2 := eurRates[to]
	if !ok1 || !ok2 {
		return 0, false
	}
	return amount / rf * rt, true
}
