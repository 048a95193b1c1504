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

// Register mounts the usage routes on an authenticated group.
func (m *Meter) Register(g *gin.RouterGroup, now func() time.Time) {
	h := usageHTTP{m: m, now: now}
	g.GET("/usage", h.summary)
	g.GET("/usage/export", h.export)
}

type usageHTTP struct {
	m   *Meter
	now func() time.Time
}

// DayUsage is one line of the usage summary.
type DayUsage struct {
	Date        string `json:"date"`
	Environment string `json:"environment"`
	Metric      string `json:"metric"`
	Quantity    int64  `json:"quantity"`
	Amount      int64  `json:"amount"`
}

// Summary is the answer of GET /v1/usage.
type Summary struct {
	Object   string     `json:"object"`
	From     string     `json:"from"`
	To       string     `json:"to"`
	Data     []DayUsage `json:"data"`
	Total    int64      `json:"total"`
	Amount   int64      `json:"amount"`
	Currency string     `json:"currency"`
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

func (h usageHTTP) summary(c *gin.Context) {
	p := keys.PrincipalOf(c)
	now := h.now().UTC()
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
	rows := []DayUsage{}
	err = h.m.db.WithContext(c.Request.Context()).Raw(`SELECT usage_date AS date, environment, metric,
			SUM(quantity) AS quantity, SUM(amount) AS amount
		FROM usage_events
		WHERE tenant_id = ? AND environment = ? AND usage_date >= ? AND usage_date <= ?
		GROUP BY usage_date, environment, metric
		ORDER BY usage_date, environment, metric`,
		p.TenantID, string(p.Environment), from.Format("2006-01-02"), to.Format("2006-01-02")).Scan(&rows).Error
	if err != nil {
		httpx.Fail(c, fmt.Errorf("sum usage: %w", err))
		return
	}
	out := Summary{Object: "usage_summary", From: from.Format("2006-01-02"), To: to.Format("2006-01-02"), Data: rows, Currency: h.m.price.Currency}
	for _, r := range rows {
		out.Total += r.Quantity
		out.Amount += r.Amount
	}
	httpx.JSON(c, http.StatusOK, out)
}

// ExportColumns are the columns of the usage CSV, in order.
var ExportColumns = []string{
	"usage_event_id", "created_at", "environment", "metric", "quantity", "score_id", "key_id",
	"request_id", "idempotency_key", "billing_state", "amount", "currency", "stripe_identifier", "reporting_state",
}

// exportPage is how many usage events the export reads at a time: the
// month is streamed page by page, holding a database connection only for
// the length of one page (on SQLite, the only connection).
const exportPage = 1000

func (h usageHTTP) export(c *gin.Context) {
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
	after := ""
	for {
		var page []exportRow
		err := h.m.db.WithContext(c.Request.Context()).Raw(`SELECT u.id, u.created_at, u.environment, u.metric, u.quantity,
				u.score_id, u.key_id, u.request_id, u.idempotency_key, u.billing_state, u.amount, u.currency,
				COALESCE(o.reference, '') AS reference, COALESCE(o.state, '') AS reporting_state
			FROM usage_events u LEFT JOIN outbox o ON o.usage_event_id = u.id
			WHERE u.tenant_id = ? AND u.environment = ? AND u.period = ? AND u.id > ?
			ORDER BY u.id LIMIT ?`, p.TenantID, string(p.Environment), period, after, exportPage).Scan(&page).Error
		if err != nil {
			// The status is sent: a cut CSV is what the client sees, and the log says why.
			httpx.Logger(c).Error("export usage", "error", err.Error())
			break
		}
		for _, r := range page {
			rec[0], rec[1], rec[2], rec[3], rec[4] = r.ID, r.CreatedAt.UTC().Format(time.RFC3339Nano), r.Environment, r.Metric, strconv.Itoa(r.Quantity)
			rec[5], rec[6], rec[7], rec[8], rec[9] = r.ScoreID, r.KeyID, httpx.CSVCell(r.RequestID), httpx.CSVCell(r.IdempotencyKey), r.BillingState
			rec[10], rec[11], rec[12], rec[13] = strconv.FormatInt(r.Amount, 10), r.Currency, httpx.CSVCell(r.Reference), r.ReportingState
			_ = w.Write(rec)
		}
		w.Flush()
		if len(page) < exportPage {
			break
		}
		after = page[len(page)-1].ID
	}
}

type exportRow struct {
	ID, Environment, Metric, ScoreID, KeyID, RequestID string
	IdempotencyKey, BillingState, Currency             string
	Reference, ReportingState                          string
	CreatedAt                                          time.Time
	Quantity                                           int
	Amount                                             int64
}
