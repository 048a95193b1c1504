package monitoring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/runner"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scores"
)

// Queue is the job queue of the sweep.
const Queue = "monitoring"

// sweepBatch is how many monitors the sweep reads at a time.
const sweepBatch = 500

// sweepArgs is the job of one part of a daily sweep: the monitors after After, up to sweepPart;
// each part queues the next, so that no job runs long (a job still running after the rescue delay
// would be handed to another worker) and a crash loses at most one part's progress.
type sweepArgs struct {
	After string `json:"after,omitempty"`
	// Day is the UTC day swept (YYYY-MM-DD): the monitored days are counted on it even when a
	// sweep runs past midnight.
	Day string `json:"day"`
}

func (sweepArgs) Kind() string { return "monitor_sweep" }

// sweepPart is how many monitors one job of the sweep goes through.
const sweepPart = 5000

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	s *Service
}

// Timeout: a part of the sweep re-scores thousands of monitors.
func (sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration { return 25 * time.Second }

func (w *sweepWorker) Work(ctx context.Context, job *river.Job[sweepArgs]) error {
	day, err := time.Parse("2006-01-02", job.Args.Day)
	if err != nil {
		day = w.s.clock.Now()
	}
	st, next, err := w.s.sweepFrom(ctx, job.Args.After, sweepPart, time.Now().Add(20*time.Second), day)
	w.s.log.Info("monitoring sweep part", "after", job.Args.After, "seen", st.Seen, "rescored", st.Rescored, "unchanged", st.Unchanged,
		"paused", st.Paused, "failed", st.Failed, "took", st.Took.String())
	if err != nil || next == "" {
		return err
	}
	return w.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Unique by its arguments: a part rerun after a crash does not start a second chain.
		_, err := w.s.queue.InsertTx(ctx, tx, sweepArgs{After: next, Day: job.Args.Day},
			&river.InsertOpts{Queue: Queue, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}})
		return err
	})
}

// Register adds the sweep worker to workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &sweepWorker{s: s})
}

// Periodic is the daily sweep's schedule: the leader offers a sweep every hour and the queue keeps
// one per UTC day, so that the sweep runs once a day whichever replica leads and however often
// they restart.
func Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return sweepArgs{Day: time.Now().UTC().Format("2006-01-02")}, &river.InsertOpts{Queue: Queue, MaxAttempts: 3,
			UniqueOpts: river.UniqueOpts{ByArgs: true}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// SweepStats sums up a sweep.
type SweepStats struct {
	Seen, Rescored, Unchanged, Paused, Failed int
	// Days counts the monitored company days this sweep recorded (those new today).
	Days int
	Took time.Duration
}

// Sweep re-scores every active live monitor for what time alone changes (data ageing, a consent
// that expired makes bank data unusable), writing a decision and emitting events only when the
// answer changed, pauses the monitors of tenants that may no longer monitor (monitor.paused), and
// counts one monitored company day for each monitor still active (metered for subscribed tenants,
// once per monitor and UTC day however often the sweep runs).
// Sandbox monitors are evaluated on the sandbox's fixed date: time changes nothing for them.
func (s *Service) Sweep(ctx context.Context) (SweepStats, error) {
	st, _, err := s.sweepFrom(ctx, "", 0, time.Time{}, s.clock.Now())
	return st, err
}

// sweepFrom sweeps the monitors after after, stopping after limit of them or at deadline when
// they are set, counting monitored days on day; next is where to go on ("" when every monitor was
// seen).
func (s *Service) sweepFrom(ctx context.Context, after string, limit int, deadline, day time.Time) (st SweepStats, next string, err error) {
	start := time.Now()
	now := s.clock.Now()
	accounts := map[string]monitoringAccount{}
	for {
		if (limit > 0 && st.Seen >= limit) || (!deadline.IsZero() && time.Now().After(deadline)) {
			st.Took = time.Since(start)
			return st, after, nil
		}
		var batch []Monitor
		q := s.db.WithContext(ctx).Where("status = ? AND deleted_at IS NULL AND environment = ?", StatusActive, keys.Live)
		if after != "" {
			q = q.Where("id > ?", after)
		}
		if err := q.Order("id").Limit(sweepBatch).Find(&batch).Error; err != nil {
			return st, "", fmt.Errorf("read monitors: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		after = batch[len(batch)-1].ID
		var unchanged []string
		var days []metering.MonitoredDay
		var active []Monitor
		for _, m := range batch {
			st.Seen++
			acct, seen := accounts[m.TenantID]
			if !seen {
				var err error
				if acct, err = s.account(ctx, s.db, m.TenantID, now); err != nil {
					return st, "", err
				}
				accounts[m.TenantID] = acct
			}
			if reason := acct.refusal; reason != "" {
				if err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return s.pause(ctx, tx, m, reason, now) }); err != nil {
					return st, "", err
				}
				st.Paused++
				continue
			}
			active = append(active, m)
		}
		// Re-scores wait on the database more than on the engine: a few at a time.
		outcomes := make([]sweepOutcome, len(active))
		runner.Parallel(len(active), sweepWorkers, func(i int) {
			outcomes[i].changed, outcomes[i].err = s.sweepOne(ctx, active[i])
		})
		for i, o := range outcomes {
			m := active[i]
			if !errors.Is(o.err, errPaused) {
				days = append(days, metering.MonitoredDay{TenantID: m.TenantID, MonitorID: m.ID, DecisionID: m.LastDecisionID,
					Metered: accounts[m.TenantID].metered, At: day})
			}
			switch {
			case errors.Is(o.err, errPaused):
				st.Paused++
			case o.err != nil:
				if ctx.Err() != nil {
					return st, "", ctx.Err()
				}
				st.Failed++
				s.log.Warn("monitoring sweep could not re-score", "monitor", active[i].ID, "error", o.err.Error())
			case o.changed:
				st.Rescored++
			default:
				unchanged = append(unchanged, active[i].ID)
			}
		}
		if s.meter != nil && len(days) > 0 {
			err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				n, err := s.meter.ChargeMonitoredDays(ctx, tx, days)
				st.Days += n
				return err
			})
			if err != nil {
				return st, "", err
			}
		}
		if len(unchanged) > 0 {
			if err := s.db.WithContext(ctx).Model(&Monitor{}).Where("id IN ?", unchanged).Update("last_evaluated_at", now).Error; err != nil {
				return st, "", fmt.Errorf("mark monitors evaluated: %w", err)
			}
			st.Unchanged += len(unchanged)
		}
	}
	st.Took = time.Since(start)
	return st, "", nil
}

// sweepOne re-evaluates m outside any transaction; when the answer changed it records it under the
// monitor's lock (unless new data came meanwhile) and emits its events.
func (s *Service) sweepOne(ctx context.Context, m Monitor) (bool, error) {
	req, err := m.request()
	if err != nil {
		return false, err
	}
	res, err := s.scores.Reevaluate(ctx, scores.Rescore{TenantID: m.TenantID, Environment: m.Environment, MonitorID: m.ID,
		PreviousID: m.LastDecisionID, Cause: scores.CauseDailySweep, Language: m.Language, Metadata: m.Metadata, Request: req})
	if pe := problem.As(err); pe != nil {
		// What the client must fix (a consent for a sole trader; data left with nothing to score once
		// bank data lost its consent): monitoring stops, says why, and bills nothing more.
		reason := "a consent is needed to score this company (a sole trader): record one, then resume"
		if pe.Code != problem.ConsentRequired {
			reason = "the company cannot be scored: " + pe.Detail + "; add data, then resume"
		}
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return s.pause(ctx, tx, m, reason, s.clock.Now())
		})
		if err == nil {
			err = errPaused
		}
		return false, err
	}
	if err != nil {
		return false, err
	}
	d := res.Decision
	if d.Score == m.Score && d.Grade == m.Grade && d.Recommendation == m.Recommendation {
		return false, nil
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var locked Monitor
		if err := database.ForUpdate(tx).Where("id = ?", m.ID).Take(&locked).Error; err != nil {
			return fmt.Errorf("lock monitor %s: %w", m.ID, err)
		}
		if locked.LastDecisionID != m.LastDecisionID || locked.Status != StatusActive || locked.DeletedAt != nil {
			return errRaced
		}
		if err := s.scores.Record(ctx, tx, d); err != nil {
			return err
		}
		_, err := s.record(ctx, tx, locked, req, res, scores.CauseDailySweep, nil)
		return err
	})
	if errors.Is(err, errRaced) {
		return false, nil
	}
	return err == nil, err
}

// sweepWorkers is how many monitors the sweep re-scores at once.
const sweepWorkers = 4

type sweepOutcome struct {
	changed bool
	err     error
}

var (
	errRaced  = errors.New("monitor changed during the sweep")
	errPaused = errors.New("monitor paused by the sweep")
)
