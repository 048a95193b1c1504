package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rocketfin/rocketfin/internal/config"
	"github.com/rocketfin/rocketfin/internal/telemetry"
	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoringhttp"
)

// serveCore runs `rocketfin scoring-core`: the engine alone, no database.
func serveCore(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer, d deps) error {
	engine, err := scoring.New()
	if err != nil {
		return err
	}
	stopTracing, err := telemetry.Setup(ctx, d.getenv, "rocketfin-scoring-core")
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := &http.Server{
		Handler:           telemetry.Handler(scoringhttp.Handler(engine, log, reg), "scoring-core"),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("scoring core listening", "url", base, "model_version", engine.Version())
	fmt.Fprintf(stdout, "RocketFin scoring core (model %s) is listening on %s\nPOST %s/v1/evaluate with the body of POST /v1/scores\n", engine.Version(), base, base)
	if d.onReady != nil {
		d.onReady(base)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve scoring core: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown scoring core: %w", err)
	}
	return nil
}
