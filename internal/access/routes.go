package access

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Routes is the permission table of the authenticated API and of the console's pages: "METHOD
// /path", as the router spells the route, to the scope it needs. A route missing here is refused
// to everyone.
var Routes = map[string]Scope{
	"POST /v1/scores":                              ScoresWrite,
	"GET /v1/scores":                               ScoresRead,
	"GET /v1/scores/:id":                           ScoresRead,
	"POST /v1/scores/:id/replay":                   ScoresRead,
	"GET /v1/models":                               ScoresRead,
	"GET /v1/models/:version":                      ScoresRead,
	"GET /v1/sandbox/companies":                    ScoresRead,
	"POST /v1/consents":                            ConsentsWrite,
	"DELETE /v1/consents/:id":                      ConsentsWrite,
	"GET /v1/consents":                             ConsentsRead,
	"GET /v1/consents/:id":                         ConsentsRead,
	"POST /v1/keys":                                KeysWrite,
	"POST /v1/keys/:id/rotate":                     KeysWrite,
	"DELETE /v1/keys/:id":                          KeysWrite,
	"GET /v1/keys":                                 KeysRead,
	"GET /v1/keys/:id":                             KeysRead,
	"POST /v1/oauth-clients":                       KeysWrite,
	"POST /v1/oauth-clients/:id/rotate-secret":     KeysWrite,
	"DELETE /v1/oauth-clients/:id":                 KeysWrite,
	"GET /v1/oauth-clients":                        KeysRead,
	"GET /v1/oauth-clients/:id":                    KeysRead,
	"GET /v1/usage":                                UsageRead,
	"GET /v1/usage/export":                         UsageRead,
	"GET /v1/invoices":                             BillingRead,
	"GET /v1/billing/reconciliation":               BillingRead,
	"POST /v1/billing/subscription":                BillingWrite,
	"GET /v1/tenant":                               TenantRead,
	"PATCH /v1/tenant":                             TenantWrite,
	"POST /v1/email-verification":                  TenantWrite,
	"GET /v1/audit-events":                         AuditRead,
	"GET /v1/members":                              MembersRead,
	"GET /v1/members/:id":                          MembersRead,
	"POST /v1/members":                             MembersWrite,
	"PATCH /v1/members/:id":                        MembersWrite,
	"DELETE /v1/members/:id":                       MembersWrite,
	"POST /v1/webhook-endpoints":                   WebhooksWrite,
	"PATCH /v1/webhook-endpoints/:id":              WebhooksWrite,
	"DELETE /v1/webhook-endpoints/:id":             WebhooksWrite,
	"POST /v1/webhook-endpoints/:id/rotate-secret": WebhooksWrite,
	"GET /v1/webhook-endpoints":                    WebhooksRead,
	"GET /v1/webhook-endpoints/:id":                WebhooksRead,
	"GET /v1/webhook-endpoints/:id/deliveries":     WebhooksRead,
	"GET /v1/events":                               EventsRead,
	"GET /v1/events/:id":                           EventsRead,
	"POST /v1/events/:id/redeliver":                WebhooksWrite,
	"POST /v1/monitors":                            MonitorsWrite,
	"PATCH /v1/monitors/:id":                       MonitorsWrite,
	"DELETE /v1/monitors/:id":                      MonitorsWrite,
	"POST /v1/monitors/:id/data":                   MonitorsWrite,
	"POST /v1/sandbox/monitors/:id/simulate":       MonitorsWrite,
	"GET /v1/monitors":                             MonitorsRead,
	"POST /v1/collections/prioritize":              ScoresWrite,
	"GET /v1/monitors/:id":                         MonitorsRead,

	"GET /console":                                  TenantRead,
	"POST /console/environment":                     TenantRead,
	"GET /console/keys":                             KeysRead,
	"POST /console/keys":                            KeysWrite,
	"POST /console/keys/:id/rotate":                 KeysWrite,
	"POST /console/keys/:id/revoke":                 KeysWrite,
	"POST /console/oauth-clients":                   KeysWrite,
	"POST /console/oauth-clients/:id/rotate-secret": KeysWrite,
	"POST /console/oauth-clients/:id/delete":        KeysWrite,
	"GET /console/playground":                       ScoresWrite,
	"POST /console/playground":                      ScoresWrite,
	"GET /console/decisions":                        ScoresRead,
	"GET /console/decisions/:id":                    ScoresRead,
	"GET /console/usage":                            UsageRead,
	"GET /console/consents":                         ConsentsRead,
	"POST /console/consents":                        ConsentsWrite,
	"POST /console/consents/:id/withdraw":           ConsentsWrite,
	"GET /console/monitoring":                       EventsRead,
	"GET /console/team":                             MembersRead,
	"POST /console/team":                            MembersWrite,
	"POST /console/team/:id/role":                   MembersWrite,
	"POST /console/team/:id/remove":                 MembersWrite,
	"GET /console/audit":                            AuditRead,
	"GET /console/billing":                          BillingRead,
	"POST /console/billing/subscribe":               BillingWrite,
	"GET /console/billing/reconciliation":           BillingRead,
}

// route is a row of the table as the router names it, looked up without building a string.
type route struct{ method, path string }

// index is Routes keyed by route, built once.
var index = func() map[route]Scope {
	out := make(map[route]Scope, len(Routes))
	for k, sc := range Routes {
		method, path, _ := strings.Cut(k, " ")
		out[route{method, path}] = sc
	}
	return out
}()

// Check is the table's verdict on the route of c for a credential holding held: nil, or 403
// forbidden (also for a route missing from the table, which is logged).
func Check(c *gin.Context, held Set) error {
	sc, ok := index[route{c.Request.Method, c.FullPath()}]
	if !ok {
		httpx.Logger(c).Error("route missing from the permission table", "route", c.Request.Method+" "+c.FullPath())
		return problem.New(problem.Forbidden, "this route is not open to any credential")
	}
	if !held.Has(sc) {
		return problem.New(problem.Forbidden, "this credential lacks the scope %s that this route needs", sc)
	}
	return nil
}

// Require refuses with 403 forbidden a call whose credential, as held reports it, lacks the scope
// of its route.
func Require(held func(*gin.Context) Set) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := Check(c, held(c)); err != nil {
			httpx.Fail(c, err)
			return
		}
		c.Next()
	}
}
