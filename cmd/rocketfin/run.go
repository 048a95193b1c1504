package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/billing"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/config"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/telemetry"
	"github.com/rocketfin/rocketfin/loadtest"
	"github.com/rocketfin/rocketfin/migrations"
)

const usage = `usage: rocketfin <command>

commands:
  serve          run the HTTP API and its background work (applies pending migrations first)
  migrate        apply pending database migrations and exit
  scoring-core   serve the scoring engine alone (POST /v1/evaluate), no database
  worker         the background work alone: Stripe usage reporting, webhook deliveries, the
                 monitoring sweep (serve runs it too unless ROCKETFIN_BACKGROUND_JOBS=false)
  billing setup  find or create the Stripe meter, product and metered price; print their ids
  loadtest       drive a running server with scoring calls; report latency, throughput
                 and pgbench on the same transaction (flags: loadtest -h)
  version        print the version and commit this binary was built from

Settings come from the environment; see README.md.`

// deps are what tests may replace; production uses the defaults.
type deps struct {
	clock     clock.Clock
	logOut    io.Writer
	onReady   func(addr string)
	pprofAddr string
	getenv    func(string) string
	// billingPass, when set, is told the outcome of each pass of the
	// usage-reporting worker (tests wait on it).
	billingPass func(billing.Pass, error)
}

type option func(*deps)

// run is the whole program: main only adds the process's signals,
// arguments, environment and output. End-to-end tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts ...option) error {
	d := deps{clock: clock.System{}, logOut: os.Stderr, pprofAddr: getenv("ROCKETFIN_PPROF_ADDR"), getenv: getenv}
	for _, o := range opts {
		o(&d)
	}
	if len(args) == 0 {
		fmt.Fprintln(stdout, usage)
		return errors.New("no command given")
	}
	if args[0] == "version" {
		printVersion(stdout)
		return nil
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(d.logOut, cfg.LogLevel)
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, log, stdout, d)
	case "migrate":
		return migrate(ctx, cfg, log, stdout)
	case "worker":
		return runWorker(ctx, cfg, log, d)
	case "billing":
		return runBilling(ctx, cfg, args[1:], stdout)
	case "scoring-core":
		return serveCore(ctx, cfg, log, stdout, d)
	case "loadtest":
		return runLoadtest(ctx, cfg, args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stdout, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// openDatabase connects and applies pending migrations, which it names.
func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (*gorm.DB, []string, error) {
	db, err := database.Open(ctx, database.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxOpenConns: cfg.DBMaxConns})
	if err != nil {
		return nil, nil, err
	}
	if err := telemetry.GORM(db); err != nil {
		_ = database.Close(db)
		return nil, nil, err
	}
	applied, err := migrations.Apply(ctx, db)
	if err != nil {
		_ = database.Close(db)
		return nil, nil, err
	}
	for _, name := range applied {
		log.Info("migration applied", "name", name)
	}
	return db, applied, nil
}

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	db, applied, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer database.Close(db)
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	}
	fmt.Fprintf(stdout, "applied %d migration(s): %s\n", len(applied), strings.Join(applied, ", "))
	return nil
}

func runLoadtest(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stdout)
	o := loadtest.Options{OperatorToken: cfg.OperatorToken, DatabaseURL: cfg.DatabaseURL, Currency: cfg.PriceCurrency}
	targets := fs.String("targets", "server=http://"+cfg.Addr, "the servers to call in turn, as name=URL,… (one replica alone, a balancer in front of several)")
	fs.IntVar(&o.Clients, "clients", 64, "concurrent clients of the full-speed phases")
	fs.IntVar(&o.PgbenchClients, "pgbench-clients", 16, "pgbench's connections (the best of 16, 32 and 64 on the development machine)")
	fs.IntVar(&o.Tenants, "tenants", 32, "tenants the many-tenant phases spread their calls over")
	fs.IntVar(&o.Rounds, "rounds", 3, "how many times every full-speed phase runs (the report shows the spread)")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each phase")
	fs.Float64Var(&o.Rate, "rate", 300, "requests a second of the paced live phase on the first target (0 skips it)")
	fs.IntVar(&o.PacedClients, "paced-clients", 16, "concurrent clients of the paced phase")
	fs.StringVar(&o.Pgbench, "pgbench", "pgbench", "pgbench binary (runs when DATABASE_URL is set)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range strings.Split(*targets, ",") {
		name, url, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || name == "" || !strings.HasPrefix(url, "http") {
			return fmt.Errorf("loadtest: -targets wants name=URL,…, got %q", *targets)
		}
		o.Targets = append(o.Targets, loadtest.Target{Name: name, URL: url})
	}
	if o.Clients < 1 || o.Tenants < 1 || o.Rounds < 1 || o.Duration < time.Second {
		return errors.New("loadtest: -clients, -tenants and -rounds must be at least 1 and -duration at least 1s")
	}
	return loadtest.Run(ctx, o, stdout)
}
