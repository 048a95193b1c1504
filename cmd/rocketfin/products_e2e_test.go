package main

import (
	"net/http"
	"testing"
)

// TestPartnerProductsThroughTheAPI: request.product changes the answer's limit and adds its terms
// (checked against the OpenAPI document); bad product fields are refused naming the field.
func TestPartnerProductsThroughTheAPI(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("products@acme.example")
	for _, p := range []struct {
		product, field string
		extra          map[string]any
	}{
		{"factoring", "advance_rate", map[string]any{"terms_days": 90}},
		{"leasing", "max_asset_value", map[string]any{"term_months": 48}},
		{"credit_insurance", "insurable_limit", nil},
		{"trade_credit", "pd_over_term", nil},
	} {
		req := map[string]any{"product": p.product, "amount": 40000, "currency": "EUR"}
		for k, v := range p.extra {
			req[k] = v
		}
		r := s.do("POST", "/v1/scores", a.Sandbox, map[string]any{"company": map[string]any{"id": "999000011"}, "request": req})
		expect(t, r, http.StatusOK)
		if dig(r.Body, "product", "type") != p.product || dig(r.Body, "product", p.field) == nil {
			t.Fatalf("%s: %s", p.product, r.Raw)
		}
	}
	// Without a product, the answer has no product terms (as before products existed).
	r := s.do("POST", "/v1/scores", a.Sandbox, map[string]any{"company": map[string]any{"id": "999000011"}})
	expect(t, r, http.StatusOK)
	if _, ok := r.Body["product"]; ok {
		t.Fatalf("a plain trade credit answer carries product terms: %s", r.Raw)
	}
	for _, c := range []struct {
		req   map[string]any
		field string
	}{
		{map[string]any{"product": "mortgage"}, "request.product"},
		{map[string]any{"product": "factoring", "terms_days": 365}, "request.terms_days"},
		{map[string]any{"product": "leasing", "term_months": 120}, "request.term_months"},
		{map[string]any{"term_months": 24}, "request.term_months"},
	} {
		expectProblem(t, s.do("POST", "/v1/scores", a.Sandbox, map[string]any{"company": map[string]any{"id": "999000011"}, "request": c.req}),
			http.StatusBadRequest, "invalid_request", c.field)
	}
}
