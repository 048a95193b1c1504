package billing

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// HTTP serves the billing routes.
type HTTP struct{ svc *Service }

// NewHTTP returns the handlers of svc.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc} }

// Routes mounts the billing routes: Stripe's webhook, which its signature authenticates, and
// the tenant's subscription, invoices and reconciliation.
func (h *HTTP) Routes(r httpx.Routes) {
	r.Public.POST("/stripe/webhook", httpx.BodyLimit(WebhookBodyBytes), h.handleWebhook)
	r.Authed.POST("/billing/subscription", h.handleSubscribe)
	r.Authed.GET("/billing/reconciliation", h.handleReconciliation)
	r.Authed.GET("/invoices", h.handleInvoices)
}

// WebhookBodyBytes is the largest Stripe event accepted (256 KiB: Stripe's events, invoices with
// their lines included, stay far below it).
const WebhookBodyBytes = 256 << 10

func (h *HTTP) handleSubscribe(c *gin.Context) {
	body, err := httpx.ReadBody(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	var in SubscribeInput
	if len(bytes.TrimSpace(body)) > 0 {
		if err := httpx.DecodeBytes(body, &in); err != nil {
			httpx.Fail(c, err)
			return
		}
	}
	out, err := h.svc.Subscribe(c.Request.Context(), keys.PrincipalOf(c), in, c.GetHeader("Idempotency-Key"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusCreated, out)
}

func (h *HTTP) handleInvoices(c *gin.Context) {
	page, err := httpx.ParsePage(c, invoicePrefix)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	list, err := h.svc.ListInvoices(c.Request.Context(), keys.PrincipalOf(c), page)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, list)
}

// ReconciliationColumns are the CSV columns: one "event" row per usage
// event, then one "total" row per reporting state.
var ReconciliationColumns = []string{"row_type", "usage_event_id", "score_id", "created_at", "quantity", "amount", "currency",
	"billing_state", "reporting_state", "stripe_identifier", "attempts", "last_error", "events"}

func wantsCSV(c *gin.Context) bool {
	if f := c.Query("format"); f != "" {
		return f == "csv"
	}
	return strings.Contains(c.GetHeader("Accept"), "text/csv")
}

func (h *HTTP) handleReconciliation(c *gin.Context) {
	p := keys.PrincipalOf(c)
	period := c.Query("period")
	if f := c.Query("format"); f != "" && f != "csv" && f != "json" {
		httpx.Fail(c, problem.Field("format", "must be csv or json"))
		return
	}
	rec := Reconciliation{Object: "billing_reconciliation", Period: period, Data: []ReconciliationLine{}, Totals: map[string]StateTotal{}}
	if !wantsCSV(c) {
		err := h.svc.Reconcile(c.Request.Context(), p, period, func(l ReconciliationLine) error {
			rec.Data = append(rec.Data, l)
			rec.Add(l)
			return nil
		})
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		httpx.JSON(c, http.StatusOK, rec)
		return
	}
	if err := h.svc.ReconciliationCSV(c, p, period); err != nil {
		httpx.Fail(c, err)
	}
}

// ReconciliationCSV answers the reconciliation of period as a CSV download: one "event" row per
// usage event, then one "total" row per reporting state. It refuses (and writes nothing) before
// the first byte; an error after it is logged and leaves the file without its total rows.
func (s *Service) ReconciliationCSV(c *gin.Context, p keys.Principal, period string) error {
	if err := liveOnly(p); err != nil {
		return err
	}
	if _, ok := money.ParsePeriod(period); !ok {
		return problem.Field("period", "must be a month such as 2026-11")
	}
	rec := Reconciliation{Totals: map[string]StateTotal{}}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="reconciliation-%s.csv"`, period))
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write(ReconciliationColumns)
	currency := ""
	err := s.Reconcile(c.Request.Context(), p, period, func(l ReconciliationLine) error {
		rec.Add(l)
		currency = l.Amount.Currency
		ident, lastErr := "", ""
		if l.StripeIdentifier != nil {
			ident = *l.StripeIdentifier
		}
		if l.LastError != nil {
			lastErr = *l.LastError
		}
		return w.Write([]string{"event", l.UsageEventID, l.ScoreID, l.CreatedAt.Format(time.RFC3339Nano), strconv.FormatInt(l.Quantity, 10),
			strconv.FormatInt(l.Amount.Amount, 10), l.Amount.Currency, l.BillingState, l.ReportingState, httpx.CSVCell(ident),
			strconv.Itoa(l.Attempts), httpx.CSVCell(lastErr), "1"})
	})
	if err != nil {
		httpx.Logger(c).Error("reconciliation export", "error", err.Error())
		w.Flush()
		return nil
	}
	states := make([]string, 0, len(rec.Totals))
	for st := range rec.Totals {
		states = append(states, st)
	}
	sort.Strings(states)
	for _, st := range states {
		t := rec.Totals[st]
		_ = w.Write([]string{"total", "", "", "", strconv.FormatInt(t.Quantity, 10), strconv.FormatInt(t.Amount, 10), currency,
			"", st, "", "", "", strconv.FormatInt(t.Events, 10)})
	}
	w.Flush()
	return nil
}

func (h *HTTP) handleWebhook(c *gin.Context) {
	if err := h.svc.AcceptsWebhook(c.GetHeader("Stripe-Signature")); err != nil {
		httpx.Fail(c, err) // before reading a byte of the body
		return
	}
	body, err := httpx.ReadBody(c)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	res, err := h.svc.HandleWebhook(c.Request.Context(), body, c.GetHeader("Stripe-Signature"))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, gin.H{"received": true, "id": res.EventID, "type": res.Type, "duplicate": res.Duplicate})
}
