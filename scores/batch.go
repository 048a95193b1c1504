package scores

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/metering"
)

// batchWriter commits sandbox calls in groups: each call waits until its
// decision record and usage event are committed (so GET /v1/scores/{id}
// finds it at once and a crash of RocketFin loses nothing), but many calls
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
	// A connection of its own, whose commits do not wait for the disk:
	// free, fictitious sandbox records may wait a fraction of a second for
	// the WAL writer, so a crash of the database server itself could lose
	// the last of them; a crash of RocketFin cannot. When the connection
	// breaks, its batch goes through the shared pool and a new connection
	// is taken.
	for {
		more := true
		err := database.WithAsyncCommit(b.db, func(conn *gorm.DB) error {
			more = b.loop(conn)
			return nil
		})
		if !more {
			return
		}
		if err != nil {
			b.log.Warn("sandbox writer could not take a connection; using the shared pool for one batch", "error", err.Error())
			if !b.loopOnce(b.db) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// loop writes batches on db until the queue closes (false) or db fails
// other than by a refused row (true: take another connection).
func (b *batchWriter) loop(db *gorm.DB) bool {
	for {
		more, broken := b.next(db)
		if !more {
			return false
		}
		if broken {
			return true
		}
	}
}

// loopOnce writes one batch on db; false when the queue is closed.
func (b *batchWriter) loopOnce(db *gorm.DB) bool {
	more, _ := b.next(db)
	return more
}

// next writes the next batch; broken reports that db failed and the batch
// went through the shared pool instead.
func (b *batchWriter) next(db *gorm.DB) (more, broken bool) {
	first, ok := <-b.in
	if !ok {
		return false, false
	}
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
	if err := b.insert(db, batch); err != nil && !database.IsUniqueViolation(err) && db != b.db {
		b.log.Warn("sandbox writer connection failed; writing its batch through the shared pool", "error", err.Error())
		b.flush(b.db, batch)
		return true, true
	} else if err != nil {
		b.fail(db, batch, err)
		return true, false
	}
	for _, p := range batch {
		p.done <- nil
	}
	return true, false
}

func (b *batchWriter) flush(db *gorm.DB, batch []*pendingWrite) {
	if err := b.insert(db, batch); err != nil {
		b.fail(db, batch, err)
		return
	}
	for _, p := range batch {
		p.done <- nil
	}
}

// fail answers a failed batch: alone, with its error; several, one by one,
// so that one bad row does not fail the others.
func (b *batchWriter) fail(db *gorm.DB, batch []*pendingWrite, err error) {
	if len(batch) == 1 {
		batch[0].done <- err
		return
	}
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
	return insertRecords(context.Background(), db, decisions, events, nil)
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
