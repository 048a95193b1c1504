// Command rocketfin is the RocketFin service: `serve` runs the HTTP API and
// its background work, `migrate` applies the database migrations.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rocketfin:", err)
		os.Exit(1)
	}
}
