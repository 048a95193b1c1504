package loadtest

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/dbtest"
)

// TestThePgbenchTransactionIsRecordedFromTheLiveCall: the script pgbench runs is what the scoring
// call sends for a metered live call, and pgbench can run it again and again.
func TestThePgbenchTransactionIsRecordedFromTheLiveCall(t *testing.T) {
	ctx := context.Background()
	url := dbtest.PostgresURL(t)
	db, err := database.Open(ctx, database.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_load", Status: "active"})

	script, err := LiveCallScript(ctx, url, "ten_load")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BEGIN;", "FROM tenants WHERE id IN (:tenant)", "INSERT INTO decisions", "INSERT INTO usage_events",
		"INSERT INTO outbox", "('sc_pgb_' || :client_id || '_' || :n)", "END;"} {
		if !strings.Contains(script, want) {
			t.Errorf("the script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "'ten_load'") {
		t.Errorf("the tenant id is written in the script instead of :tenant:\n%s", script)
	}
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Skip("no pgbench to run the script with")
	}
	var before int64
	db.Table("decisions").Where("tenant_id = 'ten_load'").Count(&before)
	r, err := runPgbench(ctx, Options{Pgbench: pgbench, DatabaseURL: url, Duration: 1e9}, 2, []string{strings.ReplaceAll(script, ":tenant", "'ten_load'")})
	if err != nil {
		t.Fatal(err)
	}
	var after int64
	db.Table("decisions").Where("tenant_id = 'ten_load'").Count(&after)
	if r.TPS <= 0 || after <= before {
		t.Fatalf("pgbench ran %v tps and wrote %d decisions", r.TPS, after-before)
	}
}
