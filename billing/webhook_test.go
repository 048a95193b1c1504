package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/problem"
)

const whsec = "whsec_test_secret"

// event is a Stripe event as a webhook carries it.
type event struct {
	id, typ string
	created time.Time
	object  map[string]any
}

func (e event) json() []byte {
	b, _ := json.Marshal(map[string]any{
		"id": e.id, "object": "event", "api_version": "2023-10-16", "created": e.created.Unix(),
		"type": e.typ, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": e.object},
	})
	return b
}

// sign signs payload as Stripe does, at signedAt.
func sign(payload []byte, secret string, signedAt time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: signedAt}).Header
}

var seq int

func nextID(prefix string) string { seq++; return fmt.Sprintf("%s_%06d", prefix, seq) }

// Builders of the events the lifecycle reacts to, for customer cus and
// subscription sub_1, created at minute m after epoch.
func at(m int) time.Time { return epoch.Add(time.Duration(m) * time.Minute) }

func subEvent(cus, status string, m int) event {
	typ := "customer.subscription.updated"
	if status == "deleted" {
		typ, status = "customer.subscription.deleted", "canceled"
	}
	return event{nextID("evt"), typ, at(m), map[string]any{"id": "sub_1", "object": "subscription", "customer": cus, "status": status}}
}

func checkoutEvent(cus, tenant string, m int) event {
	return event{nextID("evt"), "checkout.session.completed", at(m), map[string]any{
		"id": "cs_1", "object": "checkout.session", "customer": cus, "mode": "subscription", "subscription": "sub_1",
		"status": "complete", "payment_status": "paid", "client_reference_id": tenant}}
}

func invoiceEvent(cus, typ, status string, m int, quantity int64, start, end time.Time) event {
	return event{nextID("evt"), "invoice." + typ, at(m), map[string]any{
		"id": "in_" + cus, "object": "invoice", "customer": cus, "subscription": "sub_1", "status": status,
		"amount_due": quantity * 150, "amount_paid": 0, "currency": "eur",
		"period_start": start.Unix(), "period_end": end.Unix(), "hosted_invoice_url": "https://invoice.stripe.com/i/x",
		"lines": map[string]any{"object": "list", "data": []map[string]any{{
			"id": "il_1", "object": "line_item", "quantity": quantity,
			"period": map[string]any{"start": start.Unix(), "end": end.Unix()},
			"price":  map[string]any{"id": "price_analysis", "object": "price", "recurring": map[string]any{"interval": "month", "usage_type": "metered"}},
		}}}}}
}

func failed(cus string, m int) event {
	return invoiceEvent(cus, "payment_failed", "open", m, 3, epoch, epoch.AddDate(0, 1, 0))
}

func paid(cus string, m int) event {
	return invoiceEvent(cus, "paid", "paid", m, 3, epoch, epoch.AddDate(0, 1, 0))
}

func newService(db *gorm.DB, clk clock.Clock) *billing.Service {
	return billing.NewService(billing.Options{DB: db, Clock: clk, PriceID: "price_analysis", WebhookSecret: whsec, PastDueGrace: 7 * 24 * time.Hour})
}

func deliver(t *testing.T, s *billing.Service, e event) billing.WebhookResult {
	t.Helper()
	payload := e.json()
	res, err := s.HandleWebhook(context.Background(), payload, sign(payload, whsec, time.Now()))
	if err != nil {
		t.Fatalf("deliver %s %s: %v", e.typ, e.id, err)
	}
	return res
}

func tenantStatus(t *testing.T, db *gorm.DB, tenant string) string {
	t.Helper()
	var s string
	if err := db.Raw("SELECT status FROM tenants WHERE id = ?", tenant).Scan(&s).Error; err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLifecycleFollowsWebhooksInAnyOrder(t *testing.T) {
	db := dbtest.Postgres(t)
	now := at(60)
	cases := []struct {
		name   string
		events func(cus, tenant string) []event
		want   string
	}{
		{"a completed checkout makes the tenant active", func(c, tn string) []event { return []event{checkoutEvent(c, tn, 1)} }, "active"},
		{"an incomplete subscription leaves the trial", func(c, _ string) []event { return []event{subEvent(c, "incomplete", 1)} }, "trial"},
		{"incomplete then active is active", func(c, _ string) []event { return []event{subEvent(c, "incomplete", 1), subEvent(c, "active", 2)} }, "active"},
		{"a failed payment makes an active tenant past_due", func(c, tn string) []event {
			return []event{checkoutEvent(c, tn, 1), subEvent(c, "active", 2), failed(c, 10)}
		}, "past_due"},
		{"a later payment clears the failure", func(c, tn string) []event {
			return []event{checkoutEvent(c, tn, 1), failed(c, 10), subEvent(c, "past_due", 11), paid(c, 20)}
		}, "active"},
		{"a failure older than the grace suspends", func(c, _ string) []event {
			return []event{subEvent(c, "active", -9*24*60), failed(c, -8*24*60)}
		}, "suspended"},
		{"payment after suspension reactivates", func(c, _ string) []event {
			return []event{subEvent(c, "active", -9*24*60), failed(c, -8*24*60), subEvent(c, "past_due", -8*24*60+1), paid(c, 30)}
		}, "active"},
		{"a deleted subscription cancels whatever came before", func(c, tn string) []event {
			return []event{checkoutEvent(c, tn, 1), failed(c, 10), subEvent(c, "past_due", 11), subEvent(c, "deleted", 40)}
		}, "canceled"},
		{"an invoice without a subscription state changes nothing", func(c, _ string) []event {
			return []event{invoiceEvent(c, "created", "draft", 1, 0, epoch, epoch.AddDate(0, 1, 0))}
		}, "trial"},
		{"past_due wins a tie with active in the same second", func(c, _ string) []event {
			return []event{subEvent(c, "active", 5), subEvent(c, "past_due", 5)}
		}, "past_due"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, order := range []string{"in order", "reversed"} {
				cus := nextID("cus")
				tenant := newTenant(t, db, "trial", cus)
				evs := tc.events(cus, tenant)
				if order == "reversed" {
					for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
						evs[i], evs[j] = evs[j], evs[i]
					}
				}
				s := newService(db, clock.NewFake(now))
				for _, e := range evs {
					if res := deliver(t, s, e); res.Duplicate {
						t.Fatalf("%s: fresh event %s reported as a duplicate", order, e.id)
					}
				}
				if got := tenantStatus(t, db, tenant); got != tc.want {
					t.Errorf("%s: tenant status %s, want %s", order, got, tc.want)
				}
			}
		})
	}
}

func TestPastDueTenantIsSuspendedWhenGraceEndsAndReactivatedByPayment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		clk := clock.NewFake(at(60))
		s := newService(db, clk)
		cus := nextID("cus")
		tenant := newTenant(t, db, "trial", cus)
		deliver(t, s, checkoutEvent(cus, tenant, 1))
		deliver(t, s, failed(cus, 30))
		if got := tenantStatus(t, db, tenant); got != "past_due" {
			t.Fatalf("after the failed payment: %s, want past_due", got)
		}
		clk.Advance(7*24*time.Hour - 31*time.Minute) // 1 minute short of the grace
		if n, err := billing.SuspendOverdue(context.Background(), db, clk.Now(), 7*24*time.Hour); err != nil || n != 0 {
			t.Fatalf("sweep within the grace suspended %d (%v), want 0", n, err)
		}
		clk.Advance(time.Minute)
		if n, err := billing.SuspendOverdue(context.Background(), db, clk.Now(), 7*24*time.Hour); err != nil || n != 1 {
			t.Fatalf("sweep at the end of the grace suspended %d (%v), want 1", n, err)
		}
		if got := tenantStatus(t, db, tenant); got != "suspended" {
			t.Fatalf("after the grace: %s, want suspended", got)
		}
		deliver(t, s, paid(cus, 7*24*60+60))
		if got := tenantStatus(t, db, tenant); got != "active" {
			t.Fatalf("after payment: %s, want active", got)
		}
	})
}

func TestWebhooksThatDoNotVerifyAreRefusedAndReplaysChangeNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newService(db, clock.NewFake(at(60)))
		cus := nextID("cus")
		tenant := newTenant(t, db, "trial", cus)
		e := checkoutEvent(cus, tenant, 1)
		payload := e.json()

		wrongVersion := replaceVersion(payload)
		refused := []struct {
			name, header string
			payload      []byte
		}{
			{"bad signature", sign(payload, "whsec_other", time.Now()), payload},
			{"timestamp 6 minutes old", sign(payload, whsec, time.Now().Add(-6*time.Minute)), payload},
			{"tampered body", sign(payload, whsec, time.Now()), replaceTenant(payload)},
			{"other API version", sign(wrongVersion, whsec, time.Now()), wrongVersion},
			{"no signature", "", payload},
		}
		for _, r := range refused {
			_, err := s.HandleWebhook(context.Background(), r.payload, r.header)
			if problem.CodeOf(err) != problem.Invalid {
				t.Errorf("%s: error %v, want invalid_request", r.name, err)
			}
		}
		var n int64
		db.Table("stripe_events").Count(&n)
		if n != 0 || tenantStatus(t, db, tenant) != "trial" {
			t.Fatalf("refused webhooks left %d events recorded and status %s, want none and trial", n, tenantStatus(t, db, tenant))
		}

		if res := deliver(t, s, e); res.Duplicate {
			t.Fatal("first delivery reported as a duplicate")
		}
		// Support suspends the tenant by hand; a replay of the checkout
		// must not quietly reactivate it.
		if err := db.Exec("UPDATE tenants SET status = 'suspended' WHERE id = ?", tenant).Error; err != nil {
			t.Fatal(err)
		}
		if res := deliver(t, s, e); !res.Duplicate {
			t.Fatal("replayed event id processed a second time")
		}
		if got := tenantStatus(t, db, tenant); got != "suspended" {
			t.Errorf("a replay changed the tenant to %s", got)
		}
		db.Table("stripe_events").Where("id = ?", e.id).Count(&n)
		if n != 1 {
			t.Errorf("event %s recorded %d times, want once", e.id, n)
		}
	})
}

func replaceVersion(b []byte) []byte {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["api_version"] = "2020-08-27"
	out, _ := json.Marshal(m)
	return out
}

func replaceTenant(b []byte) []byte {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["data"].(map[string]any)["object"].(map[string]any)["client_reference_id"] = "ten_someone_else"
	out, _ := json.Marshal(m)
	return out
}

func TestEventsOfUnknownCustomersAreRecordedAndIgnored(t *testing.T) {
	db := dbtest.Postgres(t)
	s := newService(db, clock.NewFake(at(60)))
	other := newTenant(t, db, "trial", "cus_known")
	res := deliver(t, s, subEvent("cus_unknown", "active", 1))
	if res.Duplicate || tenantStatus(t, db, other) != "trial" {
		t.Fatalf("unknown customer's event: %+v, other tenant %s", res, tenantStatus(t, db, other))
	}
}

func TestWebhooksAreRefusedWhileNoSigningSecretIsSet(t *testing.T) {
	db := dbtest.Postgres(t)
	s := billing.NewService(billing.Options{DB: db})
	payload := subEvent("cus_x", "active", 1).json()
	if _, err := s.HandleWebhook(context.Background(), payload, sign(payload, whsec, time.Now())); problem.CodeOf(err) != problem.Forbidden {
		t.Fatalf("without STRIPE_WEBHOOK_SECRET: %v, want forbidden", err)
	}
}

// A signed event whose object has an unexpected shape is a 400, and so is one signed or dated
// in the future; none of them is recorded.
func TestSignedEventsOfTheWrongShapeOrTimeAreRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		s := newService(db, clock.NewFake(at(60)))
		cus := nextID("cus")
		tenant := newTenant(t, db, "trial", cus)
		badAmount := invoiceEvent(cus, "paid", "paid", 1, 3, epoch, epoch.AddDate(0, 1, 0))
		badAmount.object["amount_due"] = "lots"
		badCustomer := subEvent(cus, "active", 2)
		badCustomer.object["customer"] = 42
		badLines := invoiceEvent(cus, "paid", "paid", 3, 3, epoch, epoch.AddDate(0, 1, 0))
		badLines.object["lines"] = []int{1}
		future := subEvent(cus, "active", 4)
		future.created = time.Now().Add(24 * time.Hour)
		for _, c := range []struct {
			name     string
			e        event
			signedAt time.Time
			field    string
		}{
			{"amount as a string", badAmount, time.Now(), "data.object"},
			{"customer as a number", badCustomer, time.Now(), "data.object"},
			{"lines as an array", badLines, time.Now(), "data.object"},
			{"event dated tomorrow", future, time.Now(), "created"},
			{"signed in ten minutes", subEvent(cus, "active", 5), time.Now().Add(10 * time.Minute), "Stripe-Signature"},
		} {
			payload := c.e.json()
			_, err := s.HandleWebhook(context.Background(), payload, sign(payload, whsec, c.signedAt))
			pe := problem.As(err)
			if pe == nil || pe.Code != problem.Invalid || len(pe.Fields) == 0 || pe.Fields[0].Field != c.field {
				t.Errorf("%s: %v, want invalid_request on %s", c.name, err, c.field)
			}
		}
		var n int64
		db.Table("stripe_events").Count(&n)
		if n != 0 || tenantStatus(t, db, tenant) != "trial" {
			t.Fatalf("refused events left %d rows and status %s", n, tenantStatus(t, db, tenant))
		}
	})
}
