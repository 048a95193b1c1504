package keys

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/valid"
)

// Rotation bounds from the contract.
const (
	DefaultGrace = 24 * time.Hour
	MaxGrace     = 7 * 24 * time.Hour
)

// Service holds the rules of keys.
type Service struct {
	db    *gorm.DB
	store *Store
	clock clock.Clock
	cache *cache
	usage *usageTracker
	// failures aggregates failed authentications for the audit trail.
	failures *failureLog
	guard    *Guard
	log      *slog.Logger
}

// Options tune the service.
type Options struct {
	// CacheTTL is how long a lookup is trusted; at most one second.
	CacheTTL time.Duration
	// NegativeEntries bounds the unknown keys remembered (DefaultNegativeEntries when 0).
	NegativeEntries int
	// Guard throttles failed authentications per address; nil makes one with the defaults.
	Guard  *Guard
	Logger *slog.Logger
}

// NewService returns the key service on db.
func NewService(db *gorm.DB, clk clock.Clock, opt Options) *Service {
	if opt.CacheTTL <= 0 || opt.CacheTTL > time.Second {
		opt.CacheTTL = time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Guard == nil {
		opt.Guard = NewGuard(GuardOptions{})
	}
	return &Service{db: db, store: NewStore(db), clock: clk, cache: newCache(opt.CacheTTL, opt.NegativeEntries),
		usage: newUsageTracker(), failures: newFailureLog(), guard: opt.Guard, log: opt.Logger}
}

// Guard is the throttle of failed authentications, shared with the OAuth2 token endpoint.
func (s *Service) Guard() *Guard { return s.guard }

// Issued is a new key with its secret, which is shown once and never again.
type Issued struct {
	Key    Key
	Secret string
}

// IssueTx creates a key inside tx (as signup does, with the tenant).
// Spec is what a new key carries besides its secret.
type Spec struct {
	Name string
	// RotatedFrom is the key it replaces, when it is a rotation.
	RotatedFrom *string
	Metadata    metadata.Metadata
	// Scopes caps the key; nil holds every scope.
	Scopes *string
}

func (s *Service) IssueTx(ctx context.Context, tx *gorm.DB, tenantID string, env Environment, spec Spec) (Issued, error) {
	secret, err := NewSecret(env)
	if err != nil {
		return Issued{}, fmt.Errorf("draw secret: %w", err)
	}
	k := Key{
		ID:          ids.New(ids.Key),
		TenantID:    tenantID,
		Environment: env,
		Name:        spec.Name,
		Prefix:      displayPrefix(secret),
		Last4:       last4(secret),
		SecretHash:  HashSecret(secret),
		CreatedAt:   s.clock.Now(),
		RotatedFrom: spec.RotatedFrom,
		Metadata:    spec.Metadata.Encode(),
		Scopes:      spec.Scopes,
	}
	if err := s.store.Insert(ctx, tx, &k); err != nil {
		return Issued{}, err
	}
	return Issued{Key: k, Secret: secret}, nil
}

// CreateInput is the body of POST /v1/keys.
type CreateInput struct {
	Name        string            `json:"name"`
	Environment Environment       `json:"environment"`
	Metadata    metadata.Metadata `json:"metadata"`
}

// Validate checks the input against the caller, filling defaults.
func (in *CreateInput) Validate(p Principal) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Environment == "" {
		in.Environment = p.Environment
	}
	if !in.Environment.Valid() {
		return problem.Field("environment", "must be sandbox or live")
	}
	if in.Environment != p.Environment {
		return problem.New(problem.Forbidden, "a %s key manages only %s keys", p.Environment, p.Environment)
	}
	if err := validName("name", in.Name); err != nil {
		return err
	}
	if err := in.Metadata.Validate("metadata"); err != nil {
		return err
	}
	if in.Name == "" {
		in.Name = string(in.Environment) + " key"
	}
	return nil
}

func validName(field, name string) error {
	if len(name) > 100 {
		return problem.Field(field, "must be at most 100 characters")
	}
	if msg := valid.TextProblem(name); msg != "" {
		return problem.Field(field, "%s", msg)
	}
	return nil
}

// Create makes a key in the caller's tenant and environment.
func (s *Service) Create(ctx context.Context, p Principal, in CreateInput) (Issued, error) {
	if err := in.Validate(p); err != nil {
		return Issued{}, err
	}
	var issued Issued
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Concurrent creations for one tenant take turns, so that they count each other.
		if err := database.LockName(ctx, tx, "keys:"+p.TenantID); err != nil {
			return err
		}
		var usable int64
		now := s.clock.Now()
		if err := tx.Model(&Key{}).Where("tenant_id = ? AND environment = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
			p.TenantID, in.Environment, now).Count(&usable).Error; err != nil {
			return fmt.Errorf("count keys: %w", err)
		}
		if usable >= MaxKeysPerEnvironment {
			return problem.New(problem.Conflict, "this tenant already has %d usable %s keys, the most it may hold; revoke one first", MaxKeysPerEnvironment, in.Environment)
		}
		var err error
		issued, err = s.IssueTx(ctx, tx, p.TenantID, in.Environment, Spec{Name: in.Name, Metadata: in.Metadata, Scopes: scopesOf(p)})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p.change("key.created", issued.Key.ID, nil, map[string]any{"name": in.Name, "environment": in.Environment}), now)
	})
	return issued, err
}

// scopesOf is what a key made by p may hold: everything when p is owner-level (an owner, or a key
// holding every scope), else p's own scopes, so that no credential makes a stronger one.
func scopesOf(p Principal) *string {
	if p.Scopes.IsEvery() {
		return nil
	}
	s := p.Scopes.String()
	return &s
}

// MaxKeysPerEnvironment is the most usable keys a tenant may hold in one environment; creating
// one more is 409 (rotation is not counted: the old key expires with its grace period).
const MaxKeysPerEnvironment = 50

// List returns the caller's keys of its own environment, newest first.
func (s *Service) List(ctx context.Context, p Principal, page httpx.Page, f metadata.Filter) ([]Key, error) {
	out, err := s.store.List(ctx, p.TenantID, p.Environment, page, f)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if at, ok := s.usage.peek(out[i].ID); ok && (out[i].LastUsedAt == nil || at.After(*out[i].LastUsedAt)) {
			out[i].LastUsedAt = &at
		}
	}
	return out, nil
}

// Get returns one of the caller's keys.
func (s *Service) Get(ctx context.Context, p Principal, id string) (Key, error) {
	if !ids.Valid(ids.Key, id) {
		return Key{}, problem.New(problem.NotFound, "no key %s", id)
	}
	return s.store.Get(ctx, nil, p.TenantID, p.Environment, id)
}

// Rotate issues a successor to a key; the old key keeps working for grace
// (never past its own expiry), then fails.
func (s *Service) Rotate(ctx context.Context, p Principal, id string, grace time.Duration) (Issued, error) {
	if !ids.Valid(ids.Key, id) {
		return Issued{}, problem.New(problem.NotFound, "no key %s", id)
	}
	if grace < 0 || grace > MaxGrace {
		return Issued{}, problem.Field("grace_period_seconds", "must be from 0 to %d", int(MaxGrace/time.Second))
	}
	var issued Issued
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		old, err := s.store.Get(ctx, tx, p.TenantID, p.Environment, id)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if !old.Usable(now) {
			return problem.New(problem.Conflict, "key %s is %s and cannot be rotated", id, old.Status(now))
		}
		rotated, err := s.store.HasSuccessor(ctx, tx, p.TenantID, id)
		if err != nil {
			return err
		}
		if rotated {
			return problem.New(problem.Conflict, "key %s was already rotated; rotate its successor instead", id)
		}
		end := now.Add(grace)
		if old.ExpiresAt != nil && old.ExpiresAt.Before(end) {
			end = *old.ExpiresAt
		}
		if err := s.store.SetExpiry(ctx, tx, p.TenantID, id, end); err != nil {
			return err
		}
		issued, err = s.IssueTx(ctx, tx, p.TenantID, old.Environment, Spec{Name: old.Name, RotatedFrom: &old.ID, Metadata: metadata.Decode(old.Metadata), Scopes: old.Scopes})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, p.change("key.rotated", id, nil, map[string]any{"new_key": issued.Key.ID, "old_key_expires_at": end}), now)
	})
	if err != nil {
		return Issued{}, fmt.Errorf("rotate key %s: %w", id, err)
	}
	s.cache.forget(id)
	return issued, nil
}

// Revoke makes a key fail at once. Revoking a revoked key changes nothing.
func (s *Service) Revoke(ctx context.Context, p Principal, id string, force bool) (Key, error) {
	if !ids.Valid(ids.Key, id) {
		return Key{}, problem.New(problem.NotFound, "no key %s", id)
	}
	now := s.clock.Now()
	if p.Environment == Live && !force {
		// Only a live key can make a live key: revoking the last one locks the tenant out of live.
		var others int64
		if err := s.db.WithContext(ctx).Model(&Key{}).Where("tenant_id = ? AND environment = ? AND id <> ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
			p.TenantID, Live, id, now).Count(&others).Error; err != nil {
			return Key{}, fmt.Errorf("count live keys: %w", err)
		}
		if others == 0 {
			if _, err := s.store.Get(ctx, nil, p.TenantID, p.Environment, id); err != nil {
				return Key{}, err
			}
			return Key{}, problem.New(problem.Conflict, "this is the tenant's last usable live key, and only a live key can create another: create a new live key first (POST /v1/keys with this key), then revoke this one; or send DELETE /v1/keys/%s?force=true to revoke it anyway", id)
		}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		changed, err := s.store.Revoke(ctx, tx, p.TenantID, p.Environment, id, now)
		if err != nil || !changed {
			return err
		}
		return audit.Record(ctx, tx, p.change("key.revoked", id, nil, map[string]bool{"force": force}), now)
	})
	if err != nil {
		return Key{}, err
	}
	s.cache.forget(id)
	return s.store.Get(ctx, nil, p.TenantID, p.Environment, id)
}

// Authenticate resolves a secret to its principal. Malformed secrets and
// bad checksums fail before any lookup; a warm key costs no database trip.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	p, _, err := s.authenticate(ctx, secret)
	return p, err
}

// authenticate is Authenticate with the reason of a failure (malformed, unknown, revoked or
// expired), for the guard and the metrics.
func (s *Service) authenticate(ctx context.Context, secret string) (Principal, string, error) {
	env, err := ParseSecret(secret)
	if err != nil {
		return Principal{}, "malformed", err
	}
	hash := HashSecret(secret)
	now := s.clock.Now()
	k, found, err := s.cache.get(ctx, hash, now, s.load)
	if err != nil {
		return Principal{}, "", fmt.Errorf("authenticate: %w", err)
	}
	if !found || subtle.ConstantTimeCompare([]byte(k.SecretHash), []byte(hash)) != 1 || k.Environment != env {
		return Principal{}, "unknown", problem.New(problem.Unauthenticated, "the API key is not known")
	}
	// A failure of a key that exists names it, for the audit trail.
	named := Principal{TenantID: k.TenantID, Environment: k.Environment, CredentialID: k.ID}
	switch k.Status(now) {
	case StatusRevoked:
		return named, "revoked", problem.New(problem.Unauthenticated, "the API key was revoked")
	case StatusExpired:
		return named, "expired", problem.New(problem.Unauthenticated, "the API key has expired")
	}
	s.usage.touch(k.ID, now)
	return Principal{TenantID: k.TenantID, Environment: k.Environment, CredentialID: k.ID, Scopes: k.ScopeSet()}, "", nil
}

func (s *Service) load(ctx context.Context, hash string) (Key, bool, error) {
	k, err := s.store.ByHash(ctx, hash)
	if problem.CodeOf(err) == problem.Unauthenticated {
		return Key{}, false, nil
	}
	if err != nil {
		return Key{}, false, err
	}
	return k, true, nil
}
