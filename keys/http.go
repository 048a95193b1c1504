package keys

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
)

const principalKey = "rocketfin.principal"

// TokenVerifier resolves OAuth2 access tokens (package oauth) to principals, with the reason of
// a failure (malformed, unknown, expired, revoked) for the guard. A failure of a credential that
// names a tenant (an expired token, a deleted client's) returns the principal it names, which
// the audit trail records.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Principal, string, error)
}

// LooksLikeToken tells an OAuth2 access token (a JWS in compact form) from an API key.
func LooksLikeToken(credential string) bool {
	return strings.HasPrefix(credential, "eyJ") && strings.Count(credential, ".") == 2
}

// SessionAuthenticator resolves console sessions (package signin) from their cookie: ok is false
// when the request carries none; reason names a failure for the guard.
type SessionAuthenticator interface {
	Session(c *gin.Context) (p Principal, ok bool, reason string, err error)
}

// Others are the credentials the middleware accepts besides API keys; nil fields accept none.
type Others struct {
	Tokens   TokenVerifier
	Sessions SessionAuthenticator
}

// Middleware authenticates `Authorization: Bearer <API key or access token>`, or else a console
// session cookie, and stores the principal for later handlers; any failure is a 401 problem.
func Middleware(s *Service, others Others) gin.HandlerFunc {
	return func(c *gin.Context) {
		addr, now := c.ClientIP(), s.clock.Now()
		h := c.GetHeader("Authorization")
		withSession := false
		if h == "" && others.Sessions != nil {
			_, err := c.Request.Cookie(SessionCookieName) // parsed only for calls without a header
			withSession = err == nil
		}
		if h == "" && !withSession {
			s.guard.Failed(addr, "missing", now)
			httpx.Fail(c, problem.New(problem.Unauthenticated, "the Authorization header is missing: send `Authorization: Bearer <API key>` (or sign in to the console)"))
			return
		}
		if blocked, wait := s.guard.Blocked(addr, now); blocked {
			// Before any hashing, cache or database work.
			e := problem.New(problem.RateLimited, "too many failed authentications from this address; retry later")
			e.RetryAfter = max(1, int(wait.Seconds()+0.999))
			s.guard.Failed(addr, "throttled", now)
			httpx.Fail(c, e)
			return
		}
		p, reason, err := s.resolve(c, h, withSession, others)
		if err != nil {
			if reason != "" {
				s.guard.Failed(addr, reason, now)
			}
			if p.TenantID != "" && p.CredentialID != "" {
				s.failures.add(p, reason, addr, now)
			}
			httpx.Fail(c, err)
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// SessionCookieName is the cookie of a console session (package signin sets it).
const SessionCookieName = "rf_session"

// resolve finds the principal of a request's credential, with the reason of a failure (malformed,
// unknown, revoked, expired; "" for a failure that is not the credential's).
func (s *Service) resolve(c *gin.Context, h string, withSession bool, others Others) (Principal, string, error) {
	if withSession {
		p, _, reason, err := others.Sessions.Session(c)
		return p, reason, err
	}
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return Principal{}, "malformed", problem.New(problem.Unauthenticated, "the Authorization header must be `Bearer <API key or access token>`")
	}
	if others.Tokens != nil && LooksLikeToken(secret) {
		return others.Tokens.Verify(c.Request.Context(), secret)
	}
	return s.authenticate(c.Request.Context(), secret)
}

// PrincipalOf returns the caller resolved by Middleware.
func PrincipalOf(c *gin.Context) Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(Principal)
	return pr
}

// View is a key as the API shows it: never the secret after creation.
type View struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Name        string            `json:"name"`
	Environment Environment       `json:"environment"`
	Prefix      string            `json:"prefix"`
	Last4       string            `json:"last4"`
	Status      string            `json:"status"`
	CreatedAt   time.Time         `json:"created_at"`
	LastUsedAt  *time.Time        `json:"last_used_at"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	RevokedAt   *time.Time        `json:"revoked_at,omitempty"`
	RotatedFrom *string           `json:"rotated_from,omitempty"`
	Metadata    metadata.Metadata `json:"metadata"`
	// Scopes is what the key may do: at most what the credential that made it could.
	Scopes []access.Scope `json:"scopes"`
	Secret string         `json:"secret,omitempty"`
}

// NewView shows k as of now.
func NewView(k Key, now time.Time) View {
	return View{
		ID: k.ID, Object: "api_key", Name: k.Name, Environment: k.Environment,
		Prefix: k.Prefix, Last4: k.Last4, Status: k.Status(now),
		CreatedAt: k.CreatedAt.UTC(), LastUsedAt: clock.UTC(k.LastUsedAt), ExpiresAt: clock.UTC(k.ExpiresAt),
		RevokedAt: clock.UTC(k.RevokedAt), RotatedFrom: k.RotatedFrom, Metadata: metadata.Decode(k.Metadata),
		Scopes: k.ScopeSet().List(),
	}
}

// IssuedView shows a new key with its secret.
func IssuedView(i Issued, now time.Time) View {
	v := NewView(i.Key, now)
	v.Secret = i.Secret
	return v
}

// Routes mounts the key routes.
func (s *Service) Routes(r httpx.Routes) {
	r.Authed.GET("/keys", s.handleList)
	once := httpx.NoIdempotencyKey("to see whether an earlier attempt made a key, list them with GET /v1/keys")
	r.Authed.POST("/keys", once, s.handleCreate)
	r.Authed.GET("/keys/:id", s.handleGet)
	r.Authed.POST("/keys/:id/rotate", once, s.handleRotate)
	r.Authed.DELETE("/keys/:id", s.handleRevoke)
}

func (s *Service) handleList(c *gin.Context) {
	page, err := httpx.ParsePage(c, ids.Key)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	filter, err := metadata.ParseFilter(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := s.List(c.Request.Context(), PrincipalOf(c), page, filter)
	now := s.clock.Now()
	httpx.RespondList(c, list, err, page, func(k Key) View { return NewView(k, now) })
}

func (s *Service) handleCreate(c *gin.Context) {
	var in CreateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	issued, err := s.Create(c.Request.Context(), PrincipalOf(c), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusCreated, IssuedView(issued, s.clock.Now()))
}

func (s *Service) handleGet(c *gin.Context) {
	k, err := s.Get(c.Request.Context(), PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(k, s.clock.Now()))
}

// ParseGrace reads the optional body of a rotation, {"grace_period_seconds": N}: how long the old
// secret keeps working (DefaultGrace when left out, at most MaxGrace).
func ParseGrace(c *gin.Context) (time.Duration, error) {
	var in RotateInput
	body, err := httpx.ReadBody(c)
	if err != nil {
		return 0, err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := httpx.DecodeBytes(body, &in); err != nil {
			return 0, err
		}
	}
	if in.GracePeriodSeconds == nil {
		return DefaultGrace, nil
	}
	g := *in.GracePeriodSeconds
	if g < 0 || g > int64(MaxGrace/time.Second) {
		return 0, problem.Field("grace_period_seconds", "must be from 0 to %d", int64(MaxGrace/time.Second))
	}
	return time.Duration(g) * time.Second, nil
}

// RotateInput is the body of a rotation (the body is optional).
type RotateInput struct {
	GracePeriodSeconds *int64 `json:"grace_period_seconds"`
}

func (s *Service) handleRotate(c *gin.Context) {
	grace, err := ParseGrace(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	issued, err := s.Rotate(c.Request.Context(), PrincipalOf(c), c.Param("id"), grace)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusCreated, IssuedView(issued, s.clock.Now()))
}

func (s *Service) handleRevoke(c *gin.Context) {
	force := c.Query("force")
	if force != "" && force != "true" && force != "false" {
		httpx.Fail(c, problem.Field("force", "must be true or false"))
		return
	}
	k, err := s.Revoke(c.Request.Context(), PrincipalOf(c), c.Param("id"), force == "true")
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewView(k, s.clock.Now()))
}
