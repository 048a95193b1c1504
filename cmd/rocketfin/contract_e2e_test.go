package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// raw sends body with the given Content-Type ("" for none) and decodes the answer.
func (s *testServer) raw(method, path, key, contentType string, body []byte) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: b}
	_ = json.Unmarshal(b, &r.Body)
	return r
}

// TestBodiesThatAreNotJSONAreRefusedUnprocessed: a JSON endpoint sent text/plain (or a form)
// answers 415 and does nothing: no tenant, no key, no credit spent.
func TestBodiesThatAreNotJSONAreRefusedUnprocessed(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("una@media.example")
	signup, _ := json.Marshal(map[string]string{"company_name": "Plain SA", "email": "plain@media.example", "country": "FR"})
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx", ""} {
		expectProblem(t, s.raw("POST", "/v1/signup", "", ct, signup), http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	}
	expect(t, s.raw("POST", "/v1/signup", "", "application/json; charset=utf-8", signup), http.StatusCreated)

	keysBefore := len(s.do("GET", "/v1/keys", a.Live, nil).Body["data"].([]any))
	expectProblem(t, s.raw("POST", "/v1/keys", a.Live, "text/plain", []byte(`{"name":"k"}`)), http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	if n := len(s.do("GET", "/v1/keys", a.Live, nil).Body["data"].([]any)); n != keysBefore {
		t.Fatalf("%d keys after a refused creation, want %d", n, keysBefore)
	}
	body, _ := json.Marshal(liveBody(1))
	expectProblem(t, s.raw("POST", "/v1/scores", a.Live, "text/plain", body), http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	if c := creditsOf(s, a.Live); c != 5 {
		t.Fatalf("%v credits after a refused call, want 5", c)
	}
	// A body-less POST needs no Content-Type.
	expect(t, s.raw("POST", "/v1/keys/"+s.keyID(a.Live)+"/rotate", a.Live, "", nil), http.StatusCreated)
}

// TestUnknownPathsAreProblemsNotRedirects: a trailing slash or another case is a 404 problem,
// never a 301/307 with an HTML body.
func TestUnknownPathsAreProblemsNotRedirects(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("vic@paths.example")
	for _, path := range []string{"/v1/tenant/", "/V1/tenant", "/v1/keys/", "/healthz/"} {
		r := s.raw("GET", path, a.Live, "", nil)
		expectProblem(t, r, http.StatusNotFound, "not_found", "")
		if strings.Contains(string(r.Raw), "<a href") {
			t.Fatalf("%s answered HTML: %s", path, r.Raw)
		}
	}
	expectProblem(t, s.raw("DELETE", "/v1/tenant", a.Live, "", nil), http.StatusMethodNotAllowed, "method_not_allowed", "")
}

// consentFor records a consent covering bank and personal data for a company, with key.
func (s *testServer) consentFor(key, companyID string) {
	s.t.Helper()
	expect(s.t, s.do("POST", "/v1/consents", key, map[string]any{"company_id": companyID,
		"scopes": []string{"bank_data", "personal_data"}, "evidence": "signed form", "expires_at": s.clock.Now().Add(365 * 24 * time.Hour).Format(time.RFC3339)}), http.StatusCreated)
}

// TestALiveCallWithNothingToScoreIsRefusedFree: only a company profile is 422 insufficient_data,
// nothing charged; one block of data is enough to be scored.
func TestALiveCallWithNothingToScoreIsRefusedFree(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("wes@empty.example")
	empty := map[string]any{"company": map[string]any{"id": "FR-EMPTY", "name": "Empty SAS", "country": "FR", "legal_form": "SAS", "nace": "46.90"}}
	r := s.post(a.Live, empty, nil)
	expectProblem(t, r, http.StatusUnprocessableEntity, "insufficient_data", "")
	if !strings.Contains(r.str("detail"), "financials") {
		t.Fatalf("the refusal does not say what is needed: %s", r.Raw)
	}
	empty["payments"] = map[string]any{} // present but empty is still nothing
	expectProblem(t, s.post(a.Live, empty, nil), http.StatusUnprocessableEntity, "insufficient_data", "")
	if c := creditsOf(s, a.Live); c != 5 {
		t.Fatalf("%v credits after refused calls, want 5", c)
	}
	empty["payments"] = map[string]any{"incidents_12m": 0}
	expect(t, s.post(a.Live, empty, nil), http.StatusOK)
	if c := creditsOf(s, a.Live); c != 4 {
		t.Fatalf("%v credits after one scored call, want 4", c)
	}
}

// TestRequestAmountsMustBePlausible: a credit request of 0 or of a unit mistake is a 400 that
// says what the field means.
func TestRequestAmountsMustBePlausible(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("xia@amount.example")
	for _, amount := range []float64{0, 5e12} {
		body := liveBody(1)
		body["request"] = map[string]any{"amount": amount, "currency": "EUR", "terms_days": 30}
		r := s.post(a.Live, body, nil)
		expectProblem(t, r, http.StatusBadRequest, "invalid_request", "request.amount")
		if !strings.Contains(string(r.Raw), "major units") {
			t.Fatalf("amount %v: %s", amount, r.Raw)
		}
	}
}
