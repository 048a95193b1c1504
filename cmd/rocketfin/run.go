package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/config"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/migrations"
)

const usage = `usage: rocketfin <command>

commands:
  serve          run the HTTP API and its background work (applies pending migrations first)
  migrate        apply pending database migrations and exit
  scoring-core   serve the scoring engine alone (POST /v1/evaluate), no database

Settings come from the environment; see README.md.`

// deps are what tests may replace; production uses the defaults.
type deps struct {
	clock   clock.Clock
	logOut  io.Writer
	onReady func(addr string)
}

type option func(*deps)

// run is the whole program: main only adds the process's signals,
// arguments, environment and output. End-to-end tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts ...option) error {
	d := deps{clock: clock.System{}, logOut: os.Stderr}
	for _, o := range opts {
		o(&d)
	}
	if len(args) == 0 {
		fmt.Fprintln(stdout, usage)
		return errors.New("no command given")
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
	case "scoring-core":
		return serveCore(ctx, cfg, log, stdout, d)
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
