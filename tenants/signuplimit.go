package tenants

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// signupLimiter allows each client address a number of signup attempts per
// hour (a token bucket refilled evenly over the hour). It lives in the
// process: behind several replicas each one applies the limit on its own.
type signupLimiter struct {
	perHour int
	clock   clock.Clock

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newSignupLimiter(perHour int, clk clock.Clock) *signupLimiter {
	return &signupLimiter{perHour: perHour, clock: clk, buckets: map[string]*rate.Limiter{}, swept: clk.Now()}
}

// allow spends one attempt of addr, or answers rate_limited with the wait.
func (l *signupLimiter) allow(addr string) error {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Hour {
		// A bucket that has been full for an hour holds nothing worth keeping.
		for a, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.perHour) {
				delete(l.buckets, a)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[addr]
	if !ok {
		b = rate.NewLimiter(rate.Every(time.Hour/time.Duration(l.perHour)), l.perHour)
		l.buckets[addr] = b
	}
	if b.AllowN(now, 1) {
		return nil
	}
	wait := (1 - b.TokensAt(now)) / float64(b.Limit())
	err := problem.New(problem.RateLimited, "too many signups from this address; %d an hour are allowed", l.perHour)
	err.RetryAfter = int(math.Ceil(wait))
	return err
}
