package signin

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// Routes mounts the sign-in flow and the session's own API.
func (s *Service) Routes(r httpx.Routes) {
	r.Root.GET(LoginPath, s.handleLogin)
	r.Root.GET(CallbackPath, s.handleCallback)
	r.Root.POST(LogoutPath, s.handleLogout)
	r.Public.GET("/session", s.handleGetSession)
	r.Public.PATCH("/session", s.handlePatchSession)
	r.Public.DELETE("/session", s.handleDeleteSession)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · RocketFin</title></head>
<body><main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Session}}<dl>
<dt>Signed in as</dt><dd>{{.Session.Email}} ({{.Session.Role}})</dd>
<dt>Account</dt><dd>{{.Session.TenantID}}</dd>
<dt>Environment</dt><dd>{{.Session.Environment}}</dd>
</dl>
<form method="post" action="/console/logout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button type="submit">Sign out</button></form>
{{else}}<p><a href="/console/login">Sign in</a></p>{{end}}
</main></body></html>
`))

type pageData struct {
	Title, Message string
	Session        *session
	CSRF           string
}

func page(c *gin.Context, status int, title, message string) {
	render(c, status, pageData{Title: title, Message: message})
}

func render(c *gin.Context, status int, d pageData) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Status(status)
	if err := pageTemplate.Execute(c.Writer, d); err != nil {
		httpx.Logger(c).Warn("render page", "error", err.Error())
	}
}

// SessionView is GET /v1/session.
type SessionView struct {
	ID            string           `json:"id"`
	Object        string           `json:"object"`
	TenantID      string           `json:"tenant_id"`
	Environment   keys.Environment `json:"environment"`
	Member        MemberRef        `json:"member"`
	Scopes        []access.Scope   `json:"scopes"`
	Memberships   []MemberRef      `json:"memberships"`
	CSRFToken     string           `json:"csrf_token"`
	CreatedAt     time.Time        `json:"created_at"`
	ExpiresAt     time.Time        `json:"expires_at"`
	IdleExpiresAt time.Time        `json:"idle_expires_at"`
}

// MemberRef names a membership.
type MemberRef struct {
	ID       string      `json:"id"`
	TenantID string      `json:"tenant_id"`
	Email    string      `json:"email"`
	Role     access.Role `json:"role"`
}

// sessionOf resolves the session of a request to the session's own routes, which nothing but a
// session authenticates.
func (s *Service) sessionOf(c *gin.Context) (session, string, bool) {
	ss, token, ok, err := s.authenticated(c)
	if !ok {
		err = problem.New(problem.Unauthenticated, "no console session: sign in at %s", LoginPath)
	}
	if err != nil {
		httpx.Fail(c, err)
		return ss, "", false
	}
	return ss, token, true
}

func (s *Service) view(c *gin.Context, ss session, token string) {
	ms, err := s.members.Memberships(c.Request.Context(), ss.MemberID)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	refs := make([]MemberRef, len(ms))
	for i, m := range ms {
		refs[i] = MemberRef{ID: m.ID, TenantID: m.TenantID, Email: m.Email, Role: m.Role}
	}
	httpx.JSON(c, http.StatusOK, SessionView{ID: ss.ID, Object: "session", TenantID: ss.TenantID, Environment: ss.Environment,
		Member: MemberRef{ID: ss.MemberID, TenantID: ss.TenantID, Email: ss.Email, Role: ss.Role},
		Scopes: ss.principal().Scopes.List(), Memberships: refs, CSRFToken: csrfToken(token),
		CreatedAt: ss.CreatedAt.UTC(), ExpiresAt: ss.ExpiresAt.UTC(), IdleExpiresAt: ss.LastSeenAt.Add(s.cfg.IdleTimeout).UTC()})
}

func (s *Service) handleGetSession(c *gin.Context) {
	if ss, token, ok := s.sessionOf(c); ok {
		s.view(c, ss, token)
	}
}

// PatchInput is the body of PATCH /v1/session: the environment the console works in, or another
// tenant the person is a member of.
type PatchInput struct {
	Environment *keys.Environment `json:"environment"`
	TenantID    *string           `json:"tenant_id"`
}

func (s *Service) handlePatchSession(c *gin.Context) {
	ss, token, ok := s.sessionOf(c)
	if !ok {
		return
	}
	var in PatchInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	cols := map[string]any{}
	if in.Environment != nil {
		if !in.Environment.Valid() {
			httpx.Fail(c, problem.Field("environment", "must be sandbox or live"))
			return
		}
		cols["environment"] = *in.Environment
	}
	if in.TenantID != nil {
		ms, err := s.members.Memberships(c.Request.Context(), ss.MemberID)
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		found := false
		for _, m := range ms {
			if m.TenantID == *in.TenantID {
				cols["tenant_id"], cols["member_id"], found = m.TenantID, m.ID, true
			}
		}
		if !found {
			httpx.Fail(c, problem.Field("tenant_id", "is not an account you are a member of"))
			return
		}
	}
	if len(cols) > 0 {
		if err := s.updateSession(c.Request.Context(), c, ss.ID, cols); err != nil {
			httpx.Fail(c, err)
			return
		}
	}
	ss, _, _, err := s.current(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	s.view(c, ss, token)
}

func (s *Service) handleDeleteSession(c *gin.Context) {
	ss, _, ok := s.sessionOf(c)
	if !ok {
		return
	}
	if err := s.end(c.Request.Context(), ss); err != nil {
		httpx.Fail(c, err)
		return
	}
	s.setSessionCookie(c, "", -1)
	c.Status(http.StatusNoContent)
}
