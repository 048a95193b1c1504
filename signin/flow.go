package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
)

// login is a row of oidc_logins: one sign-in started, used at most once.
type login struct {
	StateHash    string `gorm:"primaryKey"`
	Nonce        string
	CodeVerifier string // sealed
	ReturnTo     string
	CreatedAt    time.Time
	UsedAt       *time.Time
}

func (login) TableName() string { return "oidc_logins" }

const verifierPurpose = "oidc code verifier"

// handleLogin starts a sign-in: a fresh state (also set in a cookie bound to this browser),
// nonce and PKCE verifier, then a redirect to the provider.
func (s *Service) handleLogin(c *gin.Context) {
	if !s.Enabled() {
		page(c, http.StatusServiceUnavailable, "Console sign-in is off", "This RocketFin has no OpenID Provider configured (OIDC_ISSUER). Use the API with a key.")
		return
	}
	ctx := c.Request.Context()
	_, cfg, err := s.oauth(ctx)
	if err != nil {
		httpx.Logger(c).Warn("OpenID Provider unavailable", "error", err.Error())
		page(c, http.StatusServiceUnavailable, "Sign-in is unavailable", "The identity provider does not answer. Try again in a moment.")
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	sealed, err := s.box.Seal(verifierPurpose, []byte(verifier))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	now := s.clock.Now()
	if s.buckets != nil {
		// Each sign-in started is a row: an address may start a few a minute.
		v, err := s.buckets.Take(ctx, "login:"+c.ClientIP(), ratelimit.Limit{PerSecond: 0.5, Burst: 30}, now)
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		if !v.Allowed {
			c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(v.RetryAfter.Seconds())))))
			page(c, http.StatusTooManyRequests, "Too many sign-ins", "Too many sign-ins were started from this address. Wait a moment and try again.")
			return
		}
	}
	row := login{StateHash: hashOf(state), Nonce: nonce, CodeVerifier: sealed, ReturnTo: SafeReturn(c.Query("return_to")), CreatedAt: now}
	err = s.db.WithContext(ctx).Create(&row).Error
	if err != nil {
		httpx.Fail(c, fmt.Errorf("start sign-in: %w", err))
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCookie, Value: state, Path: CallbackPath, MaxAge: int(loginTTL / time.Second),
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode})
	c.Redirect(http.StatusFound, cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// PurgeLogins deletes the sign-ins started more than a day ago (finished or not): the background
// work runs it every hour.
func (s *Service) PurgeLogins(ctx context.Context) error {
	if err := s.db.WithContext(ctx).Where("created_at < ?", s.clock.Now().Add(-24*time.Hour)).Delete(&login{}).Error; err != nil {
		return fmt.Errorf("purge old sign-ins: %w", err)
	}
	return nil
}

// claims are what RocketFin reads of a person.
type claims struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
}

// handleCallback finishes a sign-in: the state must be this browser's and unused, the code is
// exchanged with its PKCE verifier, the ID token verified (issuer, audience, expiry, signature,
// nonce), and the verified email attaches the person to the tenants that expect them.
func (s *Service) handleCallback(c *gin.Context) {
	ctx := c.Request.Context()
	fail := func(status int, title, msg string) {
		s.audit(ctx, c, title)
		page(c, status, title, msg)
	}
	if !s.Enabled() {
		page(c, http.StatusServiceUnavailable, "Console sign-in is off", "This RocketFin has no OpenID Provider configured.")
		return
	}
	state := c.Query("state")
	ck, err := c.Request.Cookie(loginCookie)
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCookie, Value: "", Path: CallbackPath, MaxAge: -1, HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode})
	if state == "" || err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		fail(http.StatusBadRequest, "Sign-in refused", "This sign-in was not started in this browser, or it expired. Start again.")
		return
	}
	row, err := s.useLogin(ctx, state)
	if err != nil {
		fail(http.StatusBadRequest, "Sign-in refused", "This sign-in link was already used or has expired. Start again.")
		return
	}
	if e := c.Query("error"); e != "" {
		fail(http.StatusForbidden, "Sign-in refused by the provider", fmt.Sprintf("The identity provider answered %.80q.", e))
		return
	}
	verifier, err := s.box.Open(verifierPurpose, row.CodeVerifier)
	if err != nil {
		fail(http.StatusBadRequest, "Sign-in refused", "This sign-in cannot be finished here. Start again.")
		return
	}
	person, err := s.exchange(ctx, c.Query("code"), string(verifier), row.Nonce)
	if err != nil {
		httpx.Logger(c).Warn("sign-in refused", "error", err.Error())
		fail(http.StatusForbidden, "Sign-in refused", "The identity provider's answer could not be verified. Start again.")
		return
	}
	if person.EmailVerified == nil || !*person.EmailVerified || person.Email == "" {
		fail(http.StatusForbidden, "Email not verified", "Your identity provider has not verified your email address, so RocketFin cannot tell which account is yours. Verify it with your provider, then sign in again.")
		return
	}
	ms, err := s.members.SignIn(ctx, s.cfg.Issuer, person.Subject, person.Email)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	if len(ms) == 0 {
		fail(http.StatusForbidden, "No RocketFin account", fmt.Sprintf("%s is not a member of any RocketFin account. Sign up, or ask an owner or admin of your company's account to invite you.", person.Email))
		return
	}
	token, err := s.create(ctx, ms[0], c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	s.setSessionCookie(c, token, int(s.cfg.MaxAge/time.Second))
	c.Redirect(http.StatusSeeOther, row.ReturnTo)
}

// useLogin spends the sign-in of state, once, within its time.
func (s *Service) useLogin(ctx context.Context, state string) (login, error) {
	var row login
	now := s.clock.Now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&login{}).Where("state_hash = ? AND used_at IS NULL AND created_at > ?", hashOf(state), now.Add(-loginTTL)).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errors.New("unknown, used or expired sign-in")
		}
		return tx.Where("state_hash = ?", hashOf(state)).Take(&row).Error
	})
	return row, err
}

// exchange trades the code for tokens and verifies the ID token; the email comes from the ID token
// or, when the provider leaves it out, from its userinfo endpoint (for the same subject).
func (s *Service) exchange(ctx context.Context, code, verifier, nonce string) (claims, error) {
	if code == "" {
		return claims{}, errors.New("no code")
	}
	provider, cfg, err := s.oauth(ctx)
	if err != nil {
		return claims{}, err
	}
	ctx = oidc.ClientContext(ctx, s.http)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return claims{}, fmt.Errorf("exchange the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return claims{}, errors.New("no ID token")
	}
	idt, err := s.verifyIDToken(ctx, provider, raw, nonce)
	if err != nil {
		return claims{}, err
	}
	var cl claims
	if err := idt.Claims(&cl); err != nil {
		return claims{}, fmt.Errorf("read ID token claims: %w", err)
	}
	if cl.Email == "" || cl.EmailVerified == nil {
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return claims{}, fmt.Errorf("read userinfo: %w", err)
		}
		if info.Subject != idt.Subject {
			return claims{}, errors.New("userinfo is about another subject")
		}
		verified := info.EmailVerified
		cl.Email, cl.EmailVerified = info.Email, &verified
	}
	cl.Subject = idt.Subject
	return cl, nil
}

// verifyIDToken checks an ID token's signature, issuer, audience (this client) and expiry with
// go-oidc, then its nonce.
func (s *Service) verifyIDToken(ctx context.Context, provider *oidc.Provider, raw, nonce string) (*oidc.IDToken, error) {
	idt, err := provider.VerifierContext(ctx, &oidc.Config{ClientID: s.cfg.ClientID, Now: s.clock.Now}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("verify ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, errors.New("verify ID token: the nonce is not this sign-in's")
	}
	return idt, nil
}

// handleLogout ends the session server-side (a form post with its CSRF token).
func (s *Service) handleLogout(c *gin.Context) {
	ss, token, ok, err := s.current(c)
	if !ok || err != nil {
		s.setSessionCookie(c, "", -1)
		c.Redirect(http.StatusSeeOther, LoginPath)
		return
	}
	if err := s.checkCSRF(c, token); err != nil {
		page(c, http.StatusForbidden, "Sign-out refused", "Sign out from RocketFin's own page.")
		return
	}
	if err := s.end(c.Request.Context(), ss); err != nil {
		httpx.Fail(c, err)
		return
	}
	s.setSessionCookie(c, "", -1)
	page(c, http.StatusOK, "Signed out", "Your session has ended.")
}

// audit records a refused sign-in for the operators' log; refused sign-ins belong to no tenant.
func (s *Service) audit(ctx context.Context, c *gin.Context, what string) {
	s.guard.Failed(c.ClientIP(), "unknown", s.clock.Now())
	httpx.LoggerFrom(ctx).Warn("console sign-in refused", "reason", what)
}
