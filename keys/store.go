package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Store reads and writes keys. Every method but the authentication lookup
// is scoped by tenant and environment: another tenant's key is not found.
type Store struct{ db *gorm.DB }

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// Insert writes a new key, inside tx when one is given.
func (s *Store) Insert(ctx context.Context, tx *gorm.DB, k *Key) error {
	if tx == nil {
		tx = s.db
	}
	if err := tx.WithContext(ctx).Create(k).Error; err != nil {
		if database.IsUniqueViolation(err) {
			return problem.New(problem.Conflict, "a key with this secret already exists")
		}
		return fmt.Errorf("insert key: %w", err)
	}
	return nil
}

// ByHash finds a key by the hash of its secret, in any tenant: this is how
// a credential is resolved to its tenant.
func (s *Store) ByHash(ctx context.Context, hash string) (Key, error) {
	var k Key
	err := s.db.WithContext(ctx).Where("secret_hash = ?", hash).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return k, problem.New(problem.Unauthenticated, "the API key is not known")
	}
	if err != nil {
		return k, fmt.Errorf("find key by hash: %w", err)
	}
	return k, nil
}

// Get returns one key of the tenant and environment.
func (s *Store) Get(ctx context.Context, tx *gorm.DB, tenantID string, env Environment, id string) (Key, error) {
	if tx == nil {
		tx = s.db
	}
	q := database.ForUpdate(tx.WithContext(ctx))
	var k Key
	err := q.Where("tenant_id = ? AND environment = ? AND id = ?", tenantID, env, id).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return k, problem.New(problem.NotFound, "no key %s", id)
	}
	if err != nil {
		return k, fmt.Errorf("get key %s: %w", id, err)
	}
	return k, nil
}

// List returns up to limit keys of the tenant and environment, newest
// first, older than startingAfter when it is set.
func (s *Store) List(ctx context.Context, tenantID string, env Environment, page httpx.Page, f metadata.Filter) ([]Key, error) {
	q := f.Apply(s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ?", tenantID, env), "metadata")
	var out []Key
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

// HasSuccessor reports whether a key was already rotated.
func (s *Store) HasSuccessor(ctx context.Context, tx *gorm.DB, tenantID, id string) (bool, error) {
	var n int64
	err := tx.WithContext(ctx).Model(&Key{}).Where("tenant_id = ? AND rotated_from = ?", tenantID, id).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("look for successor of %s: %w", id, err)
	}
	return n > 0, nil
}

// SetExpiry shortens a key's life to expiresAt.
func (s *Store) SetExpiry(ctx context.Context, tx *gorm.DB, tenantID, id string, expiresAt time.Time) error {
	err := tx.WithContext(ctx).Model(&Key{}).Where("tenant_id = ? AND id = ?", tenantID, id).
		Update("expires_at", expiresAt).Error
	if err != nil {
		return fmt.Errorf("set expiry of %s: %w", id, err)
	}
	return nil
}

// Revoke marks a key revoked at now, once; it reports whether it changed.
func (s *Store) Revoke(ctx context.Context, tx *gorm.DB, tenantID string, env Environment, id string, now time.Time) (bool, error) {
	res := tx.WithContext(ctx).Model(&Key{}).
		Where("tenant_id = ? AND environment = ? AND id = ? AND revoked_at IS NULL", tenantID, env, id).
		Update("revoked_at", now)
	if res.Error != nil {
		return false, fmt.Errorf("revoke key %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// TouchLastUsed records uses in one statement per key, never moving
// last_used_at backwards.
func (s *Store) TouchLastUsed(ctx context.Context, uses map[string]time.Time) error {
	for id, at := range uses {
		err := s.db.WithContext(ctx).Model(&Key{}).
			Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, at).
			Update("last_used_at", at).Error
		if err != nil {
			return fmt.Errorf("record last use of %s: %w", id, err)
		}
	}
	return nil
}
