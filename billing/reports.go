package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
)

// InvoiceView is one invoice in GET /v1/invoices: what Stripe billed
// beside what RocketFin counted for the same period.
type InvoiceView struct {
	ID               string      `json:"id"`
	Object           string      `json:"object"`
	StripeInvoiceID  string      `json:"stripe_invoice_id"`
	SubscriptionID   *string     `json:"subscription_id"`
	Status           string      `json:"status"`
	PeriodStart      time.Time   `json:"period_start"`
	PeriodEnd        time.Time   `json:"period_end"`
	AmountDue        money.Money `json:"amount_due"`
	AmountPaid       money.Money `json:"amount_paid"`
	MeteredQuantity  int64       `json:"metered_quantity"`
	LocalQuantity    int64       `json:"local_quantity"`
	Discrepancy      bool        `json:"discrepancy"`
	HostedInvoiceURL *string     `json:"hosted_invoice_url"`
	UpdatedAt        time.Time   `json:"updated_at"`
}

func liveOnly(p keys.Principal) error {
	if p.Environment != keys.Live {
		return problem.New(problem.Forbidden, "billing is read with a live key: the sandbox is never billed")
	}
	return nil
}

// ListInvoices returns a page of the tenant's invoices, newest first.
func (s *Service) ListInvoices(ctx context.Context, p keys.Principal, page httpx.Page) (httpx.List[InvoiceView], error) {
	if err := liveOnly(p); err != nil {
		return httpx.List[InvoiceView]{}, err
	}
	rows, err := s.store.ListInvoices(ctx, p.TenantID, page)
	if err != nil {
		return httpx.List[InvoiceView]{}, err
	}
	views := make([]InvoiceView, len(rows))
	for i, r := range rows {
		views[i] = InvoiceView{
			ID: r.ID, Object: "invoice", StripeInvoiceID: r.StripeInvoiceID, SubscriptionID: r.SubscriptionID, Status: r.Status,
			PeriodStart: r.PeriodStart.UTC(), PeriodEnd: r.PeriodEnd.UTC(),
			AmountDue: money.Money{Amount: r.AmountDue, Currency: r.Currency}, AmountPaid: money.Money{Amount: r.AmountPaid, Currency: r.Currency},
			MeteredQuantity: r.MeteredQuantity, LocalQuantity: r.LocalQuantity, Discrepancy: r.MeteredQuantity != r.LocalQuantity,
			HostedInvoiceURL: r.HostedInvoiceURL, UpdatedAt: r.UpdatedAt.UTC(),
		}
	}
	return httpx.NewList(views, page), nil
}

// NotBillable is the reporting state of a live usage event that has no
// outbox row: paid by a trial credit.
const NotBillable = "not_billable"

// ReconciliationLine is one live usage event of the month.
type ReconciliationLine struct {
	UsageEventID     string      `json:"usage_event_id"`
	ScoreID          string      `json:"score_id"`
	CreatedAt        time.Time   `json:"created_at"`
	Quantity         int64       `json:"quantity"`
	Amount           money.Money `json:"amount"`
	BillingState     string      `json:"billing_state"`
	ReportingState   string      `json:"reporting_state"`
	StripeIdentifier *string     `json:"stripe_identifier"`
	Attempts         int         `json:"attempts"`
	LastError        *string     `json:"last_error"`
}

// StateTotal sums the events of one reporting state.
type StateTotal struct {
	Events   int64 `json:"events"`
	Quantity int64 `json:"quantity"`
	Amount   int64 `json:"amount"`
}

// Reconciliation is finance's month: every live usage event with its
// Stripe identifier and reporting state, and the sums per state.
type Reconciliation struct {
	Object string                `json:"object"`
	Period string                `json:"period"`
	Data   []ReconciliationLine  `json:"data"`
	Totals map[string]StateTotal `json:"totals"`
}

// Add counts a line into the totals.
func (r *Reconciliation) Add(l ReconciliationLine) {
	t := r.Totals[l.ReportingState]
	t.Events++
	t.Quantity += l.Quantity
	t.Amount += l.Amount.Amount
	r.Totals[l.ReportingState] = t
}

// Reconcile calls fn with each live usage event of the tenant in period,
// in id order.
func (s *Service) Reconcile(ctx context.Context, p keys.Principal, period string, fn func(ReconciliationLine) error) error {
	if err := liveOnly(p); err != nil {
		return err
	}
	if _, ok := money.ParsePeriod(period); !ok {
		return problem.Field("period", "must be a month such as 2026-11")
	}
	// Page by id, so that a slow reader of the CSV never holds a database
	// connection (on SQLite, the only one) for the whole month.
	after := ""
	for {
		lines, err := s.reconcilePage(ctx, p.TenantID, period, after)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := fn(l); err != nil {
				return err
			}
		}
		if len(lines) < reconcilePageSize {
			return nil
		}
		after = lines[len(lines)-1].UsageEventID
	}
}

const reconcilePageSize = 1000

func (s *Service) reconcilePage(ctx context.Context, tenantID, period, after string) ([]ReconciliationLine, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT u.id, u.score_id, u.created_at, u.quantity, u.amount, u.currency, u.billing_state,
			o.state, o.reference, o.attempts, o.last_error
		FROM usage_events u LEFT JOIN outbox o ON o.usage_event_id = u.id AND o.tenant_id = u.tenant_id AND o.topic = ?
		WHERE u.tenant_id = ? AND u.environment = 'live' AND u.period = ? AND u.id > ?
		ORDER BY u.id LIMIT ?`, metering.TopicMeterEvent, tenantID, period, after, reconcilePageSize).Rows()
	if err != nil {
		return nil, fmt.Errorf("reconcile %s of %s: %w", period, tenantID, err)
	}
	defer rows.Close()
	var out []ReconciliationLine
	for rows.Next() {
		var (
			l        ReconciliationLine
			state    *string
			attempts *int
		)
		if err := rows.Scan(&l.UsageEventID, &l.ScoreID, &l.CreatedAt, &l.Quantity, &l.Amount.Amount, &l.Amount.Currency, &l.BillingState,
			&state, &l.StripeIdentifier, &attempts, &l.LastError); err != nil {
			return nil, fmt.Errorf("reconcile %s of %s: read row: %w", period, tenantID, err)
		}
		l.CreatedAt = l.CreatedAt.UTC()
		l.ReportingState = NotBillable
		if state != nil {
			l.ReportingState = *state
		}
		if attempts != nil {
			l.Attempts = *attempts
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reconcile %s of %s: %w", period, tenantID, err)
	}
	return out, nil
}

// Status is where a tenant's billing stands, for the console.
type Status struct {
	// Configured says this server bills through Stripe at all.
	Configured         bool
	CustomerID         string
	SubscriptionStatus string
	// CheckoutURL is an open Checkout Session's, while it works.
	CheckoutURL string
}

// Status reads the tenant's billing account.
func (s *Service) Status(ctx context.Context, tenantID string) (Status, error) {
	st := Status{Configured: s.configured()}
	a, err := s.store.Account(ctx, s.db, tenantID)
	if errors.Is(err, errNoAccount) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.CustomerID = a.StripeCustomerID
	if a.SubscriptionStatus != nil {
		st.SubscriptionStatus = *a.SubscriptionStatus
	}
	if a.CheckoutURL != nil && a.CheckoutExpiresAt != nil && s.clock.Now().Before(*a.CheckoutExpiresAt) {
		st.CheckoutURL = *a.CheckoutURL
	}
	return st, nil
}
