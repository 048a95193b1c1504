package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/sandbox"
)

// liveBody is a plausible live request for company n.
func liveBody(n int) map[string]any {
	return map[string]any{
		"company": map[string]any{"id": fmt.Sprintf("FR-LIVE-%d", n), "id_type": "other", "name": "Client " + fmt.Sprint(n), "country": "FR", "nace": "46.90", "legal_form": "SAS", "incorporated_on": "2012-03-01"},
		"financials": []map[string]any{{
			"period_end": "2025-12-31", "currency": "EUR", "total_assets": 1_200_000, "current_assets": 700_000, "cash": 90_000,
			"receivables": 300_000, "inventory": 200_000, "total_liabilities": 700_000, "current_liabilities": 400_000,
			"equity": 500_000, "retained_earnings": 300_000, "revenue": 2_400_000, "ebit": 180_000, "net_income": 120_000,
			"interest_expense": 15_000, "depreciation": 40_000,
		}},
		"payments": map[string]any{"days_beyond_terms_avg": 3, "incidents_12m": 0, "late_invoice_ratio": 0.05},
		"request":  map[string]any{"amount": 50_000, "currency": "EUR", "terms_days": 60},
	}
}

// unlimit lifts a tenant's rate limit so that load tests measure the rest.
func (s *testServer) unlimit(tenantID string) {
	s.t.Helper()
	expect(s.t, s.do("PATCH", "/admin/v1/tenants/"+tenantID, operatorToken,
		map[string]any{"rate_limit": map[string]any{"per_second": 100000, "burst": 100000}}), http.StatusOK)
}

// counts reads how many decisions and usage events a tenant has.
func counts(t *testing.T, dbURL, tenantID, env string) (decisions, usage, outbox int64) {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	db.Table("decisions").Where("tenant_id = ? AND environment = ?", tenantID, env).Count(&decisions)
	db.Table("usage_events").Where("tenant_id = ? AND environment = ?", tenantID, env).Count(&usage)
	db.Table("outbox").Where("tenant_id = ?", tenantID).Count(&outbox)
	return
}

// monthlySpend is what a tenant spent against its cap, all months together.
func monthlySpend(t *testing.T, dbURL, tenantID string) int64 {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{URL: dbURL, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	var n int64
	if err := db.Raw("SELECT COALESCE(SUM(amount), 0) FROM monthly_spend WHERE tenant_id = ?", tenantID).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrialSpendsOneCreditPerLiveCallThenRefuses(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ana@trial.example")
	for want := 4; want >= 0; want-- {
		r := s.do("POST", "/v1/scores", a.Live, liveBody(want))
		expect(t, r, http.StatusOK)
		if r.Body["credits_remaining"] != float64(want) {
			t.Fatalf("credits_remaining %v, want %d", r.Body["credits_remaining"], want)
		}
		if !strings.HasPrefix(r.str("id"), "sc_") || r.str("object") != "score" || r.str("environment") != "live" ||
			r.str("model_version") == "" || r.str("recommendation") == "" || r.Body["score"] == nil || r.Body["pd_12m"] == nil {
			t.Fatalf("score answer lacks contract fields: %s", r.Raw)
		}
		if r.Header.Get("RateLimit-Policy") == "" || r.Header.Get("RateLimit") == "" {
			t.Fatal("no RateLimit headers")
		}
	}
	expectProblem(t, s.do("POST", "/v1/scores", a.Live, liveBody(9)), http.StatusPaymentRequired, "credits_exhausted", "")
	tenant := s.do("GET", "/v1/tenant", a.Live, nil)
	if tenant.Body["credits_remaining"] != float64(0) {
		t.Fatalf("tenant credits %v, want 0", tenant.Body["credits_remaining"])
	}
	// the sandbox stays free and unlimited
	for i := 0; i < 3; i++ {
		expect(t, s.do("POST", "/v1/scores", a.Sandbox, map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}}), http.StatusOK)
	}
}

func TestTrialExpiresAfterFourteenDays(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("bea@trial.example")
	expect(t, s.do("POST", "/v1/scores", a.Live, liveBody(1)), http.StatusOK)
	s.clock.Advance(14 * 24 * time.Hour)
	expectProblem(t, s.do("POST", "/v1/scores", a.Live, liveBody(2)), http.StatusPaymentRequired, "trial_expired", "")
	// the operator extends the trial
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken,
		map[string]any{"trial_ends_at": s.clock.Now().Add(7 * 24 * time.Hour).Format(time.RFC3339)}), http.StatusOK)
	s.clock.Advance(2 * time.Second) // past the one-second tenant cache
	r := s.do("POST", "/v1/scores", a.Live, liveBody(3))
	expect(t, r, http.StatusOK)
	if r.Body["credits_remaining"] != float64(3) {
		t.Fatalf("credits_remaining %v after extension, want 3", r.Body["credits_remaining"])
	}
}

func TestConcurrentLiveCallsSpendExactlyTheCredits(t *testing.T) {
	dbURL := ""
	s := startServer(t, nil)
	dbURL = s.env["DATABASE_URL"]
	a := s.signup("cid@trial.example")
	s.unlimit(a.TenantID)
	statuses := hammer(s, a.Live, 200, func(i int) any { return liveBody(i) }, nil)
	if statuses[200] != 5 || statuses[402] != 195 {
		t.Fatalf("statuses %v, want 5×200 and 195×402", statuses)
	}
	dec, use, _ := counts(t, dbURL, a.TenantID, "live")
	if dec != 5 || use != 5 {
		t.Fatalf("%d decisions and %d usage events, want 5 and 5", dec, use)
	}
	if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["credits_remaining"] != float64(0) {
		t.Fatalf("credits_remaining %v, want 0", r.Body["credits_remaining"])
	}
}

func TestConcurrentMeteredCallsRespectTheMonthlyCap(t *testing.T) {
	s := startServer(t, map[string]string{"ROCKETFIN_PRICE_PER_ANALYSIS": "150"})
	a := s.signup("dan@metered.example")
	s.unlimit(a.TenantID)
	expectProblem(t, s.do("PATCH", "/v1/tenant", a.Live, map[string]any{"monthly_cap": map[string]any{"amount": 750, "currency": "EUR"}}),
		http.StatusConflict, "conflict", "") // still on its trial: nothing is metered to cap
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	s.clock.Advance(2 * time.Second)
	expectProblem(t, s.do("PATCH", "/v1/tenant", a.Live, map[string]any{"monthly_cap": map[string]any{"currency": "EUR"}}),
		http.StatusBadRequest, "invalid_request", "monthly_cap.amount") // once a zero cap
	expectProblem(t, s.do("PATCH", "/v1/tenant", a.Sandbox, map[string]any{"monthly_cap": map[string]any{"amount": 750, "currency": "EUR"}}),
		http.StatusForbidden, "forbidden", "")
	expectProblem(t, s.do("PATCH", "/v1/tenant", a.Live, map[string]any{"monthly_cap": map[string]any{"amount": 750, "currency": "USD"}}),
		http.StatusBadRequest, "invalid_request", "monthly_cap.currency")
	r := s.do("PATCH", "/v1/tenant", a.Live, map[string]any{"monthly_cap": map[string]any{"amount": 750, "currency": "EUR"}})
	expect(t, r, http.StatusOK)
	if dig(r.Body, "monthly_cap", "amount") != float64(750) {
		t.Fatalf("monthly_cap not set: %s", r.Raw)
	}
	s.clock.Advance(2 * time.Second)
	statuses := hammer(s, a.Live, 200, func(i int) any { return liveBody(i) }, nil)
	if statuses[200] != 5 || statuses[402] != 195 {
		t.Fatalf("statuses %v, want 5×200 and 195×402 under a cap of 5 analyses", statuses)
	}
	dec, use, outbox := counts(t, s.env["DATABASE_URL"], a.TenantID, "live")
	if dec != 5 || use != 5 || outbox != 5 {
		t.Fatalf("%d decisions, %d usage events, %d outbox rows; want 5 each", dec, use, outbox)
	}
	// removing the cap lets metered calls through again
	expect(t, s.do("PATCH", "/v1/tenant", a.Live, `{"monthly_cap": null}`), http.StatusOK)
	r = s.do("POST", "/v1/scores", a.Live, liveBody(1))
	expect(t, r, http.StatusOK)
	if r.Body["credits_remaining"] != nil {
		t.Fatalf("a metered call shows credits_remaining %v, want null", r.Body["credits_remaining"])
	}
}

// hammer sends n concurrent POST /v1/scores and counts the statuses.
func hammer(s *testServer, key string, n int, body func(int) any, header map[string]string) map[int]int {
	s.t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			st := s.post(key, body(i), header).Status
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	return statuses
}

// post sends POST /v1/scores with extra headers.
func (s *testServer) post(key string, body any, header map[string]string) response {
	return s.doWith("POST", "/v1/scores", key, body, header)
}

func TestOneIdempotencyKeyChargesOnceUnderConcurrency(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("eli@idem.example")
	s.unlimit(a.TenantID)
	var mu sync.Mutex
	bodies := map[string]int{}
	replayed := 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.post(a.Live, liveBody(7), map[string]string{"Idempotency-Key": "order-7"})
			mu.Lock()
			defer mu.Unlock()
			if r.Status != http.StatusOK {
				t.Errorf("status %d: %s", r.Status, r.Raw)
				return
			}
			bodies[string(r.Raw)]++
			if r.Header.Get("Idempotent-Replayed") == "true" {
				replayed++
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(bodies) != 1 || replayed != 49 {
		t.Fatalf("%d distinct bodies and %d replays, want 1 and 49", len(bodies), replayed)
	}
	dec, use, _ := counts(t, s.env["DATABASE_URL"], a.TenantID, "live")
	if dec != 1 || use != 1 {
		t.Fatalf("%d decisions and %d usage events, want 1 and 1", dec, use)
	}
	if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["credits_remaining"] != float64(4) {
		t.Fatalf("credits_remaining %v, want 4", r.Body["credits_remaining"])
	}
	other := liveBody(8)
	expectProblem(t, s.post(a.Live, other, map[string]string{"Idempotency-Key": "order-7"}), http.StatusConflict, "idempotency_conflict", "")
	// the same key in the sandbox is another key
	expect(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}}, map[string]string{"Idempotency-Key": "order-7"}), http.StatusOK)
}

func TestFailedCallsChargeNothingAndLeaveTheIdempotencyKeyFree(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "model crashed", http.StatusInternalServerError)
	}))
	defer failing.Close()
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release)

	for name, env := range map[string]map[string]string{
		"core fails":     {"ROCKETFIN_SCORING_URL": failing.URL},
		"core times out": {"ROCKETFIN_SCORING_URL": hanging.URL, "ROCKETFIN_SCORING_TIMEOUT": "150ms"},
	} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, env)
			a := s.signup("fay@fail.example")
			r := s.post(a.Live, liveBody(1), map[string]string{"Idempotency-Key": "retry-me"})
			expectProblem(t, r, http.StatusServiceUnavailable, "scoring_unavailable", "")
			dec, use, _ := counts(t, s.env["DATABASE_URL"], a.TenantID, "live")
			if dec != 0 || use != 0 {
				t.Fatalf("a failed call left %d decisions and %d usage events", dec, use)
			}
			if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["credits_remaining"] != float64(5) {
				t.Fatalf("credits_remaining %v after a failure, want 5", r.Body["credits_remaining"])
			}
		})
	}

	s := startServer(t, nil)
	a := s.signup("gus@fail.example")
	// a 4xx charges nothing and leaves the key free
	bad := liveBody(1)
	bad["financials"].([]map[string]any)[0]["currency"] = "euros"
	expectProblem(t, s.post(a.Live, bad, map[string]string{"Idempotency-Key": "k1"}), http.StatusBadRequest, "invalid_request", "financials[0].currency")
	r := s.post(a.Live, liveBody(1), map[string]string{"Idempotency-Key": "k1"})
	expect(t, r, http.StatusOK)
	if r.Header.Get("Idempotent-Replayed") != "" || r.Body["credits_remaining"] != float64(4) {
		t.Fatalf("the key was not free after a 400: replayed=%q credits=%v", r.Header.Get("Idempotent-Replayed"), r.Body["credits_remaining"])
	}
	// a rate-limited call charges nothing
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"rate_limit": map[string]any{"per_second": 0.001, "burst": 1}}), http.StatusOK)
	s.clock.Advance(2 * time.Second)
	expect(t, s.post(a.Live, liveBody(2), nil), http.StatusOK)
	limited := s.post(a.Live, liveBody(3), nil)
	expectProblem(t, limited, http.StatusTooManyRequests, "rate_limited", "")
	if limited.Header.Get("Retry-After") == "" || limited.Header.Get("RateLimit-Policy") == "" || !strings.Contains(limited.Header.Get("RateLimit"), "r=0") {
		t.Fatalf("429 headers: Retry-After %q, RateLimit-Policy %q, RateLimit %q", limited.Header.Get("Retry-After"), limited.Header.Get("RateLimit-Policy"), limited.Header.Get("RateLimit"))
	}
	if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["credits_remaining"] != float64(3) {
		t.Fatalf("credits_remaining %v, want 3 (two charged calls)", r.Body["credits_remaining"])
	}
}

func TestBankDataAndSoleTradersNeedAnActiveConsent(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("hal@consent.example")
	body := liveBody(1)
	body["bank"] = map[string]any{"months": []map[string]any{
		{"month": "2026-09", "inflows": 200000, "outflows": 190000, "min_balance": 10000, "end_balance": 30000},
		{"month": "2026-10", "inflows": 210000, "outflows": 200000, "min_balance": 12000, "end_balance": 40000},
	}}
	expectProblem(t, s.post(a.Live, body, nil), http.StatusForbidden, "consent_required", "")
	sole := liveBody(2)
	sole["company"].(map[string]any)["legal_form"] = "EI"
	expectProblem(t, s.post(a.Live, sole, nil), http.StatusForbidden, "consent_required", "")
	if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["credits_remaining"] != float64(5) {
		t.Fatalf("a refused call spent a credit: %v", r.Body["credits_remaining"])
	}

	expectProblem(t, s.do("POST", "/v1/consents", a.Live, map[string]any{"company_id": "FR-LIVE-1", "scopes": []string{"bank"}, "evidence": "form 12", "expires_at": s.clock.Now().Add(time.Hour)}),
		http.StatusBadRequest, "invalid_request", "scopes[0]")
	c := s.do("POST", "/v1/consents", a.Live, map[string]any{"company_id": "FR-LIVE-1", "scopes": []string{"bank_data"}, "evidence": "signed form 12", "expires_at": s.clock.Now().Add(90 * 24 * time.Hour)})
	expect(t, c, http.StatusCreated)
	consentID := c.str("id")
	if !strings.HasPrefix(consentID, "con_") || c.str("status") != "active" {
		t.Fatalf("consent = %s", c.Raw)
	}
	// a live consent is not visible from the sandbox nor from another tenant; a malformed id is 404
	other := s.signup("ida@consent.example")
	for _, key := range []string{a.Sandbox, other.Live} {
		expectProblem(t, s.do("GET", "/v1/consents/"+consentID, key, nil), http.StatusNotFound, "not_found", "")
		expectProblem(t, s.do("DELETE", "/v1/consents/"+consentID, key, nil), http.StatusNotFound, "not_found", "")
	}
	expectProblem(t, s.do("GET", "/v1/consents/con_", a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/consents?starting_after=x", a.Live, nil), http.StatusBadRequest, "invalid_request", "starting_after")

	r := s.post(a.Live, body, nil)
	expect(t, r, http.StatusOK)
	rec := s.do("GET", "/v1/scores/"+r.str("id"), a.Live, nil)
	expect(t, rec, http.StatusOK)
	if rec.str("consent_id") != consentID {
		t.Fatalf("decision consent_id %q, want %q", rec.str("consent_id"), consentID)
	}
	list := s.do("GET", "/v1/consents?company_id=FR-LIVE-1", a.Live, nil)
	if len(list.Body["data"].([]any)) != 1 {
		t.Fatalf("consent list = %s", list.Raw)
	}

	expect(t, s.do("DELETE", "/v1/consents/"+consentID, a.Live, nil), http.StatusOK)
	expectProblem(t, s.post(a.Live, body, nil), http.StatusForbidden, "consent_required", "")
}

func TestScoresAreVisibleOnlyToTheirTenantAndEnvironment(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ivo@scope.example")
	b := s.signup("jon@scope.example")
	live := s.post(a.Live, liveBody(1), nil)
	expect(t, live, http.StatusOK)
	sb := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": sandbox.Companies()[1].ID}}, nil)
	expect(t, sb, http.StatusOK)

	rec := s.do("GET", "/v1/scores/"+live.str("id"), a.Live, nil)
	expect(t, rec, http.StatusOK)
	if rec.str("key_id") == "" || rec.str("request_id") != live.Header.Get("X-Request-Id") || rec.str("model_version") == "" ||
		dig(rec.Body, "input", "company", "id") != "FR-LIVE-1" {
		t.Fatalf("decision record = %s", rec.Raw)
	}
	expectProblem(t, s.do("GET", "/v1/scores/"+live.str("id"), b.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/scores/"+live.str("id"), a.Sandbox, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/scores/"+sb.str("id"), a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/scores/sc_bogus", a.Live, nil), http.StatusNotFound, "not_found", "")
	expectProblem(t, s.do("GET", "/v1/scores?starting_after=bogus", a.Live, nil), http.StatusBadRequest, "invalid_request", "starting_after")
	for _, bad := range []string{"%00", "%FF", "%C3%28"} {
		expectProblem(t, s.do("GET", "/v1/scores?company_id="+bad, a.Live, nil), http.StatusBadRequest, "invalid_request", "company_id")
		expectProblem(t, s.do("GET", "/v1/consents?company_id="+bad, a.Live, nil), http.StatusBadRequest, "invalid_request", "company_id")
	}

	for i := 2; i <= 3; i++ {
		expect(t, s.post(a.Live, liveBody(i), nil), http.StatusOK)
	}
	all := s.do("GET", "/v1/scores", a.Live, nil)
	if n := len(all.Body["data"].([]any)); n != 3 {
		t.Fatalf("live list holds %d scores, want 3", n)
	}
	one := s.do("GET", "/v1/scores?company_id=FR-LIVE-2", a.Live, nil)
	if n := len(one.Body["data"].([]any)); n != 1 {
		t.Fatalf("filtered list holds %d scores, want 1", n)
	}
	if n := len(s.do("GET", "/v1/scores", b.Live, nil).Body["data"].([]any)); n != 0 {
		t.Fatalf("tenant B lists %d of A's scores", n)
	}
}

func TestSandboxScoresOnlyTheCatalogAndMatchesItsExpectations(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("kai@sandbox.example")
	s.unlimit(a.TenantID)
	list := s.do("GET", "/v1/sandbox/companies", a.Sandbox, nil)
	expect(t, list, http.StatusOK)
	companies := list.Body["data"].([]any)
	if len(companies) < 20 {
		t.Fatalf("catalog holds %d companies, want at least 20", len(companies))
	}
	for _, c := range companies {
		m := c.(map[string]any)
		if scopes := m["consent_scopes"].([]any); len(scopes) > 0 {
			// A sole trader: the sandbox asks for a consent as live does.
			expectProblem(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": m["id"]}}, nil), http.StatusForbidden, "consent_required", "")
			s.consentFor(a.Sandbox, m["id"].(string))
		}
		r := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": m["id"]}}, nil)
		expect(t, r, http.StatusOK)
		if r.str("recommendation") != m["recommendation"] {
			t.Errorf("%s: recommendation %q, catalog says %q", m["id"], r.str("recommendation"), m["recommendation"])
		}
		if r.Body["credits_remaining"] != nil || r.str("environment") != "sandbox" {
			t.Errorf("sandbox answer: %s", r.Raw)
		}
	}
	expectProblem(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": "FR-REAL-1"}}, nil), http.StatusBadRequest, "invalid_request", "company.id")

	// The same body again is a new decision with the same scoring; another language changes only the texts.
	first := companies[0].(map[string]any)["id"]
	one := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": first}}, nil)
	two := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": first}}, nil)
	fr := s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": first}}, map[string]string{"Accept-Language": "fr"})
	if one.str("id") == two.str("id") || one.Body["score"] != two.Body["score"] || one.str("justification") != two.str("justification") {
		t.Fatalf("repeated sandbox call: %s\nvs\n%s", one.Raw, two.Raw)
	}
	if fr.Body["score"] != one.Body["score"] || fr.str("justification") == one.str("justification") {
		t.Fatalf("French answer: %s", fr.Raw)
	}
	if rec := s.do("GET", "/v1/scores/"+two.str("id"), a.Sandbox, nil); rec.Status != http.StatusOK || rec.str("company", "id") != first {
		t.Fatalf("the repeated call's record: %s", rec.Raw)
	}
	if r := s.do("GET", "/v1/tenant", a.Live, nil); r.Body["credits_remaining"] != float64(5) {
		t.Fatalf("sandbox calls spent live credits: %v", r.Body["credits_remaining"])
	}
	usage := s.do("GET", "/v1/usage", a.Sandbox, nil)
	expect(t, usage, http.StatusOK)
	if usage.Body["total"] != float64(len(companies)+3) {
		t.Fatalf("sandbox usage total %v, want %d", usage.Body["total"], len(companies)+3)
	}
	if live := s.do("GET", "/v1/usage", a.Live, nil); live.Body["total"] != float64(0) {
		t.Fatalf("live usage shows sandbox calls: %s", live.Raw)
	}
}

func TestUsageSummaryAndStreamingExport(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("lia@usage.example")
	var ids []string
	for i := 0; i < 3; i++ {
		r := s.post(a.Live, liveBody(i), map[string]string{"Idempotency-Key": fmt.Sprintf("u-%d", i)})
		expect(t, r, http.StatusOK)
		ids = append(ids, r.str("id"))
	}
	day := s.clock.Now().Format("2006-01-02")
	u := s.do("GET", "/v1/usage?from="+day+"&to="+day, a.Live, nil)
	expect(t, u, http.StatusOK)
	data := u.Body["data"].([]any)
	if len(data) != 1 || u.Body["total"] != float64(3) {
		t.Fatalf("usage = %s", u.Raw)
	}
	row := data[0].(map[string]any)
	if row["date"] != day || row["environment"] != "live" || row["metric"] != "analysis" || row["quantity"] != float64(3) {
		t.Fatalf("usage row = %v", row)
	}
	expectProblem(t, s.do("GET", "/v1/usage?from=yesterday", a.Live, nil), http.StatusBadRequest, "invalid_request", "from")
	expectProblem(t, s.do("GET", "/v1/usage?from=2026-11-10&to=2026-11-01", a.Live, nil), http.StatusBadRequest, "invalid_request", "to")

	csv := s.do("GET", "/v1/usage/export?period="+s.clock.Now().Format("2006-01"), a.Live, nil)
	expect(t, csv, http.StatusOK)
	if !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export type %q", csv.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(string(csv.Raw)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "usage_event_id,created_at,") {
		t.Fatalf("export:\n%s", csv.Raw)
	}
	for i, id := range ids {
		if !strings.Contains(lines[i+1], id) || !strings.Contains(lines[i+1], fmt.Sprintf("u-%d", i)) || !strings.Contains(lines[i+1], "trial_credit") {
			t.Errorf("export line %d lacks score %s, its idempotency key or billing state: %s", i+1, id, lines[i+1])
		}
	}
	expectProblem(t, s.do("GET", "/v1/usage/export?period=2026-13", a.Live, nil), http.StatusBadRequest, "invalid_request", "period")
	if other := s.do("GET", "/v1/usage/export?period="+s.clock.Now().Format("2006-01"), a.Sandbox, nil); strings.Count(string(other.Raw), "\n") != 1 {
		t.Fatalf("the sandbox export shows live events:\n%s", other.Raw)
	}
}

func TestConsentCreationHonoursTheIdempotencyKey(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ian@idem.example")
	body := map[string]any{"company_id": "FR-IDEM", "scopes": []string{"bank_data"}, "evidence": "form 7"}
	key := map[string]string{"Idempotency-Key": "consent-7"}
	first := s.doWith("POST", "/v1/consents", a.Live, body, key)
	expect(t, first, http.StatusCreated)
	again := s.doWith("POST", "/v1/consents", a.Live, body, key)
	expect(t, again, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || again.str("id") != first.str("id") {
		t.Fatalf("replay: %q %s, want the first consent %s", again.Header.Get("Idempotent-Replayed"), again.Raw, first.str("id"))
	}
	list := s.do("GET", "/v1/consents?company_id=FR-IDEM", a.Live, nil)
	if n := len(list.Body["data"].([]any)); n != 1 {
		t.Fatalf("%d consents recorded, want 1", n)
	}
	other := map[string]any{"company_id": "FR-OTHER", "scopes": []string{"bank_data"}, "evidence": "form 8"}
	expectProblem(t, s.doWith("POST", "/v1/consents", a.Live, other, key), http.StatusConflict, "idempotency_conflict", "")
	// A refused creation leaves its key free.
	bad := map[string]any{"company_id": "FR-BAD", "scopes": []string{"bank"}, "evidence": "x"}
	expectProblem(t, s.doWith("POST", "/v1/consents", a.Live, bad, map[string]string{"Idempotency-Key": "consent-8"}), http.StatusBadRequest, "invalid_request", "scopes[0]")
	expect(t, s.doWith("POST", "/v1/consents", a.Live, other, map[string]string{"Idempotency-Key": "consent-8"}), http.StatusCreated)
	// The same key in the sandbox is another key.
	expect(t, s.doWith("POST", "/v1/consents", a.Sandbox, other, key), http.StatusCreated)
}

func TestDuplicatesOfACallThatSpentTheLastCreditReplayIt(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("lou@idem.example")
	s.unlimit(a.TenantID)
	expect(t, s.do("PATCH", "/admin/v1/tenants/"+a.TenantID, operatorToken, map[string]any{"credits_remaining": 1}), http.StatusOK)
	s.clock.Advance(2 * time.Second) // past the tenant cache
	var mu sync.Mutex
	bodies := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.post(a.Live, liveBody(3), map[string]string{"Idempotency-Key": "last-credit"})
			mu.Lock()
			defer mu.Unlock()
			if r.Status != http.StatusOK {
				t.Errorf("a duplicate answered %d: %s", r.Status, r.Raw)
				return
			}
			bodies[string(r.Raw)]++
		}()
	}
	close(start)
	wg.Wait()
	if len(bodies) != 1 {
		t.Fatalf("%d distinct answers, want 1", len(bodies))
	}
	// and after the fact, still the replay rather than credits_exhausted
	r := s.post(a.Live, liveBody(3), map[string]string{"Idempotency-Key": "last-credit"})
	if r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("late duplicate: %d %s", r.Status, r.Raw)
	}
}

func TestUsageExportStreamsEveryEventAcrossPages(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("max@export.example")
	expect(t, s.post(a.Live, liveBody(1), nil), http.StatusOK)
	db, err := database.Open(context.Background(), database.Options{URL: s.env["DATABASE_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(db)
	// 2,345 more events of the month, written straight into the tables.
	err = db.Exec(`
		WITH n AS (SELECT g FROM generate_series(1, 2345) g),
		d AS (INSERT INTO decisions (id, tenant_id, environment, key_id, request_id, company_id, model_version, score, pd_12m, grade,
				recommendation, input, input_sha256, output, latency_us, as_of, created_at)
			SELECT 'sc_x' || lpad(g::text, 22, '0'), ?, 'live', 'key_x', 'req_x', 'c', 'm', 1, 0.1, 'A', 'accept', '{}', 'h', '{}', 1, ?, ? FROM n)
		INSERT INTO usage_events (id, tenant_id, environment, metric, quantity, score_id, key_id, request_id, idempotency_key,
				billing_state, amount, currency, usage_date, period, created_at)
			SELECT 'use_x' || lpad(g::text, 22, '0'), ?, 'live', 'analysis', 1, 'sc_x' || lpad(g::text, 22, '0'), 'key_x', 'req_x',
				'k' || g, 'trial_credit', 0, 'EUR', ?, ?, ? FROM n`,
		a.TenantID, s.clock.Now(), s.clock.Now(), a.TenantID, s.clock.Now().Format("2006-01-02"), s.clock.Now().Format("2006-01"), s.clock.Now()).Error
	if err != nil {
		t.Fatal(err)
	}
	r := s.do("GET", "/v1/usage/export?period="+s.clock.Now().Format("2006-01"), a.Live, nil)
	expect(t, r, http.StatusOK)
	lines := strings.Split(strings.TrimSpace(string(r.Raw)), "\n")
	if len(lines) != 1+2346 {
		t.Fatalf("export holds %d lines, want a header and 2,346 events", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		id := strings.SplitN(l, ",", 2)[0]
		if seen[id] {
			t.Fatalf("event %s exported twice", id)
		}
		seen[id] = true
	}
}

func TestSubscribingWithAnOverlongIdempotencyKeyIsABadRequest(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("ned@billing.example")
	r := s.doWith("POST", "/v1/billing/subscription", a.Live, nil, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)})
	expectProblem(t, r, http.StatusBadRequest, "invalid_request", "Idempotency-Key")
}

// TestDecisionsAndChargesAreCounted: /metrics counts decisions by recommendation and the credits a
// trial spends.
func TestDecisionsAndChargesAreCounted(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("count@metrics.example")
	r := s.do("POST", "/v1/scores", a.Live, liveBody(1))
	expect(t, r, http.StatusOK)
	m := string(s.do("GET", "/metrics", "", nil).Raw)
	for _, want := range []string{
		`rocketfin_charges_total{billing_state="trial_credit"} 1`,
		`rocketfin_decisions_total{environment="live",recommendation="` + r.str("recommendation") + `"} 1`,
		"go_goroutines", "rocketfin_webhook_delivery_lag_seconds",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
