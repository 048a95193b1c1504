package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/metering"
)

// Retry delays of a meter event Stripe did not take: exponential from
// baseBackoff, capped at maxBackoff, each drawn in [d/2, d) (jitter).
const (
	baseBackoff = 2 * time.Second
	maxBackoff  = time.Hour
)

// WorkerOptions configure the usage reporter.
type WorkerOptions struct {
	DB     *gorm.DB
	Stripe *client.API
	Clock  clock.Clock
	Logger *slog.Logger
	// EventName is the event_name of the Billing Meter (STRIPE_METER_EVENT_NAME).
	EventName string
	// MonitoringEventName is the event_name of the monitored company days' meter
	// (STRIPE_MONITORING_METER_EVENT_NAME).
	MonitoringEventName string
	// Batch is how many outbox rows one pass claims (default 100).
	Batch int
	// Concurrency is how many meter events one worker has in flight (default 4).
	Concurrency int
	// Lease is how long a claimed row is left to the worker that claimed it
	// before another may take it over (default 5 minutes). It must exceed
	// the time one Stripe call can take.
	Lease time.Duration
	// PastDueGrace is how long a past_due tenant is served (default 7 days).
	PastDueGrace time.Duration
	// Registerer receives the lag gauge and delivery counters; nil skips them.
	Registerer prometheus.Registerer
	// Jitter draws in [0, 1); default math/rand/v2.
	Jitter func() float64
}

// Worker reports metered usage events to Stripe from the outbox and
// suspends tenants whose grace ran out. Any number of workers, in any
// number of processes, may run against one PostgreSQL database.
type Worker struct {
	db        *gorm.DB
	outbox    *metering.Outbox
	api       *client.API
	clock     clock.Clock
	log       *slog.Logger
	eventName string
	// monitoringEventName is the meter of monitored company days.
	monitoringEventName string
	batch               int
	concurrency         int
	lease               time.Duration
	grace               time.Duration
	jitter              func() float64

	lag     prometheus.Gauge
	results *prometheus.CounterVec
}

// NewWorker returns a worker; it does nothing until RunOnce or Run.
func NewWorker(o WorkerOptions) *Worker {
	w := &Worker{
		db: o.DB, outbox: metering.NewOutbox(o.DB), api: o.Stripe, clock: o.Clock, log: o.Logger, eventName: o.EventName,
		monitoringEventName: o.MonitoringEventName, batch: o.Batch, concurrency: o.Concurrency, lease: o.Lease, grace: o.PastDueGrace, jitter: o.Jitter,
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rocketfin_billing_usage_report_lag_seconds",
			Help: "Age of the oldest metered usage event not yet reported to Stripe (0 when none wait).",
		}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rocketfin_billing_meter_events_total",
			Help: "Meter event delivery attempts by outcome (delivered, duplicate, retry, stale, failed).",
		}, []string{"outcome"}),
	}
	if w.clock == nil {
		w.clock = clock.System{}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.batch <= 0 {
		w.batch = 100
	}
	if w.concurrency <= 0 {
		w.concurrency = 4
	}
	if w.lease <= 0 {
		w.lease = 5 * time.Minute
	}
	if w.grace <= 0 {
		w.grace = DefaultPastDueGrace
	}
	if w.jitter == nil {
		w.jitter = rand.Float64
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(w.lag, w.results)
	}
	return w
}

// Pass counts what one RunOnce did.
type Pass struct {
	Claimed, Delivered, Duplicates, Retried, Stale, Failed int
	// Lag is the age of the oldest unreported row after the pass.
	Lag time.Duration
}

// Run reports usage until ctx ends, a pass every interval (at once again
// when a pass found a full batch), and sweeps overdue tenants. A pass in
// flight when ctx ends finishes its Stripe calls and marks their rows.
// after, when not nil, is told the outcome of each pass.
func (w *Worker) Run(ctx context.Context, interval time.Duration, after func(Pass, error)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, err := w.pass(ctx)
		if after != nil {
			after(p, err)
		}
		next := interval
		if err == nil && p.Claimed == w.batch {
			next = 0
		}
		t.Reset(next)
	}
}

// shutdownGrace is how long a pass in flight may go on once Run's context
// ends. A row cut short stays leased and is sent again, under the same
// identifier, when its lease ends.
const shutdownGrace = 10 * time.Second

// pass is one RunOnce and one Sweep, finishing its Stripe calls (for at
// most shutdownGrace) when ctx ends meanwhile.
func (w *Worker) pass(ctx context.Context) (Pass, error) {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(shutdownGrace, cancel) })
	defer stop()
	p, err := w.RunOnce(work)
	if err != nil {
		w.log.Warn("usage reporting pass failed", "error", err.Error())
	}
	if n, err := w.Sweep(work); err != nil {
		w.log.Warn("past_due sweep failed", "error", err.Error())
	} else if n > 0 {
		w.log.Info("suspended tenants past their grace", "count", n)
	}
	return p, err
}

// RunOnce claims up to one batch of due rows, sends their meter events and
// marks each row with Stripe's answer.
func (w *Worker) RunOnce(ctx context.Context) (Pass, error) {
	now := w.clock.Now()
	rows, err := w.outbox.Claim(ctx, now, w.lease, w.batch)
	if err != nil {
		return Pass{}, err
	}
	p := Pass{Claimed: len(rows)}
	if len(rows) > 0 {
		customers, err := w.customers(ctx, rows)
		if err != nil {
			return p, err
		}
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			errs []error
			sem  = make(chan struct{}, w.concurrency)
		)
		for _, r := range rows {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				outcome, err := w.deliver(ctx, r, customers[r.TenantID], now)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				w.results.WithLabelValues(outcome).Inc()
				switch outcome {
				case "delivered":
					p.Delivered++
				case "duplicate":
					p.Duplicates++
				case "retry":
					p.Retried++
				case "stale":
					p.Stale++
				case "failed":
					p.Failed++
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return p, err
		}
	}
	lag, err := w.Lag(ctx, now)
	if err != nil {
		return p, err
	}
	p.Lag = lag
	return p, nil
}

// customers maps the tenants of rows to their Stripe customer ids.
func (w *Worker) customers(ctx context.Context, rows []metering.Claimed) (map[string]string, error) {
	seen := map[string]bool{}
	var tenants []string
	for _, r := range rows {
		if !seen[r.TenantID] {
			seen[r.TenantID] = true
			tenants = append(tenants, r.TenantID)
		}
	}
	var accounts []Account
	if err := w.db.WithContext(ctx).Where("tenant_id IN ?", tenants).Find(&accounts).Error; err != nil {
		return nil, fmt.Errorf("read Stripe customers of %d tenants: %w", len(tenants), err)
	}
	out := make(map[string]string, len(accounts))
	for _, a := range accounts {
		out[a.TenantID] = a.StripeCustomerID
	}
	return out, nil
}

// deliver sends one row's meter event and records the outcome. Only a
// failure to record is an error: Stripe's refusals are outcomes.
func (w *Worker) deliver(ctx context.Context, r metering.Claimed, customer string, now time.Time) (string, error) {
	p, err := r.MeterEvent()
	if err != nil {
		return "failed", w.finish(ctx, r, metering.OutboxFailed, err.Error(), now)
	}
	identifier := p.UsageEventID
	if r.UsageEventID != nil {
		identifier = *r.UsageEventID
	}
	at := time.Unix(p.Timestamp, 0).UTC()
	if now.Sub(at) > StripeAcceptsFor-staleMargin {
		msg := fmt.Sprintf("the event of %s is older than the %s Stripe accepts: invoice it by hand", at.Format(time.RFC3339), StripeAcceptsFor)
		return "stale", w.finish(ctx, r, metering.OutboxStale, msg, now)
	}
	if customer == "" {
		return "retry", w.reschedule(ctx, r, now, stripeVerdict{}, "the tenant has no Stripe customer yet")
	}
	eventName := w.eventName
	if p.Metric == metering.MetricMonitoredCompanyDays {
		eventName = w.monitoringEventName
	}
	if eventName == "" {
		return "failed", w.finish(ctx, r, metering.OutboxFailed, "no Stripe meter is configured for "+p.Metric, now)
	}
	params := &stripe.BillingMeterEventParams{
		EventName:  stripe.String(eventName),
		Identifier: stripe.String(identifier),
		Payload:    map[string]string{"stripe_customer_id": customer, "value": strconv.Itoa(p.Quantity)},
		Timestamp:  stripe.Int64(p.Timestamp),
	}
	params.Context = ctx
	_, err = w.api.BillingMeterEvents.New(params)
	if err == nil {
		return "delivered", w.markDelivered(ctx, r, identifier, now)
	}
	v := judge(err)
	switch {
	case v.duplicate:
		return "duplicate", w.markDelivered(ctx, r, identifier, now)
	case v.stale:
		return "stale", w.finish(ctx, r, metering.OutboxStale, "Stripe refused the timestamp: "+errorText(err), now)
	case v.permanent:
		return "failed", w.finish(ctx, r, metering.OutboxFailed, "Stripe refused the event for good: "+errorText(err), now)
	}
	return "retry", w.reschedule(ctx, r, now, v, errorText(err))
}

// errorText is what a Stripe error says, without the request's secrets
// (stripe-go errors never hold the key).
func errorText(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %s: %s", se.HTTPStatusCode, se.Code, se.Msg)
	}
	return err.Error()
}

// markDelivered records Stripe's acceptance: the row is delivered with the
// identifier as reference, and its usage event is reported.
func (w *Worker) markDelivered(ctx context.Context, r metering.Claimed, identifier string, now time.Time) error {
	return w.outbox.End(ctx, r, metering.OutboxDelivered, identifier, "", now)
}

// finish ends a row that will not be sent: stale or failed, kept with the
// reason for finance, its usage event flagged alike.
func (w *Worker) finish(ctx context.Context, r metering.Claimed, state metering.OutboxState, reason string, now time.Time) error {
	if err := w.outbox.End(ctx, r, state, "", reason, now); err != nil {
		return err
	}
	w.log.Warn("usage event not reported to Stripe", "outbox_id", r.ID, "tenant_id", r.TenantID, "state", state, "reason", reason)
	return nil
}

// reschedule leaves a row pending for a later attempt.
func (w *Worker) reschedule(ctx context.Context, r metering.Claimed, now time.Time, v stripeVerdict, reason string) error {
	return w.outbox.Reschedule(ctx, r, now.Add(w.backoff(r.Attempts, v)), reason)
}

// backoff is the delay before attempt number attempts+1: exponential with
// jitter, and never shorter than Stripe's Retry-After.
func (w *Worker) backoff(attempts int, v stripeVerdict) time.Duration {
	d := maxBackoff
	if attempts >= 1 && attempts <= 22 {
		d = min(baseBackoff<<(attempts-1), maxBackoff)
	}
	d = d/2 + time.Duration(w.jitter()*float64(d/2))
	return max(d, v.retryAfter)
}

// Lag is the age of the oldest metered usage event not yet reported; it
// also sets the gauge.
func (w *Worker) Lag(ctx context.Context, now time.Time) (time.Duration, error) {
	oldest, waiting, err := w.outbox.OldestPending(ctx)
	if err != nil {
		return 0, err
	}
	var lag time.Duration
	if waiting {
		lag = max(now.Sub(oldest), 0)
	}
	w.lag.Set(lag.Seconds())
	return lag, nil
}
