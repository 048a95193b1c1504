package billing_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/billing/billingtest"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/metering"
)

// assertReportedOnce checks that every event went to Stripe exactly once
// under its own id and is marked reported with that identifier.
func assertReportedOnce(t *testing.T, db *gorm.DB, p *billingtest.Proxy, tenant string, events []string) {
	t.Helper()
	sent := p.MeterEventIdentifiers()
	count := map[string]int{}
	for _, id := range sent {
		count[id]++
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("identifier %s was sent %d times, want once", id, n)
		}
	}
	if len(count) != len(events) {
		t.Errorf("%d distinct identifiers sent, want %d", len(count), len(events))
	}
	rows := outbox(t, db, tenant)
	for _, ev := range events {
		r := rows[ev]
		if count[ev] != 1 {
			t.Errorf("usage event %s: sent %d times, want once", ev, count[ev])
		}
		if r.State != metering.OutboxDelivered || r.Reference == nil || *r.Reference != ev || r.BillingState != metering.StateReported {
			t.Errorf("usage event %s: outbox %s reference %v usage %s; want delivered, reference %s, reported", ev, r.State, r.Reference, r.BillingState, ev)
			return
		}
	}
}

func TestTwoRacingWorkersReportEachOfAThousandEventsOnce(t *testing.T) {
	mock := billingtest.MockURL(t)
	db := dbtest.Postgres(t)
	tenant := newTenant(t, db, "active", "cus_race")
	events := meteredCalls(t, db, tenant, 1000, epoch)
	p := billingtest.NewProxy(t, mock)
	clk := clock.NewFake(epoch.Add(time.Minute))

	var wg sync.WaitGroup
	passes := make([]billing.Pass, 2)
	for i := range 2 {
		w := newWorker(db, stripeVia(p), clk, 25, 4)
		wg.Add(1)
		go func() {
			defer wg.Done()
			passes[i] = drain(t, w)
		}()
	}
	wg.Wait()

	if passes[0].Delivered == 0 || passes[1].Delivered == 0 {
		t.Logf("one worker took everything (%d / %d): the race was not exercised this time", passes[0].Delivered, passes[1].Delivered)
	}
	if got := passes[0].Delivered + passes[1].Delivered; got != 1000 {
		t.Errorf("workers delivered %d events, want 1000", got)
	}
	if len(p.MeterEventIdentifiers()) != 1000 {
		t.Errorf("%d meter events sent, want exactly 1000", len(p.MeterEventIdentifiers()))
	}
	assertReportedOnce(t, db, p, tenant, events)
	for _, c := range p.Calls(http.MethodPost, "/v1/billing/meter_events")[:3] {
		if c.Form.Get("event_name") != eventName || c.Form.Get("payload[stripe_customer_id]") != "cus_race" || c.Form.Get("payload[value]") != "1" ||
			c.Form.Get("timestamp") != "1793610000" {
			t.Errorf("meter event sent as %v, want event_name %s, customer cus_race, value 1, timestamp of the call", c.Form, eventName)
		}
	}
	if passes[0].Lag != 0 && passes[1].Lag != 0 {
		t.Errorf("lag after draining = %s / %s, want 0", passes[0].Lag, passes[1].Lag)
	}
}

func TestSingleWorkerOnEachDatabaseReportsEveryEventOnce(t *testing.T) {
	mock := billingtest.MockURL(t)
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		tenant := newTenant(t, db, "active", "cus_one")
		other := newTenant(t, db, "active", "cus_two")
		events := meteredCalls(t, db, tenant, 30, epoch)
		otherEvents := meteredCalls(t, db, other, 5, epoch)
		p := billingtest.NewProxy(t, mock)
		w := newWorker(db, stripeVia(p), clock.NewFake(epoch.Add(time.Minute)), 7, 3)
		if got := drain(t, w); got.Delivered != 35 {
			t.Fatalf("delivered %d, want 35", got.Delivered)
		}
		for _, c := range p.Calls(http.MethodPost, "/v1/billing/meter_events") {
			id, cus := c.Form.Get("identifier"), c.Form.Get("payload[stripe_customer_id]")
			want := "cus_one"
			if contains(otherEvents, id) {
				want = "cus_two"
			}
			if cus != want {
				t.Errorf("event %s sent for customer %s, want %s", id, cus, want)
			}
		}
		rows := outbox(t, db, tenant)
		for _, ev := range events {
			if rows[ev].State != metering.OutboxDelivered {
				t.Errorf("event %s state %s, want delivered", ev, rows[ev].State)
			}
		}
		if n := len(p.MeterEventIdentifiers()); n != 35 {
			t.Errorf("%d meter events sent, want 35", n)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestWorkerKilledAfterStripeAnsweredResendsTheSameIdentifier(t *testing.T) {
	mock := billingtest.MockURL(t)
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		tenant := newTenant(t, db, "active", "cus_kill")
		events := meteredCalls(t, db, tenant, 1, epoch)
		p := billingtest.NewProxy(t, mock)
		clk := clock.NewFake(epoch.Add(time.Minute))

		ctx, kill := context.WithCancel(context.Background())
		p.AfterMeterEvent(func(string) { kill() })
		first := newWorker(db, stripeVia(p), clk, 10, 1)
		if _, err := first.RunOnce(ctx); err == nil {
			t.Fatal("the killed worker's pass returned no error: it cannot have marked its row after being killed")
		}
		p.AfterMeterEvent(nil)
		r := outbox(t, db, tenant)[events[0]]
		if r.State != metering.OutboxPending || r.Reference != nil || r.BillingState != metering.StatePending {
			t.Fatalf("after the kill: outbox %s, reference %v, usage %s; want pending, none, pending", r.State, r.Reference, r.BillingState)
		}

		second := newWorker(db, stripeVia(p), clk, 10, 1)
		if p, _ := second.RunOnce(context.Background()); p.Claimed != 0 {
			t.Fatalf("a second worker claimed %d rows still leased to the killed one", p.Claimed)
		}
		clk.Advance(6 * time.Minute) // past the 5-minute lease
		pass, err := second.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pass.Duplicates != 1 {
			t.Errorf("retry pass: %+v, want Stripe's duplicate answer counted as delivered", pass)
		}
		sent := p.MeterEventIdentifiers()
		if len(sent) != 2 || sent[0] != events[0] || sent[1] != events[0] {
			t.Errorf("identifiers sent %v, want the same identifier %s twice", sent, events[0])
		}
		if n := len(p.Accepted()); n != 1 {
			t.Errorf("Stripe accepted %d distinct events, want 1", n)
		}
		r = outbox(t, db, tenant)[events[0]]
		if r.State != metering.OutboxDelivered || r.Reference == nil || *r.Reference != events[0] || r.BillingState != metering.StateReported || r.Attempts != 2 {
			t.Errorf("after the retry: %+v, want delivered with reference %s after 2 attempts, reported", r, events[0])
		}
	})
}

func TestStripeOutageGrowsTheBacklogAndRecoveryReportsEachEventOnce(t *testing.T) {
	mock := billingtest.MockURL(t)
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		tenant := newTenant(t, db, "active", "cus_outage")
		events := meteredCalls(t, db, tenant, 12, epoch)
		p := billingtest.NewProxy(t, mock)
		clk := clock.NewFake(epoch.Add(time.Minute))
		reg := prometheus.NewRegistry()
		w := billing.NewWorker(billing.WorkerOptions{DB: db, Stripe: stripeVia(p), Clock: clk, EventName: eventName,
			Batch: 5, Concurrency: 2, Registerer: reg, Jitter: func() float64 { return 0 }})

		p.SetDown(true)
		pass := drain(t, w)
		if pass.Retried != 12 || pass.Delivered != 0 {
			t.Fatalf("during the outage: %+v, want all 12 rescheduled", pass)
		}
		for _, r := range outbox(t, db, tenant) {
			// First retry after baseBackoff/2 with zero jitter: 1 s.
			if r.State != metering.OutboxPending || r.LastError == nil || !r.AvailableAt.Equal(clk.Now().Add(time.Second)) {
				t.Fatalf("row after a failed attempt: %+v, want pending with an error, due 1s later", r)
			}
		}
		if pass.Lag != time.Minute || gauge(t, reg) != 60 {
			t.Errorf("lag = %s, gauge %v; want 1m (the oldest unreported event)", pass.Lag, gauge(t, reg))
		}

		// Still down: each attempt doubles the delay.
		clk.Advance(time.Second)
		drain(t, w)
		if r := outbox(t, db, tenant)[events[0]]; r.Attempts != 2 || !r.AvailableAt.Equal(clk.Now().Add(2*time.Second)) {
			t.Fatalf("second failure: attempts %d due %s, want 2 attempts due %s", r.Attempts, r.AvailableAt, clk.Now().Add(2*time.Second))
		}

		// Stripe returns, but rate-limits the first call: Retry-After wins.
		p.SetDown(false)
		p.FailNext(http.StatusTooManyRequests, map[string]string{"Retry-After": "120"})
		clk.Advance(2 * time.Second)
		pass = drain(t, w)
		if pass.Delivered != 11 || pass.Retried != 1 {
			t.Fatalf("after recovery: %+v, want 11 delivered and 1 rate-limited", pass)
		}
		clk.Advance(119 * time.Second)
		if pass := drain(t, w); pass.Claimed != 0 {
			t.Fatalf("the rate-limited row came back before Retry-After: %+v", pass)
		}
		clk.Advance(time.Second)
		if pass := drain(t, w); pass.Delivered != 1 || pass.Lag != 0 {
			t.Fatalf("after Retry-After: %+v, want the last event delivered and no lag", pass)
		}
		assertReportedOnce(t, db, p, tenant, events)
		if gauge(t, reg) != 0 {
			t.Errorf("lag gauge %v after catching up, want 0", gauge(t, reg))
		}
	})
}

func gauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "rocketfin_billing_usage_report_lag_seconds" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no lag gauge registered")
	return 0
}

func TestEventsOlderThanStripeAcceptsAreFlaggedStaleNotSent(t *testing.T) {
	mock := billingtest.MockURL(t)
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		tenant := newTenant(t, db, "active", "cus_stale")
		old := meteredCalls(t, db, tenant, 2, epoch)
		recent := meteredCalls(t, db, tenant, 1, epoch.Add(2*24*time.Hour))
		p := billingtest.NewProxy(t, mock)
		w := newWorker(db, stripeVia(p), clock.NewFake(epoch.Add(36*24*time.Hour)), 10, 2)
		pass := drain(t, w)
		if pass.Stale != 2 || pass.Delivered != 1 {
			t.Fatalf("pass %+v, want 2 stale and 1 delivered", pass)
		}
		if sent := p.MeterEventIdentifiers(); len(sent) != 1 || sent[0] != recent[0] {
			t.Errorf("sent %v, want only the recent event %s", sent, recent[0])
		}
		rows := outbox(t, db, tenant)
		for _, ev := range old {
			r := rows[ev]
			if r.State != metering.OutboxStale || r.BillingState != metering.StateStale || r.LastError == nil || !strings.Contains(*r.LastError, "by hand") {
				t.Errorf("old event %s: %+v, want stale on both rows with a reason for finance", ev, r)
			}
		}
	})
}

func TestEventsWaitForTheTenantsStripeCustomer(t *testing.T) {
	mock := billingtest.MockURL(t)
	db := dbtest.Postgres(t)
	tenant := newTenant(t, db, "active", "")
	events := meteredCalls(t, db, tenant, 2, epoch)
	p := billingtest.NewProxy(t, mock)
	clk := clock.NewFake(epoch.Add(time.Minute))
	w := newWorker(db, stripeVia(p), clk, 10, 2)
	if pass := drain(t, w); pass.Retried != 2 || len(p.MeterEventIdentifiers()) != 0 {
		t.Fatalf("without a customer: %+v and %d calls, want 2 rescheduled and no call", pass, len(p.MeterEventIdentifiers()))
	}
	if err := db.Create(&billing.Account{TenantID: tenant, StripeCustomerID: "cus_late", CreatedAt: epoch, UpdatedAt: epoch}).Error; err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	drain(t, w)
	assertReportedOnce(t, db, p, tenant, events)
}

func TestARefusalStripeSaysNotToRetryIsFlaggedFailed(t *testing.T) {
	mock := billingtest.MockURL(t)
	db := dbtest.Postgres(t)
	tenant := newTenant(t, db, "active", "cus_refused")
	events := meteredCalls(t, db, tenant, 1, epoch)
	p := billingtest.NewProxy(t, mock)
	p.FailNext(http.StatusBadRequest, map[string]string{"Stripe-Should-Retry": "false"})
	w := newWorker(db, stripeVia(p), clock.NewFake(epoch.Add(time.Minute)), 10, 1)
	if pass := drain(t, w); pass.Failed != 1 {
		t.Fatalf("pass %+v, want 1 failed", pass)
	}
	if r := outbox(t, db, tenant)[events[0]]; r.State != metering.OutboxFailed || r.BillingState != metering.StateFailed || r.LastError == nil {
		t.Errorf("refused event: %+v, want failed with the reason kept", r)
	}
}

// TestMonitoredDaysGoToTheirOwnMeter: monitored company days recorded by the meter are reported
// once each under the monitoring meter's event name; analyses keep theirs.
func TestMonitoredDaysGoToTheirOwnMeter(t *testing.T) {
	mock := billingtest.MockURL(t)
	db := dbtest.Postgres(t)
	tenant := newTenant(t, db, "active", "cus_mon")
	analyses := meteredCalls(t, db, tenant, 2, epoch)
	var decision string
	if err := db.Raw("SELECT id FROM decisions WHERE tenant_id = ? LIMIT 1", tenant).Scan(&decision).Error; err != nil {
		t.Fatal(err)
	}
	meter := metering.NewMeter(db, money.Money{Amount: 150, Currency: "EUR"}, clock.NewFake(epoch)).
		WithMonitoringPrice(money.Money{Amount: 5, Currency: "EUR"})
	days := []metering.MonitoredDay{
		{TenantID: tenant, MonitorID: "mon_a", DecisionID: decision, Metered: true, At: epoch},
		{TenantID: tenant, MonitorID: "mon_b", DecisionID: decision, Metered: true, At: epoch},
	}
	for range 2 { // the same days twice: counted once
		if err := db.Transaction(func(tx *gorm.DB) error {
			_, err := meter.ChargeMonitoredDays(context.Background(), tx, days)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	p := billingtest.NewProxy(t, mock)
	w := billing.NewWorker(billing.WorkerOptions{DB: db, Stripe: stripeVia(p), Clock: clock.NewFake(epoch.Add(time.Minute)),
		EventName: eventName, MonitoringEventName: "rocketfin_monitored_company_day", Jitter: func() float64 { return 0.5 }})
	if got := drain(t, w); got.Delivered != 4 {
		t.Fatalf("delivered %d, want 2 analyses and 2 monitored days", got.Delivered)
	}
	names := map[string]string{}
	for _, c := range p.Calls(http.MethodPost, "/v1/billing/meter_events") {
		names[c.Form.Get("identifier")] = c.Form.Get("event_name")
	}
	monitoring := 0
	for id, name := range names {
		switch {
		case contains(analyses, id):
			if name != eventName {
				t.Errorf("analysis %s sent as %s", id, name)
			}
		case name == "rocketfin_monitored_company_day":
			monitoring++
		default:
			t.Errorf("event %s sent as %s", id, name)
		}
	}
	if monitoring != 2 || len(names) != 4 {
		t.Fatalf("sent %v", names)
	}
}
