package tenants

import (
	"context"
	"fmt"
	"math"
	"net"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
)

// signupLimiter allows each client address a number of signup attempts per hour (a token bucket
// refilled evenly over the hour). IPv6 clients are grouped by /64, the block one subscriber
// usually holds whole. The buckets live where the rate-limit store says: in the process, or in
// PostgreSQL, shared by every replica.
type signupLimiter struct {
	perHour int
	clock   clock.Clock
	buckets ratelimit.Limiter
}

func newSignupLimiter(perHour int, clk clock.Clock, buckets ratelimit.Limiter) *signupLimiter {
	return &signupLimiter{perHour: perHour, clock: clk, buckets: buckets}
}

// allow spends one attempt of addr, or answers rate_limited with the wait.
func (l *signupLimiter) allow(ctx context.Context, addr string) error {
	limit := ratelimit.Limit{PerSecond: float64(l.perHour) / 3600, Burst: l.perHour}
	v, err := l.buckets.Take(ctx, "signup:"+addressGroup(addr), limit, l.clock.Now())
	if err != nil {
		return fmt.Errorf("signup rate limit: %w", err)
	}
	if v.Allowed {
		return nil
	}
	e := problem.New(problem.RateLimited, "too many signups from this address; %d an hour are allowed", l.perHour)
	e.RetryAfter = max(1, int(math.Ceil(v.RetryAfter.Seconds())))
	return e
}

// addressGroup is the address an IPv4 client is counted by, or the /64 of an IPv6 one.
func addressGroup(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return addr
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
