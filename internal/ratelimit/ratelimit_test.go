package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/dbtest"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func TestMemoryBucketRefusesPastTheBurstAndRefills(t *testing.T) {
	checkBucket(t, NewMemory())
}

func TestPostgresBucketIsSharedByReplicas(t *testing.T) {
	db := dbtest.Postgres(t)
	a, b := NewPostgres(db), NewPostgres(db)
	checkBucket(t, a)
	ctx := context.Background()
	l := Limit{PerSecond: 1, Burst: 4}
	allowed := 0
	for i := 0; i < 8; i++ {
		lim := a
		if i%2 == 1 {
			lim = b
		}
		v, err := lim.Take(ctx, "key:shared", l, t0)
		if err != nil {
			t.Fatal(err)
		}
		if v.Allowed {
			allowed++
		}
	}
	if allowed != 4 {
		t.Fatalf("two replicas allowed %d calls from a bucket of 4", allowed)
	}
}

func checkBucket(t *testing.T, lim Limiter) {
	t.Helper()
	ctx := context.Background()
	l := Limit{PerSecond: 2, Burst: 3}
	for i := 0; i < 3; i++ {
		v, err := lim.Take(ctx, "key:a", l, t0)
		if err != nil || !v.Allowed {
			t.Fatalf("call %d refused within the burst: %+v %v", i, v, err)
		}
	}
	v, err := lim.Take(ctx, "key:a", l, t0)
	if err != nil || v.Allowed {
		t.Fatalf("4th call allowed past the burst: %+v %v", v, err)
	}
	if v.RetryAfter <= 0 || v.RetryAfter > 500*time.Millisecond {
		t.Fatalf("RetryAfter %v, want (0, 500ms] at 2 tokens a second", v.RetryAfter)
	}
	if other, _ := lim.Take(ctx, "key:b", l, t0); !other.Allowed {
		t.Fatal("another credential's bucket was spent")
	}
	v, err = lim.Take(ctx, "key:a", l, t0.Add(500*time.Millisecond))
	if err != nil || !v.Allowed {
		t.Fatalf("no token after half a second at 2/s: %+v %v", v, err)
	}
	v, _ = lim.Take(ctx, "key:a", l, t0.Add(time.Hour))
	if !v.Allowed || v.Remaining != 2 {
		t.Fatalf("after an hour the bucket holds %v after one call, want 2 (burst 3 − 1)", v.Remaining)
	}
}

func TestAnIdleSlowBucketIsNotRefilledByForgetting(t *testing.T) {
	lim := NewMemory()
	ctx := context.Background()
	slow := Limit{PerSecond: 0.01, Burst: 2} // 100 s a token
	for i := 0; i < 2; i++ {
		if v, _ := lim.Take(ctx, "key:slow", slow, t0); !v.Allowed {
			t.Fatalf("call %d refused within the burst", i)
		}
	}
	// Another credential's call after a minute triggers the sweep.
	lim.Take(ctx, "key:other", Limit{PerSecond: 20, Burst: 40}, t0.Add(61*time.Second))
	if v, _ := lim.Take(ctx, "key:slow", slow, t0.Add(62*time.Second)); v.Allowed {
		t.Fatal("the slow bucket came back full after a minute: the sweep forgot a bucket that was not full")
	}
	if v, _ := lim.Take(ctx, "key:slow", slow, t0.Add(101*time.Second)); !v.Allowed {
		t.Fatal("no token after 100 s at 0.01/s")
	}
}
