// Package config reads RocketFin's settings from the environment into one
// typed value, applies the documented defaults, validates them at start and
// prints them with secrets masked.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rocketfin/rocketfin/internal/secretbox"
	"github.com/rocketfin/rocketfin/internal/valid"
)

// Config is every setting of the service. Its zero value is not valid; use Load.
type Config struct {
	Addr            string
	DatabaseURL     string
	DataDir         string
	OperatorToken   string
	TLSCertFile     string
	TLSKeyFile      string
	LogLevel        string
	SignupPerHour   int
	KeyCacheTTL     time.Duration
	LastUsedFlush   time.Duration
	TrustedProxies  []string
	ShutdownTimeout time.Duration
	PublicURL       string
	DBMaxConns      int
	// ScoringURL is a remote scoring core (`rocketfin scoring-core`); empty runs it in-process.
	ScoringURL     string
	ScoringTimeout time.Duration
	// RateLimitStore is memory (per replica) or postgres (shared by replicas).
	RateLimitStore string
	// PriceAmount is what one metered live analysis costs, in minor units of PriceCurrency.
	PriceAmount   int64
	PriceCurrency string
	// Billing through Stripe (package billing); off while StripeSecretKey is empty.
	StripeSecretKey      string
	StripeAPIBase        string
	StripeWebhookSecret  string
	StripePriceID        string
	StripeMeterEventName string
	// StripeMonitoringPriceID and StripeMonitoringMeterEventName bill monitored company days.
	StripeMonitoringPriceID        string
	StripeMonitoringMeterEventName string
	// PricePerMonitoredDay is what one monitored company day costs a subscribed tenant (minor units).
	PricePerMonitoredDay int64
	// PastDueGrace is how long a tenant whose payment failed is still served.
	PastDueGrace time.Duration
	// BillingInterval is the pause between passes of the usage-reporting worker.
	BillingInterval time.Duration
	// BodyMemoryMB bounds, in MiB, the request bodies being read or held at once.
	BodyMemoryMB int64
	// MaxConns bounds the connections served at once; more wait in the listen queue.
	MaxConns int
	// AuthFailuresPerSecond is how many unknown, revoked or expired keys one client address may
	// present each second (burst 100) before its requests are refused with 429.
	AuthFailuresPerSecond float64
	// SandboxDailyCalls bounds each tenant's free sandbox calls a day (UTC), per process.
	SandboxDailyCalls int64
	// EmailVerification is required (live calls wait for the signup email to be verified) or
	// off (local development and test suites only).
	EmailVerification string
	// SMTPURL is where mail leaves (smtp:// or smtps://); empty writes links to the log.
	SMTPURL string
	// MailFrom is the sender of RocketFin's emails.
	MailFrom string
	// MetricsAddr serves /metrics on its own listener; empty serves it on the API listener to
	// loopback clients only.
	MetricsAddr string
	// SecretKey seals what is kept secret at rest (OAuth2 signing keys): 32 bytes in base64. Empty
	// keeps a generated one in DataDir.
	SecretKey string
	// OAuthTokenTTL is how long an OAuth2 access token lives.
	OAuthTokenTTL time.Duration
	// SigningKeyRotation is how long one key signs access tokens before the next takes over.
	SigningKeyRotation time.Duration
	// WebhooksAllowLoopback admits webhook endpoints on http://127.0.0.1 and http://localhost, for
	// development and test suites only.
	WebhooksAllowLoopback bool
	// JobRescueAfter hands a background job whose worker died to another after it.
	JobRescueAfter time.Duration
	// JobDBMaxConns bounds the PostgreSQL pool of background jobs (apart from the API's).
	JobDBMaxConns int
	// ChargeTransactions is how many charging transactions (each a group of calls) one process
	// runs at once.
	ChargeTransactions int
	// BackgroundJobs makes serve run the background work (Stripe reporting, webhook deliveries,
	// the monitoring sweep); false leaves it to `rocketfin worker` processes.
	BackgroundJobs bool
	// OIDCIssuer is the OpenID Provider people sign in to the console with; empty turns console
	// sign-in off. OIDCClientID and OIDCClientSecret are RocketFin's client at that provider.
	OIDCIssuer, OIDCClientID, OIDCClientSecret string
	// SessionIdleTimeout ends a console session unused that long; SessionMaxAge ends any that old.
	SessionIdleTimeout, SessionMaxAge time.Duration
}

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:                  or(getenv("ROCKETFIN_ADDR"), "127.0.0.1:8080"),
		DatabaseURL:           getenv("DATABASE_URL"),
		DataDir:               or(getenv("ROCKETFIN_DATA_DIR"), "./data"),
		OperatorToken:         getenv("ROCKETFIN_OPERATOR_TOKEN"),
		TLSCertFile:           getenv("TLS_CERT_FILE"),
		TLSKeyFile:            getenv("TLS_KEY_FILE"),
		LogLevel:              or(getenv("ROCKETFIN_LOG_LEVEL"), "info"),
		PublicURL:             getenv("ROCKETFIN_PUBLIC_URL"),
		SignupPerHour:         20,
		KeyCacheTTL:           500 * time.Millisecond,
		LastUsedFlush:         10 * time.Second,
		ShutdownTimeout:       20 * time.Second,
		DBMaxConns:            20,
		ScoringURL:            getenv("ROCKETFIN_SCORING_URL"),
		ScoringTimeout:        2 * time.Second,
		RateLimitStore:        or(getenv("ROCKETFIN_RATE_LIMIT_STORE"), "memory"),
		PriceAmount:           150,
		BodyMemoryMB:          32,
		MaxConns:              2048,
		AuthFailuresPerSecond: 10,
		SandboxDailyCalls:     10_000,
		PriceCurrency:         or(getenv("ROCKETFIN_PRICE_CURRENCY"), "EUR"),
		EmailVerification:     or(getenv("ROCKETFIN_EMAIL_VERIFICATION"), "required"),
		SMTPURL:               getenv("ROCKETFIN_SMTP_URL"),
		MetricsAddr:           getenv("ROCKETFIN_METRICS_ADDR"),
		MailFrom:              or(getenv("ROCKETFIN_MAIL_FROM"), "RocketFin <no-reply@localhost>"),
		SecretKey:             getenv("ROCKETFIN_SECRET_KEY"),
		OAuthTokenTTL:         15 * time.Minute,
		SigningKeyRotation:    30 * 24 * time.Hour,
		JobRescueAfter:        2 * time.Minute,
		JobDBMaxConns:         10,
		ChargeTransactions:    1,
		BackgroundJobs:        true,
		OIDCIssuer:            getenv("OIDC_ISSUER"),
		OIDCClientID:          getenv("OIDC_CLIENT_ID"),
		OIDCClientSecret:      getenv("OIDC_CLIENT_SECRET"),
		SessionIdleTimeout:    30 * time.Minute,
		SessionMaxAge:         12 * time.Hour,

		StripeSecretKey:                getenv("STRIPE_SECRET_KEY"),
		StripeAPIBase:                  or(getenv("STRIPE_API_BASE"), "https://api.stripe.com"),
		StripeWebhookSecret:            getenv("STRIPE_WEBHOOK_SECRET"),
		StripePriceID:                  getenv("STRIPE_PRICE_ID"),
		StripeMeterEventName:           or(getenv("STRIPE_METER_EVENT_NAME"), "rocketfin_analysis"),
		StripeMonitoringPriceID:        getenv("STRIPE_MONITORING_PRICE_ID"),
		StripeMonitoringMeterEventName: or(getenv("STRIPE_MONITORING_METER_EVENT_NAME"), "rocketfin_monitored_company_day"),
		PricePerMonitoredDay:           5,
		PastDueGrace:                   7 * 24 * time.Hour,
		BillingInterval:                5 * time.Second,
	}
	var errs []error
	if s := getenv("ROCKETFIN_SIGNUP_PER_HOUR"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("ROCKETFIN_SIGNUP_PER_HOUR: want a positive integer, got %q", s))
		}
		c.SignupPerHour = n
	}
	ints := []struct {
		name     string
		dst      *int64
		min, max int64
	}{
		{"ROCKETFIN_PRICE_PER_ANALYSIS", &c.PriceAmount, 0, 1_000_000},
		{"ROCKETFIN_PRICE_PER_MONITORED_DAY", &c.PricePerMonitoredDay, 0, 1_000_000},
		{"ROCKETFIN_BODY_MEMORY_MB", &c.BodyMemoryMB, 1, 4096},
		{"ROCKETFIN_SANDBOX_DAILY_CALLS", &c.SandboxDailyCalls, 1, 100_000_000},
	}
	for _, n := range ints {
		s := getenv(n.name)
		if s == "" {
			continue
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < n.min || v > n.max {
			errs = append(errs, fmt.Errorf("%s: want an integer from %d to %d, got %q", n.name, n.min, n.max, s))
			continue
		}
		*n.dst = v
	}
	if s := getenv("ROCKETFIN_AUTH_FAILURES_PER_SECOND"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v >= 0.01 && v <= 100_000) {
			errs = append(errs, fmt.Errorf("ROCKETFIN_AUTH_FAILURES_PER_SECOND: want a number from 0.01 to 100000, got %q", s))
		}
		c.AuthFailuresPerSecond = v
	}
	if s := getenv("ROCKETFIN_MAX_CONNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 16 || n > 1_000_000 {
			errs = append(errs, fmt.Errorf("ROCKETFIN_MAX_CONNS: want an integer from 16 to 1000000, got %q", s))
		}
		c.MaxConns = n
	}
	if s := getenv("ROCKETFIN_JOB_DB_MAX_CONNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 || n > 200 {
			errs = append(errs, fmt.Errorf("ROCKETFIN_JOB_DB_MAX_CONNS: want an integer from 2 to 200, got %q", s))
		}
		c.JobDBMaxConns = n
	}
	if s := getenv("ROCKETFIN_CHARGE_TRANSACTIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 64 {
			errs = append(errs, fmt.Errorf("ROCKETFIN_CHARGE_TRANSACTIONS: want an integer from 1 to 64, got %q", s))
		}
		c.ChargeTransactions = n
	}
	if s := getenv("ROCKETFIN_DB_MAX_CONNS"); s != "" {
		n, err := strconv.Atoi(s)
		// The two sandbox writers each keep a connection of their own; live calls need the rest.
		if err != nil || n < 4 || n > 500 {
			errs = append(errs, fmt.Errorf("ROCKETFIN_DB_MAX_CONNS: want an integer from 4 to 500 (two connections are the sandbox writers'), got %q", s))
		}
		c.DBMaxConns = n
	}
	durations := []struct {
		name string
		dst  *time.Duration
		max  time.Duration
	}{
		{"ROCKETFIN_KEY_CACHE_TTL", &c.KeyCacheTTL, time.Second},
		{"ROCKETFIN_LAST_USED_FLUSH", &c.LastUsedFlush, time.Hour},
		{"ROCKETFIN_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 5 * time.Minute},
		{"ROCKETFIN_SCORING_TIMEOUT", &c.ScoringTimeout, time.Minute},
		{"ROCKETFIN_PAST_DUE_GRACE", &c.PastDueGrace, 90 * 24 * time.Hour},
		{"ROCKETFIN_BILLING_INTERVAL", &c.BillingInterval, time.Hour},
		{"ROCKETFIN_OAUTH_TOKEN_TTL", &c.OAuthTokenTTL, 24 * time.Hour},
		{"ROCKETFIN_SIGNING_KEY_ROTATION", &c.SigningKeyRotation, 365 * 24 * time.Hour},
		{"ROCKETFIN_SESSION_IDLE_TIMEOUT", &c.SessionIdleTimeout, 7 * 24 * time.Hour},
		{"ROCKETFIN_SESSION_MAX_AGE", &c.SessionMaxAge, 30 * 24 * time.Hour},
		{"ROCKETFIN_JOB_RESCUE_AFTER", &c.JobRescueAfter, time.Hour},
	}
	for _, d := range durations {
		s := getenv(d.name)
		if s == "" {
			continue
		}
		v, err := time.ParseDuration(s)
		if err != nil || v <= 0 || v > d.max {
			errs = append(errs, fmt.Errorf("%s: want a duration above 0 and at most %s, got %q", d.name, d.max, s))
			continue
		}
		*d.dst = v
	}
	if s := getenv("ROCKETFIN_TRUSTED_PROXIES"); s != "" {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
		}
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("DATABASE_URL: want a postgres:// URL"))
		}
	}
	if c.SecretKey != "" {
		if _, err := secretbox.Parse(c.SecretKey); err != nil {
			errs = append(errs, err)
		}
	}
	if c.OAuthTokenTTL < time.Minute {
		errs = append(errs, errors.New("ROCKETFIN_OAUTH_TOKEN_TTL: want at least 1m"))
	}
	if c.OIDCIssuer != "" {
		if u, err := url.Parse(c.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("OIDC_ISSUER: want the provider's issuer URL (https://…), got %q", c.OIDCIssuer))
		}
		if c.OIDCClientID == "" || c.OIDCClientSecret == "" {
			errs = append(errs, errors.New("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (RocketFin's client at the provider)"))
		}
	}
	switch v := getenv("ROCKETFIN_BACKGROUND_JOBS"); v {
	case "", "true":
	case "false":
		c.BackgroundJobs = false
	default:
		errs = append(errs, fmt.Errorf("ROCKETFIN_BACKGROUND_JOBS: want true or false, got %q", v))
	}
	switch v := getenv("ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK"); v {
	case "", "false":
	case "true":
		c.WebhooksAllowLoopback = true
	default:
		errs = append(errs, fmt.Errorf("ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK: want true or false, got %q", v))
	}
	if c.JobRescueAfter < 30*time.Second {
		// A delivery attempt may take 25 s; a job is rescued only once it cannot still be running.
		errs = append(errs, errors.New("ROCKETFIN_JOB_RESCUE_AFTER: want at least 30s"))
	}
	if c.SigningKeyRotation < time.Hour {
		errs = append(errs, errors.New("ROCKETFIN_SIGNING_KEY_ROTATION: want at least 1h"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE and TLS_KEY_FILE must be set together"))
	}
	if c.OperatorToken != "" && len(c.OperatorToken) < 16 {
		errs = append(errs, errors.New("ROCKETFIN_OPERATOR_TOKEN: use at least 16 characters"))
	}
	switch c.RateLimitStore {
	case "memory":
	case "postgres":
		if c.DatabaseURL == "" {
			errs = append(errs, errors.New("ROCKETFIN_RATE_LIMIT_STORE=postgres needs DATABASE_URL"))
		}
	default:
		errs = append(errs, fmt.Errorf("ROCKETFIN_RATE_LIMIT_STORE: want memory or postgres, got %q", c.RateLimitStore))
	}
	if !valid.Currency(c.PriceCurrency) {
		errs = append(errs, fmt.Errorf("ROCKETFIN_PRICE_CURRENCY: want an ISO 4217 code such as EUR, got %q", c.PriceCurrency))
	}
	if c.StripeSecretKey != "" && !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
		errs = append(errs, errors.New("STRIPE_SECRET_KEY: want a Stripe secret key (sk_test_…, sk_live_… or rk_…)"))
	}
	if u, err := url.Parse(c.StripeAPIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("STRIPE_API_BASE: want an http(s) URL, got %q", c.StripeAPIBase))
	}
	if len(c.StripeMeterEventName) > 100 {
		errs = append(errs, errors.New("STRIPE_METER_EVENT_NAME: at most 100 characters"))
	}
	if c.ScoringURL != "" {
		if u, err := url.Parse(c.ScoringURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("ROCKETFIN_SCORING_URL: want an http(s) URL, got %q", c.ScoringURL))
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("ROCKETFIN_METRICS_ADDR: want host:port, got %q", c.MetricsAddr))
		}
	}
	if c.EmailVerification != "required" && c.EmailVerification != "off" {
		errs = append(errs, fmt.Errorf("ROCKETFIN_EMAIL_VERIFICATION: want required or off, got %q", c.EmailVerification))
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			errs = append(errs, errors.New("ROCKETFIN_SMTP_URL: want smtp://[user:password@]host[:port] or smtps://…"))
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		errs = append(errs, fmt.Errorf("ROCKETFIN_MAIL_FROM: want an email address such as \"RocketFin <no-reply@example.com>\", got %q", c.MailFrom))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("ROCKETFIN_LOG_LEVEL: want debug, info, warn or error, got %q", c.LogLevel))
	}
	return c, errors.Join(errs...)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Masked lists the settings for the start-up log, secrets hidden.
func (c Config) Masked() map[string]string {
	db := "embedded sqlite in " + c.DataDir
	if c.DatabaseURL != "" {
		db = maskURL(c.DatabaseURL)
	}
	return map[string]string{
		"addr":                               c.Addr,
		"database":                           db,
		"operator_api":                       onOff(c.OperatorToken != ""),
		"tls":                                onOff(c.TLSCertFile != ""),
		"signup_per_hour":                    strconv.Itoa(c.SignupPerHour),
		"key_cache_ttl":                      c.KeyCacheTTL.String(),
		"last_used_flush_interval":           c.LastUsedFlush.String(),
		"trusted_proxies":                    strings.Join(c.TrustedProxies, ","),
		"db_max_conns":                       strconv.Itoa(c.DBMaxConns),
		"scoring":                            or(c.ScoringURL, "in-process"),
		"scoring_timeout":                    c.ScoringTimeout.String(),
		"rate_limit_store":                   c.RateLimitStore,
		"price_per_analysis":                 strconv.FormatInt(c.PriceAmount, 10) + " " + c.PriceCurrency + " minor units",
		"stripe":                             stripeMode(c.StripeSecretKey),
		"stripe_api_base":                    c.StripeAPIBase,
		"stripe_webhook_secret":              onOff(c.StripeWebhookSecret != ""),
		"stripe_price_id":                    c.StripePriceID,
		"stripe_meter_event_name":            c.StripeMeterEventName,
		"stripe_monitoring_price_id":         c.StripeMonitoringPriceID,
		"stripe_monitoring_meter_event_name": c.StripeMonitoringMeterEventName,
		"price_per_monitored_day":            strconv.FormatInt(c.PricePerMonitoredDay, 10) + " " + c.PriceCurrency + " minor units",
		"past_due_grace":                     c.PastDueGrace.String(),
		"billing_interval":                   c.BillingInterval.String(),
		"body_memory":                        strconv.FormatInt(c.BodyMemoryMB, 10) + " MiB",
		"max_conns":                          strconv.Itoa(c.MaxConns),
		"auth_failures_per_second":           strconv.FormatFloat(c.AuthFailuresPerSecond, 'g', -1, 64),
		"sandbox_daily_calls":                strconv.FormatInt(c.SandboxDailyCalls, 10),
		"email_verification":                 c.EmailVerification,
		"smtp":                               or(maskURL(c.SMTPURL), "none (verification links go to the log)"),
		"mail_from":                          c.MailFrom,
		"metrics":                            or(c.MetricsAddr, "/metrics on the API listener, loopback clients only"),
		"secret_key":                         secretKeySource(c),
		"oauth_token_ttl":                    c.OAuthTokenTTL.String(),
		"signing_key_rotation":               c.SigningKeyRotation.String(),
		"webhooks_allow_loopback":            strconv.FormatBool(c.WebhooksAllowLoopback),
		"job_rescue_after":                   c.JobRescueAfter.String(),
		"oidc_issuer":                        or(c.OIDCIssuer, "none (console sign-in off)"),
		"oidc_client_id":                     c.OIDCClientID,
		"oidc_client_secret":                 onOff(c.OIDCClientSecret != ""),
		"session_idle_timeout":               c.SessionIdleTimeout.String(),
		"session_max_age":                    c.SessionMaxAge.String(),
	}
}

// stripeMode says whether billing is on, and on which kind of key, never the key.
func stripeMode(key string) string {
	switch {
	case key == "":
		return "off"
	case strings.Contains(key, "_live_"):
		return "on (live key)"
	default:
		return "on (test key)"
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func maskURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

func secretKeySource(c Config) string {
	if c.SecretKey != "" {
		return "set (ROCKETFIN_SECRET_KEY)"
	}
	return "generated file " + filepath.Join(c.DataDir, secretbox.KeyFile)
}
