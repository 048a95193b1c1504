package tenants_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/tenants"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func TestSignupStoresATrialTenantWithTwoKeysOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := clock.NewFake(epoch)
		k := keys.NewService(db, clk, keys.Options{})
		svc := tenants.NewService(db, k, clk, tenants.Verification{})

		res, err := svc.Signup(ctx, tenants.SignupInput{CompanyName: " Acme ", Email: "Ana@Example.com", Country: "pt"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.Get(ctx, res.Tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Acme" || got.Country != "PT" || got.Status != tenants.StatusTrial || got.CreditsRemaining != 5 ||
			!got.TrialEndsAt.Equal(epoch.Add(14*24*time.Hour)) {
			t.Fatalf("stored tenant = %+v", got)
		}
		for _, secret := range []string{res.Sandbox.Secret, res.Live.Secret} {
			p, err := k.Authenticate(ctx, secret)
			if err != nil || p.TenantID != res.Tenant.ID {
				t.Fatalf("key of the new tenant: %+v %v", p, err)
			}
		}

		_, err = svc.Signup(ctx, tenants.SignupInput{CompanyName: "Other", Email: "ana@EXAMPLE.com", Country: "FR"})
		if problem.CodeOf(err) != problem.Conflict {
			t.Fatalf("duplicate email: %v, want conflict", err)
		}
		var n int64
		db.Table("tenants").Count(&n)
		var nk int64
		db.Table("api_keys").Count(&nk)
		if n != 1 || nk != 2 {
			t.Fatalf("after a refused signup: %d tenants and %d keys, want 1 and 2 (nothing half-written)", n, nk)
		}

		days := int64(3)
		status := tenants.StatusSuspended
		patched, err := svc.Patch(ctx, res.Tenant.ID, tenants.PatchInput{CreditsRemaining: &days, Status: &status})
		if err != nil || patched.CreditsRemaining != 3 || patched.Status != status {
			t.Fatalf("Patch = %+v, %v", patched, err)
		}
		if _, err := svc.Get(ctx, "ten_00000000000000000000000000"); problem.CodeOf(err) != problem.NotFound {
			t.Fatalf("unknown tenant: %v", err)
		}
	})
}
