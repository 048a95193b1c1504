package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/jobs"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/outbound"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/secretbox"
	"github.com/rocketfin/rocketfin/internal/valid"
	"github.com/rocketfin/rocketfin/keys"
)

// The states of an endpoint.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// MaxEndpointsPerEnvironment is the most endpoints a tenant may hold in one environment.
const MaxEndpointsPerEnvironment = 16

// FailingLimit is how long an endpoint may fail every attempt before it is disabled.
const FailingLimit = 72 * time.Hour

// sealPurpose binds sealed endpoint secrets to their use.
const sealPurpose = "webhook-secret"

// Endpoint is a URL of a tenant's that receives its events of one environment.
type Endpoint struct {
	ID          string `gorm:"primaryKey"`
	TenantID    string
	Environment keys.Environment
	URL         string
	Description string
	// Events is the space-separated types it receives, or "*" for all.
	Events         string
	Status         string
	DisabledReason *string
	// SecretSealed is the signing secret, sealed with the service's secret key (secretbox).
	SecretSealed            string
	SecretLast4             string
	PreviousSecretSealed    *string
	PreviousSecretExpiresAt *time.Time
	// FailingSince is the first failed attempt since the last success.
	FailingSince *time.Time
	Metadata     string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DeletedAt    *time.Time
}

// TableName is the endpoints' table.
func (Endpoint) TableName() string { return "webhook_endpoints" }

// EventList is the types the endpoint receives.
func (e Endpoint) EventList() []string { return strings.Fields(e.Events) }

// Subscribed reports whether the endpoint receives events of type t.
func (e Endpoint) Subscribed(t string) bool {
	list := e.EventList()
	return slices.Contains(list, AllTypes) || slices.Contains(list, t)
}

// Options configure the service.
type Options struct {
	DB *gorm.DB
	// WorkDB is the pool delivery attempts use (nil: DB): on PostgreSQL a pool of its own, so that a
	// flood of API calls does not hold deliveries back, nor deliveries the API.
	WorkDB *gorm.DB
	Clock  clock.Clock
	// Box seals endpoint secrets at rest.
	Box   *secretbox.Box
	Queue *jobs.Queue
	// AllowLoopback admits http://127.0.0.1 and http://localhost endpoints (development and tests
	// only: ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK).
	AllowLoopback bool
	// Lookup resolves host names (nil: the system resolver); tests give their own.
	Lookup  func(ctx context.Context, host string) ([]netip.Addr, error)
	Metrics *Metrics
	Logger  *slog.Logger
	// Retry is the pause after failed attempt n (nil: the Schedule with its jitter); tests shorten it.
	Retry func(n int) (time.Duration, bool)
}

// Service holds webhook endpoints, events and their deliveries.
type Service struct {
	db      *gorm.DB
	work    *gorm.DB
	clock   clock.Clock
	box     *secretbox.Box
	queue   *jobs.Queue
	policy  map[keys.Environment]outbound.Policy
	client  map[keys.Environment]*http.Client
	metrics *Metrics
	log     *slog.Logger
	retry   func(n int) (time.Duration, bool)
}

// AttemptTimeout is how long a receiver has to answer an attempt with a 2xx.
const AttemptTimeout = 15 * time.Second

// New returns the service.
func New(opt Options) *Service {
	s := &Service{db: opt.DB, work: opt.WorkDB, clock: opt.Clock, box: opt.Box, queue: opt.Queue, metrics: opt.Metrics, log: opt.Logger, retry: opt.Retry,
		policy: map[keys.Environment]outbound.Policy{}, client: map[keys.Environment]*http.Client{}}
	if s.work == nil {
		s.work = s.db
	}
	if s.retry == nil {
		s.retry = func(n int) (time.Duration, bool) { return Retry(n, rand.Float64()) }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	for _, env := range []keys.Environment{keys.Sandbox, keys.Live} {
		// Live endpoints must be https; sandbox ones may be plain http (never to internal addresses).
		p := outbound.Policy{AllowLoopback: opt.AllowLoopback, AllowHTTP: env == keys.Sandbox, Lookup: opt.Lookup}
		s.policy[env], s.client[env] = p, p.Client(AttemptTimeout)
	}
	return s
}

func (s *Service) audit(ctx context.Context, tx *gorm.DB, c audit.Change, now time.Time) error {
	return audit.Record(ctx, tx, c, now)
}

// CreateInput is the body of POST /v1/webhook-endpoints.
type CreateInput struct {
	URL         string            `json:"url"`
	Events      []string          `json:"events"`
	Description string            `json:"description"`
	Metadata    metadata.Metadata `json:"metadata"`
}

// UpdateInput is the body of PATCH /v1/webhook-endpoints/{id}: what is present changes.
type UpdateInput struct {
	URL         *string            `json:"url"`
	Events      []string           `json:"events"`
	Description *string            `json:"description"`
	Status      *string            `json:"status"`
	Metadata    *metadata.Metadata `json:"metadata"`
}

func validEvents(list []string) (string, error) {
	if len(list) == 0 {
		return "", problem.Field("events", "is required: name the event types to receive, or [\"*\"] for all (%s)", strings.Join(Types, ", "))
	}
	if len(list) > len(Types)+1 {
		return "", problem.Field("events", "names at most %d types", len(Types)+1)
	}
	seen := map[string]bool{}
	for i, t := range list {
		if t != AllTypes && !slices.Contains(Types, t) {
			return "", problem.Field(fmt.Sprintf("events[%d]", i), "must be one of %s, or \"*\" for all", strings.Join(Types, ", "))
		}
		seen[t] = true
	}
	if seen[AllTypes] {
		return AllTypes, nil
	}
	var out []string
	for _, t := range Types {
		if seen[t] {
			out = append(out, t)
		}
	}
	return strings.Join(out, " "), nil
}

func validDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if len(d) > 200 {
		return "", problem.Field("description", "must be at most 200 characters")
	}
	if msg := valid.TextProblem(d); msg != "" {
		return "", problem.Field("description", "%s", msg)
	}
	return d, nil
}

// checkURL refuses an endpoint URL the environment's policy refuses, now (its host resolved).
func (s *Service) checkURL(ctx context.Context, env keys.Environment, raw string) (string, error) {
	if len(raw) > 2048 {
		return "", problem.Field("url", "must be at most 2048 characters")
	}
	if raw == "" {
		return "", problem.Field("url", "is required: the https URL that receives the events")
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u, err := s.policy[env].Resolve(rctx, raw)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), outbound.ErrRefused.Error()+": ")
		if env == keys.Live {
			return "", problem.Field("url", "is refused: %s (live endpoints must be public https URLs)", msg)
		}
		return "", problem.Field("url", "is refused: %s (endpoints must be public http or https URLs)", msg)
	}
	return u.String(), nil
}

// sealNew draws a secret and seals it.
func (s *Service) sealNew() (secret, sealed string, err error) {
	secret = NewSecret()
	sealed, err = s.box.Seal(sealPurpose, []byte(secret))
	if err != nil {
		return "", "", fmt.Errorf("seal endpoint secret: %w", err)
	}
	return secret, sealed, nil
}

// Issued is an endpoint with its secret, shown once.
type Issued struct {
	Endpoint Endpoint
	Secret   string
}

// Create registers an endpoint in the caller's tenant and environment; its secret is shown once.
func (s *Service) Create(ctx context.Context, p keys.Principal, in CreateInput) (Issued, error) {
	events, err := validEvents(in.Events)
	if err != nil {
		return Issued{}, err
	}
	desc, err := validDescription(in.Description)
	if err != nil {
		return Issued{}, err
	}
	if err := in.Metadata.Validate("metadata"); err != nil {
		return Issued{}, err
	}
	u, err := s.checkURL(ctx, p.Environment, in.URL)
	if err != nil {
		return Issued{}, err
	}
	secret, sealed, err := s.sealNew()
	if err != nil {
		return Issued{}, err
	}
	now := s.clock.Now()
	e := Endpoint{ID: ids.New(ids.Endpoint), TenantID: p.TenantID, Environment: p.Environment, URL: u, Description: desc,
		Events: events, Status: StatusEnabled, SecretSealed: sealed, SecretLast4: secret[len(secret)-4:],
		Metadata: in.Metadata.Encode(), CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := database.LockName(ctx, tx, "webhook-endpoints:"+p.TenantID); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Endpoint{}).Where("tenant_id = ? AND environment = ? AND deleted_at IS NULL", p.TenantID, p.Environment).
			Count(&n).Error; err != nil {
			return fmt.Errorf("count endpoints: %w", err)
		}
		if n >= MaxEndpointsPerEnvironment {
			return problem.New(problem.Conflict, "this tenant already has %d %s webhook endpoints, the most it may hold; delete one first", MaxEndpointsPerEnvironment, p.Environment)
		}
		if err := tx.Create(&e).Error; err != nil {
			return fmt.Errorf("insert endpoint: %w", err)
		}
		ch := p.Change("webhook_endpoint.created", "webhook_endpoint", e.ID)
		ch.After = map[string]any{"url": e.URL, "events": e.EventList()}
		return s.audit(ctx, tx, ch, now)
	})
	if err != nil {
		return Issued{}, err
	}
	return Issued{Endpoint: e, Secret: secret}, nil
}

// get reads one live endpoint of the caller, locked for update inside tx.
func (s *Service) get(ctx context.Context, tx *gorm.DB, p keys.Principal, id string) (Endpoint, error) {
	var e Endpoint
	if !ids.Valid(ids.Endpoint, id) {
		return e, problem.New(problem.NotFound, "no webhook endpoint %s", id)
	}
	q := tx.WithContext(ctx)
	if tx != s.db {
		q = database.ForUpdate(q)
	}
	err := q.Where("tenant_id = ? AND environment = ? AND id = ? AND deleted_at IS NULL", p.TenantID, p.Environment, id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, problem.New(problem.NotFound, "no webhook endpoint %s", id)
	}
	if err != nil {
		return e, fmt.Errorf("get endpoint %s: %w", id, err)
	}
	return e, nil
}

// Get returns one of the caller's endpoints.
func (s *Service) Get(ctx context.Context, p keys.Principal, id string) (Endpoint, error) {
	return s.get(ctx, s.db, p, id)
}

// List returns the caller's endpoints of its environment, newest first.
func (s *Service) List(ctx context.Context, p keys.Principal, page httpx.Page) ([]Endpoint, error) {
	q := s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ? AND deleted_at IS NULL", p.TenantID, p.Environment)
	var out []Endpoint
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return out, nil
}

// Update changes an endpoint; enabling a disabled one clears its failures (deliveries already
// given up stay so: redeliver their events).
func (s *Service) Update(ctx context.Context, p keys.Principal, id string, in UpdateInput) (Endpoint, error) {
	changes := map[string]any{}
	if in.Events != nil {
		events, err := validEvents(in.Events)
		if err != nil {
			return Endpoint{}, err
		}
		changes["events"] = events
	}
	if in.Description != nil {
		d, err := validDescription(*in.Description)
		if err != nil {
			return Endpoint{}, err
		}
		changes["description"] = d
	}
	if in.Metadata != nil {
		if err := in.Metadata.Validate("metadata"); err != nil {
			return Endpoint{}, err
		}
		changes["metadata"] = in.Metadata.Encode()
	}
	if in.Status != nil && *in.Status != StatusEnabled && *in.Status != StatusDisabled {
		return Endpoint{}, problem.Field("status", "must be enabled or disabled")
	}
	if in.URL != nil {
		u, err := s.checkURL(ctx, p.Environment, *in.URL)
		if err != nil {
			return Endpoint{}, err
		}
		changes["url"] = u
		changes["failing_since"] = nil // a new address starts with a clean record
	}
	var e Endpoint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if e, err = s.get(ctx, tx, p, id); err != nil {
			return err
		}
		before := map[string]any{"url": e.URL, "events": e.EventList(), "status": e.Status}
		if in.Status != nil && *in.Status != e.Status {
			changes["status"] = *in.Status
			changes["failing_since"] = nil
			if *in.Status == StatusDisabled {
				changes["disabled_reason"] = "disabled by " + p.ActorType()
			} else {
				changes["disabled_reason"] = nil
			}
		}
		now := s.clock.Now()
		changes["updated_at"] = now
		if err := tx.Model(&Endpoint{}).Where("id = ?", e.ID).Updates(changes).Error; err != nil {
			return fmt.Errorf("update endpoint %s: %w", id, err)
		}
		if err := tx.Where("id = ?", e.ID).Take(&e).Error; err != nil {
			return fmt.Errorf("read endpoint %s: %w", id, err)
		}
		ch := p.Change("webhook_endpoint.updated", "webhook_endpoint", e.ID)
		ch.Before, ch.After = before, map[string]any{"url": e.URL, "events": e.EventList(), "status": e.Status}
		return s.audit(ctx, tx, ch, now)
	})
	return e, err
}

// Delete removes an endpoint: its pending deliveries are given up.
func (s *Service) Delete(ctx context.Context, p keys.Principal, id string) (Endpoint, error) {
	var e Endpoint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if e, err = s.get(ctx, tx, p, id); err != nil {
			return err
		}
		now := s.clock.Now()
		e.DeletedAt = &now
		if err := tx.Model(&Endpoint{}).Where("id = ?", e.ID).Updates(map[string]any{"deleted_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("delete endpoint %s: %w", id, err)
		}
		if err := tx.Model(&Delivery{}).Where("endpoint_id = ? AND status = ?", e.ID, DeliveryPending).
			Updates(map[string]any{"status": DeliveryCanceled, "next_attempt_at": nil}).Error; err != nil {
			return fmt.Errorf("cancel deliveries of %s: %w", id, err)
		}
		ch := p.Change("webhook_endpoint.deleted", "webhook_endpoint", e.ID)
		ch.Before = map[string]any{"url": e.URL, "events": e.EventList()}
		return s.audit(ctx, tx, ch, now)
	})
	return e, err
}

// RotateSecret gives an endpoint a new secret; for grace both sign every delivery (Standard
// Webhooks receivers accept any of the signatures), so that the receiver can switch at leisure.
func (s *Service) RotateSecret(ctx context.Context, p keys.Principal, id string, grace time.Duration) (Issued, error) {
	if grace < 0 || grace > keys.MaxGrace {
		return Issued{}, problem.Field("grace_period_seconds", "must be from 0 to %d", int(keys.MaxGrace/time.Second))
	}
	var out Issued
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		e, err := s.get(ctx, tx, p, id)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
			return problem.New(problem.Conflict, "the secret replaced by the last rotation signs until %s; rotate again after it",
				e.PreviousSecretExpiresAt.UTC().Format(time.RFC3339))
		}
		secret, sealed, err := s.sealNew()
		if err != nil {
			return err
		}
		end := now.Add(grace)
		prev := e.SecretSealed
		e.PreviousSecretSealed, e.PreviousSecretExpiresAt = &prev, &end
		e.SecretSealed, e.SecretLast4, e.UpdatedAt = sealed, secret[len(secret)-4:], now
		if err := tx.Model(&Endpoint{}).Where("id = ?", e.ID).Updates(map[string]any{
			"previous_secret_sealed": prev, "previous_secret_expires_at": end,
			"secret_sealed": sealed, "secret_last4": e.SecretLast4, "updated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("rotate secret of %s: %w", id, err)
		}
		ch := p.Change("webhook_endpoint.secret_rotated", "webhook_endpoint", e.ID)
		ch.After = map[string]any{"previous_secret_expires_at": end}
		out = Issued{Endpoint: e, Secret: secret}
		return s.audit(ctx, tx, ch, now)
	})
	return out, err
}

// secrets opens the secrets that sign the endpoint's deliveries at now: the current one, and the
// previous one during its grace.
func (s *Service) secrets(e Endpoint, now time.Time) ([]string, error) {
	cur, err := s.box.Open(sealPurpose, e.SecretSealed)
	if err != nil {
		return nil, fmt.Errorf("open secret of %s: %w", e.ID, err)
	}
	out := []string{string(cur)}
	if e.PreviousSecretSealed != nil && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		prev, err := s.box.Open(sealPurpose, *e.PreviousSecretSealed)
		if err != nil {
			return nil, fmt.Errorf("open previous secret of %s: %w", e.ID, err)
		}
		out = append(out, string(prev))
	}
	return out, nil
}
