package webhooks

import "time"

// Schedule is the pause before each retry of a delivery whose attempt failed: quick at first (a
// receiver restarting), then spread over about three days (a receiver down for a weekend), with
// up to ±20 % jitter so that retries of many deliveries do not arrive together. The issue's
// example (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) sums to 27.6 hours; three days need five
// more: 10 h three times and 14 h, 71.6 hours in all over 12 attempts.
var Schedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 14 * time.Hour,
}

// Jitter is the largest share of a pause added or removed at random.
const Jitter = 0.20

// Retry is the pause after failed attempt n (1 for the first attempt), with unit drawn uniformly
// from [0, 1) for the jitter; ok is false when no attempt is left and the delivery has failed.
func Retry(n int, unit float64) (pause time.Duration, ok bool) {
	if n < 1 || n > len(Schedule) {
		return 0, false
	}
	base := Schedule[n-1]
	return base + time.Duration((2*unit-1)*Jitter*float64(base)), true
}
