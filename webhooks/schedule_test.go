package webhooks

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestRetriesSpreadOverAboutThreeDaysWithJitter(t *testing.T) {
	var total time.Duration
	for _, d := range Schedule {
		total += d
	}
	if total < 70*time.Hour || total > 74*time.Hour {
		t.Fatalf("the schedule spans %s, want about three days", total)
	}
	if Schedule[0] != 5*time.Second || Schedule[1] != 5*time.Minute {
		t.Fatalf("the first retries are %s and %s", Schedule[0], Schedule[1])
	}
	for n := 1; n <= len(Schedule); n++ {
		base := Schedule[n-1]
		lo, _ := Retry(n, 0)
		hi, _ := Retry(n, 0.999999)
		mid, ok := Retry(n, 0.5)
		if !ok || mid != base || lo < base*8/10 || hi > base*12/10 || lo >= hi {
			t.Fatalf("attempt %d: %s..%s around %s", n, lo, hi, base)
		}
		if r, _ := Retry(n, rand.Float64()); r < lo || r > hi {
			t.Fatalf("attempt %d: %s outside %s..%s", n, r, lo, hi)
		}
	}
	if _, ok := Retry(len(Schedule)+1, 0.5); ok {
		t.Fatal("a retry after the last attempt")
	}
	if _, ok := Retry(0, 0.5); ok {
		t.Fatal("a retry before the first attempt")
	}
}
