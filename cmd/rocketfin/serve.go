package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"golang.org/x/net/netutil"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/collections"
	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/console"
	"github.com/rocketfin/rocketfin/docs"
	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/apiversion"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/config"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/jobs"
	"github.com/rocketfin/rocketfin/internal/mail"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/openapi"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/internal/runner"
	"github.com/rocketfin/rocketfin/internal/secretbox"
	"github.com/rocketfin/rocketfin/internal/telemetry"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/members"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/monitoring"
	"github.com/rocketfin/rocketfin/oauth"
	"github.com/rocketfin/rocketfin/sandbox"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoringhttp"
	"github.com/rocketfin/rocketfin/signin"
	"github.com/rocketfin/rocketfin/tenants"
	"github.com/rocketfin/rocketfin/webhooks"
)

// app is the wired service: what the router and the background work share.
type app struct {
	cfg      config.Config
	db       *gorm.DB
	log      *slog.Logger
	keys     *keys.Service
	tenants  *tenants.Service
	consents *consents.Service
	meter    *metering.Meter
	scores   *scores.Service
	clock    clock.Clock
	reg      *prometheus.Registry
	billing  *billingParts
	oauth    *oauth.Server
	// publicURL starts the links and examples RocketFin shows.
	publicURL string
	members   *members.Service
	// queue runs background jobs (webhook deliveries); webhooks holds endpoints and events.
	queue       *jobs.Queue
	workDB      *gorm.DB // the job pool (the API pool on SQLite)
	workers     *river.Workers
	webhooks    *webhooks.Service
	monitoring  *monitoring.Service
	collections *collections.Service
	signin      *signin.Service
	// buckets hold the rate limits: scoring calls and signups.
	buckets ratelimit.Limiter
}

// wire builds the services on db; publicURL starts the links RocketFin mails.
func wire(cfg config.Config, db *gorm.DB, log *slog.Logger, clk clock.Clock, publicURL string) (*app, error) {
	a := &app{cfg: cfg, db: db, log: log, clock: clk, reg: prometheus.NewRegistry(), publicURL: publicURL}
	a.keys = keys.NewService(db, clk, keys.Options{CacheTTL: cfg.KeyCacheTTL, Logger: log,
		Guard: keys.NewGuard(keys.GuardOptions{PerSecond: cfg.AuthFailuresPerSecond, Registry: a.reg})})
	sender, err := mail.New(mail.Config{URL: cfg.SMTPURL, From: cfg.MailFrom}, log)
	if err != nil {
		return nil, err
	}
	verification := tenants.Verification{Required: cfg.EmailVerification == "required", Mail: sender, LinkBase: publicURL, Log: log}
	if !verification.Required {
		log.Warn("ROCKETFIN_EMAIL_VERIFICATION=off: live calls do not wait for a verified signup email; use this for local development and test suites only")
	}
	a.tenants = tenants.NewService(db, a.keys, clk, verification)
	a.consents = consents.NewService(db, clk)
	a.meter = metering.NewMeter(db, money.Money{Amount: cfg.PriceAmount, Currency: cfg.PriceCurrency}, clk).
		WithMonitoringPrice(money.Money{Amount: cfg.PricePerMonitoredDay, Currency: cfg.PriceCurrency})
	models := &scoring.Library{} // every embedded model: the current one scores, the others replay
	var scorer scores.Scorer
	if cfg.ScoringURL != "" {
		scorer = scoringhttp.NewClient(cfg.ScoringURL, cfg.ScoringTimeout)
	} else {
		engine, err := models.Engine(scoring.ModelName)
		if err != nil {
			return nil, err
		}
		scorer = scores.Local{Engine: engine}
	}
	a.buckets = ratelimit.NewMemory()
	if cfg.RateLimitStore == "postgres" {
		a.buckets = ratelimit.NewPostgres(db)
	}
	a.scores = scores.New(scores.Options{
		DB: db, Clock: clk, Scorer: scorer, Limiter: a.buckets, Meter: a.meter,
		Consents: a.consents, Catalog: sandboxCatalog{}, Models: models, Logger: log,
		SandboxDailyCalls: int(cfg.SandboxDailyCalls), RequireVerifiedEmail: verification.Required, Accounts: a.tenants.Accounts(),
		Registerer: a.reg, GroupRunners: cfg.ChargeTransactions,
	})
	a.billing = wireBilling(cfg, db, log, clk, a.reg, publicURL)
	box, err := secretBox(cfg, log)
	if err != nil {
		return nil, err
	}
	a.oauth = oauth.NewServer(oauth.ServerOptions{DB: db, Clock: clk, Clients: oauth.NewClients(db, clk),
		Keyring: oauth.NewKeyring(db, box, clk, log, cfg.SigningKeyRotation, cfg.OAuthTokenTTL),
		Guard:   a.keys.Guard(), Issuer: publicURL, TokenTTL: cfg.OAuthTokenTTL})
	a.workers = river.NewWorkers()
	// Background jobs get a pool of their own on PostgreSQL (SQLite has one connection for all).
	a.workDB = db
	if cfg.DatabaseURL != "" {
		if a.workDB, err = database.Open(context.Background(), database.Options{URL: cfg.DatabaseURL, MaxOpenConns: cfg.JobDBMaxConns}); err != nil {
			return nil, fmt.Errorf("open the job pool: %w", err)
		}
	}
	jobWorkers := a.workers
	if !cfg.BackgroundJobs {
		jobWorkers = nil // this process inserts jobs; `rocketfin worker` processes work them
	}
	a.queue, err = jobs.Open(context.Background(), a.workDB, jobs.Options{ListenURL: cfg.DatabaseURL, Workers: jobWorkers,
		Queues: map[string]int{webhooks.Queue: 50, monitoring.Queue: 1}, Periodic: []*river.PeriodicJob{monitoring.Periodic()}, RescueAfter: cfg.JobRescueAfter, JobTimeout: min(time.Minute, cfg.JobRescueAfter), Logger: log})
	if err != nil {
		return nil, err
	}
	a.webhooks = webhooks.New(webhooks.Options{DB: db, WorkDB: a.workDB, Clock: clk, Box: box, Queue: a.queue, AllowLoopback: cfg.WebhooksAllowLoopback,
		Metrics: webhooks.NewMetrics(a.reg), Logger: log})
	a.webhooks.Register(a.workers)
	current, err := models.Engine(scoring.ModelName)
	if err != nil {
		return nil, err
	}
	var grades []string
	for _, g := range current.Grades() {
		grades = append(grades, g.Name)
	}
	a.monitoring = monitoring.New(monitoring.Options{DB: db, Clock: clk, Scores: a.scores, Webhooks: a.webhooks, Queue: a.queue,
		Grades: grades, Meter: a.meter, Logger: log})
	a.monitoring.Register(a.workers)
	a.collections = collections.New(a.scores, a.monitoring, clk, current.Card().Decision.DeclinePD)
	if cfg.WebhooksAllowLoopback {
		log.Warn("ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK=true: webhook endpoints may be http://127.0.0.1 and http://localhost; use this for local development and test suites only")
	}
	a.members = members.NewService(db, clk, sender, publicURL+signin.LoginPath, log)
	a.members.SignupOwnerNeedsVerifiedEmail = verification.Required
	a.signin = signin.New(signin.Options{DB: db, Clock: clk, Box: box, Members: a.members, Guard: a.keys.Guard(), Buckets: a.buckets, Logger: log,
		Config: signin.Config{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			PublicURL: publicURL, Secure: cfg.TLSCertFile != "" || strings.HasPrefix(publicURL, "https://"),
			IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge}})
	return a, nil
}

// closeJobs releases the job queue's connections (after its workers stopped).
func (a *app) closeJobs() {
	a.queue.Close()
	if a.workDB != a.db {
		_ = database.Close(a.workDB)
	}
}

// secretBox is the key that seals secrets at rest: ROCKETFIN_SECRET_KEY, or one generated into
// the data folder on first run.
func secretBox(cfg config.Config, log *slog.Logger) (*secretbox.Box, error) {
	if cfg.SecretKey != "" {
		return secretbox.Parse(cfg.SecretKey)
	}
	box, created, err := secretbox.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("ROCKETFIN_SECRET_KEY is not set and the data folder's key cannot be used: %w", err)
	}
	path := filepath.Join(cfg.DataDir, secretbox.KeyFile)
	if created {
		log.Info("generated the secret key that seals OAuth2 signing keys; keep it with the database", "file", path)
	}
	if cfg.DatabaseURL != "" {
		log.Warn("ROCKETFIN_SECRET_KEY is not set: using the data folder's key; every replica needs the same key, so set ROCKETFIN_SECRET_KEY in production", "file", path)
	}
	return box, nil
}

// sandboxCatalog adapts the sandbox package to the scores.
type sandboxCatalog struct{}

func (sandboxCatalog) Lookup(id string) (scoring.Request, bool) { return sandbox.Lookup(id) }
func (sandboxCatalog) EvaluationDate() time.Time                { return sandbox.EvaluationDate() }

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, d deps) error {
	log.Info("starting rocketfin", "config", cfg.Masked())
	tuneGC(d.getenv)
	stopTracing, err := telemetry.Setup(ctx, d.getenv, "rocketfin")
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }()
	db, _, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer database.Close(db)

	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// At most MaxConns connections at once: with the body budget, this bounds what a flood of
	// connections can make the process hold.
	ln = netutil.LimitListener(ln, cfg.MaxConns)
	scheme := "http"
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	base := fmt.Sprintf("%s://%s", scheme, ln.Addr())

	linkBase := strings.TrimRight(cfg.PublicURL, "/")
	if linkBase == "" {
		linkBase = base
	}
	a, err := wire(cfg, db, log, d.clock, linkBase)
	if err != nil {
		ln.Close()
		return err
	}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	router, err := a.router()
	if err != nil {
		ln.Close()
		return err
	}
	srv.Handler = router

	if addr := cfg.MetricsAddr; addr != "" {
		stop, err := a.serveMetrics(addr)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	work := runner.New(ctx, log)
	work.Go("key use and auth failure flusher", func(ctx context.Context) { a.keys.RunFlusher(ctx, cfg.LastUsedFlush) })
	work.Every("idempotency purge", time.Hour, a.purgeIdempotencyKeys)
	work.Every("sign-in purge", time.Hour, a.signin.PurgeLogins)
	if cfg.BackgroundJobs {
		work.Go("billing worker", func(ctx context.Context) { a.billing.run(ctx, d.billingPass) })
		work.Go("job queue", a.queue.Run)
	} else {
		log.Info("ROCKETFIN_BACKGROUND_JOBS=false: Stripe reporting, webhook deliveries and the monitoring sweep run in `rocketfin worker` processes")
	}
	defer a.closeJobs()

	if addr := d.pprofAddr; addr != "" {
		// Profiling stays off the public listener: its own address, loopback in practice.
		go func() {
			mux := http.NewServeMux()
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
			log.Info("pprof listening", "addr", addr)
			ps := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			if err := ps.ListenAndServe(); err != nil {
				log.Warn("pprof stopped", "error", err)
			}
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "url", base)
	printWelcome(stdout, base)
	if d.onReady != nil {
		d.onReady(base)
	}

	select {
	case err := <-serveErr:
		a.scores.Close()
		work.Stop()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	a.scores.Close()
	work.Stop()
	a.tenants.WaitForMail()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func printWelcome(w io.Writer, base string) {
	fmt.Fprintf(w, `RocketFin is listening on %[1]s

Sign up (the answer holds your sandbox and live API keys, shown once):

  curl -s -X POST %[1]s/v1/signup \
    -H 'Content-Type: application/json' \
    -d '{"company_name":"Acme SARL","email":"you@example.com","country":"FR"}'

Then call the API with a key:

  curl -s %[1]s/v1/tenant -H "Authorization: Bearer rf_test_..."

Sandbox keys (rf_test_) score the fictitious companies of GET /v1/sandbox/companies at once. Live
keys wait until the signup email is verified: follow the link mailed to it (without
ROCKETFIN_SMTP_URL, the link is in this server's log).

Or in a browser: sign up at %[1]s/signup; the console is %[1]s/console
(people sign in with the OpenID Provider of OIDC_ISSUER).

Guides and API reference: %[1]s/docs (the OpenAPI document: %[1]s/openapi.json)
`, base)
}

// serveMetrics serves /metrics on a listener of its own at addr; stop closes it.
func (a *app) serveMetrics(addr string) (stop func(), err error) {
	mln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.metrics())
	ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = ms.Serve(mln) }()
	a.log.Info("metrics listening", "url", "http://"+mln.Addr().String()+"/metrics")
	return func() { _ = ms.Close() }, nil
}

// metrics serves the Prometheus registry.
func (a *app) metrics() http.Handler {
	return promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})
}

func (a *app) router() (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	// A path with a trailing slash or another case is unknown (404 problem), not an HTML redirect.
	r.RedirectTrailingSlash, r.RedirectFixedPath = false, false
	if err := r.SetTrustedProxies(a.cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("ROCKETFIN_TRUSTED_PROXIES: %w", err)
	}
	r.Use(telemetry.Gin(), httpx.Observe(a.log, httpx.NewMetrics(a.reg)), httpx.SecurityHeaders(a.cfg.TLSCertFile != ""), apiversion.Requested,
		httpx.NewBodies(a.cfg.BodyMemoryMB<<20).Middleware())
	r.NoRoute(httpx.NotFoundHandler)
	r.NoMethod(httpx.MethodNotAllowedHandler)

	healthy := func(c *gin.Context) { httpx.JSON(c, http.StatusOK, gin.H{"status": "ok"}) }
	r.GET("/healthz", healthy)
	r.HEAD("/healthz", healthy)
	r.GET("/readyz", a.handleReady)
	r.HEAD("/readyz", a.handleReady)
	r.GET("/openapi.json", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json", openapi.Document)
	})
	if a.cfg.MetricsAddr == "" {
		// Without a listener of their own, metrics are for this machine only.
		r.GET("/metrics", httpx.LoopbackOnly, gin.WrapH(a.metrics()))
	}

	routes := httpx.Routes{Root: r, Public: r.Group("/v1", httpx.JSONBodies),
		Authed: r.Group("/v1", httpx.JSONBodies, keys.Middleware(a.keys, keys.Others{Tokens: a.oauth, Sessions: a.signin}),
			access.Require(func(c *gin.Context) access.Set { return keys.PrincipalOf(c).Scopes }), apiversion.Pinned(a.tenants.PinnedVersion))}
	if a.cfg.OperatorToken != "" {
		routes.Operator = r.Group("/admin/v1", httpx.JSONBodies, tenants.OperatorAuth(a.cfg.OperatorToken))
	}
	tenantsHTTP := tenants.NewHTTP(a.tenants, a.cfg.SignupPerHour, a.buckets, a.cfg.PriceCurrency)
	tenantsHTTP.Routes(routes)
	a.keys.Routes(routes)
	a.consents.Routes(routes)
	a.meter.Routes(routes)
	a.scores.Routes(routes)
	sandbox.Routes(routes)
	audit.Routes(routes, a.db, func(c *gin.Context) (string, string) {
		p := keys.PrincipalOf(c)
		return p.TenantID, string(p.Environment)
	})
	a.billing.routes(routes)
	a.oauth.Routes(routes)
	a.members.Routes(routes)
	a.webhooks.Routes(routes)
	a.monitoring.Routes(routes, sandbox.EvaluationDate)
	a.collections.Routes(routes)
	a.signin.Routes(routes)
	pages, err := console.New(console.Deps{Signin: a.signin, Tenants: a.tenants, Signup: tenantsHTTP, Keys: a.keys,
		Clients: a.oauth.Clients(), Scores: a.scores, Meter: a.meter, Consents: a.consents, Members: a.members, Billing: a.billing.svc, Monitoring: a.monitoring, Webhooks: a.webhooks, DB: a.db, Clock: a.clock, PublicURL: a.publicURL, RequireVerifiedEmail: a.cfg.EmailVerification == "required"})
	if err != nil {
		return nil, err
	}
	pages.Routes(routes)
	site, err := docs.New(openapi.Document)
	if err != nil {
		return nil, err
	}
	site.Routes(routes)
	return r, nil
}

func (a *app) handleReady(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := database.Ping(ctx, a.db); err != nil {
		httpx.Logger(c).Warn("not ready", "error", err.Error())
		httpx.JSON(c, http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": "down"})
		return
	}
	httpx.JSON(c, http.StatusOK, gin.H{"status": "ok", "database": "up"})
}

// purgeIdempotencyKeys deletes expired idempotent answers.
func (a *app) purgeIdempotencyKeys(ctx context.Context) error {
	n, err := a.scores.PurgeIdempotencyKeys(ctx)
	if n > 0 {
		a.log.Info("purged expired idempotency keys", "count", n)
	}
	return err
}

// tuneGC trades memory the service has to spare for CPU: a request makes
// short-lived garbage, and the default GOGC=100 collects it too often. The
// soft memory limit keeps the heap well under the 150 MB budget; GOGC and
// GOMEMLIMIT in the environment win as usual.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(100 << 20)
	}
}
