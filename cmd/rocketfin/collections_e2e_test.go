package main

import (
	"net/http"
	"testing"
)

// TestCollectionsThroughTheAPI: receivables of a monitored debtor and of a debtor sent with its data
// are ranked by expected loss; the debtor sent with data is charged once, and not again on a
// retry; bad input names the field and charges nothing.
func TestCollectionsThroughTheAPI(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("collections@acme.example")
	r := s.do("POST", "/v1/monitors", a.Live, monitorBody(1))
	expect(t, r, http.StatusCreated)
	monitor := r.str("id")
	debtor := liveBody(2)
	delete(debtor, "request")
	debtor["payments"] = map[string]any{"days_beyond_terms_avg": 60, "incidents_12m": 3, "late_invoice_ratio": 0.7}
	body := map[string]any{"as_of": "2026-11-30", "receivables": []map[string]any{
		{"id": "INV-1", "monitor_id": monitor, "amount": 12000, "currency": "EUR", "due_date": "2026-11-20"},
		{"id": "INV-2", "debtor": debtor, "amount": 8000, "currency": "EUR", "due_date": "2026-07-01"},
		{"id": "INV-3", "monitor_id": monitor, "amount": 500, "currency": "EUR", "due_date": "2026-12-15"},
	}}
	r = s.do("POST", "/v1/collections/prioritize", a.Live, body)
	expect(t, r, http.StatusOK)
	data := r.Body["data"].([]any)
	first := data[0].(map[string]any)
	if len(data) != 3 || first["id"] != "INV-2" || first["action"] != "collection_agency" && first["action"] != "legal" ||
		dig(r.Body, "analyses_charged") != 1.0 || dig(first, "debtor", "source") != "scored" {
		t.Fatalf("ranking %s", r.Raw)
	}
	last := data[2].(map[string]any)
	if last["id"] != "INV-3" || last["days_past_due"] != -15.0 || last["action"] != "reminder" || dig(last, "debtor", "source") != "monitor" {
		t.Fatalf("last %v", last)
	}
	// A retry scores nothing twice: 5 credits, one for the monitor, one for the debtor.
	r = s.do("POST", "/v1/collections/prioritize", a.Live, body)
	expect(t, r, http.StatusOK)
	if dig(r.Body, "analyses_charged") != 0.0 {
		t.Fatalf("the retry charged: %s", r.Raw)
	}
	if tr := s.do("GET", "/v1/tenant", a.Live, nil); dig(tr.Body, "credits_remaining") != 3.0 {
		t.Fatalf("tenant %s", tr.Raw)
	}
	for _, c := range []struct {
		rec   map[string]any
		field string
	}{
		{map[string]any{"id": "X", "monitor_id": monitor, "amount": 10, "currency": "EUR", "due_date": "30/11/2026"}, "receivables[1].due_date"},
		{map[string]any{"id": "X", "monitor_id": monitor, "amount": -1, "currency": "EUR", "due_date": "2026-11-01"}, "receivables[1].amount"},
		{map[string]any{"id": "X", "monitor_id": monitor, "amount": 10, "currency": "USD", "due_date": "2026-11-01"}, "receivables[1].currency"},
		{map[string]any{"id": "X", "amount": 10, "currency": "EUR", "due_date": "2026-11-01"}, "receivables[1].debtor"},
		{map[string]any{"id": "X", "monitor_id": "mon_00000000000000000000000000", "amount": 10, "currency": "EUR", "due_date": "2026-11-01"}, "receivables[1].monitor_id"},
		{map[string]any{"id": "X", "debtor": map[string]any{"company": map[string]any{"id": "FR-9"}, "financials": []map[string]any{{"period_end": "2025-12-31", "currency": "eur"}}}, "amount": 10, "currency": "EUR", "due_date": "2026-11-01"}, "receivables[1].debtor.financials[0].currency"},
	} {
		bad := map[string]any{"receivables": []map[string]any{
			{"id": "OK", "debtor": map[string]any{"company": map[string]any{"id": "FR-8"}, "payments": map[string]any{"incidents_12m": 0}}, "amount": 10, "currency": "EUR", "due_date": "2026-11-01"},
			c.rec}}
		expectProblem(t, s.do("POST", "/v1/collections/prioritize", a.Live, bad), http.StatusBadRequest, "invalid_request", c.field)
	}
	if tr := s.do("GET", "/v1/tenant", a.Live, nil); dig(tr.Body, "credits_remaining") != 3.0 {
		t.Fatalf("a refused ranking charged: %s", tr.Raw)
	}
	// A debtor without data and without a recent decision cannot be scored: 422, nothing charged.
	r = s.do("POST", "/v1/collections/prioritize", a.Live, map[string]any{"receivables": []map[string]any{
		{"id": "X", "debtor": map[string]any{"company": map[string]any{"id": "FR-NEW"}}, "amount": 10, "currency": "EUR", "due_date": "2026-11-01"}}})
	expectProblem(t, r, http.StatusUnprocessableEntity, "insufficient_data", "")
}
