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

// runPgbench runs script, the live call's transaction (LiveCallScript), with the same
// concurrency and duration, on the database the server uses, for the test tenant.
func runPgbench(ctx context.Context, o Options, clients int, tenantID, script string) (pgbenchResult, error) {
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
	file := filepath.Join(dir, "live-call.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		return pgbenchResult{}, err
	}
	args := []string{"-n", "-M", "extended", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(o.Duration.Seconds())),
		"-D", "tenant=" + tenantID, "-f", file, o.DatabaseURL}
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
