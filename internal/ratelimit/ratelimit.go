// Package ratelimit owns the token buckets of RocketFin's rate limits (the
// rate_buckets table when they are shared): in this process, exact for one
// replica, or in PostgreSQL, shared by every replica.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Limit is a token bucket: Burst tokens at most, refilled at PerSecond.
type Limit struct {
	PerSecond float64
	Burst     int
}

// Verdict is the outcome of taking one token.
type Verdict struct {
	Allowed   bool
	Remaining float64
	// RetryAfter is how long until a token is available (when refused).
	RetryAfter time.Duration
	// FullAfter is how long until the bucket is full again.
	FullAfter time.Duration
}

// Limiter takes tokens from named buckets.
type Limiter interface {
	Take(ctx context.Context, bucket string, l Limit, now time.Time) (Verdict, error)
}

func verdict(allowed bool, tokens float64, l Limit) Verdict {
	v := Verdict{Allowed: allowed, Remaining: math.Max(0, tokens)}
	if !allowed {
		v.RetryAfter = time.Duration((1 - tokens) / l.PerSecond * float64(time.Second))
	}
	v.FullAfter = time.Duration((float64(l.Burst) - math.Max(0, tokens)) / l.PerSecond * float64(time.Second))
	return v
}

// Memory keeps buckets in this process: exact for one replica.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens  float64
	updated time.Time
	limit   Limit
}

// NewMemory returns an empty in-process limiter.
func NewMemory() *Memory { return &Memory{buckets: map[string]*bucket{}} }

// Take spends one token of bucket if it has one.
func (m *Memory) Take(_ context.Context, name string, l Limit, now time.Time) (Verdict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.swept) > time.Minute {
		// Only a bucket that has refilled completely can be forgotten.
		for k, b := range m.buckets {
			if b.tokens+now.Sub(b.updated).Seconds()*b.limit.PerSecond >= float64(b.limit.Burst) {
				delete(m.buckets, k)
			}
		}
		m.swept = now
	}
	b, ok := m.buckets[name]
	if !ok {
		b = &bucket{tokens: float64(l.Burst), updated: now}
		m.buckets[name] = b
	}
	if elapsed := now.Sub(b.updated).Seconds(); elapsed > 0 {
		b.tokens = math.Min(float64(l.Burst), b.tokens+elapsed*l.PerSecond)
		b.updated = now
	}
	b.tokens = math.Min(b.tokens, float64(l.Burst))
	b.limit = l
	if b.tokens < 1 {
		return verdict(false, b.tokens, l), nil
	}
	b.tokens--
	return verdict(true, b.tokens, l), nil
}

// Postgres keeps buckets in PostgreSQL, so that every replica
// shares them: one upsert per call, refilled from the elapsed time.
type Postgres struct{ db *gorm.DB }

// NewPostgres returns a limiter on db (PostgreSQL only).
func NewPostgres(db *gorm.DB) *Postgres { return &Postgres{db: db} }

// Take spends one token of bucket if it has one. The bucket row is
// locked while it is refilled and spent, so replicas never both spend the
// last token.
func (p *Postgres) Take(ctx context.Context, name string, l Limit, now time.Time) (Verdict, error) {
	db := p.db.WithContext(ctx)
	args := map[string]any{"bucket": name, "burst": float64(l.Burst), "rate": l.PerSecond, "now": now}
	for attempt := 0; attempt < 2; attempt++ {
		var rows []struct {
			Tokens  float64
			Allowed bool
		}
		err := db.Raw(`
			WITH cur AS (
				SELECT bucket, LEAST(CAST(@burst AS float8), tokens
					+ GREATEST(0, EXTRACT(EPOCH FROM (CAST(@now AS timestamptz) - updated_at)))::float8 * CAST(@rate AS float8)) AS refilled
				FROM rate_buckets WHERE bucket = @bucket FOR UPDATE)
			UPDATE rate_buckets b
			SET tokens = CASE WHEN cur.refilled >= 1 THEN cur.refilled - 1 ELSE cur.refilled END,
				updated_at = GREATEST(b.updated_at, CAST(@now AS timestamptz))
			FROM cur WHERE b.bucket = cur.bucket
			RETURNING b.tokens AS tokens, cur.refilled >= 1 AS allowed`, args).Scan(&rows).Error
		if err != nil {
			return Verdict{}, fmt.Errorf("take a token of %s: %w", name, err)
		}
		if len(rows) == 1 {
			return verdict(rows[0].Allowed, rows[0].Tokens, l), nil
		}
		err = db.Exec(`INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES (@bucket, @burst, @now)
			ON CONFLICT (bucket) DO NOTHING`, args).Error
		if err != nil {
			return Verdict{}, fmt.Errorf("open bucket %s: %w", name, err)
		}
	}
	return Verdict{}, fmt.Errorf("take a token of %s: the bucket row vanished", name)
}
