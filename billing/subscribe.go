package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/tenants"
)

// SubscribeInput is the body of POST /v1/billing/subscription; both URLs
// default to pages under ROCKETFIN_PUBLIC_URL.
type SubscribeInput struct {
	SuccessURL string `json:"success_url"`
	CancelURL  string `json:"cancel_url"`
}

// Validate checks the input.
func (in SubscribeInput) Validate() error {
	var fields []problem.FieldError
	for _, f := range []struct{ name, v string }{{"success_url", in.SuccessURL}, {"cancel_url", in.CancelURL}} {
		if f.v == "" {
			continue
		}
		if u, err := url.Parse(f.v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(f.v) > 2000 {
			fields = append(fields, problem.FieldError{Field: f.name, Message: "must be an absolute http(s) URL"})
		}
	}
	if len(fields) > 0 {
		return problem.Fields(fields)
	}
	return nil
}

// Subscription is the answer to POST /v1/billing/subscription: where to
// pay (mode checkout), or the subscription Stripe made (mode subscription).
// The tenant's status changes when Stripe's webhooks say so.
type Subscription struct {
	Object             string `json:"object"`
	Mode               string `json:"mode"`
	CustomerID         string `json:"customer_id"`
	CheckoutSessionID  string `json:"checkout_session_id,omitempty"`
	CheckoutURL        string `json:"checkout_url,omitempty"`
	SubscriptionID     string `json:"subscription_id,omitempty"`
	SubscriptionStatus string `json:"subscription_status,omitempty"`
	TenantStatus       string `json:"tenant_status"`
}

// Subscribe starts the metered subscription of the caller's tenant:
// creates its Stripe customer if needed, then either the subscription
// itself (a default payment method is on file) or a Checkout Session in
// subscription mode. idempotencyKey, when given, makes a retried request
// reuse Stripe's first answer.
func (s *Service) Subscribe(ctx context.Context, p keys.Principal, in SubscribeInput, idempotencyKey string) (Subscription, error) {
	if p.Environment != keys.Live {
		return Subscription{}, problem.New(problem.Forbidden, "a subscription is started with a live key")
	}
	if err := in.Validate(); err != nil {
		return Subscription{}, err
	}
	if err := idempotency.ValidKey(idempotencyKey); err != nil {
		return Subscription{}, err
	}
	if !s.configured() {
		return Subscription{}, problem.New(problem.Conflict, "billing is not configured on this server (STRIPE_SECRET_KEY)")
	}
	price, monitoringPrice, err := s.prices(ctx)
	if err != nil {
		return Subscription{}, err
	}
	success, cancel := in.SuccessURL, in.CancelURL
	if base := strings.TrimRight(s.publicURL, "/"); base != "" {
		if success == "" {
			success = base + "/console/billing?done=subscribed"
		}
		if cancel == "" {
			cancel = base + "/console/billing?done=checkout_canceled"
		}
	}

	t, err := tenants.NewStore(s.db).Get(ctx, p.TenantID)
	if err != nil {
		return Subscription{}, err
	}
	acct, err := s.store.Account(ctx, s.db, t.ID)
	if err != nil && !errors.Is(err, errNoAccount) {
		return Subscription{}, err
	}
	if err == nil && acct.SubscriptionStatus != nil && *acct.SubscriptionStatus != string(stripe.SubscriptionStatusCanceled) &&
		*acct.SubscriptionStatus != string(stripe.SubscriptionStatusIncompleteExpired) && *acct.SubscriptionStatus != string(stripe.SubscriptionStatusIncomplete) {
		return Subscription{}, problem.New(problem.Conflict, "the tenant already has a %s subscription", *acct.SubscriptionStatus)
	}
	if errors.Is(err, errNoAccount) {
		if acct, err = s.createCustomer(ctx, t); err != nil {
			return Subscription{}, err
		}
	}
	out := Subscription{Object: "billing_subscription", CustomerID: acct.StripeCustomerID, TenantStatus: string(t.Status)}
	now := s.clock.Now()
	// One subscription per customer: every subscription on the meter would
	// bill the same usage. While a Checkout Session is open, or a direct
	// subscription is still being paid, subscribing again returns that one.
	// A session is still open if it has not expired and no subscription
	// event came after it was opened (sessions live 24 hours).
	open := acct.CheckoutSessionID != nil && acct.CheckoutURL != nil && acct.CheckoutExpiresAt != nil &&
		now.Before(*acct.CheckoutExpiresAt) &&
		(acct.SubscriptionAt == nil || acct.SubscriptionAt.Before(acct.CheckoutExpiresAt.Add(-24*time.Hour)))
	if open {
		out.Mode, out.CheckoutSessionID, out.CheckoutURL = "checkout", *acct.CheckoutSessionID, *acct.CheckoutURL
		return out, nil
	}
	if acct.SubscriptionStatus != nil && *acct.SubscriptionStatus == string(stripe.SubscriptionStatusIncomplete) &&
		acct.SubscriptionAt != nil && now.Sub(*acct.SubscriptionAt) < 23*time.Hour {
		return Subscription{}, problem.New(problem.Conflict, "subscription %s is waiting for its first payment; complete it or wait for it to expire", deref(acct.SubscriptionID))
	}

	cp := &stripe.CustomerParams{}
	cp.Context = ctx
	cus, err := s.stripe.Customers.Get(acct.StripeCustomerID, cp)
	if err != nil {
		return Subscription{}, stripeProblem(err, fmt.Sprintf("read Stripe customer of %s", t.ID))
	}
	key := func(kind string) *string {
		if idempotencyKey == "" {
			return nil
		}
		// Stripe takes keys of at most 255 characters: the caller's key, which may be that
		// long itself, is sent as its digest.
		sum := sha256.Sum256([]byte(idempotencyKey))
		return stripe.String("rocketfin-" + kind + "-" + t.ID + "-" + hex.EncodeToString(sum[:]))
	}
	if cus.InvoiceSettings != nil && cus.InvoiceSettings.DefaultPaymentMethod != nil && cus.InvoiceSettings.DefaultPaymentMethod.ID != "" {
		sp := &stripe.SubscriptionParams{
			Customer:        stripe.String(acct.StripeCustomerID),
			Items:           subscriptionItems(price, monitoringPrice),
			PaymentBehavior: stripe.String("allow_incomplete"),
		}
		sp.AddMetadata("tenant_id", t.ID)
		sp.Context, sp.IdempotencyKey = ctx, key("subscription")
		sub, err := s.stripe.Subscriptions.New(sp)
		if err != nil {
			return Subscription{}, stripeProblem(err, fmt.Sprintf("create Stripe subscription of %s", t.ID))
		}
		out.Mode, out.SubscriptionID, out.SubscriptionStatus = "subscription", sub.ID, string(sub.Status)
		return out, nil
	}
	if success == "" || cancel == "" {
		return Subscription{}, problem.Field("success_url", "is required when ROCKETFIN_PUBLIC_URL is not set (with cancel_url)")
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		Customer:          stripe.String(acct.StripeCustomerID),
		ClientReferenceID: stripe.String(t.ID),
		LineItems:         checkoutItems(price, monitoringPrice),
		SuccessURL:        stripe.String(success),
		CancelURL:         stripe.String(cancel),
		SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: map[string]string{"tenant_id": t.ID}},
	}
	params.Context, params.IdempotencyKey = ctx, key("checkout")
	cs, err := s.stripe.CheckoutSessions.New(params)
	if err != nil {
		return Subscription{}, stripeProblem(err, fmt.Sprintf("create Stripe Checkout Session of %s", t.ID))
	}
	out.Mode, out.CheckoutSessionID, out.CheckoutURL = "checkout", cs.ID, cs.URL
	expires := now.Add(24 * time.Hour)
	if cs.ExpiresAt > 0 && time.Unix(cs.ExpiresAt, 0).After(now) {
		expires = time.Unix(cs.ExpiresAt, 0).UTC()
	}
	err = s.db.WithContext(ctx).Model(&Account{}).Where("tenant_id = ?", t.ID).
		Updates(map[string]any{"checkout_session_id": cs.ID, "checkout_url": cs.URL, "checkout_expires_at": expires, "updated_at": now}).Error
	if err != nil {
		return Subscription{}, fmt.Errorf("record Checkout Session of %s: %w", t.ID, err)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// createCustomer makes the tenant's Stripe customer and records it. The
// idempotency key makes two racing requests get one customer from Stripe.
func (s *Service) createCustomer(ctx context.Context, t tenants.Tenant) (Account, error) {
	params := &stripe.CustomerParams{Name: stripe.String(t.Name), Email: stripe.String(t.SignupEmailLower)}
	params.AddMetadata("tenant_id", t.ID)
	params.Context, params.IdempotencyKey = ctx, stripe.String("rocketfin-customer-"+t.ID)
	cus, err := s.stripe.Customers.New(params)
	if err != nil {
		return Account{}, fmt.Errorf("create Stripe customer of %s: %w", t.ID, err)
	}
	now := s.clock.Now()
	return s.store.InsertAccount(ctx, Account{TenantID: t.ID, StripeCustomerID: cus.ID, CreatedAt: now, UpdatedAt: now})
}

// stripeProblem shows Stripe's refusal of what the caller asked (a 4xx) as
// the caller's problem; anything else stays an internal error.
func stripeProblem(err error, what string) error {
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode < 400 || se.HTTPStatusCode >= 500 {
		return fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case se.Type == stripe.ErrorTypeIdempotency:
		return problem.New(problem.IdempotencyConflict, "this Idempotency-Key was used with another request: %s", se.Msg)
	case se.HTTPStatusCode == 429:
		e := problem.New(problem.RateLimited, "Stripe is limiting requests; retry shortly")
		e.RetryAfter = 2
		return e
	case se.Param != "":
		return problem.Field(se.Param, "refused by Stripe: %s", se.Msg)
	default:
		return problem.New(problem.Invalid, "refused by Stripe: %s", se.Msg)
	}
}

// subscriptionItems are the metered prices a subscription is made of: analyses, and monitored
// company days when their price is known.
func subscriptionItems(price, monitoringPrice string) []*stripe.SubscriptionItemsParams {
	items := []*stripe.SubscriptionItemsParams{{Price: stripe.String(price)}}
	if monitoringPrice != "" {
		items = append(items, &stripe.SubscriptionItemsParams{Price: stripe.String(monitoringPrice)})
	}
	return items
}

// checkoutItems are subscriptionItems for a Checkout session.
func checkoutItems(price, monitoringPrice string) []*stripe.CheckoutSessionLineItemParams {
	items := []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price)}}
	if monitoringPrice != "" {
		items = append(items, &stripe.CheckoutSessionLineItemParams{Price: stripe.String(monitoringPrice)})
	}
	return items
}
