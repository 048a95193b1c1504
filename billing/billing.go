// Package billing sells RocketFin through Stripe: it finds or creates the
// Billing Meter, product and metered price (`rocketfin billing setup`),
// starts a tenant's metered subscription (a Checkout Session, or the
// subscription directly when a payment method is on file), reports every
// metered usage event to Stripe exactly once from the outbox (a worker that
// claims rows with FOR UPDATE SKIP LOCKED and sends meter events whose
// identifier is the usage event id), applies Stripe's webhook events once
// each and in any order to drive the tenant lifecycle (trial → active →
// past_due → suspended → canceled), stores the invoices Stripe sends, and
// answers finance's reconciliation of local usage against Stripe.
package billing

import (
	"time"

	"github.com/rocketfin/rocketfin/metering"
)

// StripeAcceptsFor is how old a meter event Stripe still accepts: 35
// calendar days. Rows older than that, less a safety margin, are stale.
const StripeAcceptsFor = 35 * 24 * time.Hour

// staleMargin keeps a row that is about to age out from being sent and
// refused on the way.
const staleMargin = 10 * time.Minute

// DefaultPastDueGrace is how long a tenant whose payment failed is still
// served before it is suspended.
const DefaultPastDueGrace = 7 * 24 * time.Hour

// Account is a tenant's Stripe customer and what the webhooks said of its
// subscription and payments. Each *At field is the creation time of the
// Stripe event that set the value beside it.
type Account struct {
	TenantID           string `gorm:"primaryKey"`
	StripeCustomerID   string
	SubscriptionID     *string
	SubscriptionStatus *string
	SubscriptionAt     *time.Time
	PaymentFailedAt    *time.Time
	PaymentSucceededAt *time.Time
	// The open Checkout Session, reused until it expires.
	CheckoutSessionID *string
	CheckoutURL       *string
	CheckoutExpiresAt *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// TableName is the billing_accounts table.
func (Account) TableName() string { return "billing_accounts" }

// Invoice is a Stripe invoice of a tenant, as its webhooks described it.
type Invoice struct {
	ID               string `gorm:"primaryKey"`
	TenantID         string
	StripeInvoiceID  string
	SubscriptionID   *string
	Status           string
	PeriodStart      time.Time
	PeriodEnd        time.Time
	AmountDue        int64
	AmountPaid       int64
	Currency         string
	MeteredQuantity  int64
	HostedInvoiceURL *string
	EventAt          time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// invoicePrefix starts the ids RocketFin gives invoices (Stripe's own id is
// stripe_invoice_id).
const invoicePrefix = "inv_"

// meteredStates are the billing states of usage a subscription pays for,
// whether or not Stripe has it yet.
var meteredStates = []string{metering.StatePending, metering.StateReported, metering.StateStale, metering.StateFailed}
