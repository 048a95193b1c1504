package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/jobs"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done chan int
	runs *atomic.Int32
}

func (w pingWorker) Work(_ context.Context, j *river.Job[pingArgs]) error {
	w.runs.Add(1)
	w.done <- j.Args.N
	return nil
}

// A job inserted in a transaction runs once it commits, and never when it rolls back.
func TestJobsRunOnlyWhenTheirTransactionCommits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		workers := river.NewWorkers()
		w := pingWorker{done: make(chan int, 10), runs: &atomic.Int32{}}
		river.AddWorker(workers, w)
		q, err := jobs.Open(ctx, db, jobs.Options{Workers: workers, Queues: map[string]int{river.QueueDefault: 2}, FetchPoll: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		runCtx, stop := context.WithCancel(ctx)
		finished := make(chan struct{})
		go func() { q.Run(runCtx); close(finished) }()
		defer func() { stop(); <-finished }()

		rollback := errors.New("roll back")
		if err := db.Transaction(func(tx *gorm.DB) error {
			if _, err := q.InsertTx(ctx, tx, pingArgs{N: 1}, nil); err != nil {
				return err
			}
			return rollback
		}); !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		if err := db.Transaction(func(tx *gorm.DB) error {
			_, err := q.InsertTx(ctx, tx, pingArgs{N: 2}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-w.done:
			if n != 2 {
				t.Fatalf("ran job %d, want the committed one (2)", n)
			}
		case <-ctx.Done():
			t.Fatal("the committed job never ran")
		}
		// The rolled-back job does not exist: the table holds the one committed job.
		var n int64
		if err := db.Table("river_job").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("river_job holds %d jobs, want 1", n)
		}
	})
}
