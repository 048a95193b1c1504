package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
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

// TestMessagesSayWhatIsWrong: a cursor that is not an id of the list, and the usage export of a
// call sent without an Idempotency-Key, which shows none.
func TestMessagesSayWhatIsWrong(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("zoe@messages.example")
	r := s.do("GET", "/v1/scores?starting_after=sc_bogus", a.Live, nil)
	expectProblem(t, r, http.StatusBadRequest, "invalid_request", "starting_after")
	if !strings.Contains(r.str("detail"), "26 characters") {
		t.Fatalf("cursor message: %s", r.Raw)
	}
	expect(t, s.post(a.Live, liveBody(1), nil), http.StatusOK)
	expect(t, s.post(a.Live, liveBody(2), map[string]string{"Idempotency-Key": "mine-2"}), http.StatusOK)
	csv := string(s.do("GET", "/v1/usage/export?period="+s.clock.Now().Format("2006-01"), a.Live, nil).Raw)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 3 {
		t.Fatalf("export:\n%s", csv)
	}
	keys := map[string]bool{}
	for _, l := range lines[1:] {
		cells := strings.Split(l, ",")
		keys[cells[8]] = true
	}
	if !keys[""] || !keys["mine-2"] || len(keys) != 2 {
		t.Fatalf("idempotency_key cells %v, want the caller's key and an empty cell:\n%s", keys, csv)
	}
}

// TestSecretsAreNotReplayedSoTheirKeysAreRefused: creating a key, rotating one or signing up
// with an Idempotency-Key is a 400 that says why and what to do, and creates nothing.
func TestSecretsAreNotReplayedSoTheirKeysAreRefused(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("yan@secret.example")
	key := map[string]string{"Idempotency-Key": "create-1"}
	before := len(s.do("GET", "/v1/keys", a.Live, nil).Body["data"].([]any))
	r := s.doWith("POST", "/v1/keys", a.Live, map[string]string{"name": "ci"}, key)
	expectProblem(t, r, http.StatusBadRequest, "invalid_request", "Idempotency-Key")
	if !strings.Contains(r.str("detail"), "GET /v1/keys") {
		t.Fatalf("the refusal does not say how to check: %s", r.Raw)
	}
	expectProblem(t, s.doWith("POST", "/v1/keys/"+s.keyID(a.Live)+"/rotate", a.Live, nil, key), http.StatusBadRequest, "invalid_request", "Idempotency-Key")
	if n := len(s.do("GET", "/v1/keys", a.Live, nil).Body["data"].([]any)); n != before {
		t.Fatalf("%d keys after refused calls, want %d", n, before)
	}
	expectProblem(t, s.doWith("POST", "/v1/signup", "", map[string]string{"company_name": "Idem", "email": "idem@secret.example", "country": "FR"}, key),
		http.StatusBadRequest, "invalid_request", "Idempotency-Key")
}

// TestListsPageBothWays: starting_after pages to older items, ending_before back to newer ones,
// each newest first; both at once is a 400.
func TestListsPageBothWays(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("bo@pages.example")
	var made []string // oldest first
	for i := 0; i < 5; i++ {
		r := s.do("POST", "/v1/consents", a.Sandbox, map[string]any{"company_id": "FR-" + strconv.Itoa(i), "scopes": []string{"bank_data"}, "evidence": "form"})
		expect(t, r, http.StatusCreated)
		made = append(made, r.str("id"))
	}
	ids := func(r response) []string {
		var out []string
		for _, it := range r.Body["data"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}
	first := s.do("GET", "/v1/consents?limit=2", a.Sandbox, nil)
	if got := ids(first); !slices.Equal(got, []string{made[4], made[3]}) || first.Body["has_more"] != true {
		t.Fatalf("first page %v (has_more %v), want %v", got, first.Body["has_more"], []string{made[4], made[3]})
	}
	next := s.do("GET", "/v1/consents?limit=2&starting_after="+made[3], a.Sandbox, nil)
	if got := ids(next); !slices.Equal(got, []string{made[2], made[1]}) || next.Body["has_more"] != true {
		t.Fatalf("next page %v", got)
	}
	back := s.do("GET", "/v1/consents?limit=2&ending_before="+made[2], a.Sandbox, nil)
	if got := ids(back); !slices.Equal(got, []string{made[4], made[3]}) || back.Body["has_more"] != false {
		t.Fatalf("page back %v (has_more %v), want the first page", got, back.Body["has_more"])
	}
	back1 := s.do("GET", "/v1/consents?limit=1&ending_before="+made[2], a.Sandbox, nil)
	if got := ids(back1); !slices.Equal(got, []string{made[3]}) || back1.Body["has_more"] != true {
		t.Fatalf("one back %v (has_more %v), want %s with more before", got, back1.Body["has_more"], made[3])
	}
	expectProblem(t, s.do("GET", "/v1/consents?starting_after="+made[1]+"&ending_before="+made[3], a.Sandbox, nil), http.StatusBadRequest, "invalid_request", "ending_before")
	expectProblem(t, s.do("GET", "/v1/scores?ending_before=sc_x", a.Sandbox, nil), http.StatusBadRequest, "invalid_request", "ending_before")
}

// TestScoreListsFilterAndLeaveInputsOut: lists carry no inputs unless expand[]=input, and filter
// by recommendation and creation time.
func TestScoreListsFilterAndLeaveInputsOut(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("cy@filters.example")
	s.unlimit(a.TenantID)
	for _, id := range []string{"999000011", "999000169", "999000029"} { // accept, decline, accept
		expect(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": id}}, nil), http.StatusOK)
		s.clock.Advance(time.Hour)
	}
	all := s.do("GET", "/v1/scores", a.Sandbox, nil)
	for _, it := range all.Body["data"].([]any) {
		if _, ok := it.(map[string]any)["input"]; ok {
			t.Fatalf("a list carries inputs without expand: %s", all.Raw)
		}
	}
	full := s.do("GET", "/v1/scores?expand[]=input", a.Sandbox, nil)
	for _, it := range full.Body["data"].([]any) {
		if _, ok := it.(map[string]any)["input"]; !ok {
			t.Fatalf("expand[]=input left an input out: %s", full.Raw)
		}
	}
	if n := len(s.do("GET", "/v1/scores?recommendation=accept", a.Sandbox, nil).Body["data"].([]any)); n != 2 {
		t.Fatalf("%d accepted, want 2", n)
	}
	since := epoch.Add(30 * time.Minute).Format(time.RFC3339)
	until := epoch.Add(90 * time.Minute).Format(time.RFC3339)
	mid := s.do("GET", "/v1/scores?created[gte]="+since+"&created[lte]="+until, a.Sandbox, nil)
	if d := mid.Body["data"].([]any); len(d) != 1 || d[0].(map[string]any)["company"].(map[string]any)["id"] != "999000169" {
		t.Fatalf("the middle hour: %s", mid.Raw)
	}
	expectProblem(t, s.do("GET", "/v1/scores?recommendation=maybe", a.Sandbox, nil), http.StatusBadRequest, "invalid_request", "recommendation")
	expectProblem(t, s.do("GET", "/v1/scores?created[gte]=yesterday", a.Sandbox, nil), http.StatusBadRequest, "invalid_request", "created[gte]")
	expectProblem(t, s.do("GET", "/v1/scores?expand[]=output", a.Sandbox, nil), http.StatusBadRequest, "invalid_request", "expand[]")
}

// TestMetadataIsKeptReturnedAndFilterable: string pairs on scores, consents and keys come back as
// sent (and through rotation), filter lists, and are bounded.
func TestMetadataIsKeptReturnedAndFilterable(t *testing.T) {
	s := startServer(t, nil)
	a := s.signup("di@metadata.example")
	meta := map[string]string{"crm_id": "OPP-4711", "owner": "ana"}
	body := map[string]any{"company": map[string]any{"id": "999000011"}, "metadata": meta}
	sc := s.post(a.Sandbox, body, nil)
	expect(t, sc, http.StatusOK)
	if m := sc.Body["metadata"].(map[string]any); m["crm_id"] != "OPP-4711" || m["owner"] != "ana" {
		t.Fatalf("score metadata: %s", sc.Raw)
	}
	expect(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": "999000029"}}, nil), http.StatusOK)
	got := s.do("GET", "/v1/scores/"+sc.str("id"), a.Sandbox, nil)
	if got.Body["metadata"].(map[string]any)["crm_id"] != "OPP-4711" {
		t.Fatalf("stored metadata: %s", got.Raw)
	}
	list := s.do("GET", "/v1/scores?metadata[crm_id]=OPP-4711", a.Sandbox, nil)
	if d := list.Body["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != sc.str("id") {
		t.Fatalf("filtered list: %s", list.Raw)
	}
	if d := s.do("GET", "/v1/scores?metadata[crm_id]=OPP-0000", a.Sandbox, nil).Body["data"].([]any); len(d) != 0 {
		t.Fatalf("a filter matching nothing listed %d", len(d))
	}

	con := s.do("POST", "/v1/consents", a.Sandbox, map[string]any{"company_id": "FR-M", "scopes": []string{"bank_data"}, "evidence": "form", "metadata": meta})
	expect(t, con, http.StatusCreated)
	if d := s.do("GET", "/v1/consents?metadata[owner]=ana", a.Sandbox, nil).Body["data"].([]any); len(d) != 1 {
		t.Fatalf("consents by metadata: %d", len(d))
	}
	key := s.do("POST", "/v1/keys", a.Sandbox, map[string]any{"name": "ci", "metadata": map[string]string{"team": "risk"}})
	expect(t, key, http.StatusCreated)
	rot := s.do("POST", "/v1/keys/"+key.str("id")+"/rotate", a.Sandbox, nil)
	expect(t, rot, http.StatusCreated)
	if rot.Body["metadata"].(map[string]any)["team"] != "risk" {
		t.Fatalf("rotation lost the metadata: %s", rot.Raw)
	}
	if d := s.do("GET", "/v1/keys?metadata[team]=risk", a.Sandbox, nil).Body["data"].([]any); len(d) != 2 {
		t.Fatalf("keys by metadata: %d, want the rotated key and its successor", len(d))
	}

	big := map[string]string{}
	for i := 0; i < 51; i++ {
		big["k"+strconv.Itoa(i)] = "v"
	}
	expectProblem(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": "999000011"}, "metadata": big}, nil), http.StatusBadRequest, "invalid_request", "metadata")
	expectProblem(t, s.post(a.Sandbox, map[string]any{"company": map[string]any{"id": "999000011"}, "metadata": map[string]any{"n": 1}}, nil), http.StatusBadRequest, "invalid_request", "metadata.n")
	expectProblem(t, s.do("POST", "/v1/keys", a.Sandbox, map[string]any{"name": "x", "metadata": map[string]string{strings.Repeat("k", 41): "v"}}), http.StatusBadRequest, "invalid_request", "metadata")
}
