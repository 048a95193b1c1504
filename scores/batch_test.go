package scores

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/metering"
)

func sandboxRecord(tenant string, i int) (Decision, metering.UsageEvent) {
	now := time.Now().UTC()
	d := Decision{ID: ids.New(ids.Score), TenantID: tenant, Environment: "sandbox", KeyID: "key_x", RequestID: "req",
		CompanyID: fmt.Sprint("c", i), ModelVersion: "m", Score: 600, PD12m: 0.01, Grade: "A", Recommendation: "accept",
		Input: strings.Repeat("i", 900), InputSHA256: "h", Output: strings.Repeat("o", 2500), AsOf: now, CreatedAt: now}
	u := metering.NewUsageEvent(metering.Analysis{TenantID: tenant, Environment: "sandbox", ScoreID: d.ID, KeyID: "key_x", RequestID: "req", IdempotencyKey: d.ID, At: now},
		metering.Charge{BillingState: metering.StateFree, Currency: "EUR"})
	return d, u
}

func TestSandboxBatchesCommitEveryCallOnce(t *testing.T) {
	db := dbtest.Postgres(t)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_b"})
	b := newBatchWriter(db, slog.Default())
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d, u := sandboxRecord("ten_b", i)
			if err := b.write(context.Background(), d, u); err != nil {
				failed.Add(1)
			}
		}(i)
	}
	wg.Wait()
	// A duplicate id fails alone, without failing its batch neighbours.
	d, u := sandboxRecord("ten_b", 0)
	if err := b.write(context.Background(), d, u); err != nil {
		t.Fatal(err)
	}
	if err := b.write(context.Background(), d, u); err == nil {
		t.Fatal("a duplicate decision was accepted")
	}
	b.Close()
	if err := b.write(context.Background(), d, u); err == nil {
		t.Fatal("a closed writer accepted a write")
	}
	var n int64
	db.Table("decisions").Where("tenant_id = 'ten_b'").Count(&n)
	if failed.Load() != 0 || n != 501 {
		t.Fatalf("%d writes failed, %d decisions stored; want 0 and 501", failed.Load(), n)
	}
}

func BenchmarkSandboxBatchWrites(b *testing.B) {
	db := dbtest.Postgres(b)
	dbtest.InsertTenant(b, db, dbtest.Tenant{ID: "ten_b"})
	w := newBatchWriter(db, slog.Default())
	defer w.Close()
	b.SetParallelism(8)
	var i atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, u := sandboxRecord("ten_b", int(i.Add(1)))
			if err := w.write(context.Background(), d, u); err != nil {
				b.Error(err)
			}
		}
	})
}

func TestSandboxWriterSurvivesALostConnection(t *testing.T) {
	db := dbtest.Postgres(t)
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_b"})
	b := newBatchWriter(db, slog.Default())
	defer b.Close()
	write := func(i int) error {
		d, u := sandboxRecord("ten_b", i)
		return b.write(context.Background(), d, u)
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}
	// A database restart or failover: every other session of this database ends.
	if err := db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Error; err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		if err := write(i); err != nil {
			t.Fatalf("write %d after the connections were lost: %v", i, err)
		}
	}
	var n int64
	db.Table("decisions").Where("tenant_id = 'ten_b'").Count(&n)
	if n != 21 {
		t.Fatalf("%d decisions stored, want 21", n)
	}
}
