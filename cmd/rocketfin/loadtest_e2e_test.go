package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rocketfin/rocketfin/internal/dbtest"
)

// TestTheLoadCommandRunsAgainstTwoTargets: `rocketfin loadtest` (what scripts/loadtest runs) signs
// up its tenants, drives every phase against two targets, runs pgbench on the recorded transaction
// over many tenants, on one capped tenant's row and on one trial's, and reports the ratios, with
// every call answered.
// A smoke test with tiny phases: the figures themselves are the README's, from scripts/loadtest.
func TestTheLoadCommandRunsAgainstTwoTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a server")
	}
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Skip("no pgbench")
	}
	dbURL := dbtest.PostgresURL(t)
	bin := buildRocketfin(t)
	a := startChild(t, bin, dbURL, "ROCKETFIN_SIGNUP_PER_HOUR=1000", "ROCKETFIN_LOG_LEVEL=warn")
	b := startChild(t, bin, dbURL, "ROCKETFIN_SIGNUP_PER_HOUR=1000", "ROCKETFIN_LOG_LEVEL=warn")
	cmd := exec.Command(bin, "loadtest", "-targets", "a="+a.base+",b="+b.base, "-clients", "8", "-pgbench-clients", "4",
		"-tenants", "3", "-rounds", "1", "-duration", "1s", "-rate", "50", "-paced-clients", "2", "-pgbench", pgbench)
	cmd.Env = []string{"DATABASE_URL=" + dbURL, "ROCKETFIN_OPERATOR_TOKEN=" + operatorToken, "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out)
	}
	report := string(out)
	for _, want := range []string{"pgbench, many tenants", "pgbench, one tenant row", "pgbench, one trial row", "a live, many tenants",
		"b live, one tenant", "a live, one trial tenant",
		"b sandbox", "a live @50/s", "throughput / pgbench on the same transaction"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "statuses:") || strings.Contains(report, "pgbench:") {
		t.Errorf("calls failed or pgbench did not run:\n%s", report)
	}
}
