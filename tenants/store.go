package tenants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/members"
)

// Store reads and writes tenants and members.
type Store struct{ db *gorm.DB }

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// InsertTenant writes a new tenant and its owner inside tx. A tenant that
// already signed up with the email is a conflict.
func (s *Store) InsertTenant(ctx context.Context, tx *gorm.DB, t *Tenant, owner *members.Member) error {
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
	// An account that asked for a link still usable keeps its address until the link expires.
	var released []string
	err := tx.WithContext(ctx).Raw(`UPDATE tenants SET signup_email_lower = id || ?, updated_at = ?
		WHERE signup_email_lower = ? AND email_verified_at IS NULL AND created_at <= ?
		AND NOT EXISTS (SELECT 1 FROM email_verifications v WHERE v.tenant_id = tenants.id AND v.used_at IS NULL AND v.expires_at > ?)
		RETURNING id`,
		releasedDomain, now, emailLower, now.Add(-VerificationLinkTTL), now).Scan(&released).Error
	if err != nil {
		return fmt.Errorf("release unverified email: %w", err)
	}
	for _, id := range released {
		// Its owner, who never signed in, no longer answers to the address either.
		err := tx.WithContext(ctx).Exec("UPDATE members SET email = ?, email_lower = ? WHERE tenant_id = ? AND email_lower = ? AND joined_at IS NULL",
			id+releasedDomain, id+releasedDomain, id, emailLower).Error
		if err != nil {
			return fmt.Errorf("release the owner's address: %w", err)
		}
		err = audit.Record(ctx, tx, audit.Change{TenantID: id, ActorType: audit.ActorSystem, ActorID: "signup",
			Action: "tenant.email_released", TargetType: "tenant", TargetID: id,
			After: map[string]string{"reason": "the address stayed unverified a day after signup and another signup claimed it"}}, now)
		if err != nil {
			return err
		}
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
