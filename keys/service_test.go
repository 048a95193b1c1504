package keys_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func insertTenant(t testing.TB, db *gorm.DB, id string) {
	t.Helper()
	dbtest.InsertTenant(t, db, dbtest.Tenant{ID: id})
}

// countQueries counts the statements db runs from now on.
func countQueries(db *gorm.DB) *atomic.Int64 {
	var n atomic.Int64
	inc := func(*gorm.DB) { n.Add(1) }
	_ = db.Callback().Query().Before("gorm:query").Register("test:count_query", inc)
	_ = db.Callback().Raw().Before("gorm:raw").Register("test:count_raw", inc)
	_ = db.Callback().Update().Before("gorm:update").Register("test:count_update", inc)
	return &n
}

func TestKeyLifecycleInTheStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := clock.NewFake(epoch)
		svc := keys.NewService(db, clk, keys.Options{})
		insertTenant(t, db, "ten_a")
		insertTenant(t, db, "ten_b")
		a := keys.Principal{TenantID: "ten_a", Environment: keys.Live}
		b := keys.Principal{TenantID: "ten_b", Environment: keys.Live}

		issued, err := svc.Create(ctx, a, keys.CreateInput{Name: "crm"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Authenticate(ctx, issued.Secret)
		if err != nil || p.TenantID != "ten_a" || p.Environment != keys.Live || p.CredentialID != issued.Key.ID {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
		if _, err := svc.Get(ctx, b, issued.Key.ID); problem.CodeOf(err) != problem.NotFound {
			t.Fatalf("tenant b got tenant a's key: %v", err)
		}
		if _, err := svc.Revoke(ctx, b, issued.Key.ID, false); problem.CodeOf(err) != problem.NotFound {
			t.Fatalf("tenant b revoked tenant a's key: %v", err)
		}
		if _, err := svc.Rotate(ctx, keys.Principal{TenantID: "ten_a", Environment: keys.Sandbox}, issued.Key.ID, time.Hour); problem.CodeOf(err) != problem.NotFound {
			t.Fatalf("the sandbox rotated a live key: %v", err)
		}

		next, err := svc.Rotate(ctx, a, issued.Key.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		if _, err := svc.Authenticate(ctx, issued.Secret); problem.CodeOf(err) != problem.Unauthenticated {
			t.Fatalf("old key after grace: %v, want unauthenticated", err)
		}
		if _, err := svc.Authenticate(ctx, next.Secret); err != nil {
			t.Fatalf("new key: %v", err)
		}
		// The last usable live key: refused unless the caller means it.
		if _, err := svc.Revoke(ctx, a, next.Key.ID, false); problem.CodeOf(err) != problem.Conflict || !strings.Contains(err.Error(), "force=true") {
			t.Fatalf("revoking the last live key: %v, want conflict saying how to proceed", err)
		}
		k, err := svc.Revoke(ctx, a, next.Key.ID, true)
		if err != nil || k.Status(clk.Now()) != keys.StatusRevoked {
			t.Fatalf("Revoke = %+v, %v", k, err)
		}
		if _, err := svc.Authenticate(ctx, next.Secret); problem.CodeOf(err) != problem.Unauthenticated {
			t.Fatalf("revoked key: %v, want unauthenticated", err)
		}

		if err := svc.FlushLastUsed(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Get(ctx, a, next.Key.ID)
		if err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(epoch.Add(time.Hour)) {
			t.Fatalf("last_used_at = %v, want %v (%v)", got.LastUsedAt, epoch.Add(time.Hour), err)
		}
	})
}

func TestWarmKeyCostsNoDatabaseRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := clock.NewFake(epoch)
		svc := keys.NewService(db, clk, keys.Options{})
		insertTenant(t, db, "ten_a")
		issued, err := svc.Create(ctx, keys.Principal{TenantID: "ten_a", Environment: keys.Sandbox}, keys.CreateInput{})
		if err != nil {
			t.Fatal(err)
		}
		n := countQueries(db)
		if _, err := svc.Authenticate(ctx, issued.Secret); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != 1 {
			t.Fatalf("a cold lookup ran %d queries, want 1", got)
		}
		for i := 0; i < 100; i++ {
			if _, err := svc.Authenticate(ctx, issued.Secret); err != nil {
				t.Fatal(err)
			}
		}
		if got := n.Load(); got != 1 {
			t.Fatalf("100 warm lookups ran %d more queries, want 0", got-1)
		}
		clk.Advance(time.Second)
		if _, err := svc.Authenticate(ctx, issued.Secret); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != 2 {
			t.Fatalf("after the TTL a lookup ran %d queries in all, want 2", got)
		}
		if _, err := svc.Authenticate(ctx, "rf_test_tooshort"); problem.CodeOf(err) != problem.Unauthenticated || n.Load() != 2 {
			t.Fatalf("a malformed key reached the database or passed: %v", err)
		}
	})
}

// TestForgeriesNeverEvictRealKeys floods the cache with well-formed unknown keys: they are
// remembered in a bounded LRU, so a repeated forgery costs no query, an old one is forgotten, and
// a real key stays cached through it all.
func TestForgeriesNeverEvictRealKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		clk := clock.NewFake(epoch)
		svc := keys.NewService(db, clk, keys.Options{NegativeEntries: 100})
		insertTenant(t, db, "ten_a")
		issued, err := svc.Create(ctx, keys.Principal{TenantID: "ten_a", Environment: keys.Sandbox}, keys.CreateInput{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, issued.Secret); err != nil {
			t.Fatal(err)
		}
		forged := make([]string, 500)
		for i := range forged {
			if forged[i], err = keys.NewSecret(keys.Sandbox); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Authenticate(ctx, forged[i]); problem.CodeOf(err) != problem.Unauthenticated {
				t.Fatalf("a forgery: %v", err)
			}
		}
		n := countQueries(db)
		if _, err := svc.Authenticate(ctx, issued.Secret); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, forged[len(forged)-1]); problem.CodeOf(err) != problem.Unauthenticated {
			t.Fatal(err)
		}
		if got := n.Load(); got != 0 {
			t.Fatalf("the real key and a recent forgery ran %d queries after 500 forgeries, want 0: both still cached", got)
		}
		if _, err := svc.Authenticate(ctx, forged[0]); problem.CodeOf(err) != problem.Unauthenticated || n.Load() != 1 {
			t.Fatalf("the oldest forgery: %v after %d queries, want refused after 1: the negative cache holds 100", err, n.Load())
		}
	})
}

func BenchmarkAuthenticateWarm(b *testing.B) {
	db := dbtest.Postgres(b)
	ctx := context.Background()
	svc := keys.NewService(db, clock.System{}, keys.Options{})
	insertTenant(b, db, "ten_bench")
	issued, err := svc.Create(ctx, keys.Principal{TenantID: "ten_bench", Environment: keys.Live}, keys.CreateInput{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, issued.Secret); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.Authenticate(ctx, issued.Secret); err != nil {
			b.Fatal(err)
		}
	}
}

// TestKeysPerEnvironmentAreCapped: a tenant holds at most MaxKeysPerEnvironment usable keys in an
// environment, also when creations race; a revoked key frees its place; the other environment
// has its own count.
func TestKeysPerEnvironmentAreCapped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := keys.NewService(db, clock.NewFake(epoch), keys.Options{})
		insertTenant(t, db, "ten_cap")
		live := keys.Principal{TenantID: "ten_cap", Environment: keys.Live}
		var wg sync.WaitGroup
		var created atomic.Int64
		var conflicts atomic.Int64
		for i := 0; i < keys.MaxKeysPerEnvironment+10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Create(ctx, live, keys.CreateInput{})
				switch {
				case err == nil:
					created.Add(1)
				case problem.CodeOf(err) == problem.Conflict:
					conflicts.Add(1)
				default:
					if !database.IsPostgres(db) { // SQLite may refuse a concurrent writer as busy
						return
					}
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if created.Load() > keys.MaxKeysPerEnvironment {
			t.Fatalf("%d keys created, want at most %d", created.Load(), keys.MaxKeysPerEnvironment)
		}
		for created.Load() < keys.MaxKeysPerEnvironment {
			if _, err := svc.Create(ctx, live, keys.CreateInput{}); err != nil {
				t.Fatal(err)
			}
			created.Add(1)
		}
		_, err := svc.Create(ctx, live, keys.CreateInput{})
		if problem.CodeOf(err) != problem.Conflict {
			t.Fatalf("key %d: %v, want conflict", keys.MaxKeysPerEnvironment+1, err)
		}
		if _, err := svc.Create(ctx, keys.Principal{TenantID: "ten_cap", Environment: keys.Sandbox}, keys.CreateInput{}); err != nil {
			t.Fatalf("the sandbox shares the live count: %v", err)
		}
		list, err := svc.List(ctx, live, httpx.Page{Limit: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Revoke(ctx, live, list[0].ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, live, keys.CreateInput{}); err != nil {
			t.Fatalf("after a revocation: %v", err)
		}
	})
}
