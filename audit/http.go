package audit

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
)

// Party is an actor or a target.
type Party struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// View is an event as GET /v1/audit-events shows it.
type View struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"`
	Environment *string         `json:"environment"`
	Actor       Party           `json:"actor"`
	Action      string          `json:"action"`
	Target      Party           `json:"target"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
	RequestID   string          `json:"request_id"`
	ClientIP    string          `json:"client_ip"`
	CreatedAt   time.Time       `json:"created_at"`
}

func raw(s *string) json.RawMessage {
	if s == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(*s)
}

// NewView shows an event as the API does.
func NewView(e Event) View {
	v := View{ID: e.ID, Object: "audit_event", Actor: Party{e.ActorType, e.ActorID}, Action: e.Action,
		Target: Party{e.TargetType, e.TargetID}, Before: raw(e.Before), After: raw(e.After),
		RequestID: e.RequestID, ClientIP: e.ClientIP, CreatedAt: e.CreatedAt.UTC()}
	if e.Environment != "" {
		env := e.Environment
		v.Environment = &env
	}
	return v
}

// Routes mounts GET /v1/audit-events: the caller's environment's events and the tenant-wide ones;
// caller says whose they are (the authenticated tenant and environment).
func Routes(r httpx.Routes, db *gorm.DB, caller func(*gin.Context) (tenantID, environment string)) {
	r.Authed.GET("/audit-events", func(c *gin.Context) {
		page, err := httpx.ParsePage(c, ids.Audit)
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		var f Filter
		for name, dst := range map[string]*string{"actor_id": &f.ActorID, "action": &f.Action, "target_id": &f.TargetID} {
			if *dst, err = httpx.QueryText(c, name, 200); err != nil {
				httpx.Fail(c, err)
				return
			}
		}
		if f.From, f.To, err = httpx.ParseCreatedRange(c); err != nil {
			httpx.Fail(c, err)
			return
		}
		tenantID, env := caller(c)
		list, err := List(c.Request.Context(), db, tenantID, env, f, page)
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		views := make([]View, len(list))
		for i, e := range list {
			views[i] = NewView(e)
		}
		httpx.JSON(c, http.StatusOK, httpx.NewList(views, page))
	})
}
