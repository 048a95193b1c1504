package metering_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/metering"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func tenant(t *testing.T, db *gorm.DB, id, status string, credits int64, cap *int64) {
	t.Helper()
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: id, Status: status, Credits: &credits, TrialEndsAt: epoch.Add(14 * 24 * time.Hour), MonthlyCap: cap})
}

// spendAll spends n times concurrently, each in its own transaction, and
// counts the successes and the refusals by code.
func spendAll(t *testing.T, db *gorm.DB, m *metering.Meter, id string, n int, likelyTrial bool) (int, map[problem.Code]int) {
	t.Helper()
	var mu sync.Mutex
	ok, refused := 0, map[problem.Code]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Transaction(func(tx *gorm.DB) error {
				_, err := m.Spend(context.Background(), tx, id, epoch, likelyTrial)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else {
				refused[problem.CodeOf(err)]++
			}
		}()
	}
	wg.Wait()
	return ok, refused
}

func TestCreditsAndCapsAreSpentExactlyUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		m := metering.NewMeter(db, money.Money{Amount: 150, Currency: "EUR"}, clock.System{})
		tenant(t, db, "ten_trial", "trial", 3, nil)
		ok, refused := spendAll(t, db, m, "ten_trial", 12, true)
		if ok != 3 || refused[problem.CreditsExhausted] != 9 {
			t.Fatalf("trial: %d spent, refusals %v; want 3 and 9 credits_exhausted", ok, refused)
		}
		var left int64
		db.Raw("SELECT credits_remaining FROM tenants WHERE id = 'ten_trial'").Scan(&left)
		if left != 0 {
			t.Fatalf("credits_remaining %d, want 0", left)
		}

		capped := int64(450)
		tenant(t, db, "ten_capped", "active", 0, &capped)
		ok, refused = spendAll(t, db, m, "ten_capped", 10, false)
		if ok != 3 || refused[problem.CreditsExhausted] != 7 {
			t.Fatalf("cap of 3 analyses: %d spent, refusals %v", ok, refused)
		}

		tenant(t, db, "ten_susp", "suspended", 5, nil)
		if ok, refused = spendAll(t, db, m, "ten_susp", 2, false); ok != 0 || refused[problem.AccountSuspended] != 2 {
			t.Fatalf("suspended: %d spent, refusals %v", ok, refused)
		}
		tenant(t, db, "ten_open", "past_due", 0, nil)
		if ok, _ = spendAll(t, db, m, "ten_open", 4, true); ok != 4 {
			t.Fatalf("a past_due tenant without a cap is metered: %d of 4 spent", ok)
		}
	})
}
