package tenants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/mail"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Limits of the email check.
const (
	// VerificationLinkTTL is how long a link sent to the signup email works.
	VerificationLinkTTL = 24 * time.Hour
	// verificationResendGap is the least time between two links for one tenant.
	verificationResendGap = time.Minute
	// verificationLinksPerDay bounds the links one tenant is sent in 24 hours.
	verificationLinksPerDay = 5
	// VerifyPath is where a link leads, under the public URL.
	VerifyPath = "/verify-email"
	// releasedDomain ends the signup email of an account that lost the address (RFC 2606).
	releasedDomain = "@released.invalid"
)

// Verification is how the signup email is checked.
type Verification struct {
	// Required makes live scoring wait for the email to be verified (403 email_unverified).
	Required bool
	// Mail delivers the links; nil sends nothing.
	Mail mail.Sender
	// LinkBase is the public URL the links start with (no trailing slash).
	LinkBase string
	Log      *slog.Logger
}

// verifier sends links and follows them.
type verifier struct {
	Verification
	sending sync.WaitGroup
}

// emailVerification is a row of email_verifications.
type emailVerification struct {
	TokenHash  string `gorm:"primaryKey"`
	TenantID   string
	EmailLower string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     *time.Time
}

func (emailVerification) TableName() string { return "email_verifications" }

// VerificationSent says where a link went and until when it works.
type VerificationSent struct {
	Email     string    `json:"email"`
	ExpiresAt time.Time `json:"expires_at"`
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// issueLink records a new link for the tenant inside tx and returns its token.
func issueLink(ctx context.Context, tx *gorm.DB, tenantID, emailLower string, now time.Time) (string, VerificationSent, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", VerificationSent{}, fmt.Errorf("draw verification token: %w", err)
	}
	token := "evt_" + base64.RawURLEncoding.EncodeToString(raw[:])
	row := emailVerification{TokenHash: hashToken(token), TenantID: tenantID, EmailLower: emailLower, CreatedAt: now, ExpiresAt: now.Add(VerificationLinkTTL)}
	if err := tx.WithContext(ctx).Create(&row).Error; err != nil {
		return "", VerificationSent{}, fmt.Errorf("record verification link: %w", err)
	}
	return token, VerificationSent{Email: emailLower, ExpiresAt: row.ExpiresAt.UTC()}, nil
}

// send mails the link in the background: the call that made it has already answered. Its
// failure is logged; the owner asks for another link with POST /v1/email-verification.
func (v *verifier) send(ctx context.Context, t Tenant, token string, sent VerificationSent) {
	if v.Mail == nil {
		return
	}
	link := v.LinkBase + VerifyPath + "?token=" + url.QueryEscape(token)
	msg := mail.Message{
		To:      sent.Email,
		Subject: "Verify your email for RocketFin",
		Link:    link,
		Text: fmt.Sprintf(`Hello,

Someone (we hope you) signed up to RocketFin as %q with this address.
Open this link to confirm it is yours and open live scoring:

%s

The link works once, until %s. If you did not sign up, ignore this email:
the account cannot score live companies without this confirmation.

RocketFin
`, t.Name, link, sent.ExpiresAt.Format("2 January 2006 15:04 MST")),
	}
	v.sending.Add(1)
	go func() {
		defer v.sending.Done()
		ctx := context.WithoutCancel(ctx)
		if err := v.Mail.Send(ctx, msg); err != nil {
			v.Log.ErrorContext(ctx, "send verification email", "tenant_id", t.ID, "error", err.Error())
		}
	}()
}

// WaitForMail waits until the emails being sent have gone (or failed), for a graceful stop.
func (s *Service) WaitForMail() { s.verify.sending.Wait() }

// VerifyEmail follows a link: the tenant's email becomes verified and the link is spent.
func (s *Service) VerifyEmail(ctx context.Context, token string) (Tenant, error) {
	now := s.clock.Now()
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, "evt_") || len(token) > 100 {
		return Tenant{}, problem.New(problem.NotFound, "this verification link is not valid; ask for a new one")
	}
	var tenantID string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row emailVerification
		err := tx.Where("token_hash = ?", hashToken(token)).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return problem.New(problem.NotFound, "this verification link is not valid; ask for a new one")
		}
		if err != nil {
			return fmt.Errorf("read verification link: %w", err)
		}
		tenantID = row.TenantID
		if row.UsedAt != nil {
			return problem.New(problem.Conflict, "this verification link was already used")
		}
		if !now.Before(row.ExpiresAt) {
			return problem.New(problem.Conflict, "this verification link expired at %s; ask for a new one", row.ExpiresAt.UTC().Format(time.RFC3339))
		}
		res := tx.Model(&emailVerification{}).Where("token_hash = ? AND used_at IS NULL", row.TokenHash).Update("used_at", now)
		if res.Error != nil {
			return fmt.Errorf("spend verification link: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return problem.New(problem.Conflict, "this verification link was already used")
		}
		var t Tenant
		if err := tx.Where("id = ?", row.TenantID).Take(&t).Error; err != nil {
			return fmt.Errorf("read tenant %s: %w", row.TenantID, err)
		}
		if t.SignupEmailLower != row.EmailLower {
			return problem.New(problem.NotFound, "this verification link is for an address the account no longer holds")
		}
		if t.EmailVerifiedAt != nil {
			return nil
		}
		if err := tx.Model(&Tenant{}).Where("id = ?", t.ID).Updates(map[string]any{"email_verified_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("mark email verified: %w", err)
		}
		return audit.Record(ctx, tx, audit.Change{TenantID: t.ID, ActorType: audit.ActorEmailLink, ActorID: t.SignupEmailLower,
			Action: "tenant.email_verified", TargetType: "tenant", TargetID: t.ID}, now)
	})
	if err != nil {
		return Tenant{}, err
	}
	return s.store.Get(ctx, tenantID)
}

// ResendVerification sends the tenant a new link: at most one a minute and five a day.
func (s *Service) ResendVerification(ctx context.Context, tenantID string) (VerificationSent, error) {
	now := s.clock.Now()
	var token string
	var sent VerificationSent
	var t Tenant
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Concurrent requests take turns, so that each counts the links of the others.
		if err := database.LockName(ctx, tx, "verify:"+tenantID); err != nil {
			return err
		}
		if err := tx.Where("id = ?", tenantID).Take(&t).Error; err != nil {
			return fmt.Errorf("read tenant %s: %w", tenantID, err)
		}
		if t.EmailVerifiedAt != nil {
			return problem.New(problem.Conflict, "%s is already verified", t.SignupEmailLower)
		}
		if strings.HasSuffix(t.SignupEmailLower, releasedDomain) {
			return problem.New(problem.Conflict, "this account's signup email was released after it went unverified for %s; "+
				"ask support to confirm the address", VerificationLinkTTL)
		}
		var recent []emailVerification
		if err := tx.Where("tenant_id = ? AND created_at > ?", tenantID, now.Add(-24*time.Hour)).Order("created_at").Find(&recent).Error; err != nil {
			return fmt.Errorf("count verification links: %w", err)
		}
		if n := len(recent); n > 0 {
			if wait := recent[n-1].CreatedAt.Add(verificationResendGap).Sub(now); wait > 0 {
				return retryLater(wait, "a link was sent less than a minute ago")
			}
			if n >= verificationLinksPerDay {
				return retryLater(recent[0].CreatedAt.Add(24*time.Hour).Sub(now), "%d links were sent in the last 24 hours", n)
			}
		}
		var err error
		token, sent, err = issueLink(ctx, tx, t.ID, t.SignupEmailLower, now)
		return err
	})
	if err != nil {
		return VerificationSent{}, err
	}
	s.verify.send(ctx, t, token, sent)
	return sent, nil
}

func retryLater(wait time.Duration, format string, args ...any) error {
	err := problem.New(problem.RateLimited, format+"; ask again later", args...)
	err.RetryAfter = int((wait + time.Second - 1) / time.Second)
	if err.RetryAfter < 1 {
		err.RetryAfter = 1
	}
	return err
}

// EmailCheck is what a live call needs of the email: nil when it may go on.
func EmailCheck(required bool, verifiedAt *time.Time, email string) error {
	if !required || verifiedAt != nil {
		return nil
	}
	if strings.HasSuffix(email, releasedDomain) {
		return problem.New(problem.EmailUnverified,
			"this account's signup email was released after it went unverified for a day; ask support to confirm the address")
	}
	return problem.New(problem.EmailUnverified,
		"live calls open once %s is verified: follow the link sent to it, or ask for a new one with POST /v1/email-verification", email)
}
