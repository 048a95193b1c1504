package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/rocketfin/rocketfin/internal/oidctest"
	"github.com/rocketfin/rocketfin/sandbox"
)

// hookReceiver is a customer's webhook endpoint on loopback that verifies every request with the
// Standard Webhooks reference library.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []hookRequest
}

type hookRequest struct {
	ID       string
	Type     string
	Data     map[string]any
	Verified bool
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		req := hookRequest{ID: r.Header.Get("webhook-id")}
		if wh, err := standardwebhooks.NewWebhook(h.secret); err == nil {
			req.Verified = wh.Verify(body, r.Header) == nil
		}
		var m struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(body, &m)
		req.Type, req.Data = m.Type, m.Data
		h.got = append(h.got, req)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) received() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// register makes a webhook endpoint for the receiver with key, subscribed to events.
func (h *hookReceiver) register(t *testing.T, s *testServer, key string, events ...string) string {
	t.Helper()
	r := s.do("POST", "/v1/webhook-endpoints", key, map[string]any{"url": h.srv.URL + "/rocketfin", "events": events})
	expect(t, r, http.StatusCreated)
	h.mu.Lock()
	h.secret = r.str("secret")
	h.mu.Unlock()
	return r.str("id")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

func monitorBody(n int) map[string]any {
	b := liveBody(n)
	delete(b, "request")
	b["alert"] = map[string]any{"score_drop_points": 40, "grade_notches": 1}
	return b
}

// TestACollectiveProceedingIsDeliveredOnceSigned: a live monitor (charged as one scoring call)
// gets a collective proceeding; exactly one company.critical_event reaches the customer's endpoint,
// signed so that the reference library verifies it, and the re-score is not charged.
func TestACollectiveProceedingIsDeliveredOnceSigned(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("monitor@acme.example")
	hook := newHookReceiver(t)
	endpoint := hook.register(t, s, a.Live, "company.critical_event")

	r := s.do("POST", "/v1/monitors", a.Live, monitorBody(1))
	expect(t, r, http.StatusCreated)
	id := r.str("id")
	if !strings.HasPrefix(id, "mon_") || r.str("status") != "active" || r.str("alert_state") != "ok" ||
		r.str("decision", "id") != r.str("last_decision_id") || dig(r.Body, "decision", "credits_remaining") != 4.0 {
		t.Fatalf("monitor %s", r.Raw)
	}
	first := r.str("last_decision_id")
	// The same company again: 409 naming the monitor, nothing charged.
	r = s.do("POST", "/v1/monitors", a.Live, monitorBody(1))
	expectProblem(t, r, http.StatusConflict, "conflict", "")
	if !strings.Contains(r.str("detail"), id) {
		t.Fatalf("the conflict does not name %s: %s", id, r.Raw)
	}

	r = s.do("POST", "/v1/monitors/"+id+"/data", a.Live, map[string]any{
		"legal_events": []map[string]any{{"type": "collective_proceeding", "date": "2026-10-20"}}})
	expect(t, r, http.StatusOK)
	var types []string
	for _, e := range r.Body["events"].([]any) {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	if !strings.Contains(strings.Join(types, " "), "company.critical_event") || !strings.Contains(strings.Join(types, " "), "score.updated") ||
		r.str("monitor", "alert_state") != "alerting" || r.str("decision", "cause") != "data_added" {
		t.Fatalf("re-score %s", r.Raw)
	}
	second := r.str("decision", "id")
	// The new decision is a record of its own, linked to the monitor's previous one.
	expect(t, s.do("GET", "/v1/scores/"+second, a.Live, nil), http.StatusOK)
	if second == first {
		t.Fatal("the re-score made no new decision")
	}

	waitFor(t, "the critical event is delivered", func() bool { return len(hook.received()) >= 1 })
	time.Sleep(500 * time.Millisecond) // a duplicate would have arrived by now
	got := hook.received()
	if len(got) != 1 || got[0].Type != "company.critical_event" || !got[0].Verified ||
		dig(got[0].Data, "event", "type") != "collective_proceeding" || dig(got[0].Data, "monitor", "id") != id {
		t.Fatalf("received %+v", got)
	}
	ev := s.do("GET", "/v1/events/"+got[0].ID, a.Live, nil)
	expect(t, ev, http.StatusOK)
	if ev.str("type") != "company.critical_event" || ev.str("company_id") != "FR-LIVE-1" {
		t.Fatalf("event %s", ev.Raw)
	}
	waitFor(t, "the delivery is recorded", func() bool {
		d := s.do("GET", "/v1/webhook-endpoints/"+endpoint+"/deliveries", a.Live, nil)
		data, _ := d.Body["data"].([]any)
		return len(data) == 1 && data[0].(map[string]any)["status"] == "succeeded"
	})
	// Monitoring re-scores are not charged: the trial still has 4 credits.
	if tr := s.do("GET", "/v1/tenant", a.Live, nil); dig(tr.Body, "credits_remaining") != 4.0 {
		t.Fatalf("tenant after the re-score: %s", tr.Raw)
	}
	list := s.do("GET", "/v1/events?company_id=FR-LIVE-1&type=score.updated", a.Live, nil)
	expect(t, list, http.StatusOK)
	if n := len(list.Body["data"].([]any)); n != 1 {
		t.Fatalf("%d score.updated events: %s", n, list.Raw)
	}
	mons := s.do("GET", "/v1/monitors?alert_state=alerting", a.Live, nil)
	expect(t, mons, http.StatusOK)
	if n := len(mons.Body["data"].([]any)); n != 1 {
		t.Fatalf("%d alerting monitors", n)
	}
	// Acknowledged, the alert clears; paused, the monitor refuses data.
	r = s.do("PATCH", "/v1/monitors/"+id, a.Live, map[string]any{"alert_state": "ok", "status": "paused"})
	expect(t, r, http.StatusOK)
	if r.str("alert_state") != "ok" || r.str("status") != "paused" {
		t.Fatalf("patched %s", r.Raw)
	}
	expectProblem(t, s.do("POST", "/v1/monitors/"+id+"/data", a.Live, map[string]any{"payments": map[string]any{"incidents_12m": 1}}),
		http.StatusConflict, "conflict", "")
}

// TestSandboxSimulationsTriggerEachEvent: each simulated event reaches a sandbox endpoint.
func TestSandboxSimulationsTriggerEachEvent(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("simulate@acme.example")
	hook := newHookReceiver(t)
	hook.register(t, s, a.Sandbox, "*")
	var accept string
	for _, c := range sandbox.Companies() {
		if c.Recommendation == "accept" {
			accept = c.ID
			break
		}
	}
	r := s.do("POST", "/v1/monitors", a.Sandbox, map[string]any{"company": map[string]any{"id": accept}})
	expect(t, r, http.StatusCreated)
	id := r.str("id")
	expectProblem(t, s.do("POST", "/v1/sandbox/monitors/"+id+"/simulate", a.Live, map[string]any{"event": "score_drop"}), http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("POST", "/v1/sandbox/monitors/"+id+"/simulate", a.Sandbox, map[string]any{"event": "meteor"}), http.StatusBadRequest, "invalid_request", "event")
	for _, c := range []struct{ event, want string }{
		{"score_drop", "score.dropped"}, {"payment_incident", "company.critical_event"}, {"collective_proceeding", "company.critical_event"},
	} {
		r := s.do("POST", "/v1/sandbox/monitors/"+id+"/simulate", a.Sandbox, map[string]any{"event": c.event})
		expect(t, r, http.StatusOK)
		if !strings.Contains(string(r.Raw), `"type":"`+c.want+`"`) {
			t.Fatalf("%s: %s", c.event, r.Raw)
		}
		waitFor(t, c.want+" is delivered", func() bool {
			for _, g := range hook.received() {
				if g.Type == c.want && g.Verified {
					return true
				}
			}
			return false
		})
	}
}

// TestMonitorInputIsChecked: bad input names the field and charges nothing.
func TestMonitorInputIsChecked(t *testing.T) {
	s := startServer(t, nil)
	a, other := s.signup("checks@acme.example"), s.signup("checks@other.example")
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"company": map[string]any{"id": "FR-1"}, "payments": map[string]any{"incidents_12m": 0}, "alert": map[string]any{"score_drop_points": 0}}, "alert.score_drop_points"},
		{map[string]any{"company": map[string]any{"id": "FR-1"}, "payments": map[string]any{"incidents_12m": 0}, "alert": map[string]any{"grade_notches": "two"}}, "alert.grade_notches"},
		{map[string]any{"company": map[string]any{"id": "FR-1"}, "payments": map[string]any{"incidents_12m": 0}, "request": map[string]any{"amount": 1}}, "request"},
		{map[string]any{"company": map[string]any{"id": "FR-1"}, "financials": []map[string]any{{"period_end": "2025-12-31", "currency": "euro"}}}, "financials[0].currency"},
	} {
		expectProblem(t, s.do("POST", "/v1/monitors", a.Live, c.body), http.StatusBadRequest, "invalid_request", c.field)
	}
	if tr := s.do("GET", "/v1/tenant", a.Live, nil); dig(tr.Body, "credits_remaining") != 5.0 {
		t.Fatalf("a refused monitor spent a credit: %s", tr.Raw)
	}
	r := s.do("POST", "/v1/monitors", a.Live, monitorBody(2))
	expect(t, r, http.StatusCreated)
	id := r.str("id")
	expectProblem(t, s.do("POST", "/v1/monitors/"+id+"/data", a.Live, map[string]any{}), http.StatusBadRequest, "invalid_request", "body")
	expectProblem(t, s.do("POST", "/v1/monitors/"+id+"/data", a.Live, map[string]any{"bank": map[string]any{"months": []map[string]any{{"month": "2026-13"}}}}),
		http.StatusBadRequest, "invalid_request", "bank.months[0].month")
	expectProblem(t, s.do("GET", "/v1/monitors/"+id, other.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/monitors/"+id, a.Sandbox, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("POST", "/v1/monitors/"+id+"/data", other.Live, map[string]any{"payments": map[string]any{"incidents_12m": 1}}), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/monitors?grade=Z9", a.Live, nil), http.StatusBadRequest, "invalid_request", "grade")
	r = s.do("DELETE", "/v1/monitors/"+id, a.Live, nil)
	expect(t, r, http.StatusOK)
	expectProblem(t, s.do("GET", "/v1/monitors/"+id, a.Live, nil), http.StatusNotFound, "not_found", "")
}

// TestTheSweepPausesMonitorsWhenTheTrialEnds: the daily sweep (run now by the operator) pauses the
// monitors of a trial that ended and emits monitor.paused.
func TestTheSweepPausesMonitorsWhenTheTrialEnds(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("sweep@acme.example")
	hook := newHookReceiver(t)
	hook.register(t, s, a.Live, "monitor.paused")
	r := s.do("POST", "/v1/monitors", a.Live, monitorBody(3))
	expect(t, r, http.StatusCreated)
	id := r.str("id")
	sw := s.do("POST", "/admin/v1/monitoring/sweep", operatorToken, nil)
	expect(t, sw, http.StatusOK)
	if dig(sw.Body, "seen") != 1.0 || dig(sw.Body, "paused") != 0.0 || dig(sw.Body, "unchanged") != 1.0 {
		t.Fatalf("sweep during the trial: %s", sw.Raw)
	}
	s.clock.Advance(15 * 24 * time.Hour)
	sw = s.do("POST", "/admin/v1/monitoring/sweep", operatorToken, nil)
	expect(t, sw, http.StatusOK)
	if dig(sw.Body, "paused") != 1.0 {
		t.Fatalf("sweep after the trial: %s", sw.Raw)
	}
	m := s.do("GET", "/v1/monitors/"+id, a.Live, nil)
	if m.str("status") != "paused" || !strings.Contains(m.str("paused_reason"), "trial") {
		t.Fatalf("monitor %s", m.Raw)
	}
	waitFor(t, "monitor.paused is delivered", func() bool {
		got := hook.received()
		return len(got) == 1 && got[0].Type == "monitor.paused" && got[0].Verified
	})
	expectProblem(t, s.do("PATCH", "/v1/monitors/"+id, a.Live, map[string]any{"status": "active"}), http.StatusConflict, "conflict", "")
}

// TestATrialMonitorsAtMostFiveCompanies: with credits to spare, the sixth live monitor of a trial
// is refused (409) and charges nothing; a subscribed tenant is not held to it.
func TestATrialMonitorsAtMostFiveCompanies(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("five@acme.example")
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"credits_remaining": 20}), http.StatusOK)
	for i := range 5 {
		expect(t, s.do("POST", "/v1/monitors", a.Live, monitorBody(100+i)), http.StatusCreated)
	}
	r := s.do("POST", "/v1/monitors", a.Live, monitorBody(105))
	expectProblem(t, r, http.StatusConflict, "conflict", "")
	if !strings.Contains(r.str("detail"), "trial") {
		t.Fatalf("refusal %s", r.Raw)
	}
	if tr := s.do("GET", "/v1/tenant", a.Live, nil); dig(tr.Body, "credits_remaining") != 15.0 {
		t.Fatalf("the refused monitor spent a credit: %s", tr.Raw)
	}
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	expect(t, s.do("POST", "/v1/monitors", a.Live, monitorBody(105)), http.StatusCreated)
}

// TestTheConsoleShowsMonitorsEndpointsAndADisabledEndpoint: the monitoring page lists the
// environment's monitors and endpoints, and warns when an endpoint was disabled.
func TestTheConsoleShowsMonitorsEndpointsAndADisabledEndpoint(t *testing.T) {
	users := []oidctest.User{{ID: "u-own", Username: "own", Password: "pw-own", Email: "owner@console-mon.example", EmailVerified: true}}
	s, op := consoleEnv(t, users)
	a := s.signup("owner@console-mon.example")
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer gone.Close()
	expect(t, s.do("POST", "/v1/webhook-endpoints", a.Sandbox, map[string]any{"url": gone.URL + "/gone", "events": []string{"*"}}), http.StatusCreated)
	r := s.do("POST", "/v1/monitors", a.Sandbox, map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}})
	expect(t, r, http.StatusCreated)
	expect(t, s.do("POST", "/v1/sandbox/monitors/"+r.str("id")+"/simulate", a.Sandbox, map[string]any{"event": "payment_incident"}), http.StatusOK)
	waitFor(t, "the endpoint is disabled", func() bool {
		e := s.do("GET", "/v1/events?type=webhook_endpoint.disabled", a.Sandbox, nil)
		return len(e.Body["data"].([]any)) == 1
	})
	b := newBrowser(t, s)
	if code, body := b.signIn(op, "own", "pw-own"); code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	res, err := b.client.Get(s.base + "/console/monitoring") // a session starts in the sandbox
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(raw)
	for _, want := range []string{sandbox.Companies()[0].ID, gone.URL + "/gone", "disabled recently", "410 Gone", "company.critical_event"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the monitoring page lacks %q:\n%s", want, page)
		}
	}
}

// TestPuttingACompanyUnderWatchHonoursTheIdempotencyKey: POST /v1/monitors creates and charges,
// so it takes an Idempotency-Key: a retry answers the first 201 byte for byte and charges nothing
// more, another body with the key is 409, and the same key on POST /v1/scores is another key.
func TestPuttingACompanyUnderWatchHonoursTheIdempotencyKey(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("idem-monitor@acme.example")
	key := map[string]string{"Idempotency-Key": "watch-FR-1"}
	first := s.doWith("POST", "/v1/monitors", a.Live, monitorBody(11), key)
	expect(t, first, http.StatusCreated)
	again := s.doWith("POST", "/v1/monitors", a.Live, monitorBody(11), key)
	expect(t, again, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Raw) != string(first.Raw) {
		t.Fatalf("the retry answered (replayed %q)\n%s\nthe first answer was\n%s", again.Header.Get("Idempotent-Replayed"), again.Raw, first.Raw)
	}
	other := monitorBody(11)
	other["alert"] = map[string]any{"score_drop_points": 90}
	expectProblem(t, s.doWith("POST", "/v1/monitors", a.Live, other, key), http.StatusConflict, "idempotency_conflict", "")
	// the key of POST /v1/scores is another key: a new scoring call, charged
	r := s.doWith("POST", "/v1/scores", a.Live, liveBody(12), key)
	expect(t, r, http.StatusOK)
	if r.Header.Get("Idempotent-Replayed") == "true" {
		t.Fatalf("POST /v1/scores replayed the monitor's key: %s", r.Raw)
	}
	tenant := s.do("GET", "/v1/tenant", a.Live, nil)
	if credits := dig(tenant.Body, "credits_remaining"); credits != 3.0 {
		t.Fatalf("%v credits left after one monitor and one score, want 3", credits)
	}
}
