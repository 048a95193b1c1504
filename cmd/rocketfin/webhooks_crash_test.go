package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/sandbox"
)

// TestAWorkerKilledMidDeliveryLosesNoEvent: the process delivering an event is killed (SIGKILL)
// while the receiver holds the request; another process on the same database rescues the job and
// delivers the event again, with the same webhook-id, signed.
func TestAWorkerKilledMidDeliveryLosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	dbURL := dbtest.PostgresURL(t)
	bin := buildRocketfin(t)
	// Both processes open the endpoint's sealed secret: they share the secret key, as replicas must.
	env := []string{"ROCKETFIN_WEBHOOKS_ALLOW_LOOPBACK=true", "ROCKETFIN_JOB_RESCUE_AFTER=30s",
		"ROCKETFIN_SECRET_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))}
	first := startChild(t, bin, dbURL, env...)
	client := &http.Client{Timeout: 10 * time.Second}

	var (
		mu       sync.Mutex
		ids      []string
		verified []bool
		secret   string
	)
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	hold := true
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		wh, _ := standardwebhooks.NewWebhook(secret)
		ids = append(ids, r.Header.Get("webhook-id"))
		verified = append(verified, wh.Verify(body, r.Header) == nil)
		holding := hold
		mu.Unlock()
		arrived <- struct{}{}
		if holding {
			<-release // the worker dies while waiting for this answer
		}
	}))
	defer rec.Close()
	defer close(release)

	r := first.call(client, "POST", "/v1/signup", "", map[string]string{"company_name": "Hooks", "email": "hooks@crash.example", "country": "FR"}, nil)
	expect(t, r, http.StatusCreated)
	var key string
	for _, k := range r.Body["api_keys"].([]any) {
		if m := k.(map[string]any); m["environment"] == "sandbox" {
			key, _ = m["secret"].(string)
		}
	}
	r = first.call(client, "POST", "/v1/webhook-endpoints", key, map[string]any{"url": rec.URL, "events": []string{"company.critical_event"}}, nil)
	expect(t, r, http.StatusCreated)
	mu.Lock()
	secret = r.str("secret")
	mu.Unlock()
	endpoint := r.str("id")
	r = first.call(client, "POST", "/v1/monitors", key, map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}}, nil)
	expect(t, r, http.StatusCreated)
	r = first.call(client, "POST", "/v1/sandbox/monitors/"+r.str("id")+"/simulate", key, map[string]any{"event": "payment_incident"}, nil)
	expect(t, r, http.StatusOK)

	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the first attempt never arrived")
	}
	first.kill()
	mu.Lock()
	hold = false
	mu.Unlock()

	second := startChild(t, bin, dbURL, env...)
	select {
	case <-arrived:
	case <-time.After(100 * time.Second):
		t.Fatalf("the killed attempt was never made again; jobs: %s\nstderr:\n%s", riverJobs(t, dbURL), second.stderr.String())
	}
	mu.Lock()
	if len(ids) != 2 || ids[0] != ids[1] || !verified[1] {
		t.Fatalf("attempts %v (verified %v): want the same webhook-id twice, the second verified", ids, verified)
	}
	mu.Unlock()
	waitFor(t, "the delivery is recorded as succeeded", func() bool {
		d := second.call(client, "GET", "/v1/webhook-endpoints/"+endpoint+"/deliveries", key, nil, nil)
		data, _ := d.Body["data"].([]any)
		return len(data) == 1 && data[0].(map[string]any)["status"] == "succeeded"
	})
}

// riverJobs describes the job queue's rows, for a failure message.
func riverJobs(t *testing.T, dbURL string) string {
	db, err := database.Open(context.Background(), database.Options{URL: dbURL, MaxOpenConns: 1})
	if err != nil {
		return err.Error()
	}
	defer database.Close(db)
	var rows []map[string]any
	if err := db.Raw("SELECT id, kind, state, attempt, attempted_at, scheduled_at, errors::text FROM river_job ORDER BY id").Scan(&rows).Error; err != nil {
		return err.Error()
	}
	var leader []map[string]any
	db.Raw("SELECT * FROM river_leader").Scan(&leader)
	return fmt.Sprintf("%v; leader %v", rows, leader)
}
