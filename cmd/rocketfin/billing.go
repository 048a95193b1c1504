package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stripe/stripe-go/v76/client"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/config"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/runner"
	"github.com/rocketfin/rocketfin/internal/telemetry"
)

// billingParts is billing wired into the program: the service behind the
// routes, and the usage-reporting worker while Stripe is configured.
type billingParts struct {
	svc      *billing.Service
	http     *billing.HTTP
	worker   *billing.Worker
	interval time.Duration
}

func stripeClient(cfg config.Config) *client.API {
	if cfg.StripeSecretKey == "" {
		return nil
	}
	// No retries inside stripe-go: the worker retries with backoff, and a
	// subscription request is retried by its caller with an Idempotency-Key.
	return billing.NewStripeClient(billing.StripeOptions{
		SecretKey: cfg.StripeSecretKey, APIBase: cfg.StripeAPIBase,
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	})
}

// wireBilling builds billing on db; reg receives the worker's metrics; publicURL is where Stripe
// Checkout sends the customer back.
func wireBilling(cfg config.Config, db *gorm.DB, log *slog.Logger, clk clock.Clock, reg prometheus.Registerer, publicURL string) *billingParts {
	api := stripeClient(cfg)
	setup := setupOptions(cfg)
	svc := billing.NewService(billing.Options{
		DB: db, Stripe: api, Clock: clk, Logger: log, PriceID: cfg.StripePriceID, MonitoringPriceID: cfg.StripeMonitoringPriceID,
		WebhookSecret: cfg.StripeWebhookSecret, PastDueGrace: cfg.PastDueGrace, PublicURL: publicURL, Setup: &setup,
	})
	b := &billingParts{svc: svc, http: billing.NewHTTP(svc), interval: cfg.BillingInterval}
	if api != nil {
		b.worker = billing.NewWorker(billing.WorkerOptions{
			DB: db, Stripe: api, Clock: clk, Logger: log, EventName: cfg.StripeMeterEventName,
			MonitoringEventName: cfg.StripeMonitoringMeterEventName,
			PastDueGrace:        cfg.PastDueGrace, Registerer: reg,
		})
	}
	return b
}

// register mounts the webhook on the public group and the tenant's
// billing routes on the authenticated one.
func (b *billingParts) routes(r httpx.Routes) { b.http.Routes(r) }

// run reports usage to Stripe until ctx ends (nothing while Stripe is
// off); after, when set, is told each pass's outcome.
func (b *billingParts) run(ctx context.Context, after func(billing.Pass, error)) {
	if b.worker != nil {
		b.worker.Run(ctx, b.interval, after)
	}
}

// runWorker is `rocketfin worker`: the background work alone (Stripe usage reporting when Stripe
// is configured, webhook deliveries, the monitoring sweep), for running it apart from the API
// replicas (which then set ROCKETFIN_BACKGROUND_JOBS=false). Its metrics are served on
// ROCKETFIN_METRICS_ADDR when set.
func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger, d deps) error {
	log.Info("starting the worker", "config", cfg.Masked())
	stopTracing, err := telemetry.Setup(ctx, d.getenv, "rocketfin-worker")
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }()
	db, _, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer database.Close(db)
	cfg.BackgroundJobs = true
	a, err := wire(cfg, db, log, d.clock, strings.TrimRight(cfg.PublicURL, "/"))
	if err != nil {
		return err
	}
	defer a.closeJobs()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if addr := cfg.MetricsAddr; addr != "" {
		stop, err := a.serveMetrics(addr)
		if err != nil {
			return err
		}
		defer stop()
	}
	work := runner.New(ctx, log)
	if a.billing.worker != nil {
		work.Go("billing worker", func(ctx context.Context) { a.billing.run(ctx, d.billingPass) })
	} else {
		log.Info("STRIPE_SECRET_KEY is not set: no usage is reported to Stripe")
	}
	work.Go("job queue", a.queue.Run)
	<-ctx.Done()
	work.Stop()
	log.Info("worker stopped")
	return nil
}

// setupOptions are what RocketFin sells, as the settings say: what `billing setup` (or the first
// subscription, without STRIPE_PRICE_ID) finds or creates in Stripe.
func setupOptions(cfg config.Config) billing.SetupOptions {
	return billing.SetupOptions{
		EventName: cfg.StripeMeterEventName, UnitAmount: cfg.PriceAmount, Currency: cfg.PriceCurrency,
		MonitoringEventName: cfg.StripeMonitoringMeterEventName, MonitoringUnitAmount: cfg.PricePerMonitoredDay,
	}
}

// runBilling is `rocketfin billing <subcommand>`.
func runBilling(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if !slices.Equal(args, []string{"setup"}) {
		return errors.New("usage: rocketfin billing setup")
	}
	api := stripeClient(cfg)
	if api == nil {
		return errors.New("billing setup: set STRIPE_SECRET_KEY (a test key, sk_test_…, to try it)")
	}
	res, err := billing.Setup(ctx, api, setupOptions(cfg))
	if err != nil {
		return fmt.Errorf("billing setup: %w", err)
	}
	state := func(kind string) string {
		if slices.Contains(res.Created, kind) {
			return "created"
		}
		return "found"
	}
	fmt.Fprintf(stdout, "meter    %s (%s; event name %s)\n", res.MeterID, state("meter"), cfg.StripeMeterEventName)
	fmt.Fprintf(stdout, "product  %s (%s)\n", res.ProductID, state("product"))
	fmt.Fprintf(stdout, "price    %s (%s; %d %s minor units per analysis, monthly, metered)\n", res.PriceID, state("price"), cfg.PriceAmount, cfg.PriceCurrency)
	fmt.Fprintf(stdout, "meter    %s (%s; event name %s)\n", res.MonitoringMeterID, state("monitoring meter"), cfg.StripeMonitoringMeterEventName)
	fmt.Fprintf(stdout, "product  %s (%s)\n", res.MonitoringProductID, state("monitoring product"))
	fmt.Fprintf(stdout, "price    %s (%s; %d %s minor units per monitored company day, monthly, metered)\n", res.MonitoringPriceID,
		state("monitoring price"), cfg.PricePerMonitoredDay, cfg.PriceCurrency)
	fmt.Fprintf(stdout, "\nAdd to RocketFin's configuration:\n\nSTRIPE_PRICE_ID=%s\nSTRIPE_METER_EVENT_NAME=%s\nSTRIPE_MONITORING_PRICE_ID=%s\nSTRIPE_MONITORING_METER_EVENT_NAME=%s\n",
		res.PriceID, cfg.StripeMeterEventName, res.MonitoringPriceID, cfg.StripeMonitoringMeterEventName)
	return nil
}
