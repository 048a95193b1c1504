// Command fitmodel fits RocketFin's statement model on the UCI Polish bankruptcy file and writes
// the model file that the scoring package embeds. Run from the repository root:
//
//	go run ./cmd/fitmodel            # refit and write scoring/model/<version>.json
//	go run ./cmd/fitmodel -report    # also print the Markdown report of scoring/README.md
//
// The same rows and configuration always give the same bytes.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rocketfin/rocketfin/scoring"
	"github.com/rocketfin/rocketfin/scoring/fit"
	"github.com/rocketfin/rocketfin/scoring/polish"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fitmodel:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fitmodel", flag.ContinueOnError)
	data := fs.String("data", filepath.FromSlash(polish.File), "the 1year.arff file")
	out := fs.String("out", filepath.Join("scoring", "model", scoring.ModelName+".json"), "model file to write")
	report := fs.Bool("report", false, "print the Markdown report (cross-validation, baselines, calibration)")
	asOf := fs.String("asof", "2026-01-01", "evaluation date of the engine check in the report")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := polish.ReadFile(*data)
	if err != nil {
		return err
	}
	reqs, y := d.Requests(), d.Labels()
	m, err := fit.Build(reqs, y, fit.DefaultConfig)
	if err != nil {
		return err
	}
	b, err := fit.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	fmt.Fprintf(os.Stderr, "fitmodel: wrote %s (%d bytes)\n", *out, len(b))
	if !*report {
		return nil
	}
	t, err := time.Parse("2006-01-02", *asOf)
	if err != nil {
		return fmt.Errorf("parse -asof: %w", err)
	}
	return fit.Report(stdout, reqs, y, fit.DefaultConfig, t)
}
