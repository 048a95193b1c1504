package audit_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/audit"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/httpx"
)

// TestTheTrailIsAppendOnly: events are recorded and listed per tenant and environment, and the
// table refuses every UPDATE and DELETE, on PostgreSQL even to the owner of the schema.
func TestTheTrailIsAppendOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		for i, env := range []string{"live", "sandbox", ""} {
			err := audit.Record(ctx, db, audit.Change{TenantID: "ten_a", Environment: env, ActorType: audit.ActorKey, ActorID: "key_1",
				Action: "key.created", TargetType: "api_key", TargetID: "key_" + env, After: map[string]string{"name": "ci"}}, now.Add(time.Duration(i)*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := audit.Record(ctx, db, audit.Change{TenantID: "ten_b", ActorType: audit.ActorOperator, Action: "tenant.updated", TargetType: "tenant", TargetID: "ten_b"}, now); err != nil {
			t.Fatal(err)
		}
		live, err := audit.List(ctx, db, "ten_a", "live", audit.Filter{}, httpx.Page{Limit: 10})
		if err != nil || len(live) != 2 || live[0].Environment != "" || live[1].TargetID != "key_live" {
			t.Fatalf("live trail: %+v %v", live, err)
		}
		if got, _ := audit.List(ctx, db, "ten_a", "live", audit.Filter{TargetID: "key_live"}, httpx.Page{Limit: 10}); len(got) != 1 || *got[0].After != `{"name":"ci"}` {
			t.Fatalf("filtered: %+v", got)
		}
		if err := db.Exec("UPDATE audit_events SET action = 'forged'").Error; err == nil {
			t.Fatal("an audit event was updated")
		}
		if err := db.Exec("DELETE FROM audit_events").Error; err == nil {
			t.Fatal("audit events were deleted")
		}
		if db.Dialector.Name() == "postgres" {
			if err := db.Exec("TRUNCATE audit_events").Error; err == nil {
				t.Fatal("the trail was truncated")
			}
		}
		var n int64
		db.Table("audit_events").Where("action = 'forged'").Count(&n)
		if n != 0 {
			t.Fatal("a forged action is in the trail")
		}
	})
}
