package billing_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/billing/billingtest"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

func TestSubscribingWithAPaymentMethodOnFileCreatesTheSubscriptionDirectly(t *testing.T) {
	mock := billingtest.MockURL(t)
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		p := billingtest.NewProxy(t, mock)
		// stripe-mock's customer fixture has no payment method: answer as
		// Stripe does for a customer that has one.
		p.Override(func(r *http.Request, _ url.Values) (int, string, bool) {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/customers/") {
				id := strings.TrimPrefix(r.URL.Path, "/v1/customers/")
				return 200, `{"id":"` + id + `","object":"customer","invoice_settings":{"default_payment_method":"pm_card_visa"}}`, true
			}
			return 0, "", false
		})
		tenant := newTenant(t, db, "trial", "cus_with_card")
		s := billing.NewService(billing.Options{DB: db, Stripe: stripeVia(p), Clock: clock.NewFake(epoch), PriceID: "price_analysis"})
		principal := keys.Principal{TenantID: tenant, Environment: keys.Live}
		out, err := s.Subscribe(context.Background(), principal, billing.SubscribeInput{}, "idem-1")
		if err != nil {
			t.Fatal(err)
		}
		if out.Mode != "subscription" || out.SubscriptionID == "" || out.CustomerID != "cus_with_card" || out.TenantStatus != "trial" {
			t.Fatalf("answer %+v, want a subscription for cus_with_card, tenant still trial", out)
		}
		subs := p.Calls(http.MethodPost, "/v1/subscriptions")
		if len(subs) != 1 || subs[0].Form.Get("customer") != "cus_with_card" || subs[0].Form.Get("items[0][price]") != "price_analysis" ||
			subs[0].Form.Get("metadata[tenant_id]") != tenant {
			t.Fatalf("subscription calls %+v", subs)
		}
		if n := len(p.Calls(http.MethodPost, "/v1/checkout/sessions")) + len(p.Calls(http.MethodPost, "/v1/customers")); n != 0 {
			t.Errorf("%d checkout or customer creations, want none", n)
		}
		if got := tenantStatus(t, db, tenant); got != "trial" {
			t.Errorf("tenant %s before any webhook, want trial", got)
		}
	})
}

func TestSubscribingNeedsStripeAndAPageToReturnTo(t *testing.T) {
	db := dbtest.Postgres(t)
	tenant := newTenant(t, db, "trial", "")
	principal := keys.Principal{TenantID: tenant, Environment: keys.Live}
	off := billing.NewService(billing.Options{DB: db})
	if _, err := off.Subscribe(context.Background(), principal, billing.SubscribeInput{}, ""); problem.CodeOf(err) != problem.Conflict {
		t.Errorf("without Stripe: %v, want conflict", err)
	}
	p := billingtest.NewProxy(t, billingtest.MockURL(t))
	on := billing.NewService(billing.Options{DB: db, Stripe: stripeVia(p), PriceID: "price_analysis"})
	if _, err := on.Subscribe(context.Background(), principal, billing.SubscribeInput{}, ""); problem.CodeOf(err) != problem.Invalid {
		t.Errorf("without ROCKETFIN_PUBLIC_URL or success_url: %v, want invalid_request", err)
	}
	// The customer made on the way is kept and reused.
	out, err := on.Subscribe(context.Background(), principal, billing.SubscribeInput{SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/no"}, "")
	if err != nil || out.Mode != "checkout" {
		t.Fatalf("with URLs: %+v, %v", out, err)
	}
	if n := len(p.Calls(http.MethodPost, "/v1/customers")); n != 1 {
		t.Errorf("%d Stripe customers created over two requests, want 1", n)
	}
	// Subscribing again while the session is open (a second tab, a retry
	// without a key) returns it: two sessions would make two subscriptions
	// billing the same usage.
	again, err := on.Subscribe(context.Background(), principal, billing.SubscribeInput{SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/no"}, "")
	if err != nil || again.CheckoutSessionID != out.CheckoutSessionID || again.CheckoutURL != out.CheckoutURL {
		t.Fatalf("second subscribe: %+v, %v; want session %s again", again, err, out.CheckoutSessionID)
	}
	if n := len(p.Calls(http.MethodPost, "/v1/checkout/sessions")); n != 1 {
		t.Errorf("%d Checkout Sessions opened over two requests, want 1", n)
	}
}

func TestReconciliationListsEveryLiveEventWithSumsPerState(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		tenant := newTenant(t, db, "active", "cus_rec")
		other := newTenant(t, db, "active", "cus_rec_other")
		reported := meteredCalls(t, db, tenant, 2, epoch)
		pending := meteredCalls(t, db, tenant, 1, epoch.Add(time.Hour))
		meteredCalls(t, db, tenant, 1, epoch.AddDate(0, 1, 0)) // next month
		meteredCalls(t, db, other, 4, epoch)
		if err := db.Exec(`UPDATE usage_events SET billing_state = 'trial_credit', amount = 0 WHERE id = ?`, pending[0]).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(`DELETE FROM outbox WHERE usage_event_id = ?`, pending[0]).Error; err != nil {
			t.Fatal(err)
		}
		for _, id := range reported {
			if err := db.Exec(`UPDATE outbox SET state = 'delivered', reference = ? WHERE usage_event_id = ?`, id, id).Error; err != nil {
				t.Fatal(err)
			}
		}
		s := billing.NewService(billing.Options{DB: db})
		rec := billing.Reconciliation{Totals: map[string]billing.StateTotal{}}
		err := s.Reconcile(context.Background(), keys.Principal{TenantID: tenant, Environment: keys.Live}, "2026-11", func(l billing.ReconciliationLine) error {
			rec.Data = append(rec.Data, l)
			rec.Add(l)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Data) != 3 {
			t.Fatalf("%d lines, want the tenant's 3 events of November", len(rec.Data))
		}
		if d := rec.Totals["delivered"]; d.Events != 2 || d.Quantity != 2 || d.Amount != 300 {
			t.Errorf("delivered totals %+v, want 2 events, 2 analyses, 300", d)
		}
		if nb := rec.Totals[billing.NotBillable]; nb.Events != 1 || nb.Amount != 0 {
			t.Errorf("trial credit totals %+v, want 1 event not billable", nb)
		}
		for _, l := range rec.Data {
			if l.ReportingState == "delivered" && (l.StripeIdentifier == nil || *l.StripeIdentifier != l.UsageEventID) {
				t.Errorf("line %+v lacks its Stripe identifier", l)
			}
		}
		err = s.Reconcile(context.Background(), keys.Principal{TenantID: tenant, Environment: keys.Live}, "2026-13", func(billing.ReconciliationLine) error { return nil })
		if problem.CodeOf(err) != problem.Invalid {
			t.Errorf("month 13: %v, want invalid_request", err)
		}
	})
}

func TestInvoicesArePagedNewestFirstAndScopedToTheTenant(t *testing.T) {
	db := dbtest.Postgres(t)
	clk := clock.NewFake(at(60))
	s := newService(db, clk)
	cus := nextID("cus")
	tenant := newTenant(t, db, "active", cus)
	newTenant(t, db, "active", "cus_nosy")
	for i := range 3 {
		e := invoiceEvent(cus, "created", "draft", i, int64(i), epoch, epoch.AddDate(0, 1, 0))
		e.object["id"] = nextID("in")
		deliver(t, s, e)
	}
	p := keys.Principal{TenantID: tenant, Environment: keys.Live}
	first, err := s.ListInvoices(context.Background(), p, httpx.Page{Limit: 2})
	if err != nil || len(first.Data) != 2 || !first.HasMore || first.Data[0].MeteredQuantity != 2 {
		t.Fatalf("first page %+v (%v), want the 2 newest and more", first, err)
	}
	second, err := s.ListInvoices(context.Background(), p, httpx.Page{Limit: 2, StartingAfter: first.Data[1].ID})
	if err != nil || len(second.Data) != 1 || second.HasMore || second.Data[0].MeteredQuantity != 0 {
		t.Fatalf("second page %+v (%v), want the oldest", second, err)
	}
	none, _ := s.ListInvoices(context.Background(), keys.Principal{TenantID: "ten_nosy", Environment: keys.Live}, httpx.Page{Limit: 10})
	if len(none.Data) != 0 {
		t.Errorf("another tenant sees %d invoices", len(none.Data))
	}
}

// With the Stripe key alone (no STRIPE_PRICE_ID), the first subscription finds or creates the
// meter, product and prices as `rocketfin billing setup` does, and later ones reuse them.
func TestSubscribingWithTheStripeKeyAloneSetsUpThePricesOnce(t *testing.T) {
	db := dbtest.Postgres(t)
	p := billingtest.NewProxy(t, billingtest.MockURL(t))
	s := billing.NewService(billing.Options{DB: db, Stripe: stripeVia(p), Setup: &billing.SetupOptions{
		EventName: "rocketfin_analysis", UnitAmount: 150, Currency: "EUR", MonitoringEventName: "rocketfin_monitored_day", MonitoringUnitAmount: 5}})
	urls := billing.SubscribeInput{SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/no"}
	for i, tenant := range []string{newTenant(t, db, "trial", ""), newTenant(t, db, "trial", "")} {
		out, err := s.Subscribe(context.Background(), keys.Principal{TenantID: tenant, Environment: keys.Live}, urls, "")
		if err != nil || out.Mode != "checkout" {
			t.Fatalf("subscription %d: %+v, %v", i+1, out, err)
		}
		sessions := p.Calls(http.MethodPost, "/v1/checkout/sessions")
		last := sessions[len(sessions)-1].Form
		if !strings.HasPrefix(last.Get("line_items[0][price]"), "price_") || !strings.HasPrefix(last.Get("line_items[1][price]"), "price_") {
			t.Fatalf("subscription %d's session prices: %v", i+1, last)
		}
	}
	if n := len(p.Calls(http.MethodGet, "/v1/billing/meters")); n != 2 {
		t.Errorf("meters listed %d times over two subscriptions, want 2 (one setup: analyses and monitoring)", n)
	}
}
