package keys

import (
	"math"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Guard throttles failed authentications per client address: each address may present a few
// well-formed keys a second that turn out unknown, revoked or expired (with a burst), and beyond
// that its requests with a credential are refused with 429 before any hashing, cache or database
// work, until its budget refills. Missing or malformed credentials are refused before any lookup
// and cost nothing against it. A flood of forged keys
// (their checksum is public, by design, for secret scanners) thus costs the database at most a
// few lookups a second per address. Addresses are remembered in a bounded LRU. Failures are
// counted in rocketfin_auth_failures_total by reason.
type Guard struct {
	perSecond rate.Limit
	burst     int
	mu        sync.Mutex
	addrs     *lru.Cache[string, *rate.Limiter]
	failures  *prometheus.CounterVec
}

// GuardOptions tune a Guard; zero values take the defaults.
type GuardOptions struct {
	PerSecond float64 // failures an address may make each second (default 10)
	Burst     int     // failures it may make at once (default 100)
	Addresses int     // addresses remembered (default 100,000)
	Registry  prometheus.Registerer
}

// NewGuard returns a guard.
func NewGuard(o GuardOptions) *Guard {
	if o.PerSecond <= 0 {
		o.PerSecond = 10
	}
	if o.Burst <= 0 {
		o.Burst = 100
	}
	if o.Addresses <= 0 {
		o.Addresses = 100_000
	}
	addrs, _ := lru.New[string, *rate.Limiter](o.Addresses)
	g := &Guard{perSecond: rate.Limit(o.PerSecond), burst: o.Burst, addrs: addrs,
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rocketfin_auth_failures_total",
			Help: "Failed authentications, by reason (missing, malformed, unknown, revoked, expired, throttled).",
		}, []string{"reason"})}
	if o.Registry != nil {
		o.Registry.MustRegister(g.failures)
	}
	return g
}

// Blocked tells whether addr has spent its failures, and when it may try again.
func (g *Guard) Blocked(addr string, now time.Time) (bool, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.addrs.Get(addr)
	if !ok || l.TokensAt(now) >= 1 {
		return false, 0
	}
	wait := time.Duration(math.Ceil((1-l.TokensAt(now))/float64(g.perSecond)*1e3)) * time.Millisecond
	return true, wait
}

// Failed records a failed authentication from addr.
func (g *Guard) Failed(addr, reason string, now time.Time) {
	g.failures.WithLabelValues(reason).Inc()
	switch reason {
	case "unknown", "revoked", "expired":
	default:
		return // refused before any lookup: they cost nothing to refuse again
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.addrs.Get(addr)
	if !ok {
		l = rate.NewLimiter(g.perSecond, g.burst)
		g.addrs.Add(addr, l)
	}
	l.AllowN(now, 1)
}
