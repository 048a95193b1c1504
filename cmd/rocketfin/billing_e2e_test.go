package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/billing/billingtest"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
)

const testWebhookSecret = "whsec_e2e_secret"

// billingEnv is the configuration of a server billing through the proxy.
func billingEnv(proxy *billingtest.Proxy, interval string) map[string]string {
	return map[string]string{
		"STRIPE_SECRET_KEY":          "sk_test_e2e",
		"STRIPE_API_BASE":            proxy.URL,
		"STRIPE_WEBHOOK_SECRET":      testWebhookSecret,
		"STRIPE_PRICE_ID":            "price_analysis",
		"ROCKETFIN_PUBLIC_URL":       "https://app.rocketfin.example",
		"ROCKETFIN_BILLING_INTERVAL": interval,
	}
}

// stripeEvent posts a signed Stripe event to the server's webhook.
func (s *testServer) stripeEvent(id, typ string, object map[string]any) response {
	s.t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": s.clock.Now().Unix(), "type": typ,
		"data": map[string]any{"object": object},
	})
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: time.Now()})
	return s.doWith("POST", "/v1/stripe/webhook", "", payload, map[string]string{"Stripe-Signature": sig.Header})
}

func (s *testServer) status(key string) string {
	s.t.Helper()
	r := s.do("GET", "/v1/tenant", key, nil)
	expect(s.t, r, http.StatusOK)
	return r.str("status")
}

// statusChanged lets the scoring call's one-second tenant cache see a change.
func (s *testServer) statusChanged() { s.clock.Advance(2 * time.Second) }

func openDB(t *testing.T, url string) *gorm.DB {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	return db
}

func invoiceObject(id, cus, status string, quantity int64, start, end time.Time) map[string]any {
	return map[string]any{
		"id": id, "object": "invoice", "customer": cus, "subscription": "sub_e2e", "status": status,
		"amount_due": quantity * 150, "amount_paid": 0, "currency": "eur", "period_start": start.Unix(), "period_end": end.Unix(),
		"lines": map[string]any{"object": "list", "data": []map[string]any{{
			"id": "il_" + id, "object": "line_item", "quantity": quantity, "period": map[string]any{"start": start.Unix(), "end": end.Unix()},
			"price": map[string]any{"id": "price_analysis", "object": "price", "recurring": map[string]any{"interval": "month", "usage_type": "metered"}},
		}}},
	}
}

func TestSubscribeReportUsageInvoiceAndReconcileEndToEnd(t *testing.T) {
	proxy := billingtest.NewProxy(t, billingtest.MockURL(t))
	env := billingEnv(proxy, "1h") // the test drives reporting itself
	s := startServer(t, env)
	db := openDB(t, env["DATABASE_URL"])
	worker := billing.NewWorker(billing.WorkerOptions{DB: db, Clock: s.clock, EventName: "rocketfin_analysis",
		Stripe: billing.NewStripeClient(billing.StripeOptions{SecretKey: "sk_test_e2e", APIBase: proxy.URL})})
	a := s.signup("fin@billing.example")
	s.unlimit(a.TenantID)

	// Subscribing is done with a live key; the sandbox is never billed.
	expectProblem(t, s.do("POST", "/v1/billing/subscription", a.Sandbox, nil), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("POST", "/v1/billing/subscription", a.Live, map[string]any{"success_url": "ftp://x"}), http.StatusBadRequest, "invalid_request", "success_url")

	r := s.do("POST", "/v1/billing/subscription", a.Live, nil)
	expect(t, r, http.StatusCreated)
	cus := r.str("customer_id")
	if r.str("mode") != "checkout" || r.str("checkout_url") == "" || cus == "" {
		t.Fatalf("subscription answer %s, want a checkout URL and the customer", r.Raw)
	}
	customers := proxy.Calls("POST", "/v1/customers")
	sessions := proxy.Calls("POST", "/v1/checkout/sessions")
	if len(customers) != 1 || customers[0].Form.Get("metadata[tenant_id]") != a.TenantID || customers[0].Form.Get("email") != "fin@billing.example" {
		t.Fatalf("customer calls %+v, want one for the tenant", customers)
	}
	if len(sessions) != 1 {
		t.Fatalf("%d checkout sessions created, want 1", len(sessions))
	}
	f := sessions[0].Form
	if f.Get("mode") != "subscription" || f.Get("customer") != cus || f.Get("client_reference_id") != a.TenantID ||
		f.Get("line_items[0][price]") != "price_analysis" || !strings.HasPrefix(f.Get("success_url"), "https://app.rocketfin.example/") {
		t.Fatalf("checkout session sent as %v", f)
	}
	if got := s.status(a.Live); got != "trial" {
		t.Fatalf("status %s before Stripe confirmed, want trial", got)
	}

	// Stripe confirms by webhook; a replay changes nothing.
	checkout := map[string]any{"id": "cs_e2e", "object": "checkout.session", "customer": cus, "mode": "subscription",
		"subscription": "sub_e2e", "status": "complete", "payment_status": "paid", "client_reference_id": a.TenantID}
	r = s.stripeEvent("evt_e2e_checkout", "checkout.session.completed", checkout)
	expect(t, r, http.StatusOK)
	if dig(r.Body, "duplicate") != false || s.status(a.Live) != "active" {
		t.Fatalf("after checkout: %s, status %s; want processed and active", r.Raw, s.status(a.Live))
	}
	if r := s.stripeEvent("evt_e2e_checkout", "checkout.session.completed", checkout); dig(r.Body, "duplicate") != true {
		t.Fatalf("replayed event answered %s, want duplicate", r.Raw)
	}
	bad := s.doWith("POST", "/v1/stripe/webhook", "", `{"id":"evt_forged"}`, map[string]string{"Stripe-Signature": "t=1,v1=00"})
	expectProblem(t, bad, http.StatusBadRequest, "invalid_request", "Stripe-Signature")
	expectProblem(t, s.do("POST", "/v1/billing/subscription", a.Live, nil), http.StatusConflict, "conflict", "")

	// Metered calls are reported once each, under their usage event id.
	s.statusChanged()
	for i := range 3 {
		expect(t, s.do("POST", "/v1/scores", a.Live, liveBody(i)), http.StatusOK)
	}
	pass, err := worker.RunOnce(context.Background())
	if err != nil || pass.Delivered != 3 {
		t.Fatalf("reporting pass %+v (%v), want 3 delivered", pass, err)
	}
	rec := s.do("GET", "/v1/billing/reconciliation?period="+s.clock.Now().Format("2006-01"), a.Live, nil)
	expect(t, rec, http.StatusOK)
	lines, _ := rec.Body["data"].([]any)
	sent := proxy.MeterEventIdentifiers()
	if len(lines) != 3 || len(sent) != 3 {
		t.Fatalf("reconciliation has %d lines and %d meter events were sent, want 3 and 3: %s", len(lines), len(sent), rec.Raw)
	}
	for _, l := range lines {
		m := l.(map[string]any)
		if m["reporting_state"] != "delivered" || m["billing_state"] != "reported" || m["stripe_identifier"] != m["usage_event_id"] ||
			!slices.Contains(sent, m["usage_event_id"].(string)) {
			t.Errorf("reconciliation line %v, want delivered under its usage event id", m)
		}
	}
	if tot := dig(rec.Body, "totals", "delivered"); dig(tot, "events") != 3.0 || dig(tot, "amount") != 450.0 {
		t.Errorf("totals %v, want 3 delivered events worth 450", rec.Body["totals"])
	}

	// The same month as CSV.
	csvRes := s.doWith("GET", "/v1/billing/reconciliation?period="+s.clock.Now().Format("2006-01"), a.Live, nil, map[string]string{"Accept": "text/csv"})
	expect(t, csvRes, http.StatusOK)
	rows, err := csv.NewReader(bytes.NewReader(csvRes.Raw)).ReadAll()
	if err != nil || len(rows) != 5 || !slices.Equal(rows[0], billing.ReconciliationColumns) || rows[4][0] != "total" || rows[4][8] != "delivered" || rows[4][12] != "3" {
		t.Fatalf("CSV (%v):\n%s", err, csvRes.Raw)
	}

	// Invoices: Stripe's quantity beside the local count.
	start := time.Date(s.clock.Now().Year(), s.clock.Now().Month(), 1, 0, 0, 0, 0, time.UTC)
	expect(t, s.stripeEvent("evt_e2e_inv1", "invoice.finalized", invoiceObject("in_e2e_1", cus, "open", 3, start, start.AddDate(0, 1, 0))), http.StatusOK)
	s.clock.Advance(time.Second)
	expect(t, s.stripeEvent("evt_e2e_inv2", "invoice.finalized", invoiceObject("in_e2e_2", cus, "open", 5, start, start.AddDate(0, 1, 0))), http.StatusOK)
	inv := s.do("GET", "/v1/invoices", a.Live, nil)
	expect(t, inv, http.StatusOK)
	data, _ := inv.Body["data"].([]any)
	if len(data) != 2 {
		t.Fatalf("invoices %s, want 2", inv.Raw)
	}
	newest, oldest := data[0].(map[string]any), data[1].(map[string]any)
	if newest["stripe_invoice_id"] != "in_e2e_2" || newest["metered_quantity"] != 5.0 || newest["local_quantity"] != 3.0 || newest["discrepancy"] != true {
		t.Errorf("newest invoice %v, want in_e2e_2 with 5 billed, 3 counted, a discrepancy", newest)
	}
	if oldest["metered_quantity"] != 3.0 || oldest["local_quantity"] != 3.0 || oldest["discrepancy"] != false || dig(oldest, "amount_due", "amount") != 450.0 {
		t.Errorf("older invoice %v, want 3 billed and counted, 450 due, no discrepancy", oldest)
	}
	expectProblem(t, s.do("GET", "/v1/invoices", a.Sandbox, nil), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("GET", "/v1/invoices?limit=0", a.Live, nil), http.StatusBadRequest, "invalid_request", "limit")
	expectProblem(t, s.do("GET", "/v1/invoices", "", nil), http.StatusUnauthorized, "unauthenticated", "")
	expectProblem(t, s.do("GET", "/v1/billing/reconciliation?period=2026-13", a.Live, nil), http.StatusBadRequest, "invalid_request", "period")
	expectProblem(t, s.doWith("GET", "/v1/billing/reconciliation?period=2026", a.Live, nil, map[string]string{"Accept": "text/csv"}), http.StatusBadRequest, "invalid_request", "period")
	expectProblem(t, s.do("GET", "/v1/billing/reconciliation?period=2026-11", a.Sandbox, nil), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("GET", "/v1/billing/reconciliation?period=2026-11&format=xml", a.Live, nil), http.StatusBadRequest, "invalid_request", "format")
	other := s.signup("other@billing.example")
	if r := s.do("GET", "/v1/invoices", other.Live, nil); len(r.Body["data"].([]any)) != 0 {
		t.Errorf("another tenant sees invoices: %s", r.Raw)
	}

	// A failed payment: served during the grace, suspended after, back on payment.
	expect(t, s.stripeEvent("evt_e2e_fail", "invoice.payment_failed", invoiceObject("in_e2e_1", cus, "open", 3, start, start.AddDate(0, 1, 0))), http.StatusOK)
	s.statusChanged()
	if got := s.status(a.Live); got != "past_due" {
		t.Fatalf("after the failed payment: %s, want past_due", got)
	}
	expect(t, s.do("POST", "/v1/scores", a.Live, liveBody(10)), http.StatusOK)
	s.clock.Advance(7*24*time.Hour + time.Minute)
	if n, err := worker.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep after the grace suspended %d (%v), want 1", n, err)
	}
	s.statusChanged()
	expectProblem(t, s.do("POST", "/v1/scores", a.Live, liveBody(11)), http.StatusPaymentRequired, "account_suspended", "")
	expect(t, s.stripeEvent("evt_e2e_paid", "invoice.paid", invoiceObject("in_e2e_1", cus, "paid", 3, start, start.AddDate(0, 1, 0))), http.StatusOK)
	s.statusChanged()
	expect(t, s.do("POST", "/v1/scores", a.Live, liveBody(12)), http.StatusOK)

	// Cancelation ends live scoring.
	expect(t, s.stripeEvent("evt_e2e_deleted", "customer.subscription.deleted",
		map[string]any{"id": "sub_e2e", "object": "subscription", "customer": cus, "status": "canceled"}), http.StatusOK)
	s.statusChanged()
	if got := s.status(a.Live); got != "canceled" {
		t.Fatalf("after deletion: %s, want canceled", got)
	}
	expectProblem(t, s.do("POST", "/v1/scores", a.Live, liveBody(13)), http.StatusPaymentRequired, "account_suspended", "")
}

// passes tells a test when the server's own worker finishes a pass.
type passes chan error

// option hands the server a hook that signals each worker pass.
func (ps passes) option() option {
	return func(d *deps) {
		d.billingPass = func(_ billing.Pass, err error) {
			select {
			case ps <- err:
			default: // the test is not waiting: it re-checks after the next pass
			}
		}
	}
}

// until checks cond after each pass of the worker until it holds. The
// timeout only ends a test whose worker stopped passing.
func (ps passes) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for !cond() {
		select {
		case <-ps:
		case <-timeout:
			t.Fatalf("the worker stopped before %s", what)
		}
	}
}

func pendingOutbox(t *testing.T, db *gorm.DB, tenant string) int64 {
	var n int64
	if err := db.Table("outbox").Where("tenant_id = ? AND state = 'pending'", tenant).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestServeKeepsScoringWhileStripeIsDownAndCatchesUpAfter(t *testing.T) {
	proxy := billingtest.NewProxy(t, billingtest.MockURL(t))
	env := billingEnv(proxy, "20ms")
	worker := make(passes, 1)
	s := startServer(t, env, worker.option())
	db := openDB(t, env["DATABASE_URL"])
	a := s.signup("down@billing.example")
	s.unlimit(a.TenantID)
	if err := db.Create(&billing.Account{TenantID: a.TenantID, StripeCustomerID: "cus_down", CreatedAt: s.clock.Now(), UpdatedAt: s.clock.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	s.statusChanged()

	proxy.SetDown(true)
	for i := range 5 {
		expect(t, s.do("POST", "/v1/scores", a.Live, liveBody(i)), http.StatusOK)
	}
	// The server's worker tries, fails and backs off (on the test's clock).
	worker.until(t, "a failed attempt on every row", func() bool {
		var n int64
		db.Table("outbox").Where("tenant_id = ? AND state = 'pending' AND attempts > 0", a.TenantID).Count(&n)
		return n == 5
	})
	if n := len(proxy.Accepted()); n != 0 {
		t.Fatalf("%d events reached Stripe while it was down", n)
	}
	metrics := s.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics.Raw), "rocketfin_billing_usage_report_lag_seconds") {
		t.Errorf("/metrics lacks the lag gauge")
	}

	proxy.SetDown(false)
	s.clock.Advance(2 * time.Hour) // past any backoff
	worker.until(t, "the backlog drained", func() bool { return pendingOutbox(t, db, a.TenantID) == 0 })
	sent := proxy.MeterEventIdentifiers()
	seen := map[string]bool{}
	for _, id := range sent {
		if seen[id] {
			t.Errorf("identifier %s sent twice", id)
		}
		seen[id] = true
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct events reported, want 5", len(seen))
	}
}

func TestBillingSetupFindsOrCreatesMeterProductAndPrice(t *testing.T) {
	proxy := billingtest.NewProxy(t, billingtest.MockURL(t))
	env := map[string]string{"STRIPE_SECRET_KEY": "sk_test_setup", "STRIPE_API_BASE": proxy.URL, "ROCKETFIN_PRICE_PER_ANALYSIS": "150"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"billing", "setup"}, getenv, &out); err != nil {
		t.Fatalf("billing setup: %v\n%s", err, out.String())
	}
	// Two meters, products and prices: analyses, and monitored company days.
	meters := proxy.Calls("POST", "/v1/billing/meters")
	prices := proxy.Calls("POST", "/v1/prices")
	if len(meters) != 2 || meters[0].Form.Get("event_name") != "rocketfin_analysis" || meters[0].Form.Get("default_aggregation[formula]") != "sum" ||
		meters[0].Form.Get("customer_mapping[event_payload_key]") != "stripe_customer_id" ||
		meters[1].Form.Get("event_name") != "rocketfin_monitored_company_day" {
		t.Fatalf("meter creation %+v", meters)
	}
	if len(prices) != 2 || prices[1].Form.Get("unit_amount") != "5" || prices[1].Form.Get("product") != billing.MonitoringProductID {
		t.Fatalf("prices created %+v", prices)
	}
	pf := prices[0].Form
	if pf.Get("recurring[usage_type]") != "metered" || pf.Get("recurring[meter]") == "" || pf.Get("unit_amount") != "150" || pf.Get("currency") != "eur" ||
		pf.Get("product") != billing.ProductID || pf.Get("lookup_key") == "" {
		t.Fatalf("price created as %v", pf)
	}
	if !strings.Contains(out.String(), "STRIPE_PRICE_ID=price_") || !strings.Contains(out.String(), "STRIPE_MONITORING_PRICE_ID=price_") {
		t.Fatalf("setup printed:\n%s", out.String())
	}

	// Run again on an account that has them: nothing is created. stripe-mock
	// keeps no state, so the proxy answers the two lists as Stripe would.
	meterID, lookupKey := pf.Get("recurring[meter]"), pf.Get("lookup_key")
	monMeterID, monKey := prices[1].Form.Get("recurring[meter]"), prices[1].Form.Get("lookup_key")
	proxy.Override(func(r *http.Request, form url.Values) (int, string, bool) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/v1/billing/meters":
			return 200, fmt.Sprintf(`{"object":"list","url":"/v1/billing/meters","has_more":false,"data":[
				{"id":"mtr_other","object":"billing.meter","event_name":"something_else","status":"active"},
				{"id":%q,"object":"billing.meter","event_name":"rocketfin_analysis","status":"active"},
				{"id":%q,"object":"billing.meter","event_name":"rocketfin_monitored_company_day","status":"active"}]}`, meterID, monMeterID), true
		case r.Method == "GET" && r.URL.Path == "/v1/prices":
			return 200, fmt.Sprintf(`{"object":"list","url":"/v1/prices","has_more":false,"data":[
				{"id":"price_found","object":"price","lookup_key":%q,"unit_amount":150,"currency":"eur","recurring":{"interval":"month","usage_type":"metered","meter":%q}},
				{"id":"price_mon","object":"price","lookup_key":%q,"unit_amount":5,"currency":"eur","recurring":{"interval":"month","usage_type":"metered","meter":%q}}]}`,
				lookupKey, meterID, monKey, monMeterID), true
		}
		return 0, "", false
	})
	out.Reset()
	if err := run(context.Background(), []string{"billing", "setup"}, getenv, &out); err != nil {
		t.Fatalf("second billing setup: %v", err)
	}
	if n, m := len(proxy.Calls("POST", "/v1/billing/meters")), len(proxy.Calls("POST", "/v1/prices")); n != 2 || m != 2 || len(proxy.Calls("POST", "/v1/products")) != 0 {
		t.Fatalf("second run created objects (meters %d, prices %d in all)", n, m)
	}
	if !strings.Contains(out.String(), "STRIPE_PRICE_ID=price_found") || !strings.Contains(out.String(), "STRIPE_MONITORING_PRICE_ID=price_mon") ||
		!strings.Contains(out.String(), "(found") {
		t.Fatalf("second run printed:\n%s", out.String())
	}

	if err := run(context.Background(), []string{"billing", "setup"}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("billing setup without STRIPE_SECRET_KEY succeeded")
	}
}

func TestWorkerCommandReportsTheOutboxAlone(t *testing.T) {
	proxy := billingtest.NewProxy(t, billingtest.MockURL(t))
	env := billingEnv(proxy, "20ms")
	s := startServer(t, env)
	db := openDB(t, env["DATABASE_URL"])
	a := s.signup("worker@billing.example")
	if err := db.Create(&billing.Account{TenantID: a.TenantID, StripeCustomerID: "cus_w", CreatedAt: s.clock.Now(), UpdatedAt: s.clock.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	// The server's own worker is stopped with the server: the command
	// alone must drain what the server wrote.
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	s.statusChanged()
	proxy.SetDown(true)
	expect(t, s.do("POST", "/v1/scores", a.Live, liveBody(1)), http.StatusOK)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	proxy.SetDown(false)
	if pendingOutbox(t, db, a.TenantID) != 1 {
		t.Fatal("the server's worker reported while Stripe was down")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	clk := clock.NewFake(s.clock.Now().Add(2 * time.Hour))
	worker := make(passes, 1)
	go func() {
		done <- run(ctx, []string{"worker"}, func(k string) string { return env[k] }, &bytes.Buffer{},
			func(d *deps) { d.clock = clk; d.logOut = &bytes.Buffer{} }, worker.option())
	}()
	worker.until(t, "the outbox was reported", func() bool { return pendingOutbox(t, db, a.TenantID) == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
	if n := len(proxy.Accepted()); n != 1 {
		t.Errorf("%d events accepted, want 1", n)
	}
}

func TestAThousandLiveCallsAreReportedOnceByTwoRacingWorkers(t *testing.T) {
	proxy := billingtest.NewProxy(t, billingtest.MockURL(t))
	env := billingEnv(proxy, "1h") // the server's worker passes once at start, then the test's race
	s := startServer(t, env)
	a := s.signup("race@billing.example")
	s.unlimit(a.TenantID)
	db := openDB(t, env["DATABASE_URL"])
	if err := db.Create(&billing.Account{TenantID: a.TenantID, StripeCustomerID: "cus_race", CreatedAt: s.clock.Now(), UpdatedAt: s.clock.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	s.statusChanged()

	const calls = 1000
	next := make(chan int)
	errs := make(chan string, calls)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if r := s.do("POST", "/v1/scores", a.Live, liveBody(i)); r.Status != http.StatusOK {
					errs <- fmt.Sprintf("call %d: %d %s", i, r.Status, r.Raw)
				}
			}
		}()
	}
	for i := range calls {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}

	// Two workers, each with its own connections, race for the outbox.
	delivered := make([]int, 2)
	for i := range 2 {
		wdb := openDB(t, env["DATABASE_URL"])
		w := billing.NewWorker(billing.WorkerOptions{DB: wdb, Clock: s.clock, EventName: "rocketfin_analysis", Batch: 50, Concurrency: 4,
			Stripe: billing.NewStripeClient(billing.StripeOptions{SecretKey: "sk_test_e2e", APIBase: proxy.URL})})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p, err := w.RunOnce(context.Background())
				if err != nil {
					t.Errorf("worker %d: %v", i, err)
					return
				}
				if p.Claimed == 0 {
					return
				}
				delivered[i] += p.Delivered
			}
		}()
	}
	wg.Wait()

	var usage []string
	if err := db.Raw(`SELECT id FROM usage_events WHERE tenant_id = ? AND environment = 'live' AND billing_state = 'reported'`, a.TenantID).Scan(&usage).Error; err != nil {
		t.Fatal(err)
	}
	sent := proxy.MeterEventIdentifiers()
	distinct := map[string]int{}
	for _, id := range sent {
		distinct[id]++
	}
	if len(sent) != calls || len(distinct) != calls || len(usage) != calls || delivered[0]+delivered[1] != calls {
		t.Fatalf("%d meter events sent, %d distinct, %d usage events reported, workers delivered %v; want %d of each",
			len(sent), len(distinct), len(usage), delivered, calls)
	}
	for _, id := range usage {
		if distinct[id] != 1 {
			t.Errorf("usage event %s sent %d times, want once", id, distinct[id])
		}
	}
	t.Logf("workers delivered %d and %d", delivered[0], delivered[1])
}
