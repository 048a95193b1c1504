package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/monitoring"
	"github.com/rocketfin/rocketfin/webhooks"
)

type monitoringData struct {
	Monitors  []monitoring.View
	Endpoints []webhooks.EndpointView
	Events    []webhooks.EventView
	// Disabled are the webhook_endpoint.disabled events among the recent ones.
	Disabled int
}

// handleMonitoring shows the environment's monitors, webhook endpoints and recent events, those
// the role may read.
func (cs *Console) handleMonitoring(c *gin.Context) {
	v := viewerOf(c)
	ctx := c.Request.Context()
	now := cs.Clock.Now()
	var d monitoringData
	var errs []error
	if v.Scopes.Has(access.MonitorsRead) {
		list, err := cs.Monitoring.List(ctx, v.Principal, httpx.Page{Limit: 100}, monitoring.Filter{})
		for _, m := range list {
			d.Monitors = append(d.Monitors, monitoring.NewView(m))
		}
		errs = append(errs, err)
	}
	if v.Scopes.Has(access.WebhooksRead) {
		list, err := cs.Webhooks.List(ctx, v.Principal, httpx.Page{Limit: 100})
		for _, e := range list {
			d.Endpoints = append(d.Endpoints, webhooks.NewEndpointView(e, now))
		}
		errs = append(errs, err)
	}
	events, err := cs.Webhooks.ListEvents(ctx, v.Principal, httpx.Page{Limit: 50}, webhooks.EventFilter{})
	for _, e := range events {
		d.Events = append(d.Events, webhooks.NewEventView(e))
		if e.Type == webhooks.EndpointDisabled {
			d.Disabled++
		}
	}
	errs = append(errs, err)
	p := page{Title: "Monitoring", Active: "monitoring", Data: d}
	for _, e := range errs {
		if e != nil {
			cs.fail(c, "monitoring", p, e)
			return
		}
	}
	cs.render(c, http.StatusOK, "monitoring", p)
}
