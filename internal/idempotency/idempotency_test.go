package idempotency_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/internal/problem"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func TestValidKey(t *testing.T) {
	for _, k := range []string{"", "a", "order-42/retry_1", strings.Repeat("k", idempotency.MaxKeyLength)} {
		if err := idempotency.ValidKey(k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for _, k := range []string{"with space", "tab\t", "é", strings.Repeat("k", idempotency.MaxKeyLength+1)} {
		if err := idempotency.ValidKey(k); problem.CodeOf(err) != problem.Invalid {
			t.Errorf("%q: %v, want invalid_request", k, err)
		}
	}
}

func TestFingerprintIgnoresLayout(t *testing.T) {
	type in struct{ A, B string }
	a, _ := idempotency.Fingerprint(in{"x", "y"})
	b, _ := idempotency.Fingerprint(in{"x", "y"})
	c, _ := idempotency.Fingerprint(in{"x", "z"})
	if a != b || a == c || len(a) != 64 {
		t.Fatalf("fingerprints %s %s %s", a, b, c)
	}
}

func TestClaimSaveLookup(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := idempotency.Scope{TenantID: "ten_a", Environment: "live"}
		other := idempotency.Scope{TenantID: "ten_b", Environment: "live"}
		answer := idempotency.Answer{Status: 201, Body: []byte(`{"id":"con_1"}`)}

		// A transaction that fails leaves the key free.
		boom := errors.New("boom")
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := idempotency.Claim(ctx, tx, s, "k1", "fp1", "", epoch); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, found, err := idempotency.Lookup(ctx, db, s, "k1", "fp1", epoch); err != nil || found {
			t.Fatalf("after a rolled-back claim: found=%v err=%v", found, err)
		}

		// Claim and save in one transaction; the answer replays for the same body only.
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := idempotency.Claim(ctx, tx, s, "k1", "fp1", "", epoch); err != nil {
				return err
			}
			return idempotency.Save(ctx, tx, s, "k1", answer)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, found, err := idempotency.Lookup(ctx, db, s, "k1", "fp1", epoch.Add(time.Hour))
		if err != nil || !found || got.Status != 201 || string(got.Body) != string(answer.Body) {
			t.Fatalf("replay: %+v %v %v", got, found, err)
		}
		if _, _, err := idempotency.Lookup(ctx, db, s, "k1", "fp2", epoch); problem.CodeOf(err) != problem.IdempotencyConflict {
			t.Fatalf("another body: %v", err)
		}
		if _, found, _ := idempotency.Lookup(ctx, db, other, "k1", "fp1", epoch); found {
			t.Fatal("another tenant saw the answer")
		}
		if err := db.Transaction(func(tx *gorm.DB) error {
			return idempotency.Claim(ctx, tx, s, "k1", "fp1", "", epoch.Add(time.Minute))
		}); !errors.Is(err, idempotency.ErrClaimed) {
			t.Fatalf("claiming an answered key: %v", err)
		}

		// After the TTL the key is free again and the answer is purged.
		late := epoch.Add(idempotency.TTL + time.Second)
		if _, found, _ := idempotency.Lookup(ctx, db, s, "k1", "fp1", late); found {
			t.Fatal("an expired answer was replayed")
		}
		if n, err := idempotency.Purge(ctx, db, late); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
	})
}

func TestAClaimWithoutAnswerIsTakenOverAfterTheLease(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := idempotency.Scope{TenantID: "ten_a", Environment: "sandbox"}
		// A claim committed alone (as an older version did before answering).
		if err := idempotency.Claim(ctx, db, s, "k", "fp", "", epoch); err != nil {
			t.Fatal(err)
		}
		if err := idempotency.Claim(ctx, db, s, "k", "fp", "", epoch.Add(idempotency.Lease-time.Second)); !errors.Is(err, idempotency.ErrClaimed) {
			t.Fatalf("within the lease: %v", err)
		}
		if err := idempotency.Claim(ctx, db, s, "k", "fp", "", epoch.Add(idempotency.Lease)); err != nil {
			t.Fatalf("after the lease: %v", err)
		}
	})
}

// A group commit claims its calls' keys in one statement: a key another call holds, or one that
// appears twice in the group, is not taken and the transaction goes on; refused calls release
// theirs; the others' answers are saved in one statement and replayed.
func TestClaimAllReleaseSaveAll(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := idempotency.Scope{TenantID: "ten_a", Environment: "live"}
		other := idempotency.Scope{TenantID: "ten_b", Environment: "live"}
		if err := db.Transaction(func(tx *gorm.DB) error {
			if err := idempotency.Claim(ctx, tx, s, "held", "fp0", "", epoch); err != nil {
				return err
			}
			return idempotency.Save(ctx, tx, s, "held", idempotency.Answer{Status: 200, Body: []byte(`{"n":0}`)})
		}); err != nil {
			t.Fatal(err)
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			k := func(key string) idempotency.ScopedKey { return idempotency.ScopedKey{Scope: s, Key: key} }
			taken, err := idempotency.ClaimAll(ctx, tx, []idempotency.Claimed{
				{ScopedKey: k("a"), Fingerprint: "fa"}, {ScopedKey: k("held"), Fingerprint: "fh"}, {ScopedKey: k("b"), Fingerprint: "fb"},
				{ScopedKey: k("a"), Fingerprint: "fa"}, {ScopedKey: k("refused"), Fingerprint: "fr"},
				{ScopedKey: idempotency.ScopedKey{Scope: other, Key: "a"}, Fingerprint: "fo"},
			}, epoch)
			if err != nil {
				return err
			}
			if want := []bool{true, false, true, false, true, true}; !slices.Equal(taken, want) {
				t.Fatalf("taken %v, want %v", taken, want)
			}
			if err := idempotency.Release(ctx, tx, []idempotency.ScopedKey{k("refused"), k("held")}); err != nil {
				return err
			}
			return idempotency.SaveAll(ctx, tx, []idempotency.Saved{
				{ScopedKey: k("a"), Answer: idempotency.Answer{Status: 200, Body: []byte(`{"n":1}`)}},
				{ScopedKey: k("b"), Answer: idempotency.Answer{Status: 201, Body: []byte(`{"n":2}`)}},
				{ScopedKey: idempotency.ScopedKey{Scope: other, Key: "a"}, Answer: idempotency.Answer{Status: 200, Body: []byte(`{"other":1}`)}},
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{"a": `{"n":1}`, "b": `{"n":2}`, "held": `{"n":0}`} {
			fp := map[string]string{"a": "fa", "b": "fb", "held": "fp0"}[key]
			got, found, err := idempotency.Lookup(ctx, db, s, key, fp, epoch)
			if err != nil || !found || string(got.Body) != want {
				t.Fatalf("%s: %s %v %v, want %s", key, got.Body, found, err, want)
			}
		}
		if got, _, _ := idempotency.Lookup(ctx, db, other, "a", "fo", epoch); string(got.Body) != `{"other":1}` {
			t.Fatalf("the other tenant's key a answers %s", got.Body)
		}
		if got, _, _ := idempotency.Lookup(ctx, db, s, "b", "fb", epoch); got.Status != 201 {
			t.Fatalf("status of b: %d", got.Status)
		}
		// the released key is free again: a new claim takes it
		if err := db.Transaction(func(tx *gorm.DB) error {
			return idempotency.Claim(ctx, tx, s, "refused", "fr", "", epoch)
		}); err != nil {
			t.Fatalf("claim a released key: %v", err)
		}
	})
}
