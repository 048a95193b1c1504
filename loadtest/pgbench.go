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

// pgbenchScript is the transaction of one metered live call without an
// Idempotency-Key, statement for statement as the scoring call (package scores) runs it: read
// the account, then one statement inserting the decision record, the usage
// event and the outbox row. The text columns carry payloads the size of
// real ones.
const pgbenchScript = `\set n random(1, 9000000000000000000)
BEGIN;
SELECT status, trial_ends_at, credits_remaining, monthly_cap_amount, monthly_cap_currency FROM tenants WHERE id = :tenant;
WITH w0 AS (INSERT INTO decisions (id, tenant_id, environment, key_id, request_id, company_id, consent_id, model_version, score, pd_12m, grade, recommendation, input, input_sha256, output, latency_us, as_of, created_at, language) VALUES ('sc_pgbench_' || :client_id || '_' || :n, :tenant, 'live', 'key_pgbench', 'req_pgbench', 'FR-LOAD-1', NULL, 'rf-ebm-2.0.0', 612, 0.0123, 'R3', 'accept', repeat('i', 900), md5(:n::text) || md5(:n::text), repeat('o', 2600), 900, now(), now(), 'en')), w1 AS (INSERT INTO usage_events (id, tenant_id, environment, metric, quantity, score_id, key_id, request_id, idempotency_key, billing_state, amount, currency, usage_date, period, created_at) VALUES ('use_pgbench_' || :client_id || '_' || :n, :tenant, 'live', 'analysis', 1, 'sc_pgbench_' || :client_id || '_' || :n, 'key_pgbench', 'req_pgbench', 'sc_pgbench_' || :client_id || '_' || :n, 'pending', 150, 'EUR', to_char(now(), 'YYYY-MM-DD'), to_char(now(), 'YYYY-MM'), now())) INSERT INTO outbox (id, tenant_id, topic, usage_event_id, payload, state, attempts, available_at, created_at) VALUES ('evt_pgbench_' || :client_id || '_' || :n, :tenant, 'stripe.meter_event', 'use_pgbench_' || :client_id || '_' || :n, repeat('p', 160), 'pending', 0, now(), now());
END;
`

type pgbenchResult struct {
	TPS       float64
	LatencyMS float64
}

var (
	tpsLine     = regexp.MustCompile(`tps = ([0-9.]+)`)
	latencyLine = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
)

// runPgbench runs the live call's transaction with the same concurrency
// and duration, on the database the server uses, for the test tenant.
func runPgbench(ctx context.Context, o Options, clients int, tenantID string) (pgbenchResult, error) {
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
	script := filepath.Join(dir, "live-call.sql")
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o600); err != nil {
		return pgbenchResult{}, err
	}
	args := []string{"-n", "-M", "extended", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(o.Duration.Seconds())),
		"-D", "tenant=" + tenantID, "-f", script, o.DatabaseURL}
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
