package tenants

import "testing"

func TestAddressGroup(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":                     "203.0.113.7",
		"::ffff:203.0.113.7":              "203.0.113.7",
		"2001:db8:1:2::1":                 "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:fff": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":                 "2001:db8:1:3::/64",
		"not an address":                  "not an address",
	} {
		if got := addressGroup(in); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}
