package consents

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// Service records, lists, withdraws and checks consents.
type Service struct {
	db    *gorm.DB
	clock clock.Clock
}

// NewService returns the consent service.
func NewService(db *gorm.DB, clk clock.Clock) *Service { return &Service{db: db, clock: clk} }

// Create records a consent for the caller's tenant and environment.
func (s *Service) Create(ctx context.Context, p keys.Principal, in CreateInput) (Consent, error) {
	now := s.clock.Now()
	if err := in.Validate(now); err != nil {
		return Consent{}, err
	}
	var c Consent
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		c, err = s.insert(ctx, tx, p, in, now)
		return err
	})
	return c, err
}

func (s *Service) insert(ctx context.Context, db *gorm.DB, p keys.Principal, in CreateInput, now time.Time) (Consent, error) {
	c := Consent{
		ID: ids.New(ids.Consent), TenantID: p.TenantID, Environment: string(p.Environment), CompanyID: in.CompanyID,
		Scopes: strings.Join(in.Scopes, ","), Evidence: in.Evidence, KeyID: p.CredentialID, CreatedAt: now, ExpiresAt: in.ExpiresAt.UTC(),
		Metadata: in.Metadata.Encode(),
	}
	if err := db.WithContext(ctx).Create(&c).Error; err != nil {
		return Consent{}, fmt.Errorf("record consent: %w", err)
	}
	err := audit.Record(ctx, db, audit.Change{TenantID: p.TenantID, Environment: string(p.Environment), ActorType: p.ActorType(), ActorID: p.CredentialID,
		Action: "consent.created", TargetType: "consent", TargetID: c.ID,
		After: map[string]any{"company_id": c.CompanyID, "scopes": c.ScopeList(), "expires_at": c.ExpiresAt}}, now)
	return c, err
}

// CreateOnce records a consent as Create does and answers its API view,
// under the Idempotency-Key key ("" for none): the claim of the key, the
// consent and the saved answer are written in one transaction, so a crash
// leaves either all three or none. A retry with the same key and body
// answers the saved answer (replayed=true), another body
// idempotency_conflict.
func (s *Service) CreateOnce(ctx context.Context, p keys.Principal, in CreateInput, key string) (ans idempotency.Answer, replayed bool, err error) {
	if err := idempotency.ValidKey(key); err != nil {
		return ans, false, err
	}
	if key != "" {
		key = "consents/" + key // a key of the scoring call's does not meet one of consents'
	}
	now := s.clock.Now()
	scope := idempotency.Scope{TenantID: p.TenantID, Environment: string(p.Environment)}
	var fingerprint string
	if key != "" {
		if fingerprint, err = idempotency.Fingerprint(in); err != nil {
			return ans, false, err
		}
		if ans, found, err := idempotency.Lookup(ctx, s.db, scope, key, fingerprint, now); err != nil || found {
			return ans, found, err
		}
	}
	if err := in.Validate(now); err != nil {
		return ans, false, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if key != "" {
			if err := idempotency.Claim(ctx, tx, scope, key, fingerprint, "", now); err != nil {
				return err
			}
		}
		c, err := s.insert(ctx, tx, p, in, now)
		if err != nil {
			return err
		}
		body, err := httpx.Marshal(NewView(c, now))
		if err != nil {
			return fmt.Errorf("encode consent %s: %w", c.ID, err)
		}
		ans = idempotency.Answer{Status: http.StatusCreated, Body: body}
		if key == "" {
			return nil
		}
		return idempotency.Save(ctx, tx, scope, key, ans)
	})
	if errors.Is(err, idempotency.ErrClaimed) {
		// A concurrent call with this key committed first: answer what it saved.
		stored, found, err := idempotency.Lookup(ctx, s.db, scope, key, fingerprint, now)
		if err == nil && !found {
			err = idempotency.InProgress()
		}
		return stored, found, err
	}
	return ans, false, err
}

// Get returns one consent of the caller.
func (s *Service) Get(ctx context.Context, p keys.Principal, id string) (Consent, error) {
	var c Consent
	if !ids.Valid(ids.Consent, id) {
		return c, problem.New(problem.NotFound, "no consent %s", id)
	}
	err := s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ? AND id = ?", p.TenantID, string(p.Environment), id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, problem.New(problem.NotFound, "no consent %s", id)
	}
	if err != nil {
		return c, fmt.Errorf("get consent %s: %w", id, err)
	}
	return c, nil
}

// List returns the caller's consents, newest first, for one company when
// companyID is set.
func (s *Service) List(ctx context.Context, p keys.Principal, page httpx.Page, f metadata.Filter) ([]Consent, error) {
	q := f.Apply(s.db.WithContext(ctx).Where("tenant_id = ? AND environment = ?", p.TenantID, string(p.Environment)), "metadata")
	if page.CompanyID != "" {
		q = q.Where("company_id = ?", page.CompanyID)
	}
	var out []Consent
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	return out, nil
}

// Withdraw ends a consent now; withdrawing it again changes nothing.
func (s *Service) Withdraw(ctx context.Context, p keys.Principal, id string) (Consent, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return Consent{}, err
	}
	now := s.clock.Now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Consent{}).
			Where("tenant_id = ? AND environment = ? AND id = ? AND withdrawn_at IS NULL", p.TenantID, string(p.Environment), id).
			Update("withdrawn_at", now)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return audit.Record(ctx, tx, audit.Change{TenantID: p.TenantID, Environment: string(p.Environment), ActorType: p.ActorType(),
			ActorID: p.CredentialID, Action: "consent.withdrawn", TargetType: "consent", TargetID: id}, now)
	})
	if err != nil {
		return Consent{}, fmt.Errorf("withdraw consent %s: %w", id, err)
	}
	return s.Get(ctx, p, id)
}

// Require returns the id of the newest active consent for the company that
// covers every scope, or consent_required. No scopes need no consent.
func (s *Service) Require(ctx context.Context, p keys.Principal, companyID string, scopes []string) (string, error) {
	if len(scopes) == 0 {
		return "", nil
	}
	now := s.clock.Now()
	var cands []Consent
	err := s.db.WithContext(ctx).
		Where("tenant_id = ? AND environment = ? AND company_id = ? AND withdrawn_at IS NULL AND expires_at > ?",
			p.TenantID, string(p.Environment), companyID, now).
		Order("id DESC").Find(&cands).Error
	if err != nil {
		return "", fmt.Errorf("look up consents for %s: %w", companyID, err)
	}
	for _, c := range cands {
		if c.Covers(scopes, now) {
			return c.ID, nil
		}
	}
	return "", problem.New(problem.ConsentRequired,
		"scoring %s needs an active consent covering %s: record one with POST /v1/consents", companyID, strings.Join(scopes, " and "))
}
