package httpx

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/semaphore"

	"github.com/rocketfin/rocketfin/internal/problem"
)

// Bodies bounds the memory that request bodies can hold at once across the process: each body
// larger than SmallBodyBytes reserves its route's limit (or its announced length, when smaller)
// before it is read and gives it back when its request ends. A flood of large or slow bodies then
// waits, and is refused with 503 after a second, instead of growing the heap without bound; small
// bodies (every ordinary call) and routes that read no body (health, authentication failures,
// lists) are never held up by it, and the connection limit bounds what small bodies hold.
//
// SmallBodyBytes is the size below which a body needs no reservation.
const SmallBodyBytes = 8 << 10

// Bodies is the process-wide budget of request bodies.
type Bodies struct {
	sem   *semaphore.Weighted
	total int64
	wait  time.Duration
}

// NewBodies returns a budget of maxBytes for the bodies being read or held.
func NewBodies(maxBytes int64) *Bodies {
	return &Bodies{sem: semaphore.NewWeighted(maxBytes), total: maxBytes, wait: time.Second}
}

type bodyKey int

const (
	limitKey bodyKey = iota
	budgetKey
)

// reservation is what one request took from the budget.
type reservation struct {
	b *Bodies
	n int64
}

// Middleware attaches the budget to every request and returns what its body took when the
// request ends.
func (b *Bodies) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := &reservation{b: b}
		c.Set(budgetKey, r)
		c.Next()
		if r.n > 0 {
			b.sem.Release(r.n)
		}
	}
}

// BodyLimit sets the body limit of the routes it is added to (at most MaxBodyBytes).
func BodyLimit(n int64) gin.HandlerFunc {
	n = min(n, MaxBodyBytes)
	return func(c *gin.Context) { c.Set(limitKey, n) }
}

func bodyLimit(c *gin.Context) int64 {
	if v, ok := c.Get(limitKey); ok {
		return v.(int64)
	}
	return DefaultBodyBytes
}

// reserve takes what the body may hold from the budget, if the request runs under one.
func reserve(c *gin.Context, limit int64) error {
	v, ok := c.Get(budgetKey)
	if !ok {
		return nil
	}
	r := v.(*reservation)
	n := limit
	if cl := c.Request.ContentLength; cl >= 0 && cl < n {
		n = cl
	}
	if n <= SmallBodyBytes || r.n > 0 {
		return nil // small bodies never wait: the connection limit bounds what they hold
	}
	if !r.b.sem.TryAcquire(n) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), r.b.wait)
		defer cancel()
		if err := r.b.sem.Acquire(ctx, n); err != nil {
			e := problem.New(problem.Unavailable, "too many request bodies are being received at once; retry shortly")
			e.RetryAfter = 1
			return e
		}
	}
	r.n = n
	return nil
}
