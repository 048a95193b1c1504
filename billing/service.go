package billing

import (
	"context"
	"log/slog"
	"strings"
	"sync"
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
	// Setup, when PriceID is empty and Stripe is on, says what the first subscription finds or
	// creates in Stripe (as `rocketfin billing setup` does): billing then works with the Stripe
	// key alone.
	Setup *SetupOptions
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
	setup         *SetupOptions
	// pricesMu guards priceID and monitoringID, which the first subscription may find or create.
	pricesMu sync.Mutex
}

// NewService returns the billing service.
func NewService(o Options) *Service {
	s := &Service{db: o.DB, store: NewStore(o.DB), stripe: o.Stripe, clock: o.Clock, log: o.Logger,
		priceID: o.PriceID, monitoringID: o.MonitoringPriceID, webhookSecret: o.WebhookSecret, grace: o.PastDueGrace, publicURL: o.PublicURL,
		setup: o.Setup}
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

// prices are the metered prices subscriptions are made of (analyses, and monitored company days or
// ""): the configured ones, or, with Setup and no STRIPE_PRICE_ID, the ones setup finds or creates
// in Stripe on first use.
func (s *Service) prices(ctx context.Context) (analysis, monitoring string, err error) {
	s.pricesMu.Lock()
	defer s.pricesMu.Unlock()
	if s.priceID != "" || s.setup == nil || s.stripe == nil {
		return s.priceID, s.monitoringID, nil
	}
	res, err := Setup(ctx, s.stripe, *s.setup)
	if err != nil {
		return "", "", stripeProblem(err, "find or create the Stripe meter, product and price")
	}
	s.priceID = res.PriceID
	if s.monitoringID == "" {
		s.monitoringID = res.MonitoringPriceID
	}
	s.log.Info("Stripe prices found or created (set STRIPE_PRICE_ID and STRIPE_MONITORING_PRICE_ID to name them)",
		"price", res.PriceID, "monitoring_price", res.MonitoringPriceID, "created", strings.Join(res.Created, ", "))
	return s.priceID, s.monitoringID, nil
}

// configured reports whether subscriptions can be made: Stripe on, and a price named or to find.
func (s *Service) configured() bool {
	s.pricesMu.Lock()
	defer s.pricesMu.Unlock()
	return s.stripe != nil && (s.priceID != "" || s.setup != nil)
}

// analysisPrice is the analyses' price as known now ("" before the first subscription finds it).
func (s *Service) analysisPrice() string {
	s.pricesMu.Lock()
	defer s.pricesMu.Unlock()
	return s.priceID
}
