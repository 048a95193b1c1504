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
func spendAll(t *testing.T, db *gorm.DB, m *metering.Meter, id string, n int) (int, map[problem.Code]int) {
	t.Helper()
	return spendGroups(t, db, m, id, n, 1)
}

// spendGroups runs n transactions concurrently, each spending size analyses at once (as a group
// commit of size calls does), and counts the analyses granted and refused, by code.
func spendGroups(t *testing.T, db *gorm.DB, m *metering.Meter, id string, n, size int) (int, map[problem.Code]int) {
	t.Helper()
	var mu sync.Mutex
	ok, refused := 0, map[problem.Code]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var granted []metering.Charge
			var refusal error
			err := db.Transaction(func(tx *gorm.DB) (err error) {
				spent, err := m.SpendAll(context.Background(), tx, []metering.Ask{{TenantID: id, N: size}}, epoch)
				if err == nil {
					granted, refusal = spent[0].Granted, spent[0].Refusal
				}
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("spend: %v", err)
				return
			}
			ok += len(granted)
			if len(granted) < size {
				refused[problem.CodeOf(refusal)] += size - len(granted)
			} else if refusal != nil {
				t.Errorf("all %d granted, and a refusal: %v", size, refusal)
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
		ok, refused := spendAll(t, db, m, "ten_trial", 12)
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
		ok, refused = spendAll(t, db, m, "ten_capped", 10)
		if ok != 3 || refused[problem.CreditsExhausted] != 7 {
			t.Fatalf("cap of 3 analyses: %d spent, refusals %v", ok, refused)
		}

		tenant(t, db, "ten_susp", "suspended", 5, nil)
		if ok, refused = spendAll(t, db, m, "ten_susp", 2); ok != 0 || refused[problem.AccountSuspended] != 2 {
			t.Fatalf("suspended: %d spent, refusals %v", ok, refused)
		}
		tenant(t, db, "ten_open", "past_due", 0, nil)
		if ok, _ = spendAll(t, db, m, "ten_open", 4); ok != 4 {
			t.Fatalf("a past_due tenant without a cap is metered: %d of 4 spent", ok)
		}
	})
}

// A group commit spends several analyses in one transaction: concurrent groups of 4 still never
// spend more credits or cap than there are, each group is granted what is left in order, the
// credits each charge reports count down as single calls would, and several tenants in one
// transaction each spend their own.
func TestGroupsOfCallsSpendExactly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		m := metering.NewMeter(db, money.Money{Amount: 150, Currency: "EUR"}, clock.System{})
		tenant(t, db, "ten_trial", "trial", 10, nil)
		ok, refused := spendGroups(t, db, m, "ten_trial", 6, 4)
		if ok != 10 || refused[problem.CreditsExhausted] != 14 {
			t.Fatalf("trial of 10 credits, 6 groups of 4: %d spent, refusals %v", ok, refused)
		}
		capped := int64(150*7 + 100)
		tenant(t, db, "ten_capped", "active", 0, &capped)
		ok, refused = spendGroups(t, db, m, "ten_capped", 5, 4)
		if ok != 7 || refused[problem.CreditsExhausted] != 13 {
			t.Fatalf("cap of 7 analyses, 5 groups of 4: %d spent, refusals %v", ok, refused)
		}
		var spent int64
		db.Raw("SELECT amount FROM monthly_spend WHERE tenant_id = 'ten_capped'").Scan(&spent)
		if spent != 150*7 {
			t.Fatalf("monthly spend %d, want %d", spent, 150*7)
		}
		// several tenants in one transaction: each spends its own, and refuses its own
		tenant(t, db, "ten_three", "trial", 3, nil)
		tenant(t, db, "ten_gone", "canceled", 0, nil)
		room := int64(150 * 2)
		tenant(t, db, "ten_room", "active", 0, &room)
		tenant(t, db, "ten_free", "active", 0, nil)
		var each []metering.Spent
		if err := db.Transaction(func(tx *gorm.DB) (err error) {
			each, err = m.SpendAll(context.Background(), tx, []metering.Ask{
				{TenantID: "ten_three", N: 5}, {TenantID: "ten_gone", N: 1}, {TenantID: "ten_room", N: 3}, {TenantID: "ten_free", N: 4}, {TenantID: "ten_nobody", N: 1},
			}, epoch)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []struct {
			granted int
			refusal problem.Code
		}{{3, problem.CreditsExhausted}, {0, problem.AccountSuspended}, {2, problem.CreditsExhausted}, {4, ""}, {0, problem.NotFound}} {
			if len(each[i].Granted) != want.granted || (want.refusal == "") != (each[i].Refusal == nil) ||
				(want.refusal != "" && problem.CodeOf(each[i].Refusal) != want.refusal) {
				t.Fatalf("ask %d: granted %d, refusal %v; want %d and %q", i, len(each[i].Granted), each[i].Refusal, want.granted, want.refusal)
			}
		}
		granted := each[0].Granted
		for i, c := range granted {
			if c.CreditsRemaining == nil || *c.CreditsRemaining != int64(2-i) {
				t.Fatalf("charge %d reports %v credits left, want %d", i, c.CreditsRemaining, 2-i)
			}
		}
	})
}
