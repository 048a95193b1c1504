package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// WebhookTolerance is how old a signed webhook may be.
const WebhookTolerance = 5 * time.Minute

// WebhookResult says what became of a webhook event.
type WebhookResult struct {
	EventID string `json:"id"`
	Type    string `json:"type"`
	// Duplicate: the event was processed before and changed nothing now.
	Duplicate bool `json:"duplicate"`
}

// HandleWebhook verifies a webhook's signature (5-minute tolerance, API
// version 2023-10-16) and applies its event once: a replay of a processed
// event id changes nothing.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signature string) (WebhookResult, error) {
	if err := s.AcceptsWebhook(signature); err != nil {
		return WebhookResult{}, err
	}
	// Stripe's library measures a signature's age on the wall clock and refuses old ones only;
	// a signature or an event from the future is refused here on the same clock: a future
	// `created` would outrank every real event in the newest-change-wins order.
	now := time.Now()
	if ts, ok := signatureTime(signature); ok && ts.After(now.Add(WebhookTolerance)) {
		return WebhookResult{}, problem.Field("Stripe-Signature", "the signature's timestamp is %s in the future", ts.Sub(now).Round(time.Second))
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, s.webhookSecret, webhook.ConstructEventOptions{Tolerance: WebhookTolerance})
	if err != nil {
		// The reason (bad signature, old timestamp, API version) is safe to say.
		return WebhookResult{}, problem.Field("Stripe-Signature", "the event does not verify: %s", err.Error())
	}
	if created := time.Unix(ev.Created, 0); created.After(now.Add(WebhookTolerance)) {
		return WebhookResult{}, problem.Field("created", "the event is dated %s in the future", created.Sub(now).Round(time.Second))
	}
	return s.ApplyEvent(ctx, ev)
}

// signatureTime reads the t= timestamp of a Stripe-Signature header.
func signatureTime(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(sec, 0), true
		}
	}
	return time.Time{}, false
}

// AcceptsWebhook refuses, before the body is read, what no body could make valid: webhooks off
// (no signing secret), or no Stripe-Signature header.
func (s *Service) AcceptsWebhook(signature string) error {
	if s.webhookSecret == "" {
		return problem.New(problem.Forbidden, "webhooks are off: STRIPE_WEBHOOK_SECRET is not set")
	}
	if signature == "" {
		return problem.Field("Stripe-Signature", "the header is required: Stripe signs every event")
	}
	return nil
}

// ApplyEvent applies a verified Stripe event once. Events may come in any
// order: each change is kept only if no newer event (by Stripe's created
// time) already made it.
func (s *Service) ApplyEvent(ctx context.Context, ev stripe.Event) (WebhookResult, error) {
	res := WebhookResult{EventID: ev.ID, Type: string(ev.Type)}
	if ev.ID == "" || ev.Data == nil {
		return res, problem.Field("body", "not a Stripe event")
	}
	created := time.Unix(ev.Created, 0).UTC()
	now := s.clock.Now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		fresh, err := s.store.claimEvent(ctx, tx, ev.ID, string(ev.Type), created, now)
		if err != nil || !fresh {
			res.Duplicate = !fresh
			return err
		}
		tenant, err := s.dispatch(ctx, tx, ev, created, now)
		if err != nil || tenant == "" {
			return err
		}
		return s.store.tagEvent(ctx, tx, ev.ID, tenant)
	})
	if err != nil {
		return res, fmt.Errorf("apply Stripe event %s (%s): %w", ev.ID, ev.Type, err)
	}
	return res, nil
}

// unexpectedShape is the refusal of a verified event whose object does not decode as its type
// says: 400, so that Stripe shows the failure, never a 500.
func unexpectedShape(ev stripe.Event, err error) error {
	msg := err.Error()
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		msg = fmt.Sprintf("%s must be %s", typeErr.Field, typeErr.Type)
	}
	return problem.Field("data.object", "is not the object a %s event carries: %s", ev.Type, msg)
}

// dispatch applies one event inside tx and returns the tenant it was
// about, "" when none of ours.
func (s *Service) dispatch(ctx context.Context, tx *gorm.DB, ev stripe.Event, created, now time.Time) (string, error) {
	var (
		customer string
		change   func(a *Account) (bool, error)
	)
	switch ev.Type {
	case "checkout.session.completed":
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return "", unexpectedShape(ev, err)
		}
		if cs.Customer == nil || cs.Mode != stripe.CheckoutSessionModeSubscription || cs.Subscription == nil {
			return "", nil
		}
		customer = cs.Customer.ID
		change = func(a *Account) (bool, error) {
			if cs.ClientReferenceID != "" && cs.ClientReferenceID != a.TenantID {
				s.log.Warn("checkout session names another tenant than its customer's; ignored", "event_id", ev.ID, "customer", customer)
				return false, nil
			}
			paid := cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid || cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusNoPaymentRequired
			if cs.Status != stripe.CheckoutSessionStatusComplete || !paid {
				return false, nil
			}
			return a.applySubscription(cs.Subscription.ID, string(stripe.SubscriptionStatusActive), created), nil
		}
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var sub stripe.Subscription
		if err := json.Unmarshal(ev.Data.Raw, &sub); err != nil {
			return "", unexpectedShape(ev, err)
		}
		if sub.Customer == nil {
			return "", nil
		}
		customer = sub.Customer.ID
		status := string(sub.Status)
		if ev.Type == "customer.subscription.deleted" {
			status = string(stripe.SubscriptionStatusCanceled)
		}
		change = func(a *Account) (bool, error) { return a.applySubscription(sub.ID, status, created), nil }
	case "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed":
		var inv stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
			return "", unexpectedShape(ev, err)
		}
		if inv.Customer == nil {
			return "", nil
		}
		customer = inv.Customer.ID
		change = func(a *Account) (bool, error) {
			if err := s.recordInvoice(ctx, tx, a.TenantID, inv, created, now); err != nil {
				return false, err
			}
			switch ev.Type {
			case "invoice.paid":
				a.PaymentSucceededAt = later(a.PaymentSucceededAt, created)
			case "invoice.payment_failed":
				a.PaymentFailedAt = later(a.PaymentFailedAt, created)
			}
			return true, nil
		}
	default:
		return "", nil
	}

	a, err := s.store.lockAccountByCustomer(ctx, tx, customer)
	if errors.Is(err, errNoAccount) {
		s.log.Info("Stripe event for a customer RocketFin does not know; ignored", "event_id", ev.ID, "type", ev.Type)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	changed, err := change(&a)
	if err != nil || !changed {
		return a.TenantID, err
	}
	if err := s.store.saveAccount(ctx, tx, a, now); err != nil {
		return "", err
	}
	if status := a.TenantStatus(now, s.grace); status != "" {
		moved, err := setTenantStatus(ctx, tx, a.TenantID, status, now)
		if err != nil {
			return "", err
		}
		if moved {
			s.log.Info("tenant status changed by Stripe", "tenant_id", a.TenantID, "status", status, "event_id", ev.ID)
		}
	}
	return a.TenantID, nil
}

// invoiceRank orders invoice statuses for events created in the same second.
func invoiceRank(status string) int {
	switch status {
	case "open":
		return 1
	case "paid", "void", "uncollectible":
		return 2
	}
	return 0 // draft
}

// recordInvoice stores what an invoice event says, unless a newer event
// about the same invoice was stored already.
func (s *Service) recordInvoice(ctx context.Context, tx *gorm.DB, tenantID string, in stripe.Invoice, created, now time.Time) error {
	cur, err := s.store.invoice(ctx, tx, tenantID, in.ID)
	isNew := errors.Is(err, gorm.ErrRecordNotFound)
	if err != nil && !isNew {
		return fmt.Errorf("read invoice %s: %w", in.ID, err)
	}
	if !isNew && (created.Before(cur.EventAt) || created.Equal(cur.EventAt) && invoiceRank(string(in.Status)) < invoiceRank(cur.Status)) {
		return nil
	}
	inv := cur
	if isNew {
		inv = Invoice{ID: ids.New(invoicePrefix), TenantID: tenantID, StripeInvoiceID: in.ID, CreatedAt: now}
	}
	inv.Status = string(in.Status)
	if inv.Status == "" {
		inv.Status = "draft"
	}
	inv.SubscriptionID = nil
	if in.Subscription != nil && in.Subscription.ID != "" {
		id := in.Subscription.ID
		inv.SubscriptionID = &id
	}
	inv.AmountDue, inv.AmountPaid = in.AmountDue, in.AmountPaid
	inv.Currency = strings.ToUpper(string(in.Currency))
	inv.HostedInvoiceURL = nil
	if in.HostedInvoiceURL != "" {
		u := in.HostedInvoiceURL
		inv.HostedInvoiceURL = &u
	}
	inv.PeriodStart, inv.PeriodEnd = time.Unix(in.PeriodStart, 0).UTC(), time.Unix(in.PeriodEnd, 0).UTC()
	inv.MeteredQuantity = 0
	usagePeriodSet := false
	if in.Lines != nil {
		for _, l := range in.Lines.Data {
			if l == nil || l.Price == nil || !(l.Price.ID == s.analysisPrice() || l.Price.Recurring != nil && l.Price.Recurring.UsageType == stripe.PriceRecurringUsageTypeMetered) {
				continue
			}
			inv.MeteredQuantity += l.Quantity
			// The metered line's period is the usage the invoice bills.
			if !usagePeriodSet && l.Period != nil && l.Period.End > l.Period.Start {
				inv.PeriodStart, inv.PeriodEnd = time.Unix(l.Period.Start, 0).UTC(), time.Unix(l.Period.End, 0).UTC()
				usagePeriodSet = true
			}
		}
	}
	inv.EventAt, inv.UpdatedAt = created, now
	return s.store.saveInvoice(ctx, tx, inv, isNew)
}
