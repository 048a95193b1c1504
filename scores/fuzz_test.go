package scores

import (
	"context"
	"testing"
	"time"

	"github.com/rocketfin/rocketfin/internal/idempotency"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/sandbox"
	"github.com/rocketfin/rocketfin/scoring"
)

type catalog struct{}

func (catalog) Lookup(id string) (scoring.Request, bool) { return sandbox.Lookup(id) }
func (catalog) EvaluationDate() time.Time                { return sandbox.EvaluationDate() }

// FuzzRequestPath runs everything a scoring call does before the database
// on arbitrary bodies: decoding, validation, the sandbox fill, the consent
// scopes, the fingerprint and the engine. Malformed input must come back as
// invalid_request, never as a panic or another error.
func FuzzRequestPath(f *testing.F) {
	for _, seed := range []string{
		`{"company":{"id":"x"}}`, `{"company":{"id":"` + sandbox.Companies()[0].ID + `"}}`,
		`{"company":{"id":"x","legal_form":"EI"},"bank":{"months":[{"month":"2026-01","inflows":1}]}}`,
		`{"company":{"id":"x"},"financials":[{"period_end":"2025-12-31","currency":"EUR","total_assets":1e308,"equity":-1e308}]}`,
		`{"company":{"id":"x"},"financials":[{"period_end":"2025-02-30","currency":"eur"}]}`,
		`{}`, `[]`, `null`, `{"company":{"id":"x"}} x`,
	} {
		f.Add(seed)
	}
	engine, err := scoring.New()
	if err != nil {
		f.Fatal(err)
	}
	g := &Service{scorer: Local{Engine: engine}, catalog: catalog{}}
	f.Fuzz(func(t *testing.T, body string) {
		req, _, err := decodeRequest([]byte(body))
		if err != nil {
			if problem.CodeOf(err) != problem.Invalid {
				t.Fatalf("body %q: %v, want invalid_request", body, err)
			}
			return
		}
		_ = neededScopes(&req)
		if _, err := idempotency.Fingerprint(req); err != nil {
			t.Fatalf("fingerprint of %q: %v", body, err)
		}
		if err := g.fillFromCatalog(&req); err != nil && problem.CodeOf(err) != problem.Invalid {
			t.Fatalf("sandbox fill of %q: %v", body, err)
		}
		res, err := g.scorer.Evaluate(context.Background(), &req, scoring.Options{AsOf: sandbox.EvaluationDate()})
		if err != nil {
			t.Fatalf("a validated body %q failed in the engine: %v", body, err)
		}
		if !(res.PD12m > 0 && res.PD12m <= 1) || res.Score < 0 || res.Score > 1000 {
			t.Fatalf("body %q: pd %v score %d out of range", body, res.PD12m, res.Score)
		}
	})
}
