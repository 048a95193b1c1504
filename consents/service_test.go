package consents_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func TestRequireFindsAnActiveConsentCoveringEveryScope(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_c"})
		clk := clock.NewFake(epoch)
		svc := consents.NewService(db, clk)
		live := keys.Principal{TenantID: "ten_c", Environment: keys.Live, CredentialID: "key_1"}
		sandbox := keys.Principal{TenantID: "ten_c", Environment: keys.Sandbox, CredentialID: "key_2"}
		in := func(scopes ...string) consents.CreateInput {
			until := epoch.Add(30 * 24 * time.Hour)
			return consents.CreateInput{CompanyID: "FR-1", Scopes: scopes, Evidence: "signed form", ExpiresAt: &until}
		}

		if id, err := svc.Require(ctx, live, "FR-1", nil); err != nil || id != "" {
			t.Fatalf("no scopes needed: %q %v", id, err)
		}
		if _, err := svc.Require(ctx, live, "FR-1", []string{consents.ScopeBankData}); problem.CodeOf(err) != problem.ConsentRequired {
			t.Fatalf("without a consent: %v", err)
		}
		bank, err := svc.Create(ctx, live, in(consents.ScopeBankData))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, sandbox, in(consents.ScopeBankData, consents.ScopePersonalData)); err != nil {
			t.Fatal(err)
		}
		if id, err := svc.Require(ctx, live, "FR-1", []string{consents.ScopeBankData}); err != nil || id != bank.ID {
			t.Fatalf("bank data: %q %v, want %s", id, err, bank.ID)
		}
		if id, err := svc.Require(ctx, live, "FR-1", []string{consents.ScopeBankData, consents.ScopePersonalData}); err != nil || id != bank.ID {
			t.Fatalf("a sole trader's bank data with a bank_data consent: %q %v", id, err)
		}
		if _, err := svc.Require(ctx, keys.Principal{TenantID: "ten_c", Environment: keys.Live}, "FR-9", []string{consents.ScopePersonalData}); problem.CodeOf(err) != problem.ConsentRequired {
			t.Fatalf("a sole trader without any consent: %v", err)
		}
		personal, err := svc.Create(ctx, live, consents.CreateInput{CompanyID: "FR-3", Scopes: []string{consents.ScopePersonalData}, Evidence: "signed"})
		if err != nil || !personal.ExpiresAt.Equal(epoch.Add(consents.DefaultDuration)) {
			t.Fatalf("a consent without expires_at: %+v %v, want a one-year term", personal, err)
		}
		if _, err := svc.Require(ctx, live, "FR-3", []string{consents.ScopeBankData}); problem.CodeOf(err) != problem.ConsentRequired {
			t.Fatalf("a personal_data consent covered bank data: %v", err)
		}
		if _, err := svc.Require(ctx, live, "FR-2", []string{consents.ScopeBankData}); problem.CodeOf(err) != problem.ConsentRequired {
			t.Fatalf("another company's consent was used: %v", err)
		}
		clk.Advance(31 * 24 * time.Hour)
		if _, err := svc.Require(ctx, live, "FR-1", []string{consents.ScopeBankData}); problem.CodeOf(err) != problem.ConsentRequired {
			t.Fatalf("an expired consent was used: %v", err)
		}
		if _, err := svc.Create(ctx, live, consents.CreateInput{CompanyID: "FR-1", Scopes: []string{"bank_data"}, Evidence: "x", ExpiresAt: &epoch}); problem.CodeOf(err) != problem.Invalid {
			t.Fatalf("a consent expiring in the past was accepted: %v", err)
		}
	})
}

func TestCreateOnceReplaysTheSavedAnswer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_c"})
		svc := consents.NewService(db, clock.NewFake(epoch))
		p := keys.Principal{TenantID: "ten_c", Environment: keys.Live, CredentialID: "key_1"}
		until := epoch.Add(30 * 24 * time.Hour)
		in := func(company string) consents.CreateInput {
			return consents.CreateInput{CompanyID: company, Scopes: []string{consents.ScopeBankData}, Evidence: "form", ExpiresAt: &until}
		}

		// A refused body leaves the key free.
		if _, _, err := svc.CreateOnce(ctx, p, in(""), "k"); problem.CodeOf(err) != problem.Invalid {
			t.Fatalf("empty company: %v", err)
		}
		first, replayed, err := svc.CreateOnce(ctx, p, in("FR-1"), "k")
		if err != nil || replayed || first.Status != 201 {
			t.Fatalf("first: %d %v %v", first.Status, replayed, err)
		}
		again, replayed, err := svc.CreateOnce(ctx, p, in("FR-1"), "k")
		if err != nil || !replayed || string(again.Body) != string(first.Body) {
			t.Fatalf("retry: %s %v %v", again.Body, replayed, err)
		}
		if _, _, err := svc.CreateOnce(ctx, p, in("FR-2"), "k"); problem.CodeOf(err) != problem.IdempotencyConflict {
			t.Fatalf("another body: %v", err)
		}
		if _, _, err := svc.CreateOnce(ctx, p, in("FR-1"), "bad key"); problem.CodeOf(err) != problem.Invalid {
			t.Fatalf("bad key: %v", err)
		}
		list, err := svc.List(ctx, p, httpx.Page{Limit: 10}, nil)
		if err != nil || len(list) != 1 {
			t.Fatalf("%d consents (%v), want 1", len(list), err)
		}
	})
}
