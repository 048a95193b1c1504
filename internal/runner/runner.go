// Package runner starts RocketFin's background work one way: each worker runs until the runner
// stops, a stop cancels them all and waits for each to return, and each start and stop is logged
// with the worker's name.
package runner

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Runner runs named workers.
type Runner struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	wg     sync.WaitGroup
}

// New returns a runner whose workers see parent's values but not its cancellation: they end when
// Stop is called, so that a shutdown can first drain requests, then stop the work.
func New(parent context.Context, log *slog.Logger) *Runner {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &Runner{ctx: ctx, cancel: cancel, log: log}
}

// Go starts fn; fn must return once its context ends.
func (r *Runner) Go(name string, fn func(ctx context.Context)) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.log.Debug("worker started", "worker", name)
		fn(r.ctx)
		r.log.Debug("worker stopped", "worker", name)
	}()
}

// Every starts a worker that calls fn every interval until the runner stops; an error is logged
// and the next tick tries again.
func (r *Runner) Every(name string, interval time.Duration, fn func(ctx context.Context) error) {
	r.Go(name, func(ctx context.Context) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					r.log.Warn("background work failed", "worker", name, "error", err.Error())
				}
			}
		}
	})
}

// Stop cancels every worker and waits for all of them to return.
func (r *Runner) Stop() {
	r.cancel()
	r.wg.Wait()
}

// Parallel calls fn(0), …, fn(n-1) on at most workers goroutines and returns when all have.
func Parallel(n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
