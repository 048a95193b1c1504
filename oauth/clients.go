// Package oauth makes RocketFin the OAuth2 authorization server of its own API: tenants create
// clients bound to one environment and a set of scopes (POST /v1/oauth-clients), machines trade a
// client's id and secret for a short-lived signed access token (POST /oauth/token, the client
// credentials grant of RFC 6749 §4.4), and the authentication middleware accepts those tokens
// wherever API keys work. Tokens are JWTs (RFC 9068) signed with ES256 keys that rotate; the
// private keys are sealed at rest (internal/secretbox) and the public ones published at
// /.well-known/jwks.json, with the server's metadata (RFC 8414).
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/internal/ttlcache"
	"github.com/rocketfin/rocketfin/internal/valid"
	"github.com/rocketfin/rocketfin/keys"
)

// SecretPrefix starts every client secret, so that secret scanners can recognise one.
const SecretPrefix = "rfcs_"

// MaxClientsPerEnvironment is the most clients a tenant may hold in one environment.
const MaxClientsPerEnvironment = 50

// Client is an OAuth2 client of a tenant, bound to one environment and a set of scopes. Its
// secret is kept only as a hash; after a rotation the previous one works until its grace ends.
type Client struct {
	ID                      string `gorm:"primaryKey"`
	TenantID                string
	Environment             keys.Environment
	Name                    string
	Scopes                  string // space-separated
	SecretHash              string
	SecretLast4             string
	PreviousSecretHash      *string
	PreviousSecretExpiresAt *time.Time
	Metadata                string
	CreatedAt               time.Time
	SecretRotatedAt         *time.Time
	DeletedAt               *time.Time
}

// TableName is the clients' table.
func (Client) TableName() string { return "oauth_clients" }

// ScopeSet is the scopes the client was granted.
func (c Client) ScopeSet() access.Set {
	s, _ := access.Parse(c.Scopes) // written by Create from known scopes
	return s
}

// secretMatches compares secret with the client's current and, within its grace, previous
// secret, in constant time.
func (c Client) secretMatches(secret string, now time.Time) bool {
	h := []byte(keys.HashSecret(secret))
	ok := subtle.ConstantTimeCompare(h, []byte(c.SecretHash)) == 1
	if c.PreviousSecretHash != nil && c.PreviousSecretExpiresAt != nil && now.Before(*c.PreviousSecretExpiresAt) {
		ok = subtle.ConstantTimeCompare(h, []byte(*c.PreviousSecretHash)) == 1 || ok
	}
	return ok
}

// Issued is a client with its secret, shown once.
type Issued struct {
	Client Client
	Secret string
}

// Clients holds the rules of OAuth2 clients.
type Clients struct {
	db    *gorm.DB
	clock clock.Clock
	// cache holds clients by id for a second: a deleted client's tokens stop working on every
	// replica within that.
	cache *ttlcache.Cache[Client]
}

// NewClients returns the client service on db.
func NewClients(db *gorm.DB, clk clock.Clock) *Clients {
	return &Clients{db: db, clock: clk, cache: ttlcache.New[Client](time.Second, 100_000)}
}

// CreateInput is the body of POST /v1/oauth-clients.
type CreateInput struct {
	Name     string            `json:"name"`
	Scopes   []string          `json:"scopes"`
	Metadata metadata.Metadata `json:"metadata"`
}

func (in *CreateInput) validate(p keys.Principal) (access.Set, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return access.Set{}, problem.Field("name", "is required: say what the client is for")
	}
	if len(in.Name) > 100 {
		return access.Set{}, problem.Field("name", "must be at most 100 characters")
	}
	if msg := valid.TextProblem(in.Name); msg != "" {
		return access.Set{}, problem.Field("name", "%s", msg)
	}
	if len(in.Scopes) == 0 {
		return access.Set{}, problem.Field("scopes", "is required: name at least one scope, such as scores:write")
	}
	set, err := access.Parse(strings.Join(in.Scopes, " "))
	if err != nil {
		return access.Set{}, problem.Field("scopes", "%v; known scopes are listed in the API reference", err)
	}
	for i, s := range in.Scopes {
		if strings.TrimSpace(s) != s || s == "" {
			return access.Set{}, problem.Field(fmt.Sprintf("scopes[%d]", i), "must be one scope without spaces")
		}
	}
	if !p.Scopes.Contains(set) {
		return access.Set{}, problem.New(problem.Forbidden, "a client may not be granted scopes its creator does not hold (asked %s, held %s)", set, p.Scopes)
	}
	if err := in.Metadata.Validate("metadata"); err != nil {
		return access.Set{}, err
	}
	return set, nil
}

func newSecret() string { return SecretPrefix + rand.Text() + rand.Text() }

// Create makes a client in the caller's tenant and environment; its secret is shown once.
func (s *Clients) Create(ctx context.Context, p keys.Principal, in CreateInput) (Issued, error) {
	scopes, err := in.validate(p)
	if err != nil {
		return Issued{}, err
	}
	secret := newSecret()
	now := s.clock.Now()
	c := Client{ID: ids.New(ids.Client), TenantID: p.TenantID, Environment: p.Environment, Name: in.Name,
		Scopes: scopes.String(), SecretHash: keys.HashSecret(secret), SecretLast4: secret[len(secret)-4:],
		Metadata: in.Metadata.Encode(), CreatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := database.LockName(ctx, tx, "oauth-clients:"+p.TenantID); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Client{}).Where("tenant_id = ? AND environment = ? AND deleted_at IS NULL", p.TenantID, p.Environment).
			Count(&n).Error; err != nil {
			return fmt.Errorf("count clients: %w", err)
		}
		if n >= MaxClientsPerEnvironment {
			return problem.New(problem.Conflict, "this tenant already has %d %s OAuth2 clients, the most it may hold; delete one first", MaxClientsPerEnvironment, p.Environment)
		}
		if err := tx.Create(&c).Error; err != nil {
			return fmt.Errorf("insert client: %w", err)
		}
		ch := p.Change("oauth_client.created", "oauth_client", c.ID)
		ch.After = map[string]any{"name": c.Name, "scopes": scopes.List(), "environment": c.Environment}
		return audit.Record(ctx, tx, ch, now)
	})
	if err != nil {
		return Issued{}, err
	}
	return Issued{Client: c, Secret: secret}, nil
}

// get reads one live (not deleted) client of the caller, locked for update inside tx.
func (s *Clients) get(ctx context.Context, tx *gorm.DB, p keys.Principal, id string) (Client, error) {
	var c Client
	if !ids.Valid(ids.Client, id) {
		return c, problem.New(problem.NotFound, "no OAuth2 client %s", id)
	}
	q := tx.WithContext(ctx)
	if tx != s.db {
		q = database.ForUpdate(q)
	}
	err := q.Where("tenant_id = ? AND environment = ? AND id = ? AND deleted_at IS NULL", p.TenantID, p.Environment, id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, problem.New(problem.NotFound, "no OAuth2 client %s", id)
	}
	if err != nil {
		return c, fmt.Errorf("get client %s: %w", id, err)
	}
	return c, nil
}

// Get returns one of the caller's clients.
func (s *Clients) Get(ctx context.Context, p keys.Principal, id string) (Client, error) {
	return s.get(ctx, s.db, p, id)
}

// List returns the caller's clients of its environment, newest first.
func (s *Clients) List(ctx context.Context, p keys.Principal, page httpx.Page, f metadata.Filter) ([]Client, error) {
	q := f.Apply(s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ? AND deleted_at IS NULL", p.TenantID, p.Environment), "metadata")
	var out []Client
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// Delete ends a client: its secret and every token it holds stop working (tokens within a
// second on every replica).
func (s *Clients) Delete(ctx context.Context, p keys.Principal, id string) (Client, error) {
	var c Client
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if c, err = s.get(ctx, tx, p, id); err != nil {
			return err
		}
		now := s.clock.Now()
		c.DeletedAt = &now
		if err := tx.Model(&Client{}).Where("id = ?", c.ID).Update("deleted_at", now).Error; err != nil {
			return fmt.Errorf("delete client %s: %w", id, err)
		}
		ch := p.Change("oauth_client.deleted", "oauth_client", c.ID)
		ch.Before = map[string]any{"name": c.Name, "scopes": c.ScopeSet().List()}
		return audit.Record(ctx, tx, ch, now)
	})
	s.cache.Forget(id)
	return c, err
}

// RotateSecret gives a client a new secret; the old one keeps working for grace. Tokens already
// issued keep working until they expire.
func (s *Clients) RotateSecret(ctx context.Context, p keys.Principal, id string, grace time.Duration) (Issued, error) {
	if grace < 0 || grace > keys.MaxGrace {
		return Issued{}, problem.Field("grace_period_seconds", "must be from 0 to %d", int(keys.MaxGrace/time.Second))
	}
	var out Issued
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := s.get(ctx, tx, p, id)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if c.PreviousSecretExpiresAt != nil && now.Before(*c.PreviousSecretExpiresAt) {
			// As for keys: one rotation at a time, so that a grace period is never cut short.
			return problem.New(problem.Conflict, "the secret replaced by the last rotation works until %s; rotate again after it",
				c.PreviousSecretExpiresAt.UTC().Format(time.RFC3339))
		}
		secret := newSecret()
		end := now.Add(grace)
		prev := c.SecretHash
		c.PreviousSecretHash, c.PreviousSecretExpiresAt = &prev, &end
		c.SecretHash, c.SecretLast4, c.SecretRotatedAt = keys.HashSecret(secret), secret[len(secret)-4:], &now
		if err := tx.Model(&Client{}).Where("id = ?", c.ID).Updates(map[string]any{
			"previous_secret_hash": prev, "previous_secret_expires_at": end,
			"secret_hash": c.SecretHash, "secret_last4": c.SecretLast4, "secret_rotated_at": now,
		}).Error; err != nil {
			return fmt.Errorf("rotate secret of %s: %w", id, err)
		}
		ch := p.Change("oauth_client.secret_rotated", "oauth_client", c.ID)
		ch.After = map[string]any{"previous_secret_expires_at": end}
		out = Issued{Client: c, Secret: secret}
		return audit.Record(ctx, tx, ch, now)
	})
	s.cache.Forget(id)
	return out, err
}

// byID reads a client of any tenant by id for authentication, from the one-second cache; a
// deleted or unknown client is found = false.
func (s *Clients) byID(ctx context.Context, id string) (Client, bool, error) {
	c, err := s.cache.Get(ctx, id, s.clock.Now(), func(ctx context.Context) (Client, error) {
		var c Client
		err := s.db.WithContext(ctx).Where("id = ? AND deleted_at IS NULL", id).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Client{}, nil
		}
		if err != nil {
			return c, fmt.Errorf("find client %s: %w", id, err)
		}
		return c, nil
	})
	return c, err == nil && c.ID != "", err
}

// authenticate checks a client's id and secret at the token endpoint, reading the database (a
// secret rotated on another replica works at once); nil when they do not match a live client.
func (s *Clients) authenticate(ctx context.Context, id, secret string, now time.Time) (*Client, error) {
	if !ids.Valid(ids.Client, id) || !strings.HasPrefix(secret, SecretPrefix) {
		return nil, nil
	}
	var c Client
	err := s.db.WithContext(ctx).Where("id = ? AND deleted_at IS NULL", id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find client %s: %w", id, err)
	}
	if !c.secretMatches(secret, now) {
		return nil, nil
	}
	return &c, nil
}
