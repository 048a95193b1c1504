package billing

import (
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v76/client"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
)

// Options configure the billing service.
type Options struct {
	DB *gorm.DB
	// Stripe is nil when billing is off (no STRIPE_SECRET_KEY): local
	// invoices and reconciliation still answer, subscribing does not.
	Stripe *client.API
	Clock  clock.Clock
	Logger *slog.Logger
	// PriceID is the metered price subscriptions are made of (STRIPE_PRICE_ID).
	PriceID string
	// MonitoringPriceID is the metered price of monitored company days (STRIPE_MONITORING_PRICE_ID);
	// empty leaves monitoring unbilled in Stripe (its days are still counted as usage).
	MonitoringPriceID string
	// WebhookSecret verifies webhook signatures (STRIPE_WEBHOOK_SECRET);
	// empty refuses every webhook.
	WebhookSecret string
	// PastDueGrace is how long a past_due tenant is still served.
	PastDueGrace time.Duration
	// PublicURL is where Checkout sends the customer back (ROCKETFIN_PUBLIC_URL).
	PublicURL string
}

// Service holds the rules of billing.
type Service struct {
	db            *gorm.DB
	store         *Store
	stripe        *client.API
	clock         clock.Clock
	log           *slog.Logger
	priceID       string
	monitoringID  string
	webhookSecret string
	grace         time.Duration
	publicURL     string
}

// NewService returns the billing service.
func NewService(o Options) *Service {
	s := &Service{db: o.DB, store: NewStore(o.DB), stripe: o.Stripe, clock: o.Clock, log: o.Logger,
		priceID: o.PriceID, monitoringID: o.MonitoringPriceID, webhookSecret: o.WebhookSecret, grace: o.PastDueGrace, publicURL: o.PublicURL}
	if s.clock == nil {
		s.clock = clock.System{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.grace <= 0 {
		s.grace = DefaultPastDueGrace
	}
	return s
}
