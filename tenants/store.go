package tenants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Store reads and writes tenants and members.
type Store struct{ db *gorm.DB }

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// InsertTenant writes a new tenant and its owner inside tx. A tenant that
// already signed up with the email is a conflict.
func (s *Store) InsertTenant(ctx context.Context, tx *gorm.DB, t *Tenant, owner *Member) error {
	if err := tx.WithContext(ctx).Create(t).Error; err != nil {
		if database.IsUniqueViolation(err) {
			return problem.New(problem.Conflict, "an account already exists for this email")
		}
		return fmt.Errorf("insert tenant: %w", err)
	}
	if err := tx.WithContext(ctx).Create(owner).Error; err != nil {
		return fmt.Errorf("insert owner: %w", err)
	}
	return nil
}

// ReleaseUnverifiedEmail frees an email held by an account that signed up with it before
// VerificationLinkTTL before now and never verified it, so that whoever owns the address can
// sign up: a squatter holds an address for a day at most. The old account keeps its keys and sandbox data;
// its signup email becomes <tenant id>@released.invalid.
func (s *Store) ReleaseUnverifiedEmail(ctx context.Context, tx *gorm.DB, emailLower string, now time.Time) error {
	err := tx.WithContext(ctx).Exec(`UPDATE tenants SET signup_email_lower = id || ?, updated_at = ?
		WHERE signup_email_lower = ? AND email_verified_at IS NULL AND created_at <= ?`,
		releasedDomain, now, emailLower, now.Add(-VerificationLinkTTL)).Error
	if err != nil {
		return fmt.Errorf("release unverified email: %w", err)
	}
	return nil
}

// Get returns a tenant by id.
func (s *Store) Get(ctx context.Context, id string) (Tenant, error) {
	var t Tenant
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, problem.New(problem.NotFound, "no tenant %s", id)
	}
	if err != nil {
		return t, fmt.Errorf("get tenant %s: %w", id, err)
	}
	return t, nil
}

// Update writes the given columns of a tenant.
func (s *Store) Update(ctx context.Context, id string, cols map[string]any) error {
	res := s.db.WithContext(ctx).Model(&Tenant{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("update tenant %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return problem.New(problem.NotFound, "no tenant %s", id)
	}
	return nil
}
