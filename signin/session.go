package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/members"
)

// Session is a row of sessions: a signed-in member of one tenant, in one environment.
type Session struct {
	ID          string `gorm:"primaryKey"`
	TokenHash   string
	TenantID    string
	MemberID    string
	Environment keys.Environment
	CreatedAt   time.Time
	LastSeenAt  time.Time
	ExpiresAt   time.Time
	EndedAt     *time.Time
	ClientIP    string
	UserAgent   string
}

// TableName is the sessions' table.
func (Session) TableName() string { return "sessions" }

// session is a session as the cache holds it: with its member's role and email as they are now.
type session struct {
	Session
	Role  access.Role
	Email string
}

// live tells whether the session still works at now, and why not.
func (s *Service) live(ss session, now time.Time) (bool, string) {
	switch {
	case ss.ID == "":
		return false, "the session is not known: sign in again"
	case ss.EndedAt != nil:
		return false, "the session was ended (signed out)"
	case !now.Before(ss.ExpiresAt):
		return false, "the session has expired: sign in again"
	case !now.Before(ss.LastSeenAt.Add(s.cfg.IdleTimeout)):
		return false, "the session expired after a period without use: sign in again"
	}
	return true, ""
}

// load reads a session by its token hash with its member, from the one-second cache: a logout,
// a removed member or a changed role reaches every replica within a second.
func (s *Service) load(ctx context.Context, hash string, now time.Time) (session, error) {
	return s.sessions.Get(ctx, hash, now, func(ctx context.Context) (session, error) {
		var ss session
		err := s.db.WithContext(ctx).Table("sessions").
			Select("sessions.*, members.role AS role, members.email AS email").
			Joins("JOIN members ON members.id = sessions.member_id AND members.tenant_id = sessions.tenant_id AND members.joined_at IS NOT NULL").
			Where("sessions.token_hash = ?", hash).Take(&ss).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return session{}, nil
		}
		if err != nil {
			return ss, fmt.Errorf("read session: %w", err)
		}
		return ss, nil
	})
}

// create starts a session of m and returns its secret token.
func (s *Service) create(ctx context.Context, m members.Member, c *gin.Context) (string, error) {
	now := s.clock.Now()
	token := randomToken()
	row := Session{ID: ids.New(ids.Session), TokenHash: hashOf(token), TenantID: m.TenantID, MemberID: m.ID,
		Environment: keys.Sandbox, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.MaxAge),
		ClientIP: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), 300)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (s *Service) setSessionCookie(c *gin.Context, token string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// current resolves the session cookie of c; ok is false when the request carries none.
func (s *Service) current(c *gin.Context) (ss session, token string, ok bool, err error) {
	ck, err := c.Request.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return session{}, "", false, nil
	}
	token = ck.Value
	if len(token) != 43 {
		return session{}, token, true, problem.New(problem.Unauthenticated, "the session cookie is malformed: sign in again")
	}
	now := s.clock.Now()
	ss, err = s.load(c.Request.Context(), hashOf(token), now)
	if err != nil {
		return ss, token, true, err
	}
	if alive, why := s.live(ss, now); !alive {
		return ss, token, true, problem.New(problem.Unauthenticated, "%s", why)
	}
	if now.Sub(ss.LastSeenAt) >= time.Minute {
		// Idle expiry counts from the last use, recorded at most once a minute.
		if err := s.db.WithContext(c.Request.Context()).Model(&Session{}).Where("id = ?", ss.ID).Update("last_seen_at", now).Error; err != nil {
			return ss, token, true, fmt.Errorf("record session use: %w", err)
		}
		s.sessions.Update(ss.TokenHash, func(v session) session { v.LastSeenAt = now; return v })
	}
	return ss, token, true, nil
}

// principal is what a session may do: its member's role in its environment.
func (ss session) principal() keys.Principal {
	return keys.Principal{TenantID: ss.TenantID, Environment: ss.Environment, CredentialID: ss.MemberID,
		Scopes: access.RoleScopes(ss.Role, string(ss.Environment)), Role: ss.Role}
}

// unsafe methods change state: they need the session's CSRF token.
func unsafe(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// checkCSRF refuses a state-changing request without the session's CSRF token (header, or form
// field for the console's forms) or sent from another origin.
func (s *Service) checkCSRF(c *gin.Context, token string) error {
	if !unsafe(c.Request.Method) {
		return nil
	}
	if origin := c.GetHeader("Origin"); origin != "" && origin != "null" && !sameOrigin(origin, c.Request) && origin != s.cfg.PublicURL {
		return problem.New(problem.Forbidden, "a console request must come from RocketFin's own pages (Origin %.80q)", origin)
	}
	got := c.GetHeader(CSRFHeader)
	if got == "" && c.ContentType() == "application/x-www-form-urlencoded" {
		got = c.PostForm(csrfField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(token))) != 1 {
		return problem.New(problem.Forbidden, "a state-changing console request needs the session's CSRF token in %s (GET /v1/session gives it)", CSRFHeader)
	}
	return nil
}

func sameOrigin(origin string, r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host
}

// Session authenticates a request by its session cookie, for keys.Middleware: ok is false when
// the request carries no session; reason names a failure for the authentication guard.
func (s *Service) Session(c *gin.Context) (keys.Principal, bool, string, error) {
	ss, _, ok, err := s.authenticated(c)
	if !ok {
		return keys.Principal{}, false, "", nil
	}
	if err != nil {
		if problem.CodeOf(err) != problem.Unauthenticated {
			return keys.Principal{}, true, "", err
		}
		if ss.ID == "" {
			return keys.Principal{}, true, "unknown", err
		}
		// A session that existed names its member, for the audit trail.
		return keys.Principal{TenantID: ss.TenantID, Environment: ss.Environment, CredentialID: ss.MemberID}, true, "expired", err
	}
	return ss.principal(), true, "", nil
}

// authenticated resolves the session cookie of c (ok is false without one) and checks the CSRF
// token of a state-changing request: the one way every route a session reaches lets it in.
func (s *Service) authenticated(c *gin.Context) (session, string, bool, error) {
	ss, token, ok, err := s.current(c)
	if ok && err == nil {
		err = s.checkCSRF(c, token)
	}
	return ss, token, ok, err
}

// end ends a session everywhere (other replicas within a second).
func (s *Service) end(ctx context.Context, ss session) error {
	now := s.clock.Now()
	if err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ? AND ended_at IS NULL", ss.ID).Update("ended_at", now).Error; err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	s.sessions.Forget(ss.TokenHash)
	return nil
}

// Viewer is the person behind a console page: the session's principal, who they are, and the
// token their forms must carry.
type Viewer struct {
	keys.Principal
	SessionID string
	Email     string
	CSRF      string
}

// Viewer resolves the console session of a page request, checking the CSRF token of a
// state-changing one; ok is false when the request carries no session.
func (s *Service) Viewer(c *gin.Context) (Viewer, bool, error) {
	ss, token, ok, err := s.authenticated(c)
	if !ok || err != nil {
		return Viewer{}, ok, err
	}
	return Viewer{Principal: ss.principal(), SessionID: ss.ID, Email: ss.Email, CSRF: csrfToken(token)}, true, nil
}

// SwitchEnvironment makes the session see env from its next request on.
func (s *Service) SwitchEnvironment(ctx context.Context, c *gin.Context, v Viewer, env keys.Environment) error {
	if !env.Valid() {
		return problem.Field("environment", "must be sandbox or live")
	}
	return s.updateSession(ctx, c, v.SessionID, map[string]any{"environment": env})
}

// updateSession changes the session's row and drops it from this replica's cache.
func (s *Service) updateSession(ctx context.Context, c *gin.Context, id string, cols map[string]any) error {
	if err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Updates(cols).Error; err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	if ck, err := c.Request.Cookie(SessionCookie); err == nil {
		s.sessions.Forget(hashOf(ck.Value))
	}
	return nil
}
