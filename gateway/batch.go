package gateway

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/metering"
)

// batchWriter commits sandbox calls in groups: each call waits until its
// decision record and usage event are committed (so a 200 is as durable as
// a live one and GET /v1/scores/{id} finds it at once), but many calls
// share one transaction, which is what lets the free sandbox outrun the
// database's commit rate.
type batchWriter struct {
	db  *gorm.DB
	in  chan *pendingWrite
	log *slog.Logger
	wg  sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

type pendingWrite struct {
	decision Decision
	usage    metering.UsageEvent
	done     chan error
}

const (
	batchMax     = 256
	batchWorkers = 2
)

func newBatchWriter(db *gorm.DB, log *slog.Logger) *batchWriter {
	b := &batchWriter{db: db, in: make(chan *pendingWrite, batchMax*batchWorkers), log: log}
	b.wg.Add(batchWorkers)
	for i := 0; i < batchWorkers; i++ {
		go b.run()
	}
	return b
}

// write commits one call's records, in a batch with whatever else waits.
func (b *batchWriter) write(ctx context.Context, d Decision, u metering.UsageEvent) error {
	p := &pendingWrite{decision: d, usage: u, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errClosed
	}
	select {
	case b.in <- p:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued the write happens whatever the caller does: wait for it,
	// so that an answer never claims a record that does not exist.
	return <-p.done
}

func (b *batchWriter) run() {
	defer b.wg.Done()
	if !database.IsPostgres(b.db) {
		b.loop(b.db)
		return
	}
	// A connection of its own, whose commits do not wait for the disk:
	// free, fictitious sandbox records may wait a fraction of a second for
	// the WAL writer; only a crash of the database server itself could lose
	// them, never one of RocketFin.
	err := b.db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SET synchronous_commit TO off").Error; err != nil {
			return err
		}
		b.loop(conn)
		return nil
	})
	if err != nil {
		b.log.Warn("sandbox writer falls back to the shared pool", "error", err.Error())
		b.loop(b.db)
	}
}

func (b *batchWriter) loop(db *gorm.DB) {
	for first := range b.in {
		batch := []*pendingWrite{first}
	fill:
		for len(batch) < batchMax {
			select {
			case p, ok := <-b.in:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		b.flush(db, batch)
	}
}

func (b *batchWriter) flush(db *gorm.DB, batch []*pendingWrite) {
	err := b.insert(db, batch)
	if err == nil {
		for _, p := range batch {
			p.done <- nil
		}
		return
	}
	if len(batch) == 1 {
		batch[0].done <- err
		return
	}
	// One bad row must not fail the others: retry each on its own.
	b.log.Warn("sandbox batch failed; writing its calls one by one", "size", len(batch), "error", err.Error())
	for _, p := range batch {
		p.done <- b.insert(db, []*pendingWrite{p})
	}
}

func (b *batchWriter) insert(db *gorm.DB, batch []*pendingWrite) error {
	decisions := make([]Decision, len(batch))
	events := make([]metering.UsageEvent, len(batch))
	for i, p := range batch {
		decisions[i], events[i] = p.decision, p.usage
	}
	ctx := context.Background()
	if database.IsPostgres(db) {
		return insertRecords(ctx, db, decisions, events, nil)
	}
	return db.Transaction(func(tx *gorm.DB) error { return insertRecords(ctx, tx, decisions, events, nil) })
}

// Close stops taking writes and waits for the queued ones.
func (b *batchWriter) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.in)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

var errClosed = errors.New("the sandbox writer is closed")
