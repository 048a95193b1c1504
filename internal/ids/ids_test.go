package ids

import (
	"sort"
	"testing"
)

func TestIdsSortInCreationOrder(t *testing.T) {
	var made []string
	for i := 0; i < 5000; i++ {
		made = append(made, New(Key))
	}
	sorted := append([]string(nil), made...)
	sort.Strings(sorted)
	for i := range made {
		if made[i] != sorted[i] {
			t.Fatalf("id %d out of order: made %s, sorted position holds %s", i, made[i], sorted[i])
		}
	}
	seen := map[string]bool{}
	for _, id := range made {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

func TestValidChecksPrefixLengthAndAlphabet(t *testing.T) {
	id := New(Tenant)
	if !Valid(Tenant, id) {
		t.Fatalf("Valid(%q) = false, want true", id)
	}
	for _, bad := range []string{"", "ten_", id[:len(id)-1], "key_" + id[4:], id[:10] + "U" + id[11:], id + "0"} {
		if Valid(Tenant, bad) {
			t.Errorf("Valid(%q) = true, want false", bad)
		}
	}
}
