package members

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

func as(m Member) keys.Principal {
	return keys.Principal{TenantID: m.TenantID, Environment: keys.Live, CredentialID: m.ID, Role: m.Role,
		Scopes: access.RoleScopes(m.Role, "live")}
}

func wantCode(t *testing.T, err error, code problem.Code) {
	t.Helper()
	if problem.CodeOf(err) != code {
		t.Fatalf("want %s, got %v", code, err)
	}
}

// TestMembershipRules, on both databases: who may touch owners, the last owner, invitations that
// expire and renew, and sign-ins that join invitations but never take over another account's
// membership.
func TestMembershipRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
		s := NewService(db, clk, nil, "https://app.example/console/login", slog.New(slog.NewTextHandler(io.Discard, nil)))
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_m"})
		owner := Owner("ten_m", "boss@acme.example", clk.Now())
		if err := db.Create(&owner).Error; err != nil {
			t.Fatal(err)
		}
		joined, err := s.SignIn(ctx, "https://idp", "sub-boss", "BOSS@acme.example")
		if err != nil || len(joined) != 1 || joined[0].ID != owner.ID || joined[0].Status(clk.Now()) != StatusActive {
			t.Fatalf("the signup's owner joins on first sign-in: %v %+v", err, joined)
		}
		owner = joined[0]

		admin, err := s.Invite(ctx, as(owner), InviteInput{Email: "admin@acme.example", Role: access.Admin})
		if err != nil {
			t.Fatal(err)
		}
		if ms, _ := s.SignIn(ctx, "https://idp", "sub-admin", "admin@acme.example"); len(ms) != 1 {
			t.Fatalf("the admin joins: %+v", ms)
		}
		admin.Role = access.Admin

		// An admin may not make, change or remove owners.
		_, err = s.Invite(ctx, as(admin), InviteInput{Email: "o2@acme.example", Role: access.Owner})
		wantCode(t, err, problem.Forbidden)
		_, err = s.SetRole(ctx, as(admin), owner.ID, UpdateInput{Role: access.Developer})
		wantCode(t, err, problem.Forbidden)
		_, err = s.Remove(ctx, as(admin), owner.ID)
		wantCode(t, err, problem.Forbidden)
		_, err = s.SetRole(ctx, as(admin), admin.ID, UpdateInput{Role: access.Owner})
		wantCode(t, err, problem.Forbidden)

		// The last owner stays; with a second owner, the first may step down.
		_, err = s.SetRole(ctx, as(owner), owner.ID, UpdateInput{Role: access.Admin})
		wantCode(t, err, problem.Conflict)
		_, err = s.Remove(ctx, as(owner), owner.ID)
		wantCode(t, err, problem.Conflict)
		if _, err := s.SetRole(ctx, as(owner), admin.ID, UpdateInput{Role: access.Owner}); err != nil {
			t.Fatal(err)
		}
		if m, err := s.SetRole(ctx, as(owner), owner.ID, UpdateInput{Role: access.Finance}); err != nil || m.Role != access.Finance {
			t.Fatalf("step down with another owner: %v", err)
		}
		admin.Role = access.Owner
		_, err = s.SetRole(ctx, as(admin), admin.ID, UpdateInput{Role: access.Admin})
		wantCode(t, err, problem.Conflict)

		// Invitations: a duplicate is 409, an expired one is not joined and is renewed by a new invite.
		inv, err := s.Invite(ctx, as(admin), InviteInput{Email: "late@acme.example", Role: access.Developer})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Invite(ctx, as(admin), InviteInput{Email: "LATE@acme.example", Role: access.Finance})
		wantCode(t, err, problem.Conflict)
		clk.Advance(InviteTTL + time.Second)
		if ms, _ := s.SignIn(ctx, "https://idp", "sub-late", "late@acme.example"); len(ms) != 0 {
			t.Fatalf("an expired invitation was joined: %+v", ms)
		}
		renewed, err := s.Invite(ctx, as(admin), InviteInput{Email: "late@acme.example", Role: access.Finance})
		if err != nil || renewed.ID == inv.ID {
			t.Fatalf("renew: %v", err)
		}
		if ms, _ := s.SignIn(ctx, "https://idp", "sub-late", "late@acme.example"); len(ms) != 1 || ms[0].Role != access.Finance {
			t.Fatalf("the renewed invitation: %+v", ms)
		}

		// Another account of the provider with the same email does not take a membership over.
		if ms, _ := s.SignIn(ctx, "https://idp", "someone-else", "late@acme.example"); len(ms) != 0 {
			t.Fatalf("a membership was taken over by another account: %+v", ms)
		}
		// The account itself, with a changed email, keeps its membership.
		if ms, _ := s.SignIn(ctx, "https://idp", "sub-late", "new-address@acme.example"); len(ms) != 1 {
			t.Fatalf("the same account under a new email: %+v", ms)
		}

		// Another tenant's member is not found.
		dbtest.InsertTenant(t, db, dbtest.Tenant{ID: "ten_other"})
		stranger := keys.Principal{TenantID: "ten_other", CredentialID: "key_x", Scopes: access.Every()}
		_, err = s.Get(ctx, stranger, owner.ID)
		wantCode(t, err, problem.NotFound)
		_, err = s.Remove(ctx, stranger, owner.ID)
		wantCode(t, err, problem.NotFound)
	})
}

// TestSignInOpensWhereThePersonWorksAndSkipsSquattedOwners, on both databases: an invitation
// from another tenant is joined but comes after the person's own account; the owner recorded by a
// signup whose email is not verified is not joined (a squatter holds that signup's keys).
func TestSignInOpensWhereThePersonWorksAndSkipsSquattedOwners(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
		s := NewService(db, clk, nil, "https://app.example/console/login", slog.New(slog.NewTextHandler(io.Discard, nil)))
		s.SignupOwnerNeedsVerifiedEmail = true
		for _, id := range []string{"ten_home", "ten_squat", "ten_other"} {
			dbtest.InsertTenant(t, db, dbtest.Tenant{ID: id})
		}
		if err := db.Exec("UPDATE tenants SET email_verified_at = ? WHERE id = ?", clk.Now(), "ten_home").Error; err != nil {
			t.Fatal(err)
		}
		home, squat := Owner("ten_home", "vic@corp.example", clk.Now()), Owner("ten_squat", "vic@corp.example", clk.Now())
		for _, m := range []*Member{&home, &squat} {
			if err := db.Create(m).Error; err != nil {
				t.Fatal(err)
			}
		}
		ms, err := s.SignIn(ctx, "https://idp", "vic", "vic@corp.example")
		if err != nil || len(ms) != 1 || ms[0].TenantID != "ten_home" {
			t.Fatalf("first sign-in: %v %+v", err, ms)
		}
		clk.Advance(time.Hour)
		other := keys.Principal{TenantID: "ten_other", CredentialID: "key_o", Scopes: access.Every()}
		if _, err := s.Invite(ctx, other, InviteInput{Email: "vic@corp.example", Role: access.Admin}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		ms, err = s.SignIn(ctx, "https://idp", "vic", "vic@corp.example")
		if err != nil || len(ms) != 2 || ms[0].TenantID != "ten_home" || ms[1].TenantID != "ten_other" {
			t.Fatalf("with an invitation elsewhere: %v %+v", err, ms)
		}
	})
}
