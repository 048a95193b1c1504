package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/sandbox"
)

// TestWebhookEndpointsThroughTheAPI: the endpoint routes keep the contract (every answer is
// checked against the OpenAPI document), refuse bad input naming the field, and scope every
// endpoint to its tenant and environment.
func TestWebhookEndpointsThroughTheAPI(t *testing.T) {
	s := startServer(t, nil)
	acme, other := s.signup("hooks@acme.example"), s.signup("hooks@other.example")
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer rec.Close()

	r := s.do("POST", "/v1/webhook-endpoints", acme.Sandbox, map[string]any{"url": rec.URL + "/rf", "events": []string{"score.dropped", "company.critical_event"}, "description": "CRM"})
	expect(t, r, http.StatusCreated)
	id, secret := r.str("id"), r.str("secret")
	if !strings.HasPrefix(id, "we_") || !strings.HasPrefix(secret, "whsec_") || r.str("status") != "enabled" || r.str("secret_last4") != secret[len(secret)-4:] {
		t.Fatalf("created %s", r.Raw)
	}
	for _, path := range []string{"/v1/webhook-endpoints/" + id, "/v1/webhook-endpoints?limit=5"} {
		r = s.do("GET", path, acme.Sandbox, nil)
		expect(t, r, http.StatusOK)
		if strings.Contains(string(r.Raw), secret) || strings.Contains(string(r.Raw), `"secret"`) {
			t.Fatalf("%s shows the secret: %s", path, r.Raw)
		}
	}
	// Another tenant, or the other environment, sees no such endpoint.
	expectProblem(t, s.do("GET", "/v1/webhook-endpoints/"+id, other.Sandbox, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/webhook-endpoints/"+id, acme.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("DELETE", "/v1/webhook-endpoints/"+id, other.Sandbox, nil), http.StatusNotFound, "not_found", "")

	r = s.do("PATCH", "/v1/webhook-endpoints/"+id, acme.Sandbox, map[string]any{"events": []string{"*"}, "status": "disabled"})
	expect(t, r, http.StatusOK)
	if r.str("status") != "disabled" || !strings.Contains(string(r.Raw), `"events":["*"]`) {
		t.Fatalf("patched %s", r.Raw)
	}
	r = s.do("POST", "/v1/webhook-endpoints/"+id+"/rotate-secret", acme.Sandbox, map[string]any{"grace_period_seconds": 3600})
	expect(t, r, http.StatusOK)
	if r.str("secret") == secret || r.str("previous_secret_expires_at") == "" {
		t.Fatalf("rotated %s", r.Raw)
	}
	expectProblem(t, s.do("POST", "/v1/webhook-endpoints/"+id+"/rotate-secret", acme.Sandbox, nil), http.StatusConflict, "conflict", "")
	expect(t, s.do("GET", "/v1/webhook-endpoints/"+id+"/deliveries", acme.Sandbox, nil), http.StatusOK)
	expectProblem(t, s.do("GET", "/v1/webhook-endpoints/"+id+"/deliveries?status=lost", acme.Sandbox, nil), http.StatusBadRequest, "invalid_request", "status")

	for _, c := range []struct {
		key   string
		body  map[string]any
		field string
	}{
		{acme.Sandbox, map[string]any{"events": []string{"*"}}, "url"},
		{acme.Sandbox, map[string]any{"url": rec.URL, "events": []string{}}, "events"},
		{acme.Sandbox, map[string]any{"url": rec.URL, "events": []string{"score.exploded"}}, "events[0]"},
		{acme.Sandbox, map[string]any{"url": "http://169.254.169.254/latest/meta-data", "events": []string{"*"}}, "url"},
		{acme.Sandbox, map[string]any{"url": "http://10.0.0.1/hook", "events": []string{"*"}}, "url"},
		{acme.Sandbox, map[string]any{"url": "http://[::ffff:192.168.0.1]/hook", "events": []string{"*"}}, "url"},
		{acme.Sandbox, map[string]any{"url": "ftp://hooks.example/", "events": []string{"*"}}, "url"},
		{acme.Live, map[string]any{"url": "http://hooks.example/rf", "events": []string{"*"}}, "url"},
		{acme.Sandbox, map[string]any{"url": rec.URL, "events": []string{"*"}, "description": strings.Repeat("x", 201)}, "description"},
	} {
		expectProblem(t, s.do("POST", "/v1/webhook-endpoints", c.key, c.body), http.StatusBadRequest, "invalid_request", c.field)
	}
	expectProblem(t, s.doWith("POST", "/v1/webhook-endpoints", acme.Sandbox, map[string]any{"url": rec.URL, "events": []string{"*"}},
		map[string]string{"Idempotency-Key": "k1"}), http.StatusBadRequest, "invalid_request", "Idempotency-Key")

	// Events: none yet; filters are checked.
	r = s.do("GET", "/v1/events?type=score.dropped", acme.Live, nil)
	expect(t, r, http.StatusOK)
	expectProblem(t, s.do("GET", "/v1/events?type=nope", acme.Live, nil), http.StatusBadRequest, "invalid_request", "type")
	expectProblem(t, s.do("GET", "/v1/events/evt_00000000000000000000000000", acme.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("POST", "/v1/events/evt_00000000000000000000000000/redeliver", acme.Live, nil), http.StatusNotFound, "not_found", "")

	r = s.do("DELETE", "/v1/webhook-endpoints/"+id, acme.Sandbox, nil)
	expect(t, r, http.StatusOK)
	if r.Body["deleted"] != true {
		t.Fatalf("deleted %s", r.Raw)
	}
	expectProblem(t, s.do("GET", "/v1/webhook-endpoints/"+id, acme.Sandbox, nil), http.StatusNotFound, "not_found", "")
}

// TestAWorkerProcessDeliversWhatTheAPIQueued: with ROCKETFIN_BACKGROUND_JOBS=false the API only
// queues deliveries; a `rocketfin worker` on the same database (and secret key) delivers them.
func TestAWorkerProcessDeliversWhatTheAPIQueued(t *testing.T) {
	env := map[string]string{"ROCKETFIN_BACKGROUND_JOBS": "false",
		"ROCKETFIN_SECRET_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}
	s := startServer(t, env)
	a := s.signup("worker@hooks.example")
	var got atomic.Int32
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer rec.Close()
	expect(t, s.do("POST", "/v1/webhook-endpoints", a.Sandbox, map[string]any{"url": rec.URL, "events": []string{"*"}}), http.StatusCreated)
	r := s.do("POST", "/v1/monitors", a.Sandbox, map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}})
	expect(t, r, http.StatusCreated)
	expect(t, s.do("POST", "/v1/sandbox/monitors/"+r.str("id")+"/simulate", a.Sandbox, map[string]any{"event": "payment_incident"}), http.StatusOK)
	time.Sleep(time.Second)
	if n := got.Load(); n != 0 {
		t.Fatalf("the API delivered %d events itself", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"worker"}, func(k string) string { return env[k] }, &bytes.Buffer{},
			func(d *deps) { d.clock = s.clock; d.logOut = &bytes.Buffer{} })
	}()
	waitFor(t, "the worker delivers the events", func() bool { return got.Load() >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
}
