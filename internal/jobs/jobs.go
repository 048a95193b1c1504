// Package jobs runs RocketFin's background work that must survive a crash and be shared among
// replicas (webhook deliveries, the monitoring sweep) on River (github.com/riverqueue/river), a
// job queue kept in the same database as the data: a job is inserted in the transaction that makes
// its reason (an event, a new decision), so that work is never lost nor done for a change that
// rolled back; workers on every replica fetch jobs with row locks, so that one job runs on one
// worker at a time; a job whose worker died is handed to another after RescueAfter.
//
// On PostgreSQL River runs over the service's database/sql pool, with one extra connection that
// LISTENs for new jobs so that they start at once; on the embedded SQLite database it shares the
// single connection and polls. River's tables are made by its own migrations (see migrations).
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
)

// Options configure the queue.
type Options struct {
	// ListenURL is the PostgreSQL URL of the database, for the connection that listens for new
	// jobs; empty on SQLite (or to poll every FetchPoll instead).
	ListenURL string
	// Workers run the jobs; nil makes a queue that only inserts (a process that does no work).
	Workers *river.Workers
	// Queues name the queues this process works and how many jobs of each run at once.
	Queues map[string]int
	// Periodic are jobs inserted on a schedule (by the leader among the replicas).
	Periodic []*river.PeriodicJob
	// JobTimeout bounds one run of a job (default 1 minute).
	JobTimeout time.Duration
	// RescueAfter hands a job still running after it (its worker died) to another (default 2 minutes;
	// must exceed JobTimeout).
	RescueAfter time.Duration
	// FetchPoll is how often workers look for jobs when no notification came (default 1 s).
	FetchPoll time.Duration
	Logger    *slog.Logger
}

// Queue inserts and works jobs.
type Queue struct {
	client   *river.Client[*sql.Tx]
	listener *pgxpool.Pool
	working  bool
	log      *slog.Logger
}

// Open makes the queue on db; Run starts its workers.
func Open(ctx context.Context, db *gorm.DB, opt Options) (*Queue, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{log: opt.Logger, working: opt.Workers != nil && len(opt.Queues) > 0}
	cfg := &river.Config{
		Logger:               quiet(opt.Logger),
		JobTimeout:           or(opt.JobTimeout, time.Minute),
		RescueStuckJobsAfter: or(opt.RescueAfter, 2*time.Minute),
		FetchPollInterval:    or(opt.FetchPoll, time.Second),
		// Completed jobs are River's to clean up; RocketFin keeps its own history (deliveries).
		CompletedJobRetentionPeriod: 24 * time.Hour,
		// Retries are the job's: each kind says its own schedule.
		MaxAttempts: 25,
		TestOnly:    false,
	}
	if cfg.FetchPollInterval < 50*time.Millisecond {
		cfg.FetchPollInterval = 50 * time.Millisecond
	}
	// A burst of jobs (a thousand events at once) is fetched a queue's free workers at a time: a
	// short cooldown between fetches keeps the first attempts of a burst within a second.
	cfg.FetchCooldown = min(10*time.Millisecond, cfg.FetchPollInterval)
	if q.working {
		cfg.Workers = opt.Workers
		cfg.Queues = map[string]river.QueueConfig{}
		for name, n := range opt.Queues {
			cfg.Queues[name] = river.QueueConfig{MaxWorkers: n}
		}
		cfg.PeriodicJobs = opt.Periodic
	}
	var client *river.Client[*sql.Tx]
	if database.IsPostgres(db) {
		driver := riverdatabasesql.New(sqlDB)
		if opt.ListenURL != "" && q.working {
			pc, err := pgxpool.ParseConfig(opt.ListenURL)
			if err != nil {
				return nil, fmt.Errorf("job queue listener: %w", err)
			}
			pc.MinConns, pc.MaxConns = 0, 1
			if q.listener, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
				return nil, fmt.Errorf("job queue listener: %w", err)
			}
			driver = riverdatabasesql.NewWithPgxListener(sqlDB, q.listener)
		}
		client, err = river.NewClient(driver, cfg)
	} else {
		client, err = river.NewClient(riversqlite.New(sqlDB), cfg)
	}
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q.client = client
	return q, nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// quiet keeps River's own log lines at warnings and above: its debug and info lines are about its
// internals, not RocketFin's work.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelAtLeast{log.Handler(), slog.LevelWarn})
}

type levelAtLeast struct {
	slog.Handler
	min slog.Level
}

func (h levelAtLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelAtLeast) WithAttrs(a []slog.Attr) slog.Handler {
	return levelAtLeast{h.Handler.WithAttrs(a), h.min}
}

func (h levelAtLeast) WithGroup(name string) slog.Handler {
	return levelAtLeast{h.Handler.WithGroup(name), h.min}
}

// Run works jobs until ctx ends, then stops fetching and waits (up to a minute) for the jobs
// running to finish; a queue without workers returns at once.
func (q *Queue) Run(ctx context.Context) {
	if !q.working {
		return
	}
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		q.log.Error("job queue did not start", "error", err.Error())
		return
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.client.Stop(stopCtx); err != nil && !errors.Is(err, context.Canceled) {
		q.log.Warn("job queue stopped before its jobs finished; they will be rescued", "error", err.Error())
	}
}

// Close releases the listening connection.
func (q *Queue) Close() {
	if q.listener != nil {
		q.listener.Close()
	}
}

// InsertTx adds a job inside tx, a transaction of the service's database: the job exists if and
// only if tx commits. It is a no-op answer (nil, nil) when opts' uniqueness finds the job already
// there.
func (q *Queue) InsertTx(ctx context.Context, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobRow, error) {
	stx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return nil, errors.New("job queue: insert needs a database transaction")
	}
	res, err := q.client.InsertTx(ctx, stx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	if res.UniqueSkippedAsDuplicate {
		return nil, nil
	}
	return res.Job, nil
}

// InsertManyTx adds jobs inside tx, as InsertTx.
func (q *Queue) InsertManyTx(ctx context.Context, tx *gorm.DB, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	stx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errors.New("job queue: insert needs a database transaction")
	}
	if _, err := q.client.InsertManyTx(ctx, stx, params); err != nil {
		return fmt.Errorf("insert %d jobs: %w", len(params), err)
	}
	return nil
}
