package webhooks

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/metadata"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// EndpointView is an endpoint as the API shows it: the secret only when it is made or rotated.
type EndpointView struct {
	ID                      string            `json:"id"`
	Object                  string            `json:"object"`
	URL                     string            `json:"url"`
	Description             string            `json:"description"`
	Events                  []string          `json:"events"`
	Environment             keys.Environment  `json:"environment"`
	Status                  string            `json:"status"`
	DisabledReason          *string           `json:"disabled_reason"`
	SecretLast4             string            `json:"secret_last4"`
	PreviousSecretExpiresAt *time.Time        `json:"previous_secret_expires_at"`
	FailingSince            *time.Time        `json:"failing_since"`
	Metadata                metadata.Metadata `json:"metadata"`
	CreatedAt               time.Time         `json:"created_at"`
	UpdatedAt               time.Time         `json:"updated_at"`
	Deleted                 bool              `json:"deleted,omitempty"`
	Secret                  string            `json:"secret,omitempty"`
}

// NewEndpointView shows e at now.
func NewEndpointView(e Endpoint, now time.Time) EndpointView {
	v := EndpointView{ID: e.ID, Object: "webhook_endpoint", URL: e.URL, Description: e.Description, Events: e.EventList(),
		Environment: e.Environment, Status: e.Status, DisabledReason: e.DisabledReason, SecretLast4: e.SecretLast4,
		FailingSince: clock.UTC(e.FailingSince), Metadata: metadata.Decode(e.Metadata), CreatedAt: e.CreatedAt.UTC(),
		UpdatedAt: e.UpdatedAt.UTC(), Deleted: e.DeletedAt != nil}
	if e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		v.PreviousSecretExpiresAt = clock.UTC(e.PreviousSecretExpiresAt)
	}
	return v
}

// EventView is an event as the API shows it.
type EventView struct {
	ID          string           `json:"id"`
	Object      string           `json:"object"`
	Type        string           `json:"type"`
	Environment keys.Environment `json:"environment"`
	CompanyID   *string          `json:"company_id"`
	CreatedAt   time.Time        `json:"created_at"`
	Data        json.RawMessage  `json:"data"`
}

// NewEventView shows ev.
func NewEventView(ev Event) EventView {
	return EventView{ID: ev.ID, Object: "event", Type: ev.Type, Environment: ev.Environment, CompanyID: ev.CompanyID,
		CreatedAt: ev.CreatedAt.UTC(), Data: json.RawMessage(ev.Data)}
}

// DeliveryView is a delivery as the API shows it.
type DeliveryView struct {
	ID             string     `json:"id"`
	Object         string     `json:"object"`
	EndpointID     string     `json:"endpoint_id"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      *string    `json:"last_error"`
	LastLatencyMS  *int       `json:"last_latency_ms"`
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	// History is the delivery's last attempts, oldest first.
	History []Attempt `json:"history"`
}

// NewDeliveryView shows d.
func NewDeliveryView(d Delivery) DeliveryView {
	return DeliveryView{ID: d.ID, Object: "webhook_delivery", EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType,
		Status: d.Status, Attempts: d.Attempts, NextAttemptAt: clock.UTC(d.NextAttemptAt), LastAttemptAt: clock.UTC(d.LastAttemptAt),
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, LastLatencyMS: d.LastLatencyMS, CreatedAt: d.CreatedAt.UTC(),
		DeliveredAt: clock.UTC(d.DeliveredAt), History: d.History()}
}

// Routes mounts the endpoint, delivery and event routes.
func (s *Service) Routes(r httpx.Routes) {
	once := httpx.NoIdempotencyKey("to see whether an earlier attempt made an endpoint, list them with GET /v1/webhook-endpoints")
	r.Authed.POST("/webhook-endpoints", once, s.handleCreate)
	r.Authed.GET("/webhook-endpoints", s.handleList)
	r.Authed.GET("/webhook-endpoints/:id", s.handleGet)
	r.Authed.PATCH("/webhook-endpoints/:id", s.handleUpdate)
	r.Authed.DELETE("/webhook-endpoints/:id", s.handleDelete)
	r.Authed.POST("/webhook-endpoints/:id/rotate-secret", once, s.handleRotate)
	r.Authed.GET("/webhook-endpoints/:id/deliveries", s.handleDeliveries)
	r.Authed.GET("/events", s.handleEvents)
	r.Authed.GET("/events/:id", s.handleEvent)
	r.Authed.POST("/events/:id/redeliver", s.handleRedeliver)
}

func (s *Service) handleCreate(c *gin.Context) {
	var in CreateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	issued, err := s.Create(c.Request.Context(), keys.PrincipalOf(c), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	v := NewEndpointView(issued.Endpoint, s.clock.Now())
	v.Secret = issued.Secret
	httpx.JSON(c, http.StatusCreated, v)
}

func (s *Service) handleList(c *gin.Context) {
	page, err := httpx.ParsePage(c, ids.Endpoint)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := s.List(c.Request.Context(), keys.PrincipalOf(c), page)
	now := s.clock.Now()
	httpx.RespondList(c, list, err, page, func(e Endpoint) EndpointView { return NewEndpointView(e, now) })
}

func (s *Service) handleGet(c *gin.Context) {
	e, err := s.Get(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewEndpointView(e, s.clock.Now()))
}

func (s *Service) handleUpdate(c *gin.Context) {
	var in UpdateInput
	if err := httpx.Decode(c, &in); err != nil {
		httpx.Fail(c, err)
		return
	}
	e, err := s.Update(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), in)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewEndpointView(e, s.clock.Now()))
}

func (s *Service) handleDelete(c *gin.Context) {
	e, err := s.Delete(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewEndpointView(e, s.clock.Now()))
}

func (s *Service) handleRotate(c *gin.Context) {
	grace, err := keys.ParseGrace(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	issued, err := s.RotateSecret(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), grace)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	v := NewEndpointView(issued.Endpoint, s.clock.Now())
	v.Secret = issued.Secret
	httpx.JSON(c, http.StatusOK, v)
}

func (s *Service) handleDeliveries(c *gin.Context) {
	page, err := httpx.ParsePage(c, ids.Delivery)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := s.ListDeliveries(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), page, c.Query("status"))
	httpx.RespondList(c, list, err, page, NewDeliveryView)
}

func (s *Service) handleEvents(c *gin.Context) {
	page, err := httpx.ParseCompanyPage(c, ids.Event)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	typ, err := httpx.QueryText(c, "type", 64)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	f, err := ParseEventFilter(typ, page.CompanyID)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := s.ListEvents(c.Request.Context(), keys.PrincipalOf(c), page, f)
	httpx.RespondList(c, list, err, page, NewEventView)
}

func (s *Service) handleEvent(c *gin.Context) {
	ev, err := s.GetEvent(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, NewEventView(ev))
}

// RedeliverInput is the optional body of POST /v1/events/{id}/redeliver.
type RedeliverInput struct {
	// EndpointID sends to this endpoint only; empty sends to every enabled endpoint subscribed.
	EndpointID string `json:"endpoint_id"`
}

func (s *Service) handleRedeliver(c *gin.Context) {
	var in RedeliverInput
	body, err := httpx.ReadBody(c)
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = httpx.DecodeBytes(body, &in)
	}
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	if in.EndpointID != "" && !ids.Valid(ids.Endpoint, in.EndpointID) {
		httpx.Fail(c, problem.Field("endpoint_id", "must be the id of one of your webhook endpoints (we_…)"))
		return
	}
	list, err := s.Redeliver(c.Request.Context(), keys.PrincipalOf(c), c.Param("id"), in.EndpointID)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	views := make([]DeliveryView, len(list))
	for i, d := range list {
		views[i] = NewDeliveryView(d)
	}
	httpx.JSON(c, http.StatusAccepted, httpx.List[DeliveryView]{Object: "list", Data: views})
}
