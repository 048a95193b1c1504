package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rocketfin/rocketfin/internal/dbtest"
)

// A server killed after claiming a consent's Idempotency-Key and before
// answering leaves the key free: the claim, the consent and the saved answer
// are one transaction, so the retry on a fresh process creates the consent
// (once) instead of answering 409 "in progress".
func TestKilledConsentCallLeavesItsIdempotencyKeyFree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	ctx := context.Background()
	dbURL := dbtest.PostgresURL(t)
	bin := buildRocketfin(t)
	srv := startChild(t, bin, dbURL)
	client := &http.Client{Timeout: 30 * time.Second}
	r := srv.call(client, "POST", "/v1/signup", "", map[string]string{
		"company_name": "Consent crash", "email": "consent@crash.example", "country": "FR"}, nil)
	expect(t, r, http.StatusCreated)
	var key string
	for _, k := range r.Body["api_keys"].([]any) {
		if m := k.(map[string]any); m["environment"] == "live" {
			key, _ = m["secret"].(string)
		}
	}
	body := map[string]any{"company_id": "FR-552100554", "scopes": []string{"bank_data"},
		"evidence": "signed form 42", "expires_at": time.Now().UTC().Add(90 * 24 * time.Hour).Format(time.RFC3339)}
	header := map[string]string{"Idempotency-Key": "consent-crash-1"}

	// Hold the consents table so that the call stops inside its transaction, after the claim.
	lock, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(ctx)
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE consents IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	raw, _ := json.Marshal(body)
	go func() {
		req, _ := http.NewRequest("POST", srv.base+"/v1/consents", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Idempotency-Key", header["Idempotency-Key"])
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	waitForLockWaiter(t, lock)
	srv.kill()
	if err := <-done; err == nil {
		t.Fatal("the call answered although its server was killed mid-transaction")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	srv = startChild(t, bin, dbURL)
	first := srv.call(client, "POST", "/v1/consents", key, body, header)
	expect(t, first, http.StatusCreated)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the retry replayed an answer that was never given: %s", first.Raw)
	}
	again := srv.call(client, "POST", "/v1/consents", key, body, header)
	expect(t, again, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || again.str("id") != first.str("id") {
		t.Fatalf("second retry: replayed %q id %s, want the first answer %s", again.Header.Get("Idempotent-Replayed"), again.str("id"), first.str("id"))
	}
	list := srv.call(client, "GET", "/v1/consents", key, nil, nil)
	expect(t, list, http.StatusOK)
	if n := len(list.Body["data"].([]any)); n != 1 {
		t.Fatalf("%d consents after a killed call and two retries, want 1: %s", n, list.Raw)
	}
}

// waitForLockWaiter waits until a session of the test database waits on a lock.
func waitForLockWaiter(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the consent call never reached the locked table")
}
