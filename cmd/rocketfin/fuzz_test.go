package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/sandbox"
)

// FuzzScoreBodyNeverAnswers500 posts arbitrary bodies to POST /v1/scores
// with a sandbox and a live key: any answer but a 5xx is acceptable.
// `go test` runs the seeds; `go test -fuzz FuzzScoreBody ./cmd/rocketfin`
// explores further.
func FuzzScoreBodyNeverAnswers500(f *testing.F) {
	valid, _ := json.Marshal(liveBody(1))
	sb, _ := json.Marshal(map[string]any{"company": map[string]any{"id": sandbox.Companies()[0].ID}})
	for _, seed := range []string{
		string(valid), string(sb), ``, `null`, `[]`, `{}`, `{"company":{}}`, `{"company":{"id":""}}`,
		`{"company":{"id":"x"},"financials":[{"period_end":"2025-12-31","currency":"EUR","total_assets":-1e308,"equity":1e308}]}`,
		`{"company":{"id":"x"},"financials":[{"period_end":"9999-99-99","currency":"XXX"}]}`,
		`{"company":{"id":"x"},"financials":[{"period_end":"2025-12-31","currency":"JPY","total_assets":0,"revenue":0}]}`,
		`{"company":{"id":"x","incorporated_on":"2030-01-01","legal_form":"SARL","nace":"Z9"},"legal_events":[{"type":"collective_proceeding","date":"2026-01-01"}]}`,
		`{"company":{"id":"x"},"request":{"amount":-5,"currency":"EUR","terms_days":-1}}`,
		`{"company":{"id":"x"},"payments":{"days_beyond_terms_avg":1e9,"incidents_12m":-3,"late_invoice_ratio":7}}`,
		`{"company":{"id":"x"},"financials":[]}`,
		`{"company":{"id":"a\u0000b","name":"\u0000"}}`, `{"company":{"id":"x","name":"\ud800"}}`,
		`{"company":{"id":"x"},"legal_events":[{"type":"\u0000","date":"2026-01-01"}]}`,
		`{"company":{"id":1}}`, `{"company":{"id":"x"}}garbage`, "\x00\xff",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	s := startServer(f, nil)
	acct := s.signup("fuzz@example.com")
	s.unlimit(acct.TenantID)
	expect(f, s.do("PATCH", "/admin/v1/tenants/"+acct.TenantID, operatorToken, map[string]any{"status": "active"}), http.StatusOK)
	f.Fuzz(func(t *testing.T, body string, live bool) {
		key := acct.Sandbox
		if live {
			key = acct.Live
		}
		req, err := http.NewRequest("POST", s.base+"/v1/scores", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := s.client.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("body %q answered %d: %s", body, res.StatusCode, raw)
		}
	})
}
