package loadtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

type pgbenchResult struct {
	TPS       float64
	LatencyMS float64
}

var (
	tpsLine     = regexp.MustCompile(`tps = ([0-9.]+)`)
	latencyLine = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
)

// pgbenchScripts records the live call's transaction on the busy tenant (capped) and on the trial
// tenant, and writes the capped one for each of the many tenants: pgbench picks one of their
// scripts at random per transaction.
func pgbenchScripts(ctx context.Context, databaseURL string, many []tenant, busy, trial tenant) (perTenant []string, one, oneTrial string, err error) {
	script, err := LiveCallScript(ctx, databaseURL, busy.ID)
	if err != nil {
		return nil, "", "", err
	}
	trialScript, err := LiveCallScript(ctx, databaseURL, trial.ID)
	if err != nil {
		return nil, "", "", err
	}
	forTenant := func(script, id string) string { return strings.ReplaceAll(script, ":tenant", "'"+id+"'") }
	for _, t := range many {
		perTenant = append(perTenant, forTenant(script, t.ID))
	}
	return perTenant, forTenant(script, busy.ID), forTenant(trialScript, trial.ID), nil
}

// runPgbench runs scripts (pgbench picks one at random per transaction) with clients
// connections for the phase's duration, on the database the servers use.
func runPgbench(ctx context.Context, o Options, clients int, scripts []string) (pgbenchResult, error) {
	bin := o.Pgbench
	if bin == "" {
		bin = "pgbench"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return pgbenchResult{}, fmt.Errorf("pgbench not found (it comes with the postgresql-contrib or postgresql-client packages): %w", err)
	}
	dir, err := os.MkdirTemp("", "rocketfin-pgbench")
	if err != nil {
		return pgbenchResult{}, err
	}
	defer os.RemoveAll(dir)
	args := []string{"-n", "-M", "extended", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(o.Duration.Seconds()))}
	for i, script := range scripts {
		file := filepath.Join(dir, fmt.Sprintf("live-call-%d.sql", i))
		if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
			return pgbenchResult{}, err
		}
		args = append(args, "-f", file)
	}
	args = append(args, o.DatabaseURL)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return pgbenchResult{}, fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	var r pgbenchResult
	if m := tpsLine.FindSubmatch(out); m != nil {
		r.TPS, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := latencyLine.FindSubmatch(out); m != nil {
		r.LatencyMS, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if r.TPS == 0 {
		return r, fmt.Errorf("could not read pgbench's tps:\n%s", strings.TrimSpace(string(out)))
	}
	return r, nil
}
