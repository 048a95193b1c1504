package metering

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// Routes mounts the usage routes.
func (m *Meter) Routes(r httpx.Routes) {
	r.Authed.GET("/usage", m.handleSummary)
	r.Authed.GET("/usage/export", m.handleExport)
}

func parseDay(c *gin.Context, name string, def time.Time) (time.Time, error) {
	s, ok := c.GetQuery(name)
	if !ok || s == "" {
		return def, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		if t2, err2 := time.Parse(time.RFC3339, s); err2 == nil {
			return t2.UTC().Truncate(24 * time.Hour), nil
		}
		return t, problem.Field(name, "must be a date such as 2026-11-01")
	}
	return t, nil
}

func (m *Meter) handleSummary(c *gin.Context) {
	p := keys.PrincipalOf(c)
	now := m.clock.Now().UTC()
	from, err := parseDay(c, "from", time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	to, err := parseDay(c, "to", now.Truncate(24*time.Hour))
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	if to.Before(from) {
		httpx.Fail(c, problem.Field("to", "must not be before from"))
		return
	}
	if to.Sub(from) > 366*24*time.Hour {
		httpx.Fail(c, problem.Field("to", "the range is at most 366 days"))
		return
	}
	out, err := m.Summarize(c.Request.Context(), p, from, to)
	if err != nil {
		httpx.Fail(c, err)
		return
	}
	httpx.JSON(c, http.StatusOK, out)
}

// ExportColumns are the columns of the usage CSV, in order.
var ExportColumns = []string{
	"usage_event_id", "created_at", "environment", "metric", "quantity", "score_id", "key_id",
	"request_id", "idempotency_key", "billing_state", "amount", "currency", "stripe_identifier", "reporting_state",
}

func (m *Meter) handleExport(c *gin.Context) {
	p := keys.PrincipalOf(c)
	period := c.Query("period")
	if _, ok := money.ParsePeriod(period); !ok {
		httpx.Fail(c, problem.Field("period", "must be a month such as 2026-11"))
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="usage-%s-%s.csv"`, p.Environment, period))
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write(ExportColumns)
	rec := make([]string, len(ExportColumns))
	err := m.Export(c.Request.Context(), p, period, func(page []ExportedEvent) error {
		for _, r := range page {
			if r.IdempotencyKey == r.ScoreID {
				r.IdempotencyKey = "" // the call came without one: its score id stood in for it
			}
			rec[0], rec[1], rec[2], rec[3], rec[4] = r.ID, r.CreatedAt.UTC().Format(time.RFC3339Nano), r.Environment, r.Metric, strconv.Itoa(r.Quantity)
			rec[5], rec[6], rec[7], rec[8], rec[9] = r.ScoreID, r.KeyID, httpx.CSVCell(r.RequestID), httpx.CSVCell(r.IdempotencyKey), r.BillingState
			rec[10], rec[11], rec[12], rec[13] = strconv.FormatInt(r.Amount, 10), r.Currency, httpx.CSVCell(r.Reference), r.ReportingState
			_ = w.Write(rec)
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		// The status is sent: a cut CSV is what the client sees, and the log says why.
		httpx.Logger(c).Error("export usage", "error", err.Error())
	}
}
