package scores

import (
	"sync"
	"time"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// DefaultSandboxDailyCalls is how many sandbox calls a tenant may make a day (UTC) by default.
const DefaultSandboxDailyCalls = 10_000

// sandboxAllowance bounds the free sandbox calls of each tenant per UTC day: each is answered and
// recorded (a decision record and a usage event), so without a bound one tenant could fill the
// database for free. Beyond the allowance the sandbox answers 429 until midnight UTC. Counted in
// each process: behind N replicas a tenant gets up to N times the allowance.
type sandboxAllowance struct {
	perDay int
	mu     sync.Mutex
	day    string
	used   map[string]int
}

func newSandboxAllowance(perDay int) *sandboxAllowance {
	if perDay <= 0 {
		perDay = DefaultSandboxDailyCalls
	}
	return &sandboxAllowance{perDay: perDay, used: map[string]int{}}
}

// take counts one sandbox call of the tenant, or refuses it once the day's allowance is spent.
func (a *sandboxAllowance) take(tenantID string, now time.Time) error {
	now = now.UTC()
	day := now.Format(time.DateOnly)
	a.mu.Lock()
	defer a.mu.Unlock()
	if day != a.day {
		a.day, a.used = day, map[string]int{}
	}
	if a.used[tenantID] >= a.perDay {
		e := problem.New(problem.RateLimited, "the sandbox allows %d calls a day per tenant; the allowance renews at midnight UTC", a.perDay)
		midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
		e.RetryAfter = max(1, int(midnight.Sub(now).Seconds()+0.999))
		return e
	}
	a.used[tenantID]++
	return nil
}
