// Package console is the product's face for people: server-rendered pages under /console (and
// the public /signup), signed in with the session of package signin, every page and action
// decided by the same permission table as the API (internal/access), calling the same services
// the API calls. Pages work without JavaScript (forms post; a few lines of script add copy
// buttons and confirmations); every asset is embedded, nothing comes from a CDN.
package console

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/members"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/monitoring"
	"github.com/rocketfin/rocketfin/oauth"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/signin"
	"github.com/rocketfin/rocketfin/tenants"
	"github.com/rocketfin/rocketfin/webhooks"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Deps are the services the console shows and drives.
type Deps struct {
	Signin   *signin.Service
	Tenants  *tenants.Service
	Signup   *tenants.HTTP
	Keys     *keys.Service
	Clients  *oauth.Clients
	Scores   *scores.Service
	Meter    *metering.Meter
	Consents *consents.Service
	Members  *members.Service
	Billing  *billing.Service
	// Monitoring and Webhooks feed the monitoring page.
	Monitoring *monitoring.Service
	Webhooks   *webhooks.Service
	// DB is read for the audit trail (audit.List).
	DB    *gorm.DB
	Clock clock.Clock
	// PublicURL starts the curl examples the pages show.
	PublicURL string
	// RequireVerifiedEmail says live calls wait for the signup email to be verified.
	RequireVerifiedEmail bool
}

// Console serves the pages.
type Console struct {
	Deps
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"money": formatMoney,
	"pct":   formatPct,
	"json":  indentJSON,
	// jsontext is a before or after of the audit trail as text, empty when there is none.
	"jsontext": func(raw json.RawMessage) string {
		if len(raw) == 0 || string(raw) == "null" {
			return ""
		}
		return string(raw)
	},
	"datep": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}

// New parses the pages.
func New(d Deps) (*Console, error) {
	c := &Console{Deps: d, pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse console page %s: %w", base, err)
		}
		c.pages[base] = t
	}
	return c, nil
}

// page is what every page template gets.
type page struct {
	Title, Active, Path string
	Viewer              *signin.Viewer
	Sandbox             bool
	Env                 string
	Flash, Error        string
	Data                any
}

// Can tells whether the viewer holds scope: the pages offer only what the table allows.
func (p page) Can(scope string) bool {
	return p.Viewer != nil && p.Viewer.Scopes.Has(access.Scope(scope))
}

const viewerKey = "rocketfin.console.viewer"

func viewerOf(c *gin.Context) *signin.Viewer {
	v, _ := c.Get(viewerKey)
	vw, _ := v.(*signin.Viewer)
	return vw
}

// render writes page name with status.
func (cs *Console) render(c *gin.Context, status int, name string, p page) {
	p.Path = c.Request.URL.Path
	if p.Viewer == nil {
		p.Viewer = viewerOf(c)
	}
	if p.Viewer != nil {
		p.Env = string(p.Viewer.Environment)
		p.Sandbox = p.Viewer.Environment == keys.Sandbox
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.Header("Referrer-Policy", "same-origin")
	c.Status(status)
	if err := cs.pages[name].ExecuteTemplate(c.Writer, "layout", p); err != nil {
		httpx.Logger(c).Error("render console page", "page", name, "error", err.Error())
	}
}

// fail renders err on page name: a problem's own status and detail, or a 500 that names the request.
func (cs *Console) fail(c *gin.Context, name string, p page, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; quote "+httpx.RequestID(c)+" to support."
	if pe := problem.As(err); pe != nil && pe.Code != problem.Internal {
		status, msg = pe.Code.Status(), pe.Detail
	} else {
		httpx.Logger(c).Error("console action failed", "error", err.Error())
	}
	p.Error = msg
	cs.render(c, status, name, p)
}

// signedIn resolves the session and checks the route's scope in the permission table: no
// session goes to sign-in, a missing scope is a 403 page.
func (cs *Console) signedIn(c *gin.Context) {
	v, ok, err := cs.Signin.Viewer(c)
	if !ok || problem.CodeOf(err) == problem.Unauthenticated {
		target := signin.LoginPath
		if c.Request.Method == http.MethodGet {
			target += "?return_to=" + url.QueryEscape(c.Request.URL.Path)
		}
		c.Redirect(http.StatusSeeOther, target)
		c.Abort()
		return
	}
	if err != nil {
		cs.fail(c, "error", page{Title: "Refused"}, err)
		c.Abort()
		return
	}
	c.Set(viewerKey, &v)
	if err := access.Check(c, v.Scopes); err != nil {
		cs.fail(c, "error", page{Title: "Not allowed"}, err)
		c.Abort()
		return
	}
	c.Next()
}

// Routes mounts the console.
func (cs *Console) Routes(r httpx.Routes) {
	static, _ := fs.Sub(staticFiles, "static")
	assets := http.FS(static)
	r.Root.GET("/console/static/:name", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.FileFromFS(c.Param("name"), assets)
	})
	r.Root.GET("/signup", cs.handleSignupPage)
	r.Root.POST("/signup", cs.handleSignup)
	at := func(method, path string, h gin.HandlerFunc) { r.Root.Handle(method, "/console"+path, cs.signedIn, h) }
	at(http.MethodGet, "", cs.handleHome)
	at(http.MethodPost, "/environment", cs.handleEnvironment)
	at(http.MethodGet, "/keys", cs.handleKeys)
	at(http.MethodPost, "/keys", cs.handleCreateKey)
	at(http.MethodPost, "/keys/:id/rotate", cs.handleRotateKey)
	at(http.MethodPost, "/keys/:id/revoke", cs.handleRevokeKey)
	at(http.MethodPost, "/oauth-clients", cs.handleCreateClient)
	at(http.MethodPost, "/oauth-clients/:id/rotate-secret", cs.handleRotateClient)
	at(http.MethodPost, "/oauth-clients/:id/delete", cs.handleDeleteClient)
	at(http.MethodGet, "/playground", cs.handlePlayground)
	// A scoring body may be 64 KiB of JSON, which a form encodes into more.
	r.Root.Handle(http.MethodPost, "/console/playground", httpx.BodyLimit(4*scoring.MaxRequestBytes), cs.signedIn, cs.handleScore)
	at(http.MethodGet, "/decisions", cs.handleDecisions)
	at(http.MethodGet, "/decisions/:id", cs.handleDecision)
	at(http.MethodGet, "/usage", cs.handleUsage)
	at(http.MethodGet, "/consents", cs.handleConsents)
	at(http.MethodPost, "/consents", cs.handleCreateConsent)
	at(http.MethodPost, "/consents/:id/withdraw", cs.handleWithdrawConsent)
	at(http.MethodGet, "/monitoring", cs.handleMonitoring)
	at(http.MethodGet, "/team", cs.handleTeam)
	at(http.MethodPost, "/team", cs.handleInvite)
	at(http.MethodPost, "/team/:id/role", cs.handleSetRole)
	at(http.MethodPost, "/team/:id/remove", cs.handleRemoveMember)
	at(http.MethodGet, "/audit", cs.handleAudit)
	at(http.MethodGet, "/billing", cs.handleBilling)
	at(http.MethodPost, "/billing/subscribe", cs.handleSubscribe)
	at(http.MethodGet, "/billing/reconciliation", cs.handleReconciliation)
}
