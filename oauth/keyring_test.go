package oauth

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/access"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/secretbox"
	"github.com/rocketfin/rocketfin/keys"
)

func box(t *testing.T, b byte) *secretbox.Box {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = b
	}
	bx, err := secretbox.Parse(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	return bx
}

// server wires an authorization server on db with its own keyring sealed by bx.
func server(db *gorm.DB, clk clock.Clock, bx *secretbox.Box) *Server {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewServer(ServerOptions{DB: db, Clock: clk, Clients: NewClients(db, clk),
		Keyring: NewKeyring(db, bx, clk, quiet, 24*time.Hour, DefaultTokenTTL), Guard: keys.NewGuard(keys.GuardOptions{}),
		Issuer: "https://api.rocketfin.example"})
}

// TestSigningKeysRotateAndStayPublishedUntilTheirTokensExpire, on both databases: a key signs for
// its rotation period, the next takes over, and the old one verifies until the tokens it signed
// have expired; private halves are sealed; a replica with another secret key makes its own
// signing key and still verifies the other's tokens.
func TestSigningKeysRotateAndStayPublishedUntilTheirTokensExpire(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
		a := server(db, clk, box(t, 1))
		p := keys.Principal{TenantID: "ten_k", Environment: keys.Sandbox, CredentialID: "key_k", Scopes: access.Every()}
		issued, err := a.clients.Create(ctx, p, CreateInput{Name: "ci", Scopes: []string{"scores:read"}})
		if err != nil {
			t.Fatal(err)
		}
		first, err := a.issue(ctx, issued.Client, issued.Client.ScopeSet())
		if err != nil {
			t.Fatal(err)
		}
		var rows []SigningKey
		db.Find(&rows)
		if len(rows) != 1 || strings.Contains(rows[0].PrivateSealed, "PRIVATE") || rows[0].PublicJWK == "" {
			t.Fatalf("signing keys: %+v", rows)
		}
		if _, err := box(t, 2).Open(sealPurpose(rows[0].ID), rows[0].PrivateSealed); err == nil {
			t.Fatal("another secret key opened the sealed private key")
		}

		// A day later the next key signs; the first token (expired by then) no longer verifies,
		// but a token signed just before the change does until it expires.
		clk.Advance(24*time.Hour - time.Minute)
		late, err := a.issue(ctx, issued.Client, issued.Client.ScopeSet())
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Minute)
		next, err := a.issue(ctx, issued.Client, issued.Client.ScopeSet())
		if err != nil {
			t.Fatal(err)
		}
		if kid(t, next.AccessToken) == kid(t, late.AccessToken) {
			t.Fatal("the key did not rotate")
		}
		if _, _, err := a.Verify(ctx, late.AccessToken); err != nil {
			t.Fatalf("a token of the retired key, unexpired: %v", err)
		}
		if _, reason, err := a.Verify(ctx, first.AccessToken); err == nil || reason != "expired" {
			t.Fatalf("a day-old token: %v %s", err, reason)
		}
		set, _ := a.keyring.JWKS(ctx)
		if len(set.Keys) != 2 {
			t.Fatalf("published %d keys, want the retired one and the new one", len(set.Keys))
		}
		clk.Advance(DefaultTokenTTL + 6*time.Minute)
		a.keyring.loadedAt = time.Time{}
		set, _ = a.keyring.JWKS(ctx)
		if len(set.Keys) != 1 || set.Keys[0].KeyID != kid(t, next.AccessToken) {
			t.Fatalf("after its tokens expired the retired key is still published: %d keys", len(set.Keys))
		}

		// A replica whose secret key cannot open the current key makes its own and verifies both.
		b := server(db, clk, box(t, 3))
		fromB, err := b.issue(ctx, issued.Client, issued.Client.ScopeSet())
		if err != nil {
			t.Fatal(err)
		}
		if kid(t, fromB.AccessToken) == kid(t, next.AccessToken) {
			t.Fatal("a replica signed with a key it cannot have opened")
		}
		fresh, err := a.issue(ctx, issued.Client, issued.Client.ScopeSet())
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{fromB.AccessToken, fresh.AccessToken} {
			for _, s := range []*Server{a, b} {
				clk.Advance(time.Second) // past the reload throttle for a key not seen yet
				if _, _, err := s.Verify(ctx, tok); err != nil {
					t.Fatalf("cross-replica verification: %v", err)
				}
			}
		}

		// Rotate ends the current key's signing at once; it stays published.
		old := kid(t, fresh.AccessToken)
		newKid, err := a.keyring.Rotate(ctx, false)
		if err != nil || newKid == old {
			t.Fatalf("rotate: %v %s", err, newKid)
		}
		if _, _, err := a.Verify(ctx, fresh.AccessToken); err != nil {
			t.Fatalf("a token of the key rotated out: %v", err)
		}
		// A leaked key: rotated with unpublish, its tokens fail at once.
		last, err := a.issue(ctx, issued.Client, issued.Client.ScopeSet())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.keyring.Rotate(ctx, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Verify(ctx, last.AccessToken); err == nil {
			t.Fatal("a token of an unpublished key still verifies")
		}
	})
}

func kid(t *testing.T, raw string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(h), `"kid":"`)
	return string(h)[i+7 : i+7+30]
}
