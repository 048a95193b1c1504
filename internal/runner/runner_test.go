package runner

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWorkersStopTogetherAndFailuresAreLogged(t *testing.T) {
	var logs bytes.Buffer
	parent, cancelParent := context.WithCancel(context.Background())
	r := New(parent, slog.New(slog.NewTextHandler(&logs, nil)))
	var ran, ticks atomic.Int64
	r.Go("loop", func(ctx context.Context) { ran.Add(1); <-ctx.Done() })
	r.Every("tick", time.Millisecond, func(context.Context) error { ticks.Add(1); return errors.New("boom") })
	cancelParent() // the parent's end does not stop the work
	deadline := time.Now().Add(5 * time.Second)
	for ticks.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.Stop()
	if ran.Load() != 1 || ticks.Load() < 3 {
		t.Fatalf("ran %d, ticks %d", ran.Load(), ticks.Load())
	}
	if !strings.Contains(logs.String(), "worker=tick") || !strings.Contains(logs.String(), "boom") {
		t.Fatalf("the failure is not logged with its worker:\n%s", logs.String())
	}
}

func TestParallelCallsEachIndexOnceWithinTheBound(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	running, most := 0, 0
	Parallel(50, 4, func(i int) {
		mu.Lock()
		seen[i]++
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
	})
	if len(seen) != 50 || most > 4 {
		t.Fatalf("%d indexes, %d at once", len(seen), most)
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("index %d called %d times", i, n)
		}
	}
	Parallel(0, 4, func(int) { t.Fatal("called for nothing") })
}
