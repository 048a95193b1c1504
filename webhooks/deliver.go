package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/outbound"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// Queue is the job queue deliveries run on.
const Queue = "webhooks"

// The states of a delivery.
const (
	DeliveryPending   = "pending"   // an attempt is due at next_attempt_at
	DeliverySucceeded = "succeeded" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // every attempt failed, the endpoint answered 410 or was disabled for failing
	DeliveryCanceled  = "canceled"  // the endpoint was deleted or disabled before an attempt succeeded
)

// Delivery is one event sent to one endpoint, over one or more attempts (all with the event's id
// as webhook-id).
type Delivery struct {
	ID             string `gorm:"primaryKey"`
	TenantID       string
	Environment    keys.Environment
	EndpointID     string
	EventID        string
	EventType      string
	Status         string
	Attempts       int
	NextAttemptAt  *time.Time
	LastAttemptAt  *time.Time
	LastStatusCode *int
	LastError      *string
	LastLatencyMS  *int `gorm:"column:last_latency_ms"`
	// AttemptLog is the JSON array of the last HistoryLength attempts, newest last.
	AttemptLog  string
	CreatedAt   time.Time
	DeliveredAt *time.Time
}

// HistoryLength is how many attempts a delivery keeps in its history.
const HistoryLength = 20

// Attempt is one attempt of a delivery, as its history keeps it.
type Attempt struct {
	Number      int       `json:"number"`
	AttemptedAt time.Time `json:"attempted_at"`
	// Outcome is succeeded, failed, refused (the address was refused), gone (410) or given_up.
	Outcome    string  `json:"outcome"`
	StatusCode *int    `json:"status_code"`
	LatencyMS  int     `json:"latency_ms"`
	Error      *string `json:"error"`
}

// History decodes the delivery's attempt log (empty when unreadable: it is informational).
func (d Delivery) History() []Attempt {
	var h []Attempt
	if err := json.Unmarshal([]byte(d.AttemptLog), &h); err != nil || h == nil {
		return []Attempt{}
	}
	return h
}

// withAttempt is the attempt log with a appended, keeping the last HistoryLength.
func (d Delivery) withAttempt(a Attempt) (string, error) {
	h := append(d.History(), a)
	if len(h) > HistoryLength {
		h = h[len(h)-HistoryLength:]
	}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("encode the attempts of %s: %w", d.ID, err)
	}
	return string(b), nil
}

// TableName is the deliveries' table.
func (Delivery) TableName() string { return "webhook_deliveries" }

// Metrics are the delivery metrics.
type Metrics struct {
	attempts *prometheus.CounterVec
	lag      prometheus.Histogram
	duration prometheus.Histogram
}

// NewMetrics registers the delivery metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rocketfin_webhook_attempts_total",
			Help: "Webhook delivery attempts by outcome: succeeded, failed (will retry), given_up (no attempt left or endpoint disabled), gone (410), refused (address refused)."},
			[]string{"outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rocketfin_webhook_delivery_lag_seconds",
			Help:    "Time from an event to the start of its first delivery attempt.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rocketfin_webhook_attempt_duration_seconds",
			Help:    "Time an endpoint took to answer an attempt.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.lag, m.duration)
	}
	return m
}

// deliverArgs is the job of a delivery's next attempt.
type deliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

func (deliverArgs) Kind() string { return "webhook_delivery" }

// deliverWorker runs attempts.
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	s *Service
}

// Timeout leaves the attempt its 15 s and the bookkeeping a few more.
func (deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration {
	return AttemptTimeout + 10*time.Second
}

// Register adds the delivery worker to workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &deliverWorker{s: s})
}

// Work makes one attempt of a delivery, records it, and snoozes the job until the next attempt
// when it failed and another is due.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	pause, err := w.s.attempt(ctx, job.Args.DeliveryID)
	if err != nil {
		if job.Attempt >= job.MaxAttempts && ctx.Err() == nil {
			// River gives the job up after this run: so does the delivery, visibly.
			w.s.giveUp(context.WithoutCancel(ctx), job.Args.DeliveryID, err)
		}
		return err
	}
	if pause > 0 {
		return river.JobSnooze(pause)
	}
	return nil
}

// payload is the body of a delivery, as Standard Webhooks describes it.
type payload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// pending is a delivery about to be attempted, with its endpoint and event, read in one query.
type pending struct {
	Delivery
	URL                     string
	EndpointStatus          string
	EndpointDeleted         *time.Time
	SecretSealed            string
	PreviousSecretSealed    *string
	PreviousSecretExpiresAt *time.Time
	FailingSince            *time.Time
	Data                    string
	EventCreatedAt          time.Time
}

// endpoint is the part of an endpoint an attempt needs.
func (p pending) endpoint() Endpoint {
	return Endpoint{ID: p.EndpointID, TenantID: p.TenantID, Environment: p.Environment, URL: p.URL, Status: p.EndpointStatus,
		DeletedAt: p.EndpointDeleted, SecretSealed: p.SecretSealed, PreviousSecretSealed: p.PreviousSecretSealed,
		PreviousSecretExpiresAt: p.PreviousSecretExpiresAt, FailingSince: p.FailingSince}
}

// attempt delivers once; pause > 0 asks for another attempt after it.
func (s *Service) attempt(ctx context.Context, id string) (pause time.Duration, err error) {
	var rows []pending
	err = s.work.WithContext(ctx).Raw(`SELECT d.*, e.url, e.status AS endpoint_status, e.deleted_at AS endpoint_deleted,
			e.secret_sealed, e.previous_secret_sealed, e.previous_secret_expires_at, e.failing_since,
			v.data, v.created_at AS event_created_at
		FROM webhook_deliveries d
		JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.tenant_id = d.tenant_id
		JOIN events v ON v.id = d.event_id AND v.tenant_id = d.tenant_id
		WHERE d.id = ?`, id).Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("read delivery %s: %w", id, err)
	}
	if len(rows) == 0 || rows[0].Status != DeliveryPending {
		return 0, nil
	}
	d, e := rows[0].Delivery, rows[0].endpoint()
	if e.DeletedAt != nil || e.Status != StatusEnabled {
		return 0, s.finish(ctx, d, DeliveryCanceled)
	}
	start := s.clock.Now()
	if d.Attempts == 0 {
		s.metrics.lag.Observe(start.Sub(rows[0].EventCreatedAt).Seconds())
	}
	body, err := json.Marshal(payload{Type: d.EventType, Timestamp: rows[0].EventCreatedAt.UTC(), Data: json.RawMessage(rows[0].Data)})
	if err != nil {
		return 0, fmt.Errorf("encode event %s: %w", d.EventID, err)
	}
	secrets, err := s.secrets(e, start)
	if err != nil {
		return 0, err
	}
	// The receiver checks the timestamp against its own clock: the attempt's wall-clock time.
	header, err := Headers(d.EventID, time.Now(), body, secrets...)
	if err != nil {
		return 0, err
	}
	header.Set("User-Agent", "RocketFin-Webhooks/1")
	actx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	answer, postErr := s.policy[e.Environment].Post(actx, s.client[e.Environment], e.URL, header, body)
	cancel()
	if ctx.Err() != nil {
		// Shutting down mid-attempt: the job is retried, the attempt not counted.
		return 0, ctx.Err()
	}
	s.metrics.duration.Observe(answer.Latency.Seconds())
	return s.record(ctx, d, e, answer, postErr)
}

// giveUp marks a delivery failed when its job could not run to the end (a database or secret
// error on every run).
func (s *Service) giveUp(ctx context.Context, id string, cause error) {
	msg := "could not be attempted: " + cause.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	err := s.work.WithContext(ctx).Model(&Delivery{}).Where("id = ? AND status = ?", id, DeliveryPending).
		Updates(map[string]any{"status": DeliveryFailed, "next_attempt_at": nil, "last_error": msg}).Error
	if err != nil {
		s.log.Error("could not mark a delivery failed", "delivery", id, "error", err.Error())
	}
}

// finish closes a pending delivery without an attempt.
func (s *Service) finish(ctx context.Context, d Delivery, status string) error {
	err := s.work.WithContext(ctx).Model(&Delivery{}).Where("id = ? AND status = ?", d.ID, DeliveryPending).
		Updates(map[string]any{"status": status, "next_attempt_at": nil}).Error
	if err != nil {
		return fmt.Errorf("close delivery %s: %w", d.ID, err)
	}
	return nil
}

// record stores the attempt's outcome, and disables the endpoint when it answered 410 Gone or has
// failed every attempt for FailingLimit.
func (s *Service) record(ctx context.Context, d Delivery, e Endpoint, a outbound.Answer, postErr error) (time.Duration, error) {
	now := s.clock.Now()
	ms := int(a.Latency / time.Millisecond)
	changes := map[string]any{"attempts": d.Attempts + 1, "last_attempt_at": now, "last_latency_ms": ms}
	if a.Status != 0 {
		changes["last_status_code"] = a.Status
	} else {
		changes["last_status_code"] = nil
	}
	var outcome, problemText string
	switch {
	case postErr != nil:
		outcome, problemText = "failed", postErr.Error()
		if errors.Is(postErr, outbound.ErrRefused) {
			outcome = "refused"
		}
	case a.Status >= 200 && a.Status < 300:
		outcome = "succeeded"
	case a.Status == http.StatusGone:
		outcome, problemText = "gone", "answered 410 Gone: the endpoint is disabled"
	default:
		outcome, problemText = "failed", fmt.Sprintf("answered %d %s", a.Status, http.StatusText(a.Status))
	}
	if len(problemText) > 300 {
		problemText = problemText[:300]
	}
	if problemText != "" {
		changes["last_error"] = problemText
	} else {
		changes["last_error"] = nil
	}
	logAttempt := func() error {
		at := Attempt{Number: d.Attempts + 1, AttemptedAt: now.UTC(), Outcome: outcome, LatencyMS: ms}
		if a.Status != 0 {
			code := a.Status
			at.StatusCode = &code
		}
		if problemText != "" {
			text := problemText
			at.Error = &text
		}
		log, err := d.withAttempt(at)
		changes["attempt_log"] = log
		return err
	}
	if outcome == "succeeded" {
		// A success needs no transaction: record it, then clear the endpoint's failures (another
		// attempt may have failed since this one read the endpoint).
		changes["status"], changes["delivered_at"], changes["next_attempt_at"] = DeliverySucceeded, now, nil
		if err := logAttempt(); err != nil {
			return 0, err
		}
		db := s.work.WithContext(ctx)
		if err := db.Model(&Delivery{}).Where("id = ? AND status = ?", d.ID, DeliveryPending).Updates(changes).Error; err != nil {
			return 0, fmt.Errorf("record attempt of %s: %w", d.ID, err)
		}
		if err := db.Model(&Endpoint{}).Where("id = ? AND failing_since IS NOT NULL", e.ID).Update("failing_since", nil).Error; err != nil {
			return 0, fmt.Errorf("clear failures of %s: %w", e.ID, err)
		}
		s.metrics.attempts.WithLabelValues(outcome).Inc()
		return 0, nil
	}
	var pause time.Duration
	err := s.work.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		disable := ""
		switch outcome {
		case "gone":
			changes["status"], changes["next_attempt_at"] = DeliveryFailed, nil
			disable = "the endpoint answered 410 Gone"
		default:
			if err := tx.Model(&Endpoint{}).Where("id = ? AND failing_since IS NULL", e.ID).Update("failing_since", now).Error; err != nil {
				return fmt.Errorf("mark %s failing: %w", e.ID, err)
			}
			since := now
			if e.FailingSince != nil {
				since = *e.FailingSince
			}
			p, more := s.retry(d.Attempts + 1)
			switch {
			case now.Sub(since) >= FailingLimit:
				changes["status"], changes["next_attempt_at"] = DeliveryFailed, nil
				disable = fmt.Sprintf("every attempt failed since %s", since.UTC().Format(time.RFC3339))
				outcome = "given_up"
			case !more:
				// Every attempt of this delivery failed, over about three days (the schedule's span,
				// less its jitter): the endpoint has been failing that long.
				changes["status"], changes["next_attempt_at"] = DeliveryFailed, nil
				disable = fmt.Sprintf("all %d attempts of a delivery failed, since %s", d.Attempts+1, since.UTC().Format(time.RFC3339))
				outcome = "given_up"
			default:
				changes["next_attempt_at"] = now.Add(p)
				pause = p
			}
		}
		if err := logAttempt(); err != nil {
			return err
		}
		res := tx.Model(&Delivery{}).Where("id = ? AND status = ?", d.ID, DeliveryPending).Updates(changes)
		if res.Error != nil {
			return fmt.Errorf("record attempt of %s: %w", d.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			pause = 0 // closed meanwhile (endpoint deleted): nothing more to do
		}
		if disable != "" {
			return s.disable(ctx, tx, e.ID, disable, now)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.metrics.attempts.WithLabelValues(outcome).Inc()
	return pause, nil
}

// disable turns an enabled endpoint off for reason, gives up its pending deliveries and emits
// webhook_endpoint.disabled (kept for the console and the other endpoints).
func (s *Service) disable(ctx context.Context, tx *gorm.DB, id, reason string, now time.Time) error {
	var e Endpoint
	if err := database.ForUpdate(tx).Where("id = ?", id).Take(&e).Error; err != nil {
		return fmt.Errorf("lock endpoint %s: %w", id, err)
	}
	if e.Status != StatusEnabled || e.DeletedAt != nil {
		return nil
	}
	e.Status, e.DisabledReason, e.UpdatedAt = StatusDisabled, &reason, now
	if err := tx.Model(&Endpoint{}).Where("id = ?", id).Updates(map[string]any{
		"status": StatusDisabled, "disabled_reason": reason, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("disable endpoint %s: %w", id, err)
	}
	if err := tx.Model(&Delivery{}).Where("endpoint_id = ? AND status = ?", id, DeliveryPending).
		Updates(map[string]any{"status": DeliveryCanceled, "next_attempt_at": nil}).Error; err != nil {
		return fmt.Errorf("cancel deliveries of %s: %w", id, err)
	}
	s.log.Warn("webhook endpoint disabled", "endpoint", id, "tenant", e.TenantID, "reason", reason)
	_, err := s.Emit(ctx, tx, now, NewEvent{TenantID: e.TenantID, Environment: e.Environment, Type: EndpointDisabled,
		Data: NewEndpointView(e, now)})
	return err
}

// ListDeliveries returns the deliveries of one of the caller's endpoints, newest first.
func (s *Service) ListDeliveries(ctx context.Context, p keys.Principal, endpointID string, page httpx.Page, status string) ([]Delivery, error) {
	if _, err := s.get(ctx, s.db, p, endpointID); err != nil {
		return nil, err
	}
	switch status {
	case "", DeliveryPending, DeliverySucceeded, DeliveryFailed, DeliveryCanceled:
	default:
		return nil, problem.Field("status", "must be pending, succeeded, failed or canceled")
	}
	q := s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ? AND endpoint_id = ?", p.TenantID, p.Environment, endpointID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []Delivery
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}
