package tenants_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/tenants"
)

func TestLiveRefusalIsTheOnePlaceOfTheLiveRules(t *testing.T) {
	now := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	verified := now.Add(-time.Hour)
	trial := tenants.Account{Status: tenants.StatusTrial, TrialEndsAt: now.Add(time.Hour), CreditsRemaining: 1, EmailVerifiedAt: &verified}
	with := func(f func(a *tenants.Account)) tenants.Account { a := trial; f(&a); return a }
	cases := []struct {
		name         string
		a            tenants.Account
		requireEmail bool
		want         problem.Code
	}{
		{"trial with credits", trial, true, ""},
		{"trial ended", with(func(a *tenants.Account) { a.TrialEndsAt = now }), true, problem.TrialExpired},
		{"credits spent", with(func(a *tenants.Account) { a.CreditsRemaining = 0 }), true, problem.CreditsExhausted},
		{"email unverified", with(func(a *tenants.Account) { a.EmailVerifiedAt = nil }), true, problem.EmailUnverified},
		{"email unverified, check off", with(func(a *tenants.Account) { a.EmailVerifiedAt = nil }), false, ""},
		{"active", with(func(a *tenants.Account) { a.Status = tenants.StatusActive; a.CreditsRemaining = 0 }), true, ""},
		{"past_due", with(func(a *tenants.Account) { a.Status = tenants.StatusPastDue }), true, ""},
		{"suspended", with(func(a *tenants.Account) { a.Status = tenants.StatusSuspended }), true, problem.AccountSuspended},
		{"canceled", with(func(a *tenants.Account) { a.Status = tenants.StatusCanceled }), true, problem.AccountSuspended},
	}
	for _, c := range cases {
		err := c.a.LiveRefusal(now, c.requireEmail)
		if got := problem.CodeOf(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestTheStoreSpendsCreditsAndMovesStates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		four := int64(4)
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_s", Credits: &four})
		store := tenants.NewStore(db)
		now := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
		spend := func(n int64) tenants.Credits {
			t.Helper()
			took, err := store.SpendCredits(ctx, db, []tenants.CreditAsk{{TenantID: "ten_s", N: n}}, now)
			if err != nil {
				t.Fatal(err)
			}
			return took["ten_s"]
		}
		if c := spend(1); c.Spent != 1 || c.Left != 3 {
			t.Fatalf("first credit: %+v", c)
		}
		if c := spend(5); c.Spent != 3 || c.Left != 0 {
			t.Fatalf("5 asked of 3: %+v", c)
		}
		for _, n := range []int64{1, 2} {
			if c := spend(n); c.Spent != 0 {
				t.Fatalf("no credit left, yet %d spent", c.Spent)
			}
		}
		if moved, err := store.SetStatus(ctx, db, "ten_s", tenants.StatusPastDue, tenants.StatusSuspended, "", now); err != nil || moved {
			t.Fatalf("moved out of a state it is not in: %v %v", moved, err)
		}
		if moved, err := store.SetStatus(ctx, db, "ten_s", "", tenants.StatusActive, "metered", now); err != nil || !moved {
			t.Fatalf("activate: %v %v", moved, err)
		}
		a, err := store.Account(ctx, nil, "ten_s")
		if err != nil || a.Status != tenants.StatusActive || !a.Status.Metered() {
			t.Fatalf("account %+v %v", a, err)
		}
		ids, err := store.IDsWithStatus(ctx, db, tenants.StatusActive)
		if err != nil || len(ids) != 1 || ids[0] != "ten_s" {
			t.Fatalf("active tenants %v %v", ids, err)
		}
		if _, err := store.Account(ctx, nil, "ten_none"); problem.CodeOf(err) != problem.NotFound {
			t.Fatalf("unknown tenant: %v", err)
		}
	})
}
