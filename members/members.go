// Package members owns the people of a tenant: the owner recorded at signup, the members owners
// and admins invite by email with a role, and the binding of each to one account of the OpenID
// Provider on their first sign-in. The roles' permissions are internal/access's table; this
// package keeps the rules of membership itself: only owners (and API keys) make, change or
// remove owners, and the last owner can be neither removed nor demoted.
package members

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	mailer "github.com/rocketfin/rocketfin/internal/mail"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// InviteTTL is how long an invitation can be accepted.
const InviteTTL = 7 * 24 * time.Hour

// MaxMembers bounds a tenant's members and pending invitations.
const MaxMembers = 200

// Member is a person of a tenant. Until their first sign-in (JoinedAt) a member is an
// invitation; the owner recorded at signup is one that never expires.
type Member struct {
	ID              string `gorm:"primaryKey"`
	TenantID        string
	Email           string
	EmailLower      string
	Role            access.Role
	OIDCIssuer      *string `gorm:"column:oidc_issuer"`
	OIDCSubject     *string `gorm:"column:oidc_subject"`
	JoinedAt        *time.Time
	InvitedBy       *string
	InviteExpiresAt *time.Time
	CreatedAt       time.Time
}

// TableName is the members' table.
func (Member) TableName() string { return "members" }

// Statuses of a member.
const (
	StatusActive  = "active"
	StatusInvited = "invited"
	StatusExpired = "expired"
)

// Status is active once the person signed in, invited before, expired when the invitation ran out.
func (m Member) Status(now time.Time) string {
	switch {
	case m.JoinedAt != nil:
		return StatusActive
	case m.InviteExpiresAt != nil && !now.Before(*m.InviteExpiresAt):
		return StatusExpired
	}
	return StatusInvited
}

// Owner is the member a signup records: the signup email, as owner, joining on first sign-in.
func Owner(tenantID, email string, now time.Time) Member {
	return Member{ID: ids.New(ids.Member), TenantID: tenantID, Email: email, EmailLower: strings.ToLower(email),
		Role: access.Owner, CreatedAt: now}
}

// Service holds the rules of membership.
type Service struct {
	db    *gorm.DB
	clock clock.Clock
	mail  mailer.Sender
	// SignupOwnerNeedsVerifiedEmail keeps the owner recorded at signup from being joined by a
	// sign-in until the signup email is verified: else whoever signed up with someone else's
	// address (a squatter, who holds the signup's keys) would have its owner work in their tenant.
	SignupOwnerNeedsVerifiedEmail bool
	// signInURL is where an invitation tells the invitee to sign in.
	signInURL string
	log       *slog.Logger
}

// NewService returns the member service; invitations are mailed through m with a link to signInURL.
func NewService(db *gorm.DB, clk clock.Clock, m mailer.Sender, signInURL string, log *slog.Logger) *Service {
	return &Service{db: db, clock: clk, mail: m, signInURL: signInURL, log: log}
}

func change(p keys.Principal, action string, m Member) audit.Change {
	c := p.Change(action, "member", m.ID)
	c.Environment = "" // members belong to the whole tenant
	return c
}

// managesOwners tells whether p may make, change or remove owners: an owner, or an owner-level
// credential (a live API key holding every scope: the signup's, or one an owner made).
func managesOwners(p keys.Principal) bool {
	return p.Role == access.Owner || (p.Role == "" && p.Scopes.IsEvery())
}

// InviteInput is the body of POST /v1/members.
type InviteInput struct {
	Email string      `json:"email"`
	Role  access.Role `json:"role"`
}

// Invite records an invitation of email with role and mails it. Inviting an address already a
// member is 409; an expired invitation of it is renewed.
func (s *Service) Invite(ctx context.Context, p keys.Principal, in InviteInput) (Member, error) {
	in.Email = strings.TrimSpace(in.Email)
	addr, err := mail.ParseAddress(in.Email)
	if err != nil || addr.Address != in.Email || len(in.Email) > 254 {
		return Member{}, problem.Field("email", "must be an email address such as ana@example.com")
	}
	if !access.ValidRole(in.Role) {
		return Member{}, problem.Field("role", "must be owner, admin, developer or finance")
	}
	if in.Role == access.Owner && !managesOwners(p) {
		return Member{}, problem.New(problem.Forbidden, "only an owner may invite an owner")
	}
	now := s.clock.Now()
	expires := now.Add(InviteTTL)
	by := p.CredentialID
	m := Member{ID: ids.New(ids.Member), TenantID: p.TenantID, Email: in.Email, EmailLower: strings.ToLower(in.Email),
		Role: in.Role, InvitedBy: &by, InviteExpiresAt: &expires, CreatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := database.LockName(ctx, tx, "members:"+p.TenantID); err != nil {
			return err
		}
		var existing Member
		err := tx.Where("tenant_id = ? AND email_lower = ?", p.TenantID, m.EmailLower).Take(&existing).Error
		switch {
		case err == nil && existing.Status(now) != StatusExpired:
			return problem.New(problem.Conflict, "%s is already a member or invited (%s)", in.Email, existing.ID)
		case err == nil:
			if err := tx.Delete(&Member{}, "id = ?", existing.ID).Error; err != nil {
				return fmt.Errorf("drop expired invitation: %w", err)
			}
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("find member: %w", err)
		}
		var n int64
		if err := tx.Model(&Member{}).Where("tenant_id = ?", p.TenantID).Count(&n).Error; err != nil {
			return fmt.Errorf("count members: %w", err)
		}
		if n >= MaxMembers {
			return problem.New(problem.Conflict, "this tenant already has %d members and invitations, the most it may hold", MaxMembers)
		}
		if err := tx.Create(&m).Error; err != nil {
			return fmt.Errorf("insert member: %w", err)
		}
		c := change(p, "member.invited", m)
		c.After = map[string]any{"email": m.Email, "role": m.Role, "expires_at": expires}
		return audit.Record(ctx, tx, c, now)
	})
	if err != nil {
		return Member{}, err
	}
	s.sendInvitation(ctx, m)
	return m, nil
}

func (s *Service) sendInvitation(ctx context.Context, m Member) {
	if s.mail == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	msg := mailer.Message{To: m.Email, Subject: "You are invited to RocketFin",
		Text: fmt.Sprintf("You were invited to join a RocketFin account as %s.\n\nSign in with this email address (%s) within 7 days:\n\n  %s\n",
			m.Role, m.Email, s.signInURL)}
	if err := s.mail.Send(ctx, msg); err != nil {
		httpx.LoggerFrom(ctx).Warn("invitation not mailed", "member", m.ID, "error", err.Error())
	}
}

// get reads one member of the caller's tenant, locked inside tx.
func (s *Service) get(ctx context.Context, tx *gorm.DB, tenantID, id string) (Member, error) {
	var m Member
	if !ids.Valid(ids.Member, id) {
		return m, problem.New(problem.NotFound, "no member %s", id)
	}
	err := database.ForUpdate(tx.WithContext(ctx)).Where("tenant_id = ? AND id = ?", tenantID, id).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return m, problem.New(problem.NotFound, "no member %s", id)
	}
	if err != nil {
		return m, fmt.Errorf("get member %s: %w", id, err)
	}
	return m, nil
}

// Get returns one member of the caller's tenant.
func (s *Service) Get(ctx context.Context, p keys.Principal, id string) (Member, error) {
	return s.get(ctx, s.db, p.TenantID, id)
}

// List returns the caller's tenant's members and invitations, newest first.
func (s *Service) List(ctx context.Context, p keys.Principal, page httpx.Page) ([]Member, error) {
	var out []Member
	q := s.db.WithContext(ctx).Where("tenant_id = ?", p.TenantID)
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// otherOwners counts the owners of the tenant besides id who have signed in.
func otherOwners(ctx context.Context, tx *gorm.DB, tenantID, id string) (int64, error) {
	var n int64
	// Only owners who signed in count: an invitation may never be accepted.
	err := tx.WithContext(ctx).Model(&Member{}).
		Where("tenant_id = ? AND id <> ? AND role = ? AND joined_at IS NOT NULL", tenantID, id, access.Owner).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count owners: %w", err)
	}
	return n, nil
}

// guardOwner refuses to touch an owner without the right to, or to leave the tenant without one.
func guardOwner(ctx context.Context, tx *gorm.DB, p keys.Principal, m Member) error {
	if m.Role != access.Owner {
		return nil
	}
	if !managesOwners(p) {
		return problem.New(problem.Forbidden, "only an owner may change or remove an owner")
	}
	n, err := otherOwners(ctx, tx, m.TenantID, m.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return problem.New(problem.Conflict, "%s is the tenant's last owner: make another member owner first", m.ID)
	}
	return nil
}

// UpdateInput is the body of PATCH /v1/members/{id}.
type UpdateInput struct {
	Role access.Role `json:"role"`
}

// SetRole changes a member's role.
func (s *Service) SetRole(ctx context.Context, p keys.Principal, id string, in UpdateInput) (Member, error) {
	if !access.ValidRole(in.Role) {
		return Member{}, problem.Field("role", "must be owner, admin, developer or finance")
	}
	return s.changeLocked(ctx, p, id, func(tx *gorm.DB, m *Member, now time.Time) error {
		if m.Role == in.Role {
			return nil
		}
		if in.Role == access.Owner && !managesOwners(p) {
			return problem.New(problem.Forbidden, "only an owner may make an owner")
		}
		if err := guardOwner(ctx, tx, p, *m); err != nil {
			return err
		}
		if err := tx.Model(&Member{}).Where("id = ?", m.ID).Update("role", in.Role).Error; err != nil {
			return fmt.Errorf("set role of %s: %w", id, err)
		}
		c := change(p, "member.role_changed", *m)
		c.Before, c.After = map[string]any{"role": m.Role}, map[string]any{"role": in.Role}
		m.Role = in.Role
		return audit.Record(ctx, tx, c, now)
	})
}

// changeLocked runs fn on member id of the caller's tenant in one transaction, the tenant's
// membership changes taking turns (so that two demotions cannot leave it without an owner).
func (s *Service) changeLocked(ctx context.Context, p keys.Principal, id string, fn func(tx *gorm.DB, m *Member, now time.Time) error) (Member, error) {
	var m Member
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := database.LockName(ctx, tx, "members:"+p.TenantID); err != nil {
			return err
		}
		var err error
		if m, err = s.get(ctx, tx, p.TenantID, id); err != nil {
			return err
		}
		return fn(tx, &m, s.clock.Now())
	})
	return m, err
}

// Remove takes a member (or an invitation) out of the tenant; their sessions stop within a second.
func (s *Service) Remove(ctx context.Context, p keys.Principal, id string) (Member, error) {
	return s.changeLocked(ctx, p, id, func(tx *gorm.DB, m *Member, now time.Time) error {
		if err := guardOwner(ctx, tx, p, *m); err != nil {
			return err
		}
		if err := tx.Delete(&Member{}, "id = ?", m.ID).Error; err != nil {
			return fmt.Errorf("remove member %s: %w", id, err)
		}
		c := change(p, "member.removed", *m)
		c.Before = map[string]any{"email": m.Email, "role": m.Role}
		return audit.Record(ctx, tx, c, now)
	})
}

// SignIn attaches a person the OpenID Provider vouches for (issuer, subject, verified email) to
// every tenant that expects them: members already bound to that account, and invitations (or the
// signup's owner, once its email is verified) of that email not yet accepted, which it accepts
// now. A member bound to another account of the provider is not taken over. It returns the
// person's memberships: those joined before, oldest first, then those joined now.
func (s *Service) SignIn(ctx context.Context, issuer, subject, email string) ([]Member, error) {
	now := s.clock.Now()
	emailLower := strings.ToLower(strings.TrimSpace(email))
	var prior, fresh []Member
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []Member
		if err := database.ForUpdate(tx).Where("email_lower = ? OR (oidc_issuer = ? AND oidc_subject = ?)", emailLower, issuer, subject).
			Order("id DESC").Find(&rows).Error; err != nil {
			return fmt.Errorf("find memberships: %w", err)
		}
		for _, m := range rows {
			switch {
			case m.JoinedAt != nil:
				if m.OIDCIssuer == nil || m.OIDCSubject == nil || *m.OIDCIssuer != issuer || *m.OIDCSubject != subject {
					s.log.Warn("sign-in refused for a member bound to another account of the provider", "member", m.ID)
					continue
				}
				prior = append(prior, m)
				continue
			case m.Status(now) == StatusExpired:
				continue
			case m.InviteExpiresAt == nil && s.SignupOwnerNeedsVerifiedEmail:
				var verified int64
				if err := tx.Raw("SELECT COUNT(*) FROM tenants WHERE id = ? AND email_verified_at IS NOT NULL", m.TenantID).Scan(&verified).Error; err != nil {
					return fmt.Errorf("read the signup email's state: %w", err)
				}
				if verified == 0 {
					s.log.Info("sign-in did not join a signup's owner whose email is unverified", "member", m.ID)
					continue
				}
				fallthrough
			default:
				m.OIDCIssuer, m.OIDCSubject, m.JoinedAt = &issuer, &subject, &now
				if err := tx.Model(&Member{}).Where("id = ?", m.ID).Updates(map[string]any{
					"oidc_issuer": issuer, "oidc_subject": subject, "joined_at": now, "invite_expires_at": nil,
				}).Error; err != nil {
					return fmt.Errorf("accept invitation %s: %w", m.ID, err)
				}
				err := audit.Record(ctx, tx, audit.Change{TenantID: m.TenantID, ActorType: audit.ActorMember, ActorID: m.ID,
					Action: "member.joined", TargetType: "member", TargetID: m.ID, After: map[string]any{"email": m.Email, "role": m.Role}}, now)
				if err != nil {
					return err
				}
			}
			fresh = append(fresh, m)
		}
		return nil
	})
	// The person's own accounts first, oldest membership first; then what this sign-in joined: a
	// session opens where the person already worked, never in an account that just invited them.
	sort.SliceStable(prior, func(i, j int) bool { return prior[i].JoinedAt.Before(*prior[j].JoinedAt) })
	return append(prior, fresh...), err
}

// Memberships are the tenants a signed-in member's account belongs to (the member's own first).
func (s *Service) Memberships(ctx context.Context, memberID string) ([]Member, error) {
	var self Member
	if err := s.db.WithContext(ctx).Where("id = ? AND joined_at IS NOT NULL", memberID).Take(&self).Error; err != nil {
		return nil, fmt.Errorf("find member %s: %w", memberID, err)
	}
	var rows []Member
	err := s.db.WithContext(ctx).Where("oidc_issuer = ? AND oidc_subject = ? AND joined_at IS NOT NULL", self.OIDCIssuer, self.OIDCSubject).
		Order("id DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find memberships: %w", err)
	}
	return rows, nil
}
