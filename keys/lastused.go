package keys

import (
	"context"
	"sync"
	"time"
)

// usageTracker keeps the latest use of each key in memory and writes them
// in batches, so that authentication never writes to the database.
type usageTracker struct {
	mu      sync.Mutex
	pending map[string]time.Time
}

func newUsageTracker() *usageTracker { return &usageTracker{pending: map[string]time.Time{}} }

func (u *usageTracker) touch(id string, at time.Time) {
	u.mu.Lock()
	if prev, ok := u.pending[id]; !ok || at.After(prev) {
		u.pending[id] = at
	}
	u.mu.Unlock()
}

func (u *usageTracker) peek(id string) (time.Time, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	t, ok := u.pending[id]
	return t, ok
}

func (u *usageTracker) take() map[string]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.pending
	u.pending = map[string]time.Time{}
	return out
}

// restore puts back uses that could not be written.
func (u *usageTracker) restore(uses map[string]time.Time) {
	for id, at := range uses {
		u.touch(id, at)
	}
}

// FlushLastUsed writes the pending last_used_at values.
func (s *Service) FlushLastUsed(ctx context.Context) error {
	uses := s.usage.take()
	if len(uses) == 0 {
		return nil
	}
	if err := s.store.TouchLastUsed(ctx, uses); err != nil {
		s.usage.restore(uses)
		return err
	}
	return nil
}

// flush writes what authentication kept in memory: last uses and failed authentications.
func (s *Service) flush(ctx context.Context) error {
	err := s.FlushLastUsed(ctx)
	if ferr := s.flushFailures(ctx); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// RunFlusher writes pending last uses of keys and aggregated failed authentications every
// interval until ctx ends, then once more.
func (s *Service) RunFlusher(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.flush(final); err != nil {
				s.log.Warn("final flush of key use and failed authentications failed", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.flush(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("flush of key use and failed authentications failed", "error", err)
			}
		}
	}
}
