package console

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/tenants"
)

type billingData struct {
	TenantStatus string
	Status       billing.Status
	Invoices     []billing.InvoiceView
	Period       string
	CheckoutURL  string
	CanSubscribe bool
}

// live is the viewer as of live: billing concerns live usage whichever environment the console
// shows.
func live(v keys.Principal) keys.Principal {
	v.Environment = keys.Live
	return v
}

func (cs *Console) billingPage(c *gin.Context, status int, checkout string, err error) {
	v := viewerOf(c)
	ctx := c.Request.Context()
	d := billingData{Period: money.PeriodOf(cs.Clock.Now()), CheckoutURL: checkout}
	p := page{Title: "Billing", Active: "billing", Data: &d, Flash: flashes[c.Query("done")]}
	t, terr := cs.Tenants.Get(ctx, v.TenantID)
	st, serr := cs.Billing.Status(ctx, v.TenantID)
	list, lerr := cs.Billing.ListInvoices(ctx, live(v.Principal), httpx.Page{Limit: 24})
	d.TenantStatus, d.Status, d.Invoices = string(t.Status), st, list.Data
	sub := st.SubscriptionStatus
	d.CanSubscribe = st.Configured && (sub == "" || sub == "canceled" || sub == "incomplete" || sub == "incomplete_expired") &&
		t.Status != tenants.StatusCanceled
	for _, e := range []error{err, terr, serr, lerr} {
		if e != nil {
			cs.fail(c, "billing", p, e)
			return
		}
	}
	cs.render(c, status, "billing", p)
}

func (cs *Console) handleBilling(c *gin.Context) { cs.billingPage(c, http.StatusOK, "", nil) }

// handleSubscribe starts the subscription and offers the way to Stripe Checkout: a link, since a
// form's redirect to another site is what the page's policy forbids.
func (cs *Console) handleSubscribe(c *gin.Context) {
	v := viewerOf(c)
	sub, err := cs.Billing.Subscribe(c.Request.Context(), live(v.Principal), billing.SubscribeInput{}, "")
	if err != nil {
		cs.billingPage(c, http.StatusOK, "", err)
		return
	}
	cs.billingPage(c, http.StatusCreated, sub.CheckoutURL, nil)
}

// handleReconciliation downloads a month's reconciliation of live usage with Stripe.
func (cs *Console) handleReconciliation(c *gin.Context) {
	v := viewerOf(c)
	period := strings.TrimSpace(c.Query("period"))
	if period == "" {
		period = money.PeriodOf(cs.Clock.Now())
	}
	if err := cs.Billing.ReconciliationCSV(c, live(v.Principal), period); err != nil {
		cs.billingPage(c, http.StatusOK, "", err)
	}
}
