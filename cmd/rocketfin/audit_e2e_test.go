package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMutationsLandInTheAuditTrail: key, consent, settings and operator changes each append an
// event with actor, target, request id and client address; the trail is the caller's tenant's
// and environment's (plus tenant-wide events), and filterable.
func TestMutationsLandInTheAuditTrail(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("eva@audit.example")
	b := s.signup("fox@audit.example")
	key := s.do("POST", "/v1/keys", a.Live, map[string]string{"name": "crm"})
	expect(t, key, http.StatusCreated)
	expect(t, s.do("POST", "/v1/keys/"+key.str("id")+"/rotate", a.Live, nil), http.StatusCreated)
	expect(t, s.do("DELETE", "/v1/keys/"+key.str("id"), a.Live, nil), http.StatusOK)
	con := s.do("POST", "/v1/consents", a.Live, map[string]any{"company_id": "FR-A", "scopes": []string{"bank_data"}, "evidence": "form"})
	expect(t, con, http.StatusCreated)
	expect(t, s.do("DELETE", "/v1/consents/"+con.str("id"), a.Live, nil), http.StatusOK)
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"credits_remaining": 50}), http.StatusOK)
	expect(t, s.do("POST", "/v1/keys", a.Sandbox, map[string]string{"name": "sandbox ci"}), http.StatusCreated)

	r := s.do("GET", "/v1/audit-events?limit=100", a.Live, nil)
	expect(t, r, http.StatusOK)
	actions := map[string]map[string]any{}
	for _, it := range r.Body["data"].([]any) {
		e := it.(map[string]any)
		if e["action"] == "key.created" && e["target"].(map[string]any)["id"] != key.str("id") {
			continue // the signup's own keys
		}
		actions[e["action"].(string)] = e
		if e["request_id"] == "" || e["client_ip"] == "" {
			t.Fatalf("event without request id or address: %v", e)
		}
	}
	for _, want := range []string{"tenant.created", "key.created", "key.rotated", "key.revoked", "consent.created", "consent.withdrawn", "tenant.updated_by_operator"} {
		if actions[want] == nil {
			t.Errorf("no %s event in %s", want, r.Raw)
		}
	}
	if e := actions["tenant.updated_by_operator"]; e != nil {
		before, after := e["before"].(map[string]any), e["after"].(map[string]any)
		if before["credits_remaining"] != float64(5) || after["credits_remaining"] != float64(50) || e["environment"] != nil {
			t.Fatalf("operator event: %v", e)
		}
	}
	if e := actions["key.created"]; e != nil && (e["actor"].(map[string]any)["id"] != s.keyID(a.Live) || e["target"].(map[string]any)["id"] != key.str("id")) {
		t.Fatalf("key event: %v", e)
	}
	if n := len(r.Body["data"].([]any)); n != 8 {
		t.Errorf("%d live and tenant-wide events, want 8: signup (tenant, live key) and six changes (the sandbox keys' are the sandbox's)", n)
	}
	expectProblem(t, s.do("GET", "/v1/audit-events?actor_id=%00", a.Live, nil), http.StatusBadRequest, "invalid_request", "actor_id")
	expectProblem(t, s.do("GET", "/v1/consents?metadata[a]=%ff", a.Live, nil), http.StatusBadRequest, "invalid_request", "metadata[a]")
	if d := s.do("GET", "/v1/audit-events?action=key.revoked", a.Live, nil).Body["data"].([]any); len(d) != 1 {
		t.Errorf("filter by action: %d", len(d))
	}
	for _, it := range s.do("GET", "/v1/audit-events", b.Live, nil).Body["data"].([]any) {
		if id := it.(map[string]any)["target"].(map[string]any)["id"]; id == a.TenantID || id == key.str("id") || id == con.str("id") {
			t.Errorf("tenant B sees A's event on %v", id)
		}
	}
}

// TestFailedAuthenticationsAreAuditedInAggregate: a revoked key tried again and again lands in its
// tenant's trail as one auth.failed event per flush, with the count, the reason and the
// addresses, and no secret; unknown keys name no tenant and land in no trail.
func TestFailedAuthenticationsAreAuditedInAggregate(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_LAST_USED_FLUSH": "50ms"})
	a := s.signup("gil@audit.example")
	extra := s.do("POST", "/v1/keys", a.Live, map[string]string{"name": "leaked"})
	expect(t, extra, http.StatusCreated)
	leaked := extra.str("secret")
	expect(t, s.do("DELETE", "/v1/keys/"+extra.str("id"), a.Live, nil), http.StatusOK)
	for i := 0; i < 3; i++ {
		expectProblem(t, s.do("GET", "/v1/tenant", leaked, nil), http.StatusUnauthorized, "unauthenticated", "")
	}
	// The three failures land in one event per flush (one, or more when a flush fell between them):
	// their counts add up to three.
	var events []any
	total := 0.0
	deadline := time.Now().Add(5 * time.Second)
	for total < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		events = s.do("GET", "/v1/audit-events?action=auth.failed", a.Live, nil).Body["data"].([]any)
		total = 0
		for _, it := range events {
			total += it.(map[string]any)["after"].(map[string]any)["count"].(float64)
		}
	}
	if total != 3 || len(events) == 0 || len(events) > 3 {
		t.Fatalf("want the three failures in aggregated events, got %v", events)
	}
	for _, it := range events {
		e := it.(map[string]any)
		after := e["after"].(map[string]any)
		if after["reason"] != "revoked" || dig(e, "actor", "id") != extra.str("id") ||
			len(after["addresses"].([]any)) != 1 || strings.Contains(fmt.Sprint(e), leaked) {
			t.Fatalf("aggregated event: %v", e)
		}
	}
}
