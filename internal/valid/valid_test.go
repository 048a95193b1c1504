package valid

import "testing"

func TestLists(t *testing.T) {
	if n := len(countries); n != 250 {
		t.Fatalf("%d country codes, want the 249 of ISO 3166-1 and XK", n)
	}
	for _, c := range []string{"FR", "PT", "PL", "DE", "GB", "US", "XK"} {
		if !Country(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"UK", "EU", "ZZ", "fr", "FRA", ""} {
		if Country(c) {
			t.Errorf("%s accepted", c)
		}
	}
	for _, c := range []string{"EUR", "PLN", "JPY", "GBP", "HRK", "CHF"} {
		if !Currency(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"XBT", "XAU", "XTS", "CHE", "EURO", "eur", ""} {
		if Currency(c) {
			t.Errorf("%s accepted", c)
		}
	}
}

func TestSIREN(t *testing.T) {
	for _, s := range []string{"552100554", "732829320", "356000000", "999000011"} {
		if !SIREN(s) {
			t.Errorf("%s refused", s)
		}
	}
	for _, s := range []string{"552100555", "123456789", "55210055", "55210055x", ""} {
		if SIREN(s) {
			t.Errorf("%s accepted", s)
		}
	}
}

func TestFormatChar(t *testing.T) {
	for _, s := range []string{"Acme\u202eSARL", "Acme\u2066x\u2069", "A\u200bB", "\ufeffAcme", "A\u00adB", "A\u061cB", "A\tB"} {
		if _, bad := FormatChar(s); !bad {
			t.Errorf("%q accepted", s)
		}
	}
	for _, s := range []string{"Société Générale", "می\u200cخواهم", "👩\u200d💻 Lab", "Zürich AG", "株式会社"} {
		if r, bad := FormatChar(s); bad {
			t.Errorf("%q refused at %U", s, r)
		}
	}
}
